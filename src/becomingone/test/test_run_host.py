"""``becomingone run``: an application's whole host in one process, over real DDS."""

import os
import signal
import subprocess
import time

from ament_index_python.packages import get_package_prefix
from becomingone.config import resolve
from becomingone_core.testing.processes import isolated_ros_env, NodeProcess, wait_until
from becomingone_core.testing.ros import RosProbe
from becomingone_msgs.msg import SyncState
from geometry_msgs.msg import Twist
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
COMMAND = os.path.join(get_package_prefix('becomingone'), 'bin', 'becomingone')


def _config(tmp_path):
    """Return the robot app's starter as a user writes it (config init), else the test robot."""
    if 'robot' in resolve.apps():
        text = subprocess.run([COMMAND, 'config', 'init', 'robot'], capture_output=True,
                              text=True, timeout=60, check=True).stdout
        path = tmp_path / 'r.yaml'
        path.write_text(text)
        return str(path), '/' + resolve.load(str(path)).config.host.id
    return os.path.join(HERE, 'configs', 'robot_sim.yaml'), '/robot_t'


def _env(tmp_path):
    env = isolated_ros_env(domain_id=os.environ.get('ROS_DOMAIN_ID'))
    env['XDG_STATE_HOME'] = str(tmp_path)  # the memory's default store
    env['BECOMINGONE_STRICT_CALLBACKS'] = '1'
    return env


def _status_until(probe, env, wanted, namespace, attempts=3):
    """Run ``status --once`` (spinning ``probe``) until ``namespace``'s row is ``wanted``."""
    for _ in range(attempts):
        view = subprocess.Popen([COMMAND, 'status', '--once', '--timeout', '10'], env=env,
                                stdout=subprocess.PIPE, text=True)
        probe.spin_until(lambda: view.poll() is not None, 30.0)
        shown = view.communicate()[0]
        if any(wanted(line) for line in shown.splitlines()
               if line.startswith(namespace + ' ')):
            break
    return shown


def test_the_robot_moves_only_while_collapsed_and_sigterm_ends_cleanly(tmp_path):
    path, namespace = _config(tmp_path)
    env = _env(tmp_path)
    twists, states = [], []
    with RosProbe(env) as probe:
        probe.node.create_subscription(
            Twist, f'{namespace}/cmd_vel', lambda m: twists.append((time.monotonic(), m)), 10)
        probe.node.create_subscription(
            SyncState, f'{namespace}/sync/state',
            lambda m: states.append((time.monotonic(), m.collapsed)), 10)
        with NodeProcess([COMMAND, 'run', '--config', path], env) as host:
            moving = probe.spin_until(lambda: any(
                m.linear.x or m.angular.z for _, m in twists), 30.0)
            assert moving, host.output()[-3000:]
            # `becomingone status` from another process sees this host (spinning meanwhile).
            shown = _status_until(probe, env, lambda row: ' alive' in row and ' ok ' in row,
                                  namespace)
            rows = [line for line in shown.splitlines() if line.startswith(namespace + ' ')]
            assert len(rows) == 1 and ' alive' in rows[0] and ' ok ' in rows[0], shown
            assert ' COLLAPSED ' in rows[0] or ' released ' in rows[0], shown
            assert host.running
            host._signal(signal.SIGTERM)
            host.process.wait(timeout=15)
            output = host.output()
        assert host.process.returncode == 0, output[-3000:]
        probe.spin_for(0.5)  # take what the host sent before it ended
    last = twists[-1][1]
    assert not (last.linear.x or last.angular.z), 'the motors were left moving'

    def collapsed_at(t):
        before = [c for s, c in states if s <= t]
        return bool(before) and before[-1]
    for t, message in twists:
        if message.linear.x or message.angular.z:
            # The motor acts on the sync state it received; allow it one command period.
            assert collapsed_at(t) or collapsed_at(t - 0.15), 'moved while released'
    assert 'COLLAPSE' in output and '\nsummary:\n' in output
    assert 'motor_output: moving' in output and 'Traceback' not in output


def test_sigint_twice_destroys_every_node_and_exits_0(tmp_path):
    path = tmp_path / 'relay.yaml'
    path.write_text('host: {id: relay_t, role: relay}\n')
    command = [COMMAND, 'run', '--config', str(path), '--ros-args', '--log-level', 'warn']
    with NodeProcess(command, _env(tmp_path)) as host:
        assert wait_until(lambda: 'running mesh' in host.output(), 20.0), host.output()
        host._signal(signal.SIGINT)
        host._signal(signal.SIGINT)
        host.process.wait(timeout=15)
        output = host.output()
    assert host.process.returncode == 0, output
    assert 'summary:\n  ran ' in output and 'Traceback' not in output
    assert '[INFO]' not in output  # --ros-args reached rclpy


def test_dry_run_prints_the_plan_and_starts_nothing(tmp_path):
    path = os.path.join(HERE, 'configs', 'robot_sim.yaml')
    done = subprocess.run([COMMAND, 'run', '--config', path, '--dry-run'],
                          env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "host 'robot_t' (full, scale demo) in /robot_t" in done.stdout
    assert 'motor_output' in done.stdout and 'max_linear=0.3' in done.stdout
    assert 'nothing started (--dry-run)' in done.stdout and '[INFO]' not in done.stderr


def test_a_node_refusing_its_parameters_stops_the_run_with_one_line(tmp_path):
    # The schema checks each value; a rule between two values is the node's own.
    path = tmp_path / 'host.yaml'
    path.write_text('host: {id: bad_t, role: light}\ninputs:\n  - kind: temperature\n'
                    '    parameters: {temperature_min: 50.0, temperature_max: 10.0}\n')
    done = subprocess.run([COMMAND, 'run', '--config', str(path)], env=_env(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith('config error:')]
    assert len(lines) == 1 and lines[0].startswith(
        'config error: inputs[0].parameters: '), done.stderr
    assert 'summary' not in done.stdout


@pytest.mark.parametrize('app', sorted(resolve.apps()))
def test_every_app_passes_a_dry_run(app, tmp_path):
    done = subprocess.run([COMMAND, 'run', app, '--dry-run'], env=_env(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
