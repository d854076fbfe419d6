"""
The managed outputs over real DDS, driven like ``ros2 lifecycle set`` (ChangeState, GetState).

The motor output runs as its own process with ``autostart:=false``. While unconfigured or
inactive it publishes no Twist whatever ``sync/state`` says (collapsed, on an open mesh or signed
by its own host on a mesh with a PKI); activated, it moves; deactivated, it publishes one zero
Twist and then nothing. An HTTP output with a bad ``url`` fails configure and stays
unconfigured and running.
"""

import time

from becomingone_core.security.mesh_auth import MeshAuthority, sync_fields
from becomingone_core.security.pki import MeshPki
from becomingone_core.security.signed_fields import SYNC_STATE
from becomingone_core.testing.processes import isolated_ros_env, NodeProcess
from becomingone_core.testing.ros import Lifecycle, RosProbe
from becomingone_msgs.msg import SyncState
from geometry_msgs.msg import Twist
from lifecycle_msgs.msg import Transition
import pytest

SYNC_PERIOD_S = 0.05
QUIET_S = 1.5


class CollapsedSync:
    """Publishes a collapsed sync state on a timer, signed by ``signer`` when given."""

    def __init__(self, probe, signer=None):
        self.signer = signer
        self.publisher = probe.node.create_publisher(SyncState, 'sync/state', 10)
        self.clock = probe.node.get_clock()
        probe.node.create_timer(SYNC_PERIOD_S, self._tick)

    def _tick(self):
        message = SyncState(sync_real=0.8, sync_imag=0.6, coherence=0.95, threshold=0.5,
                            collapsed=True)
        message.header.stamp = self.clock.now().to_msg()
        if self.signer is not None:
            message.signature = self.signer.sign(SYNC_STATE, sync_fields(message))
        self.publisher.publish(message)


@pytest.fixture(scope='module')
def host_a(tmp_path_factory):
    root = tmp_path_factory.mktemp('pki')
    mesh = MeshPki(root / 'ca')
    mesh.init('lifecycle test mesh')
    mesh.issue('a', role='full')
    mesh.export('a', root / 'a')
    return root / 'a', MeshAuthority.from_directory(root / 'a')


@pytest.mark.parametrize('mesh', ['open', 'signed'])
def test_inactive_motor_publishes_no_twist_whatever_the_sync_state_says(mesh, host_a):
    directory, authority = host_a
    security = ['-p', f'security_dir:={directory}'] if mesh == 'signed' else []
    env = isolated_ros_env()
    with RosProbe(env) as probe, NodeProcess.run(
            'becomingone_adapters', 'motor_output', env, ros_arguments=[
                '-p', 'autostart:=false', '-p', 'rate_hz:=20.0', '-p', 'watchdog_s:=0.5',
                '-p', 'max_linear_accel:=3.0', '-p', 'max_angular_accel:=6.0',
                *security]) as node:
        commands = []
        probe.node.create_subscription(Twist, 'cmd_vel', commands.append, 10)
        lifecycle = Lifecycle(probe, '/motor_output')
        CollapsedSync(probe, authority if mesh == 'signed' else None)

        assert lifecycle.get() == 'unconfigured'
        probe.spin_for(QUIET_S)
        assert commands == [], 'an unconfigured motor published'

        assert lifecycle.change(Transition.TRANSITION_CONFIGURE), node.output()
        assert lifecycle.get() == 'inactive'
        probe.spin_for(QUIET_S)
        assert commands == [], 'an inactive motor published'

        assert lifecycle.change(Transition.TRANSITION_ACTIVATE), node.output()
        assert lifecycle.get() == 'active'
        assert probe.spin_until(lambda: commands and commands[-1].linear.x > 0.0, 10), \
            node.output()

        assert lifecycle.change(Transition.TRANSITION_DEACTIVATE), node.output()
        assert lifecycle.get() == 'inactive'
        probe.spin_for(0.3)  # the zero Twist sent during the transition arrives
        last = len(commands)
        assert commands[-1].linear.x == 0.0 and commands[-1].angular.z == 0.0
        probe.spin_for(QUIET_S)
        assert len(commands) == last, 'a deactivated motor kept publishing'
        moving = [i for i, c in enumerate(commands) if c.linear.x or c.angular.z]
        assert moving and len(commands) == moving[-1] + 2, 'not exactly one zero Twist'

        assert lifecycle.change(Transition.TRANSITION_ACTIVATE), node.output()
        assert probe.spin_until(lambda: commands[-1].linear.x > 0.0, 10), 'no motion again'
        assert node.stop() == 0, node.output()


def test_http_output_with_a_bad_url_stays_unconfigured_and_running():
    env = isolated_ros_env()
    with RosProbe(env) as probe, NodeProcess.run(
            'becomingone_adapters', 'http_output', env,
            ros_arguments=['-p', 'url:=ftp://example.invalid/']) as node:
        lifecycle = Lifecycle(probe, '/http_output')
        assert lifecycle.get() == 'unconfigured'
        assert not lifecycle.change(Transition.TRANSITION_CONFIGURE)  # the reason persists
        time.sleep(2.0)
        assert node.running and lifecycle.get() == 'unconfigured'
        assert "cannot configure: parameter 'url'" in node.output(), node.output()
        assert node.stop() == 0, node.output()
