"""
The processes a launch file starts for a host configuration (``pi_node.launch.py config:=``).

Pure data (no ``launch`` import), so what a launch does with a file is tested without it:
either one process, ``becomingone run --config FILE`` (the very same file and process as
without launch), or each node's own executable (``ros2 run <package> <node name>``) given the
resolved ``ros__parameters`` file. Nodes without an executable of their own (the recording
players of ``becomingone.sdk``) run only in one process.
"""

from dataclasses import dataclass, field
import os

from becomingone.config.schema import ConfigError, ConfigErrors

#: Packages whose executables are named like their nodes (``ros2 run <package> <node name>``).
EXECUTABLE_PACKAGES = ('becomingone_core', 'becomingone_adapters', 'becomingone_api')


@dataclass(frozen=True)
class LaunchProcess:
    """One process: what ``launch_ros.actions.Node`` (or ``LifecycleNode``) is given."""

    package: str
    executable: str
    name: str = None  # the node name (None: the process names its own nodes)
    arguments: tuple = ()
    parameters_file: str = None
    lifecycle: bool = False  # a lifecycle node the launch file brings up itself
    outward: bool = False  # talks to other hosts (the mesh node): the TLS environment
    nodes: tuple = field(default_factory=tuple)  # the node names it holds


def processes(plan, config_path, parameters_path=None, one_process=True):
    """
    Return the :class:`LaunchProcess` list of ``plan`` (from the file at ``config_path``).

    ``parameters_path``: where the caller wrote ``resolve.dump_ros_parameters(plan)`` (needed
    when ``one_process`` is false). Raises :class:`ConfigErrors` for a node that cannot run
    alone.
    """
    if one_process:
        return [LaunchProcess('becomingone', 'becomingone',
                              arguments=('run', '--config', os.path.abspath(config_path)),
                              outward=True, nodes=tuple(plan.names()))]
    result = []
    for planned in plan.nodes:
        package, name = planned.kind.module.split('.')[0], planned.kind.node_name
        if package not in EXECUTABLE_PACKAGES:
            raise ConfigErrors([ConfigError(
                name, 'has no executable of its own: run this file in one process '
                '(one_process:=true)')])
        result.append(LaunchProcess(package, name, name=name, parameters_file=parameters_path,
                                    lifecycle=planned.kind.lifecycle, outward=name == 'mesh',
                                    nodes=(name,)))
    return result
