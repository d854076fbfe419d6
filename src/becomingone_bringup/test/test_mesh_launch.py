"""
``mesh.launch.py`` brings up cells that see each other (launch_testing; needs ``launch_ros``).

Skipped where ``launch_testing`` is not installed (the PyPI-wheel set-up); runs on a full
ROS 2 install under ``colcon test``.
"""

import os
import time
import unittest

from becomingone_msgs.msg import MeshState
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor

try:
    import launch_testing  # noqa: F401 - its pytest plugin runs generate_test_description
    HAVE_LAUNCH_TESTING = True
except ImportError:
    HAVE_LAUNCH_TESTING = False


# The mark exists only with launch_testing's pytest plugin.
@(pytest.mark.launch_test if HAVE_LAUNCH_TESTING else (lambda function: function))
def generate_test_description():
    from ament_index_python.packages import get_package_share_directory
    from launch import LaunchDescription
    from launch.actions import IncludeLaunchDescription
    from launch.launch_description_sources import PythonLaunchDescriptionSource
    import launch_testing.actions

    mesh_launch = os.path.join(get_package_share_directory('becomingone_bringup'), 'launch',
                               'mesh.launch.py')
    return LaunchDescription([
        IncludeLaunchDescription(PythonLaunchDescriptionSource(mesh_launch),
                                 launch_arguments={'cells': '2', 'role': 'light'}.items()),
        launch_testing.actions.ReadyToTest(),
    ])


# Skipped as a test, not as a module: a run with no test collected counts as a failure.
@unittest.skipUnless(HAVE_LAUNCH_TESTING, 'launch_testing is not installed')
class TestMeshLaunch(unittest.TestCase):

    def test_each_cell_sees_both(self):
        context = rclpy.Context()
        rclpy.init(context=context)
        node = rclpy.create_node('mesh_launch_probe', context=context)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        views = {0: [], 1: []}
        for index, received in views.items():
            node.create_subscription(MeshState, f'/cell_{index}/mesh/state', received.append, 10)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not all(
                    r and r[-1].peers_alive == 2 for r in views.values()):
                executor.spin_once(timeout_sec=0.1)
            for index, received in views.items():
                self.assertTrue(received, f'no mesh/state from cell_{index}')
                self.assertEqual(received[-1].peers_alive, 2)
                self.assertEqual(sorted(s.state.node_id for s in received[-1].peers),
                                 ['cell_0', 'cell_1'])
        finally:
            executor.shutdown()
            node.destroy_node()
            rclpy.try_shutdown(context=context)
