"""
launch_testing: cell.launch.py starts a namespaced cell on simulated input that collapses.

Runs where ``launch``/``launch_testing`` are installed (a full ROS 2 install); skipped elsewhere.
"""

import unittest

import pytest

launch = pytest.importorskip('launch')
launch_testing = pytest.importorskip('launch_testing')
launch_ros = pytest.importorskip('launch_ros')

# Below: after the skips, since nothing there works without launch.
from becomingone_msgs.msg import SyncState  # noqa: E402, I100
from launch.actions import IncludeLaunchDescription  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402
from launch.substitutions import PathJoinSubstitution  # noqa: E402
from launch_ros.substitutions import FindPackageShare  # noqa: E402
import launch_testing.actions  # noqa: E402
import rclpy  # noqa: E402
from rclpy.qos import QoSDurabilityPolicy, QoSProfile, QoSReliabilityPolicy  # noqa: E402


@pytest.mark.launch_test
def generate_test_description():
    cell = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(PathJoinSubstitution(
            [FindPackageShare('becomingone_bringup'), 'launch', 'cell.launch.py'])),
        launch_arguments={'namespace': 'cell_under_test', 'use_sim': 'true',
                          'scale': 'demo'}.items())
    return launch.LaunchDescription([cell, launch_testing.actions.ReadyToTest()])


class TestCellLaunch(unittest.TestCase):

    def test_namespaced_cell_collapses_on_the_simulated_sine(self, proc_output):
        rclpy.init()
        node = rclpy.create_node('cell_launch_probe')
        states = []
        qos = QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE,
                         durability=QoSDurabilityPolicy.TRANSIENT_LOCAL)
        node.create_subscription(SyncState, '/cell_under_test/sync/state', states.append, qos)
        try:
            end = node.get_clock().now().nanoseconds + 60 * 10**9
            while node.get_clock().now().nanoseconds < end and not any(
                    s.collapsed for s in states):
                rclpy.spin_once(node, timeout_sec=0.1)
            self.assertTrue(any(s.collapsed for s in states))
        finally:
            node.destroy_node()
            rclpy.shutdown()


@launch_testing.post_shutdown_test()
class TestCellShutdown(unittest.TestCase):

    def test_every_process_exits_cleanly(self, proc_info):
        # SIGINT or SIGTERM, once or twice: every node ends with 0 (runner.StopRequest).
        launch_testing.asserts.assertExitCodes(proc_info, allowable_exit_codes=[0])
