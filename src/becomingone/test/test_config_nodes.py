"""
A resolved configuration is what the real nodes accept, and what they refuse is refused.

The nodes are built for real, each check in a process of its own (``python <this file> CHECK
...``): rclpy state left in the test process (signal handlers, a half-built node refusing its
parameters) would otherwise outlive the test and reach later ones (a forked flake8 worker).
"""

import ast
import os
import shutil
import subprocess
import sys

from becomingone.config import catalogue, resolve
from becomingone.config.schema import ConfigErrors
from becomingone_core.testing.processes import isolated_ros_env
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def _in_a_process(*arguments):
    env = isolated_ros_env(domain_id=os.environ.get('ROS_DOMAIN_ID'))
    done = subprocess.run([sys.executable, os.path.abspath(__file__), *arguments], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return done.stdout


def check_every_node_takes_its_parameters(config_path):
    """Build every node of ``config_path`` as ``run`` does; each must hold its values."""
    from becomingone.cli.run_command import HostRun
    import rclpy
    plan = resolve.plan(resolve.load(config_path))
    path = os.path.join(os.path.dirname(config_path), 'parameters.yaml')
    with open(path, 'w') as handle:
        handle.write(resolve.dump_ros_parameters(plan))
    rclpy.init(args=['test', '--ros-args', '-r', f'__ns:={plan.namespace}',
                     '--params-file', path])
    host = HostRun(plan)

    class NoStop:
        requested = False
    try:
        host.build(NoStop())
        assert list(host.nodes) == plan.names()
        for planned in plan.nodes:
            node = host.nodes[planned.kind.node_name]
            assert node.get_namespace() == plan.namespace
            for name, value in planned.parameters.items():
                got = node.get_parameter(name).value
                got = list(got) if isinstance(got, (list, tuple)) or hasattr(got, 'tolist') \
                    else got
                assert got == value, f'{planned.kind.node_name}.{name}: {got!r} != {value!r}'
            if planned.kind.lifecycle:
                assert node.is_active, planned.kind.node_name
        print(f'{len(plan.nodes)} nodes took {sum(len(n.parameters) for n in plan.nodes)} '
              'parameters')
    finally:
        for node in host.nodes.values():
            node.destroy_node()
        rclpy.try_shutdown()


def check_the_node_refuses(node_name, name, value):
    """Build ``node_name`` with ``name:=value``: it must refuse it (ParameterError)."""
    from becomingone_core.ros.parameters import ParameterError
    import rclpy
    kind = {k.node_name: k for k in resolve.registry.KINDS}[node_name]
    rclpy.init(args=['test', '--ros-args', '-p', f'{name}:={value}'])
    try:
        node = kind.create()
        refusal = getattr(node, 'configure_error', None)  # a lifecycle node: configure failed
        assert isinstance(refusal, ParameterError), f'{node_name} took {name}={value}'
        print(f'refused: {refusal}')
    except ParameterError as error:
        print(f'refused: {error}')
    finally:
        rclpy.try_shutdown()


def test_every_node_takes_the_resolved_parameters(tmp_path):
    shutil.copy(os.path.join(HERE, 'configs', 'every_section.yaml'), tmp_path)
    catalogue._write_probe_inputs(str(tmp_path))
    from becomingone_api.auth import write_token_file
    write_token_file(str(tmp_path / 'tokens'))
    shown = _in_a_process('accept', str(tmp_path / 'every_section.yaml'))
    assert 'nodes took' in shown


def test_a_signed_host_gives_every_node_its_credentials(tmp_path):
    from becomingone_core.security import cli as pki
    ca, host = tmp_path / 'ca', tmp_path / 'sec_t'
    for argv in (['init', 'lab'], ['issue', 'sec_t'], ['export', 'sec_t', '--to', str(host)]):
        assert pki.main(['--dir', str(ca), *argv]) in (0, None)
    config = tmp_path / 'signed.yaml'
    config.write_text(f'host: {{id: sec_t, role: light}}\nsecurity: {{dir: {host}}}\n'
                      'outputs: [{kind: motor}]\n')
    assert 'nodes took' in _in_a_process('accept', str(config))


# (node, parameter, a value out of the node's declared range, its section in the file)
REFUSED = [
    ('sync', 'threshold', 1.5, 'cell: {sync: {threshold: 1.5}}'),
    ('mesh', 'weight', -1.0, 'host: {weight: -1.0}'),
    ('mesh', 'max_peers', 0, 'mesh: {max_peers: 0}'),
    ('motor_output', 'max_linear', 50.0,
     'outputs: [{kind: motor, parameters: {max_linear: 50.0}}]'),
    ('thermal_to_phase', 'rate_hz', 0.0,
     'inputs: [{kind: thermal, parameters: {rate_hz: 0.0}}]'),
]


@pytest.mark.parametrize('node_name,name,value,text', REFUSED)
def test_what_the_node_refuses_the_schema_refuses(node_name, name, value, text):
    with pytest.raises(ConfigErrors) as refused:
        resolve.load_text(text)
    assert len(refused.value.errors) == 1 and name in refused.value.errors[0].path
    spec = catalogue.load()[node_name]['parameters'][name]
    assert spec.get('min', -1e308) > value or spec.get('max', 1e308) < value
    # ... and the real node, given that value, refuses it too.
    assert name in _in_a_process('refuse', node_name, name, repr(value))


if __name__ == '__main__':
    checks = {'accept': check_every_node_takes_its_parameters,
              'refuse': lambda node, name, value: check_the_node_refuses(
                  node, name, ast.literal_eval(value))}
    checks[sys.argv[1]](*sys.argv[2:])
