"""
The diagnostics aggregator for rqt_robot_monitor (a full ROS 2 install: diagnostic_aggregator).

    ros2 launch becomingone_bringup diagnostics.launch.py
    ros2 run rqt_robot_monitor rqt_robot_monitor

Groups every BecomingONE node's ``/diagnostics`` into Cell, Memory, Mesh, Inputs and Outputs
(``config/diagnostics_aggregator.yaml``).
"""

from becomingone_core.ros.launch_actions import preflight
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument(
            'config',
            default_value=PathJoinSubstitution([FindPackageShare('becomingone_bringup'),
                                                'config', 'diagnostics_aggregator.yaml']),
            description='Analyzers of the diagnostic aggregator'),
        preflight(require='diagnostic_aggregator/aggregator_node',
                  reason='diagnostics.launch.py'),
        Node(package='diagnostic_aggregator', executable='aggregator_node',
             name='diagnostic_aggregator', output='screen',
             parameters=[LaunchConfiguration('config')]),
    ])
