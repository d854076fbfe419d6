"""
Turn declared-range signals into unit phasors (refusals: ``input_rules.RejectedInput``).

Every scalar input uses the same encoding: the value is normalised with its declared range to
u in [0, 1] (clipped, and the clipping counted) and mapped onto the right half of the unit
circle, z = exp(i * pi * (u - 1/2)). The magnitude stays 1 so only the signal's timing and
rhythm reach the KAIROS kernel (which correlates phase velocity); the half circle keeps the two
range ends apart, so a value sweeping the range never produces a 2 pi jump.
"""

import math

from becomingone_core.input_rules import RejectedInput
import numpy as np


def half_circle(u):
    """Map u in [0, 1] onto exp(i pi (u - 1/2)) on the right half of the unit circle."""
    return np.exp(1j * math.pi * (np.asarray(u, dtype=float) - 0.5))


def finite_values(values, what='value'):
    """Return ``values`` as a 1-D float array, refusing NaN and infinities."""
    try:
        array = np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError) as error:
        raise RejectedInput('not_numeric', f'{what}: {error}') from error
    if not np.all(np.isfinite(array)):
        raise RejectedInput('non_finite', f'{what} contains NaN or inf')
    return array


class RangeEncoder:
    """Normalise values with a declared [low, high] range, count clipping, encode as phasors."""

    def __init__(self, low, high, name='value'):
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ValueError(f'{name}: need finite low < high, got [{low}, {high}]')
        self.low = float(low)
        self.high = float(high)
        self.name = name
        self.clipped = 0

    def normalise(self, values):
        """Return values scaled to [0, 1]; values outside the range are clipped and counted."""
        array = finite_values(values, self.name)
        u = (array - self.low) / (self.high - self.low)
        outside = int(np.count_nonzero((u < 0.0) | (u > 1.0)))
        self.clipped += outside
        return np.clip(u, 0.0, 1.0)

    def encode(self, values):
        """Return the unit phasors of ``values`` (a 1-D complex array)."""
        return half_circle(self.normalise(values))
