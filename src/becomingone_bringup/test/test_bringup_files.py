"""Bringup files are well formed: launch files compile, parameter files follow ROS 2's layout."""

import pathlib

import pytest
import yaml

PACKAGE = pathlib.Path(__file__).resolve().parent.parent
LAUNCH_FILES = sorted((PACKAGE / 'launch').glob('*.launch.py'))
PARAM_FILES = sorted((PACKAGE / 'params').rglob('*.yaml'))


@pytest.mark.parametrize('path', LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_compiles_and_defines_a_description(path):
    source = path.read_text()
    compile(source, str(path), 'exec')
    assert 'def generate_launch_description' in source


@pytest.mark.parametrize('path', PARAM_FILES, ids=lambda p: p.name)
def test_parameter_file_puts_every_node_under_ros__parameters(path):
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict) and document, f'{path} is empty'
    for node_name, section in document.items():
        assert isinstance(section, dict) and 'ros__parameters' in section, \
            f'{path}: {node_name} has no ros__parameters'


def test_the_diagnostics_aggregator_groups_every_node():
    import yaml
    config = yaml.safe_load((PACKAGE / 'config' / 'diagnostics_aggregator.yaml').read_text())
    analyzers = config['/**']['ros__parameters']['analyzers']
    names = ['master', 'emissary', 'sync', 'witness', 'sim_source', 'memory', 'mesh',
             'mesh_estop', 'imu_to_phase', 'camera_to_phase', 'text_to_phase', 'motor_output',
             'http_output', 'speaker_output', 'display_output', 'mqtt_to_phase',
             'serial_to_phase', 'mqtt_output', 'lock_output']
    # As the nodes name their statuses (ros.diagnostics): the namespace, the node, the check.
    statuses = [f'{prefix}{name}: input' for name in names for prefix in ('', 'cell1/', 'h7/')]

    def groups(status):
        return [a['path'] for a in analyzers.values()
                if any(status.startswith(p) for p in a.get('startswith', []))
                or any(p in status for p in a.get('contains', []))]
    assert all(len(groups(status)) == 1 for status in statuses), \
        {s: groups(s) for s in statuses}
