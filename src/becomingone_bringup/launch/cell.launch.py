"""
One BecomingONE cell, every role its own process: master, emissary, sync, witness.

    ros2 launch becomingone_bringup cell.launch.py namespace:=cell1 scale:=mini use_sim:=true

Every node gets ``scale`` (the preset of :mod:`becomingone_core.scales` giving the time scales
and thresholds their defaults), then ``params_file`` (everything else; a value set there wins).
Topics are relative, so the whole cell lives under ``namespace``; any host name works there
(``7`` runs in ``/h7``, see ``becomingone_core.mesh.namespace_for``).
"""

from becomingone_core.ros.launch_actions import preflight
from becomingone_core.scales import SCALES
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, GroupAction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node, PushROSNamespace
from launch_ros.substitutions import FindPackageShare

ROLES = ('master', 'emissary', 'sync', 'witness')


def generate_launch_description():
    namespace = LaunchConfiguration('namespace')
    params_file = LaunchConfiguration('params_file')
    scale = LaunchConfiguration('scale')
    use_sim = LaunchConfiguration('use_sim')
    log_level = LaunchConfiguration('log_level')
    share = FindPackageShare('becomingone_bringup')

    arguments = [
        DeclareLaunchArgument('namespace', default_value='',
                              description='Namespace of the cell (one per cell on a host).'),
        DeclareLaunchArgument('params_file',
                              default_value=PathJoinSubstitution([share, 'params', 'cell.yaml']),
                              description='Parameters of every node, applied after the scale.'),
        DeclareLaunchArgument('scale', default_value='demo',
                              choices=list(SCALES),
                              description='Scale preset (becomingone_core.scales) of the cell.'),
        DeclareLaunchArgument('use_sim', default_value='false', choices=['true', 'false'],
                              description='Also start sim_source feeding the cell.'),
        DeclareLaunchArgument('log_level', default_value='info',
                              description='Log level of every node.'),
    ]
    nodes = [
        Node(package='becomingone_core', executable=role, name=role, output='screen',
             parameters=[{'scale': scale}, params_file], ros_arguments=['--log-level', log_level])
        for role in ROLES
    ]
    nodes.append(Node(package='becomingone_core', executable='sim_source', name='sim_source',
                      output='screen', parameters=[params_file],
                      ros_arguments=['--log-level', log_level],
                      condition=IfCondition(use_sim)))
    return LaunchDescription([
        *arguments,
        preflight(namespace=namespace),  # also makes it a valid namespace: '7' -> 'h7'
        GroupAction([PushROSNamespace(namespace), *nodes]),
    ])
