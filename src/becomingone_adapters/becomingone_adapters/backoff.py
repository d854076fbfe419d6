"""
Reconnecting to a broker or a port: when to try again, and what an outage cost (no rclpy).

:class:`Backoff` gives the wait before each retry: exponential (``base_s`` * 2^n), capped at
``max_s``, with random jitter so that many clients cut off by the same broker restart do not
all come back in the same instant. :class:`LinkState` keeps the accounting a bridge reports:
connected or not, reconnects, failed attempts and the time spent disconnected (the "gap").
Both take the caller's clock, so they are tested without sleeping.
"""

import math
import random
import threading


class Backoff:
    """
    Exponential backoff with jitter, capped: the n-th wait is in [(1 - jitter) d, d].

    d = min(``max_s``, ``base_s`` * 2^n). ``jitter`` in [0, 1] is the fraction of d that may be
    taken off at random (0: no jitter; 1: "full jitter", anywhere in [0, d]).
    """

    def __init__(self, base_s=0.1, max_s=10.0, jitter=0.5, rng=None):
        if not (math.isfinite(base_s) and math.isfinite(max_s) and 0 < base_s <= max_s):
            raise ValueError(f'need finite 0 < base_s <= max_s, got {base_s}, {max_s}')
        if not 0.0 <= jitter <= 1.0:
            raise ValueError(f'jitter must be in [0, 1], got {jitter}')
        self.base_s = float(base_s)
        self.max_s = float(max_s)
        self.jitter = float(jitter)
        self._rng = rng or random.Random()
        self.attempt = 0

    def ceiling(self, attempt):
        """Return the longest wait before retry number ``attempt`` (0 = the first)."""
        # 2.0 ** 1100 overflows a float: past the cap the exponent no longer matters.
        exponent = min(attempt, 1 + math.ceil(math.log2(self.max_s / self.base_s)))
        return min(self.max_s, self.base_s * 2.0 ** exponent)

    def next_delay(self):
        """Return the wait before the next retry and count the attempt."""
        ceiling = self.ceiling(self.attempt)
        self.attempt += 1
        return ceiling * (1.0 - self.jitter * self._rng.random())

    def reset(self):
        """Start again from ``base_s`` (after a connection that worked)."""
        self.attempt = 0


class LinkState:
    """
    The history of one link: connects, losses, failed attempts and the time spent down.

    Called from the link's own thread and read from the executor's: every method holds a lock.
    ``reconnects`` counts connections after the first; ``gap_s`` adds up the time from each
    loss to the next connection (the time before the first connection is not a gap: it is
    ``waiting_s``).
    """

    def __init__(self, now_s):
        self._lock = threading.Lock()
        self.connected = False
        self.connects = 0
        self.losses = 0
        self.failures = 0
        self.last_error = ''
        self.gap_s = 0.0
        self.last_gap_s = 0.0
        self._down_since = now_s
        self._started = now_s

    @property
    def reconnects(self):
        return max(0, self.connects - 1)

    def connected_at(self, now_s):
        with self._lock:
            if self.connected:
                return
            if self.connects:
                self.last_gap_s = max(0.0, now_s - self._down_since)
                self.gap_s += self.last_gap_s
            self.connected = True
            self.connects += 1

    def lost_at(self, now_s, error=''):
        with self._lock:
            if not self.connected:
                return
            self.connected = False
            self.losses += 1
            self._down_since = now_s
            if error:
                self.last_error = error[:200]

    def failed(self, error):
        """Count an attempt to connect that did not work."""
        with self._lock:
            self.failures += 1
            self.last_error = str(error)[:200]

    def down_for(self, now_s):
        """Return how long the link has been down now (0 while connected)."""
        with self._lock:
            return 0.0 if self.connected else max(0.0, now_s - self._down_since)

    def values(self, now_s):
        """Return the numbers a diagnostics status shows."""
        down = self.down_for(now_s)
        with self._lock:
            ongoing = down if self.connects else 0.0
            return {'connected': float(self.connected), 'reconnects': float(self.reconnects),
                    'connection_losses': float(self.losses),
                    'connect_failures': float(self.failures),
                    'gap_s': self.gap_s + ongoing, 'last_gap_s': self.last_gap_s,
                    'down_for_s': down}
