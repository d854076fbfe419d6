"""``becomingone status`` against a real running cell: in a pty, and as one snapshot."""

import os
import pty
import re
import select
import signal
import subprocess
import time

from ament_index_python.packages import get_package_prefix
from becomingone_core.testing.processes import isolated_ros_env, NodeProcess, wait_until
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
COMMAND = os.path.join(get_package_prefix('becomingone'), 'bin', 'becomingone')


@pytest.fixture(scope='module')
def cell(tmp_path_factory):
    """Run the test robot (a simulated sine: it collapses within seconds)."""
    folder = tmp_path_factory.mktemp('status')
    config = folder / 'robot.yaml'
    config.write_text((open(os.path.join(HERE, 'configs', 'robot_sim.yaml')).read()))
    env = isolated_ros_env(domain_id=os.environ.get('ROS_DOMAIN_ID'))
    env['BECOMINGONE_STRICT_CALLBACKS'] = '1'
    with NodeProcess([COMMAND, 'run', '--config', str(config)], env) as host:
        assert wait_until(lambda: 'COLLAPSE' in host.output(), 30.0), host.output()[-3000:]
        yield env
        assert host.running, host.output()[-3000:]


def _read_pty(fd, until, timeout_s):
    seen = b''
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not until(seen):
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen.decode(errors='replace')


def test_the_live_view_refreshes_in_place_in_a_terminal(cell):
    leader, follower = pty.openpty()
    view = subprocess.Popen([COMMAND, 'status', '--period', '0.2'], env=cell,
                            stdin=follower, stdout=follower, stderr=follower,
                            start_new_session=True)
    os.close(follower)
    try:
        # The collapsed cell with its mesh, redrawn: the cursor moves up over the last drawing.
        shown = _read_pty(leader, lambda s: b'EMERGED' in s and b'COLLAPSED' in s and
                          re.search(rb'\x1b\[\d+F', s) is not None, 20.0)
        assert '/robot_t' in shown and 'COLLAPSED' in shown, shown[-2000:]
        assert '\x1b[2K' in shown and '\x1b[J' in shown  # lines cleared in place, no curses
        assert 'EMERGED' in shown
        os.killpg(view.pid, signal.SIGINT)
        assert view.wait(timeout=10) == 0
    finally:
        if view.poll() is None:
            os.killpg(view.pid, signal.SIGKILL)
        os.close(leader)


def test_once_prints_one_snapshot_of_every_cell(cell):
    done = subprocess.run([COMMAND, 'status', '--once', '--timeout', '10'], env=cell,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()[1:3]
    assert header.split() == ['CELL', 'COHERENCE', 'STATE', 'ΔPHASE', 'MESH', 'E-STOP',
                              'WITNESS', 'HEARD']
    assert row.startswith('/robot_t') and 'COLLAPSED' in row and 'EMERGED' in row
    assert ' ok ' in row and '\x1b[' not in done.stdout


def test_an_engaged_estop_shows_in_the_view(cell):
    with NodeProcess([COMMAND, 'estop', 'engage'], cell) as estop:
        assert wait_until(lambda: 'ENGAGED' in estop.output(), 20.0), estop.output()
        for _ in range(6):  # a snapshot taken before discovery found the e-stop: once more
            done = subprocess.run([COMMAND, 'status', '--once', '--timeout', '10'], env=cell,
                                  capture_output=True, text=True, timeout=30)
            if 'e-stop: ENGAGED' in done.stdout:
                break
        assert 'e-stop: ENGAGED' in done.stdout, done.stdout
    with NodeProcess([COMMAND, 'estop', 'release'], cell) as release:
        assert wait_until(lambda: 'released' in release.output(), 20.0), release.output()


def test_no_cell_on_the_domain_exits_1(cell):
    empty = dict(cell, ROS_DOMAIN_ID=str((int(cell['ROS_DOMAIN_ID']) + 5) % 230))
    done = subprocess.run([COMMAND, 'status', '--once', '--timeout', '1'],
                          env=empty, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and 'no cell on this domain' in done.stdout
