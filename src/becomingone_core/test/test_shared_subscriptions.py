"""
A host in one process takes each topic once, and every node still gets every message.

The cell's nodes are built in process (one context, as ``becomingone_cell`` runs them), their
subscriptions merged by ``share_subscriptions``; a separate publisher sends real Phase messages
over DDS. One reader on ``phase`` is left, and the Master, the Emissary and the witness each
integrate or observe every message, a hostile one refused by each on its own.
"""

import time

from becomingone_core.nodes.cell import NODE_FACTORIES
from becomingone_core.ros.shared_subscriptions import share_subscriptions
from becomingone_core.ros.stamps import time_from_seconds
from becomingone_core.testing.processes import isolated_ros_env
from becomingone_core.testing.ros import RosProbe
from becomingone_msgs.msg import Phase
import pytest
from rclpy.qos import qos_profile_sensor_data


@pytest.fixture
def host():
    with RosProbe(isolated_ros_env()) as probe:
        nodes = {name: NODE_FACTORIES[name](context=probe.context)
                 for name in ('master', 'emissary', 'sync', 'witness')}
        for node in nodes.values():
            probe.executor.add_node(node)
        yield probe, nodes
        for node in nodes.values():
            node.destroy_node()


def _readers(nodes, suffix):
    return [s for node in nodes.values() for s in node.subscriptions
            if s.topic_name.endswith(suffix)]


def test_one_reader_per_topic_and_every_node_gets_every_message(host):
    probe, nodes = host
    assert len(_readers(nodes, '/phase')) == 3  # master, emissary, witness
    merged = share_subscriptions(list(nodes.values()))
    # phase (3 -> 1), sync/state (master, emissary, witness: same QoS), each resonance
    # (sync and witness).
    assert merged >= 2 + 2
    assert len(_readers(nodes, '/phase')) == 1
    publisher = probe.node.create_publisher(Phase, 'phase', qos_profile_sensor_data)
    probe.spin_until(lambda: publisher.get_subscription_count() >= 1, 10.0)
    master, emissary = nodes['master'].transducer, nodes['emissary'].transducer

    def send(real, source='imu', offset_s=0.0):
        message = Phase(channels=1, real=[real], imag=[0.0], source=source)
        message.header.stamp = time_from_seconds(time.time() + offset_s)
        publisher.publish(message)

    for i in range(40):
        send(float(i % 7))
        probe.spin_for(0.005)
    probe.spin_until(lambda: master.accepted >= 40 and emissary.accepted >= 40, 10.0)
    assert master.accepted == emissary.accepted == 40
    # The witness observed the same stream (its liveness monitor for phase was fed).
    assert nodes['witness'].witness.streams['phase'].last_seen is not None
    # A sample a day ahead: each transducer refuses it itself, by reason.
    send(1.0, offset_s=86400.0)
    probe.spin_until(lambda: master.rejections.counts.get('future', 0) == 1
                     and emissary.rejections.counts.get('future', 0) == 1, 10.0)
    assert master.accepted == emissary.accepted == 40
    assert all(node.internal_errors == 0 for node in nodes.values())
