"""
Checks every input adapter applies to stamps before encoding.

(The rate cap every input node applies is ``becomingone_core.token_bucket.TokenBucket``.)

Drivers and simulators do send stamps that are negative, far in the future or going backwards,
and a misbehaving publisher can flood a topic; each of these is refused with a named reason
(see :class:`becomingone_adapters.encoding.RejectedInput`) so it is counted in /diagnostics.
"""

import math

from becomingone_core.input_rules import RejectedInput


class StampGuard:
    """Accepts stamps that are positive, not too far ahead of now, and not going backwards."""

    def __init__(self, max_future_skew_s=1.0, allow_backwards=False):
        if not max_future_skew_s > 0:
            raise ValueError('max_future_skew_s must be > 0')
        self.max_future_skew_s = float(max_future_skew_s)
        self.allow_backwards = allow_backwards
        self.last_stamp_s = None

    def check(self, stamp_s, now_s):
        """
        Return the stamp to use for an input stamped ``stamp_s`` and received at ``now_s``.

        A zero stamp means "unstamped" (some drivers never fill it): the receive time is used.
        """
        if not math.isfinite(stamp_s):
            raise RejectedInput('non_finite', 'stamp is not finite')
        if stamp_s < 0.0:
            raise RejectedInput('negative_stamp', f'stamp {stamp_s:.3f} s')
        if stamp_s == 0.0:
            stamp_s = now_s
        if stamp_s > now_s + self.max_future_skew_s:
            raise RejectedInput('future_stamp',
                                f'stamp {stamp_s - now_s:.3f} s ahead of the clock')
        if (not self.allow_backwards and self.last_stamp_s is not None
                and stamp_s < self.last_stamp_s):
            raise RejectedInput('stamp_backwards',
                                f'stamp {self.last_stamp_s - stamp_s:.6f} s before the last one')
        return stamp_s

    def accept(self, stamp_s):
        """Record ``stamp_s`` as the newest stamp published."""
        self.last_stamp_s = stamp_s
