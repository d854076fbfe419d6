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
    message.header.frame_id = source
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
        bad[1].header.frame_id = 'imu'
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
