"""
A transducer: one time scale's view of the incoming phase, reduced to one resonance γ (no rclpy).

The Master and the Emissary are both a :class:`Transducer`; only their presets differ (lags,
window, integration rate). Each wraps a ``becomingone_cpp.ResonanceBank`` and adds what the bank
leaves to its caller:

- **Sources as channels.** Every input source (a ``Phase`` ``source``) owns as many bank
  channels as it has complex channels. A source not heard for ``source_timeout_s`` stops
  contributing: its channels hold their last value, so their velocity and therefore their share of
  T, E0 and Eτ is zero from then on and its past share decays with the window (reported, never
  frozen in). A returning source is re-joined without a jump (a per-channel offset absorbs the
  step), and a new source may take over the channels of one that went silent. The offset is
  set at the bin holding the returning (or new) source's first new sample: a source usually
  goes silent inside a bin, which stays open and is pushed first on the return; it holds old
  samples and is kept (it is real data, and closing it early would push a bin before its end
  and turn the other sources' samples for it into ``late``), so the held value continues
  through it and the step is taken between it and the first new bin.
- **Integration bins.** Samples are averaged over bins of ``1 / sample_rate_hz`` seconds before
  the bank sees them. The bank differentiates the phase, which multiplies white noise power by
  2 / dt²; averaging M samples divides it by M and the longer step by M² again, so a slow
  transducer integrating at a low rate sees much cleaner velocities (and costs less). A bin is
  pushed as soon as every active source has reached its end, so with one regular source binning
  adds no waiting; a source lagging behind holds bins back at most ``max_delay_s`` (its samples
  for bins already pushed are rejected as ``late``). ``sample_rate_hz`` 0 pushes every sample as
  it comes (one source only, then: a second active source is ``too_many_sources``).
- **One source never stalls another.** With a receiver clock (``max_clock_skew_s`` finite; the
  nodes always set one), a sample stamped more than ``max_clock_skew_s`` ahead of the clock is
  ``future`` and one older than ``max_age_s`` is ``stale``: neither is integrated. The
  integration horizon follows the sources only up to the receiver's clock: a bin closes when
  every active source has passed it, or when the clock has passed it by ``max_delay_s``, and
  never beyond the clock. So a source stamped ahead (within the skew) waits for the clock
  instead of pushing the others' samples into ``late``, and a source lagging more than
  ``max_delay_s`` loses only its own samples. A source whose stamps jump back is refused
  (``time_backwards``) until it passes its newest sample again, at most the skew later, since
  nothing accepted lies further ahead; the other sources keep integrating meanwhile.
- **The summary γ** (:data:`SUMMARY_RULES`), by default ``peak_real``: the lag where Re γ_k is
  largest, i.e. where the dynamics best repeat themselves in phase. A periodic input has
  γ_k = e^{i 2π f τ_k}, so both transducers pick a lag near a multiple of the period and report a
  γ close to +1: their summaries align in phase, and T_sync = (T_m + T_e) / 2 keeps its length.
  (``peak_coherence`` takes the largest |γ_k|², which does not align phases; ``nearest`` reports
  the lag closest to a chosen τ.) White noise has Re γ_k ≈ 0 for lags of two bins or more.
  A lag takes part only once it has integrated for a full window after its history reached back
  τ_k (:meth:`Transducer.ready`): a freshly started γ_k is normalised by its own few samples and
  says nothing yet.

Everything per sample (the source table, the clock, order and rate rules, the bins and the feed
of closed bins into the bank) runs in C++ (``becomingone_cpp.TransducerCore``), one call per
message block; it repeats the rules above step by step and gives the same bits as the pure-Python
implementation it replaced (frozen as ``test/transducer_python_oracle.py`` for the tests). The
per-source rate limit is :class:`~becomingone_core.token_bucket.TokenBucket`'s arithmetic with
``max_input_rate_hz`` tokens per second and one second of burst; only a sample that passed every
other rule takes a token (``flood`` otherwise).
"""

from dataclasses import dataclass
import math

from becomingone_core.health import RejectionCounter
from becomingone_core.input_rules import MAX_NAME_LENGTH
import numpy as np

SUMMARY_RULES = ('peak_real', 'peak_coherence', 'nearest')
LAG_SPACINGS = ('linear', 'log')


def make_lags(lag_min_s, lag_max_s, count, spacing='linear'):
    """Return ``count`` lags (s) from ``lag_min_s`` to ``lag_max_s``, linear or log spaced."""
    if count < 1:
        raise ValueError('lag_count must be >= 1')
    if not 0 < lag_min_s <= lag_max_s or not math.isfinite(lag_max_s):
        raise ValueError('need 0 < lag_min_s <= lag_max_s')
    if spacing not in LAG_SPACINGS:
        raise ValueError(f'lag_spacing must be one of {LAG_SPACINGS}')
    if count == 1:
        return np.array([lag_min_s])
    if spacing == 'log':
        return np.geomspace(lag_min_s, lag_max_s, count)
    return np.linspace(lag_min_s, lag_max_s, count)


def summarise(gamma, lags, rule='peak_real', target_tau=0.0):
    """Reduce the bank's γ_k to ``(index, γ)`` by ``rule`` (see :data:`SUMMARY_RULES`)."""
    gamma = np.asarray(gamma, complex)
    if rule == 'peak_real':
        index = int(np.argmax(gamma.real))
    elif rule == 'peak_coherence':
        index = int(np.argmax(np.abs(gamma) ** 2))
    elif rule == 'nearest':
        index = int(np.argmin(np.abs(np.asarray(lags) - target_tau)))
    else:
        raise ValueError(f'summary rule must be one of {SUMMARY_RULES}')
    return index, complex(gamma[index])


@dataclass
class TransducerConfig:
    """Everything that defines a transducer; presets (:mod:`becomingone_core.scales`) fill it."""

    lags: tuple
    window_s: float
    omega: float = 0.0
    channels: int = 4
    sample_rate_hz: float = 0.0
    summary: str = 'peak_real'
    summary_tau_s: float = 0.0
    source_timeout_s: float = 1.0
    max_delay_s: float = 0.1
    max_input_rate_hz: float = 10000.0
    #: Receiver clock rules (see the module docstring); inf: no clock (offline use).
    max_clock_skew_s: float = math.inf
    max_age_s: float = math.inf

    def validate(self):
        """Raise ValueError naming the first field that cannot work."""
        lags = np.asarray(self.lags, float)
        checks = [
            ('lags', lags.ndim == 1 and lags.size > 0 and np.all(np.isfinite(lags))
             and np.all(lags >= 0), 'must be a non-empty list of finite lags >= 0 s'),
            ('window_s', math.isfinite(self.window_s) and self.window_s > 0, 'must be > 0'),
            ('omega', math.isfinite(self.omega), 'must be finite'),
            ('channels', self.channels >= 1, 'must be >= 1'),
            ('sample_rate_hz', math.isfinite(self.sample_rate_hz) and self.sample_rate_hz >= 0,
             'must be >= 0 (0: integrate every sample)'),
            ('summary', self.summary in SUMMARY_RULES, f'must be one of {SUMMARY_RULES}'),
            ('source_timeout_s', self.source_timeout_s > 0, 'must be > 0'),
            ('max_delay_s', self.max_delay_s >= 0, 'must be >= 0'),
            ('max_input_rate_hz', self.max_input_rate_hz >= 1,
             'must be >= 1 (a bucket of one second of burst holds a whole sample)'),
            ('max_clock_skew_s', self.max_clock_skew_s >= 0, 'must be >= 0'),
            ('max_age_s', self.max_age_s > 0, 'must be > 0'),
        ]
        for name, ok, why in checks:
            if not ok:
                raise ValueError(f'{name}: {why}')
        if self.sample_rate_hz > 0 and lags.max() * self.sample_rate_hz >= 2 ** 26:
            raise ValueError('lags: longest lag times sample_rate_hz exceeds the kernel history')

    @property
    def bank_rate_hz(self):
        """Return the highest rate the bank will see (it bounds the history)."""
        return self.sample_rate_hz if self.sample_rate_hz > 0 else self.max_input_rate_hz


@dataclass
class ResonanceState:
    """A transducer's state after an integration cycle, as plain values."""

    lags: np.ndarray
    gamma: np.ndarray
    coherence: np.ndarray
    summary_index: int
    summary: complex
    samples: int
    rejected: int
    active_sources: int
    newest_t: float

    @property
    def summary_coherence(self):
        return abs(self.summary) ** 2

    @property
    def summary_tau(self):
        return float(self.lags[self.summary_index])


@dataclass
class PushResult:
    """What one :meth:`Transducer.push` did: samples accepted and rejected, bins pushed."""

    accepted: int = 0
    rejected: int = 0
    reason: str = ''
    cycles: int = 0
    newest_t: float = -math.inf  # stamp of the newest accepted sample


class Transducer:
    """
    Integrates phase from several sources into a resonance bank at one time scale.

    ``bank_factory(lags, window_s, omega, channels, max_rate)`` must return a
    ``becomingone_cpp.ResonanceBank`` (the default): the C++ core feeds it directly.
    """

    def __init__(self, config, bank_factory=None):
        config.validate()
        self.config = config
        self.lags = np.asarray(config.lags, float)
        if bank_factory is None:
            from becomingone_cpp import ResonanceBank as bank_factory
        self.bank = bank_factory(self.lags.tolist(), config.window_s, config.omega,
                                 config.channels, config.bank_rate_hz)
        from becomingone_cpp import TransducerCore
        # Everything per sample (sources, clock, order and rate rules, bins) runs in C++.
        self._core = TransducerCore(
            self.bank, config.channels, config.sample_rate_hz, config.max_delay_s,
            config.max_input_rate_hz, config.max_clock_skew_s, config.max_age_s,
            config.source_timeout_s)
        self.rejections = RejectionCounter('samples')
        self.dissipations = 0

    # ----------------------------------------------------------------------------- input
    def push(self, source, t, phase, now_s):
        """
        Integrate samples ``t`` (float[N] s) / ``phase`` (complex[N, c]) from ``source``.

        ``now_s`` is the receive time (the node's clock) in the same time base as ``t``, used
        for timeouts, flood control and the clock rules. Bad samples are counted by reason and
        skipped; nothing raises for bad data. One call per message block: the samples are
        checked, binned and integrated in one C++ call (``becomingone_cpp.TransducerCore``).
        """
        if len(source) > MAX_NAME_LENGTH:
            return self._reject('too_long', max(1, np.size(t)))
        t = np.atleast_1d(np.asarray(t, float))
        phase = np.asarray(phase, complex)
        if phase.ndim == 1 and t.size and phase.size % t.size == 0:
            phase = phase.reshape(t.size, -1)  # one row of channels per stamp
        if t.ndim != 1 or phase.ndim != 2 or phase.shape[0] != t.size or t.size == 0:
            return self._reject('shape', max(t.size, 1))
        accepted, rejected, reason, cycles, newest_t, counts = self._core.push(
            source, t, phase, float(now_s))
        if counts:
            self.rejections.counts.update(counts)
        return PushResult(accepted, rejected, reason, cycles, newest_t)

    #: The same call under the name of the message-block API (one call per message).
    push_block = push

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
        return self._core.expire(float(now_s))

    # ----------------------------------------------------------------------------- output
    @property
    def active_sources(self):
        return self._core.active_sources

    @property
    def silent_sources(self):
        return self._core.silent_sources

    @property
    def accepted(self):
        """Return how many samples were accepted so far (every source)."""
        return self._core.accepted

    @property
    def cycles(self):
        """Return how many integration bins were pushed to the bank so far."""
        return self._core.cycles

    @property
    def rejected(self):
        return self.rejections.total + int(self.bank.rejected)

    def ready(self):
        """
        Return which lags have integrated for a full window (bool[K]).

        A lag's first few products are normalised by their own energy, so |γ_k| starts near 1
        whatever the input; only after a window's worth of samples does γ_k mean anything.
        """
        integrated = self._core.newest_t - self._core.first_t
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
            newest_t=self._core.newest_t)

    # ----------------------------------------------------------------------------- internals
    def _reject(self, reason, count):
        self.rejections.counts[reason] += count
        return PushResult(rejected=count, reason=reason)
