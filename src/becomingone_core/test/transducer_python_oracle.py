"""
Frozen reference: the pure-Python ``Transducer`` as it was before its per-sample loop moved to C++.

Changed deliberately on 2026-12-01 (the only change since the copy): the re-join offset of a
returning source (or of a new source taking over a silent one's channels) is now set at the
bin holding its first new sample, no longer at the first bin pushed with data on its channels.
A source usually goes silent inside a bin; that bin stays open and was pushed first on the
return, so the offset was measured on old samples and the new ones still jumped (a still
source returning at 100 times its value gave E0 about 277 instead of about 1e-20).
``_rejoining`` (a set of channels) became ``_rejoin_at`` (channel -> keys of those bins,
oldest first) and ``_push_bin`` takes the bin's key; ``becomingone_cpp.TransducerCore``
changed the same way, so both still agree bit for bit.

Tests only (never imported by the package): ``test_transducer_equivalence.py`` and
``benchmark/bench_transducer.py`` run it side by side with
:class:`becomingone_core.transducer.Transducer` on the same inputs and require the same γ, counts
and rejection reasons. Do not edit it to follow later changes of the rules: a deliberate
change of behaviour changes these tests instead. Copied unchanged (but for the change above) from
``becomingone_core/transducer.py`` as of commit 7992531; the rules it implements are stated in
that module's docstring.
"""

import math

from becomingone_core.health import RejectionCounter
from becomingone_core.input_rules import MAX_NAME_LENGTH
from becomingone_core.token_bucket import TokenBucket
from becomingone_core.transducer import (  # noqa: F401 - the oracle's API, as before
    LAG_SPACINGS, make_lags, PushResult, ResonanceState, summarise, SUMMARY_RULES,
    TransducerConfig)
import numpy as np

# What is not per-sample logic (the rule names, lag banks, summaries, the configuration and
# the result types) is the live module's: only the per-sample loop is frozen here.


class _Source:
    """One input source: its bank channels, time and rate bookkeeping."""

    def __init__(self, name, slots, now_s, rate_hz):
        self.name = name
        self.slots = slots
        self.last_received_s = now_s
        self.last_t = -math.inf
        self.active = True
        self.rejoin = True
        # At most rate_hz samples per second, one second of burst.
        self.bucket = TokenBucket(rate_hz, burst=rate_hz, now_s=now_s)


class Transducer:
    """Integrates phase from several sources into a resonance bank at one time scale."""

    def __init__(self, config, bank_factory=None):
        config.validate()
        self.config = config
        self.lags = np.asarray(config.lags, float)
        if bank_factory is None:
            from becomingone_cpp import ResonanceBank as bank_factory
        self.bank = bank_factory(self.lags.tolist(), config.window_s, config.omega,
                                 config.channels, config.bank_rate_hz)
        self.rejections = RejectionCounter('samples')
        self.accepted = 0
        self.cycles = 0
        self.dissipations = 0
        self._sources = {}
        self._free_slots = list(range(config.channels))
        self._interval = 1.0 / config.sample_rate_hz if config.sample_rate_hz > 0 else 0.0
        self._tolerance = min(1e-6, self._interval * 1e-3)
        self._anchor = None
        self._open = {}
        self._closed = -math.inf
        self._held = np.zeros(config.channels, complex)
        self._offset = np.zeros(config.channels, complex)
        # Channel -> keys of the bins holding a (re)joining source's first new sample.
        self._rejoin_at = {}
        self._first_t = math.inf
        self._newest_t = -math.inf
        self._clocked = math.isfinite(config.max_clock_skew_s)
        self._clock_s = -math.inf

    # ----------------------------------------------------------------------------- input
    def push(self, source, t, phase, now_s):
        """
        Integrate samples ``t`` (float[N] s) / ``phase`` (complex[N, c]) from ``source``.

        ``now_s`` is the receive time (the node's clock) in the same time base as ``t``, used
        for timeouts, flood control and the clock rules. Bad samples are counted by reason and
        skipped; nothing raises for bad data.
        """
        if len(source) > MAX_NAME_LENGTH:
            return self._reject('too_long', max(1, np.size(t)))
        self._clock_s = now_s
        t = np.atleast_1d(np.asarray(t, float))
        phase = np.asarray(phase, complex)
        if phase.ndim == 1:
            phase = phase.reshape(t.size, -1) if t.size else phase.reshape(0, 1)
        if phase.ndim != 2 or phase.shape[0] != t.size or t.size == 0:
            return self._reject('shape', max(t.size, 1))
        state = self._sources.get(source)
        joined = state is None
        if joined:
            state = self._add_source(source, phase.shape[1], now_s)
            if state is None:
                return self._reject('too_many_sources', t.size)
        elif len(state.slots) != phase.shape[1]:
            return self._reject('shape', t.size)
        if not state.active:
            state.active = True
            state.rejoin = True
        state.last_received_s = now_s
        result = PushResult()
        for n in range(t.size):
            reason = self._check(state, t[n], phase[n])
            if reason:
                self.rejections.counts[reason] += 1
                result.rejected += 1
                result.reason = reason
                continue
            state.last_t = result.newest_t = t[n]
            result.cycles += self._add_sample(state, t[n], phase[n])
            result.accepted += 1
        self.accepted += result.accepted
        if joined and not result.accepted:
            # Nothing usable yet: a source made only of rejected samples holds no channels
            # (and no bins back), so inventing names cannot crowd real sources out.
            self._free_slots.extend(state.slots)
            del self._sources[source]
        return result

    def reject(self, reason, count=1):
        """Count ``count`` samples refused before they reached :meth:`push` (e.g. unpacking)."""
        return self._reject(reason, count)

    def dissipate(self, factor):
        """
        Forget ``1 - factor`` of the integrated past at once (a realignment step).

        The bank scales its accumulated sums (``ResonanceBank.dissipate``); the samples, the
        lags' readiness and the counters stay. See :mod:`becomingone_core.realign` for when.
        """
        self.bank.dissipate(float(factor))
        self.dissipations += 1

    def expire(self, now_s):
        """Stop counting sources silent for ``source_timeout_s``; return their names."""
        silent = []
        for state in self._sources.values():
            if state.active and now_s - state.last_received_s >= self.config.source_timeout_s:
                state.active = False
                silent.append(state.name)
        return silent

    # ----------------------------------------------------------------------------- output
    @property
    def active_sources(self):
        return sorted(s.name for s in self._sources.values() if s.active)

    @property
    def silent_sources(self):
        return sorted(s.name for s in self._sources.values() if not s.active)

    @property
    def rejected(self):
        return self.rejections.total + int(self.bank.rejected)

    def ready(self):
        """
        Return which lags have integrated for a full window (bool[K]).

        A lag's first few products are normalised by their own energy, so |γ_k| starts near 1
        whatever the input; only after a window's worth of samples does γ_k mean anything.
        """
        integrated = self._newest_t - self._first_t
        return integrated >= self.lags + self.config.window_s

    def state(self):
        """Return the bank's current :class:`ResonanceState` (lags not yet ready count as 0)."""
        gamma = np.asarray(self.bank.resonance(), complex)
        ready = self.ready()
        index, summary = summarise(np.where(ready, gamma, 0), self.lags, self.config.summary,
                                   self.config.summary_tau_s)
        return ResonanceState(
            lags=self.lags, gamma=gamma, coherence=np.asarray(self.bank.coherence(), float),
            summary_index=index, summary=summary, samples=int(self.bank.samples),
            rejected=self.rejected, active_sources=len(self.active_sources),
            newest_t=self._newest_t)

    # ----------------------------------------------------------------------------- internals
    def _reject(self, reason, count):
        self.rejections.counts[reason] += count
        return PushResult(rejected=count, reason=reason)

    def _add_source(self, name, width, now_s):
        if self._interval == 0.0 and any(s.active for s in self._sources.values()):
            return None  # unbinned: one time line, so one source at a time
        if len(self._free_slots) < width:
            self._reclaim_silent(width)
        if len(self._free_slots) < width:
            return None
        slots = [self._free_slots.pop(0) for _ in range(width)]
        state = _Source(name, slots, now_s, self.config.max_input_rate_hz)
        self._sources[name] = state
        return state

    def _reclaim_silent(self, width):
        """Give the channels of silent sources (oldest first) back, until ``width`` are free."""
        for state in sorted(self._sources.values(), key=lambda s: s.last_received_s):
            if len(self._free_slots) >= width:
                return
            if not state.active:
                self._free_slots.extend(state.slots)
                del self._sources[state.name]

    def _check(self, state, t, values):
        if not (math.isfinite(t) and np.all(np.isfinite(values))):
            return 'non_finite'
        if self._clocked:
            if t > self._clock_s + self.config.max_clock_skew_s:
                return 'future'
            if t < self._clock_s - self.config.max_age_s:
                return 'stale'
        if t <= state.last_t:
            return 'time_backwards'
        if not self._in_reach(t):
            return 'out_of_range'
        if self._bin_of(t) <= self._closed:
            return 'late'
        if not state.bucket.admit(self._clock_s):  # last: only an accepted sample takes a token
            return 'flood'
        return ''

    def _in_reach(self, t):
        # Bin indices stay exact integers (2**52) however far a clockless caller's t lies.
        if self._interval == 0.0 or self._anchor is None:
            return True
        return abs(t - self._anchor) < self._interval * 2.0 ** 52

    def _bin_of(self, t):
        if self._interval == 0.0:
            return math.inf if t > self._newest_t else -math.inf
        if self._anchor is None:
            return math.inf
        return math.ceil((t - self._anchor - self._tolerance) / self._interval)

    def _add_sample(self, state, t, values):
        """Add one checked sample; return how many bins it let close (pushed to the bank)."""
        if self._interval == 0.0:
            index = self._closed + 1
        else:
            if self._anchor is None:
                # Bin ends fall on t0 + j / sample_rate: a regular input closes each bin with
                # its last sample instead of waiting for the next one.
                self._anchor = t - self._interval
            index = max(self._closed + 1, math.ceil(
                (t - self._anchor - self._tolerance) / self._interval))
        accumulator = self._open.get(index)
        if accumulator is None:
            accumulator = self._open[index] = _Bin(self.config.channels)
        accumulator.add(state.slots, t, values)
        if state.rejoin:
            # The offset belongs to this bin, not to an older open one (the source's last bin
            # before it went silent, or the previous owner's of these channels).
            for slot in state.slots:
                pending = self._rejoin_at.setdefault(slot, [])
                if not pending or pending[-1] != index:
                    pending.append(index)
            state.rejoin = False
        return self._close_due_bins()

    def _close_due_bins(self):
        """Close every open bin all active sources have passed (or the lead passed by delay)."""
        if self._interval == 0.0:
            due = max(self._open)
        else:
            times = [s.last_t for s in self._sources.values() if s.active]
            lead = max(times)
            if self._clocked:
                lead = min(lead, self._clock_s)
            horizon = max(min(times), lead - self.config.max_delay_s)
            if self._clocked:
                horizon = min(horizon, self._clock_s)
            due = math.floor((horizon - self._anchor + self._tolerance) / self._interval)
        pushed = 0
        for index in sorted(i for i in self._open if i <= due):
            pushed += self._push_bin(index, self._open.pop(index))
        self._closed = max(self._closed, due)
        return pushed

    def _push_bin(self, index, accumulator):
        have = accumulator.count > 0
        means = np.where(have, accumulator.total / np.maximum(accumulator.count, 1), 0)
        rejoining = [s for s, keys in self._rejoin_at.items() if have[s] and keys[0] <= index]
        # A (re)joining channel starts where it was held (every older bin, the old stretch's
        # last one included, already pushed): no velocity spike from the jump.
        self._offset[rejoining] = means[rejoining] - self._held[rejoining]
        for slot in rejoining:
            self._rejoin_at[slot] = [k for k in self._rejoin_at[slot] if k > index]
            if not self._rejoin_at[slot]:
                del self._rejoin_at[slot]
        self._held = np.where(have, means - self._offset, self._held)
        t = accumulator.t_sum / accumulator.t_count
        if t <= self._newest_t or not self.bank.push(t, self._held):
            self.rejections.counts['bank'] += 1
            return 0
        if self.cycles == 0:
            self._first_t = t
        self._newest_t = t
        self.cycles += 1
        return 1


class _Bin:
    """Sums of one integration bin, per channel, and of its sample times."""

    def __init__(self, channels):
        self.total = np.zeros(channels, complex)
        self.count = np.zeros(channels, int)
        self.t_sum = 0.0
        self.t_count = 0

    def add(self, slots, t, values):
        self.total[slots] += values
        self.count[slots] += 1
        self.t_sum += t
        self.t_count += 1
