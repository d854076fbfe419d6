"""The peer table under hostile input: bounded memory, eviction rules, ranges of every field."""

from dataclasses import replace
import math

from becomingone_core import mesh
from becomingone_core.input_rules import MAX_NAME_LENGTH
from becomingone_core.mesh import MeshConfig, PeerTable, PeerUpdate
from hypothesis import given, settings, strategies as st
import pytest


def update(node_id, stamp_s, sequence=1, host=None, t=0.6 + 0j, weight=1.0):
    return PeerUpdate(node_id=node_id, host=host or f'host-{node_id}', role=mesh.ROLE_FULL,
                      weight=weight, t=t, coherence=abs(t) ** 2, collapsed=False,
                      sequence=sequence, stamp_s=stamp_s)


def assert_bounded(table):
    """Every container the table keeps is within max_peers (claims per id within their cap)."""
    limit = table.config.max_peers
    containers = {name: value for name, value in vars(table).items()
                  if isinstance(value, (dict, list, set))}
    assert {'peers', 'conflicts', 'rejections'} <= set(containers)
    assert set(containers.pop('rejections')) <= set(mesh.REJECTIONS)  # keyed by reason
    for name, value in containers.items():
        assert len(value) <= limit, name
    for claims in table.conflicts.values():
        assert len(claims) <= mesh.MAX_CLAIMS_PER_ID


def test_a_flood_of_fresh_ids_fills_the_table_to_max_peers_and_the_real_peer_stays():
    table = PeerTable(MeshConfig())
    limit = table.config.max_peers
    assert limit == 256
    now, sequence = 1000.0, 1
    assert table.offer(update('real', now, sequence), now) == mesh.ACCEPTED
    verdicts = []
    for i in range(20_000):
        now += 5e-5  # the whole flood inside one second: every flooding id stays alive
        verdicts.append(table.offer(update(f'flood-{i}', now), now))
        if i % 100 == 0:
            sequence += 1
            # The real peer is known, so it is never table_full and keeps being accepted ...
            assert table.offer(update('real', now, sequence), now) == mesh.ACCEPTED
            # ... and alive, contributing, however full the table is.
            state = table.aggregate(now)
            assert state.peers_alive == len(table.peers) <= limit
            assert table.peers['real'].alive and table.peers['real'].update.sequence == sequence
            assert_bounded(table)
    assert verdicts.count(mesh.ACCEPTED) == limit - 1
    assert verdicts.count(mesh.TABLE_FULL) == 20_000 - (limit - 1)
    assert table.rejections == {mesh.TABLE_FULL: 20_000 - (limit - 1)}
    assert len(table.view(now)) == limit


def test_dead_peers_are_evicted_oldest_first_and_live_peers_never():
    table = PeerTable(MeshConfig(max_peers=3, timeout_s=2.0, max_update_age_s=10.0))
    for node_id, now in (('a', 100.0), ('b', 100.5), ('c', 101.0)):
        assert table.offer(update(node_id, now), now) == mesh.ACCEPTED
    # All three alive: a newcomer is refused, nobody is pushed out.
    assert table.offer(update('d', 101.5), 101.5) == mesh.TABLE_FULL
    assert set(table.peers) == {'a', 'b', 'c'}
    # At 102.8 a (2.8 s) and b (2.3 s) are dead, c (1.8 s) is alive.
    assert table.offer(update('d', 102.8), 102.8) == mesh.ACCEPTED
    assert set(table.peers) == {'b', 'c', 'd'}  # a, heard longest ago, went first
    assert table.offer(update('e', 102.8), 102.8) == mesh.ACCEPTED
    assert set(table.peers) == {'c', 'd', 'e'}
    assert table.offer(update('f', 102.8), 102.8) == mesh.TABLE_FULL
    assert set(table.peers) == {'c', 'd', 'e'}
    assert table.rejections == {mesh.TABLE_FULL: 2}
    # A known peer is never table_full: c is heard again; an evicted id may return once room
    # is made, as a newcomer.
    assert table.offer(update('c', 102.9, sequence=2), 102.9) == mesh.ACCEPTED
    assert table.offer(update('a', 105.0, sequence=7), 105.0) == mesh.ACCEPTED
    assert 'a' in table.peers and len(table.peers) == 3


def test_a_peer_dying_after_a_full_table_refused_a_newcomer_makes_room_again():
    # The O(1) refusal of a full table must not outlive the moment a peer dies.
    table = PeerTable(MeshConfig(max_peers=2, timeout_s=1.0, max_update_age_s=100.0))
    table.offer(update('a', 100.0), 100.0)
    table.offer(update('b', 100.4), 100.4)
    for now in (100.5, 100.9, 101.0):
        assert table.offer(update('c', now), now) == mesh.TABLE_FULL
    assert table.offer(update('c', 101.01), 101.01) == mesh.ACCEPTED  # a is 1.01 s old
    assert set(table.peers) == {'b', 'c'}


def test_the_own_cell_keeps_its_slot_and_nobody_else_may_speak_for_it():
    table = PeerTable(MeshConfig(max_peers=2, timeout_s=1.0, max_update_age_s=100.0))
    assert table.offer(update('me', 100.0, sequence=10), 100.0, local=True) == mesh.ACCEPTED
    assert table.offer(update('x', 100.0), 100.0) == mesh.ACCEPTED
    # An impostor on our host with a higher sequence, and another host claiming our id.
    assert table.offer(update('me', 100.1, sequence=2**62, t=-1.0 + 0j), 100.1) == \
        mesh.ID_CONFLICT
    assert table.offer(update('me', 100.1, host='evil', sequence=11), 100.1) == \
        mesh.ID_CONFLICT
    assert table.peers['me'].update.sequence == 10
    assert set(table.conflicts['me']) == {'host-me', 'evil'}
    # The own cell stalled past the timeout (dead) is still never evicted by newcomers.
    assert table.offer(update('y', 110.0), 110.0) == mesh.ACCEPTED
    assert set(table.peers) == {'me', 'y'}
    assert table.offer(update('z', 110.0), 110.0) == mesh.TABLE_FULL
    table.aggregate(1e6)  # long past forget_after_s: the others go, the own cell stays
    assert set(table.peers) == {'me'}
    # Its own next state is admitted whatever its sequence.
    assert table.offer(update('me', 1e6, sequence=11), 1e6, local=True) == mesh.ACCEPTED


def test_claims_on_one_id_are_bounded_and_keep_the_incumbent():
    table = PeerTable(MeshConfig(max_update_age_s=100.0))
    table.offer(update('a', 100.0, host='owner'), 100.0)
    for i in range(1000):
        assert table.offer(update('a', 100.0, host=f'claimant-{i}'), 100.0 + i * 1e-4) == \
            mesh.ID_CONFLICT
    claims = table.conflicts['a']
    assert len(claims) == mesh.MAX_CLAIMS_PER_ID and 'owner' in claims
    assert 'claimant-999' in claims and 'claimant-0' not in claims
    assert table.peers['a'].update.host == 'owner'


def test_max_peers_is_checked():
    with pytest.raises(ValueError, match="'max_peers'"):
        MeshConfig(max_peers=0)
    with pytest.raises(ValueError, match="'max_peers'"):
        MeshConfig(max_peers=10_001)
    with pytest.raises(ValueError, match="'min_peers'"):
        MeshConfig(max_peers=2, min_peers=3)


# -- Property: arbitrary updates, in range or not ------------------------------------------
NOW = 1_700_000_000.0
any_float = st.one_of(st.floats(), st.sampled_from([0.0, 1.0, -1.0, 1 + 1e-9, 1 + 1e-6,
                                                    1e308, 5e-324, math.inf, math.nan]))
names = st.one_of(st.sampled_from(['a', 'b', 'c', 'd', 'e', 'f', '', 'x' * MAX_NAME_LENGTH,
                                   'y' * (MAX_NAME_LENGTH + 1), 'z' * 100_000]),
                  st.text(max_size=3))
unit_t = st.builds(complex, st.floats(-0.7, 0.7), st.floats(-0.7, 0.7))
in_range = st.builds(
    PeerUpdate, node_id=st.sampled_from('abcdef'), host=st.sampled_from(['h1', 'h2']),
    role=st.integers(0, 3), weight=st.floats(0, 20), t=unit_t, coherence=st.floats(0, 1),
    collapsed=st.booleans(), sequence=st.integers(0, 50), stamp_s=st.floats(NOW - 3, NOW + 1))
#: Per field, values the wire allows but the rule may not (and some it does).
hostile_fields = {
    'node_id': names, 'host': st.one_of(names, st.sampled_from(['q' * 300])),
    'role': st.integers(-10, 300), 'weight': any_float,
    't': st.builds(complex, any_float, any_float), 'coherence': any_float,
    'sequence': st.integers(-2**64, 2**65), 'stamp_s': any_float,
}


@st.composite
def updates(draw):
    """Draw an in-range update with none, one or several fields replaced by hostile values."""
    spoiled = draw(st.lists(st.sampled_from(sorted(hostile_fields)), max_size=3, unique=True))
    return replace(draw(in_range), **{name: draw(hostile_fields[name]) for name in spoiled})


steps = st.lists(st.tuples(updates(), st.floats(0.0, 1.5)), max_size=40)


@settings(max_examples=300, deadline=None)
@given(steps=steps, aggregation=st.sampled_from(mesh.AGGREGATIONS),
       max_peers=st.integers(1, 5))
def test_any_update_is_admitted_or_refused_for_a_known_reason_and_the_mesh_stays_in_range(
        steps, aggregation, max_peers):
    table = PeerTable(MeshConfig(aggregation=aggregation, max_peers=max_peers, timeout_s=1.0,
                                 forget_after_s=3.0))
    now, refused = NOW, 0
    for candidate, elapsed in steps:
        now += elapsed
        if abs(candidate.stamp_s - NOW) < 10:  # drawn as recent: keep it recent as time passes
            candidate = replace(candidate, stamp_s=candidate.stamp_s + (now - NOW))
        verdict = table.offer(candidate, now)
        assert verdict == mesh.ACCEPTED or verdict in mesh.REJECTIONS
        refused += verdict != mesh.ACCEPTED
        if verdict == mesh.ACCEPTED:
            assert table.peers[candidate.node_id].update == candidate
        state = table.aggregate(now)
        assert abs(state.t) <= 1 + 1e-9
        assert -1e-9 <= state.coherence <= 1 + 1e-9
        assert math.isfinite(state.total_weight) and state.total_weight >= 0
        assert state.peers_alive + state.peers_dead == len(table.peers) <= max_peers
        assert_bounded(table)
    assert sum(table.rejections.values()) == refused
    for peer in table.peers.values():
        mesh.validate(peer.update)  # only in-range updates ever enter
