"""
The sync layer decides whether Master and Emissary agree enough to collapse (no rclpy).

With the transducers' normalised summaries T_m and T_e (|T| <= 1):

- Δphase = ||T_m| - |T_e||, the gap between the two time scales' strengths;
- T_sync = (T_m + T_e) / 2, so coherence |T_sync|² is in [0, 1] and is high only when both are
  strong *and* aligned in phase;
- collapsed from the moment coherence >= I_c (``threshold``) until it falls below
  I_c - ``hysteresis`` (a hysteresis of 0 releases as soon as coherence < I_c);
- ``realign_requested`` while Δphase > ``realign_threshold``: one scale dissipates and the
  transducers are asked to realign.

A transducer whose summary is missing (never seen, or stale) counts as T = 0, so a cell cannot
stay collapsed on one scale alone.
"""

from dataclasses import dataclass
import math

COLLAPSE, RELEASE, REALIGN, REALIGNED = 'collapse', 'release', 'realign', 'realigned'


@dataclass
class SyncDecision:
    """One decision of the sync layer, and the events it started."""

    stamp_s: float
    master: complex
    emissary: complex
    sync: complex
    delta_phase: float
    coherence: float
    collapsed: bool
    realign_requested: bool
    events: tuple = ()


class SyncLayer:
    """Decides collapse with hysteresis and keeps the timings the demo summary reports."""

    def __init__(self, threshold=0.5, hysteresis=0.1, realign_threshold=0.5):
        if not 0.0 < threshold <= 1.0:
            raise ValueError('threshold: must be in (0, 1]')
        if not 0.0 <= hysteresis < threshold:
            raise ValueError('hysteresis: must be >= 0 and below threshold')
        if not 0.0 < realign_threshold <= 1.0:
            raise ValueError('realign_threshold: must be in (0, 1]')
        self.threshold = threshold
        self.hysteresis = hysteresis
        self.realign_threshold = realign_threshold
        self.collapsed = False
        self.realign_requested = False
        self.collapses = 0
        self.releases = 0
        self.first_collapse_s = None
        self.time_collapsed_s = 0.0
        self._collapsed_since = None
        self._last = None

    def update(self, master, emissary, stamp_s):
        """Decide on the summaries ``master``/``emissary`` (complex, or None when missing)."""
        master = _clip(master)
        emissary = _clip(emissary)
        sync = (master + emissary) / 2
        coherence = min(1.0, abs(sync) ** 2)
        delta = abs(abs(master) - abs(emissary))
        events = []
        if not self.collapsed and coherence >= self.threshold:
            self.collapsed = True
            self.collapses += 1
            self._collapsed_since = stamp_s
            if self.first_collapse_s is None:
                self.first_collapse_s = stamp_s
            events.append(COLLAPSE)
        elif self.collapsed and coherence < self.threshold - self.hysteresis:
            self.collapsed = False
            self.releases += 1
            self.time_collapsed_s += max(0.0, stamp_s - self._collapsed_since)
            self._collapsed_since = None
            events.append(RELEASE)
        realign = delta > self.realign_threshold
        if realign != self.realign_requested:
            events.append(REALIGN if realign else REALIGNED)
        self.realign_requested = realign
        self._last = SyncDecision(stamp_s, master, emissary, sync, delta, coherence,
                                  self.collapsed, realign, tuple(events))
        return self._last

    def total_collapsed_s(self, now_s):
        """Time spent collapsed so far, the current collapse included."""
        ongoing = now_s - self._collapsed_since if self._collapsed_since is not None else 0.0
        return self.time_collapsed_s + max(0.0, ongoing)

    @property
    def last(self):
        return self._last


def _clip(value):
    """Missing or non-finite summaries count as 0; longer than 1 is cut back to the unit circle."""
    if value is None:
        return 0j
    value = complex(value)
    if not (math.isfinite(value.real) and math.isfinite(value.imag)):
        return 0j
    magnitude = abs(value)
    return value / magnitude if magnitude > 1.0 else value
