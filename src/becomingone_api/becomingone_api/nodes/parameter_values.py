"""
ROS parameter values to and from JSON, for the gateway's parameter endpoints.

The gateway never validates a parameter itself: it asks the node (``describe_parameters``,
``get_parameters``, ``set_parameters_atomically``) and reports the node's own answer, refusal
reason included. The only help it gives is type conversion: a JSON number for a double
parameter is sent as a double (JSON cannot tell 1 from 1.0), and a value JSON cannot carry as
a ROS type (null, an object, a mixed list) is refused before any call.
"""

import math

from rcl_interfaces.msg import ParameterType, ParameterValue

TYPE_NAMES = {
    ParameterType.PARAMETER_NOT_SET: 'not_set', ParameterType.PARAMETER_BOOL: 'bool',
    ParameterType.PARAMETER_INTEGER: 'integer', ParameterType.PARAMETER_DOUBLE: 'double',
    ParameterType.PARAMETER_STRING: 'string', ParameterType.PARAMETER_BYTE_ARRAY: 'byte_array',
    ParameterType.PARAMETER_BOOL_ARRAY: 'bool_array',
    ParameterType.PARAMETER_INTEGER_ARRAY: 'integer_array',
    ParameterType.PARAMETER_DOUBLE_ARRAY: 'double_array',
    ParameterType.PARAMETER_STRING_ARRAY: 'string_array',
}
_FIELDS = {
    ParameterType.PARAMETER_BOOL: 'bool_value', ParameterType.PARAMETER_INTEGER: 'integer_value',
    ParameterType.PARAMETER_DOUBLE: 'double_value', ParameterType.PARAMETER_STRING: 'string_value',
    ParameterType.PARAMETER_BYTE_ARRAY: 'byte_array_value',
    ParameterType.PARAMETER_BOOL_ARRAY: 'bool_array_value',
    ParameterType.PARAMETER_INTEGER_ARRAY: 'integer_array_value',
    ParameterType.PARAMETER_DOUBLE_ARRAY: 'double_array_value',
    ParameterType.PARAMETER_STRING_ARRAY: 'string_array_value',
}
_ARRAY_OF = {
    ParameterType.PARAMETER_BOOL: ParameterType.PARAMETER_BOOL_ARRAY,
    ParameterType.PARAMETER_INTEGER: ParameterType.PARAMETER_INTEGER_ARRAY,
    ParameterType.PARAMETER_DOUBLE: ParameterType.PARAMETER_DOUBLE_ARRAY,
    ParameterType.PARAMETER_STRING: ParameterType.PARAMETER_STRING_ARRAY,
}
INT64 = (-2**63, 2**63 - 1)


class NotConvertible(ValueError):
    """A JSON value that no ROS parameter type can carry."""


def to_json(value):
    """Return a ``ParameterValue`` as a JSON value (None when not set; NaN/inf as None)."""
    field = _FIELDS.get(value.type)
    if field is None:
        return None
    data = getattr(value, field)
    if value.type == ParameterType.PARAMETER_BYTE_ARRAY:
        return [b if isinstance(b, int) else ord(b) for b in data]
    if value.type in (ParameterType.PARAMETER_BOOL, ParameterType.PARAMETER_INTEGER,
                      ParameterType.PARAMETER_STRING):
        return data
    if value.type == ParameterType.PARAMETER_DOUBLE:
        return data if math.isfinite(data) else None
    items = list(data)
    if value.type == ParameterType.PARAMETER_DOUBLE_ARRAY:
        return [float(x) if math.isfinite(x) else None for x in items]
    if value.type == ParameterType.PARAMETER_INTEGER_ARRAY:
        return [int(x) for x in items]
    if value.type == ParameterType.PARAMETER_BOOL_ARRAY:
        return [bool(x) for x in items]
    return [str(x) for x in items]


def _natural_type(value):
    if isinstance(value, bool):
        return ParameterType.PARAMETER_BOOL
    if isinstance(value, int):
        return ParameterType.PARAMETER_INTEGER
    if isinstance(value, float):
        return ParameterType.PARAMETER_DOUBLE
    if isinstance(value, str):
        return ParameterType.PARAMETER_STRING
    if isinstance(value, list) and value:
        kinds = {_natural_type(item) for item in value}
        if kinds <= {ParameterType.PARAMETER_INTEGER, ParameterType.PARAMETER_DOUBLE} and \
                len(kinds) == 2:
            return ParameterType.PARAMETER_DOUBLE_ARRAY
        if len(kinds) == 1:
            kind = _ARRAY_OF.get(kinds.pop())
            if kind is not None:
                return kind
    raise NotConvertible('a value must be a bool, number, string or a non-empty list of one '
                         'of them')


def from_json(value, declared_type):
    """
    Return a ``ParameterValue`` for the JSON ``value``, of ``declared_type`` where it fits.

    Integers become doubles for a double (array) parameter and an empty list takes the
    declared array type; otherwise the value keeps its own type, and a mismatch is the node's
    to refuse (with its own reason).
    """
    if isinstance(value, list) and not value and declared_type in (
            ParameterType.PARAMETER_BOOL_ARRAY, ParameterType.PARAMETER_INTEGER_ARRAY,
            ParameterType.PARAMETER_DOUBLE_ARRAY, ParameterType.PARAMETER_STRING_ARRAY,
            ParameterType.PARAMETER_BYTE_ARRAY):
        kind = declared_type
    else:
        kind = _natural_type(value)
        if kind == ParameterType.PARAMETER_INTEGER and \
                declared_type == ParameterType.PARAMETER_DOUBLE:
            kind = ParameterType.PARAMETER_DOUBLE
        elif kind == ParameterType.PARAMETER_INTEGER_ARRAY and \
                declared_type == ParameterType.PARAMETER_DOUBLE_ARRAY:
            kind = ParameterType.PARAMETER_DOUBLE_ARRAY
    if kind == ParameterType.PARAMETER_INTEGER and not INT64[0] <= value <= INT64[1]:
        raise NotConvertible(f'{value} is outside the 64-bit integer range')
    if kind == ParameterType.PARAMETER_INTEGER_ARRAY and any(
            not INT64[0] <= item <= INT64[1] for item in value):
        raise NotConvertible('an item is outside the 64-bit integer range')
    converted = value
    if kind == ParameterType.PARAMETER_DOUBLE:
        converted = float(value)
    elif kind == ParameterType.PARAMETER_DOUBLE_ARRAY:
        converted = [float(item) for item in value]
    elif kind == ParameterType.PARAMETER_BYTE_ARRAY:
        converted = [bytes([int(item) & 0xFF]) for item in value]
    message = ParameterValue(type=kind)
    setattr(message, _FIELDS[kind], converted)
    return message


def describe(descriptor, value):
    """Return one parameter's descriptor and value as JSON."""
    entry = {'name': descriptor.name, 'type': TYPE_NAMES.get(descriptor.type, 'unknown'),
             'value': to_json(value), 'description': descriptor.description,
             'read_only': bool(descriptor.read_only)}
    if descriptor.additional_constraints:
        entry['constraints'] = descriptor.additional_constraints
    for ranges, key in ((descriptor.floating_point_range, 'range'),
                        (descriptor.integer_range, 'range')):
        if len(ranges):
            low, high = ranges[0].from_value, ranges[0].to_value
            entry[key] = {'min': low if math.isfinite(low) else None,
                          'max': high if math.isfinite(high) else None}
    return entry
