"""The peer table: admission, liveness, id conflicts, aggregation and its robustness bound."""

import cmath
import dataclasses

from becomingone_core import mesh
from becomingone_core.mesh import MeshConfig, PeerTable, PeerUpdate
from hypothesis import given, settings, strategies as st
import numpy as np
import pytest


def update(node_id='a', t=0.9 + 0j, coherence=None, sequence=1, stamp_s=100.0, weight=1.0,
           host=None, role=mesh.ROLE_FULL, collapsed=True):
    return PeerUpdate(node_id=node_id, host=host or f'host-{node_id}', role=role, weight=weight,
                      t=t, coherence=abs(t) ** 2 if coherence is None else coherence,
                      collapsed=collapsed, sequence=sequence, stamp_s=stamp_s)


def table(**config):
    return PeerTable(MeshConfig(**config))


def test_weighted_mean_of_live_peers():
    peers = table()
    assert peers.offer(update('a', 1.0 + 0j, weight=3.0), 100.0) == mesh.ACCEPTED
    assert peers.offer(update('b', 1j, weight=1.0), 100.0) == mesh.ACCEPTED
    state = peers.aggregate(100.0)
    assert state.t == pytest.approx(0.75 + 0.25j)
    assert state.coherence == pytest.approx(1.0)
    assert (state.peers_alive, state.peers_dead, state.contributors) == (2, 0, 2)


def test_emergence_threshold_with_hysteresis():
    peers = table(emergence_threshold=0.75, emergence_hysteresis=0.05)
    sequence = iter(range(1, 100))

    def emerged_at(coherence):
        peers.offer(update('a', coherence ** 0.5, sequence=next(sequence)), 100.0)
        return peers.aggregate(100.0).emerged

    assert not emerged_at(0.74)
    assert emerged_at(0.76)
    assert emerged_at(0.71)  # within the hysteresis band: still emerged
    assert not emerged_at(0.69)
    assert not emerged_at(0.74)


def test_min_peers_gates_emergence():
    peers = table(min_peers=2)
    peers.offer(update('a'), 100.0)
    assert not peers.aggregate(100.0).emerged
    peers.offer(update('b'), 100.0)
    assert peers.aggregate(100.0).emerged


def test_peer_dies_after_timeout_and_t_global_reforms_from_the_rest():
    peers = table(timeout_s=2.0, max_update_age_s=100.0)
    peers.offer(update('a', 1.0 + 0j), 100.0)
    peers.offer(update('b', -1.0 + 0j), 100.0)
    assert peers.aggregate(101.0).t == pytest.approx(0j)
    peers.offer(update('a', 1.0 + 0j, sequence=2, stamp_s=101.5), 101.5)
    state = peers.aggregate(102.5)
    assert (state.peers_alive, state.peers_dead) == (1, 1)
    assert state.t == pytest.approx(1.0 + 0j)
    assert [alive for _, _, alive in peers.view(102.5)] == [True, False]


def test_dead_peers_are_forgotten_and_may_restart_their_sequence():
    peers = table(timeout_s=1.0, forget_after_s=5.0, max_update_age_s=100.0)
    peers.offer(update('a', sequence=50), 100.0)
    peers.aggregate(102.0)
    assert peers.offer(update('a', sequence=1, stamp_s=102.0), 102.0) == mesh.ACCEPTED
    peers.aggregate(110.0)
    assert peers.peers == {}


def test_no_contributors_gives_zero_and_no_emergence():
    peers = table()
    peers.offer(update('relay', role=mesh.ROLE_RELAY), 100.0)
    peers.offer(update('idle', weight=0.0), 100.0)
    state = peers.aggregate(100.0)
    assert (state.t, state.coherence, state.emerged, state.contributors) == (0j, 0.0, False, 0)
    assert state.peers_alive == 2


@pytest.mark.parametrize('bad, reason', [
    (update(t=complex('nan')), mesh.NON_FINITE),
    (update(weight=float('inf')), mesh.NON_FINITE),
    (update(coherence=float('nan')), mesh.NON_FINITE),
    (update(weight=-1.0), mesh.OUT_OF_RANGE),
    (update(t=1.5 + 0j, coherence=1.0), mesh.OUT_OF_RANGE),
    (update(t=1e308 + 0j, coherence=1.0), mesh.OUT_OF_RANGE),
    (update(coherence=1.2), mesh.OUT_OF_RANGE),
    (update(node_id=''), mesh.OUT_OF_RANGE),
    (update(role=9), mesh.OUT_OF_RANGE),
    (update(sequence=-1), mesh.OUT_OF_RANGE),
    (update(sequence=2**63), mesh.OUT_OF_RANGE),
    (update(sequence=2**64 - 1), mesh.OUT_OF_RANGE),
    (update(node_id='x' * 100_000), mesh.TOO_LONG),
    (update(host='h' * 257), mesh.TOO_LONG),
    (update(stamp_s=float('nan')), mesh.BAD_STAMP),
    (update(stamp_s=-1.0), mesh.BAD_STAMP),
    (update(stamp_s=101.0), mesh.FUTURE),
    (update(stamp_s=1e300), mesh.FUTURE),
    (update(stamp_s=90.0), mesh.STALE),
])
def test_malformed_future_and_stale_updates_are_rejected_and_counted(bad, reason):
    peers = table(max_clock_skew_s=0.5, max_update_age_s=2.0)
    assert peers.offer(bad, 100.0) == reason
    assert peers.rejections == {reason: 1}
    assert peers.peers == {}


def test_duplicates_replays_and_time_going_backwards_are_rejected():
    peers = table(max_update_age_s=10.0)
    first = update(sequence=10, stamp_s=100.0)
    assert peers.offer(first, 100.0) == mesh.ACCEPTED
    assert peers.offer(first, 100.1) == mesh.DUPLICATE
    assert peers.offer(update(sequence=10, t=0.1 + 0j), 100.1) == mesh.REPLAY
    assert peers.offer(update(sequence=9, stamp_s=99.9), 100.1) == mesh.REPLAY
    assert peers.offer(update(sequence=11, stamp_s=99.0), 100.1) == mesh.STALE
    assert peers.offer(update(sequence=11, stamp_s=100.1), 100.1) == mesh.ACCEPTED
    assert peers.rejections == {mesh.DUPLICATE: 1, mesh.REPLAY: 2, mesh.STALE: 1}
    assert peers.peers['a'].update.sequence == 11


def test_an_id_claimed_by_two_hosts_is_reported_and_the_incumbent_kept():
    peers = table(timeout_s=2.0, max_update_age_s=100.0)
    peers.offer(update('a', 1.0 + 0j, host='pi-1'), 100.0)
    assert peers.offer(update('a', -1.0 + 0j, host='pi-2', sequence=5), 100.5) == \
        mesh.ID_CONFLICT
    peers.refresh(100.5)
    assert set(peers.conflicts['a']) == {'pi-1', 'pi-2'}
    assert peers.peers['a'].update.host == 'pi-1'
    # Once the incumbent is silent past the timeout, the other host may take the id over ...
    assert peers.offer(update('a', -1.0 + 0j, host='pi-2', sequence=6, stamp_s=103.0),
                       103.0) == mesh.ACCEPTED
    # ... and the conflict report expires when only one host still claims it.
    peers.refresh(105.5)
    assert peers.conflicts == {}


def test_weights_are_clipped_so_no_peer_claims_the_whole_mesh():
    peers = table(max_weight=2.0)
    peers.offer(update('a', 1.0 + 0j, weight=1e6), 100.0)
    peers.offer(update('b', -1.0 + 0j, weight=2.0), 100.0)
    assert peers.aggregate(100.0).t == pytest.approx(0j)


def test_weighted_median_and_trimmed_mean_on_known_values():
    values, weights = np.array([5.0, 1.0, 3.0, 100.0]), np.ones(4)
    assert mesh.weighted_median(values, weights) == pytest.approx(4.0)
    assert mesh.weighted_median(np.array([1.0, 2.0, 9.0]), np.array([1.0, 1.0, 3.0])) == 9.0
    assert mesh.trimmed_mean(values, weights, 0.25) == pytest.approx(4.0)
    assert mesh.trimmed_mean(values, weights, 0.0) == pytest.approx(27.25)
    # A weight straddling a cut contributes only its inner part: cut 1.0 of 4.0 from each tail.
    assert mesh.trimmed_mean(np.array([0.0, 10.0]), np.array([2.0, 2.0]), 0.25) == \
        pytest.approx(5.0)
    with pytest.raises(ValueError):
        mesh.combine(values, weights, 'mode')


def test_invalid_configuration_names_the_field():
    with pytest.raises(ValueError, match="'trim_fraction'"):
        MeshConfig(trim_fraction=0.5)
    with pytest.raises(ValueError, match="'forget_after_s'"):
        MeshConfig(timeout_s=10.0, forget_after_s=1.0)


# -- The robustness bound --------------------------------------------------------------------
unit_complex = st.builds(cmath.rect, st.floats(0.0, 1.0), st.floats(-np.pi, np.pi))


def _global(updates, aggregation, **config):
    peers = table(aggregation=aggregation, **config)
    for u in updates:
        assert peers.offer(u, 100.0) == mesh.ACCEPTED
    return peers.aggregate(100.0)


@settings(max_examples=200, deadline=None)
@given(honest=st.lists(st.tuples(unit_complex, st.floats(0.5, 2.0)), min_size=3, max_size=12),
       lie=unit_complex, lie_weight=st.floats(0.0, 1e9))
def test_weighted_mean_moves_at_most_two_clipped_weights_over_the_total(honest, lie, lie_weight):
    updates = [update(f'h{i}', t, weight=w) for i, (t, w) in enumerate(honest)]
    truth = _global(updates, 'weighted_mean', max_weight=2.0)
    lied = _global(updates + [update('liar', lie, weight=lie_weight)], 'weighted_mean',
                   max_weight=2.0)
    liar_weight = min(lie_weight, 2.0)
    bound = mesh.weighted_mean_bound(liar_weight, truth.total_weight + liar_weight)
    assert abs(lied.t - truth.t) <= bound + 1e-9


@settings(max_examples=200, deadline=None)
@given(honest=st.lists(st.tuples(unit_complex, st.floats(0.5, 2.0)), min_size=3, max_size=12),
       lies=st.lists(unit_complex, min_size=1, max_size=3),
       aggregation=st.sampled_from(['trimmed_mean', 'median']))
def test_robust_modes_stay_within_the_honest_range_while_liars_hold_a_small_share(
        honest, lies, aggregation):
    updates = [update(f'h{i}', t, weight=w) for i, (t, w) in enumerate(honest)]
    honest_weight = sum(w for _, w in honest)
    # Give the liars together exactly the tolerated share of the total weight.
    fraction = 0.3
    share = fraction if aggregation == 'trimmed_mean' else 0.49
    lie_weight = share * honest_weight / (1 - share) / len(lies)
    liars = [update(f'liar{i}', t, coherence=1.0 - abs(t) ** 2, weight=lie_weight)
             for i, t in enumerate(lies)]
    state = _global(updates + liars, aggregation, trim_fraction=fraction, max_weight=1e9)
    for coordinate, of in ((state.t.real, lambda u: u.t.real), (state.t.imag, lambda u: u.t.imag),
                           (state.coherence, lambda u: u.coherence)):
        values = [of(u) for u in updates]
        assert min(values) - 1e-9 <= coordinate <= max(values) + 1e-9


def test_one_liar_barely_moves_a_converged_mesh_in_robust_mode_but_shifts_the_mean():
    honest = [update(f'h{i}', 0.9 * cmath.exp(1j * 0.01 * i)) for i in range(4)]
    liar = dataclasses.replace(honest[0], node_id='liar', host='evil', t=-1.0 + 0j,
                               coherence=1.0)
    truth = _global(honest, 'trimmed_mean', trim_fraction=0.25)
    robust = _global(honest + [liar], 'trimmed_mean', trim_fraction=0.25)
    plain = _global(honest + [liar], 'weighted_mean')
    assert abs(robust.t - truth.t) < 0.03
    assert abs(plain.t - truth.t) > 0.3


@pytest.mark.parametrize('node_id, namespace', [
    ('pi1', 'pi1'), ('7', 'h7'), ('3f9c1a2b', 'h3f9c1a2b'), ('cell-a', 'cell_a'),
    ('Küche', 'K_che'), ('', 'h'), ('_x', '_x')])
def test_any_node_id_gives_a_valid_namespace(node_id, namespace):
    assert mesh.namespace_for(node_id) == namespace
