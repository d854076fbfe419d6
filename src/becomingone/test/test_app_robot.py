"""
The robot application end to end: ``becomingone config init robot`` then ``run --config``.

On its recorded inputs (a steady rocking, then erratic motion) the cell collapses, then
releases; the motors publish a non-zero Twist only while it is collapsed, and the twist_mux
lock is false only then (true before the first collapse and after the release).
"""

import subprocess

from app_support import agrees, AppRun, becomingone_command, require_kinds
from becomingone_core.testing.ros import latched_qos
from geometry_msgs.msg import Twist
import pytest
from std_msgs.msg import Bool


@pytest.fixture
def robot_yaml(tmp_path):
    require_kinds('imu_recording', 'imu', 'camera', 'motor', 'lock')
    # What a user does on a fresh clone: the starter config, printed by the command.
    printed = subprocess.run(becomingone_command() + ['config', 'init', 'robot'],
                             capture_output=True, text=True, timeout=60, check=True)
    path = tmp_path / 'r.yaml'
    path.write_text(printed.stdout)
    return path


def _moving(twist):
    return abs(twist.linear.x) > 1e-9 or abs(twist.angular.z) > 1e-9


def test_motors_move_only_while_collapsed_and_the_lock_follows(robot_yaml, tmp_path):
    with AppRun(robot_yaml, '/robot', tmp_path) as run:
        twists = run.watch(Twist, 'cmd_vel')
        locks = run.watch(Bool, 'lock', latched_qos(depth=50))
        assert run.until_released_after_collapse(), run.output()
        run.probe.spin_for(1.0)  # the stop after the release arrives
        moving = [at for at, twist in twists.items if _moving(twist)]
        assert moving, 'the motors never moved while collapsed\n' + run.output()
        for at in moving:
            assert agrees(run, at, collapsed=True), 'non-zero Twist while released\n' + \
                run.output()
        assert not _moving(twists.messages[-1]), 'the motors did not stop on release'
        values = [(at, message.data) for at, message in locks.items]
        assert values[0][1] is True, 'the lock must start locked (no sync state yet)'
        unlocked = [at for at, locked in values if not locked]
        assert unlocked, 'the lock never opened while collapsed'
        for at in unlocked:
            assert agrees(run, at, collapsed=True), 'the lock opened while released'
        assert values[-1][1] is True, 'the lock did not close on release'
