"""The cell's bringup files agree with the code: no preset restated, every argument described."""

import ast
import pathlib

import pytest
import yaml

PACKAGE = pathlib.Path(__file__).resolve().parent.parent


def test_no_file_restates_a_scale_preset():
    # The presets live in becomingone_core.scales alone; the nodes take them from their
    # 'scale' parameter, which the launch files pass.
    assert not (PACKAGE / 'params' / 'scales').exists()
    for path in (PACKAGE / 'params').rglob('*.yaml'):
        document = yaml.safe_load(path.read_text()) or {}
        for section in document.values():
            values = (section or {}).get('ros__parameters', {})
            assert not {'lag_min_s', 'lag_max_s', 'lag_count', 'window_s'} & set(values), path
    for launch in ('cell', 'pi_node'):
        text = (PACKAGE / 'launch' / f'{launch}.launch.py').read_text()
        assert "'scale': " in text and "'scales'" not in text, launch


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
