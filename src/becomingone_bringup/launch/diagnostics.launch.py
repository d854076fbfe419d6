"""
The diagnostics aggregator for rqt_robot_monitor (a full ROS 2 install: diagnostic_aggregator).

    ros2 launch becomingone_bringup diagnostics.launch.py
    ros2 run rqt_robot_monitor rqt_robot_monitor

Groups every BecomingONE node's ``/diagnostics`` into Cell, Memory, Mesh, Inputs and Outputs
(``config/diagnostics_aggregator.yaml``).
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution, ThisLaunchFileDir
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def _preflight(**arguments):
    """Include preflight.launch.py: refuse if a tool is missing, SIGTERM, valid namespace."""
    return IncludeLaunchDescription(PythonLaunchDescriptionSource(
        [ThisLaunchFileDir(), '/preflight.launch.py']), launch_arguments=arguments.items())


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument(
            'config',
            default_value=PathJoinSubstitution([FindPackageShare('becomingone_bringup'),
                                                'config', 'diagnostics_aggregator.yaml']),
            description='Analyzers of the diagnostic aggregator'),
        _preflight(require='diagnostic_aggregator/aggregator_node',
                   reason='diagnostics.launch.py'),
        Node(package='diagnostic_aggregator', executable='aggregator_node',
             name='diagnostic_aggregator', output='screen',
             parameters=[LaunchConfiguration('config')]),
    ])
