"""The transducer node on real rclpy: bad input is counted and shown, silent sources reported."""

import math
import time

from becomingone_core.nodes.transducer_node import TransducerNode
from becomingone_core.phase_block import pack
from becomingone_core.testing.processes import isolated_ros_env
from becomingone_core.testing.ros import RosProbe
from becomingone_msgs.msg import Phase, Resonance
from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
from rclpy.parameter import Parameter


# Stamps are seconds after the test module loaded (the node refuses stamps far from its clock);
# the nodes below accept an hour of age, so slow discovery never turns them stale.
EPOCH_S = int(time.time())
EPOCH_NS = EPOCH_S * 10**9
OLD_INPUTS = Parameter('max_input_age_s', value=3600.0)


def _phase(t, values, source='imu', epoch_ns=EPOCH_NS):
    fields = pack(t, values, epoch_ns=epoch_ns)
    message = Phase(channels=fields['channels'], stamps_offset=fields['stamps_offset'],
                    real=fields['real'], imag=fields['imag'])
    message.header.stamp.sec, message.header.stamp.nanosec = divmod(fields['stamp_ns'], 10**9)
    message.source = source
    return message


def _statuses(arrays, name):
    return [s for a in arrays for s in a.status if s.name == name]


def test_bad_input_is_counted_and_reported_and_a_silent_source_shows():
    with RosProbe(isolated_ros_env()) as probe:
        node = TransducerNode('emissary', context=probe.context, parameter_overrides=[
            Parameter('sample_rate_hz', value=0.0), Parameter('source_timeout_s', value=0.5),
            OLD_INPUTS])
        probe.executor.add_node(node)
        # Reliable (compatible with the node's best-effort subscription): every bad message counts.
        publisher = probe.node.create_publisher(Phase, 'phase', 50)
        resonance = probe.collect(Resonance, 'emissary/resonance', 20)
        diagnostics = probe.collect(DiagnosticArray, '/diagnostics', 20)
        t = np.arange(0, 0.2, 0.01)
        good = _phase(t, np.exp(2j * np.pi * t))
        assert probe.spin_until(lambda: (publisher.publish(good), resonance)[1], 30)
        bad = [
            _phase([1.0, 1.01], [[math.nan], [1.0]]),  # NaN: whole block refused
            Phase(real=[1.0, 2.0], imag=[0.0]),  # sizes differ
            _phase([0.5], [[1.0]]),  # earlier than what came before
        ]
        bad[1].source = 'imu'
        for message in bad:
            publisher.publish(message)
        publisher.publish(_phase([0.3, 0.31], [[1.0], [1.0]]))
        # (Repeats of the first message while discovery settled are time_backwards too.)
        assert probe.spin_until(lambda: node.transducer.rejections.counts['size_mismatch'], 60)
        counts = node.transducer.rejections.counts
        assert counts['non_finite'] == 2 and counts['size_mismatch'] == 1
        assert counts['time_backwards'] >= 1
        assert probe.spin_until(lambda: resonance[-1].rejected == node.transducer.rejected, 60)
        assert probe.spin_until(lambda: any(
            s.level == b'\x01' and 'non_finite' in s.message
            for s in _statuses(diagnostics, 'emissary: rejections')), 60)
        # Nothing more from "imu": after its timeout it is reported silent (every source: ERROR).
        assert probe.spin_until(lambda: any(
            s.level == b'\x02' and 'imu' in s.message
            for s in _statuses(diagnostics, 'emissary: input')), 60)
        assert node.transducer.silent_sources == ['imu']
        probe.executor.remove_node(node)
        node.destroy_node()


def test_a_cycle_held_back_by_publish_rate_goes_out_once_the_period_allows():
    with RosProbe(isolated_ros_env()) as probe:
        node = TransducerNode('emissary', context=probe.context, parameter_overrides=[
            Parameter('sample_rate_hz', value=0.0), Parameter('publish_rate_hz', value=0.5),
            OLD_INPUTS])
        probe.executor.add_node(node)
        publisher = probe.node.create_publisher(Phase, 'phase', 50)
        resonance = probe.collect(Resonance, 'emissary/resonance', 20)
        first = _phase(np.arange(0, 0.2, 0.01), np.ones(20))
        assert probe.spin_until(lambda: (publisher.publish(first), resonance)[1], 30)
        assert node._flush_timer.is_canceled()  # published on the input: nothing to flush
        cycles = node.transducer.cycles
        t = np.arange(0.3, 0.4, 0.01)
        publisher.publish(_phase(t, np.ones(t.size)))
        assert probe.spin_until(lambda: node.transducer.cycles > cycles, 30)
        if len(resonance) == 1:  # within 2 s of the first: held back, flush armed
            assert not node._flush_timer.is_canceled()
        assert probe.spin_until(lambda: len(resonance) == 2, 10)
        stamp = resonance[-1].header.stamp
        assert abs(stamp.sec + stamp.nanosec * 1e-9 - (EPOCH_S + t[-1])) < 1e-6
        probe.spin_for(0.1)
        assert node._flush_timer.is_canceled() and len(resonance) == 2
        node.destroy_node()


def _clean_block(node, source='clean', span_s=0.05, rate_hz=200.0):
    """Return a 2 Hz sine block ending at the node's clock (what a live sensor sends)."""
    now_ns = node.get_clock().now().nanoseconds
    t = np.arange(-span_s, 0.0, 1 / rate_hz) + 1 / rate_hz
    return _phase(t, np.exp(2j * np.pi * 2.0 * t), source=source, epoch_ns=now_ns)


def _feed(probe, node, callback, seconds):
    """Feed clean blocks for ``seconds``; return how many integration cycles they made."""
    cycles = node.transducer.cycles
    deadline = node.get_clock().now().nanoseconds + int(seconds * 1e9)
    while node.get_clock().now().nanoseconds < deadline:
        callback(_clean_block(node))
        probe.spin_for(0.05)
    return node.transducer.cycles - cycles


def test_regressions_one_message_neither_kills_nor_silences_a_transducer():
    with RosProbe(isolated_ros_env()) as probe:
        node = TransducerNode('master', context=probe.context)
        probe.executor.add_node(node)
        subscription = next(s for s in node.subscriptions if s.topic_name == '/phase')
        assert _feed(probe, node, subscription.callback, 0.5) > 0
        # A finite offset of 1e308 used to overflow the bin index (OverflowError: it died).
        huge = _clean_block(node)
        huge.stamps_offset = [0.0, 1e308]
        huge.real, huge.imag, huge.channels = [1.0, 1.0], [0.0, 0.0], 1
        subscription.callback(huge)
        assert node.transducer.rejections.counts['span'] == 2
        # One valid sample from another frame stamped an hour ahead used to make every later
        # clean sample 'late' until the wall clock reached it.
        ahead = _clean_block(node, source='other', span_s=0.005)
        ahead.header.stamp.sec += 3600
        subscription.callback(ahead)
        assert node.transducer.rejections.counts['future'] == 1
        assert _feed(probe, node, subscription.callback, 1.0) >= 5
        assert node.transducer.rejections.counts['late'] == 0
        assert node.transducer.active_sources == ['clean'] and node.internal_errors == 0
        probe.executor.remove_node(node)
        node.destroy_node()
