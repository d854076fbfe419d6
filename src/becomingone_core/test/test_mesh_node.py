"""The mesh node over real DDS: it shares its cell's state and sees its peers as one mesh."""

import time

from becomingone_core.mesh import ESTOP_TOPIC, PEERS_TOPIC, PeerUpdate, ROLE_FULL
from becomingone_core.nodes.estop_node import make_command
from becomingone_core.nodes.mesh_node import message_from_update
from becomingone_core.ros.qos import LATCHED_QOS, PEERS_QOS, STATE_QOS
from becomingone_core.security.mesh_auth import OPEN
from becomingone_core.testing.processes import (
    free_port, isolated_ros_env, NodeProcess, wait_until)
from becomingone_core.testing.ros import RosProbe
from becomingone_msgs.msg import EStopCommand, MeshState, PeerState, SyncState
from diagnostic_msgs.msg import DiagnosticArray
import pytest
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient
from visualization_msgs.msg import Marker, MarkerArray

MESH_PARAMETERS = ['-p', 'node_id:=cell_a', '-p', 'host:=host-a', '-p', 'timeout_s:=1.5',
                   '-p', 'publish_rate_hz:=10.0', '-p', 'diagnostics_period_s:=0.5']


class FakePeer:
    """A peer 'cell_b' publishing on the shared topic from the probe, with a fresh stamp."""

    def __init__(self, probe, t=-0.5j):
        self.probe, self.t, self.sequence, self.running = probe, t, 0, True
        self.publisher = probe.node.create_publisher(PeerState, PEERS_TOPIC, PEERS_QOS)
        probe.node.create_timer(0.1, self.publish)

    def publish(self, stamp_offset_s=0.0, node_id='cell_b', host='host-b'):
        if not self.running:
            return
        self.sequence += 1
        now = self.probe.node.get_clock().now().nanoseconds * 1e-9
        self.publisher.publish(message_from_update(PeerUpdate(
            node_id=node_id, host=host, role=ROLE_FULL, weight=1.0, t=self.t,
            coherence=abs(self.t) ** 2, collapsed=False, sequence=self.sequence,
            stamp_s=now + stamp_offset_s)))


def _sync_publisher(probe, t=0.9 + 0j):
    publisher = probe.node.create_publisher(SyncState, '/sync/state', STATE_QOS)

    def publish():
        message = SyncState(sync_real=t.real, sync_imag=t.imag, coherence=abs(t) ** 2,
                            collapsed=True)
        message.header.stamp = probe.node.get_clock().now().to_msg()
        publisher.publish(message)
    probe.node.create_timer(0.05, publish)


def _diagnostic_values(arrays, name):
    for array in reversed(arrays):
        for status in array.status:
            if status.name == f'mesh: {name}':
                return status, {kv.key: kv.value for kv in status.values}
    return None, {}


@pytest.fixture
def mesh_run():
    env = isolated_ros_env()
    with RosProbe(env) as probe, NodeProcess.run(
            'becomingone_core', 'mesh', env, ros_arguments=MESH_PARAMETERS) as node:
        yield probe, node


def test_mesh_node_aggregates_its_cell_and_a_peer_and_marks_the_peer_dead(mesh_run):
    probe, node = mesh_run
    states = probe.collect(MeshState, '/mesh/state', STATE_QOS)
    shared = probe.collect(PeerState, PEERS_TOPIC, PEERS_QOS)
    diagnostics = probe.collect(DiagnosticArray, '/diagnostics')
    markers = probe.collect(MarkerArray, '/mesh/markers', STATE_QOS)
    _sync_publisher(probe)
    peer = FakePeer(probe)

    def both_alive():
        return states and states[-1].peers_alive == 2 and all(
            s.state.weight > 0 for s in states[-1].peers)
    assert probe.spin_until(both_alive, timeout_s=60), node.output()
    state = states[-1]
    assert state.node_id == 'cell_a' and state.aggregation == 'weighted_mean'
    assert (state.global_real, state.global_imag) == pytest.approx((0.45, -0.25), abs=1e-6)
    assert state.global_coherence == pytest.approx((0.81 + 0.25) / 2, abs=1e-6)
    assert not state.emerged and state.emergence_threshold == pytest.approx(0.75)

    def own():
        return [m for m in shared if m.node_id == 'cell_a']
    assert probe.spin_until(lambda: any(m.host == 'host-a' and m.t_real == pytest.approx(0.9)
                                        for m in own()), timeout_s=30), node.output()
    assert [m.sequence for m in own()] == sorted({m.sequence for m in own()})

    # rviz: a sphere and a label per peer, and the global arrow, while we subscribe.
    def spheres_at_peers():
        spheres = [m for m in markers[-1].markers if m.type == Marker.SPHERE] if markers else []
        positions = sorted((round(m.pose.position.x, 6), round(m.pose.position.y, 6))
                           for m in spheres)
        return positions == [(0.0, -0.5), (0.9, 0.0)]
    assert probe.spin_until(spheres_at_peers, timeout_s=30), (markers[-1:], node.output())

    # A future-stamped update and a second host claiming cell_b are rejected and reported.
    peer.publish(stamp_offset_s=60.0)
    peer.publish(host='host-z')

    def rejections_reported():
        _, values = _diagnostic_values(diagnostics, 'peer updates')
        conflict, _ = _diagnostic_values(diagnostics, 'node ids')
        return (values.get('rejected_future') == '1' and values.get('rejected_id_conflict')
                and conflict is not None and conflict.level == bytes([2]))
    assert probe.spin_until(rejections_reported, timeout_s=30), node.output()

    # The peer goes silent: it is dead within the timeout and T_global is this cell's alone.
    peer.running = False
    stopped_at = len(states)

    def peer_dead():
        return len(states) > stopped_at and states[-1].peers_dead == 1
    assert probe.spin_until(peer_dead, timeout_s=30), node.output()
    assert (states[-1].global_real, states[-1].global_imag) == pytest.approx((0.9, 0.0))
    assert states[-1].emerged  # 0.81 >= 0.75
    assert [s.alive for s in states[-1].peers if s.state.node_id == 'cell_b'] == [False]
    log = node.output()
    assert "peer 'cell_b' joined" in log and "peer 'cell_b' dead" in log
    assert 'mesh EMERGED' in log


def test_mesh_node_reports_the_estop_in_diagnostics(mesh_run):
    probe, node = mesh_run
    diagnostics = probe.collect(DiagnosticArray, '/diagnostics')
    estop = probe.node.create_publisher(EStopCommand, ESTOP_TOPIC, LATCHED_QOS)
    estop.publish(make_command(OPEN, True, 'operator', time.time_ns()))

    def engaged():
        status, _ = _diagnostic_values(diagnostics, 'e-stop')
        return status is not None and 'ENGAGED' in status.message
    assert probe.spin_until(engaged, timeout_s=60), node.output()


def test_mesh_node_takes_valid_runtime_changes_and_refuses_invalid_ones(mesh_run):
    probe, node = mesh_run
    states = probe.collect(MeshState, '/mesh/state', STATE_QOS)
    client = AsyncParameterClient(probe.node, '/mesh')
    assert client.wait_for_services(timeout_sec=60), node.output()

    def set_parameters(**values):
        answer = probe.request(lambda: client.set_parameters(
            [Parameter(k, value=v) for k, v in values.items()]))
        return [(r.successful, r.reason) for r in answer.results]

    [(ok, reason)] = set_parameters(aggregation='mode')
    assert not ok and 'aggregation' in reason
    [(ok, reason)] = set_parameters(weight=50.0)  # above max_weight (10)
    assert not ok and 'weight' in reason
    assert set_parameters(aggregation='median') == [(True, '')]
    assert probe.spin_until(lambda: states and states[-1].aggregation == 'median',
                            timeout_s=30), node.output()


def test_estop_tool_latches_its_value_for_late_joiners():
    env = isolated_ros_env()
    with NodeProcess.run('becomingone_core', 'mesh_estop', env, arguments=['engage']) as tool:
        # The probe joins only after the tool has published: the latched value still reaches it.
        assert wait_until(lambda: 'ENGAGED' in tool.output(), 60), tool.output()
        with RosProbe(env) as probe:
            received = probe.collect(EStopCommand, ESTOP_TOPIC, LATCHED_QOS)
            assert probe.spin_until(lambda: received, timeout_s=60), tool.output()
            assert received[-1].engage is True and not received[-1].signature  # open mesh
        assert tool.running
    assert tool.process.returncode == 0


@pytest.mark.parametrize('arguments, name', [
    (['-p', 'aggregation:=mode'], 'aggregation'),
    (['-p', 'trim_fraction:=0.7'], 'trim_fraction'),
    (['-p', 'timeout_s:=0.1', '-p', 'publish_rate_hz:=5.0'], 'timeout_s'),
    (['-p', 'role:=boss'], 'role'),
])
def test_mesh_node_refuses_bad_parameters_naming_them(arguments, name):
    with NodeProcess.run('becomingone_core', 'mesh', isolated_ros_env(),
                         ros_arguments=arguments) as node:
        assert node.process.wait(timeout=60) == 2
        assert f"parameter '{name}'" in node.output()


def test_mesh_node_shows_who_its_tls_admission_gate_refused(tmp_path):
    from becomingone_core.testing.tls_hosts import mesh_with_intruders
    from becomingone_core.tls_admission import knock, Settings
    _, tls = mesh_with_intruders(tmp_path, ['cell_a', 'cell_b'])
    port = free_port()
    hosts = {'cell_a': ('127.0.0.1', port), 'cell_b': ('127.0.0.2', port),
             'x_expired': ('127.0.0.3', port)}
    own = {n: Settings(n, hosts, str(tls[n].ca_path), str(tls[n].cert_path),
                       str(tls[n].key_path)) for n in hosts}
    path = tmp_path / 'tls_admission.json'
    path.write_text(own['cell_a'].to_json())
    env = isolated_ros_env()
    with RosProbe(env) as probe, NodeProcess.run(
            'becomingone_core', 'mesh', env,
            ros_arguments=[*MESH_PARAMETERS, '-p', f'tls_admission_file:={path}']) as node:
        diagnostics = probe.collect(DiagnosticArray, '/diagnostics')
        assert wait_until(lambda: 'TLS admission gate on 127.0.0.1' in node.output(), 30), \
            node.output()
        assert knock(own['cell_b'], 'cell_a') == (True, 'admitted cell_b')
        assert knock(own['x_expired'], 'cell_a')[0] is False

        def shown():
            status, values = _diagnostic_values(diagnostics, 'tls admission')
            return (status is not None and status.level == b'\x01'
                    and values.get('refused_expired') == '1'
                    and values.get('refused 127.0.0.3', '').startswith('expired x1')
                    and 'admitted cell_b' in status.message)
        assert probe.spin_until(shown, 30), node.output()
        assert 'TLS admission: refused 127.0.0.3: expired' in node.output()
    # A file naming another host, or one that is not admission settings: the node refuses to
    # start and says why.
    for bad in (own['cell_b'].to_json(), '{"hosts": 1}'):
        path.write_text(bad)
        with NodeProcess.run('becomingone_core', 'mesh', env, ros_arguments=[
                *MESH_PARAMETERS, '-p', f'tls_admission_file:={path}']) as node:
            assert wait_until(lambda: not node.running, 30)
            assert node.process.returncode != 0
            assert "parameter 'tls_admission_file'" in node.output(), node.output()
