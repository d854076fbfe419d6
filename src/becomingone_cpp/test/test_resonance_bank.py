"""Behaviour of becomingone_cpp.ResonanceBank (needs only becomingone_cpp + numpy)."""

import decimal
import math
import pickle
import threading

import becomingone_cpp
from becomingone_cpp import ResonanceBank
import numpy as np
import pytest


def _stream(n, channels=1, seed=0, irregular=True):
    rng = np.random.default_rng(seed)
    steps = (1.0 / 256) * (rng.uniform(0.4, 1.6, n) if irregular else np.ones(n))
    t = 5.0 + np.cumsum(steps)
    noise = rng.standard_normal((n, channels)) + 1j * rng.standard_normal((n, channels))
    phase = np.exp(1j * 2 * np.pi * 2.0 * t)[:, None] + np.cumsum(0.05 * noise, axis=0)
    return t, phase


def _same_state(a, b):
    for x, y in zip(a.raw(), b.raw()):
        np.testing.assert_array_equal(x, y)


def test_simd_path_is_reported():
    assert becomingone_cpp.simd_path() in {'avx512f', 'avx2', 'default', 'neon', 'scalar'}


@pytest.mark.parametrize(
    'kwargs',
    [
        {'lags': [], 'window': 1.0},
        {'lags': [0.1, -0.1], 'window': 1.0},
        {'lags': [float('nan')], 'window': 1.0},
        {'lags': [[0.1, 0.2]], 'window': 1.0},
        {'lags': [0.1], 'window': 0.0},
        {'lags': [0.1], 'window': -2.0},
        {'lags': [0.1], 'window': float('inf')},
        {'lags': [0.1], 'window': 1.0, 'channels': 0},
        {'lags': [0.1], 'window': 1.0, 'channels': -3},
        {'lags': [0.1], 'window': 1.0, 'max_rate': 0.0},
        {'lags': [0.1], 'window': 1.0, 'omega': float('nan')},
        {'lags': [1e9], 'window': 1.0},
    ],
)
def test_constructor_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        ResonanceBank(**kwargs)


def test_properties_and_defaults():
    bank = ResonanceBank(np.array([0.0, 0.25]), 2.0)
    np.testing.assert_array_equal(bank.lags, [0.0, 0.25])
    assert (bank.window, bank.omega, bank.channels, bank.max_rate) == (2.0, 0.0, 1, 1000.0)
    assert bank.history_capacity >= 250
    assert bank.samples == bank.rejected == bank.overrun == 0
    g = bank.resonance()
    assert g.dtype == np.complex128 and g.shape == (2,) and np.all(g == 0)
    assert bank.coherence().dtype == np.float64
    t, e0, et = bank.raw()
    assert t.dtype == np.complex128 and e0.dtype == et.dtype == np.float64


def test_rejection_rules_count_and_do_not_apply():
    bank = ResonanceBank([0.0, 0.02], 1.0, channels=2)
    assert bank.push(0.0, [0.0, 0.0])
    assert bank.push(0.01, [0.1, 0.2j])
    before = bank.to_bytes()
    assert not bank.push(0.01, [1.0, 1.0])  # t not increasing
    assert not bank.push(0.005, [1.0, 1.0])  # t going back
    assert not bank.push(float('nan'), [1.0, 1.0])
    assert not bank.push(float('inf'), [1.0, 1.0])
    assert not bank.push(0.02, [complex(np.nan, 0.0), 1.0])
    assert not bank.push(0.02, [1.0, complex(0.0, np.inf)])
    assert not bank.push(0.01 + 1e-300, [1e308, 0.0])  # velocity overflows
    assert bank.rejected == 7 and bank.samples == 2
    after = ResonanceBank.from_bytes(bank.to_bytes())
    assert after.rejected == 7
    # nothing but the counter moved
    reference = ResonanceBank.from_bytes(before)
    _same_state(reference, bank)
    assert bank.push(0.02, [0.3, 0.1j])


def test_shape_errors_raise_value_error_and_count():
    bank = ResonanceBank([0.0], 1.0, channels=3)
    with pytest.raises(ValueError):
        bank.push(0.0, [1.0, 2.0])
    with pytest.raises(ValueError):
        bank.push(0.0, 1.0)
    with pytest.raises(ValueError):
        bank.push(0.0, np.zeros((3, 1)))
    with pytest.raises(ValueError):
        bank.push_block(np.arange(4.0), np.zeros((4, 2), complex))
    with pytest.raises(ValueError):
        bank.push_block(np.arange(4.0), np.zeros((5, 3), complex))
    with pytest.raises(ValueError):
        bank.push_block(np.zeros((4, 1)), np.zeros((4, 3), complex))
    with pytest.raises(ValueError):
        bank.push_block(np.arange(4.0), np.zeros(4, complex))  # (N,) only when C == 1
    assert bank.samples == 0
    assert bank.rejected == 3 + 4 + 4 + 1 + 4


def test_scalar_and_1d_forms_for_one_channel():
    a = ResonanceBank([0.0, 0.1], 1.0)
    b = ResonanceBank([0.0, 0.1], 1.0)
    c = ResonanceBank([0.0, 0.1], 1.0)
    t, phase = _stream(300)
    for tn, pn in zip(t, phase[:, 0]):
        assert a.push(tn, complex(pn))
        assert b.push(tn, np.array([pn]))
    assert c.push_block(t, phase[:, 0]) == 300
    _same_state(a, b)
    _same_state(a, c)
    # real-valued phases are accepted (as complex with zero imaginary part)
    d = ResonanceBank([0.0], 1.0)
    assert d.push(0.0, 1.0) and d.push(0.1, 2)
    assert d.push_block(np.array([0.2, 0.3]), np.array([3.0, 5.0])) == 2


@pytest.mark.parametrize('channels,irregular', [(1, True), (1, False), (4, True), (16, False)])
def test_push_block_is_bit_identical_to_pushes(channels, irregular):
    t, phase = _stream(1000, channels, seed=channels, irregular=irregular)
    phase[123, 0] = np.nan  # a rejected sample inside a block
    lags = [0.0, 1.0 / 256, 0.0333, 0.4, 0.9]
    one = ResonanceBank(lags, 0.5, omega=3.0, channels=channels, max_rate=500.0)
    many = ResonanceBank(lags, 0.5, omega=3.0, channels=channels, max_rate=500.0)
    accepted = sum(one.push(tn, pn) for tn, pn in zip(t, phase))
    total = 0
    for chunk in np.array_split(np.arange(len(t)), [1, 7, 70, 71, 333, 900]):
        total += many.push_block(t[chunk], phase[chunk])
        many.coherence()  # reading in between changes nothing that follows
    assert accepted == total == 999
    assert one.rejected == many.rejected == 1
    _same_state(one, many)
    np.testing.assert_array_equal(one.resonance(), many.resonance())
    assert one.to_bytes() == many.to_bytes()


def test_to_bytes_round_trip_continues_bit_identically():
    t, phase = _stream(2000, 3, seed=9)
    bank = ResonanceBank([0.0, 0.05, 0.5, 1.0], 1.0, omega=1.0, channels=3, max_rate=400.0)
    bank.push_block(t[:777], phase[:777])
    data = bank.to_bytes()
    assert isinstance(data, bytes)
    restored = ResonanceBank.from_bytes(data)
    assert restored.to_bytes() == data
    assert restored.samples == bank.samples and restored.rejected == bank.rejected
    assert restored.channels == 3
    _same_state(bank, restored)
    bank.push_block(t[777:], phase[777:])
    for tn, pn in zip(t[777:], phase[777:]):
        restored.push(tn, pn)
    _same_state(bank, restored)
    assert restored.to_bytes() == bank.to_bytes()
    clone = pickle.loads(pickle.dumps(bank))
    _same_state(bank, clone)


@pytest.mark.parametrize('data', [b'', b'garbage', b'KAIROSBK' + b'\0' * 40])
def test_from_bytes_rejects_garbage(data):
    with pytest.raises(ValueError):
        ResonanceBank.from_bytes(data)


def test_from_bytes_rejects_truncated_state():
    bank = ResonanceBank([0.0, 0.1], 1.0)
    bank.push_block(*_stream(100))
    data = bank.to_bytes()
    for cut in (1, 9, len(data) // 2):
        with pytest.raises(ValueError):
            ResonanceBank.from_bytes(data[:-cut])
    with pytest.raises(ValueError):
        ResonanceBank.from_bytes(data + b'\0')


def test_reset_returns_to_a_fresh_bank():
    t, phase = _stream(500)
    fresh = ResonanceBank([0.0, 0.2], 1.0)
    used = ResonanceBank([0.0, 0.2], 1.0)
    used.push_block(t[::-1].copy(), phase)  # mostly rejected
    used.push_block(t, phase)
    used.reset()
    assert used.samples == used.rejected == 0
    fresh.push_block(t, phase)
    used.push_block(t, phase)
    _same_state(fresh, used)


@pytest.mark.parametrize('irregular', [False, True])
def test_complex_exponential_gives_full_coherence_and_phase_omega_tau(irregular):
    big_omega = 2 * np.pi * 3.0
    n = 5000
    if irregular:
        t = np.cumsum(np.random.default_rng(1).uniform(0.5, 1.5, n)) / 1000.0
    else:
        t = np.arange(n) / 1000.0
    lags = np.array([0.0, 0.001, 0.0123, 0.05, 0.1, 0.2])
    bank = ResonanceBank(lags, window=0.5, omega=0.0)
    bank.push_block(t, np.exp(1j * big_omega * t))
    # Uniform sampling: every term has the same phase and size, so Cauchy-
    # Schwarz is tight.  Irregular: finite differences of e^{i Omega t} over
    # unequal dt differ in phase/size by O((Omega dt)^2).
    np.testing.assert_allclose(bank.coherence(), 1.0, atol=1e-4 if irregular else 1e-9)
    phase_error = np.angle(bank.resonance() * np.exp(-1j * big_omega * lags))
    np.testing.assert_allclose(phase_error, 0.0, atol=1e-3)


def test_coherence_is_bounded_and_white_velocity_decorrelates():
    rng = np.random.default_rng(4)
    n = 20000
    t = np.arange(n) / 100.0
    phase = np.cumsum(rng.standard_normal((n, 2)) + 1j * rng.standard_normal((n, 2)), axis=0)
    bank = ResonanceBank([0.0, 0.05, 0.5], window=50.0, channels=2)
    bank.push_block(t, phase)
    coh = bank.coherence()
    assert np.all((coh >= 0) & (coh <= 1))
    assert coh[0] == pytest.approx(1.0)
    assert np.all(coh[1:] < 0.05)


def test_lag_waits_for_history_without_decay():
    dt = 1.0 / 128
    bank = ResonanceBank([0.0, 20 * dt], 1.0)
    for i in range(20):
        bank.push(i * dt, complex(i, i * i * 0.01))
    t_vals, e0, et = bank.raw()
    assert e0[0] > 0 and e0[1] == 0 and et[1] == 0 and t_vals[1] == 0
    bank.push(21 * dt, 0.0)  # s = dt: the first velocity stamp
    assert bank.raw()[2][1] > 0


def test_overrun_is_counted_when_rate_exceeds_max_rate():
    bank = ResonanceBank([0.0, 0.5], 1.0, max_rate=50.0)
    t = np.arange(3000) / 1000.0  # 1 kHz into a history sized for 50 Hz
    bank.push_block(t, np.exp(1j * t))
    assert bank.overrun > 0
    assert bank.raw()[1][0] > 0  # lag 0 unaffected
    assert bank.raw()[2][1] == 0  # lag 0.5 s never reachable
    assert np.isfinite(bank.resonance()).all()


def test_theta_stays_exact_after_days():
    omega = 2 * np.pi * 50.3
    days = 259200.123456789
    bank = ResonanceBank([0.0], window=1.0, omega=omega)
    bank.push(0.0, 0.0)
    bank.push(days, 1.0)  # one update: T = |v|^2 e^{i theta}, alpha = 0
    ctx = decimal.Context(prec=60)
    two_pi = decimal.Decimal('6.28318530717958647692528676655900576839433879875021')
    product = ctx.multiply(decimal.Decimal(omega), decimal.Decimal(days))
    exact = float(ctx.remainder(product, two_pi))
    got = np.angle(bank.raw()[0][0])
    assert abs(math.remainder(got - exact, 2 * math.pi)) < 1e-12


def test_theta_is_exact_and_alike_on_both_sides_of_the_rounding_bound():
    # theta is reduced in vector lanes; a quotient omega (t - t0) / 2 pi of
    # 2^51 or more takes a scalar lane: both sides in one run, push() (a lone
    # lane) and push_block() (whole vectors) alike, exact against decimal.
    omega = 2 * np.pi * 1e6
    start = 2.0 ** 51 / 1e6 - 0.05
    t = np.concatenate([[0.0], start + np.arange(200) * 1e-3])
    phase = np.exp(1j * 0.3 * np.arange(len(t)))
    one = ResonanceBank([0.0], window=1e-9, omega=omega, max_rate=2000.0)
    many = ResonanceBank([0.0], window=1e-9, omega=omega, max_rate=2000.0)
    ctx = decimal.Context(prec=60)
    two_pi = decimal.Decimal('6.28318530717958647692528676655900576839433879875021')
    for n, (tn, pn) in enumerate(zip(t, phase)):
        assert one.push(tn, pn)
        if n == 0:
            continue
        # alpha = 0: T is |v|^2 e^{i theta} of this sample alone.
        product = ctx.multiply(decimal.Decimal(omega), decimal.Decimal(tn))
        exact = float(ctx.remainder(product, two_pi))
        got = np.angle(one.raw()[0][0])
        assert abs(math.remainder(got - exact, 2 * math.pi)) < 1e-12
    assert many.push_block(t[:5], phase[:5]) == 5
    assert many.push_block(t[5:], phase[5:]) == len(t) - 5
    assert one.to_bytes() == many.to_bytes()


def test_concurrent_use_from_threads_is_safe():
    t, phase = _stream(4000, 2)
    bank = ResonanceBank([0.0, 0.1, 0.3], 1.0, channels=2)
    errors = []

    def feed(lo, hi):
        try:
            for i in range(lo, hi, 50):
                bank.push_block(t[i:i + 50], phase[i:i + 50])
                bank.coherence()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=feed, args=(0, 4000)) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert bank.samples + bank.rejected == 3 * 4000
    assert bank.samples == 4000 or bank.samples < 4000  # order decides; never a crash
