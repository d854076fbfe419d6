"""
A twist_mux-style lock from the collapse gate: locked while the cell is NOT collapsed.

twist_mux ``locks`` are ``std_msgs/Bool`` topics: while one is true, every velocity input of a
lower priority is muted. An existing robot stack gets the cell's gate without code changes by
adding this lock to its twist_mux configuration. The lock is true unless the gate is open
(collapsed and heard from within the watchdog), so a dead cell locks the robot. It is sent at
once on every change and repeated every ``period_s``, which keeps a lock with a ``timeout`` in
twist_mux alive.
"""


class LockSignal:
    """Says when to publish the lock and what value it carries."""

    def __init__(self, period_s=0.1):
        if not period_s > 0:
            raise ValueError('period_s must be > 0')
        self.period_s = float(period_s)
        self.locked = None  # nothing published yet
        self.last_sent_s = None
        self.changes = 0

    def due(self, now_s, gate_open):
        """Return the value to publish now (True: locked), or None when nothing is due."""
        locked = not gate_open
        changed = locked != self.locked
        if not changed and self.last_sent_s is not None and \
                now_s - self.last_sent_s < self.period_s:
            return None
        if changed and self.locked is not None:
            self.changes += 1
        self.locked = locked
        self.last_sent_s = now_s
        return locked
