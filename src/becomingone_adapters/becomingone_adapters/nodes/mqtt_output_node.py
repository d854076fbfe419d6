"""
``mqtt_output``: the cell's state as retained JSON on an MQTT topic, QoS 1.

The record is the one every API output sends (:func:`becomingone_adapters.http_post.record`:
``node``, ``stamp``, ``coherence``, ``phase`` {``real``, ``imag``}, ``collapsed``) plus
``online``. It is published retained, so a subscriber that comes later gets the current state
at once: on each accepted sync state (at most ``max_rate_hz``, at once when ``collapsed``
changes), and as ``collapsed: false`` when the sync state goes stale or the node is
deactivated. Only states this host's cell signed count (see ``output_node``). The broker holds
a will (``online: false``, retained) that it publishes if this node vanishes; a clean shutdown
publishes the same record itself. After a reconnect the newest record is published again, so
a broker restarted without persistence has the state back.

A lifecycle node (like ``http_output``): configure reads the parameters and connects; records go
out only while active.
"""

from becomingone_adapters.http_post import record
from becomingone_adapters.mqtt_link import MqttLink
from becomingone_adapters.mqtt_payload import encode_state
from becomingone_adapters.nodes.mqtt_link_node import declare_mqtt, link_status
from becomingone_adapters.nodes.output_node import ManagedOutputNode
from becomingone_core.ros.parameters import declare, ParameterError, require
from becomingone_core.ros.runner import main_for
from becomingone_core.ros.stamps import seconds

#: How long a clean shutdown waits for the broker to acknowledge the offline record (s).
GOODBYE_TIMEOUT_S = 1.0


class MqttOutput(ManagedOutputNode):

    def __init__(self, **kwargs):
        self.link = None
        super().__init__('mqtt_output', **kwargs)
        self.start()

    def configure_output(self):
        self.node_name = declare(self, 'node_name', '', 'the "node" field of every record '
                                 '(empty: the namespace, else the node name)')
        self.node_name = self.node_name or self.get_namespace().strip('/') or self.get_name()
        topic = declare(self, 'topic', '', 'MQTT topic of the state (empty: '
                        'becomingone/<node_name>/state)')
        self.topic = topic or f'becomingone/{self.node_name}/state'
        require(not any(c in self.topic for c in '+#\0'), 'topic',
                'a topic to publish on cannot hold wildcards')
        self.max_rate_hz = declare(self, 'max_rate_hz', 5.0, 'state records published per '
                                   'second at most (a change of collapsed goes out at once)',
                                   minimum=0.01, maximum=1000.0)
        settings = declare_mqtt(self, 'becomingone-out')
        self.offline = encode_state(record(self.node_name, 0.0, 0.0, 0j, False), online=False)
        try:
            self.link = MqttLink(settings, will=(self.topic, self.offline)).start()
        except (OSError, ValueError) as error:
            raise ParameterError(f'MQTT link: {error}') from error
        self.last_publish_s = None
        self.last_collapsed = None
        self.diagnostics.add('mqtt', lambda: link_status(self.link, 'broker'))
        self.create_timer(self.gate.watchdog_s / 2.0, self._check_watchdog)
        self.get_logger().info(f'publishing the state on {self.topic} via {settings!r}')

    def activate_node(self):
        self.last_publish_s = None
        self.last_collapsed = None

    def deactivate_node(self):
        if self.last_collapsed:  # subscribers see the end
            self._publish(self.now_s(), False)

    def on_sync(self, message):
        if not self.is_active:
            return
        now = self.now_s()
        collapsed = self.gate.is_open(now)
        if (collapsed == self.last_collapsed and self.last_publish_s is not None
                and now - self.last_publish_s < 1.0 / self.max_rate_hz):
            return
        self._publish(seconds(message.header.stamp), collapsed)

    def _check_watchdog(self):
        # A cell that falls silent while collapsed is released too: say so.
        if self.is_active and self.last_collapsed and not self.gate.is_open(self.now_s()):
            self._publish(self.now_s(), False)

    def _publish(self, stamp_s, collapsed):
        self.last_publish_s = self.now_s()
        self.last_collapsed = collapsed
        body = record(self.node_name, stamp_s, self.gate.coherence, self.gate.t_sync, collapsed)
        self.link.publish(self.topic, encode_state(body), qos=1, retain=True)

    def cleanup_node(self):
        if self.link is None:
            return
        if self.link.connected:  # a clean end: the will is not sent, so say it ourselves
            info = self.link.client.publish(self.topic, self.offline, qos=1, retain=True)
            try:
                info.wait_for_publish(GOODBYE_TIMEOUT_S)
            except (RuntimeError, ValueError):  # the connection went meanwhile
                pass
        self.link.stop()
        self.link = None


main = main_for(MqttOutput)
