"""
Launch and shutdown as systemd, scripts and ``docker stop`` do them.

* A launch that fails leaves nothing running: ``use_rviz:=true`` / ``rviz:=true`` without
  rviz2 is refused before any process starts (``launch/preflight.launch.py``).
* SIGINT to the whole process group, once or twice (``ros2 launch`` without a terminal forwards
  its own), and SIGTERM to the launch alone, end every node with exit 0 and no traceback.
* Any host name works as a namespace: ``node_id:=7`` runs in ``/h7``.

Without ``launch`` (the PyPI-wheel set-up, CI) this still runs: the refusal logic as plain
functions, the launch files' order, and our node executables in process groups of their own
receiving the signals. Where ``launch`` is importable (a full ROS 2 install, or the Jazzy sources
on PYTHONPATH) the launch files themselves are run in a session of their own and signalled.
"""

import importlib.util
import os
import pathlib
import re
import signal
import subprocess
import sys
import tempfile
import time

from becomingone_core.testing.processes import isolated_ros_env, NodeProcess, wait_until
import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent
LAUNCH = PACKAGE / 'launch'
HAVE_LAUNCH = importlib.util.find_spec('launch') is not None and \
    importlib.util.find_spec('launch_ros') is not None
needs_launch = pytest.mark.skipif(
    not HAVE_LAUNCH, reason='launch/launch_ros are not importable (a full ROS 2 install has '
                            'them); the launch files are not run here')


def _preflight_module():
    """Load launch/preflight.launch.py: its checks import nothing from launch at module level."""
    spec = importlib.util.spec_from_file_location('preflight', LAUNCH / 'preflight.launch.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


preflight = _preflight_module()


# -- the refusal, as plain functions ------------------------------------------------------------
def test_rviz_true_requires_rviz2_and_false_requires_nothing():
    assert preflight.requirements('true', '') == ['rviz2/rviz2']
    needed = preflight.requirements('True', 'rviz2/rviz2 ros_gz_sim')
    assert needed == ['rviz2/rviz2', 'ros_gz_sim']
    assert preflight.requirements('false', '') == []
    assert preflight.requirements('false', 'a/b c') == ['a/b', 'c']


def test_a_missing_executable_is_refused_with_what_asked_for_it():
    asked = []

    def nothing_installed(package, executable):
        asked.append((package, executable))
        return None
    message = preflight.refusal(['rviz2/rviz2', 'ros_gz_sim'], nothing_installed,
                                'use_rviz:=true')
    assert asked == [('rviz2', 'rviz2'), ('ros_gz_sim', '')]
    assert 'rviz2/rviz2, ros_gz_sim asked for by use_rviz:=true is not installed' in message
    assert 'nothing was started' in message and 'ros-jazzy-rviz2' in message


def test_nothing_is_refused_when_everything_is_installed_or_nothing_needed():
    assert preflight.refusal(['rviz2/rviz2'], lambda package, executable: '/opt/x') == ''
    assert preflight.refusal([], lambda package, executable: None) == ''


def test_any_host_name_becomes_a_valid_namespace_token_by_token():
    assert preflight.ros_namespace('7') == 'h7'
    assert preflight.ros_namespace('/robots/7/') == '/robots/h7/'
    assert preflight.ros_namespace('3f9c1a2b') == 'h3f9c1a2b'
    assert preflight.ros_namespace('cell-a') == 'cell_a'
    assert preflight.ros_namespace('cell1') == 'cell1'
    assert preflight.ros_namespace('') == '' and preflight.ros_namespace('/') == '/'


def test_the_real_lookup_finds_our_executables_and_not_a_missing_one():
    assert preflight.installed_executable('becomingone_core', 'mesh')
    assert preflight.installed_executable('becomingone_core')
    assert preflight.installed_executable('becomingone_core', 'no_such_node') is None
    assert preflight.installed_executable('no_such_package_anywhere', 'x') is None


def _arguments_of(source, call):
    """Return the text of every top-level ``call(...)`` in ``source`` (balanced parentheses)."""
    found = []
    for match in re.finditer(re.escape(call) + r'\(', source):
        depth, start = 0, match.end() - 1
        for index in range(start, len(source)):
            depth += {'(': 1, ')': -1}.get(source[index], 0)
            if depth == 0:
                found.append(source[start + 1:index])
                break
    return found


@pytest.mark.parametrize('path', sorted(p for p in LAUNCH.glob('*.launch.py')
                                        if p.name != 'preflight.launch.py'), ids=lambda p: p.name)
def test_every_launch_file_runs_the_preflight_before_anything_starts(path):
    source = path.read_text()
    body = source[source.index('def generate_launch_description'):]
    entities = body[body.index('return LaunchDescription(['):]
    # The description's own entities (indented 8), arguments first, then the preflight.
    items = [line.strip() for line in entities.splitlines()[1:]
             if re.match(r' {8}\S', line) and not line.strip().startswith('#')]
    items = [i for i in items if not i.startswith(('*arguments', 'DeclareLaunchArgument('))]
    assert items and items[0].startswith('preflight('), (path.name, items[:2])
    assert re.search(r'^from becomingone_core\.ros\.launch_actions import .*\bpreflight\b',
                     source, re.M), path.name
    if "package='rviz2'" in source:  # whatever may start rviz2 checks for it
        assert any('rviz=' in call for call in _arguments_of(entities, 'preflight')), path.name


# -- our executables, each in a process group of its own ----------------------------------------
#: executable, arguments, a line its output has once it runs.
EXECUTABLES = [
    ('becomingone_cell', ['--role', 'full', '--sim'], 'publishing'),
    ('mesh', [], 'mesh node'),
    ('memory', [], 'memory at'),
    ('sim_source', [], 'publishing'),
]
#: name -> signals sent to the process group, in order, 20 ms apart.
STOPS = {
    'SIGINT to the group': [signal.SIGINT],
    'SIGINT twice (the group, then ros2 launch)': [signal.SIGINT, signal.SIGINT],
    'SIGTERM': [signal.SIGTERM],
    'SIGTERM, then SIGINT': [signal.SIGTERM, signal.SIGINT],
}


@pytest.fixture(scope='module')
def env():
    environment = isolated_ros_env()
    environment['XDG_STATE_HOME'] = tempfile.mkdtemp(prefix='bo_shutdown_')
    return environment


@pytest.mark.parametrize('stop', list(STOPS), ids=list(STOPS))
@pytest.mark.parametrize('name, arguments, running', EXECUTABLES, ids=[e[0] for e in EXECUTABLES])
def test_a_node_executable_ends_with_0_and_no_traceback(env, name, arguments, running, stop):
    with NodeProcess.run('becomingone_core', name, env, arguments=arguments) as process:
        assert wait_until(lambda: running in process.output() or not process.running,
                          timeout_s=60), process.output()
        assert process.running, process.output()
        time.sleep(0.5)  # among timers, callbacks and publishes
        for signum in STOPS[stop]:
            os.killpg(process.process.pid, signum)
            time.sleep(0.02)
        try:
            code = process.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail(f'{name} did not end on {stop}:\n{process.output()}')
        output = process.output()
    assert code == 0, output
    assert 'Traceback' not in output and 'KeyboardInterrupt' not in output, output


def test_a_stop_signal_during_start_up_ends_the_cell_with_0():
    environment = isolated_ros_env()
    for delay_s in (1.0, 1.5, 2.0):  # while rclpy starts and the nodes are being made
        with NodeProcess.run('becomingone_core', 'becomingone_cell', environment,
                             arguments=['--role', 'full', '--sim']) as process:
            time.sleep(delay_s)
            os.killpg(process.process.pid, signal.SIGINT)
            code = process.process.wait(timeout=20)
            output = process.output()
        if 'Traceback' in output and 'File "<frozen importlib' in output:
            continue  # still importing its modules: before main(), the interpreter's own way
        assert code == 0 and 'Traceback' not in output, (delay_s, output)


# -- the launch files themselves (where launch is importable) -----------------------------------
RUNNER = """
import sys
from launch import LaunchDescription, LaunchService
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
path, noninteractive, *arguments = sys.argv[1:]
service = LaunchService(noninteractive=noninteractive == 'noninteractive')
service.include_launch_description(LaunchDescription([IncludeLaunchDescription(
    PythonLaunchDescriptionSource(path), launch_arguments=[a.split(':=', 1) for a in arguments])]))
sys.exit(service.run())
"""


def _session(sid):
    """Return the pids of the processes in session ``sid`` (what a launch started stays there)."""
    pids = []
    for entry in pathlib.Path('/proc').iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / 'stat').read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(')') + 2:].split()
        if fields[0] != 'Z' and int(fields[3]) == sid:
            pids.append(int(entry.name))
    return pids


class Launch:
    """``ros2 launch``'s LaunchService on one of our launch files, in a session of its own."""

    def __init__(self, name, arguments, noninteractive=False):
        self.env = isolated_ros_env()
        self.env['XDG_STATE_HOME'] = tempfile.mkdtemp(prefix='bo_launch_')
        self._log = tempfile.TemporaryFile(mode='w+')
        self.process = subprocess.Popen(
            [sys.executable, '-c', RUNNER, str(LAUNCH / name),
             'noninteractive' if noninteractive else 'interactive', *arguments],
            env=self.env, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)

    def output(self):
        self._log.flush()
        self._log.seek(0)
        return self._log.read()

    def wait(self, timeout_s=60):
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def left_running(self):
        """Return what still runs of this launch once it ended (3 s for stragglers)."""
        wait_until(lambda: _session(self.process.pid) == [], timeout_s=3)
        return _session(self.process.pid)

    def close(self):
        for pid in _session(self.process.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log.close()


@pytest.fixture
def launches():
    started = []

    def start(name, *arguments, noninteractive=False):
        started.append(Launch(name, arguments, noninteractive))
        return started[-1]
    yield start
    for launch in started:
        launch.close()


@needs_launch
@pytest.mark.skipif(bool(preflight.installed_executable('rviz2', 'rviz2')),
                    reason='rviz2 is installed here: the refusal cannot be shown')
@pytest.mark.parametrize('name, argument', [('bringup.launch.py', 'use_rviz:=true'),
                                            ('mesh.launch.py', 'rviz:=true'),
                                            ('rviz.launch.py', 'namespace:=7')])
def test_rviz_without_rviz2_is_refused_and_leaves_nothing_running(launches, name, argument):
    launch = launches(name, argument, 'use_sim:=true' if name.startswith('bringup') else
                      'cells:=2')
    code = launch.wait()
    output = launch.output()
    assert code not in (None, 0), output
    assert 'refusing to start: rviz2/rviz2 asked for by' in output, output
    assert 'process started' not in output, output
    assert launch.left_running() == [], output


def _until_running(launch, *needles, timeout_s=60):
    assert wait_until(lambda: all(n in launch.output() for n in needles)
                      or launch.process.poll() is not None, timeout_s=timeout_s), \
        launch.output()
    assert launch.process.poll() is None, launch.output()
    time.sleep(1.0)


def _ended_cleanly(launch):
    code = launch.wait(timeout_s=40)
    output = launch.output()
    assert code == 0, output
    assert 'Traceback' not in output and 'KeyboardInterrupt' not in output, output
    assert 'process has died' not in output and 'run task was canceled' not in output, output
    assert 'escalating' not in output, output  # every node ended on the first signal
    started = output.count('process started with pid')
    assert started and output.count('process has finished cleanly') == started, output
    assert launch.left_running() == [], output


# pi_node's one process and its one-process-per-node form (memory a lifecycle node).
PI_NODE = [('one process', ['one_process:=true']), ('one per node', ['one_process:=false'])]
# Signalled once the memory is configured: a stop while launch_ros still waits for a lifecycle
# service fails inside launch ("cannot use Destroyable"), a launch_ros race of its own.
PI_NODE_RUNNING = ('[h7.mesh]', '[h7.sim_source]', '[h7.memory]')


@needs_launch
@pytest.mark.parametrize('noninteractive', [False, True], ids=['terminal', 'no terminal'])
@pytest.mark.parametrize('form, extra', PI_NODE, ids=[f for f, _ in PI_NODE])
def test_sigint_to_the_group_ends_every_node_with_0(launches, form, extra, noninteractive):
    launch = launches('pi_node.launch.py', 'node_id:=7', 'role:=full', 'simulate:=true', *extra,
                      noninteractive=noninteractive)
    _until_running(launch, *PI_NODE_RUNNING)
    os.killpg(launch.process.pid, signal.SIGINT)  # systemd's KillMode=control-group, scripts
    _ended_cleanly(launch)


@needs_launch
@pytest.mark.parametrize('form, extra', PI_NODE, ids=[f for f, _ in PI_NODE])
def test_sigterm_to_the_launch_ends_every_node_with_0(launches, form, extra):
    launch = launches('pi_node.launch.py', 'node_id:=7', 'role:=full', 'simulate:=true', *extra,
                      noninteractive=True)
    _until_running(launch, *PI_NODE_RUNNING)
    launch.process.send_signal(signal.SIGTERM)  # docker stop without STOPSIGNAL, kill
    _ended_cleanly(launch)
    assert 'SIGTERM: shutting down every process' in launch.output()


@needs_launch
def test_sigint_to_the_launch_alone_ends_every_node_with_0(launches):
    """``docker stop``: STOPSIGNAL SIGINT, which tini forwards to ``ros2 launch`` only."""
    launch = launches('pi_node.launch.py', 'node_id:=7', 'role:=full', 'simulate:=true',
                      noninteractive=True)  # the image's CMD: ros2 launch --noninteractive
    _until_running(launch, *PI_NODE_RUNNING)
    launch.process.send_signal(signal.SIGINT)
    _ended_cleanly(launch)


#: launch file, arguments, what its output shows once it runs in /h7.
NUMERIC = [
    ('cell.launch.py', ['namespace:=7', 'use_sim:=true'], ['[h7.sync]', '[h7.sim_source]']),
    ('memory.launch.py', ['namespace:=7'], ['[h7.memory]']),
    ('adapters.launch.py', ['namespace:=7', 'float64:=true', 'http:=true',
                            'http_url:=http://127.0.0.1:9/sync'], ['[h7.http_output]']),
    ('bringup.launch.py', ['namespace:=7', 'use_sim:=true', 'use_memory:=true'],
     ['[h7.sync]', '[h7.memory]']),
    ('mesh.launch.py', ['cells:=1', 'role:=relay'], ['[cell_0.mesh]']),
]


@needs_launch
@pytest.mark.parametrize('name, arguments, running', NUMERIC, ids=[n for n, _, _ in NUMERIC])
def test_a_numeric_namespace_runs_and_stops_cleanly(launches, name, arguments, running):
    launch = launches(name, *arguments, noninteractive=True)
    _until_running(launch, *running)
    launch.process.send_signal(signal.SIGTERM)
    _ended_cleanly(launch)
