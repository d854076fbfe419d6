"""
Three certified hosts form a mesh over Fast DDS TCP + TLS; nothing else gets in (root only).

Each host is a network namespace with its own ``/dev/shm`` (as separate machines have), a
stand-in cell on the host only (``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` with
:func:`~becomingone_core.transport_tls.cell_profile`: UDP on 127.0.0.1 and shared memory,
publishing a constant ``sync/state``) and its ``mesh`` node, the host's only participant
on the LAN, with the profile :func:`becomingone_core.transport_tls.tls_profile` generates from
the mesh PKI and the host list (TLS files from ``becomingone-pki export``, profiles from
``becomingone-tls --credentials``). The test checks that the three agree on T_global; that
hosts with no certificate, a self-signed one, one from another CA, an expired one or a revoked
one (exported while it was a member, then revoked with ``becomingone-pki revoke`` before the
others were exported: an operator's order) list no peers and are never listed, and that each
certified host's log names each of them with the reason its TLS admission gate refused it for
(``becomingone_core.tls_admission``: Fast DDS itself says nothing when it refuses); and that a
publisher in another namespace reaches a LOCALHOST-range
subscriber with default transports (UDP listens on every interface) but not a cell with the
cell profile. It prints join time, CPU per mesh process and bytes per peer per second, and the
same figures for plain UDP. Every wait is bounded; the namespaces go even on failure.
"""

import json
import os
import pathlib
import sys
import time

from becomingone_core import transport_tls
from becomingone_core.testing.netns import unavailable_reason, VirtualLan
from becomingone_core.testing.processes import (
    executable, isolated_ros_env, NodeProcess, wait_until)
from becomingone_core.testing.tls_hosts import INTRUDERS, mesh_with_intruders
from becomingone_core.tls_admission import SETTINGS_FILE
from lxml import etree
import pytest

REASON = unavailable_reason()
pytestmark = pytest.mark.skipif(
    REASON is not None, reason=f'TLS mesh test needs network namespaces: {REASON}')

AGENT = pathlib.Path(__file__).resolve().parent / 'mesh_host_agent.py'
FASTDDS = '{http://www.eprosima.com/XMLSchemas/fastRTPS_Profiles}'
CERTIFIED = ['h0', 'h1', 'h2']
STAND_IN = {'h0': 0.9 + 0j, 'h1': 0.9j, 'h2': -0.6 + 0.6j}
# Intruders (testing.tls_hosts.INTRUDERS) sort after the certified ids, so the generator
# makes them connect to all three; what each certified host's gate must say of each.
REFUSED_FOR = {'x_nocert': 'no_certificate', 'x_selfsigned': 'self_signed',
               'x_otherca': 'untrusted', 'x_expired': 'expired', 'x_revoked': 'untrusted'}
AGREEMENT = 0.1
MEASURE_S = 8.0
PROBE = """
import sys, rclpy
from becomingone_msgs.msg import SyncState
from becomingone_core.nodes.mesh_node import STATE_QOS
rclpy.init()
node = rclpy.create_node('probe')
node.create_subscription(SyncState, 'sync/state', lambda m: print(
    'FORGED' if m.sync_real < -0.99 else 'OWN', flush=True), STATE_QOS)
rclpy.spin(node)
"""
FORGER = """
import rclpy
from becomingone_msgs.msg import SyncState
from becomingone_core.nodes.mesh_node import STATE_QOS
rclpy.init()
node = rclpy.create_node('forger', namespace='/h0')
publisher = node.create_publisher(SyncState, 'sync/state', STATE_QOS)
node.create_timer(0.05, lambda: publisher.publish(
    SyncState(sync_real=-1.0, sync_imag=0.0, coherence=1.0, collapsed=True)))
rclpy.spin(node)
"""


def _own_shm(lan, namespace, shm, command):
    """Wrap ``command`` to run in ``namespace`` with ``shm`` as its /dev/shm (one per host)."""
    return lan.command(namespace, [
        'sh', '-c', 'mount --bind "$0" /dev/shm && exec "$@"', str(shm), *command])


def _mesh_command(node_id, netns, admission=None):
    command = [executable('becomingone_core', 'mesh'), '--ros-args', '-r', f'__ns:=/{node_id}',
               '-p', f'host:={netns}', '-p', 'timeout_s:=2.0', '-p', 'max_update_age_s:=5.0',
               '-p', 'publish_rate_hz:=5.0']
    if admission is not None:
        command += ['-p', f'tls_admission_file:={admission}']
    return command


def _agent_command(node_id, sync=0j):
    return [sys.executable, str(AGENT), '--sync', str(sync.real), str(sync.imag),
            '--ros-args', '-r', f'__ns:=/{node_id}']


def _reports(process):
    return [json.loads(line) for line in process.output().splitlines() if line.startswith('{')]


def _latest(process):
    reports = _reports(process)
    return reports[-1] if reports else None


def _cpu_s(pid):
    """User + system CPU seconds of ``pid`` so far (/proc/<pid>/stat)."""
    fields = pathlib.Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def _tx_bytes(lan, namespace):
    """Bytes sent on ``namespace``'s LAN port (its /proc/net/dev)."""
    out = os.popen(f'ip netns exec {namespace} cat /proc/net/dev').read()
    for line in out.splitlines():
        name, _, counters = line.partition(':')
        if name.strip() == 'eth0':
            return int(counters.split()[8])
    raise AssertionError(f'no eth0 in {namespace}: {out}')


class Mesh:
    """Processes started on a :class:`VirtualLan`, all stopped by :meth:`close`."""

    def __init__(self, lan, directory):
        self.lan, self.directory = lan, directory
        self.processes = {}

    def start(self, name, index, command, env):
        shm = self.directory / f'shm-{index}'
        shm.mkdir(exist_ok=True)
        self.processes[name] = NodeProcess(
            _own_shm(self.lan, self.lan.hosts[index], shm, command), env, name=name)
        return self.processes[name]

    def describe(self):
        return '\n'.join(f'--- {name}\n{p.output()[-2500:]}' for name, p in self.processes.items())

    def close(self):
        for process in self.processes.values():
            process.kill()


def _converge(mesh, timeout_s):
    """Wait until h0..h2 each count exactly the three; return the seconds it took."""
    started = time.monotonic()
    agents = [mesh.processes[f'agent {n}'] for n in CERTIFIED]

    def whole():
        return all((r := _latest(a)) and r['contributing'] == CERTIFIED for a in agents)
    assert wait_until(whole, timeout_s, poll_s=0.1), 'no convergence\n' + mesh.describe()
    return time.monotonic() - started


def _assert_t_global(mesh):
    def problems():
        found = []
        values = []
        for node_id in CERTIFIED:
            report = _latest(mesh.processes[f'agent {node_id}'])
            t = complex(*report['t'])
            expected = sum(STAND_IN.values()) / len(STAND_IN)
            if abs(t - expected) > 1e-6:
                found.append(f'{node_id}: T_global {t}, expected {expected}')
            values.append(t)
        if max(abs(a - b) for a in values for b in values) > AGREEMENT:
            found.append(f'hosts disagree: {values}')
        return found
    wait_until(lambda: not problems(), 10, poll_s=0.2)
    assert not problems(), '\n'.join(problems()) + '\n' + mesh.describe()


def _measure(mesh, lan, label, join_s):
    """Print CPU per mesh process and bytes per peer per second over MEASURE_S."""
    meshes = {n: mesh.processes[f'mesh {n}'] for n in CERTIFIED}
    cpu0 = {n: _cpu_s(p.process.pid) for n, p in meshes.items()}
    tx0 = {n: _tx_bytes(lan, lan.hosts[i]) for i, n in enumerate(CERTIFIED)}
    time.sleep(MEASURE_S)
    cpu = {n: (_cpu_s(p.process.pid) - cpu0[n]) / MEASURE_S * 100 for n, p in meshes.items()}
    peers = len(CERTIFIED) - 1
    rate = {n: (_tx_bytes(lan, lan.hosts[i]) - tx0[n]) / MEASURE_S / peers
            for i, n in enumerate(CERTIFIED)}
    print(f'\n[{label}] join {join_s:.1f} s; mesh CPU ' +
          ', '.join(f'{n} {c:.1f} %' for n, c in cpu.items()) + '; sent per peer ' +
          ', '.join(f'{n} {r / 1000:.2f} kB/s' for n, r in rate.items()))
    return cpu, rate


def _without_certificate(profile):
    """Strip ``profile`` to TLS offering no certificate and verifying nothing (an intruder)."""
    document = etree.fromstring(profile.encode())
    tls = document.find(f'.//{FASTDDS}tls')
    for child in list(tls):
        tls.remove(child)
    etree.SubElement(etree.SubElement(tls, f'{FASTDDS}verify_mode'),
                     f'{FASTDDS}verify').text = 'VERIFY_NONE'
    return etree.tostring(document, xml_declaration=True, encoding='UTF-8').decode()


@pytest.fixture
def lan():
    with VirtualLan(hosts=len(CERTIFIED) + len(INTRUDERS), multicast=False) as virtual:
        yield virtual


def _becomingone_tls(node_id, hosts, credentials, out):
    """Run ``becomingone-tls`` for ``node_id`` as a host would; return the profile's path."""
    argv = ['--host', node_id, '--credentials', str(credentials), '--out', str(out)]
    for peer, address in hosts.items():
        argv += ['--peer', f'{peer}={address}']
    assert transport_tls.main(argv) == 0
    return out / f'fastdds_tls_{node_id}.xml'


def test_certified_hosts_converge_over_tls_and_nobody_else_gets_in(lan, tmp_path):
    exports, tls = mesh_with_intruders(tmp_path, CERTIFIED)
    addresses = {n: lan.addresses[lan.hosts[i]]
                 for i, n in enumerate(CERTIFIED + INTRUDERS)}
    mesh_hosts = {n: addresses[n] for n in CERTIFIED}
    base = isolated_ros_env()
    cell_profile = tmp_path / 'cell.xml'
    cell_profile.write_text(transport_tls.cell_profile())
    cell_env = transport_tls.cell_environment(cell_profile, base)
    openssl = tmp_path / 'openssl_tls.cnf'
    openssl.write_text(transport_tls.openssl_config())
    mesh = Mesh(lan, tmp_path)
    try:
        started = time.monotonic()
        for index, node_id in enumerate(CERTIFIED):
            profile = _becomingone_tls(node_id, mesh_hosts, exports[node_id],
                                       tmp_path / f'tls-{node_id}')
            mesh.start(f'agent {node_id}', index, _agent_command(node_id, STAND_IN[node_id]),
                       cell_env)
            mesh.start(f'mesh {node_id}', index,
                       _mesh_command(node_id, lan.hosts[index], profile.parent / SETTINGS_FILE),
                       transport_tls.mesh_environment(profile, openssl, base))
        _converge(mesh, 45)
        join_s = time.monotonic() - started
        _assert_t_global(mesh)
        _measure(mesh, lan, 'TLS', join_s)

        # Intruders: each connects to all three with what it has; none gets through.
        for offset, node_id in enumerate(INTRUDERS):
            index = len(CERTIFIED) + offset
            hosts = dict(mesh_hosts, **{node_id: addresses[node_id]})
            if node_id == 'x_nocert':
                files = {'ca_file': tls['h0'].ca_path, 'cert_file': '/nonexistent',
                         'key_file': '/nonexistent'}
                text = _without_certificate(transport_tls.tls_profile(node_id, hosts, **files))
            else:
                # What each has, as it has it: the generator would refuse the expired leaf.
                files = {'ca_file': tls[node_id].ca_path, 'cert_file': tls[node_id].cert_path,
                         'key_file': tls[node_id].key_path}
                text = transport_tls.tls_profile(node_id, hosts, **files)
            profile = tmp_path / f'{node_id}.xml'
            profile.write_text(text)
            admission = tmp_path / f'{node_id}-{SETTINGS_FILE}'
            admission.write_text(
                transport_tls.admission_settings(node_id, hosts, **files).to_json())
            mesh.start(f'agent {node_id}', index, _agent_command(node_id, 0.5 + 0j), cell_env)
            # A host with no certificate runs no gate (its mesh node would refuse the file):
            # it knocks once, as an operator checking why it cannot join would.
            gated = node_id != 'x_nocert'
            mesh.start(f'mesh {node_id}', index,
                       _mesh_command(node_id, lan.hosts[index], admission if gated else None),
                       transport_tls.mesh_environment(profile, openssl, base))
            if not gated:
                mesh.start(f'knock {node_id}', index, [
                    sys.executable, '-m', 'becomingone_core.tls_admission', str(admission),
                    *(f'--peer={n}' for n in CERTIFIED)], base)
        # A forger beside x_nocert publishes on h0's sync/state by unicast to h0's address;
        # on h0, one probe is a cell (cell profile), one a LOCALHOST node on default transports.
        forger_env = dict(base, ROS_AUTOMATIC_DISCOVERY_RANGE='SUBNET',
                          ROS_STATIC_PEERS=addresses['h0'])
        mesh.start('forger', len(CERTIFIED), [sys.executable, '-c', FORGER], forger_env)
        ns = ['--ros-args', '-r', '__ns:=/h0']
        mesh.start('probe cell', 0, [sys.executable, '-c', PROBE, *ns], cell_env)
        mesh.start('probe defaults', 0, [sys.executable, '-c', PROBE, *ns],
                   dict(base, ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST'))

        intruder_agents = [mesh.processes[f'agent {n}'] for n in INTRUDERS]
        # Every intruder's mesh node runs and reports (so its silence means refusal)...
        assert wait_until(lambda: all(_latest(a) for a in intruder_agents), 30, poll_s=0.2), \
            mesh.describe()
        assert wait_until(
            lambda: 'OWN' in mesh.processes['probe cell'].output()
            and 'FORGED' in mesh.processes['probe defaults'].output(), 20, poll_s=0.2), \
            'the probes never heard their own cell, or the forger never reached the ' \
            'defaults probe (the control)\n' + mesh.describe()
        time.sleep(6.0)  # past several TLS retries and two discovery announcements
        for node_id, agent in zip(INTRUDERS, intruder_agents):
            seen = {p for r in _reports(agent) for p in r['alive'] + r['dead']}
            assert seen == {node_id}, f'{node_id} saw {seen}\n' + mesh.describe()
        for node_id in CERTIFIED:
            reports = _reports(mesh.processes[f'agent {node_id}'])
            seen = {p for r in reports for p in r['alive'] + r['dead']}
            assert seen == set(CERTIFIED), f'{node_id} saw {seen}\n' + mesh.describe()
        _assert_t_global(mesh)
        assert 'FORGED' not in mesh.processes['probe cell'].output(), mesh.describe()
        # Every certified host's log names every intruder's address and the reason it was
        # refused for (the TLS admission gate; Fast DDS says nothing when it refuses).
        for node_id in CERTIFIED:
            output = mesh.processes[f'mesh {node_id}'].output()
            for intruder, reason in REFUSED_FOR.items():
                line = f'TLS admission: refused {addresses[intruder]}: {reason},'
                assert line in output, f'{node_id} does not say {line!r}\n' + output[-4000:]
            assert 'refused h' not in output, output[-4000:]
        print('\n[TLS admission, h0] ' + '\n[TLS admission, h0] '.join(
            line.split('TLS admission: ', 1)[1]
            for line in mesh.processes['mesh h0'].output().splitlines()
            if 'TLS admission: ' in line))
        for intruder in INTRUDERS:
            output = mesh.processes[
                f'knock {intruder}' if intruder == 'x_nocert' else f'mesh {intruder}'].output()
            assert all(f"knocked on {n}: 'refused in the handshake" in output
                       or f"{n} ({addresses[n]}:7701): 'refused in the handshake" in output
                       for n in CERTIFIED), output[-3000:]
    finally:
        mesh.close()


def test_plain_udp_figures_for_comparison(lan, tmp_path):
    base = isolated_ros_env()
    cell_profile = tmp_path / 'cell.xml'
    cell_profile.write_text(transport_tls.cell_profile())
    cell_env = transport_tls.cell_environment(cell_profile, base)
    peers = ';'.join(lan.addresses[lan.hosts[i]] for i in range(len(CERTIFIED)))
    mesh_env = dict(base, ROS_AUTOMATIC_DISCOVERY_RANGE='SUBNET', ROS_STATIC_PEERS=peers,
                    FASTDDS_BUILTIN_TRANSPORTS='UDPv4')
    mesh = Mesh(lan, tmp_path)
    try:
        started = time.monotonic()
        for index, node_id in enumerate(CERTIFIED):
            mesh.start(f'agent {node_id}', index, _agent_command(node_id, STAND_IN[node_id]),
                       cell_env)
            # UDP to the LAN, and shared memory to reach its cell.
            env = dict(mesh_env, FASTDDS_BUILTIN_TRANSPORTS='DEFAULT')
            mesh.start(f'mesh {node_id}', index, _mesh_command(node_id, lan.hosts[index]), env)
        _converge(mesh, 45)
        join_s = time.monotonic() - started
        _assert_t_global(mesh)
        _measure(mesh, lan, 'plain UDP', join_s)
    finally:
        mesh.close()
