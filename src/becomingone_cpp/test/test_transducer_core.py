"""The Python binding of TransducerCore: arguments, shapes, lifetimes, names, reasons."""

import gc

from becomingone_cpp import ResonanceBank, TRANSDUCER_REASONS, TransducerCore
import numpy as np
import pytest

INF = float('inf')


def _core(channels=2, rate_hz=100.0, bank=None):
    bank = bank or ResonanceBank([0.01, 0.05], 1.0, 0.0, channels, 1000.0)
    return TransducerCore(bank, channels, rate_hz, 0.1, 1e4, 0.5, 10.0, 1.0), bank


def test_reasons_are_the_python_counter_keys():
    assert TRANSDUCER_REASONS == (
        'non_finite', 'future', 'stale', 'time_backwards', 'out_of_range', 'late', 'flood',
        'too_many_sources', 'shape', 'bank')


def test_bad_settings_raise_value_error():
    bank = ResonanceBank([0.01], 1.0, 0.0, 2, 1000.0)
    with pytest.raises(ValueError, match='channels'):
        TransducerCore(bank, 3, 100.0, 0.1, 1e4, 0.5, 10.0, 1.0)
    with pytest.raises(ValueError, match='max_input_rate_hz'):
        TransducerCore(bank, 2, 100.0, 0.1, 0.5, 0.5, 10.0, 1.0)
    with pytest.raises(ValueError, match='sample_rate_hz'):
        TransducerCore(bank, 2, float('nan'), 0.1, 1e4, 0.5, 10.0, 1.0)


def test_push_returns_the_outcome_and_counts_by_reason():
    core, bank = _core()
    t = 1.0 + np.arange(50) * 0.001
    accepted, rejected, reason, cycles, newest_t, counts = core.push(
        'imu', t, np.ones((50, 1), complex), 1.05)
    assert (accepted, rejected, reason, counts) == (50, 0, '', None)
    assert cycles == core.cycles == bank.samples > 0 and newest_t == t[-1]
    out = core.push('imu', t[:5], np.ones((5, 1), complex), 1.05)
    assert out[1:3] == (5, 'time_backwards') and out[5] == {'time_backwards': 5}
    assert core.counts == {'time_backwards': 5} and core.accepted == 50
    assert core.active_sources == ['imu'] and core.channels_of('imu') == [0]
    assert core.expire(2.1) == ['imu'] and core.silent_sources == ['imu']
    assert core.first_t <= core.newest_t < INF


def test_wrong_shapes_raise_value_error():
    core, _ = _core()
    with pytest.raises(ValueError):
        core.push('s', np.ones((2, 2)), np.ones((2, 1), complex), 0.0)
    with pytest.raises(ValueError):
        core.push('s', np.ones(3), np.ones((2, 1), complex), 0.0)
    with pytest.raises(ValueError):
        core.push('s', np.ones(3), np.ones(3, complex), 0.0)
    with pytest.raises(TypeError):
        core.push(b'bytes', np.ones(1), np.ones((1, 1), complex), 0.0)


def test_the_core_keeps_its_bank_alive():
    core, bank = _core()
    del bank
    gc.collect()
    t = np.arange(20) * 0.01
    assert core.push('s', t, np.exp(1j * t)[:, None], 0.2)[0] == 20


def test_names_keep_lone_surrogates():
    core, _ = _core()
    name = 'a\ud800b'
    assert core.push(name, np.ones(1), np.ones((1, 1), complex), 1.0)[0] == 1
    assert core.active_sources == [name] and core.channels_of(name) == [0]
