"""
The kernel on the stamps users have, against the numpy oracle.

Lags on the sample grid with stamps that are uniform only to rounding (float
rates, ROS nanosecond stamps on the epoch) put t_n - tau within rounding of a
stored stamp, on either side: the straddle fast path must pick the exact
bracket there (no tolerance), so the result matches the definition at 1e-9
like everywhere else; and the choice of path must never make the state depend
on how samples were split into calls, read, or restored.
"""

import becomingone_cpp
from becomingone_cpp import ResonanceBank
import numpy as np
import pytest

kairos_reference = pytest.importorskip('becomingone_core.kairos_reference')


def _stamps(kind, n, seed=0):
    if kind == 'float':
        return np.arange(n) / 1000.0
    if kind == 'ros-ns':
        return (1_700_000_000_123_456_789 + np.arange(n, dtype=np.int64) * 1_000_000) / 1e9
    if kind == 'float-500':
        return 3.0 + np.arange(n) / 500.0
    if kind == 'jitter':
        return 100.0 + np.cumsum(np.random.default_rng(seed).uniform(0.9, 1.1, n)) / 1000.0
    raise ValueError(kind)


def _phase(t, channels, seed=3):
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((len(t), channels)) + 1j * rng.standard_normal((len(t), channels))
    return (np.exp(1j * (2 * np.pi * 7.0 * (t - t[0]))[:, None] + np.arange(channels))
            + np.cumsum(0.02 * noise, axis=0))


def _grid_lags(kind, k=24):
    dt = 1.0 / 500 if kind == 'float-500' else 1.0 / 1000
    return np.unique(np.concatenate([[0.0, dt], np.arange(1, k) * 7 * dt, [0.2]]))


def _close(got, want, rtol):
    scale = np.max(np.abs(want))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * 1e-3 * scale)


@pytest.mark.parametrize('kind', ['float', 'ros-ns', 'float-500', 'jitter'])
@pytest.mark.parametrize('channels', [1, 3])
def test_grid_lags_match_the_oracle(kind, channels):
    t = _stamps(kind, 900)
    phase = _phase(t, channels)
    lags = _grid_lags(kind)
    becomingone_cpp._kairos._reset_path_counts()
    bank = ResonanceBank(lags, 0.4, omega=2.5, channels=channels, max_rate=1200.0)
    assert bank.push_block(t, phase) == len(t)
    counts = becomingone_cpp._kairos._path_counts()
    ref = kairos_reference.reference_run(t, phase, lags, 0.4, omega=2.5)
    for got, want in zip(bank.raw(), ref.raw()):
        _close(got, want, 1e-9)
    np.testing.assert_allclose(bank.coherence(), ref.coherence(), atol=1e-9)
    if kind != 'jitter':
        # the stamps this path is for: they must not end up on the scalar path
        # (warm-up blocks aside)
        assert counts['straddle'] > 0
        assert counts['straddle'] + counts['plain'] > 3 * counts['scalar']


@pytest.mark.parametrize('kind', ['float', 'ros-ns', 'jitter', 'float-500'])
@pytest.mark.parametrize('channels', [1, 2])
def test_path_choice_does_not_change_the_state(kind, channels):
    # Reads between blocks run partial blocks on a copy and move the per-lag
    # path hint; splitting, reading and restoring must all give the same bits.
    t = _stamps(kind, 1500, seed=5)
    phase = _phase(t, channels, seed=6)
    lags = _grid_lags(kind)
    kw = dict(omega=3.0, channels=channels, max_rate=1100.0)
    one = ResonanceBank(lags, 0.5, **kw)
    for tn, pn in zip(t, phase):
        one.push(tn, pn)
    many = ResonanceBank(lags, 0.5, **kw)
    for chunk in np.array_split(np.arange(len(t)), [1, 60, 61, 300, 555, 1000, 1201]):
        many.push_block(t[chunk], phase[chunk])
        many.coherence()
    assert one.to_bytes() == many.to_bytes()
    # A restored bank starts with fresh (empty) path hints: restore often.
    restored = ResonanceBank(lags, 0.5, **kw)
    done = 0
    for cut in (130, 400, 700, 777, 1100, len(t)):
        restored.push_block(t[done:cut], phase[done:cut])
        restored = ResonanceBank.from_bytes(restored.to_bytes())
        done = cut
    assert restored.to_bytes() == one.to_bytes()
