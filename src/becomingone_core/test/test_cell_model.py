"""The demo preset's behaviour, statistically, on the pure modules (many seeds, no DDS)."""

from becomingone_core.cell_model import CellModel
from becomingone_core.scales import preset, PRESETS, SCALES
from becomingone_core.simulation import SimulatedSource, SourceConfig
from becomingone_core.sync import COLLAPSE, RELEASE
import numpy as np
import pytest

WINDOWS = preset('demo').slowest_window_s


def _run(schedule, seed, snr_db=10.0, frequency_hz=2.0, **disturbances):
    source = SimulatedSource(SourceConfig(rate_hz=100.0, schedule=schedule, snr_db=snr_db,
                                          frequency_hz=frequency_hz, seed=seed, **disturbances))
    t, phase = source.samples_until(source.duration_s)
    return CellModel('demo').run(t, phase, step_s=0.1)


@pytest.mark.parametrize('seed', range(5))
def test_coherent_sine_collapses_within_five_windows_and_releases_on_noise(seed):
    coherent_s = 8 * WINDOWS
    timeline = _run([f'sine:{coherent_s}', f'noise:{8 * WINDOWS}', f'sine:{8 * WINDOWS}'], seed)
    assert timeline.first(True) is not None and timeline.first(True) <= 5 * WINDOWS
    release = timeline.first(False, after_s=coherent_s)
    assert release is not None and release - coherent_s <= 5 * WINDOWS
    again = timeline.first(True, after_s=16 * WINDOWS)
    assert again is not None and again - 16 * WINDOWS <= 5 * WINDOWS
    kinds = [event for _, event in timeline.events if event in (COLLAPSE, RELEASE)]
    assert kinds[:3] == [COLLAPSE, RELEASE, COLLAPSE]


@pytest.mark.parametrize('frequency_hz', [0.5, 1.0, 3.0, 5.0, 8.0])
def test_other_frequencies_collapse_too(frequency_hz):
    timeline = _run([f'sine:{6 * WINDOWS}'], seed=1, frequency_hz=frequency_hz)
    assert timeline.first(True) is not None and timeline.first(True) <= 5 * WINDOWS


@pytest.mark.parametrize('seed', range(3))
def test_clock_jitter_and_dropouts_do_not_break_a_coherent_input(seed):
    timeline = _run(['sine:20'], seed, jitter_s=0.002, dropout_rate_hz=0.2,
                    dropout_duration_s=0.3)
    collapse = timeline.first(True)
    assert collapse is not None and collapse <= 5 * WINDOWS
    assert timeline.collapsed[timeline.t > collapse].all()


def test_white_noise_false_collapse_rate_is_at_most_one_percent():
    seeds = 100
    collapsed = sum(bool(_run([f'noise:{20 * WINDOWS}'], seed).collapsed.any())
                    for seed in range(1000, 1000 + seeds))
    assert collapsed / seeds <= 0.01


def test_every_preset_builds_and_keeps_its_rules():
    assert set(SCALES) >= {'micro', 'nano', 'mini', 'standard', 'macro', 'demo'}
    for name, scale in PRESETS.items():
        for role in ('emissary', 'master'):
            settings = scale.transducer(role)
            lags = settings.lags()
            assert len(lags) == settings.lag_count, name
            assert lags[0] >= 2 / settings.sample_rate_hz - 1e-12, f'{name} {role}'
        assert scale.master.lag_max_s >= scale.emissary.lag_max_s, name
    with pytest.raises(ValueError, match='huge'):
        preset('huge')


def _phase_step_recollapse_s(seed, dissipation, step_s=15.0):
    rng = np.random.default_rng(seed)
    t = np.arange(0, 30, 0.01)
    phase = 2 * np.pi * 2.0 * t + np.where(t >= step_s, np.pi, 0.0)
    noise = (rng.normal(size=t.size) + 1j * rng.normal(size=t.size)) * 0.316 / np.sqrt(2)
    model = CellModel('demo', realign_dissipation=dissipation)
    timeline = model.run(t, np.exp(1j * phase) + noise)
    released = timeline.first(False, after_s=step_s)
    assert released is not None, 'a phase step of pi releases the cell'
    again = timeline.first(True, after_s=released)
    assert again is not None
    return again - step_s


def test_realignment_brings_the_cell_back_sooner_after_a_phase_step():
    # The Master forgets part of its past while realignment is requested (realign.py), so it
    # re-converges on the new phase sooner; measured on the same inputs with and without.
    without = [_phase_step_recollapse_s(seed, 1.0) for seed in range(4)]
    realigned = [_phase_step_recollapse_s(seed, 0.5) for seed in range(4)]
    print(f'phase step of pi: re-collapse {np.mean(without):.2f} s without realignment, '
          f'{np.mean(realigned):.2f} s with')
    assert all(r < w for r, w in zip(realigned, without)), (realigned, without)
    assert np.mean(realigned) <= 0.85 * np.mean(without)
