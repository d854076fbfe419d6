"""
A click-free tone whose pitch follows phase and whose volume follows coherence.

Seed mapping: f = 440 + Re(T) * 440 Hz, gain = coherence (0 while released). Clicks come from
discontinuities, so the oscillator keeps a running phase across blocks and both frequency and
gain glide per sample towards their targets with a first-order smoother (time constant
``glide_s``); a released cell fades out instead of cutting off.
"""

import math

import numpy as np


def seed_frequency(t_real, base_hz=440.0, span_hz=440.0):
    """Return the seed's pitch: base + Re * span, Re clipped to [-1, 1]."""
    return base_hz + max(-1.0, min(1.0, t_real)) * span_hz


class ToneSynth:
    """Renders mono blocks; frequency and gain glide, phase never jumps."""

    def __init__(self, sample_rate=22050, glide_s=0.02, max_gain=0.5):
        if not sample_rate > 0 or not glide_s > 0 or not 0 <= max_gain <= 1:
            raise ValueError('need sample_rate > 0, glide_s > 0, 0 <= max_gain <= 1')
        self.sample_rate = float(sample_rate)
        self.max_gain = float(max_gain)
        self._alpha = 1.0 - math.exp(-1.0 / (glide_s * sample_rate))
        self.frequency = 440.0
        self.gain = 0.0
        self._phase = 0.0

    def render(self, frames, target_hz, target_gain):
        """Return ``frames`` samples gliding towards ``target_hz`` and ``target_gain``."""
        target_hz = min(max(target_hz, 0.0), self.sample_rate / 2.0)
        target_gain = self.max_gain * min(max(target_gain, 0.0), 1.0)
        decay = (1.0 - self._alpha) ** np.arange(1, frames + 1)
        frequency = target_hz + (self.frequency - target_hz) * decay
        gain = target_gain + (self.gain - target_gain) * decay
        phase = self._phase + np.cumsum(2.0 * math.pi * frequency / self.sample_rate)
        self.frequency, self.gain = float(frequency[-1]), float(gain[-1])
        self._phase = float(phase[-1] % (2.0 * math.pi))
        return gain * np.sin(phase)
