"""
Signed mesh messages through the real nodes, in process: who is let in, who is refused, why.

A mesh CA issues certificates to hosts ``a`` (weight 1), ``b`` (weight 2), ``liar`` (weight 1)
and an operator; ``revoked`` is revoked and ``old`` expired; another CA issues ``stranger``.
Host ``a``'s mesh node (with ``a``'s security directory) must admit exactly the correctly signed
states of certified peers, cap each to its granted weight whatever it declares, refuse every
other case by reason, and keep every identity with its owner; the e-stop obeys the rule
engage: any member, release: an operator only.
"""

import shutil
import time

from becomingone_core import estop
from becomingone_core.mesh import PeerUpdate, ROLE_FULL
from becomingone_core.nodes.estop_node import make_command
from becomingone_core.nodes.mesh_node import MeshNode, message_from_update
from becomingone_core.nodes.sync_node import SyncNode
from becomingone_core.security.mesh_auth import MeshAuthority, peer_fields, sync_fields
from becomingone_core.security.pki import HostCredentials, MeshPki, TrustStore
from becomingone_core.security.signed_fields import PEER_STATE, SYNC_STATE, verify_fields
from becomingone_core.testing.processes import isolated_ros_env
from becomingone_core.testing.ros import RosProbe
from becomingone_msgs.msg import Resonance
import pytest
from rclpy.parameter import Parameter


@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    root = tmp_path_factory.mktemp('pki')
    mesh = MeshPki(root / 'ca')
    mesh.init('test mesh')
    for node_id, weight in (('a', 1.0), ('b', 2.0), ('liar', 1.0), ('revoked', 1.0)):
        mesh.issue(node_id, weight=weight, role='full')
    mesh.issue('operator', operator=True)
    directories = {}
    for node_id in ('a', 'b', 'liar', 'revoked', 'operator'):
        directories[node_id] = root / node_id
        mesh.export(node_id, directories[node_id])
    mesh.revoke('revoked')
    # The revoked host keeps its old export: its CRL predates the revocation.
    MeshPki(root / 'ca').export('a', directories['a'])  # a has the CRL naming 'revoked'
    # A certificate that expired yesterday (the CA's clock set back 400 days at issue).
    past = MeshPki(root / 'ca', clock=lambda: time.time() - 400 * 86400)
    past.issue('old', days=365)
    directories['old'] = root / 'old'
    _export_anyway(past, 'old', directories['old'], root / 'ca')
    other = MeshPki(root / 'other')
    other.init('another mesh')
    other.issue('stranger')
    directories['stranger'] = root / 'stranger'
    other.export('stranger', directories['stranger'])
    return directories


def _export_anyway(pki, node_id, target, ca_root):
    # export() refuses an expired certificate (rightly): copy its files by hand for the test.
    target.mkdir(parents=True, exist_ok=True)
    paths = pki.host_paths(node_id)
    shutil.copy(paths.cert_path, target / 'host.pem')
    shutil.copy(ca_root / 'ca.pem', target / 'ca.pem')
    (target / 'host.key').write_bytes(paths.key_path.read_bytes())
    (target / 'host.key').chmod(0o600)


def _authority(directory):
    """Load an authority even for an expired or revoked certificate (what an attacker holds)."""
    trust = TrustStore.from_files(directory / 'ca.pem')
    credentials = HostCredentials.load(directory / 'host.pem', directory / 'host.key')
    authority = MeshAuthority.__new__(MeshAuthority)
    authority.trust, authority.credentials, authority.weight_grants = trust, credentials, {}
    authority._own = None
    return authority


def _signed_peer(authority, node_id, now_s, sequence, weight=1.0, t=0.9):
    update = PeerUpdate(node_id=node_id, host=f'{node_id}-host', role=ROLE_FULL, weight=weight,
                        t=complex(t, 0.0), coherence=t * t, collapsed=True, sequence=sequence,
                        stamp_s=now_s)
    message = message_from_update(update)
    message.certificate = authority.certificate_der
    message.signature = authority.sign(PEER_STATE, peer_fields(message))
    return message


@pytest.fixture
def mesh_a(pki):
    with RosProbe(isolated_ros_env()) as probe:
        node = MeshNode(context=probe.context, parameter_overrides=[
            Parameter('security_dir', value=str(pki['a'])), Parameter('max_weight', value=10.0)])
        yield probe, node
        node.destroy_node()


def _on_peer(node):
    return next(s.callback for s in node.subscriptions if s.topic_name.endswith('mesh/peers'))


def _on_estop(node):
    return next(s.callback for s in node.subscriptions if s.topic_name.endswith('estop'))


def test_mesh_node_takes_its_node_id_from_its_certificate(mesh_a):
    _, node = mesh_a
    assert node._node_id == 'a' and node._auth.enabled


def test_certified_peers_are_admitted_and_held_to_their_granted_weight(mesh_a, pki):
    _, node = mesh_a
    on_peer = _on_peer(node)
    now = node._now()
    b, liar = _authority(pki['b']), _authority(pki['liar'])
    on_peer(_signed_peer(b, 'b', now, 1, weight=2.0))
    on_peer(_signed_peer(liar, 'liar', now, 1, weight=10.0))  # declares 10, granted 1
    assert node._table.peers['b'].update.weight == 2.0
    assert node._table.peers['liar'].update.weight == 1.0 and node._capped == 1
    peers, weights = node._table.contributors()
    assert dict(zip((p.node_id for p in peers), weights))['liar'] == 1.0


@pytest.mark.parametrize('case, reason', [
    ('unsigned', 'unsigned'),
    ('forged', 'bad_signature'),
    ('impersonation', 'wrong_identity'),
    ('revoked', 'revoked'),
    ('expired', 'expired'),
    ('another CA', 'untrusted'),
    ('operator as a host', 'wrong_identity'),
])
def test_everything_else_is_refused_by_reason(mesh_a, pki, case, reason):
    _, node = mesh_a
    now = node._now()
    signer, node_id = {
        'unsigned': ('b', 'b'), 'forged': ('b', 'b'), 'impersonation': ('liar', 'b'),
        'revoked': ('revoked', 'revoked'), 'expired': ('old', 'old'),
        'another CA': ('stranger', 'stranger'), 'operator as a host': ('operator', 'operator'),
    }[case]
    message = _signed_peer(_authority(pki[signer]), node_id, now, 5)
    if case == 'unsigned':
        message.signature = []
    if case == 'forged':
        message.weight = 2.0 - 1e-9  # any change after signing
    _on_peer(node)(message)
    assert node._rejections.counts[reason] == 1
    assert node_id not in node._table.peers or node_id == 'a'


def test_a_replayed_signed_state_is_refused_and_the_owner_keeps_its_identity(mesh_a, pki):
    _, node = mesh_a
    on_peer = _on_peer(node)
    b = _authority(pki['b'])
    now = node._now()
    first = _signed_peer(b, 'b', now, 10)
    on_peer(first)
    on_peer(_signed_peer(b, 'b', now + 0.1, 11, t=0.5))
    on_peer(first)  # captured and replayed
    assert node._rejections.counts['replay'] == 1
    assert node._table.peers['b'].update.sequence == 11
    # Nobody can speak as this node, even with a valid certificate of its own.
    on_peer(_signed_peer(_authority(pki['liar']), 'a', now, 2**62))
    assert node._table.peers['a'].update.host == node._host


def test_estop_engage_by_any_member_release_by_an_operator_only(mesh_a, pki):
    _, node = mesh_a
    on_estop = _on_estop(node)
    b, operator = _authority(pki['b']), _authority(pki['operator'])
    stranger = _authority(pki['stranger'])
    now = time.time_ns()
    on_estop(make_command(stranger, True, 'stranger', now))
    assert not node._estop.known and node._estop_rejections.counts['untrusted'] == 1
    on_estop(make_command(b, True, 'b', now))
    assert node._estop.engaged
    on_estop(make_command(b, False, 'b', now + 1000))
    assert node._estop.engaged and node._estop_rejections.counts['not_operator'] == 1
    on_estop(make_command(stranger, False, 'operator', now + 2000))  # wrong key
    assert node._estop.engaged
    release = make_command(operator, False, 'operator', now + 3000)
    on_estop(release)
    assert not node._estop.engaged
    # A newer engage holds against the replayed (older) release.
    on_estop(make_command(b, True, 'b', now + 4000))
    on_estop(release)
    assert node._estop.engaged and node._estop_rejections.counts[estop.REPLAY] == 1


def test_the_sync_node_signs_every_state_with_the_host_key(pki):
    with RosProbe(isolated_ros_env()) as probe:
        node = SyncNode(context=probe.context, parameter_overrides=[
            Parameter('security_dir', value=str(pki['a']))])
        sent = []
        node._publisher.publish = sent.append
        callback = next(s.callback for s in node.subscriptions
                        if s.topic_name.endswith('emissary/resonance'))
        message = Resonance(summary_real=0.9, summary_coherence=0.81)
        message.header.stamp = node.get_clock().now().to_msg()
        callback(message)
        (state,) = sent
        identity = node._auth._own
        assert verify_fields(identity, SYNC_STATE, sync_fields(state), bytes(state.signature))
        b = MeshAuthority.from_directory(pki['b'])
        with pytest.raises(Exception, match='bad_signature'):
            b.admit_own_sync(state)  # host b's outputs do not act on host a's states
        node.destroy_node()


def test_a_revocation_reaches_a_running_node_without_a_restart(tmp_path):
    mesh = MeshPki(tmp_path / 'ca')
    mesh.init('crl test')
    for node_id in ('a', 'b'):
        mesh.issue(node_id)
        mesh.export(node_id, tmp_path / node_id)
    a = MeshAuthority.from_directory(tmp_path / 'a')
    b = MeshAuthority.from_directory(tmp_path / 'b')
    now = time.time()
    a.admit_peer(_signed_peer(b, 'b', now, 1), now)  # admitted while valid
    mesh.revoke('b')
    # The operator copies the new CRL to host a (an export writes it with the rest).
    shutil.copy(mesh.crl_path, tmp_path / 'a' / 'crl.pem')
    time.sleep(0.01)
    assert a.refresh_crl(every_s=0.0)
    with pytest.raises(Exception, match='revoked'):
        a.admit_peer(_signed_peer(b, 'b', now, 2), now)
