"""The cell's bringup files agree with the code: scale files equal the presets, args described."""

import ast
import pathlib

from becomingone_core.scales import PRESETS
import pytest
import yaml

PACKAGE = pathlib.Path(__file__).resolve().parent.parent
SCALE_FILES = {p.stem: p for p in (PACKAGE / 'params' / 'scales').glob('*.yaml')}


def test_there_is_one_scale_file_per_preset():
    assert set(SCALE_FILES) == set(PRESETS)


@pytest.mark.parametrize('name', sorted(PRESETS))
def test_scale_file_equals_the_preset(name):
    document = yaml.safe_load(SCALE_FILES[name].read_text())
    preset = PRESETS[name]
    for role in ('emissary', 'master'):
        values = document[f'/**/{role}']['ros__parameters']
        expected = preset.transducer(role)
        assert values['scale'] == name
        for key in ('lag_min_s', 'lag_max_s', 'lag_count', 'lag_spacing', 'window_s',
                    'sample_rate_hz'):
            assert values[key] == getattr(expected, key), (name, role, key)
        assert values['source_timeout_s'] == preset.source_timeout_s
    sync = document['/**/sync']['ros__parameters']
    assert (sync['threshold'], sync['hysteresis'], sync['realign_threshold']) == (
        preset.threshold, preset.hysteresis, preset.realign_threshold)


@pytest.mark.parametrize('path', sorted((PACKAGE / 'params').rglob('*.yaml')), ids=str)
def test_every_parameter_is_commented(path):
    lines = path.read_text().splitlines()
    parameters = [line for line in lines if line.startswith('    ') and ':' in line]
    assert parameters and all('#' in line for line in parameters), path


@pytest.mark.parametrize('path', sorted((PACKAGE / 'launch').glob('*.launch.py')), ids=str)
def test_every_launch_argument_has_a_description(path):
    tree = ast.parse(path.read_text())
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and getattr(node.func, 'id', '') == 'DeclareLaunchArgument']
    assert calls, path
    for call in calls:
        assert any(k.arg == 'description' for k in call.keywords), ast.dump(call)[:80]


def test_cell_launch_offers_the_issue_arguments():
    source = (PACKAGE / 'launch' / 'cell.launch.py').read_text()
    for argument in ('namespace', 'params_file', 'scale', 'use_sim'):
        assert f"DeclareLaunchArgument('{argument}'" in source
    for executable in ('master', 'emissary', 'sync', 'witness', 'sim_source'):
        assert executable in source
