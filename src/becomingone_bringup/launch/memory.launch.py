"""
The temporal memory of one BecomingONE cell: the ``memory`` node under the cell's namespace.

    ros2 launch becomingone_bringup memory.launch.py namespace:=cell1
    ros2 launch becomingone_bringup memory.launch.py namespace:=cell1 path:=/data/cell1.sqlite3

Parameters come from ``params_file`` (default ``params/memory.yaml``); ``path``, when given,
overrides the store file.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, GroupAction
from launch.conditions import IfCondition, UnlessCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import Node, PushROSNamespace
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    namespace = LaunchConfiguration('namespace')
    params_file = LaunchConfiguration('params_file')
    path = LaunchConfiguration('path')
    log_level = LaunchConfiguration('log_level')
    share = FindPackageShare('becomingone_bringup')
    path_given = PythonExpression(["'", path, "' != ''"])

    arguments = [
        DeclareLaunchArgument('namespace', default_value='',
                              description='Namespace of the cell whose history is kept.'),
        DeclareLaunchArgument('params_file',
                              default_value=PathJoinSubstitution([share, 'params', 'memory.yaml']),
                              description='Parameters of the memory node.'),
        DeclareLaunchArgument('path', default_value='',
                              description='Store file; empty: the params file, else '
                                          '$XDG_STATE_HOME/becomingone/<cell>.sqlite3.'),
        DeclareLaunchArgument('log_level', default_value='info',
                              description='Log level of the memory node.'),
    ]

    def memory(extra, condition):
        return Node(package='becomingone_core', executable='memory', name='memory',
                    output='screen', parameters=[params_file, *extra],
                    ros_arguments=['--log-level', log_level], condition=condition)

    return LaunchDescription([
        *arguments,
        GroupAction([
            PushROSNamespace(namespace),
            memory([{'path': path}], IfCondition(path_given)),
            memory([], UnlessCondition(path_given)),
        ]),
    ])
