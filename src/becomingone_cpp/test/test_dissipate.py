"""
ResonanceBank.dissipate(factor): forget the share 1 - factor of the past at once.

T_k, E0_k and Etau_k of every lag are multiplied by the factor (samples pending in the current
128-block are evaluated first); history, t_0, counters and lag readiness stay.  Checked against
the numpy reference (whose state is scaled the same way) at 1e-9 on irregular multi-channel
streams, for push_block == pushes and for the to_bytes round trip of a dissipated bank.
"""

import math
import pickle

from becomingone_cpp import ResonanceBank
import numpy as np
import pytest

kairos_reference = pytest.importorskip('becomingone_core.kairos_reference')

LAGS = [0.0, 0.004, 0.0123, 0.05, 0.2, 0.41]
# (sample count before the call, factor): mid-block, at and just after block boundaries, twice in
# a row, a no-op and a tiny factor.
DISSIPATIONS = [(1, 0.5), (90, 0.8), (129, 0.3), (256, 0.9), (257, 0.7), (400, 0.6),
                (400, 0.95), (555, 1.0), (601, 1e-3), (777, 0.85)]


def _stream(n, channels, seed):
    rng = np.random.default_rng(seed)
    t = 7.0 + np.cumsum(rng.uniform(0.5, 1.5, n) / 400.0)
    noise = rng.standard_normal((n, channels)) + 1j * rng.standard_normal((n, channels))
    phase = (np.exp(1j * (2 * np.pi * 3.0 * t)[:, None] + np.arange(channels))
             + np.cumsum(0.05 * noise, axis=0))
    return t, phase


def _scale_reference(ref, factor):
    ref.T *= factor
    ref.E0 *= factor
    ref.Etau *= factor


def _assert_close(bank, ref):
    T, E0, Et = bank.raw()
    rT, rE0, rEt = ref.raw()
    scale = max(np.max(np.abs(rT)), 1e-300)
    np.testing.assert_allclose(T, rT, rtol=1e-9, atol=1e-9 * scale)
    np.testing.assert_allclose(E0, rE0, rtol=1e-9, atol=0)
    np.testing.assert_allclose(Et, rEt, rtol=1e-9, atol=0)
    np.testing.assert_allclose(bank.resonance(), ref.resonance(), rtol=0, atol=1e-9)


@pytest.mark.parametrize('channels', [1, 3, 8])
def test_dissipate_matches_the_reference_on_irregular_streams(channels):
    n = 900
    t, phase = _stream(n, channels, seed=channels)
    bank = ResonanceBank(LAGS, 0.5, omega=4.0, channels=channels, max_rate=800.0)
    ref = kairos_reference.KairosReference(LAGS, 0.5, omega=4.0, channels=channels)
    d = 0
    for i in range(n + 1):
        while d < len(DISSIPATIONS) and DISSIPATIONS[d][0] == i:
            factor = DISSIPATIONS[d][1]
            before = bank.raw()
            bank.dissipate(factor)
            _scale_reference(ref, factor)
            # Exactly what a read showed (pending samples included), times the factor.
            for x, y in zip(bank.raw(), before):
                np.testing.assert_array_equal(x, y * factor)
            _assert_close(bank, ref)
            d += 1
        if i == n:
            break
        assert bank.push(t[i], phase[i])
        ref.push(t[i], phase[i])
        if i % 53 == 11:
            _assert_close(bank, ref)
    _assert_close(bank, ref)
    assert bank.samples == n and bank.rejected == 0 and bank.overrun == 0


def test_dissipate_scales_the_past_and_the_next_sample_weighs_more():
    # After dissipate(f) the recursion goes on from f times the state, as if the window had aged
    # by ln(1/f) W at once: E0 <- alpha f E0 + (1 - alpha) |v|^2 for the next sample.
    t, phase = _stream(600, 2, seed=5)
    bank = ResonanceBank([0.0], 0.25, channels=2, max_rate=800.0)
    twin = ResonanceBank([0.0], 0.25, channels=2, max_rate=800.0)
    bank.push_block(t[:500], phase[:500])
    twin.push_block(t[:500], phase[:500])
    _, e0, _ = bank.raw()
    bank.dissipate(0.25)
    assert bank.raw()[1][0] == e0[0] * 0.25
    # gamma is a ratio of the scaled quantities: unchanged to rounding.
    np.testing.assert_allclose(bank.resonance(), twin.resonance(), rtol=0, atol=1e-15)
    bank.push(t[500], phase[500])
    dt = t[500] - t[499]
    v = (phase[500] - phase[499]) / dt
    alpha, oma = math.exp(-dt / 0.25), -math.expm1(-dt / 0.25)
    expected = alpha * 0.25 * e0[0] + oma * float(np.sum(np.abs(v) ** 2))
    assert bank.raw()[1][0] == pytest.approx(expected, rel=1e-13)
    # The new sample's share of E0 is larger than in the bank that kept its past.
    share = oma * float(np.sum(np.abs(v) ** 2))
    twin.push(t[500], phase[500])
    assert share / bank.raw()[1][0] > 3 * share / twin.raw()[1][0]


def test_factor_one_is_a_bitwise_no_op_and_bad_factors_raise():
    t, phase = _stream(300, 2, seed=9)
    a = ResonanceBank(LAGS, 0.5, omega=1.0, channels=2, max_rate=800.0)
    b = ResonanceBank(LAGS, 0.5, omega=1.0, channels=2, max_rate=800.0)
    a.push_block(t[:200], phase[:200])  # 72 samples pending in the block
    b.push_block(t[:200], phase[:200])
    a.dissipate(1.0)
    a.dissipate(1)
    assert a.to_bytes() == b.to_bytes()
    for bad in (0.0, -0.0, -0.5, math.nextafter(1.0, 2.0), 1.5, math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError):
            a.dissipate(bad)
    assert a.to_bytes() == b.to_bytes()
    assert a.rejected == 0
    a.push_block(t[200:], phase[200:])
    b.push_block(t[200:], phase[200:])
    assert a.to_bytes() == b.to_bytes()


def test_history_counters_and_readiness_are_untouched():
    t, phase = _stream(60, 1, seed=2)
    bank = ResonanceBank([0.0, 0.1], 0.5, max_rate=800.0)
    bank.push_block(t[:40], phase[:40])
    assert bank.raw()[1][1] == 0.0  # lag 0.1 s not reached yet (about 0.1 s of stream)
    bank.push(1e9, math.nan)  # one rejected
    counters = (bank.samples, bank.rejected, bank.overrun, bank.history_capacity)
    bank.dissipate(0.5)
    assert (bank.samples, bank.rejected, bank.overrun, bank.history_capacity) == counters
    T, E0, Et = bank.raw()
    assert T[1] == 0 and E0[1] == 0 and Et[1] == 0
    # The lag becomes ready at the same sample as in a bank never dissipated, and the velocity
    # history (the next sample differenced against the last accepted one) is the same.
    twin = ResonanceBank([0.0, 0.1], 0.5, max_rate=800.0)
    twin.push_block(t[:40], phase[:40])
    for i in range(40, 60):
        bank.push(t[i], phase[i])
        twin.push(t[i], phase[i])
        assert (bank.raw()[1][1] > 0) == (twin.raw()[1][1] > 0)
    assert twin.raw()[1][1] > 0
    # Lag 0.1 s had nothing to forget: it is the same as in the twin (to rounding: the blocks
    # are cut differently); lag 0 carries the halved past.
    for x, y in zip(bank.raw(), twin.raw()):
        np.testing.assert_allclose(x[1], y[1], rtol=1e-12)
    assert bank.raw()[1][0] < twin.raw()[1][0]


@pytest.mark.parametrize('channels', [1, 3])
def test_push_block_equals_pushes_and_round_trips_with_dissipation(channels):
    n = 900
    t, phase = _stream(n, channels, seed=20 + channels)
    a = ResonanceBank(LAGS, 0.5, omega=2.0, channels=channels, max_rate=800.0)
    d = 0
    for i in range(n):
        while d < len(DISSIPATIONS) and DISSIPATIONS[d][0] == i:
            a.dissipate(DISSIPATIONS[d][1])
            d += 1
        a.push(t[i], phase[i])
    # b: blocks straddling the dissipation points, reads in between, and a restore (bytes or
    # pickle) right after every dissipation, with pending samples in the block.
    b = ResonanceBank(LAGS, 0.5, omega=2.0, channels=channels, max_rate=800.0)
    i, step, d = 0, 7, 0
    while i < n:
        while d < len(DISSIPATIONS) and DISSIPATIONS[d][0] == i:
            b.dissipate(DISSIPATIONS[d][1])
            b.coherence()
            b = (pickle.loads(pickle.dumps(b)) if d % 2 else
                 ResonanceBank.from_bytes(b.to_bytes()))
            d += 1
        m = min(step, n - i)
        if d < len(DISSIPATIONS):
            m = min(m, DISSIPATIONS[d][0] - i)
        assert b.push_block(t[i:i + m], phase[i:i + m]) == m
        b.raw()
        i += m
        step = step * 2 + 1
    assert a.to_bytes() == b.to_bytes()
    for x, y in zip(a.raw(), b.raw()):
        np.testing.assert_array_equal(x, y)


def test_a_dissipated_bank_with_pending_samples_round_trips():
    t, phase = _stream(700, 2, seed=31)
    a = ResonanceBank(LAGS, 0.5, omega=3.0, channels=2, max_rate=800.0)
    a.push_block(t[:300], phase[:300])
    a.dissipate(0.4)              # mid-block: the first 43 samples of the block are committed
    a.push_block(t[300:350], phase[300:350])  # ... and 50 more are pending after it
    b = ResonanceBank.from_bytes(a.to_bytes())
    assert b.to_bytes() == a.to_bytes()
    for x, y in zip(a.raw(), b.raw()):
        np.testing.assert_array_equal(x, y)
    a.push_block(t[350:], phase[350:])
    for i in range(350, 700):
        b.push(t[i], phase[i])
    assert a.to_bytes() == b.to_bytes()
