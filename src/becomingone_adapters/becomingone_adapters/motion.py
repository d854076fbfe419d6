"""
Velocity commands from phase, with limits, acceleration limits, a watchdog and a latched e-stop.

Seed mapping: v = (Re(T) - 0.5) * 2, w = (Im(T) - 0.5) * 2, each clipped to [-1, 1] and scaled
by the declared maximum linear and angular speeds. While the gate is open the command moves
towards that target no faster than the declared accelerations. Stopping is never rate-limited:
on release, on a stale sync state (watchdog) and on e-stop the command is zero at once.

The e-stop latches: once an e-stop input says True, motion stays off until an explicit reset,
and a reset is refused while the e-stop input itself still says True.
"""


def seed_twist(t_sync):
    """Return the seed's normalised (v, w) in [-1, 1] from a complex T."""
    def clip(x):
        return max(-1.0, min(1.0, x))
    return clip((t_sync.real - 0.5) * 2.0), clip((t_sync.imag - 0.5) * 2.0)


class EStopLatch:
    """Latched emergency stop: set by a True input, cleared only by reset() once released."""

    def __init__(self):
        self.latched = False
        self.input_asserted = False

    def on_input(self, asserted):
        self.input_asserted = bool(asserted)
        if asserted:
            self.latched = True

    def reset(self):
        """Clear the latch; return (ok, message)."""
        if self.input_asserted:
            return False, 'e-stop input still asserted; release it first'
        was = self.latched
        self.latched = False
        return True, 'e-stop cleared' if was else 'e-stop was not set'


class MotionLimiter:
    """Turns a normalised target into a limited (v, w) command step by step."""

    def __init__(self, max_linear=0.2, max_angular=0.5, max_linear_accel=0.5,
                 max_angular_accel=1.0):
        for name, value in (('max_linear', max_linear), ('max_angular', max_angular),
                            ('max_linear_accel', max_linear_accel),
                            ('max_angular_accel', max_angular_accel)):
            if not value > 0:
                raise ValueError(f'{name} must be > 0')
        self.max_linear = float(max_linear)
        self.max_angular = float(max_angular)
        self.max_linear_accel = float(max_linear_accel)
        self.max_angular_accel = float(max_angular_accel)
        self.linear = 0.0
        self.angular = 0.0

    def step(self, target, dt):
        """Move towards normalised ``target`` = (v, w) within the acceleration limits."""
        dt = max(0.0, dt)
        goal_v = target[0] * self.max_linear
        goal_w = target[1] * self.max_angular
        self.linear += _bounded(goal_v - self.linear, self.max_linear_accel * dt)
        self.angular += _bounded(goal_w - self.angular, self.max_angular_accel * dt)
        return self.linear, self.angular

    def stop(self):
        self.linear = 0.0
        self.angular = 0.0
        return 0.0, 0.0


def _bounded(delta, limit):
    return max(-limit, min(limit, delta))
