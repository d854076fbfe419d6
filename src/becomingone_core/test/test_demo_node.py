"""The demo executable runs over real DDS: another process hears its phase stream."""

import re

from becomingone_core.testing.processes import isolated_ros_env, NodeProcess
from becomingone_core.testing.ros import RosProbe
from becomingone_msgs.msg import Phase
from rclpy.qos import qos_profile_sensor_data


def test_demo_streams_phase_and_reports_a_summary():
    env = isolated_ros_env()
    with RosProbe(env) as probe, NodeProcess.run(
            'becomingone_core', 'becomingone_demo', env, arguments=['--duration', '6']) as demo:
        received = probe.collect(Phase, 'phase', qos_profile_sensor_data)
        assert probe.spin_until(lambda: len(received) >= 20, timeout_s=30), demo.output()
        assert all(len(m.real) == 1 and abs(complex(m.real[0], m.imag[0])) > 0.99
                   for m in received)
        demo.process.wait(timeout=30)
        match = re.search(r'summary: (\d+) samples over DDS', demo.output())
        assert match and int(match.group(1)) > 0, demo.output()
        assert demo.process.returncode == 0
