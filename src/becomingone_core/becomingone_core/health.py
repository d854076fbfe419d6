"""
Small, pure health checks that nodes report as diagnostics (no rclpy here).

Each check turns what a node saw into a :class:`Status` (level, message, numeric values); the
node layer only converts statuses into ``diagnostic_msgs/DiagnosticStatus``. Levels equal
``diagnostic_msgs/DiagnosticStatus`` levels.
"""

from collections import Counter, deque
from dataclasses import dataclass, field
import math

OK = 0
WARN = 1
ERROR = 2
STALE = 3


@dataclass
class Status:
    """One diagnostic status: a level, a one-line message and named values."""

    level: int
    message: str
    values: dict = field(default_factory=dict)


class StalenessMonitor:
    """Reports WARN, then ERROR, when nothing has arrived for too long."""

    def __init__(self, warn_after_s, error_after_s, what='input'):
        if not 0 < warn_after_s <= error_after_s:
            raise ValueError('need 0 < warn_after_s <= error_after_s')
        self.warn_after_s = warn_after_s
        self.error_after_s = error_after_s
        self.what = what
        self.last_seen = None

    def touch(self, now_s):
        self.last_seen = now_s

    def age(self, now_s):
        return math.inf if self.last_seen is None else max(0.0, now_s - self.last_seen)

    def status(self, now_s):
        age = self.age(now_s)
        values = {'age_s': age}
        if self.last_seen is None:
            return Status(WARN, f'no {self.what} yet', values)
        if age >= self.error_after_s:
            return Status(ERROR, f'{self.what} stale for {age:.1f} s', values)
        if age >= self.warn_after_s:
            return Status(WARN, f'{self.what} late by {age:.1f} s', values)
        return Status(OK, f'{self.what} fresh', values)


class RateMonitor:
    """Measures an event rate over a sliding window and checks it against a minimum."""

    def __init__(self, window_s=5.0, min_rate_hz=0.0, what='events'):
        if window_s <= 0:
            raise ValueError('window_s must be > 0')
        self.window_s = window_s
        self.min_rate_hz = min_rate_hz
        self.what = what
        self._stamps = deque()

    def tick(self, now_s, count=1):
        self._stamps.append((now_s, count))
        self._expire(now_s)

    def rate(self, now_s):
        self._expire(now_s)
        return sum(count for _, count in self._stamps) / self.window_s

    def status(self, now_s):
        rate = self.rate(now_s)
        values = {'rate_hz': rate}
        if rate < self.min_rate_hz:
            return Status(WARN, f'{self.what} at {rate:.1f} Hz < {self.min_rate_hz:.1f} Hz',
                          values)
        return Status(OK, f'{self.what} at {rate:.1f} Hz', values)

    def _expire(self, now_s):
        while self._stamps and self._stamps[0][0] <= now_s - self.window_s:
            self._stamps.popleft()


class RejectionCounter:
    """Counts rejected inputs per reason; any rejection since the last report is a WARN."""

    def __init__(self, what='input'):
        self.what = what
        self.counts = Counter()
        self._reported_total = 0

    def reject(self, reason):
        self.counts[reason] += 1

    @property
    def total(self):
        return sum(self.counts.values())

    def status(self):
        values = {f'rejected_{reason}': float(n) for reason, n in sorted(self.counts.items())}
        values['rejected_total'] = float(self.total)
        fresh = self.total - self._reported_total
        self._reported_total = self.total
        if fresh:
            reasons = ', '.join(f'{r}={n}' for r, n in sorted(self.counts.items()))
            return Status(WARN, f'{fresh} {self.what} rejected since last report ({reasons})',
                          values)
        return Status(OK, f'no {self.what} rejected recently', values)


def worst(statuses):
    """Return the highest level among ``statuses`` (OK for none)."""
    return max((s.level for s in statuses), default=OK)
