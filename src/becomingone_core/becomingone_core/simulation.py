"""
Simulated phase sources for demos and tests (pure: no rclpy).

A :class:`SimulatedSource` produces complex phase samples φ(t) ∈ ℂ^C at a fixed rate from a
*schedule* of generator segments, e.g. ``['sine:8', 'noise:6', 'sine:6']`` (coherent, then
noise, then coherent again). Generators:

- ``sine``: e^{i(2π f t + ψ_c)}, a unit phasor turning at ``frequency_hz`` (ψ_c spreads channels);
- ``sines``: Σ_j a_j e^{i 2π f_j t}, normalised to unit power;
- ``chirp``: frequency sweeping linearly from ``chirp_start_hz`` to ``chirp_end_hz`` over
  ``chirp_period_s``, then starting again;
- ``noise``: complex white Gaussian noise of unit power;
- ``steps``: a phasor whose angle jumps to a random value every ``step_period_s``.

Any segment may add white noise at ``snr_db`` (signal power over noise power). Disturbances
apply across the whole schedule: Gaussian clock jitter on the stamps (stamps stay strictly
increasing), random dropouts (no samples at all), and bursts of strong noise. Everything is
drawn from one seeded generator, so a seed and a configuration give the same stream every time.
"""

from dataclasses import dataclass, field
import math

import numpy as np

GENERATORS = ('sine', 'sines', 'chirp', 'noise', 'steps')


@dataclass
class SourceConfig:
    """What a simulated source produces; every field has a sane default."""

    rate_hz: float = 100.0
    channels: int = 1
    schedule: list = field(default_factory=lambda: ['sine:inf'])
    frequency_hz: float = 1.0
    frequencies_hz: list = field(default_factory=lambda: [1.0, 2.5])
    amplitudes: list = field(default_factory=lambda: [1.0, 0.5])
    chirp_start_hz: float = 0.5
    chirp_end_hz: float = 5.0
    chirp_period_s: float = 10.0
    step_period_s: float = 2.0
    snr_db: float = math.inf
    jitter_s: float = 0.0
    dropout_rate_hz: float = 0.0
    dropout_duration_s: float = 0.5
    burst_rate_hz: float = 0.0
    burst_duration_s: float = 0.1
    burst_snr_db: float = -10.0
    seed: int = 0

    def validate(self):
        """Raise ValueError naming the first field that cannot work."""
        checks = [
            ('rate_hz', self.rate_hz > 0 and math.isfinite(self.rate_hz), 'must be > 0'),
            ('channels', self.channels >= 1, 'must be >= 1'),
            ('frequencies_hz', len(self.frequencies_hz) == len(self.amplitudes) > 0,
             'needs one amplitude per frequency'),
            ('amplitudes', any(a != 0 for a in self.amplitudes), 'must not all be zero'),
            ('chirp_period_s', self.chirp_period_s > 0, 'must be > 0'),
            ('step_period_s', self.step_period_s > 0, 'must be > 0'),
            ('jitter_s', 0 <= self.jitter_s and self.jitter_s * self.rate_hz < 0.5,
             'must be >= 0 and below half a sample period'),
            ('dropout_rate_hz', self.dropout_rate_hz >= 0, 'must be >= 0'),
            ('dropout_duration_s', self.dropout_duration_s > 0, 'must be > 0'),
            ('burst_rate_hz', self.burst_rate_hz >= 0, 'must be >= 0'),
            ('burst_duration_s', self.burst_duration_s > 0, 'must be > 0'),
        ]
        for name, ok, why in checks:
            if not ok:
                raise ValueError(f'{name}: {why}')
        parse_schedule(self.schedule)


def parse_schedule(schedule):
    """Turn ``['sine:8', 'noise:inf']`` into ``[('sine', 8.0), ('noise', inf)]``."""
    if not schedule:
        raise ValueError('schedule: needs at least one segment')
    segments = []
    for entry in schedule:
        name, _, duration = str(entry).partition(':')
        name = name.strip()
        if name not in GENERATORS:
            raise ValueError(f'schedule: unknown generator {name!r} (one of {GENERATORS})')
        try:
            seconds = float(duration) if duration.strip() else math.inf
        except ValueError:
            raise ValueError(f'schedule: bad duration in {entry!r}') from None
        if not seconds > 0:
            raise ValueError(f'schedule: duration must be > 0 in {entry!r}')
        segments.append((name, seconds))
    return segments


class SimulatedSource:
    """Generates the samples of a :class:`SourceConfig`, in time order, on demand."""

    def __init__(self, config):
        config.validate()
        self.config = config
        self.segments = parse_schedule(config.schedule)
        self._boundaries = np.cumsum([seconds for _, seconds in self.segments])
        # One stream per purpose, each drawn in sample order, so the output does not depend on
        # how callers slice time into calls.
        jitter, noise, steps, events = np.random.SeedSequence(config.seed).spawn(4)
        self._jitter_rng = np.random.default_rng(jitter)
        self._noise_rng = np.random.default_rng(noise)
        self._step_rng = np.random.default_rng(steps)
        self._event_rng = np.random.default_rng(events)
        self._next_index = 0
        self._step_angles = {}
        self._channel_offsets = 2 * np.pi * np.arange(config.channels) / config.channels
        self._dropouts = self._events(config.dropout_rate_hz, config.dropout_duration_s)
        self._bursts = self._events(config.burst_rate_hz, config.burst_duration_s)

    @property
    def duration_s(self):
        """Length of the schedule (inf when its last segment never ends)."""
        return float(self._boundaries[-1])

    def segment_at(self, t):
        """Return the generator name in force at schedule time ``t`` (seconds from start)."""
        index = int(np.searchsorted(self._boundaries, t, side='right'))
        return self.segments[min(index, len(self.segments) - 1)][0]

    def samples_until(self, t_end):
        """
        Return ``(t, phase)`` for every sample with nominal time ≤ ``t_end``, not yet returned.

        ``t`` is float64[N] seconds from the start of the schedule (jittered, strictly
        increasing); ``phase`` is complex128[N, C]. Samples inside a dropout are skipped.
        """
        rate = self.config.rate_hz
        last = min(math.floor(t_end * rate + 1e-9), self._last_index())
        indices = np.arange(self._next_index, last + 1)
        self._next_index = max(self._next_index, last + 1)
        nominal = indices / rate
        # Jitter and noise are drawn for every index, dropped or not, for the same reason.
        # Clipped to ±0.45 sample periods so stamps stay strictly increasing.
        jitter = np.clip(self._jitter_rng.normal(0.0, self.config.jitter_s, nominal.size),
                         -0.45 / rate, 0.45 / rate)
        phases = np.array([self._clean(t) for t in nominal]).reshape(-1, self.config.channels)
        phases = self._add_noise(nominal, phases)
        keep = ~self._inside(self._dropouts, nominal)
        return (nominal + jitter)[keep], phases[keep]

    def _last_index(self):
        if math.isinf(self.duration_s):
            return math.inf
        return math.floor(self.duration_s * self.config.rate_hz - 1e-9)

    def _clean(self, t):
        """Return the noiseless signal of the segment in force at ``t``, per channel."""
        c = self.config
        name = self.segment_at(t)
        if name == 'sine':
            angle = 2 * np.pi * c.frequency_hz * t
        elif name == 'sines':
            amplitudes = np.asarray(c.amplitudes, float)
            value = np.sum(amplitudes * np.exp(2j * np.pi * np.asarray(c.frequencies_hz) * t))
            return value / np.sqrt(np.sum(amplitudes ** 2)) * np.exp(1j * self._channel_offsets)
        elif name == 'chirp':
            tau = t % c.chirp_period_s
            slope = (c.chirp_end_hz - c.chirp_start_hz) / c.chirp_period_s
            angle = 2 * np.pi * (c.chirp_start_hz * tau + 0.5 * slope * tau ** 2)
        elif name == 'steps':
            step = int(t // c.step_period_s)
            if step not in self._step_angles:
                self._step_angles[step] = self._step_rng.uniform(0, 2 * np.pi)
            angle = self._step_angles[step]
        else:  # noise: the signal part is zero; _add_noise supplies unit-power noise
            return np.zeros(c.channels, complex)
        return np.exp(1j * (angle + self._channel_offsets))

    def _add_noise(self, t, phases):
        c = self.config
        is_noise = np.array([self.segment_at(x) == 'noise' for x in t], bool)
        power = np.where(is_noise, 1.0, 10 ** (-c.snr_db / 10) if math.isfinite(c.snr_db) else 0.0)
        power = power + np.where(self._inside(self._bursts, t), 10 ** (-c.burst_snr_db / 10), 0.0)
        draws = self._noise_rng.normal(size=(*phases.shape, 2))
        noise = draws[..., 0] + 1j * draws[..., 1]
        return phases + noise * np.sqrt(power / 2)[:, None]

    def _events(self, rate_hz, duration_s):
        """Start times of Poisson events over the schedule (capped at one hour ahead)."""
        if rate_hz <= 0:
            return np.empty(0), duration_s
        horizon = min(self.duration_s, 3600.0)
        count = self._event_rng.poisson(rate_hz * horizon)
        return np.sort(self._event_rng.uniform(0, horizon, count)), duration_s

    @staticmethod
    def _inside(events, t):
        starts, duration = events
        index = np.searchsorted(starts, t, side='right') - 1
        valid = index >= 0
        inside = np.zeros(len(t), bool)
        inside[valid] = t[valid] < starts[index[valid]] + duration
        return inside
