"""The mesh node in process, fed hostile messages through its real subscription callbacks."""

from becomingone_core import input_rules, mesh
from becomingone_core.mesh import PEERS_TOPIC, PeerUpdate, ROLE_FULL
from becomingone_core.nodes.mesh_node import MeshNode, message_from_update
from becomingone_core.ros.qos import STATE_QOS
from becomingone_core.testing import hostile
from becomingone_core.testing.processes import isolated_ros_env
from becomingone_core.testing.ros import RosProbe
from becomingone_msgs.msg import EStopCommand, MeshState, PeerState, SyncState
from hypothesis import given, HealthCheck, settings, strategies as st
import pytest
from rclpy.parameter import Parameter

# A long timeout: a flood taking a few seconds of wall time must not let early flooders die
# (dead peers are evicted, which the pure table tests cover).
PARAMETERS = {'node_id': 'cell_a', 'host': 'host-a', 'timeout_s': 60.0,
              'forget_after_s': 120.0, 'publish_rate_hz': 10.0}


class CleanPeer:
    """A well-behaved peer 'clean' whose states go straight into the node's callback."""

    def __init__(self, node):
        self.node, self.sequence = node, 0

    def feed(self, callback):
        self.sequence += 1
        now = self.node.get_clock().now().nanoseconds * 1e-9
        callback(message_from_update(PeerUpdate(
            node_id='clean', host='host-clean', role=ROLE_FULL, weight=1.0, t=0.5j,
            coherence=0.25, collapsed=False, sequence=self.sequence, stamp_s=now)))


class Running(tuple):
    """(probe, node, received MeshStates), with a short repr for hypothesis' reports."""

    def __repr__(self):
        return f'<mesh node in process, {len(self[2])} states received>'


@pytest.fixture(scope='module')
def running():
    with RosProbe(isolated_ros_env()) as probe:
        node = MeshNode(context=probe.context, parameter_overrides=[
            Parameter(name, value=value) for name, value in PARAMETERS.items()])
        try:
            yield Running((probe, node, probe.collect(MeshState, '/mesh/state', STATE_QOS)))
        finally:
            node.destroy_node()


def callbacks(node):
    return {sub.topic_name: sub.callback for sub in node.subscriptions}


def next_state(probe, node, states):
    """Run the node's tick and return the MeshState it published (received over DDS)."""
    seen = len(states)
    node._tick()
    assert probe.spin_until(lambda: len(states) > seen, timeout_s=10)
    return states[-1]


def listed_alive(state, node_id):
    return [s.alive for s in state.peers if s.state.node_id == node_id] == [True]


def test_the_node_subscribes_to_what_the_hostile_test_covers(running):
    _, node, _ = running
    assert {(sub.topic_name, sub.msg_type) for sub in node.subscriptions} == {
        ('/sync/state', SyncState), (PEERS_TOPIC, PeerState),
        (mesh.ESTOP_TOPIC, EStopCommand)}


def test_a_flood_of_fresh_ids_through_the_callback_is_capped_and_the_clean_peer_stays(running):
    probe, node, states = running
    on_peer = callbacks(node)[PEERS_TOPIC]
    clean = CleanPeer(node)
    clean.feed(on_peer)
    limit = node._config.max_peers
    assert limit == 256
    before = node._rejections.counts[mesh.TABLE_FULL]
    sequence = 0
    for batch in range(40):
        now = node.get_clock().now().nanoseconds * 1e-9
        for i in range(500):
            sequence += 1
            on_peer(message_from_update(PeerUpdate(
                node_id=f'flood-{batch}-{i}', host='flooder', role=ROLE_FULL, weight=10.0,
                t=-1.0 + 0j, coherence=1.0, collapsed=True, sequence=sequence, stamp_s=now)))
        clean.feed(on_peer)
        assert node._table.peers['clean'].update.sequence == clean.sequence
    # The own cell and the clean peer hold two slots; the flood got the rest, no more.
    flooders = [i for i in node._table.peers if i.startswith('flood-')]
    assert len(flooders) == limit - 2
    assert node._rejections.counts[mesh.TABLE_FULL] - before == 20_000 - (limit - 2)
    state = next_state(probe, node, states)
    assert len(state.peers) == state.peers_alive == limit
    assert listed_alive(state, 'clean') and listed_alive(state, 'cell_a')
    node._markers(node._last_global, node._now())
    for name in ('_marker_ids', '_alive'):
        assert len(getattr(node, name)) <= limit, name
    assert len(node._table.peers) <= limit and len(node._table.conflicts) <= limit
    assert len(node._sent) <= node._sent.maxlen


def test_a_bad_stamp_is_refused_not_wrapped_into_another_time(running):
    _, node, _ = running
    on_peer = callbacks(node)[PEERS_TOPIC]
    message = message_from_update(PeerUpdate(
        node_id='wrapped', host='h', role=ROLE_FULL, weight=1.0, t=0j, coherence=0.0,
        collapsed=False, sequence=1, stamp_s=0.0))
    now = node.get_clock().now()
    # sec one second early plus 1e9 ns would read as "now" if simply added up.
    message.header.stamp.sec = now.seconds_nanoseconds()[0] - 1
    message.header.stamp.nanosec = 1_000_000_000 + now.seconds_nanoseconds()[1]
    before = node._rejections.counts[mesh.BAD_STAMP]
    on_peer(message)
    assert node._rejections.counts[mesh.BAD_STAMP] == before + 1
    assert 'wrapped' not in node._table.peers


def _counts(node):
    return dict(node._rejections.counts), dict(node._sync_rejections.counts)


def _expect_one_more_or_accepted(before, after, known):
    """Return the reason counted for one message (None if none was), checking it is known."""
    grown = {r: n - before.get(r, 0) for r, n in after.items() if n != before.get(r, 0)}
    assert set(grown) <= set(known) and sum(grown.values()) <= 1, grown
    return next(iter(grown), None)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_hostile_messages_on_every_subscription_never_raise_and_are_counted(running, data):
    probe, node, states = running
    clean = CleanPeer(node)
    clean.sequence = node._table.peers['clean'].update.sequence \
        if 'clean' in node._table.peers else 0
    for sub in node.subscriptions:
        message = data.draw(hostile.messages(sub.msg_type), label=sub.topic_name)
        peers_before, sync_before = _counts(node)
        sync_seen = node._sync_monitor.last_seen
        # Strict callbacks: any exception escaping the guard fails the test here.
        sub.callback(message)
        peers_after, sync_after = _counts(node)
        if sub.msg_type is PeerState:
            assert sync_after == sync_before
            reason = _expect_one_more_or_accepted(peers_before, peers_after, mesh.REJECTIONS)
            if reason is None and message.node_id != 'cell_a':
                # Not refused, so admitted as it is (converted with its valid stamp).
                stored = node._table.peers[message.node_id].update
                assert (stored.sequence, stored.weight) == (message.sequence, message.weight)
        elif sub.msg_type is SyncState:
            assert peers_after == peers_before
            reason = _expect_one_more_or_accepted(sync_before, sync_after,
                                                  input_rules.REASONS)
            if reason is None:
                assert node._sync_monitor.last_seen != sync_seen
                t, coherence, _ = node._sync
                assert abs(t) <= 1 + 1e-9 and 0 <= coherence <= 1
        elif sub.msg_type is EStopCommand:
            # Counted either way: admitted (an open mesh) and ordered, or refused by reason.
            assert (peers_after, sync_after) == (peers_before, sync_before)
            assert set(node._estop_rejections.counts) <= set(input_rules.REASONS) | {
                'replay', 'future', 'too_many_sources'}
    assert node.internal_errors == 0
    clean.feed(callbacks(node)[PEERS_TOPIC])
    state = next_state(probe, node, states)
    assert listed_alive(state, 'clean') and listed_alive(state, 'cell_a')
    assert len(state.peers) <= node._config.max_peers
    input_rules.check_mesh_state(state)  # what the node publishes is itself in range
