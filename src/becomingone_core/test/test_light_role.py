"""
A light cell leans on the full cells' slow scale.

It collapses when its Emissary agrees with the mesh, releases on noise, and says why it cannot
collapse when no full cell is alive.

In process: the light host's mesh node (role ``light``) hears two full peers; what it publishes
on ``master/resonance`` goes straight into the light host's sync node, next to an Emissary
summary (coherent: +0.95, noise: 0.05).
"""

from becomingone_core.health import ERROR, OK
from becomingone_core.mesh import PeerTable, PeerUpdate, ROLE_FULL, ROLE_LIGHT
from becomingone_core.nodes.mesh_node import MeshNode, message_from_update
from becomingone_core.nodes.sync_node import SyncNode
from becomingone_core.testing.processes import isolated_ros_env
from becomingone_core.testing.ros import RosProbe
from becomingone_msgs.msg import Resonance
import pytest
from rclpy.parameter import Parameter


def _peer(node_id, role, now_s, sequence, t=0.95):
    return PeerUpdate(node_id=node_id, host=f'{node_id}-host', role=role, weight=1.0,
                      t=complex(t, 0.0), coherence=t * t, collapsed=True, sequence=sequence,
                      stamp_s=now_s)


def test_the_slow_scale_combines_live_full_cells_only():
    table = PeerTable()
    table.offer(_peer('full1', ROLE_FULL, 10.0, 1, t=0.9), 10.0)
    table.offer(_peer('full2', ROLE_FULL, 10.0, 1, t=0.7), 10.0)
    table.offer(_peer('light2', ROLE_LIGHT, 10.0, 1, t=-0.9), 10.0)
    t, contributors = table.slow_scale(10.0)
    assert contributors == 2 and t == pytest.approx(0.8)
    assert table.slow_scale(20.0) == (0j, 0)  # both dead: nothing to lean on


@pytest.fixture
def light_host():
    with RosProbe(isolated_ros_env()) as probe:
        mesh = MeshNode(context=probe.context, parameter_overrides=[
            Parameter('node_id', value='light1'), Parameter('role', value='light')])
        sync = SyncNode(context=probe.context)
        slow, states = [], []
        mesh._slow_publisher.publish = slow.append
        sync._publisher.publish = states.append
        yield probe, mesh, sync, slow, states
        mesh.destroy_node()
        sync.destroy_node()


def _callback(node, suffix):
    return next(s.callback for s in node.subscriptions if s.topic_name.endswith(suffix))


def _emissary(sync, value):
    message = Resonance(summary_real=value, summary_coherence=value * value)
    message.header.stamp = sync.get_clock().now().to_msg()
    _callback(sync, 'emissary/resonance')(message)


def test_a_light_cell_collapses_with_the_mesh_and_releases_on_noise(light_host):
    probe, mesh, sync, slow, states = light_host
    on_peer, on_master = _callback(mesh, 'mesh/peers'), _callback(sync, 'master/resonance')
    for sequence in (1, 2, 3):
        now = mesh._now()
        for node_id in ('full1', 'full2'):
            on_peer(message_from_update(_peer(node_id, ROLE_FULL, now, sequence)))
        mesh._tick()
        on_master(slow[-1])
        _emissary(sync, 0.95)
    assert slow[-1].summary_real == pytest.approx(0.95) and slow[-1].samples == 2
    assert states[-1].collapsed, 'its Emissary agrees with the mesh: collapsed'
    assert mesh._slow_scale_status().level == OK
    _emissary(sync, 0.05)  # noise on the light cell's own input
    _emissary(sync, 0.05)
    assert not states[-1].collapsed


def test_with_no_full_cell_alive_a_light_cell_never_collapses_and_says_why(light_host):
    probe, mesh, sync, slow, states = light_host
    mesh._tick()
    assert slow == [], 'no slow scale is invented'
    status = mesh._slow_scale_status()
    assert status.level == ERROR and 'cannot collapse' in status.message
    for _ in range(5):
        _emissary(sync, 1.0)
    assert not any(s.collapsed for s in states)
    assert max(s.coherence for s in states) <= 0.25 + 1e-9


def test_a_borrowed_slow_scale_does_not_collapse_a_light_cell_on_noise(light_host):
    # Regression: with the mesh's T near 1 as Master, an Emissary at |T_e| = 0.45 (white noise
    # reaches that) gave |T_sync|^2 = 0.53 >= I_c: the light cell collapsed on noise.
    probe, mesh, sync, slow, states = light_host
    on_peer, on_master = _callback(mesh, 'mesh/peers'), _callback(sync, 'master/resonance')
    for sequence in (1, 2, 3):
        now = mesh._now()
        for node_id in ('full1', 'full2'):
            on_peer(message_from_update(_peer(node_id, ROLE_FULL, now, sequence, t=1.0)))
        mesh._tick()
        on_master(slow[-1])
        _emissary(sync, 0.45)
    assert sync.layer.borrowed_master
    assert states[-1].coherence >= 0.5 and not any(s.collapsed for s in states)
    _emissary(sync, 0.95)  # the cell's own input turns coherent: it collapses
    assert states[-1].collapsed
    _emissary(sync, 0.5)  # |T_e|^2 = 0.25 < I_c - hysteresis: released, T_sync alone or not
    assert not states[-1].collapsed
