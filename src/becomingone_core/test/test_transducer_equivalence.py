"""
The C++ per-sample transducer gives the same bits as the frozen pure-Python one.

Every call goes to both :class:`becomingone_core.transducer.Transducer` (one C++ call per block)
and the frozen oracle (``transducer_python_oracle.py``, the Python loop it replaced); after each
call the results, the counters by reason, the source table, γ, the bank's raw sums and its
counters must be *identical*, not close. Zero tolerance is the right one: the C++ core repeats
each floating-point step of the Python code in its order (bin sums, numpy's complex division,
Python's min/max on ties, the token bucket's refill) and is compiled without fused
multiply-adds, and both feed the same C++ bank, so any difference at all is a changed rule.
"""

from becomingone_core.scales import transducer_config
from becomingone_core.transducer import make_lags, Transducer, TransducerConfig
from hypothesis import given, HealthCheck, settings, strategies as st
import numpy as np
import pytest
from transducer_python_oracle import Transducer as OracleTransducer

EPOCH_NS = 1_764_000_000 * 1_000_000_000  # a ROS clock in 2025, as the node's epoch
NANOSECONDS = 1_000_000_000


def _config(**overrides):
    values = {'lags': tuple(make_lags(0.01, 0.2, 8)), 'window_s': 0.5,
              'sample_rate_hz': 200.0, 'channels': 4, 'source_timeout_s': 0.3,
              'max_delay_s': 0.05, 'max_clock_skew_s': 0.5, 'max_age_s': 2.0}
    values.update(overrides)
    return TransducerConfig(**values)


class Pair:
    """The new and the frozen transducer side by side; every call checks they agree."""

    def __init__(self, config):
        self.new = Transducer(config)
        self.old = OracleTransducer(config)
        self.calls = 0

    def push(self, source, t, phase, now_s):
        new = self.new.push(source, t, phase, now_s)
        old = self.old.push(source, t, phase, now_s)
        assert (new.accepted, new.rejected, new.reason, new.cycles) == (
            old.accepted, old.rejected, old.reason, old.cycles)
        assert _same(new.newest_t, old.newest_t)
        self.calls += 1
        self.check()
        return new

    def expire(self, now_s):
        assert self.new.expire(now_s) == self.old.expire(now_s)
        self.check()

    def dissipate(self, factor):
        self.new.dissipate(factor)
        self.old.dissipate(factor)

    def reject(self, reason, count):
        self.new.reject(reason, count)
        self.old.reject(reason, count)

    def check(self):
        new, old = self.new, self.old
        assert dict(new.rejections.counts) == dict(old.rejections.counts)
        assert (new.accepted, new.cycles, new.rejected) == (
            old.accepted, old.cycles, old.rejected)
        assert new.active_sources == old.active_sources
        assert new.silent_sources == old.silent_sources
        for name in new.active_sources + new.silent_sources:
            assert new._core.channels_of(name) == old._sources[name].slots
        assert new.bank.samples == old.bank.samples
        assert new.bank.rejected == old.bank.rejected
        for mine, theirs in zip(new.bank.raw(), old.bank.raw()):
            assert np.array_equal(mine, theirs)
        assert np.array_equal(new.ready(), old.ready())
        a, b = new.state(), old.state()
        assert np.array_equal(a.gamma, b.gamma) and np.array_equal(a.coherence, b.coherence)
        assert (a.summary_index, a.samples, a.rejected, a.active_sources) == (
            b.summary_index, b.samples, b.rejected, b.active_sources)
        assert _same(a.summary, b.summary) and _same(a.newest_t, b.newest_t)


def _same(a, b):
    return a == b or (a != a and b != b)  # equal, or both NaN


def _ros_block(rng, start_ns, count, rate_hz=1000.0, jitter=0.1, width=1, frequency_hz=7.0):
    """``count`` ROS-ns stamps from ``start_ns`` at ``rate_hz`` ± ``jitter``, as node seconds."""
    step = NANOSECONDS / rate_hz
    steps = np.rint(step * (1.0 + rng.uniform(-jitter, jitter, count))).astype(np.int64)
    stamps = start_ns + np.cumsum(steps) - steps[0]
    t = (stamps - EPOCH_NS) / NANOSECONDS
    channels = np.exp(2j * np.pi * frequency_hz * t[:, None] * (1 + np.arange(width)))
    noise = 0.05 * (rng.normal(size=(count, width)) + 1j * rng.normal(size=(count, width)))
    return stamps, t, channels + noise


def test_several_ros_sources_at_1khz_with_jitter_silence_and_return():
    rng = np.random.default_rng(11)
    pair = Pair(_config())
    widths = {'imu': 2, 'lidar': 1, 'joints': 1}
    next_ns = dict.fromkeys(widths, EPOCH_NS + 250_000_000)
    silent_from, silent_to = 1.0, 1.6  # 'lidar' stops, is expired, then returns
    for step in range(300):
        now_ns = EPOCH_NS + 250_000_000 + (step + 1) * 10_000_000
        for name, width in widths.items():
            count = int(rng.integers(5, 15))
            stamps, t, phase = _ros_block(rng, next_ns[name], count, width=width)
            next_ns[name] = int(stamps[-1]) + 1_000_000
            if name == 'lidar' and silent_from < t[0] < silent_to:
                continue
            # Received a little after the last stamp (transport delay).
            pair.push(name, t, phase, (now_ns - EPOCH_NS) / NANOSECONDS + 0.002)
        if step % 10 == 0:
            pair.expire((now_ns - EPOCH_NS) / NANOSECONDS)
    counts = pair.new.rejections.counts
    assert pair.new.cycles > 500 and set(counts) <= {'late', 'time_backwards'}
    assert pair.new.active_sources == ['imu', 'joints', 'lidar']


def test_every_rejection_reason_agrees():
    rng = np.random.default_rng(5)
    pair = Pair(_config(channels=3, max_input_rate_hz=800.0))
    _, t, phase = _ros_block(rng, EPOCH_NS + NANOSECONDS, 200)
    now = t[-1]
    pair.push('a', t, phase, now)
    pair.push('a', t[:50], phase[:50], now)  # time going backwards
    bad = phase[:5].copy()
    bad[2] = np.nan
    pair.push('a', t[-1] + 0.001 * np.arange(1, 6), bad, now + 0.005)  # one non-finite
    pair.push('b', [now + 3600.0], [[1.0]], now)  # future: b holds no channels afterwards
    pair.push('b', [now - 100.0], [[1.0]], now)  # stale
    pair.push('b', [now - 0.2], [[1.0]], now)  # late: its bin already closed
    now += 0.01
    pair.push('c', [now], np.ones((1, 2)), now)  # two channels: fits in the free ones
    pair.push('d', [now], np.ones((1, 1)), now)  # every channel taken
    pair.push('a', [now + 0.01], np.ones((1, 2)), now)  # a is one channel wide
    pair.push('a', [], np.ones((0, 1)), now)
    pair.push('x' * 10_000, [now], [[1.0]], now)  # a name too long
    pair.reject('size_mismatch', 3)
    offline = Pair(_config(max_clock_skew_s=np.inf, max_age_s=np.inf, max_input_rate_hz=800.0))
    _, t, phase = _ros_block(rng, EPOCH_NS + NANOSECONDS, 3000)
    offline.push('s', t, phase, t[0])  # a flood: 3 s of samples at once, 800 Hz of budget
    offline.push('s', [1e300], [[1.0]], t[-1])  # out of the bins' exact range
    offline.push('s', t[-1] + [0.1, 0.2], [[1e308], [-1e308]], t[-1])  # velocity overflows
    reasons = set(pair.new.rejections.counts) | set(offline.new.rejections.counts)
    assert reasons >= {'time_backwards', 'non_finite', 'future', 'stale', 'late', 'shape',
                       'too_many_sources', 'too_long', 'size_mismatch', 'flood',
                       'out_of_range', 'bank'}


def test_a_new_source_takes_over_silent_channels_in_the_same_order():
    pair = Pair(_config(channels=3, sample_rate_hz=100.0))
    t = np.arange(0.0, 0.5, 0.001)
    for name in ('a', 'b', 'c'):
        pair.push(name, t, np.exp(1j * t)[:, None], 0.5)
    pair.push('a', t + 0.5, np.exp(1j * t)[:, None], 1.0)
    pair.expire(1.4)  # b and c silent, a still heard
    pair.push('wide', 1.0 + t, np.ones((t.size, 2)), 1.5)  # reclaims c's and b's channels
    assert pair.new._core.channels_of('wide') == pair.old._sources['wide'].slots
    pair.push('b', 1.5 + t[:10], np.ones((10, 1)), 1.51)  # b is gone: nothing left for it
    pair.expire(3.0)
    pair.push('b', 2.0 + t, np.exp(-1j * t)[:, None], 3.0)  # rejoins on reclaimed channels


def test_returns_onto_an_open_bin_agree():
    # The re-join offset is set at the bin of the first new sample, not at the old stretch's
    # last bin still open (a single source going silent leaves it open): returns, a source
    # flapping within one bin of 50 ms, and a new source taking over from an open bin.
    rng = np.random.default_rng(3)
    pair = Pair(_config(channels=2, sample_rate_hz=20.0))
    start = EPOCH_NS + NANOSECONDS
    for stretch in range(12):
        count = 40 if stretch % 3 == 0 else 8
        stamps, t, phase = _ros_block(rng, start, count, width=2)
        start = int(stamps[-1]) + 1_500_000_000  # silent past source_timeout_s
        pair.push('s', t, phase * (1 + 50 * stretch) + 30j * stretch, t[-1] + 0.002)
        assert pair.new._core.open_bins >= 1
        pair.expire(t[-1] + 1.0)
    _, t, phase = _ros_block(rng, start, 200, width=1)
    pair.push('other', t, phase - 400.0, t[-1] + 0.002)  # takes over s's first channel
    assert pair.new._core.channels_of('other') == [0] and pair.new.cycles > 20


def test_unbinned_integration_agrees():
    rng = np.random.default_rng(2)
    pair = Pair(_config(sample_rate_hz=0.0, channels=2))
    start = EPOCH_NS + NANOSECONDS
    for _ in range(40):
        stamps, t, phase = _ros_block(rng, start, 25, width=2)
        start = int(stamps[-1]) + 1_000_000
        pair.push('only', t, phase, t[-1])
        pair.push('second', t, phase[:, :1], t[-1])  # too_many_sources while 'only' is active
    pair.expire(t[-1] + 1.0)
    _, t, phase = _ros_block(rng, start - 20_000_000, 25, width=1)
    pair.push('second', t, phase, t[-1] + 1.0)  # now it may: late at first, then accepted


@pytest.mark.parametrize('scale', ['demo', 'micro', 'mini'])
@pytest.mark.parametrize('role', ['emissary', 'master'])
def test_presets_with_realignment_agree(scale, role):
    rng = np.random.default_rng(7)
    pair = Pair(transducer_config(scale, role, max_clock_skew_s=0.5, max_age_s=10.0,
                                  channels=4))
    start = EPOCH_NS + NANOSECONDS
    for block in range(60):
        stamps, t, phase = _ros_block(rng, start, 100, width=2)
        start = int(stamps[-1]) + 1_000_000
        pair.push('sim', t, phase, t[-1] + 0.001)
        if block % 20 == 19:
            pair.dissipate(0.5)
    assert pair.new.cycles > 0


# ----------------------------------------------------------------------------- hypothesis
_blocks = st.lists(st.tuples(
    st.sampled_from(['a', 'b', 'c', 'wide']),  # source ('wide' has two channels)
    st.integers(1, 40),  # samples in the block
    st.sampled_from([1000.0, 200.0, 37.0]),  # rate (Hz)
    st.floats(-0.3, 0.05),  # start relative to the clock (s): late, stale, ahead
    st.floats(0.0, 0.08),  # how far the clock moves before this block (s)
    st.sampled_from(['ok', 'ok', 'ok', 'backwards', 'nan', 'expire', 'future', 'dissipate'])),
    min_size=1, max_size=30)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks=_blocks, sample_rate_hz=st.sampled_from([0.0, 50.0, 200.0, 1000.0]),
       channels=st.integers(1, 4), rate_limit=st.sampled_from([1e4, 300.0, 20.0]),
       clocked=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_random_block_sequences_agree(blocks, sample_rate_hz, channels, rate_limit, clocked,
                                      seed):
    rng = np.random.default_rng(seed)
    pair = Pair(_config(sample_rate_hz=sample_rate_hz, channels=channels,
                        max_input_rate_hz=rate_limit,
                        max_clock_skew_s=0.1 if clocked else np.inf,
                        max_age_s=0.25 if clocked else np.inf))
    now_ns = EPOCH_NS + NANOSECONDS
    for source, count, rate, start_s, advance_s, kind in blocks:
        now_ns += int(advance_s * NANOSECONDS)
        now = (now_ns - EPOCH_NS) / NANOSECONDS
        if kind == 'expire':
            pair.expire(now)
            continue
        if kind == 'dissipate':
            pair.dissipate(0.7)
            continue
        start_ns = now_ns + int(start_s * NANOSECONDS)
        if kind == 'future':
            start_ns += NANOSECONDS
        _, t, phase = _ros_block(rng, start_ns, count, rate_hz=rate,
                                 width=2 if source == 'wide' else 1)
        if kind == 'backwards':
            t = t[::-1].copy()
        elif kind == 'nan':
            phase[rng.integers(count)] = complex(np.nan, 0.0)
        pair.push(source, t, phase, now)
