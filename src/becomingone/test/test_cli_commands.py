"""The ``becomingone`` command as a user types it: help, config verbs, errors, the old tools."""

import os
import subprocess

from ament_index_python.packages import get_package_prefix
from becomingone.config import resolve
from becomingone_core.testing.processes import isolated_ros_env
import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
PREFIX = get_package_prefix('becomingone')
COMMAND = os.path.join(PREFIX, 'bin', 'becomingone')


def becomingone(*arguments, timeout=60):
    env = isolated_ros_env(domain_id=os.environ.get('ROS_DOMAIN_ID'))
    return subprocess.run([COMMAND, *arguments], env=env, capture_output=True, text=True,
                          timeout=timeout)


def _workspace_setup():
    """install/setup.bash (and the PyPI ROS 2 venv's setup beside it, when there is one)."""
    install = os.path.dirname(PREFIX)
    venv = os.path.join(os.path.dirname(install), '.venv', 'setup.bash')
    return [path for path in (venv, os.path.join(install, 'setup.bash')) if os.path.exists(path)]


def test_help_works_from_a_shell_with_only_the_workspace_sourced():
    sources = ' && '.join(f'source {path}' for path in _workspace_setup())
    shell = subprocess.run(
        ['bash', '--noprofile', '--norc', '-c', f'{sources} && becomingone --help && '
         'becomingone run --help && command -v becomingone'],
        env={'HOME': os.environ.get('HOME', '/tmp'), 'PATH': '/usr/bin:/bin'},
        capture_output=True, text=True, timeout=60)
    assert shell.returncode == 0, shell.stderr
    for verb in ('run', 'status', 'config', 'estop', 'memory', 'pki'):
        assert f'\n    {verb} ' in shell.stdout
    assert '--dry-run' in shell.stdout
    assert shell.stdout.strip().endswith('/bin/becomingone')


def test_ros2_run_finds_the_same_entry_point():
    script = os.path.join(PREFIX, 'lib', 'becomingone', 'becomingone')
    done = subprocess.run([script, 'config', '--help'], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and 'check' in done.stdout and 'init' in done.stdout


def test_config_check_and_show(tmp_path):
    path = os.path.join(HERE, 'configs', 'robot_sim.yaml')
    checked = becomingone('config', 'check', path)
    assert checked.returncode == 0, checked.stderr
    assert "host 'robot_t' (full) in /robot_t" in checked.stdout
    shown = becomingone('config', 'show', '--ros', path)
    parameters = yaml.safe_load(shown.stdout)
    assert parameters['/robot_t/motor_output']['ros__parameters']['max_linear'] == 0.3
    assert parameters['/robot_t/mesh']['ros__parameters']['node_id'] == 'robot_t'
    resolved = yaml.safe_load(becomingone('config', 'show', path).stdout)
    assert resolved['host']['role'] == 'full' and 'motor_output' in resolved['nodes']


ERRORS = [
    ('host:\n  rol: full\n', "config error: host.rol: unknown key (did you mean 'role'?)"),
    ('host: {weight: heavy}\n', 'config error: host.weight: must be a number'),
    ('cell: {sync: {threshold: 7.0}}\n', 'config error: cell.sync.threshold: must be <= 1.0'),
]


@pytest.mark.parametrize('verb', [('config', 'check'), ('run', '--config')])
@pytest.mark.parametrize('text,line', ERRORS)
def test_a_config_error_is_one_line_exit_2_and_nothing_started(tmp_path, verb, text, line):
    path = tmp_path / 'host.yaml'
    path.write_text(text)
    done = becomingone(*verb, str(path))
    assert done.returncode == 2
    assert done.stderr.startswith(line) and done.stderr.count('\n') == 1, done.stderr
    assert done.stdout == ''  # no node started, no status line


@pytest.mark.parametrize('verb', [('config', 'check'), ('config', 'show'), ('run', '--config')])
def test_a_missing_file_is_one_line_exit_2(tmp_path, verb):
    done = becomingone(*verb, str(tmp_path / 'absent.yaml'))
    assert done.returncode == 2 and done.stdout == ''
    assert done.stderr == f'config error: {tmp_path}/absent.yaml: no such file\n'


def test_an_unknown_app_is_one_line_exit_2():
    done = becomingone('config', 'init', 'no_such_app')
    assert done.returncode == 2 and done.stderr.startswith('config error: APP: no application')


@pytest.mark.skipif(not resolve.apps(), reason='no application installed yet')
def test_config_init_prints_a_valid_starter_of_every_app(tmp_path):
    for app in resolve.apps():
        done = becomingone('config', 'init', app)
        assert done.returncode == 0 and done.stdout.lstrip().startswith('#'), app
        path = tmp_path / f'{app}.yaml'
        path.write_text(done.stdout)
        checked = becomingone('config', 'check', str(path))
        assert checked.returncode == 0, checked.stderr


def test_the_old_tools_are_sub_commands():
    pki = becomingone('pki', '--help')
    assert pki.returncode == 0 and 'issue' in pki.stdout
    memory = becomingone('memory', '--help')
    assert memory.returncode == 0 and 'query' in memory.stdout
    estop = becomingone('estop', '--help')
    assert estop.returncode == 0 and 'engage' in estop.stdout
    wrong = becomingone('estop', 'sideways')
    assert wrong.returncode == 2


def test_no_command_prints_help_and_exit_2():
    done = becomingone()
    assert done.returncode == 2 and 'COMMAND' in done.stdout
