"""
What a realignment request does: the weaker time scale forgets the regime the other has left.

The sync layer requests realignment while Δphase = ||T_m| - |T_e|| exceeds
``realign_threshold``: one scale is strong and the other weak. That happens when the input
changes regime (a phase step, a new frequency, coherence returning after noise): the scale that
already integrates the new regime is strong, the other still holds a window's worth of the old
one (for the Master, windows of seconds to hours). Each transducer's γ_k is an exponentially
windowed average, so the old stretch fades only as e^{-t/W}.

The answer is a forgetting step, as a recursive estimator takes one when it detects a change.
After any change of regime the fast scale (the Emissary) has already seen the present and the
slow one (the Master) still averages a window of the past, whether the past was the coherent
one (coherence leaving: the Master is the stronger, and acting on it would mean acting on a
coherence that is gone) or the incoherent one (coherence arriving, a phase step: the Master is
the weaker). So while realignment is requested the *Master* scales its accumulated sums by
``dissipation`` (``ResonanceBank.dissipate``), at most once per ``period_s``. That ages its past
by ln(1/dissipation)·W at once; what it integrates from now on weighs relatively more, and it
re-converges on the present regime sooner: the cell re-collapses sooner after a phase step and
releases sooner when coherence leaves. It is sound for the dynamics because nothing is invented:
γ_k stays the normalised autocorrelation of the velocities the bank saw, only with a shorter
memory for a while; the Emissary is never touched, and with both scales alike (steady
coherence, or steady noise) Δphase stays small and nothing is forgotten. A dissipation of 1
switches it off.
"""

from dataclasses import dataclass
import math


@dataclass
class RealignPolicy:
    """When one transducer takes a forgetting step (pure: the node applies it)."""

    role: str
    dissipation: float = 0.5
    period_s: float = 0.25

    def __post_init__(self):
        if self.role not in ('master', 'emissary'):
            raise ValueError("role: must be 'master' or 'emissary'")
        if not (0.0 < self.dissipation <= 1.0):
            raise ValueError('dissipation: must be in (0, 1] (1: off)')
        if not (math.isfinite(self.period_s) and self.period_s > 0):
            raise ValueError('period_s: must be > 0')
        self.steps = 0
        self._last_s = -math.inf

    def due(self, realign_requested, master, emissary, now_s):
        """
        Return the factor to dissipate by now, or None.

        ``master``/``emissary`` are the summaries' magnitudes in the decision (kept for the
        record and the tests); ``now_s`` is the receiver's clock (the period is counted there).
        """
        if not realign_requested or self.dissipation >= 1.0 or self.role != 'master':
            return None  # only the slow scale realigns to the fast one
        if now_s - self._last_s < self.period_s:
            return None
        self._last_s = now_s
        self.steps += 1
        return self.dissipation
