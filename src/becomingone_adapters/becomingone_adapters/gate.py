"""
The collapse gate every output shares: act only while the cell is collapsed and heard from.

A sync state older than the watchdog period counts as released: a cell that died or a link that
broke must never leave an actuator running on its last word.
"""

import math


class CollapseGate:
    """Keeps the newest sync state and says whether outputs may act now."""

    def __init__(self, watchdog_s=0.5):
        if not watchdog_s > 0:
            raise ValueError('watchdog_s must be > 0')
        self.watchdog_s = float(watchdog_s)
        self.collapsed = False
        self.coherence = 0.0
        self.t_sync = 0j
        self.last_update_s = None

    def update(self, now_s, collapsed, coherence, t_sync):
        """Record a sync state received at ``now_s``; refuse non-finite values."""
        if not (math.isfinite(coherence) and math.isfinite(t_sync.real)
                and math.isfinite(t_sync.imag)):
            raise ValueError('non-finite sync state')
        self.collapsed = bool(collapsed)
        self.coherence = min(1.0, max(0.0, float(coherence)))
        self.t_sync = complex(t_sync)
        self.last_update_s = now_s

    def stale(self, now_s):
        return self.last_update_s is None or now_s - self.last_update_s > self.watchdog_s

    def is_open(self, now_s):
        """Return True while collapsed and the last sync state is younger than the watchdog."""
        return self.collapsed and not self.stale(now_s)

    def reason(self, now_s):
        """Why the gate is closed ('' when open)."""
        if self.last_update_s is None:
            return 'no sync state yet'
        if self.stale(now_s):
            return f'sync state stale ({now_s - self.last_update_s:.2f} s)'
        return '' if self.collapsed else 'released'
