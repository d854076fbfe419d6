"""The motor output over real DDS: motion only while collapsed, zero on release/watchdog/e-stop."""

import time

from becomingone_core.nodes.estop_node import make_command
from becomingone_core.security.mesh_auth import OPEN
from becomingone_core.testing.processes import isolated_ros_env, NodeProcess
from becomingone_core.testing.ros import latched_qos, RosProbe
from becomingone_msgs.msg import EStopCommand, SyncState
from geometry_msgs.msg import Twist
import pytest
from std_srvs.srv import Trigger

WATCHDOG_S = 0.5
RATE_HZ = 20.0
SYNC_PERIOD_S = 0.05


class SyncSource:
    """Publishes the cell's sync state from the probe on a timer, as a cell would."""

    def __init__(self, probe):
        self.collapsed = False
        self.running = False
        self.last_sent = None
        self.publisher = probe.node.create_publisher(SyncState, 'sync/state', 10)
        self.clock = probe.node.get_clock()
        probe.node.create_timer(SYNC_PERIOD_S, self._tick)

    def _tick(self):
        if not self.running:
            return
        message = SyncState()
        message.sync_real, message.sync_imag = 0.8, 0.6
        message.coherence = 0.9 if self.collapsed else 0.1
        message.threshold = 0.5
        message.collapsed = self.collapsed
        message.header.stamp = self.clock.now().to_msg()
        self.publisher.publish(message)
        self.last_sent = time.monotonic()


@pytest.fixture
def motor():
    env = isolated_ros_env()
    with RosProbe(env) as probe, NodeProcess.run(
            'becomingone_adapters', 'motor_output', env, ros_arguments=[
                '-p', f'watchdog_s:={WATCHDOG_S}', '-p', f'rate_hz:={RATE_HZ}',
                '-p', 'max_linear:=0.3', '-p', 'max_angular:=0.6',
                '-p', 'max_linear_accel:=3.0', '-p', 'max_angular_accel:=6.0']) as node:
        commands = []
        probe.node.create_subscription(
            Twist, 'cmd_vel',
            lambda m: commands.append((time.monotonic(), m.linear.x, m.angular.z)), 10)
        yield probe, node, commands, SyncSource(probe)


def _moving(commands):
    return bool(commands) and commands[-1][1] > 0.0


def _stopped(commands):
    return bool(commands) and commands[-1][1:] == (0.0, 0.0)


def test_moves_only_while_collapsed_and_stops_at_once_on_release(motor):
    probe, node, commands, sync = motor
    sync.running = True
    probe.spin_for(1.0)
    assert probe.spin_until(lambda: node.process.poll() is None, 1)
    assert not commands, 'no motion may be commanded while released'
    sync.collapsed = True
    assert probe.spin_until(lambda: _moving(commands), 60), node.output()
    # Seed mapping (T = 0.8 + 0.6j, on the unit circle): v = (0.8 - 0.5) * 2 = 0.6 of
    # max_linear 0.3 -> 0.18; w = (0.6 - 0.5) * 2 = 0.2 of max_angular 0.6 -> 0.12.
    assert probe.spin_until(lambda: commands[-1][1:] == pytest.approx((0.18, 0.12)), 10)
    assert all(v <= 0.3 + 1e-9 and w <= 0.3 + 1e-9 for _, v, w in commands)
    sync.collapsed = False
    released_at = time.monotonic()
    assert probe.spin_until(lambda: _stopped(commands), 10)
    assert commands[-1][0] - released_at < 0.5
    count = len(commands)
    probe.spin_for(1.0)
    assert len(commands) == count, 'nothing but the one zero after release'


def test_watchdog_stops_within_one_period_when_sync_state_stops(motor):
    probe, node, commands, sync = motor
    sync.running = sync.collapsed = True
    assert probe.spin_until(lambda: _moving(commands), 60), node.output()
    sync.running = False
    assert probe.spin_until(lambda: _stopped(commands), 10)
    # The stream stopped one period after its last message; zero comes within the watchdog
    # (plus one command tick and DDS delivery).
    late_by = commands[-1][0] - (sync.last_sent + SYNC_PERIOD_S)
    assert late_by < WATCHDOG_S + 1.0 / RATE_HZ + 0.15, late_by


def test_estop_overrides_until_released_and_reset(motor):
    probe, node, commands, sync = motor
    estop = probe.node.create_publisher(EStopCommand, '/becomingone/estop', latched_qos())
    reset = probe.node.create_client(Trigger, 'motor_output/reset_estop')
    sync.running = sync.collapsed = True
    assert probe.spin_until(lambda: _moving(commands), 60), node.output()
    estop.publish(make_command(OPEN, True, 'operator', time.time_ns()))
    set_at = time.monotonic()
    assert probe.spin_until(lambda: _stopped(commands), 10)
    assert commands[-1][0] - set_at < WATCHDOG_S
    probe.spin_for(1.0)
    assert _stopped(commands), 'e-stop must override a collapsed cell'

    def call_reset():
        return probe.call(reset, Trigger.Request())  # answers the same when sent again

    assert not call_reset().success, 'reset must be refused while the e-stop is asserted'
    estop.publish(make_command(OPEN, False, 'operator', time.time_ns()))
    probe.spin_for(1.0)
    assert _stopped(commands), 'releasing the e-stop input alone must not restart motion'
    assert call_reset().success
    assert probe.spin_until(lambda: _moving(commands), 10)


@pytest.mark.parametrize('signum', ['SIGINT', 'SIGTERM'])
def test_a_stop_signal_while_moving_ends_on_a_zero_twist_and_exit_0(motor, signum):
    # A robot is never left on its last command: the process stands its nodes down (the
    # lifecycle deactivation publishes one zero Twist) while the context is still valid.
    import signal
    probe, node, commands, sync = motor
    sync.running = sync.collapsed = True
    assert probe.spin_until(lambda: _moving(commands), 60), node.output()
    sync.running = False  # the watchdog must not be what stops it
    node.process.send_signal(getattr(signal, signum))
    assert probe.spin_until(lambda: node.process.poll() is not None, 10), node.output()
    probe.spin_for(0.5)
    assert node.process.returncode == 0, node.output()
    assert _stopped(commands), (commands[-3:], node.output()[-2000:])
