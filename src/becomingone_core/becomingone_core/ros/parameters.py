"""
Declare node parameters with descriptions and ranges, and fail start-up clearly on bad values.

Every BecomingONE node declares each parameter through :func:`declare` so that
``ros2 param describe`` shows what it means and which values are allowed, and a bad value in a
YAML file or on the command line stops the node with a message naming the parameter.
"""

import math

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException

#: Longest string parameter (a path is at most PATH_MAX = 4096 bytes on Linux).
MAX_TEXT_LENGTH = 4096
#: Most items in an array parameter (a lag bank has at most 4096 lags).
MAX_ITEMS = 4096


class ParameterError(ValueError):
    """A parameter value that a node cannot run with."""


def declare(node, name, default, description, *, minimum=None, maximum=None, choices=None,
            read_only=False, dynamic_typing=False):
    """
    Declare ``name`` with a descriptor, validate its value and return it.

    ``minimum``/``maximum`` become a ROS range (so the value is checked on every set, too);
    ``choices`` restricts a string to a list. Strings are at most :data:`MAX_TEXT_LENGTH`
    characters, arrays at most :data:`MAX_ITEMS` items, and every number in a float array
    finite. Raises :class:`ParameterError` naming the parameter.
    """
    descriptor = ParameterDescriptor(
        name=name, description=description, read_only=read_only,
        dynamic_typing=dynamic_typing)
    if choices is not None:
        descriptor.additional_constraints = 'one of: ' + ', '.join(map(str, choices))
    if minimum is not None or maximum is not None:
        if isinstance(default, bool) or not isinstance(default, (int, float)):
            raise TypeError(f'parameter {name!r}: ranges need a numeric default')
        if isinstance(default, int):
            descriptor.integer_range = [IntegerRange(
                from_value=int(minimum if minimum is not None else -2**63),
                to_value=int(maximum if maximum is not None else 2**63 - 1), step=0)]
        else:
            descriptor.floating_point_range = [FloatingPointRange(
                from_value=float(minimum if minimum is not None else -1.7976931348623157e308),
                to_value=float(maximum if maximum is not None else 1.7976931348623157e308),
                step=0.0)]
    try:
        value = node.declare_parameter(name, default, descriptor).value
    except (InvalidParameterValueException, InvalidParameterTypeException) as error:
        raise ParameterError(f'parameter {name!r}: {error}') from error
    if choices is not None and value not in choices:
        raise ParameterError(f'parameter {name!r} is {_short(value)}; expected one of '
                             f'{list(choices)}')
    _check_size(name, value)
    return value


def _check_size(name, value):
    items = list(value) if isinstance(value, (list, tuple)) or hasattr(value, 'tolist') else None
    if items is not None:
        if len(items) > MAX_ITEMS:
            raise ParameterError(f'parameter {name!r}: {len(items)} items > {MAX_ITEMS}')
        if not all(math.isfinite(v) for v in items if isinstance(v, float)):
            raise ParameterError(f'parameter {name!r}: every value must be finite')
        texts = [v for v in items if isinstance(v, str)]
    else:
        texts = [value] if isinstance(value, str) else []
    for text in texts:
        if len(text) > MAX_TEXT_LENGTH:
            raise ParameterError(f'parameter {name!r}: {len(text)} characters > '
                                 f'{MAX_TEXT_LENGTH}')


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else f'{text[:limit]}... ({len(text)} characters)'


def require(condition, name, why):
    """Raise :class:`ParameterError` for ``name`` unless ``condition`` holds."""
    if not condition:
        raise ParameterError(f'parameter {name!r}: {why}')
