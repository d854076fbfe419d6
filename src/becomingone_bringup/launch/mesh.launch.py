"""
A mesh of N cells on one machine, each in its own namespace, fed by simulated sources.

    ros2 launch becomingone_bringup mesh.launch.py cells:=3 rviz:=true

Cell ``i`` runs as host ``cell_<i>`` through ``pi_node.launch.py`` (so one machine exercises the
same bring-up as a cluster), with a ``sim_source`` publishing its ``phase`` when ``simulate`` is
true; each source runs at its own frequency, so the cells are not identical. The cells share
state on ``/becomingone/mesh/peers``; each one's view of the mesh is on ``/cell_<i>/mesh/state``.
With ``rviz:=true`` and no rviz2 installed, nothing starts (preflight.launch.py says why).
"""

from becomingone_core.ros.launch_actions import preflight
from becomingone_core.scales import SCALES
from launch import LaunchDescription
from launch.actions import (DeclareLaunchArgument, IncludeLaunchDescription,
                            OpaqueFunction)
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare


def _launch_setup(context):
    count = int(LaunchConfiguration('cells').perform(context))
    if not 1 <= count <= 64:
        raise RuntimeError(f"launch argument 'cells' is {count}; expected 1 to 64")
    share = FindPackageShare('becomingone_bringup')
    actions = []
    for index in range(count):
        node_id = f'cell_{index}'
        actions.append(IncludeLaunchDescription(
            PythonLaunchDescriptionSource(PathJoinSubstitution([share, 'launch',
                                                                'pi_node.launch.py'])),
            launch_arguments={
                'node_id': node_id,
                'role': LaunchConfiguration('role'),
                'params_file': LaunchConfiguration('params_file'),
                'scale': LaunchConfiguration('scale'),
                'log_level': LaunchConfiguration('log_level'),
                'simulate': LaunchConfiguration('simulate'),
                'sim_frequency_hz': str(1.0 + 0.05 * index),
            }.items()))
    return actions


def generate_launch_description():
    share = FindPackageShare('becomingone_bringup')
    return LaunchDescription([
        DeclareLaunchArgument('cells', default_value='3',
                              description='How many cells (namespaces cell_0 ... cell_N-1)'),
        DeclareLaunchArgument('role', default_value='full',
                              choices=['full', 'light', 'witness', 'relay'],
                              description='Role of every cell (see pi_node.launch.py)'),
        DeclareLaunchArgument('scale', default_value='demo',
                              choices=list(SCALES),
                              description='Scale preset of every cell'),
        DeclareLaunchArgument('simulate', default_value='true',
                              description='Feed each cell from a simulated phase source'),
        DeclareLaunchArgument(
            'params_file', default_value=PathJoinSubstitution([share, 'params', 'mesh.yaml']),
            description='Parameters of the mesh node of every cell'),
        DeclareLaunchArgument('rviz', default_value='false',
                              description="Show the peers' T in rviz (as cell_0 sees them)"),
        DeclareLaunchArgument('log_level', default_value='info',
                              description='Log level of every node'),
        # Before any cell starts: the rviz2 the last action needs must be there.
        preflight(rviz=LaunchConfiguration('rviz'), reason='rviz:=true'),
        OpaqueFunction(function=_launch_setup),
        Node(package='rviz2', executable='rviz2', name='rviz2', output='log',
             arguments=['-d', PathJoinSubstitution([share, 'rviz', 'mesh.rviz'])],
             condition=IfCondition(LaunchConfiguration('rviz'))),
    ])
