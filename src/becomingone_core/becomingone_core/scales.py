"""
Scale presets: the time scales a cell integrates over, per kind of host (pure data, no rclpy).

A preset fixes, for the Emissary (fast) and the Master (slow), the lag bank, the integration
window and the integration rate, plus the sync layer's thresholds. Nodes take a preset by name
(parameter ``scale``) and every value stays overridable one by one.

Rules the presets keep: a transducer's shortest lag is at least two integration bins (white
noise differenced once is anti-correlated at one bin, uncorrelated beyond), lags are linearly
spaced where the bank is narrow enough (so the Re γ peak lands close to any period) and log
spaced over decades, and the integration rate is as low as the shortest lag allows, which keeps
the differenced noise small and the CPU low. What Python sustains per preset is measured by
``benchmark/bench_cell.py`` and written in the package README.
"""

from dataclasses import dataclass

from becomingone_core.transducer import make_lags, TransducerConfig


@dataclass(frozen=True)
class TransducerPreset:
    """Lag bank, window and integration rate of one transducer."""

    lag_min_s: float
    lag_max_s: float
    lag_count: int
    lag_spacing: str
    window_s: float
    sample_rate_hz: float

    def lags(self):
        return make_lags(self.lag_min_s, self.lag_max_s, self.lag_count, self.lag_spacing)


@dataclass(frozen=True)
class ScalePreset:
    """One host class: both transducers and the sync layer's thresholds."""

    description: str
    emissary: TransducerPreset
    master: TransducerPreset
    threshold: float = 0.5
    hysteresis: float = 0.1
    realign_threshold: float = 0.25
    source_timeout_s: float = 1.0

    def transducer(self, role):
        return {'emissary': self.emissary, 'master': self.master}[role]

    @property
    def slowest_window_s(self):
        return max(self.emissary.window_s, self.master.window_s)


PRESETS = {
    # The demo and the tests: seconds, so collapse/release shows within a 20 s run at 100 Hz.
    # The Emissary integrates at 12.5 Hz: 8 samples per bin at 100 Hz keep 10 dB noise small
    # after differencing; its lags reach 1 s so any period from 0.16 s to 1 s finds a multiple.
    'demo': ScalePreset(
        'demo and tests: Emissary 0.16-1 s, Master 1-2 s, seconds-long windows',
        emissary=TransducerPreset(0.16, 1.0, 43, 'linear', 1.0, 12.5),
        master=TransducerPreset(1.0, 2.0, 11, 'linear', 2.0, 10.0)),
    # Raspberry Pi Zero: the cell spans 10 ms - 1 s.
    'micro': ScalePreset(
        'Raspberry Pi Zero: 10 ms - 1 s',
        emissary=TransducerPreset(0.01, 0.2, 20, 'linear', 0.5, 200.0),
        master=TransducerPreset(0.2, 1.0, 17, 'linear', 4.0, 20.0)),
    # Raspberry Pi Zero 2 / Pi 3: 10 ms - 10 s.
    'nano': ScalePreset(
        'Raspberry Pi Zero 2 / Pi 3: 10 ms - 10 s',
        emissary=TransducerPreset(0.01, 1.0, 24, 'log', 1.0, 200.0),
        master=TransducerPreset(1.0, 10.0, 19, 'linear', 20.0, 10.0)),
    # Raspberry Pi 4: 1 - 60 s on the Master.
    'mini': ScalePreset(
        'Raspberry Pi 4: Emissary 20 ms - 1 s, Master 1 - 60 s',
        emissary=TransducerPreset(0.02, 1.0, 32, 'log', 1.0, 100.0),
        master=TransducerPreset(1.0, 60.0, 48, 'log', 120.0, 10.0)),
    # A workstation: dense banks up to 60 s.
    'standard': ScalePreset(
        'workstation: Emissary 10 ms - 1 s (100 lags), Master 1 - 60 s (119 lags)',
        emissary=TransducerPreset(0.01, 1.0, 100, 'linear', 1.0, 200.0),
        master=TransducerPreset(1.0, 60.0, 119, 'linear', 300.0, 20.0)),
    # A cloud host: the Master reaches an hour back with a two-hour window.
    'macro': ScalePreset(
        'cloud: Emissary 10 ms - 1 s, Master 1 s - 1 h',
        emissary=TransducerPreset(0.01, 1.0, 100, 'linear', 1.0, 200.0),
        master=TransducerPreset(1.0, 3600.0, 256, 'log', 7200.0, 10.0)),
}

SCALES = tuple(PRESETS)


def preset(name):
    """Return the :class:`ScalePreset` called ``name``; ValueError names the choices."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f'scale {name!r} is not one of {list(PRESETS)}') from None


def transducer_config(scale, role, **overrides):
    """
    Return the :class:`TransducerConfig` of ``role`` in ``scale`` (a preset or its name).

    The one place a transducer's configuration is assembled: the nodes pass their parameters
    as ``overrides`` (each defaulting to the preset's value), the offline cell model none.
    """
    chosen = preset(scale) if isinstance(scale, str) else scale
    settings = chosen.transducer(role)
    values = {'lags': tuple(settings.lags()), 'window_s': settings.window_s,
              'sample_rate_hz': settings.sample_rate_hz,
              'source_timeout_s': chosen.source_timeout_s}
    values.update(overrides)
    return TransducerConfig(**values)
