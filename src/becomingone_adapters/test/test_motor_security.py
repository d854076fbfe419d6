"""
The motor output on a mesh with a PKI, in process: it moves on its own host's signed states only.

Host ``a`` runs the motor output with ``a``'s security directory. Unsigned states, states signed
by another certified host ``b`` and replays of ``a``'s own older states never move it; ``a``'s
fresh signed states do. The e-stop: ``b`` (a member) can engage it, only an operator can release
it, and the operator's signed release lets the motor move again without a local reset.
"""

import time

from becomingone_adapters.nodes.motor_node import MotorOutput
from becomingone_core.nodes.estop_node import make_command
from becomingone_core.security.mesh_auth import MeshAuthority, sync_fields
from becomingone_core.security.pki import MeshPki
from becomingone_core.security.signed_fields import SYNC_STATE
from becomingone_core.testing.processes import isolated_ros_env
from becomingone_core.testing.ros import RosProbe, stamped
from becomingone_msgs.msg import SyncState
import pytest
from rclpy.parameter import Parameter


@pytest.fixture(scope='module')
def hosts(tmp_path_factory):
    root = tmp_path_factory.mktemp('pki')
    mesh = MeshPki(root / 'ca')
    mesh.init('motor test mesh')
    mesh.issue('a', role='full')
    mesh.issue('b', role='full')
    mesh.issue('operator', operator=True)
    for name in ('a', 'b', 'operator'):
        mesh.export(name, root / name)
    authorities = {name: MeshAuthority.from_directory(root / name)
                   for name in ('a', 'b', 'operator')}
    authorities['a_directory'] = root / 'a'
    return authorities


@pytest.fixture
def motor(hosts):
    directory = hosts['a_directory']
    with RosProbe(isolated_ros_env()) as probe:
        node = MotorOutput(context=probe.context, parameter_overrides=[
            Parameter('security_dir', value=str(directory))])
        sent = []
        node.publisher.publish = sent.append
        yield probe, node, sent
        node.destroy_node()


def _callback(node, suffix):
    return next(s.callback for s in node.subscriptions if s.topic_name.endswith(suffix))


def _state(node, signer=None, collapsed=True):
    message = stamped(SyncState(sync_real=0.8, sync_imag=0.6, coherence=1.0, threshold=0.5,
                                collapsed=collapsed), node)
    if signer is not None:
        message.signature = signer.sign(SYNC_STATE, sync_fields(message))
    return message


def _moving(node, sent):
    node._tick()
    return bool(sent) and (sent[-1].linear.x != 0.0 or sent[-1].angular.z != 0.0)


def test_only_this_hosts_fresh_signed_states_move_the_motor(motor, hosts):
    _, node, sent = motor
    on_sync = _callback(node, 'sync/state')
    on_sync(_state(node))  # unsigned
    on_sync(_state(node, hosts['b']))  # another certified host
    assert not _moving(node, sent) and not any(m.linear.x for m in sent)
    assert node.rejections.counts['unsigned'] == 1
    assert node.rejections.counts['bad_signature'] == 1
    old = _state(node, hosts['a'])
    time.sleep(0.01)
    on_sync(_state(node, hosts['a']))
    assert _moving(node, sent)
    on_sync(_state(node, hosts['a'], collapsed=False))
    on_sync(old)  # a captured collapsed state of this very host, replayed
    assert node.rejections.counts['replay'] == 1
    assert not _moving(node, sent)


def test_estop_member_engages_only_an_operator_releases(motor, hosts):
    _, node, sent = motor
    on_sync, on_estop = _callback(node, 'sync/state'), _callback(node, 'estop')
    on_sync(_state(node, hosts['a']))
    assert _moving(node, sent)
    now = time.time_ns()
    on_estop(make_command(hosts['b'], True, 'b', now))
    on_sync(_state(node, hosts['a']))
    assert node.estop.latched and not _moving(node, sent)
    on_estop(make_command(hosts['b'], False, 'b', now + 1))
    assert node.estop_rejections.counts['not_operator'] == 1
    assert not node._reset()[0], 'a local reset is refused while the stop holds'
    on_sync(_state(node, hosts['a']))
    assert not _moving(node, sent)
    on_estop(make_command(hosts['operator'], False, 'operator', now + 2))
    on_sync(_state(node, hosts['a']))
    assert not node.estop.latched and _moving(node, sent)
