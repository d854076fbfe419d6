"""
``mqtt_to_phase``: numeric samples from MQTT topics in, ``phase`` out.

Payloads are in :mod:`becomingone_adapters.mqtt_payload`'s format (a number, a CSV line or a
JSON object with an optional stamp), scaled with ``value_min``/``value_max`` like every scalar
input and published through :class:`PhaseInputNode`, so they pass the same stamp guard, rate
limit and counted rejections as any other input. All ``topics`` feed one source
(``frame_id``): run one node per sensor.

paho's network loop runs on the link's thread; it only puts (receive time, payload) into a
bounded :class:`Inbox`, which a timer of this node drains on the executor. A full inbox drops
its oldest entry, counted as ``rejected_queue_full``.

:class:`SampleInputNode` is that drain, shared with ``serial_to_phase``.
"""

from becomingone_adapters.mqtt_inbox import Inbox
from becomingone_adapters.mqtt_link import MqttLink
from becomingone_adapters.mqtt_payload import MAX_PAYLOAD_BYTES, parse_sample
from becomingone_adapters.nodes.input_node import PhaseInputNode
from becomingone_adapters.nodes.mqtt_link_node import declare_mqtt, link_status
from becomingone_adapters.nodes.standard_inputs_node import declare_range
from becomingone_adapters.scalars import encode_vector
from becomingone_core.input_rules import RejectedInput
from becomingone_core.ros.parameters import declare, ParameterError, require
from becomingone_core.ros.runner import main_for

#: How often the inbox is drained (s): the latency the hand-over adds, at most.
DRAIN_PERIOD_S = 0.01


class SampleInputNode(PhaseInputNode):
    """A phase input fed text samples by a thread: declares the encoding, drains the inbox."""

    def __init__(self, name, frame_id, max_rate_hz=200.0):
        super().__init__(name, frame_id, max_rate_hz=max_rate_hz)
        self.encoder = declare_range(self, 'value', 0.0, 1.0, 'units of the input')
        self.channels = declare(self, 'channels', 0,
                                'values expected per sample (0: any, up to max_channels); '
                                'other counts are refused as wrong_size', minimum=0,
                                maximum=256)
        self.max_channels = declare(self, 'max_channels', 64,
                                    'samples with more values are refused as too_large',
                                    minimum=1, maximum=256)
        self.max_payload_bytes = declare(
            self, 'max_payload_bytes', MAX_PAYLOAD_BYTES,
            'longest sample accepted (bytes); longer ones are refused as too_long',
            minimum=16, maximum=1 << 20)
        self.inbox = Inbox(declare(
            self, 'queue_size', 1000, 'samples waiting for the executor at most; when full '
            'the oldest is dropped and counted as queue_full', minimum=1, maximum=1_000_000))
        self._dropped_seen = {}
        self.create_timer(DRAIN_PERIOD_S, self._drain)

    def hand_over(self, payload):
        """Queue ``payload`` with its receive time: the only call other threads make."""
        self.inbox.put((self.now_s(), payload))

    def dropped_before_parsing(self):
        """Return {reason: total} of samples lost before the executor saw them."""
        return {'queue_full': self.inbox.dropped}

    def _drain(self):
        for reason, total in self.dropped_before_parsing().items():
            fresh = total - self._dropped_seen.get(reason, 0)
            if fresh:
                self.rejections.counts[reason] += fresh
                self._dropped_seen[reason] = total
        for received_s, payload in self.inbox.drain():
            try:
                sample = parse_sample(payload, self.max_payload_bytes)
            except RejectedInput as rejected:
                self.reject(rejected)
                continue
            self.accept(sample.stamp_s or received_s, lambda s=sample: encode_vector(
                s.values, self.encoder, self.channels, self.max_channels))


class MqttToPhase(SampleInputNode):

    def __init__(self):
        super().__init__('mqtt_to_phase', 'mqtt')
        topics = declare(self, 'topics', ['becomingone/phase'],
                         'MQTT topic filters to subscribe (+ and # wildcards allowed); all '
                         'feed this one source')
        require(bool(topics) and all(topics) and all('\0' not in t for t in topics), 'topics',
                'needs at least one non-empty topic filter')
        qos = declare(self, 'qos', 0, 'MQTT QoS of the subscriptions (0: at most once, '
                      '1: at least once)', minimum=0, maximum=2)
        settings = declare_mqtt(self, 'becomingone-in')
        try:
            self.link = MqttLink(settings, [(topic, qos) for topic in topics],
                                 on_message=lambda topic, payload: self.hand_over(payload))
        except (OSError, ValueError) as error:
            raise ParameterError(f'MQTT link: {error}') from error
        self.diagnostics.add('mqtt', lambda: link_status(self.link, 'broker'))
        self.link.start()
        self.get_logger().info(f'subscribing {", ".join(topics)} on {settings!r}')

    def destroy_node(self):
        if getattr(self, 'link', None) is not None:
            self.link.stop()
        super().destroy_node()


main = main_for(MqttToPhase)
