"""
The signed mesh over plain UDP: only certified hosts count, nobody else moves A's motors (root).

The signature layer (:mod:`becomingone_core.security.mesh_auth`) must hold over any transport,
so this test runs on plain UDP (unicast, no multicast, no TLS) in network namespaces: each host
has its own ``/dev/shm``, a stand-in cell (``mesh_host_agent.py --security-dir``: a constant
``sync/state`` signed with the host key, on the host only, with
:func:`~becomingone_core.transport_tls.cell_profile`) and its ``mesh`` node with
``security_dir``. It shows that

1. three certified hosts converge (T_global agreement within 0.1);
2. a 4th host with no certificate, a self-signed one, one from another CA, an expired one or a
   revoked one (on the certified hosts' CRL) is never listed by a certified host nor changes
   its T_global, and each refusal is counted by its reason in the certified hosts'
   ``/diagnostics`` (``mesh: peer updates``, ``rejected_<reason>``);
3. a certified host declaring weight 10 (its certificate grants 1) moves T_global only as
   weight 1 does (``mesh: authentication`` counts the capped updates), and a host sending
   another host's ``node_id`` and ``host``, signed with its own key, is refused
   (``wrong_identity``) while the real host keeps its identity everywhere;
4. an attacker in another namespace (plain UDP, unicast to A's address) publishing
   ``collapsed: true`` on A's ``sync/state`` and unsigned or non-operator e-stop releases never
   makes A's motor outputs publish a non-zero Twist or release an engaged stop: neither the one
   with the cell profile (the attacker's packets never reach it) nor one on default transports
   (they reach it and are refused by signature); an operator-signed release on A releases both,
   and they move again on A's own signed, collapsed state.

Every wait is bounded; the namespaces go even on failure. Figures (refusal counts per case,
the liar's bound) are printed.
"""

import json
import pathlib
import sys
import time

from becomingone_core import transport_tls
from becomingone_core.testing.netns import unavailable_reason, VirtualLan
from becomingone_core.testing.processes import (
    executable, isolated_ros_env, NodeProcess, wait_until)
from becomingone_core.testing.tls_hosts import self_signed
import pytest

REASON = unavailable_reason()
pytestmark = pytest.mark.skipif(
    REASON is not None, reason=f'signed multi-host test needs network namespaces: {REASON}')

AGENT = pathlib.Path(__file__).resolve().parent / 'mesh_host_agent.py'
CERTIFIED = ['h0', 'h1', 'h2']
STAND_IN = {'h0': 0.9 + 0j, 'h1': 0.9j, 'h2': -0.6 + 0.6j}
MEAN = sum(STAND_IN.values()) / len(STAND_IN)
# What every intruder, the liar and the attacker claim: far from MEAN, so any weight shows.
ROGUE_T = -0.9 - 0.4j
FOURTH, ATTACKER = 3, 4  # namespace indices next to h0..h2
AGREEMENT = 0.1
EXACT = 1e-6
# The 4th host's cases: how it runs (the real mesh node, or a signing stand-in where the mesh
# node itself refuses to start with such a certificate) and the reason the mesh must give.
CASES = [('x_nocert', 'mesh', 'unsigned'), ('x_selfsigned', 'rogue', 'untrusted'),
         ('x_otherca', 'mesh', 'untrusted'), ('x_expired', 'rogue', 'expired'),
         ('x_revoked', 'mesh', 'revoked')]
LIAR, LIAR_WEIGHT = 'h3', 10.0
REFUSALS = 5  # refusals each certified host must count before a case is judged

# A peer that signs whatever it is told to (or nothing): PeerStates on the mesh topic.
ROGUE = """
import json, sys, rclpy
from becomingone_core.mesh import PEERS_TOPIC
from becomingone_core.ros.qos import PEERS_QOS
from becomingone_core.security.mesh_auth import peer_fields
from becomingone_core.security.pki import HostCredentials
from becomingone_core.security.signed_fields import PEER_STATE, sign_fields
from becomingone_msgs.msg import PeerState
spec = json.loads(sys.argv[1])
credentials = HostCredentials.load(spec['cert'], spec['key']) if spec['cert'] else None
rclpy.init()
node = rclpy.create_node('rogue_peer')
publisher = node.create_publisher(PeerState, PEERS_TOPIC, PEERS_QOS)
sequence = [spec['sequence']]
def send():
    sequence[0] += 1
    t = complex(*spec['t'])
    message = PeerState(node_id=spec['node_id'], host=spec['host'], role=0,
                        weight=spec['weight'], t_real=t.real, t_imag=t.imag,
                        coherence=min(1.0, abs(t) ** 2), collapsed=True, sequence=sequence[0])
    message.header.stamp = node.get_clock().now().to_msg()
    if credentials is not None:
        message.certificate = credentials.certificate_der
        message.signature = sign_fields(credentials, PEER_STATE, peer_fields(message))
    publisher.publish(message)
node.create_timer(0.2, send)
rclpy.spin(node)
"""
# The attacker on the LAN: forged collapsed states on A's sync/state, and e-stop releases,
# alternately unsigned and signed by a certified host that is not an operator.
ATTACK = """
import json, sys, time, rclpy
from becomingone_core.mesh import ESTOP_TOPIC
from becomingone_core.nodes.estop_node import make_command
from becomingone_core.ros.qos import LATCHED_QOS, STATE_QOS
from becomingone_core.security.mesh_auth import MeshAuthority, OPEN
from becomingone_msgs.msg import EStopCommand, SyncState
spec = json.loads(sys.argv[1])
member = MeshAuthority.from_directory(spec['member_dir'])
rclpy.init()
node = rclpy.create_node('attacker')
sync = node.create_publisher(SyncState, spec['sync_topic'], STATE_QOS)
estop = node.create_publisher(EStopCommand, ESTOP_TOPIC, LATCHED_QOS)
count = [0]
def forge():
    t = complex(*spec['t'])
    message = SyncState(sync_real=t.real, sync_imag=t.imag, coherence=min(1.0, abs(t) ** 2),
                        threshold=0.5, collapsed=True)
    message.header.stamp = node.get_clock().now().to_msg()
    sync.publish(message)
def release():
    count[0] += 1
    signer, source = (OPEN, 'operator') if count[0] % 2 else (member, member.node_id)
    estop.publish(make_command(signer, False, source, time.time_ns()))
node.create_timer(0.05, forge)
node.create_timer(0.25, release)
rclpy.spin(node)
"""
TWIST_PROBE = """
import sys, rclpy
from geometry_msgs.msg import Twist
rclpy.init(args=sys.argv)
node = rclpy.create_node('twist_probe')
for topic in ('cmd_vel', 'cmd_vel_exposed'):
    node.create_subscription(Twist, topic, lambda m, topic=topic: print(
        'TWIST', topic, repr(m.linear.x), repr(m.angular.z), flush=True), 10)
rclpy.spin(node)
"""


def _own_shm(lan, namespace, shm, command):
    """Wrap ``command`` to run in ``namespace`` with ``shm`` as its /dev/shm (one per host)."""
    return lan.command(namespace, [
        'sh', '-c', 'mount --bind "$0" /dev/shm && exec "$@"', str(shm), *command])


class Mesh:
    """Processes started on a :class:`VirtualLan`, all stopped by :meth:`close`."""

    def __init__(self, lan, directory):
        self.lan, self.directory = lan, directory
        self.processes = {}
        self.readers = {}

    def start(self, name, index, command, env, shm=None):
        shm = self.directory / (shm or f'shm-{index}')
        shm.mkdir(exist_ok=True)
        process = NodeProcess(_own_shm(self.lan, self.lan.hosts[index], shm, command), env,
                              name=name)
        self.processes[name] = process
        self.readers[name] = Lines(process)
        return self.readers[name]

    def stop(self, *names):
        for name in names:
            self.processes[name].kill()

    def describe(self):
        return '\n'.join(f'--- {name}\n{p.output()[-2500:]}' for name, p in self.processes.items())

    def close(self):
        for process in self.processes.values():
            process.kill()


class Lines:
    """A process's JSON lines (an agent's reports and diagnostics), parsed once each."""

    def __init__(self, process):
        self.process = process
        self.items = []
        self._position = 0

    def update(self):
        text = self.process.output()
        end = text.rfind('\n') + 1
        for line in text[self._position:end].splitlines():
            if line.startswith('{'):
                try:
                    self.items.append(json.loads(line))
                except ValueError:
                    pass
        self._position = max(self._position, end)
        return self.items

    def mark(self):
        """Return a position: what :meth:`reports` and :meth:`diagnostic` look at from now."""
        return len(self.update())

    def reports(self, since=0):
        return [r for r in self.update()[since:] if 'node_id' in r]

    def latest(self):
        reports = self.reports()
        return reports[-1] if reports else None

    def diagnostic(self, name, since=0):
        """Return the newest values of the ``/diagnostics`` status ``name`` (as floats)."""
        # Named '<node>: <check>', with or without the node's namespace before it.
        found = None
        for item in self.update()[since:]:
            if item.get('diagnostic', '').rsplit('/', 1)[-1] == name:
                found = item
        if found is None:
            return None
        values = {}
        for key, value in found['values'].items():
            try:
                values[key] = float(value)
            except ValueError:
                values[key] = value
        return dict(values, message=found['message'])


def _count(values, key):
    return 0.0 if values is None else float(values.get(key, 0.0))


def _mesh_command(node_id, netns, security_dir=None, weight=None):
    command = [executable('becomingone_core', 'mesh'), '--ros-args', '-r', f'__ns:=/{node_id}',
               '-p', f'host:={netns}', '-p', 'timeout_s:=2.0', '-p', 'max_update_age_s:=5.0',
               '-p', 'publish_rate_hz:=5.0']
    if security_dir is not None:
        command += ['-p', f'security_dir:={security_dir}']
    if weight is not None:
        command += ['-p', f'weight:={weight}']
    return command


def _agent_command(node_id, sync, security_dir=None, collapsed_while=None):
    command = [sys.executable, str(AGENT), '--sync', str(sync.real), str(sync.imag),
               '--diagnostics']
    if security_dir is not None:
        command += ['--security-dir', str(security_dir)]
    if collapsed_while is not None:
        command += ['--collapsed-while', str(collapsed_while)]
    return command + ['--ros-args', '-r', f'__ns:=/{node_id}']


def _rogue_command(node_id, host, credentials=None, weight=1.0, sequence=1):
    cert, key = credentials if credentials else ('', '')
    spec = {'node_id': node_id, 'host': host, 'cert': str(cert), 'key': str(key),
            'weight': weight, 't': [ROGUE_T.real, ROGUE_T.imag], 'sequence': sequence}
    return [sys.executable, '-c', ROGUE, json.dumps(spec)]


def _unicast_profile(address, domain_id, participants=16):
    """
    Return a Fast DDS profile announcing to every participant of ``address`` (an attacker's).

    ``ROS_STATIC_PEERS`` reaches only the first few participant ids of a host (Fast DDS's
    default initial-peers range); A runs more participants than that, so list each id's
    discovery port (7400 + 250 domain + 10 + 2 id) explicitly.
    """
    locators = ''.join(
        f'<locator><udpv4><address>{address}</address>'
        f'<port>{7400 + 250 * domain_id + 10 + 2 * participant}</port></udpv4></locator>'
        for participant in range(participants))
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<profiles xmlns="http://www.eprosima.com/XMLSchemas/fastRTPS_Profiles">'
            '<participant profile_name="attacker" is_default_profile="true"><rtps><builtin>'
            f'<initialPeersList>{locators}</initialPeersList>'
            '</builtin></rtps></participant></profiles>')


# --- the PKI ---------------------------------------------------------------------------------

def _pki(directory):
    """Issue and export every host's credentials; return (export dirs, raw cert/key pairs)."""
    from becomingone_core.security.pki import MeshPki
    pki = MeshPki(directory / 'pki')
    pki.init('signed-multihost')
    exported, raw = {}, {}

    def export(authority, node_id):
        exported[node_id] = directory / 'security' / node_id
        authority.export(node_id, exported[node_id])

    for node_id in CERTIFIED:
        pki.issue(node_id)
        export(pki, node_id)
    issued = pki.issue(LIAR, weight=1.0)
    export(pki, LIAR)
    raw[LIAR] = (issued.cert_path, issued.key_path)
    pki.issue('operator', operator=True)
    export(pki, 'operator')
    pki.issue('x_revoked')
    export(pki, 'x_revoked')  # while still valid: the revoked host keeps this directory
    pki.revoke('x_revoked', reason='key_compromise')
    # Re-export: the certified hosts get the new CRL. Before they start: a node reads crl.pem
    # once, at start-up (nothing reloads it while running).
    for node_id in CERTIFIED + [LIAR]:
        export(pki, node_id)
    # Expired: issued by the real CA as if ten days ago, for one day.
    past = MeshPki(directory / 'pki', clock=lambda: time.time() - 10 * 86400)
    issued = past.issue('x_expired', days=1)
    raw['x_expired'] = (issued.cert_path, issued.key_path)
    other = MeshPki(directory / 'other')
    other.init('another-mesh')
    other.issue('x_otherca')
    export(other, 'x_otherca')
    raw['x_selfsigned'] = self_signed(directory, 'x_selfsigned')
    exported['x_nocert'] = None
    return exported, raw


# --- checks ----------------------------------------------------------------------------------

def _t(report):
    return complex(*report['t'])


def _listed(report):
    return set(report['alive']) | set(report['dead']) | set(report['peers_t'])


def _peer_updates(agents, node_id):
    return agents[node_id].diagnostic('mesh: peer updates')


def _converge(mesh, agents, timeout_s):
    def whole():
        return all((r := agents[n].latest()) and r['contributing'] == CERTIFIED
                   and abs(_t(r) - MEAN) < EXACT for n in CERTIFIED)
    assert wait_until(whole, timeout_s, poll_s=0.2), 'no convergence\n' + mesh.describe()
    values = [_t(agents[n].latest()) for n in CERTIFIED]
    assert max(abs(a - b) for a in values for b in values) <= AGREEMENT, values


def _settle(mesh, agents, expected, timeout_s=15):
    """Wait until every certified host's T_global is ``expected``; return the marks after."""
    assert wait_until(lambda: all((r := agents[n].latest()) and abs(_t(r) - expected) < EXACT
                                  for n in CERTIFIED), timeout_s, poll_s=0.2), \
        f'T_global never settled at {expected}\n' + mesh.describe()
    return {n: agents[n].mark() for n in CERTIFIED}


def _quiet_counts(mesh, agents, timeout_s=10):
    """Return each certified host's refusal counts once two reports in a row agree on them."""
    marks = {n: agents[n].mark() for n in CERTIFIED}

    def settled():
        found = {}
        for node_id in CERTIFIED:
            totals = [_count(item['values'], 'rejected_total')
                      for item in agents[node_id].update()[marks[node_id]:]
                      if item.get('diagnostic', '').endswith('mesh: peer updates')]
            if len(totals) < 2 or totals[-1] != totals[-2]:
                return None
            found[node_id] = _peer_updates(agents, node_id)
        return found
    counts = wait_until(settled, timeout_s, poll_s=0.2)
    assert counts, 'refusal counts never settled\n' + mesh.describe()
    return counts


def _refused_everywhere(mesh, agents, reason, before, timeout_s=25):
    """Wait until each certified host counts REFUSALS more ``reason``; return the deltas."""
    key = f'rejected_{reason}'

    def deltas():
        return {n: _count(_peer_updates(agents, n), key) - _count(before[n], key)
                for n in CERTIFIED}
    assert wait_until(lambda: min(deltas().values()) >= REFUSALS, timeout_s, poll_s=0.2), \
        f'not refused as {reason} everywhere: {deltas()}\n' + mesh.describe()
    return deltas()


def _unchanged(mesh, agents, marks, expected, absent=(), what=''):
    """Every report since ``marks``: T_global is ``expected`` and no id of ``absent`` listed."""
    worst = 0.0
    for node_id in CERTIFIED:
        reports = agents[node_id].reports(marks[node_id])
        assert reports, f'{node_id} reported nothing {what}\n' + mesh.describe()
        for report in reports:
            worst = max(worst, abs(_t(report) - expected))
            intruders = _listed(report) & set(absent)
            assert not intruders, f'{node_id} lists {intruders} {what}\n' + mesh.describe()
        assert worst < EXACT, f'{node_id}: T_global moved by {worst} {what}\n' + mesh.describe()
    return worst


# --- the test --------------------------------------------------------------------------------

@pytest.fixture
def lan():
    with VirtualLan(hosts=len(CERTIFIED) + 2, multicast=False) as virtual:
        yield virtual


def test_signed_mesh_over_plain_udp(lan, tmp_path):
    started = time.monotonic()
    exported, raw = _pki(tmp_path)
    hosts = {n: lan.hosts[i] for i, n in enumerate(CERTIFIED)}
    addresses = [lan.addresses[lan.hosts[i]] for i in range(len(lan.hosts))]
    base = isolated_ros_env()
    cell_profile = tmp_path / 'cell.xml'
    cell_profile.write_text(transport_tls.cell_profile())
    cell_env = transport_tls.cell_environment(cell_profile, base)
    # Plain UDP to the LAN (unicast to the certified hosts), shared memory to the host's cell.
    mesh_env = dict(base, ROS_AUTOMATIC_DISCOVERY_RANGE='SUBNET',
                    ROS_STATIC_PEERS=';'.join(addresses[:len(CERTIFIED)]))
    a_collapsed = tmp_path / 'a_collapsed'  # A's own signed state is collapsed while it exists
    mesh = Mesh(lan, tmp_path)
    figures = []
    try:
        # 1. Three certified hosts converge.
        agents = {}
        for index, node_id in enumerate(CERTIFIED):
            agents[node_id] = mesh.start(
                f'agent {node_id}', index, _agent_command(
                    node_id, STAND_IN[node_id], exported[node_id],
                    a_collapsed if node_id == 'h0' else None), cell_env)
            mesh.start(f'mesh {node_id}', index,
                       _mesh_command(node_id, hosts[node_id], exported[node_id]), mesh_env)
        _converge(mesh, agents, 45)
        figures.append(f'1. 3 certified hosts converged over plain UDP in '
                       f'{time.monotonic() - started:.1f} s: T_global {MEAN:.3f} on each')

        # 2. A 4th host with each wrong certificate: never listed, T_global never moves.
        for node_id, how, reason in CASES:
            marks = _settle(mesh, agents, MEAN)
            before = _quiet_counts(mesh, agents)  # the previous case's refusals all counted
            names = [f'{how} {node_id}']
            shm = f'shm-{node_id}'
            if how == 'mesh':
                names.insert(0, f'agent {node_id}')
                own = mesh.start(names[0], FOURTH, _agent_command(
                    node_id, ROGUE_T, exported[node_id]), cell_env, shm)
                mesh.start(names[1], FOURTH, _mesh_command(
                    node_id, lan.hosts[FOURTH], exported[node_id]), mesh_env, shm)
                # Its mesh node runs and counts itself with weight (so silence is refusal).
                assert wait_until(lambda: (r := own.latest()) and node_id in r['contributing'],
                                  30, poll_s=0.2), f'{node_id} never ran\n' + mesh.describe()
            else:
                mesh.start(names[0], FOURTH, _rogue_command(
                    node_id, lan.hosts[FOURTH], raw[node_id]), mesh_env, shm)
            deltas = _refused_everywhere(mesh, agents, reason, before)
            moved = _unchanged(mesh, agents, marks, MEAN, absent=[node_id],
                               what=f'with {node_id} on the LAN')
            others = {n: {k: v - _count(before[n], k)
                          for k, v in _peer_updates(agents, n).items()
                          if k.startswith('rejected_') and k != 'rejected_total'
                          and v - _count(before[n], k)} for n in CERTIFIED}
            sees = sorted(own.latest()['alive']) if how == 'mesh' else '-'
            figures.append(
                f'2. {node_id:13s} refused as {reason:9s}: ' + ', '.join(
                    f'{n} +{deltas[n]:.0f}' for n in CERTIFIED)
                + f'; max |dT_global| {moved:.1e}; every refusal in the case {others}; '
                f'it lists {sees}')
            mesh.stop(*names)

        # 3a. A certified host that lies about its weight counts with its grant only.
        marks = _settle(mesh, agents, MEAN)
        liar_agent = mesh.start(f'agent {LIAR}', FOURTH, _agent_command(
            LIAR, ROGUE_T, exported[LIAR]), cell_env, 'shm-liar')
        mesh.start(f'mesh {LIAR}', FOURTH, _mesh_command(
            LIAR, lan.hosts[FOURTH], exported[LIAR], weight=LIAR_WEIGHT), mesh_env, 'shm-liar')
        capped = (sum(STAND_IN.values()) + ROGUE_T) / (len(STAND_IN) + 1)
        declared = (sum(STAND_IN.values()) + LIAR_WEIGHT * ROGUE_T) / (len(STAND_IN) + LIAR_WEIGHT)
        marks = _settle(mesh, agents, capped, timeout_s=30)
        time.sleep(2.0)  # ten more of the liar's updates
        _unchanged(mesh, agents, marks, capped, what='with the liar')
        for node_id in CERTIFIED:
            report = agents[node_id].latest()
            assert LIAR in report['contributing'] and report['weights'][LIAR] == 1.0, report
        assert liar_agent.latest()['weights'][LIAR] == LIAR_WEIGHT  # what it declares
        capped_counts = {n: _count(agents[n].diagnostic('mesh: authentication'),
                                   'weight_capped') for n in CERTIFIED}
        assert min(capped_counts.values()) >= REFUSALS, capped_counts
        figures.append(
            f'3. liar {LIAR} declares weight {LIAR_WEIGHT:g}, granted 1: T_global '
            f'{_t(agents["h0"].latest()):.4f} = weight-1 value {capped:.4f} (|moved| '
            f'{abs(capped - MEAN):.3f} <= |T_liar - T_mean|/4 = {abs(ROGUE_T - MEAN) / 4:.3f}); '
            f'as declared it would be {declared:.4f} (|moved| {abs(declared - MEAN):.3f}); '
            'updates capped: ' + ', '.join(f'{n} {c:.0f}' for n, c in capped_counts.items()))

        # 3b. The liar's key signing h1's node_id and host: refused, h1 stays h1 everywhere.
        before = {n: _peer_updates(agents, n) for n in CERTIFIED}
        mesh.start('rogue impostor', ATTACKER, _rogue_command(
            'h1', hosts['h1'], raw[LIAR], sequence=int(time.time() * 1e6) * 2), mesh_env)
        deltas = _refused_everywhere(mesh, agents, 'wrong_identity', before)
        _unchanged(mesh, agents, marks, capped, what='with the impostor')
        for node_id in CERTIFIED:
            for report in agents[node_id].reports(marks[node_id]):
                assert report['hosts']['h1'] == hosts['h1'], report
                assert complex(*report['peers_t']['h1']) == STAND_IN['h1'], report
                assert 'h1' in report['alive'], report
            after = _peer_updates(agents, node_id)
            assert _count(after, 'rejected_replay') == _count(before[node_id], 'rejected_replay')
            conflicts = agents[node_id].diagnostic('mesh: node ids')
            assert 'one host' in conflicts['message'], conflicts
        figures.append('3. impostor (h3 key, node_id h1, h1 host) refused as wrong_identity: '
                       + ', '.join(f'{n} +{deltas[n]:.0f}' for n in CERTIFIED)
                       + '; h1 kept its host, T and liveness on every host; no replay')
        mesh.stop('rogue impostor', f'mesh {LIAR}', f'agent {LIAR}')

        # 4. The attacker on the LAN against A's motor outputs.
        _check_motors(mesh, agents, lan, exported, base, cell_env, a_collapsed, figures)

        for name in [*(f'mesh {n}' for n in CERTIFIED), 'motor cell', 'motor exposed']:
            assert mesh.processes[name].running, f'{name} died\n' + mesh.describe()
        for node_id in CERTIFIED:
            listed = set().union(*(_listed(r) for r in agents[node_id].reports()))
            assert listed == set(CERTIFIED) | {LIAR}, f'{node_id} listed {listed}'
        figures.append(f'total {time.monotonic() - started:.1f} s')
        print('\n' + '\n'.join(figures))
    finally:
        mesh.close()


def _check_motors(mesh, agents, lan, exported, base, cell_env, a_collapsed, figures):
    a = agents['h0']
    marks = _settle(mesh, agents, MEAN)
    motor = executable('becomingone_adapters', 'motor_output')
    common = ['--ros-args', '-r', '__ns:=/h0', '-p', f'security_dir:={exported["h0"]}']
    # One motor with the cell profile (the attacker cannot reach it), one on default transports
    # with LOCALHOST range (it can: only the signatures stand in the way).
    mesh.start('motor cell', 0, [motor, *common], cell_env)
    mesh.start('motor exposed', 0, [motor, *common, '-r', '__node:=motor_exposed',
                                    '-r', 'cmd_vel:=cmd_vel_exposed'],
               dict(base, ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST'))
    mesh.start('twist probe', 0, [sys.executable, '-c', TWIST_PROBE, '--ros-args',
                                  '-r', '__ns:=/h0'], cell_env)
    attack_profile = mesh.directory / 'attacker.xml'
    attack_profile.write_text(_unicast_profile(lan.addresses[lan.hosts[0]],
                                               int(base['ROS_DOMAIN_ID'])))
    attack_env = dict(base, ROS_AUTOMATIC_DISCOVERY_RANGE='SUBNET',
                      FASTRTPS_DEFAULT_PROFILES_FILE=str(attack_profile))
    spec = {'member_dir': str(exported[LIAR]), 'sync_topic': '/h0/sync/state',
            't': [ROGUE_T.real, ROGUE_T.imag]}
    mesh.start('attacker', ATTACKER, [sys.executable, '-c', ATTACK, json.dumps(spec)],
               attack_env)
    motors = {'cell': 'motor_output', 'exposed': 'motor_exposed'}

    def status(which, check):
        return a.diagnostic(f'{motors[which]}: {check}') or {}

    def moving():
        return [line for line in mesh.processes['twist probe'].output().splitlines()
                if line.startswith('TWIST') and any(float(v) for v in line.split()[2:])]

    # A's own signed state (not collapsed) reaches both; the forgeries reach the exposed one.
    assert wait_until(lambda: all('released' in status(w, 'gate').get('message', '')
                                  for w in motors)
                      and _count(status('exposed', 'input'), 'rejected_unsigned') >= 20
                      and _count(status('exposed', 'estop commands'), 'rejected_not_operator')
                      >= 2, 40, poll_s=0.2), 'motors not up, or the attack never reached the ' \
        'exposed one\n' + mesh.describe()
    assert not moving(), mesh.describe()

    # A certified host (h1's credentials) engages the stop on A; then A's own state collapses.
    mesh.start('estop engage', 0, [executable('becomingone_core', 'mesh_estop'), 'engage',
                                   '--ros-args', '-p', f'security_dir:={exported["h1"]}'],
               cell_env)
    assert wait_until(lambda: all(_count(status(w, 'estop'), 'latched') == 1 for w in motors),
                      20, poll_s=0.2), 'the e-stop never engaged\n' + mesh.describe()
    # Each motor said "stop" with one zero Twist: the probe hears both (so its silence counts).
    assert wait_until(lambda: {line.split()[1] for line in mesh.processes['twist probe'].output()
                               .splitlines() if line.startswith('TWIST')}
                      == {'cmd_vel', 'cmd_vel_exposed'}, 10, poll_s=0.2), mesh.describe()
    refused = _count(status('exposed', 'estop commands'), 'rejected_total')
    a_collapsed.touch()
    assert wait_until(lambda: all('acting' in status(w, 'gate').get('message', '')
                                  for w in motors), 10, poll_s=0.2), mesh.describe()
    # The attacker's releases go on for a while: the stop holds and nothing moves.
    assert wait_until(
        lambda: _count(status('exposed', 'estop commands'), 'rejected_total') >= refused + 8,
        10, poll_s=0.2), mesh.describe()
    assert all(_count(status(w, 'estop'), 'latched') == 1 for w in motors), mesh.describe()
    assert not moving(), 'a motor moved while the stop was engaged\n' + mesh.describe()
    # The forged sync states reached A's mesh node too: refused, A's T_global unmoved.
    _unchanged(mesh, agents, marks, MEAN, what='under attack')
    mesh_sync = a.diagnostic('mesh: sync input')
    mesh_estop = a.diagnostic('mesh: e-stop')
    exposed_input, exposed_estop = status('exposed', 'input'), status('exposed', 'estop commands')
    cell_input, cell_estop = status('cell', 'input'), status('cell', 'estop commands')

    # An operator's signed release on A releases both, and A's own collapsed state moves them.
    mesh.start('estop release', 0, [executable('becomingone_core', 'mesh_estop'), 'release',
                                    '--ros-args', '-p',
                                    f'security_dir:={exported["operator"]}'], cell_env)
    assert wait_until(lambda: {line.split()[1] for line in moving()}
                      == {'cmd_vel', 'cmd_vel_exposed'}, 20, poll_s=0.2), \
        'the operator release did not let both motors move\n' + mesh.describe()
    assert wait_until(lambda: all(_count(status(w, 'estop'), 'latched') == 0 for w in motors),
                      5, poll_s=0.2), mesh.describe()
    first = moving()[0].split()
    figures.append(
        '4. attacker on the LAN -> A: exposed motor refused '
        f'{_count(exposed_input, "rejected_unsigned"):.0f} forged sync states (unsigned) and '
        f'{_count(exposed_estop, "rejected_unsigned"):.0f} unsigned + '
        f'{_count(exposed_estop, "rejected_not_operator"):.0f} non-operator releases; '
        f'cell-profile motor saw {_count(cell_input, "rejected_total"):.0f} + '
        f'{_count(cell_estop, "rejected_total"):.0f} (unreachable); '
        f'A mesh node refused {_count(mesh_sync, "rejected_unsigned"):.0f} sync states, '
        f'{_count(mesh_estop, "rejected_total"):.0f} e-stop commands; '
        f'no non-zero Twist until the operator release, then {first[1]} '
        f'linear.x {float(first[2]):.3f} angular.z {float(first[3]):.3f}')
