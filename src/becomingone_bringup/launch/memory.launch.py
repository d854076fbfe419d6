"""
The temporal memory of one BecomingONE cell: the ``memory`` node under the cell's namespace.

    ros2 launch becomingone_bringup memory.launch.py namespace:=cell1
    ros2 launch becomingone_bringup memory.launch.py namespace:=cell1 path:=/data/cell1.sqlite3

Parameters come from ``params_file`` (default ``params/memory.yaml``); ``path``, when given,
overrides the store file. The memory is a lifecycle node brought up (configure, activate) by
this file; a store that cannot open leaves it unconfigured, with the reason in its log. Any host
name works as ``namespace`` (``7`` runs in ``/h7``, see ``becomingone_core.mesh.namespace_for``).
"""

from becomingone_core.ros.launch_actions import managed, preflight
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, GroupAction
from launch.conditions import IfCondition, UnlessCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import LifecycleNode, PushROSNamespace
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
        # autostart false: this file drives the transitions (managed).
        return managed(LifecycleNode(
            package='becomingone_core', executable='memory', name='memory', namespace='',
            output='screen', parameters=[params_file, *extra, {'autostart': False}],
            ros_arguments=['--log-level', log_level], condition=condition))

    return LaunchDescription([
        *arguments,
        preflight(namespace=namespace),  # also makes it a valid namespace: '7' -> 'h7'
        GroupAction([
            PushROSNamespace(namespace),
            *memory([{'path': path}], IfCondition(path_given)),
            *memory([], UnlessCondition(path_given)),
        ]),
    ])
