"""
The one rate limiter: a token bucket (no rclpy).

At most ``rate_hz`` events per second on average, bursts of up to ``burst`` events. Tokens come
back with the time passed between calls (the caller's clock, so a node's sim time works), never
beyond ``burst``. Used per transducer source (samples), per witness (micro and meso records)
and per input adapter (messages).
"""


class TokenBucket:
    """A token bucket holding at most ``burst`` tokens, refilled at ``rate_hz``."""

    def __init__(self, rate_hz, burst=None, now_s=None):
        if not rate_hz > 0:
            raise ValueError('rate_hz must be > 0')
        self.rate_hz = float(rate_hz)
        self.burst = float(burst if burst is not None else max(1.0, rate_hz / 10.0))
        if not self.burst >= 1.0:
            raise ValueError('burst must be >= 1')
        self.tokens = self.burst
        self._last_s = now_s

    def refill(self, now_s):
        """Add the tokens earned since the last call (time going back earns none)."""
        if self._last_s is not None:
            self.tokens = min(self.burst,
                              self.tokens + max(0.0, now_s - self._last_s) * self.rate_hz)
        self._last_s = now_s if self._last_s is None else max(self._last_s, now_s)

    def admit(self, now_s, count=1):
        """Refill, then take ``count`` tokens if there are enough; return whether it did."""
        self.refill(now_s)
        if self.tokens < count:
            return False
        self.tokens -= count
        return True
