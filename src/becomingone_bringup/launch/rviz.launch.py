"""
rviz2 with the BecomingONE view: the cell's phase vectors against the collapse circle.

Without rviz2 installed this refuses before starting anything (preflight.launch.py). Any host
name works as ``namespace`` (``7`` shows ``/h7``, see ``becomingone_core.mesh.namespace_for``).
"""

from becomingone_core.ros.launch_actions import preflight
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    share = FindPackageShare('becomingone_bringup')
    return LaunchDescription([
        DeclareLaunchArgument('namespace', default_value='',
                              description='Namespace of the cell to show.'),
        DeclareLaunchArgument(
            'rviz_config',
            default_value=PathJoinSubstitution([share, 'rviz', 'becomingone.rviz']),
            description='rviz2 configuration file.'),
        # Also makes the namespace valid: '7' -> 'h7'.
        preflight(rviz='true', reason='rviz.launch.py',
                  namespace=LaunchConfiguration('namespace')),
        Node(package='rviz2', executable='rviz2', name='rviz2', output='screen',
             namespace=LaunchConfiguration('namespace'),
             arguments=['-d', LaunchConfiguration('rviz_config')]),
    ])
