"""
Bring up a BecomingONE host: its cell (cell.launch.py), its memory and rviz when asked.

    ros2 launch becomingone_bringup bringup.launch.py use_sim:=true use_rviz:=true

Every included file gets its arguments explicitly, so each stays usable on its own. With
``use_rviz:=true`` and no rviz2 installed, nothing starts (preflight.launch.py says why).

``config:=host.yaml`` brings up the host a configuration file describes instead of the cell
and memory files (``pi_node.launch.py config:=``: the same file ``becomingone run --config``
runs); ``use_rviz`` and ``log_level`` still apply, everything else is the file's.
"""

from becomingone_core.ros.launch_actions import preflight
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription, OpaqueFunction
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    share = FindPackageShare('becomingone_bringup')
    namespace = LaunchConfiguration('namespace')

    def include(name, arguments, condition=None):
        return IncludeLaunchDescription(
            PythonLaunchDescriptionSource(PathJoinSubstitution([share, 'launch', name])),
            launch_arguments=arguments.items(), condition=condition)

    def host(context):
        # A configuration file: the host it describes; else the cell and memory files.
        config = LaunchConfiguration('config').perform(context)
        if config:
            return [include('pi_node.launch.py', {
                'config': config, 'log_level': LaunchConfiguration('log_level')})]
        return [
            include('cell.launch.py', {
                'namespace': namespace,
                'params_file': LaunchConfiguration('params_file'),
                'scale': LaunchConfiguration('scale'),
                'use_sim': LaunchConfiguration('use_sim'),
                'log_level': LaunchConfiguration('log_level'),
            }),
            include('memory.launch.py', {
                'namespace': namespace,
                'log_level': LaunchConfiguration('log_level'),
            }, condition=IfCondition(LaunchConfiguration('use_memory'))),
        ]

    return LaunchDescription([
        DeclareLaunchArgument('namespace', default_value='',
                              description="Namespace of this host's cell (any host name: "
                                          "'7' runs in /h7)."),
        DeclareLaunchArgument('params_file',
                              default_value=PathJoinSubstitution([share, 'params', 'cell.yaml']),
                              description='Parameters of every node of the cell.'),
        DeclareLaunchArgument('scale', default_value='demo',
                              description='Scale preset (becomingone_core.scales).'),
        DeclareLaunchArgument('use_sim', default_value='false',
                              description='Feed the cell from sim_source.'),
        DeclareLaunchArgument('use_memory', default_value='false',
                              description="Keep the cell's history in its temporal memory."),
        DeclareLaunchArgument('use_rviz', default_value='false',
                              description='Start rviz2 with the BecomingONE view.'),
        DeclareLaunchArgument('log_level', default_value='info',
                              description='Log level of every node.'),
        DeclareLaunchArgument('config', default_value='',
                              description='A host configuration file (becomingone config '
                                          'init APP): brings up that host instead of the '
                                          'cell and memory files.'),
        preflight(rviz=LaunchConfiguration('use_rviz'), reason='use_rviz:=true'),
        OpaqueFunction(function=host),
        include('rviz.launch.py', {'namespace': namespace},
                condition=IfCondition(LaunchConfiguration('use_rviz'))),
    ])
