"""The logic modules stay free of ROS: only nodes/, ros/ and the ROS test probe import rclpy."""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / 'becomingone_core'
ROS_MODULES = ('rclpy', 'becomingone_msgs', 'std_msgs', 'sensor_msgs', 'geometry_msgs',
               'diagnostic_msgs', 'visualization_msgs', 'builtin_interfaces')
ALLOWED = {PACKAGE / 'testing' / 'ros.py'}


def _imports(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_logic_modules_do_not_import_ros():
    offenders = []
    modules = [p for p in PACKAGE.rglob('*.py')
               if not {'nodes', 'ros'} & set(p.relative_to(PACKAGE).parts) and p not in ALLOWED]
    assert modules, 'found no logic modules to check'
    for path in modules:
        for name in _imports(path):
            if name.split('.')[0] in ROS_MODULES:
                offenders.append(f'{path.relative_to(PACKAGE)} imports {name}')
    assert not offenders, '\n'.join(offenders)
