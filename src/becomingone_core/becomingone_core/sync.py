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

**A borrowed slow scale.** A light cell runs no Master: its mesh node gives it the full cells'
combined T as the Master summary (``borrowed``). That summary says nothing about this cell's
own input and is near 1 whenever the mesh is coherent, so T_sync alone would let the cell
collapse on an Emissary as weak as |T_e| = sqrt(2) - 1 (white noise reaches that a few percent
of the time). With a borrowed Master the Emissary must also be coherent on its own scale:
collapse needs |T_e|^2 >= I_c too, and the cell releases when |T_e|^2 falls below
I_c - hysteresis, like coherence.

**One clock per decision.** :meth:`SyncLayer.observe` takes each summary with two times: its
stamp (the newest input sample behind it, the sensors' clock) and when it was received (the
receiver's clock). Staleness is judged on the receiver's clock (a summary not *heard* for
``resonance_timeout_s`` counts as T = 0, whatever its stamp says), and every decision is stamped
on the sensors' clock: a decision taken because a summary went stale (:meth:`SyncLayer.expire`)
is stamped with the newest summary's stamp plus the receiver time elapsed since it arrived. So
``collapsed_since``, the time spent collapsed and every published stamp share one time base.
"""

from dataclasses import dataclass, replace
import math

COLLAPSE, RELEASE, REALIGN, REALIGNED = 'collapse', 'release', 'realign', 'realigned'
ROLES = ('master', 'emissary')
NANOSECONDS = 1_000_000_000
#: The ``transducer`` a mesh node names when it gives a light cell the slow scale.
SLOW_SCALE_SOURCE = 'mesh'


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
    stamp_ns: int = 0


class SyncLayer:
    """Decides collapse with hysteresis and keeps the timings the demo summary reports."""

    def __init__(self, threshold=0.5, hysteresis=0.1, realign_threshold=0.25,
                 resonance_timeout_s=1.0):
        if not 0.0 < threshold <= 1.0:
            raise ValueError('threshold: must be in (0, 1]')
        if not 0.0 <= hysteresis < threshold:
            raise ValueError('hysteresis: must be >= 0 and below threshold')
        if not 0.0 < realign_threshold <= 1.0:
            raise ValueError('realign_threshold: must be in (0, 1]')
        if not resonance_timeout_s > 0:
            raise ValueError('resonance_timeout_s: must be > 0')
        self.resonance_timeout_s = resonance_timeout_s
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
        self._summaries = dict.fromkeys(ROLES)
        self._heard_ns = dict.fromkeys(ROLES)
        self.borrowed_master = False
        # The newest decision's sensor stamp and the receiver time it was taken at.
        self._anchor = None

    # ----------------------------------------------------------------------------- streams
    def observe(self, role, summary, stamp_ns, now_ns, borrowed=False):
        """
        Take ``role``'s summary stamped ``stamp_ns`` and heard at ``now_ns``; decide.

        ``borrowed``: the Master summary is the mesh's slow scale, not this cell's own.
        """
        if role not in ROLES:
            raise ValueError(f'role must be one of {ROLES}')
        if role == 'master':
            self.borrowed_master = bool(borrowed)
        self._summaries[role] = summary
        self._heard_ns[role] = now_ns
        return self._decide(int(stamp_ns), now_ns)

    def expire(self, now_ns):
        """Count summaries not heard for ``resonance_timeout_s`` as missing; decide if any was."""
        stale = [role for role in ROLES if self._summaries[role] is not None
                 and self.age_s(role, now_ns) >= self.resonance_timeout_s]
        if not stale or self._anchor is None:
            return None
        for role in stale:
            self._summaries[role] = None
        stamp_ns, at_ns = self._anchor
        return self._decide(stamp_ns + max(0, now_ns - at_ns), now_ns, stale=tuple(stale))

    def age_s(self, role, now_ns):
        """Receiver time since ``role`` was last heard (inf if never)."""
        heard = self._heard_ns[role]
        return float('inf') if heard is None else max(0, now_ns - heard) / NANOSECONDS

    def missing(self):
        """Roles whose summary counts as T = 0 now (never heard, or stale)."""
        return [role for role in ROLES if self._summaries[role] is None]

    def _decide(self, stamp_ns, now_ns, stale=()):
        # One time base: the sensors'. A stamp never goes back (an older summary arriving late
        # is decided at the newest stamp seen), so durations cannot come out negative.
        if self._anchor is not None:
            stamp_ns = max(stamp_ns, self._anchor[0])
        self._anchor = (stamp_ns, now_ns)
        decision = self.update(self._summaries['master'], self._summaries['emissary'],
                               stamp_ns / NANOSECONDS)
        self._last = decision = replace(decision, stamp_ns=stamp_ns)
        return decision

    # ----------------------------------------------------------------------------- decision
    def update(self, master, emissary, stamp_s):
        """Decide on the summaries ``master``/``emissary`` (complex, or None when missing)."""
        master = _clip(master)
        emissary = _clip(emissary)
        sync = (master + emissary) / 2
        coherence = min(1.0, abs(sync) ** 2)
        delta = abs(abs(master) - abs(emissary))
        # A borrowed Master (a light cell) vouches for nothing here: the Emissary must hold too.
        own = abs(emissary) ** 2 if self.borrowed_master else 1.0
        events = []
        if not self.collapsed and coherence >= self.threshold and own >= self.threshold:
            self.collapsed = True
            self.collapses += 1
            self._collapsed_since = stamp_s
            if self.first_collapse_s is None:
                self.first_collapse_s = stamp_s
            events.append(COLLAPSE)
        elif self.collapsed and min(coherence, own) < self.threshold - self.hysteresis:
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
    magnitude = math.hypot(value.real, value.imag)  # abs() overflows near 1e308
    return value / magnitude if magnitude > 1.0 else value
