"""
A whole cell's decision path in one object, offline: Emissary + Master + sync layer (no rclpy).

The nodes run these same pieces in separate processes; this model runs them on arrays, which is
what the statistical tests (many seeds) and the presets' tuning need.
"""

from dataclasses import dataclass, field

from becomingone_core.realign import RealignPolicy
from becomingone_core.scales import preset, transducer_config
from becomingone_core.sync import SyncLayer
from becomingone_core.transducer import Transducer
import numpy as np

ROLES = ('emissary', 'master')


@dataclass
class Timeline:
    """Decisions taken every ``step_s`` over a run."""

    t: np.ndarray
    coherence: np.ndarray
    collapsed: np.ndarray
    events: list = field(default_factory=list)

    def first(self, collapsed, after_s=-np.inf):
        """First decision time >= ``after_s`` with the given collapsed state (None if never)."""
        hits = np.flatnonzero((self.collapsed == collapsed) & (self.t >= after_s))
        return float(self.t[hits[0]]) if hits.size else None


class CellModel:
    """Both transducers and the sync layer of a preset, fed directly with samples."""

    def __init__(self, scale='demo', realign_dissipation=1.0, realign_threshold=None):
        chosen = preset(scale)
        self.transducers = {role: Transducer(transducer_config(scale, role)) for role in ROLES}
        self.sync = SyncLayer(chosen.threshold, chosen.hysteresis,
                              realign_threshold or chosen.realign_threshold)
        # The nodes' realignment (realign.py), offline: 1.0 switches it off.
        self.realign = {role: RealignPolicy(role, realign_dissipation,
                                            transducer_config(scale, role).window_s / 8)
                        for role in ROLES}

    def push(self, source, t, phase, now_s):
        for transducer in self.transducers.values():
            transducer.push(source, t, phase, now_s)

    def decide(self, stamp_s):
        summaries = {role: tr.state().summary for role, tr in self.transducers.items()}
        decision = self.sync.update(summaries['master'], summaries['emissary'], stamp_s)
        for role, policy in self.realign.items():
            factor = policy.due(decision.realign_requested, abs(decision.master),
                                abs(decision.emissary), stamp_s)
            if factor is not None:
                self.transducers[role].dissipate(factor)
        return decision

    def run(self, t, phase, step_s=0.1, source='sim'):
        """Feed ``t``/``phase`` in chunks of ``step_s`` and decide after each chunk."""
        t = np.asarray(t, float)
        phase = np.asarray(phase, complex).reshape(t.size, -1)
        ends = np.arange(t[0] + step_s, t[-1] + step_s, step_s)
        bounds = np.searchsorted(t, ends, side='right')
        times, coherence, collapsed, events = [], [], [], []
        start = 0
        for end_s, stop in zip(ends, bounds):
            if stop > start:
                self.push(source, t[start:stop], phase[start:stop], end_s)
                start = stop
            decision = self.decide(end_s)
            times.append(end_s)
            coherence.append(decision.coherence)
            collapsed.append(decision.collapsed)
            events.extend((end_s, e) for e in decision.events)
        return Timeline(np.array(times), np.array(coherence), np.array(collapsed, bool), events)
