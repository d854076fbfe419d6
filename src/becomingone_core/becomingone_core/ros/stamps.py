"""Conversions between ``builtin_interfaces/Time`` and plain numbers, shared by every node."""

from builtin_interfaces.msg import Time

NANOSECONDS = 1_000_000_000


def seconds(stamp):
    """Return a stamp as a float number of seconds; ``sec`` is signed, so it may be negative."""
    return stamp.sec + stamp.nanosec * 1e-9


def stamp_ns(stamp):
    """Return a ``builtin_interfaces/Time`` as integer nanoseconds."""
    return stamp.sec * NANOSECONDS + stamp.nanosec


def set_stamp(stamp, nanoseconds):
    """Write integer ``nanoseconds`` into an existing ``builtin_interfaces/Time``."""
    stamp.sec, stamp.nanosec = divmod(int(nanoseconds), NANOSECONDS)


def time_from_seconds(value):
    """Return a new ``builtin_interfaces/Time`` for float seconds (rounded to the nanosecond)."""
    stamp = Time()
    set_stamp(stamp, round(value * NANOSECONDS))
    return stamp
