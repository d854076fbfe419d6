"""``sim_source`` over real DDS: blocks of phase with exact spacing; bad parameters refused."""

from becomingone_core.phase_block import unpack
from becomingone_core.testing.processes import isolated_ros_env, NodeProcess
from becomingone_core.testing.ros import RosProbe
from becomingone_msgs.msg import Phase
import numpy as np
from rclpy.qos import qos_profile_sensor_data


def test_publishes_seeded_blocks_at_the_set_rate():
    env = isolated_ros_env()
    params = ['-p', 'rate_hz:=200.0', '-p', 'block_size:=10', '-p', 'channels:=2',
              '-p', 'frequency_hz:=2.0', '-p', 'source_name:=test_sine']
    with RosProbe(env) as probe, NodeProcess.run(
            'becomingone_core', 'sim_source', env, ros_arguments=params) as node:
        received = probe.collect(Phase, 'phase', qos_profile_sensor_data)
        assert probe.spin_until(lambda: len(received) >= 30, timeout_s=60), node.output()
    blocks = [unpack(m.header.stamp.sec * 10**9 + m.header.stamp.nanosec, m.stamps_offset,
                     m.real, m.imag, m.channels) for m in received]
    assert all(m.source == 'test_sine' and m.channels == 2 for m in received)
    assert all(phase.shape == (10, 2) for _, phase in blocks)
    t = np.concatenate([b[0] for b in blocks])
    phase = np.concatenate([b[1] for b in blocks])
    # Best effort may drop a block; within blocks the spacing is exactly 1/rate.
    within = np.concatenate([np.diff(b[0]) for b in blocks])
    np.testing.assert_allclose(within, 1 / 200.0, atol=1e-6)
    assert np.all(np.diff(t) > 0)
    steps = np.angle(phase[1:, 0] / phase[:-1, 0]) / np.diff(t)
    np.testing.assert_allclose(np.median(steps), 2 * np.pi * 2.0, rtol=1e-3)
    np.testing.assert_allclose(phase[:, 1] / phase[:, 0], np.exp(1j * np.pi), atol=1e-9)


def test_bad_parameter_stops_start_up_naming_it():
    env = isolated_ros_env()
    with NodeProcess.run('becomingone_core', 'sim_source', env,
                         ros_arguments=['-p', 'schedule:=[sawtooth]']) as node:
        assert node.process.wait(timeout=60) == 2
        assert 'schedule' in node.output() and 'sawtooth' in node.output()
    with NodeProcess.run('becomingone_core', 'sim_source', env,
                         ros_arguments=['-p', 'rate_hz:=-5.0']) as node:
        assert node.process.wait(timeout=60) == 2
        assert "'rate_hz'" in node.output()
