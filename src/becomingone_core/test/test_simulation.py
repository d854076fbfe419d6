import math

from becomingone_core.simulation import parse_schedule, SimulatedSource, SourceConfig
import numpy as np
import pytest


def _all(config, until, step=None):
    source = SimulatedSource(config)
    if step is None:
        return source.samples_until(until)
    parts = [source.samples_until(t) for t in [*np.arange(step, until, step), until]]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def test_sine_is_a_unit_phasor_at_the_set_frequency():
    t, phase = _all(SourceConfig(rate_hz=200.0, frequency_hz=3.0), until=2.0)
    assert len(t) == 401 and phase.shape == (401, 1)
    np.testing.assert_allclose(np.abs(phase[:, 0]), 1.0)
    steps = np.angle(phase[1:, 0] / phase[:-1, 0])
    np.testing.assert_allclose(steps, 2 * np.pi * 3.0 / 200.0)


def test_same_seed_same_stream_however_time_is_sliced():
    config = {'rate_hz': 100.0, 'channels': 3, 'schedule': ['steps:2', 'noise:2', 'chirp:inf'],
              'snr_db': 5.0, 'jitter_s': 0.001, 'dropout_rate_hz': 0.5, 'burst_rate_hz': 0.5,
              'seed': 7}
    t1, p1 = _all(SourceConfig(**config), until=6.0)
    t2, p2 = _all(SourceConfig(**config), until=6.0, step=0.37)
    np.testing.assert_array_equal(t1, t2)
    np.testing.assert_array_equal(p1, p2)
    t3, p3 = _all(SourceConfig(**{**config, 'seed': 8}), until=6.0)
    assert not np.array_equal(p1[:50], p3[:50])


def test_snr_sets_the_noise_power():
    t, phase = _all(SourceConfig(rate_hz=1000.0, snr_db=10.0, seed=1), until=20.0)
    clean = np.exp(2j * np.pi * 1.0 * np.arange(len(t)) / 1000.0)
    noise_power = np.mean(np.abs(phase[:, 0] - clean) ** 2)
    assert 10 * math.log10(1.0 / noise_power) == pytest.approx(10.0, abs=0.2)


def test_schedule_switches_generators():
    source = SimulatedSource(SourceConfig(rate_hz=100.0, schedule=['sine:1', 'noise:1']))
    assert source.duration_s == 2.0
    assert [source.segment_at(x) for x in (0.5, 1.5, 5.0)] == ['sine', 'noise', 'noise']
    t, phase = source.samples_until(10.0)
    assert len(t) == 200  # the schedule ends after its last finite segment
    coherent, noisy = phase[:100, 0], phase[100:, 0]
    assert np.allclose(np.abs(coherent), 1.0) and np.std(np.abs(noisy)) > 0.2


def test_jitter_keeps_stamps_increasing_and_dropouts_leave_gaps():
    t, _ = _all(SourceConfig(rate_hz=100.0, jitter_s=0.004, dropout_rate_hz=1.0,
                             dropout_duration_s=0.3, seed=3), until=10.0)
    gaps = np.diff(t)
    assert np.all(gaps > 0)
    assert np.max(gaps) > 0.25  # at least one dropout
    assert 0.0 < np.std(gaps[gaps < 0.02]) < 0.01


def test_bursts_add_strong_noise_for_a_while():
    t, phase = _all(SourceConfig(rate_hz=500.0, burst_rate_hz=0.5, burst_duration_s=0.2,
                                 burst_snr_db=-10.0, seed=4), until=20.0)
    deviation = np.abs(np.abs(phase[:, 0]) - 1.0)
    assert np.mean(deviation > 1.0) > 0.01  # bursts happened
    assert np.median(deviation) == 0.0  # and most of the stream stayed clean


def test_sum_of_sines_and_channels():
    t, phase = _all(SourceConfig(rate_hz=100.0, channels=4, schedule=['sines']), until=1.0)
    assert phase.shape == (101, 4)
    ratio = phase[:, 1] / phase[:, 0]
    np.testing.assert_allclose(ratio, np.exp(1j * np.pi / 2))  # channels spread in phase


@pytest.mark.parametrize('bad, field', [
    ({'rate_hz': 0.0}, 'rate_hz'),
    ({'channels': 0}, 'channels'),
    ({'frequencies_hz': [1.0], 'amplitudes': [1.0, 2.0]}, 'frequencies_hz'),
    ({'jitter_s': 0.1}, 'jitter_s'),
    ({'schedule': ['sawtooth:3']}, 'schedule'),
    ({'schedule': ['sine:-1']}, 'schedule'),
    ({'schedule': []}, 'schedule'),
])
def test_bad_configuration_names_the_field(bad, field):
    with pytest.raises(ValueError, match=field):
        SimulatedSource(SourceConfig(**bad))


def test_parse_schedule():
    assert parse_schedule(['sine:8', 'noise']) == [('sine', 8.0), ('noise', math.inf)]
