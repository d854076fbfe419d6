"""
One host of a BecomingONE mesh (a Raspberry Pi, a PC, a container).

    ros2 launch becomingone_bringup pi_node.launch.py node_id:=pi1 role:=full

The host's nodes run in the namespace ``/<node_id>`` (made a valid name: ``7`` runs in ``/h7``,
see ``becomingone_core.mesh.namespace_for``); which nodes start depends on ``role``
(``becomingone_core.mesh.ROLE_NODES``):

* ``full``: the cell (Master, Emissary, sync layer, witness) in one process, the temporal
  memory and the mesh
* ``light``: the Emissary and the sync layer, and the mesh
* ``witness``: the witness and the temporal memory, and the mesh
* ``relay``: the mesh node only (it forwards nothing itself: DDS does; it sees and reports)

``simulate:=true`` adds a ``sim_source`` feeding the cell's ``phase`` (demos, containers).

``config:=host.yaml`` runs a host configuration file (``becomingone config init APP``; its keys:
the ``becomingone`` package README) instead: the file gives the role, the id (namespace), the
scale, the credentials, every node's parameters and the host's inputs, outputs and API, through
the same resolver as ``becomingone run`` (``becomingone config show --ros host.yaml`` prints what
each node gets). ``one_process:=true`` (default) runs it as ``becomingone run --config``; false
starts each node's own executable with its resolved parameters. A bad file stops the launch
before anything starts, with the same one-line error. ``tls_dir`` and ``log_level`` still apply;
the other arguments are the file's to set.

The memory is a lifecycle node brought up (configure, activate) by this file: a store that
cannot open leaves it unconfigured and running (no respawn loop), with the reason in its log.

Every host of one mesh must use the same ROS_DOMAIN_ID; on networks without reliable multicast
set FASTRTPS_DEFAULT_PROFILES_FILE to one of this package's ``config/fastdds_*.xml`` profiles.
"""

import os
import socket
import tempfile

from becomingone_core.mesh import namespace_for, ROLE_NODES, ROLES
from becomingone_core.ros.launch_actions import managed, preflight
from becomingone_core.scales import SCALES
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, GroupAction, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode, Node, PushROSNamespace
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare
import yaml

# A whole cell runs as one process (fewer DDS participants on a small host); a partial cell
# runs its nodes' own executables (each named like the node).
WHOLE_CELL = ('master', 'emissary', 'sync', 'witness')
#: Executables that are lifecycle nodes, brought up by this file.
MANAGED = ('memory',)


def _processes(role):
    """Return the executables a role starts, in start order."""
    nodes = list(ROLE_NODES[role])
    if all(part in nodes for part in WHOLE_CELL):
        return ['becomingone_cell'] + [n for n in nodes if n not in WHOLE_CELL]
    return nodes


def _node_parameters_file(node, values):
    """Write ``values`` for ``node`` (any namespace) to a parameter file; return its path."""
    handle, path = tempfile.mkstemp(prefix=f'becomingone_{node}_', suffix='.yaml')
    with os.fdopen(handle, 'w') as stream:
        yaml.safe_dump({f'/**/{node}': {'ros__parameters': values}}, stream)
    return path


def _environments(tls_dir, node_id):
    """
    Return ``(host-facing, host-only)`` extra environments of this host's processes.

    With ``tls_dir`` (written by ``becomingone-tls``), the process holding the mesh node talks to
    the other hosts over TCP + TLS and to this host over loopback; every other process stays on
    this host (UDP bound to 127.0.0.1, shared memory). Without it: the ROS 2 defaults.
    """
    if not tls_dir:
        return {}, {}
    outward = {'FASTRTPS_DEFAULT_PROFILES_FILE': f'{tls_dir}/fastdds_tls_{node_id}.xml',
               'OPENSSL_CONF': f'{tls_dir}/openssl_tls.cnf',
               'ROS_AUTOMATIC_DISCOVERY_RANGE': 'SUBNET'}
    inward = {'FASTRTPS_DEFAULT_PROFILES_FILE': f'{tls_dir}/fastdds_cell.xml',
              'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST'}
    return outward, inward


def _admission_file(tls_dir):
    """Return the mesh node's ``tls_admission_file`` for ``tls_dir`` ('' without TLS)."""
    return f'{tls_dir}/tls_admission.json' if tls_dir else ''


def _config_setup(context, path):
    """Return the processes of configuration file ``path`` (``config:=``), as it resolves."""
    from becomingone.config import launch_plan, resolve
    from becomingone.config.schema import ConfigErrors
    one_process = LaunchConfiguration('one_process').perform(context).lower() == 'true'
    try:
        plan = resolve.plan(resolve.load(path))
        parameters = None
        if not one_process:
            handle, parameters = tempfile.mkstemp(prefix='becomingone_config_', suffix='.yaml')
            with os.fdopen(handle, 'w') as stream:
                stream.write(resolve.dump_ros_parameters(plan))
        planned = launch_plan.processes(plan, path, parameters, one_process)
    except ConfigErrors as errors:
        raise RuntimeError('\n'.join(f'config error: {e}' for e in errors.errors)) from None
    tls_dir = LaunchConfiguration('tls_dir').perform(context)
    outward, inward = _environments(tls_dir, plan.config.host.id)
    log_level = ['--ros-args', '--log-level', LaunchConfiguration('log_level')]
    nodes = []
    for process in planned:
        options = {'package': process.package, 'executable': process.executable,
                   'output': 'screen', 'respawn': True, 'respawn_delay': 2.0,
                   'arguments': [*process.arguments, *log_level],
                   'additional_env': outward if process.outward else inward}
        if process.name is not None:
            options['name'] = process.name
        if process.parameters_file is not None:
            options['parameters'] = [process.parameters_file]
        if process.outward and tls_dir:  # the mesh node's admission gate (tls_admission)
            options['parameters'] = [*options.get('parameters', []),
                                     {'tls_admission_file': _admission_file(tls_dir)}]
        if process.lifecycle:  # autostart false: this file drives the transitions
            options['parameters'] = [*options.get('parameters', []), {'autostart': False}]
            nodes += managed(LifecycleNode(namespace='', **options))
        else:
            nodes.append(Node(**options))
    if one_process:  # `becomingone run` puts its nodes in the file's namespace itself
        return nodes
    return [GroupAction([PushROSNamespace(plan.namespace.lstrip('/')), *nodes])]


def _launch_setup(context):
    config = LaunchConfiguration('config').perform(context)
    if config:
        return _config_setup(context, config)
    role = LaunchConfiguration('role').perform(context)
    if role not in ROLES:
        raise RuntimeError(f"launch argument 'role' is {role!r}; expected one of {ROLES}")
    node_id = LaunchConfiguration('node_id').perform(context)
    one_process = LaunchConfiguration('one_process').perform(context).lower() == 'true'
    simulate = LaunchConfiguration('simulate').perform(context).lower() == 'true'
    tls_dir = LaunchConfiguration('tls_dir').perform(context)
    outward, inward = _environments(tls_dir, node_id)
    # The cell's and the mesh's files, then this host's identity and the scale preset (the
    # nodes take every time scale and threshold default from it: becomingone_core.scales).
    common = [LaunchConfiguration('cell_params_file'), LaunchConfiguration('params_file'), {
        'scale': LaunchConfiguration('scale'),
        'markers': ParameterValue(LaunchConfiguration('markers'), value_type=bool),
        # rclpy's own: each node's ~/get_type_description service (REP 2016).
        'start_type_description_service': ParameterValue(
            LaunchConfiguration('type_description_service'), value_type=bool),
        'role': role,
        # Typed explicitly: an id like "7" must stay a string, a weight like "2" a double.
        'node_id': ParameterValue(node_id, value_type=str),
        'host': ParameterValue(LaunchConfiguration('host'), value_type=str),
        'weight': ParameterValue(LaunchConfiguration('weight'), value_type=float),
        'use_sim_time': LaunchConfiguration('use_sim_time'),
        # The host's mesh credentials (becomingone-pki export); '' is an open lab mesh.
        'security_dir': ParameterValue(LaunchConfiguration('security_dir'), value_type=str),
        # With tls_dir: the mesh node's TLS admission gate (becomingone_core.tls_admission).
        'tls_admission_file': _admission_file(tls_dir),
    }]
    log_level = ['--log-level', LaunchConfiguration('log_level')]
    nodes = []
    if one_process:
        # The whole role on one executor: one Python runtime, one DDS participant per host.
        arguments = ['--role', role] + (['--sim'] if simulate and role in ('full', 'light')
                                        else [])
        # The simulated source's own parameters go to it alone:
        # a file section for that node, since `-p node:name:=` misses namespaced nodes.
        sim_file = _node_parameters_file('sim_source', {
            'source_name': f'sim_{node_id}',
            'frequency_hz': float(LaunchConfiguration('sim_frequency_hz').perform(context))})
        nodes.append(Node(package='becomingone_core', executable='becomingone_cell',
                          output='screen', parameters=[*common, sim_file], respawn=True,
                          respawn_delay=2.0, additional_env=outward,
                          arguments=[*arguments, '--ros-args', *log_level]))
    else:
        for executable in _processes(role):
            # becomingone_cell holds four nodes: a name remap would rename them all.
            process = {'package': 'becomingone_core', 'executable': executable,
                       'output': 'screen', 'parameters': common, 'respawn': True,
                       'respawn_delay': 2.0, 'arguments': ['--ros-args', *log_level],
                       'name': None if executable == 'becomingone_cell' else executable,
                       'additional_env': outward if executable == 'mesh' else inward}
            if executable in MANAGED:  # autostart false: this file drives the transitions
                process['parameters'] = [*common, {'autostart': False}]
                nodes += managed(LifecycleNode(namespace='', **process))
            else:
                nodes.append(Node(**process))
        if role in ('full', 'light'):
            # A simulated phase source for demos and containers without sensors.
            nodes.append(Node(
                package='becomingone_core', executable='sim_source', name='sim_source',
                output='screen', condition=IfCondition(LaunchConfiguration('simulate')),
                additional_env=inward,
                parameters=[{'source_name': f'sim_{node_id}',
                             'frequency_hz': LaunchConfiguration('sim_frequency_hz')}]))
    # Any host name works as node_id: '7' or Docker's hex names become a valid namespace token.
    return [GroupAction([PushROSNamespace(namespace_for(node_id)), *nodes])]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument(
            'node_id', default_value=socket.gethostname().split('.')[0].replace('-', '_'),
            description="This host's id in the mesh, also its namespace (default: host name)"),
        DeclareLaunchArgument(
            'role', default_value='full', choices=list(ROLES),
            description='full: cell + memory + mesh; light: emissary + sync + mesh; '
                        'witness: witness + memory + mesh; relay: mesh only'),
        DeclareLaunchArgument(
            'host', default_value=socket.gethostname(),
            description='Host name shared with peers (two hosts claiming one id are reported)'),
        DeclareLaunchArgument(
            'weight', default_value='1.0',
            description='Declared capability weight of this cell in T_global'),
        DeclareLaunchArgument(
            'scale', default_value='demo', choices=list(SCALES),
            description='Scale preset of the cell (becomingone_core.scales)'),
        DeclareLaunchArgument(
            'cell_params_file',
            default_value=PathJoinSubstitution(
                [FindPackageShare('becomingone_bringup'), 'params', 'cell.yaml']),
            description='Parameters of the cell nodes (applied after the scale)'),
        DeclareLaunchArgument(
            'params_file',
            default_value=PathJoinSubstitution(
                [FindPackageShare('becomingone_bringup'), 'params', 'mesh.yaml']),
            description='Parameters of the mesh node (and any other node of this host)'),
        DeclareLaunchArgument(
            'markers', default_value='false', choices=['true', 'false'],
            description='Offer rviz markers (sync/markers, mesh/markers); off on a Pi by '
                        'default: about 3 MB of resident memory, and a TLS host keeps its cell '
                        'graph local anyway'),
        DeclareLaunchArgument(
            'type_description_service', default_value='false', choices=['true', 'false'],
            description="Offer each node's ~/get_type_description service (tools that fetch "
                        'message definitions at run time); off on a Pi by default: about 1 MB'),
        DeclareLaunchArgument(
            'use_sim_time', default_value='false',
            description='Use /clock (Gazebo, rosbag) instead of the wall clock'),
        DeclareLaunchArgument(
            'simulate', default_value='false',
            description='Feed the cell from a simulated phase source (sim_source)'),
        DeclareLaunchArgument(
            'sim_frequency_hz', default_value='1.0',
            description='Frequency of the simulated source (Hz)'),
        DeclareLaunchArgument(
            'security_dir', default_value='',
            description='Mesh credentials of this host (ca.pem, crl.pem, host.pem, host.key '
                        'from becomingone-pki export): signed peer states, sync states and '
                        'e-stop commands; empty: an open lab mesh'),
        DeclareLaunchArgument(
            'one_process', default_value='true',
            description='Run the whole role in one process (becomingone_cell --role): about '
                        'a third of the memory of one process per node; false: one each'),
        DeclareLaunchArgument(
            'tls_dir', default_value='',
            description='Directory becomingone-tls wrote for this host: the mesh talks to the '
                        'other hosts over TCP + TLS only, everything else stays on this host; '
                        'its admission gate shows who was refused, and why'),
        DeclareLaunchArgument(
            'log_level', default_value='info', description='Log level of every node'),
        DeclareLaunchArgument(
            'config', default_value='',
            description='A host configuration file (becomingone config init APP): it gives '
                        'role, id, scale, credentials, the parameters of every node, '
                        'inputs, outputs and API; empty: the arguments above'),
        preflight(),  # SIGTERM (docker stop, kill) stops every process as Ctrl-C does
        OpaqueFunction(function=_launch_setup),
    ])
