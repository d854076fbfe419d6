"""Transducer: sources as channels, integration bins, rejections, the summary rule."""

from becomingone_core.transducer import (make_lags, summarise, Transducer, TransducerConfig)
import numpy as np
import pytest


def _config(**overrides):
    values = {'lags': tuple(make_lags(0.1, 1.0, 10)), 'window_s': 1.0, 'sample_rate_hz': 20.0,
              'source_timeout_s': 1.0}
    values.update(overrides)
    return TransducerConfig(**values)


def _sine(t, frequency_hz=2.0):
    return np.exp(2j * np.pi * frequency_hz * t)[:, None]


def test_lag_banks():
    assert make_lags(1.0, 2.0, 11) == pytest.approx(np.arange(10, 21) / 10)
    log = make_lags(0.01, 1.0, 3, 'log')
    assert log == pytest.approx([0.01, 0.1, 1.0])
    with pytest.raises(ValueError):
        make_lags(0.0, 1.0, 4)
    with pytest.raises(ValueError):
        make_lags(0.1, 1.0, 4, 'cubic')


def test_summary_rules():
    lags = np.array([0.1, 0.2, 0.3])
    gamma = np.array([0.2 + 0.9j, 0.8 + 0.1j, -0.95 + 0j])
    assert summarise(gamma, lags, 'peak_real') == (1, 0.8 + 0.1j)
    assert summarise(gamma, lags, 'peak_coherence') == (2, -0.95 + 0j)
    assert summarise(gamma, lags, 'nearest', target_tau=0.12) == (0, 0.2 + 0.9j)


def test_bad_configuration_names_the_field():
    with pytest.raises(ValueError, match='window_s'):
        Transducer(_config(window_s=0.0))
    with pytest.raises(ValueError, match='summary'):
        Transducer(_config(summary='loudest'))


def test_periodic_input_gives_an_in_phase_summary_near_one():
    transducer = Transducer(_config())
    t = np.arange(0, 6, 0.01)
    result = transducer.push('sine', t, _sine(t), now_s=6.0)
    assert result.accepted == t.size and result.rejected == 0
    state = transducer.state()
    # The bank holds lags at multiples of the 0.5 s period: Re gamma peaks there at ~ +1.
    assert state.summary_tau == pytest.approx(0.5, abs=1e-9) or state.summary_tau % 0.5 < 1e-9
    assert state.summary.real > 0.98 and abs(state.summary.imag) < 0.05
    # Bins of 50 ms: about 20 samples per second reached the bank, not 100.
    assert transducer.cycles == pytest.approx(6.0 * 20, abs=2)


def test_bins_close_on_their_last_sample():
    transducer = Transducer(_config(sample_rate_hz=10.0))
    t = np.arange(0, 1.0001, 0.01)
    cycles = [transducer.push('s', t[i:i + 1], _sine(t[i:i + 1]), 0.0).cycles
              for i in range(t.size)]
    # The first sample closes its own bin, then every tenth sample closes one.
    assert np.flatnonzero(cycles).tolist() == list(range(0, 101, 10))


def test_white_noise_stays_incoherent():
    rng = np.random.default_rng(1)
    transducer = Transducer(_config())
    t = np.arange(0, 20, 0.01)
    noise = (rng.normal(size=t.size) + 1j * rng.normal(size=t.size))[:, None]
    transducer.push('noise', t, noise, now_s=20.0)
    assert transducer.state().summary_coherence < 0.2


def test_bad_samples_are_counted_not_raised():
    transducer = Transducer(_config(sample_rate_hz=0.0))
    t = np.array([0.0, 0.01, 0.02, 0.015, 0.03])
    phase = _sine(t)
    phase[1] = np.nan
    result = transducer.push('s', t, phase, 0.0)
    assert result.accepted == 3 and result.rejected == 2
    assert transducer.rejections.counts == {'non_finite': 1, 'time_backwards': 1}
    assert transducer.push('s', [0.04], np.ones((1, 2)), 0.0).reason == 'shape'
    assert transducer.push('s', [], np.ones((0, 1)), 0.0).reason == 'shape'
    transducer.reject('size_mismatch', 5)
    assert transducer.rejected == 9  # 2 bad samples, 2 bad shapes, 5 refused outside
    assert transducer.state().rejected == 9


def test_flood_is_rejected_beyond_the_rate_budget():
    transducer = Transducer(_config(sample_rate_hz=0.0, max_input_rate_hz=100.0))
    t = np.arange(0, 3, 0.001)  # 3000 samples arriving at once: one second of burst is allowed
    result = transducer.push('s', t, _sine(t), now_s=0.0)
    assert result.accepted == 100 and transducer.rejections.counts['flood'] == 2900


def _feed(transducer, sources, start_s, stop_s, chunk_s=0.1):
    """Feed ``sources`` (name -> signal function) together, chunk by chunk, in time order."""
    for begin in np.arange(start_s, stop_s - 1e-9, chunk_s):
        t = np.arange(begin, begin + chunk_s - 1e-9, 0.01)
        for name, signal in sources.items():
            transducer.push(name, t, signal(t), now_s=begin + chunk_s)


def test_source_timeout_stops_contribution_and_rejoins_without_a_jump():
    transducer = Transducer(_config(channels=2))
    _feed(transducer, {'a': _sine, 'b': lambda t: 1j * _sine(t)}, 0.0, 3.0)
    _feed(transducer, {'a': _sine}, 3.0, 4.0)
    assert transducer.active_sources == ['a', 'b']
    assert transducer.expire(now_s=4.05) == ['b']
    assert transducer.active_sources == ['a'] and transducer.silent_sources == ['b']
    assert transducer.expire(now_s=4.1) == []  # reported once
    before = transducer.state().summary
    # b returns with its phase far from where it was held: no velocity spike.
    _feed(transducer, {'a': _sine, 'b': lambda t: -_sine(t)}, 4.0, 8.0)
    assert transducer.active_sources == ['a', 'b']
    # Only the (re)joining source's first samples, for times already integrated, were late.
    assert set(transducer.rejections.counts) == {'late'} and transducer.rejected <= 12
    assert before.real > 0.85 and transducer.state().summary.real > 0.99


EPOCH_NS = 1_764_000_000 * 1_000_000_000  # a ROS clock in 2025, as the node's epoch


def _ros_stretch(transducer, rng, start_s, stop_s, signal):
    """Feed ``s`` at 1 kHz ± 10 % (ROS ns stamps) in 10 ms messages, received 2 ms late."""
    stamp_ns = EPOCH_NS + int(start_s * 1e9)
    while stamp_ns < EPOCH_NS + int(stop_s * 1e9):
        steps = np.rint(1e6 * rng.uniform(0.9, 1.1, 10)).astype(np.int64)
        stamps = stamp_ns + np.cumsum(steps)
        stamp_ns = int(stamps[-1])
        t = (stamps - EPOCH_NS) / 1e9
        transducer.push('s', t, signal(t), now_s=t[-1] + 0.002)


def test_a_source_returning_far_away_from_an_open_bin_rejoins_without_a_jump():
    # Regression: a source going silent leaves its last bin open (jittered stamps rarely end
    # on a bin boundary). On the return that old bin was pushed first and took the re-join
    # offset, so the new samples still jumped (velocity ~ step / bin: E0 in the thousands).
    def run(step):
        transducer = Transducer(_config(sample_rate_hz=100.0, max_clock_skew_s=0.5,
                                        max_age_s=10.0, channels=1))
        rng = np.random.default_rng(4)
        _ros_stretch(transducer, rng, 0.0, 3.0, _sine)
        assert transducer._core.open_bins == 1  # the old stretch's last bin
        assert transducer.expire(now_s=4.2) == ['s']
        _ros_stretch(transducer, rng, 4.5, 9.0, lambda t: _sine(t) + step)
        assert transducer.rejected == 0 and transducer._core.open_bins <= 1
        return transducer

    still, jumped = run(0.0), run(100.0 - 40.0j)  # returns far from where it was held
    for mine, reference in zip(jumped.bank.raw(), still.bank.raw()):  # T, E0 and E_tau
        assert mine == pytest.approx(reference, rel=1e-9, abs=1e-9)
    assert jumped.bank.raw()[1] == pytest.approx(np.full(10, (2 * np.pi * 2.0) ** 2), rel=0.05)
    a, b = jumped.state(), still.state()
    assert a.gamma == pytest.approx(b.gamma, abs=1e-9) and a.summary_index == b.summary_index
    assert a.summary == pytest.approx(b.summary, abs=1e-9) and a.summary.real > 0.98


def test_silent_source_is_not_frozen_in():
    transducer = Transducer(_config(channels=2, window_s=0.5))
    rng = np.random.default_rng(3)
    t = np.arange(0, 4, 0.01)
    noise = (rng.normal(size=t.size) + 1j * rng.normal(size=t.size))[:, None]
    transducer.push('noisy', t, noise, now_s=4.0)
    transducer.expire(now_s=6.0)
    later = np.arange(4, 8, 0.01)
    transducer.push('clean', later, _sine(later), now_s=8.0)
    # The noisy source's energy has decayed away: only the clean source counts now.
    assert transducer.state().summary.real > 0.95


def test_new_source_takes_the_channels_of_a_silent_one():
    transducer = Transducer(_config(channels=1))
    t = np.arange(0, 1, 0.01)
    transducer.push('a', t, _sine(t), now_s=1.0)
    assert transducer.push('b', [1.0], [[1.0]], now_s=1.1).reason == 'too_many_sources'
    transducer.expire(now_s=3.0)
    assert transducer.push('b', [1.5], [[1.0]], now_s=3.1).accepted == 1
    assert transducer.active_sources == ['b']


def test_late_sample_from_another_source_is_rejected():
    transducer = Transducer(_config(channels=2, sample_rate_hz=10.0))
    transducer.push('a', [1.0, 2.0], np.ones((2, 1)), 0.0)
    assert transducer.push('b', [1.5], np.ones((1, 1)), 0.0).reason == 'late'


def test_unbinned_integration_takes_one_active_source():
    transducer = Transducer(_config(channels=2, sample_rate_hz=0.0))
    transducer.push('a', [1.0, 2.0], np.ones((2, 1)), 0.0)
    assert transducer.push('b', [2.5], np.ones((1, 1)), 0.0).reason == 'too_many_sources'


# ----------------------------------------------------------------------------- clock rules
def _clocked(**overrides):
    return Transducer(_config(sample_rate_hz=100.0, max_delay_s=0.1, max_clock_skew_s=0.5,
                              max_age_s=10.0, channels=4, **overrides))


def _run_clean(transducer, start_s, stop_s, attacker=None):
    """Feed source ``clean`` at 200 Hz in 10 ms messages received at their last stamp."""
    newest = []
    for now in np.arange(start_s, stop_s, 0.01):
        t = np.array([now - 0.005, now])
        if attacker is not None:
            attacker(now)
        transducer.push('clean', t, _sine(t), now_s=now)
        newest.append((now, transducer.state().newest_t))
    return newest


def test_a_source_stamped_an_hour_ahead_is_future_and_stalls_nobody():
    # Regression: one valid sample stamped ahead made every later clean sample 'late'.
    transducer = _clocked()
    _run_clean(transducer, 1.0, 2.0)
    result = transducer.push('other', [2.0 + 3600.0], [[1.0]], now_s=2.0)
    assert result.reason == 'future' and result.accepted == 0
    trace = _run_clean(transducer, 2.0, 3.0)
    assert transducer.rejections.counts['late'] == 0
    assert all(newest >= now - 0.03 for now, newest in trace)


def test_a_source_ahead_within_the_skew_never_moves_the_horizon_past_the_clock():
    transducer = _clocked()
    _run_clean(transducer, 1.0, 1.5)

    def ahead(now):  # a source 0.45 s ahead of the clock, inside the allowed skew
        assert transducer.push('ahead', [now + 0.45], [[1.0]], now_s=now).accepted == 1

    trace = _run_clean(transducer, 1.5, 3.0, attacker=ahead)
    assert transducer.rejections.counts['late'] == 0
    assert all(now - 0.03 <= newest <= now for now, newest in trace)


def test_stale_and_out_of_reach_samples_are_counted_not_raised():
    transducer = _clocked()
    _run_clean(transducer, 20.0, 20.5)
    assert transducer.push('old', [5.0], [[1.0]], now_s=20.5).reason == 'stale'
    offline = Transducer(_config())
    offline.push('s', [0.0, 0.05], np.ones((2, 1)), 0.0)
    # Without a clock (offline), a finite time too far for exact bin indices is refused.
    assert offline.push('s', [1e300], [[1.0]], 0.0).reason == 'out_of_range'
    assert offline.push('s', [0.1], [[1.0]], 0.0).accepted == 1


def test_a_source_lagging_behind_loses_only_its_own_samples():
    transducer = _clocked()

    def lagging(now):  # 2 s behind: within max_age_s, far beyond max_delay_s
        transducer.push('lagging', [now - 2.0], [[1.0]], now_s=now)

    trace = _run_clean(transducer, 1.0, 2.5, attacker=lagging)
    assert transducer.rejections.counts['late'] > 0
    assert all(newest >= now - 0.13 for now, newest in trace[20:])
