"""Transducer.push takes any block: bad shapes, ranges and names are counted, never raised."""

from becomingone_core.transducer import make_lags, Transducer, TransducerConfig
from hypothesis import given, settings, strategies as st
import numpy as np
import pytest
from transducer_python_oracle import Transducer as OracleTransducer

KNOWN_REASONS = {'non_finite', 'future', 'stale', 'time_backwards', 'out_of_range', 'late',
                 'flood', 'too_many_sources', 'shape', 'too_long', 'bank'}


def _config(**overrides):
    values = {'lags': tuple(make_lags(0.01, 0.1, 4)), 'window_s': 0.5, 'sample_rate_hz': 100.0,
              'channels': 3, 'max_clock_skew_s': 0.5, 'max_age_s': 10.0}
    values.update(overrides)
    return TransducerConfig(**values)


def _transducer(**overrides):
    return Transducer(_config(**overrides))


def test_push_block_is_the_block_call():
    transducer = _transducer()
    t = np.arange(1.0, 1.1, 0.001)
    result = transducer.push_block('imu', t, np.exp(1j * t)[:, None], now_s=1.1)
    assert result.accepted == t.size and transducer.accepted == t.size
    assert transducer.cycles == result.cycles > 0


def test_malformed_shapes_are_counted_not_raised():
    transducer = _transducer()
    assert transducer.push('s', [1.0, 1.1, 1.2], [1, 2, 3, 4], 1.2).reason == 'shape'
    assert transducer.push('s', np.ones((2, 2)), np.ones((2, 2)), 1.2).reason == 'shape'
    assert transducer.push('s', [1.0], 1.0, 1.2).reason == 'shape'
    assert transducer.push('s', [], [1.0], 1.2).reason == 'shape'
    assert transducer.rejections.counts == {'shape': 1 * 3 + 4 + 1 + 1}
    # A flat block of one channel per stamp is still taken as it always was.
    assert transducer.push('s', [1.0, 1.1], [1.0, 2.0], 1.2).accepted == 2


def test_a_rate_below_one_hertz_is_refused_up_front():
    with pytest.raises(ValueError, match='max_input_rate_hz'):
        _transducer(max_input_rate_hz=0.5)


def test_any_str_is_a_source_name():
    transducer = _transducer()
    odd = '\ud800 lone surrogate \x00 and ünïcödé'
    assert transducer.push(odd, [1.0], [[1.0]], 1.0).accepted == 1
    assert transducer.active_sources == [odd]
    assert transducer.expire(5.0) == [odd] and transducer.silent_sources == [odd]


_values = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [0.0, 1e-320, 1e308, -1e308, 2.0 ** 70])


@settings(max_examples=150, deadline=None)
@given(name=st.text(max_size=300), count=st.integers(1, 12), width=st.integers(1, 4),
       stamps=st.lists(_values, min_size=12, max_size=12),
       values=st.lists(_values, min_size=48, max_size=48),
       now_s=st.floats(-1e12, 1e12), clocked=st.booleans())
def test_any_block_is_counted_by_a_known_reason(name, count, width, stamps, values, now_s,
                                                clocked):
    config = _config(**({} if clocked else {'max_clock_skew_s': np.inf, 'max_age_s': np.inf}))
    transducer, oracle = Transducer(config), OracleTransducer(config)
    t = np.array(stamps[:count])
    phase = np.array(values[:count * width], complex).reshape(count, width)
    results = []
    for one in (transducer, oracle):
        one.push('clean', [now_s - 0.01, now_s], [[1.0], [1.0]], now_s)
        results.append(one.push(name, t, phase, now_s))
    result = results[0]
    # The same outcome, bit for bit, as the frozen Python implementation on hostile ranges too.
    assert (result.accepted, result.rejected, result.reason, result.cycles) == (
        results[1].accepted, results[1].rejected, results[1].reason, results[1].cycles)
    assert transducer.rejections.counts == oracle.rejections.counts
    assert np.array_equal(transducer.bank.raw()[0], oracle.bank.raw()[0])
    assert transducer.bank.samples == oracle.bank.samples
    assert result.accepted + result.rejected == count
    assert set(transducer.rejections.counts) <= KNOWN_REASONS
    assert transducer.rejected == transducer.rejections.total + transducer.bank.rejected
    state = transducer.state()  # always readable
    assert state.samples == transducer.bank.samples
    if clocked:  # with a receiver clock (as in every node) nothing stalls the clean source
        later = now_s + np.array([0.01, 0.02, 0.03])
        assert transducer.push('clean', later, np.ones((3, 1)), later[-1]).accepted == 3
