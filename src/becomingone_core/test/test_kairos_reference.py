"""becomingone_core.kairos_reference: its own sanity, and the C++ bank held to it."""

import math

from becomingone_core.kairos_reference import KairosReference, reduced_phase, reference_run
import numpy as np
import pytest

RTOL = 1e-9


def _stream(n, channels, rng, irregular=True, t_start=12.5, dt=1.0 / 256):
    if irregular:
        steps = dt * rng.uniform(0.3, 1.7, n)
    else:
        steps = np.full(n, dt)
    t = t_start + np.cumsum(steps)
    noise = rng.standard_normal((n, channels)) + 1j * rng.standard_normal((n, channels))
    walk = np.cumsum(0.05 * noise, axis=0)
    tone = np.exp(1j * (2 * np.pi * 3.0 * t[:, None] + np.arange(channels)[None, :]))
    return t, tone + walk


def _assert_close(actual, expected, rtol=RTOL):
    """Relative per element, with a floor at 1e-6 of the largest entry."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    scale = max(np.max(np.abs(expected)), 1e-300)
    err = np.abs(actual - expected)
    bound = rtol * np.maximum(np.abs(expected), 1e-6 * scale)
    worst = np.max(err / bound)
    assert worst <= 1.0, f'worst error {worst:.3g} x tolerance'


# --- the reference on its own --------------------------------------------------


def test_complex_exponential_is_coherent_with_phase_omega_tau():
    big_omega = 2 * np.pi * 4.0
    lags = [0.0, 0.0101, 0.037, 0.1]
    t = np.arange(3000) / 500.0
    ref = reference_run(t, np.exp(1j * big_omega * t), lags, window=0.5)
    g = ref.resonance()
    np.testing.assert_allclose(np.abs(g) ** 2, 1.0, atol=1e-9)
    err = np.angle(g * np.exp(-1j * big_omega * np.asarray(lags)))
    np.testing.assert_allclose(err, 0.0, atol=2e-3)


def test_white_phase_velocity_decorrelates_at_nonzero_lag():
    rng = np.random.default_rng(3)
    n = 4000
    t = np.arange(n) / 100.0
    phase = np.cumsum(rng.standard_normal(n) + 1j * rng.standard_normal(n))
    ref = reference_run(t, phase, [0.0, 0.05, 0.2], window=20.0)
    coh = ref.coherence()
    assert coh[0] == pytest.approx(1.0)
    assert np.all(coh[1:] < 0.05)


def test_lag_not_updated_until_history_reaches_back():
    dt = 1.0 / 128  # dyadic: stamps and differences are exact
    ref = KairosReference([0.0, 10 * dt], window=1.0)
    for i in range(10):  # velocity stamps dt .. 9 dt: 10 dt not reached
        ref.push(i * dt, complex(i))
    t_vals, e0, et = ref.raw()
    assert e0[0] > 0 and et[0] > 0
    assert t_vals[1] == 0 and e0[1] == 0 and et[1] == 0
    ref.push(10 * dt, 10.0)  # s = 0 = t_0: a phase stamp without velocity
    assert ref.raw()[1][1] == 0
    ref.push(11 * dt, 11.0)  # s = dt = t_1: first velocity, used exactly
    assert ref.raw()[1][1] > 0


def test_exact_stamp_uses_that_sample():
    dt = 1.0 / 128
    ref = KairosReference([2 * dt], window=1.0)
    for i, p in enumerate([0, 1, 3, 6, 10]):
        ref.push(i * dt, p)
    # velocities 128, 256, 384, 512 at stamps dt .. 4 dt.  Updates at 3 dt
    # (s = dt: 128, v_n = 384) and 4 dt (s = 2 dt: 256, v_n = 512).
    a = math.exp(-dt)
    b = -math.expm1(-dt)
    expected_t = a * (b * 384.0 * 128.0) + b * 512.0 * 256.0
    assert ref.T[0].real == pytest.approx(expected_t, rel=1e-12)
    assert ref.Etau[0] == pytest.approx(a * b * 128.0**2 + b * 256.0**2, rel=1e-12)


def test_interpolates_between_bracketing_stamps():
    dt = 1.0 / 128
    ref = KairosReference([1.25 * dt], window=1.0)
    for i, p in enumerate([0, 1, 3]):
        ref.push(i * dt, p)
    # at t = 2 dt, s = 0.75 dt < t_1: not reached; one more sample:
    ref.push(3 * dt, 6)
    # s = 1.75 dt between v(dt) = 128 and v(2 dt) = 256 with h = 0.75
    b = -math.expm1(-dt)
    lagged = 0.25 * 128 + 0.75 * 256
    assert ref.T[0].real == pytest.approx(b * 384.0 * lagged, rel=1e-12)


def test_rejects_and_counts_bad_samples():
    ref = KairosReference([0.0], window=1.0)
    assert ref.push(0.0, 0.0)
    assert not ref.push(0.0, 1.0)
    assert not ref.push(-1.0, 1.0)
    assert not ref.push(float('nan'), 1.0)
    assert not ref.push(1.0, complex(float('inf'), 0))
    assert ref.rejected == 4 and ref.samples == 1


def test_reduced_phase_after_days():
    # 3 days at omega = 2 pi * 50 Hz: naive fmod loses ~1e-8 rad.
    t0 = 1.7e9
    t = t0 + 3 * 86400 + 0.123456789
    omega = 2 * np.pi * 50.0
    exact = reduced_phase(omega, t, t0)
    # 50 Hz * whole seconds is whole cycles; what is left is omega * the fraction
    frac = (t - t0) - 3 * 86400
    expected = math.fmod(omega * frac, 2 * math.pi)
    assert abs(exact - expected) < 1e-9


# --- the C++ bank held to the reference ----------------------------------------

cpp = pytest.importorskip('becomingone_cpp')


@pytest.mark.parametrize(
    'channels,irregular,omega',
    [(1, True, 0.0), (1, False, 2.5), (7, True, -1.3), (16, True, 6.0), (3, False, 0.0)],
)
def test_cpp_matches_reference(channels, irregular, omega):
    rng = np.random.default_rng(100 + channels)
    t, phase = _stream(1500, channels, rng, irregular=irregular)
    # Lags off the sample grid (and two on it, and zero).
    lags = np.concatenate([[0.0, 4.0 / 256, 0.5], rng.uniform(0.0, 1.2, 9)])
    window = 0.8
    ref = reference_run(t, phase, lags, window, omega)
    bank = cpp.ResonanceBank(lags, window, omega=omega, channels=channels, max_rate=600.0)
    assert bank.push_block(t, phase) == len(t)
    t_cpp, e0_cpp, et_cpp = bank.raw()
    t_ref, e0_ref, et_ref = ref.raw()
    _assert_close(t_cpp, t_ref)
    _assert_close(e0_cpp, e0_ref)
    _assert_close(et_cpp, et_ref)
    _assert_close(bank.resonance(), ref.resonance())
    assert bank.overrun == 0


def test_cpp_matches_reference_on_jittered_epoch_stamps():
    # ROS-like absolute stamps: uniform 200 Hz on a 1.7e9 s clock, so dt wobbles
    # by the clock's rounding; mixes the C++ fast path and its exact fallback.
    rng = np.random.default_rng(7)
    n = 1200
    t = 1.7e9 + np.arange(n) * 0.005
    phase = np.exp(1j * 2 * np.pi * 1.7 * (t - t[0]))
    phase += 0.1j * np.cumsum(rng.standard_normal(n))
    lags = np.array([0.0, 0.005, 0.0123, 0.1, 0.25, 1.0])
    ref = reference_run(t, phase, lags, window=1.5, omega=2 * np.pi * 1.7)
    bank = cpp.ResonanceBank(lags, 1.5, omega=2 * np.pi * 1.7, max_rate=400.0)
    bank.push_block(t, phase)
    _assert_close(bank.raw()[0], ref.raw()[0])
    _assert_close(bank.raw()[2], ref.raw()[2])


def test_cpp_rejections_match_reference():
    rng = np.random.default_rng(5)
    t, phase = _stream(400, 2, rng)
    t = t.copy()
    phase = phase.copy()
    t[[10, 50]] = t[[9, 49]]  # repeated stamps
    t[100] = np.nan
    phase[200, 1] = np.inf
    t[300] = t[299] - 1.0  # going back
    ref = reference_run(t, phase, [0.0, 0.2], window=1.0)
    bank = cpp.ResonanceBank([0.0, 0.2], 1.0, channels=2)
    accepted = bank.push_block(t, phase)
    assert accepted == ref.samples == 395
    assert bank.rejected == ref.rejected == 5
    _assert_close(bank.raw()[0], ref.raw()[0])
