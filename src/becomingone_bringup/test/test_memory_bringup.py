"""params/memory.yaml is what the memory node runs with: every name known, defaults unchanged."""

import pathlib

from becomingone_core.testing.processes import isolated_ros_env, NodeProcess
from becomingone_core.testing.ros import RosProbe
from rcl_interfaces.srv import GetParameters
from rclpy.parameter import parameter_value_to_python
import yaml

PACKAGE = pathlib.Path(__file__).resolve().parent.parent
PARAMS = PACKAGE / 'params' / 'memory.yaml'


def _parameters(probe, node, names):
    reply = probe.call(probe.node.create_client(GetParameters, f'/{node}/get_parameters'),
                       GetParameters.Request(names=names))
    return dict(zip(names, map(parameter_value_to_python, reply.values)))


def test_memory_params_file_is_accepted_and_equals_the_defaults(tmp_path):
    documented = yaml.safe_load(PARAMS.read_text())['/**/memory']['ros__parameters']
    # One value changed, so the test sees that the file reaches the node under a namespace.
    changed = tmp_path / 'memory.yaml'
    changed.write_text(PARAMS.read_text().replace('raw_keep_s: 3600.0', 'raw_keep_s: 7.0'))
    env = isolated_ros_env()
    with RosProbe(env) as probe, \
            NodeProcess.run('becomingone_core', 'memory', env, ros_arguments=[
                '--params-file', str(changed), '-r', '__ns:=/from_file', '-p',
                f'path:={tmp_path}/file.sqlite3']) as from_file, \
            NodeProcess.run('becomingone_core', 'memory', env, ros_arguments=[
                '-r', '__ns:=/defaults', '-p', f'path:={tmp_path}/defaults.sqlite3']) as defaults:
        names = sorted(set(documented) - {'path'})
        loaded = _parameters(probe, 'from_file/memory', names)
        built_in = _parameters(probe, 'defaults/memory', names)
        assert loaded == {name: (7.0 if name == 'raw_keep_s' else documented[name])
                          for name in names}, from_file.output()
        assert built_in == {name: documented[name] for name in names}, defaults.output()
