"""
Hostile messages of any ROS 2 type: every value its fields can hold on the wire (no rclpy here).

A publisher on the domain is bound only by the message type: a ``float64`` may be NaN, infinite
or 1e308, a ``uint64`` up to 2**64 - 1, a stamp's ``nanosec`` up to 2**32 - 1, a string or an
array any length. :func:`messages` is a hypothesis strategy over exactly that range for any
message class (found through its ``get_fields_and_field_types``), biased towards the edges;
:func:`random_message` draws the same kind of message from a :class:`random.Random`, for DDS
floods. Both build real message instances of the class they are given.
"""

import importlib
import re

from hypothesis import strategies as st

_INTEGERS = {
    'int8': (-2**7, 2**7 - 1), 'uint8': (0, 2**8 - 1), 'byte': (0, 2**8 - 1),
    'char': (0, 2**8 - 1), 'int16': (-2**15, 2**15 - 1), 'uint16': (0, 2**16 - 1),
    'int32': (-2**31, 2**31 - 1), 'uint32': (0, 2**32 - 1),
    'int64': (-2**63, 2**63 - 1), 'uint64': (0, 2**64 - 1),
}
_FLOAT_EDGES = [0.0, -0.0, 1.0, -1.0, 1.0 + 1e-6, 1e-300, 1e308, -1e308, float('inf'),
                float('-inf'), float('nan'), 2.0**53, 1.7e9, 4.0e9]
_FLOAT32_EDGES = [0.0, 1.0, -1.0, 3.4e38, -3.4e38, float('inf'), float('-inf'), float('nan')]
HUGE_TEXT = 'x' * 100_000
_TEXT_EDGES = ['', 'imu', 'phase', '\x00', 'ü' * 300, ' ', '../..', HUGE_TEXT]
#: Longest array a strategy draws (long enough to pass every per-message limit).
LONG_ARRAY = 5000
_SEQUENCE = re.compile(r'^sequence<([^,>]+)(?:, *(\d+))?>$')
_ARRAY = re.compile(r'^(.+)\[(\d+)\]$')


def _integer_edges(low, high):
    """Return the edges of an integer type, and the values next to the int64 and nanosec limits."""
    candidates = (low, high, 0, 1, high - 1, 2**63 - 1, 2**63, 999_999_999, 1_000_000_000)
    return sorted({value for value in candidates if low <= value <= high})


def _message_class(name):
    package, *_, message = name.split('/')
    return getattr(importlib.import_module(f'{package}.msg'), message)


def _element_type(field_type):
    """Return ``(kind, element type, fixed size)``: kind is 'scalar', 'sequence' or 'array'."""
    match = _SEQUENCE.match(field_type)
    if match:
        return 'sequence', match.group(1), None
    match = _ARRAY.match(field_type)
    if match:
        return 'array', match.group(1), int(match.group(2))
    return 'scalar', field_type, None


# ----------------------------------------------------------------------------- hypothesis
def _scalar_strategy(field_type, depth):
    field_type = re.sub(r'<=\d+$', '', field_type)
    if field_type in _INTEGERS:
        low, high = _INTEGERS[field_type]
        return st.one_of(st.sampled_from(_integer_edges(low, high)),
                         st.integers(low, high))
    if field_type in ('double', 'float64'):
        return st.one_of(st.sampled_from(_FLOAT_EDGES), st.floats(width=64))
    if field_type in ('float', 'float32'):
        return st.one_of(st.sampled_from(_FLOAT32_EDGES), st.floats(width=32))
    if field_type == 'boolean':
        return st.booleans()
    if field_type == 'octet':
        return st.binary(min_size=1, max_size=1)
    if field_type in ('string', 'wstring'):
        return st.one_of(st.sampled_from(_TEXT_EDGES), st.text(max_size=20))
    return messages(_message_class(field_type), depth + 1)


def _field_strategy(field_type, depth):
    kind, element, size = _element_type(field_type)
    item = _scalar_strategy(element, depth)
    if kind == 'array':
        return st.lists(item, min_size=size, max_size=size)
    if kind == 'sequence':
        if '/' in element:  # messages: a few, however deep
            return st.lists(item, max_size=3 if depth < 2 else 0)
        return st.one_of(st.lists(item, max_size=8),
                         item.map(lambda value: [value] * LONG_ARRAY))
    return item


def messages(message_type, depth=0):
    """Return a hypothesis strategy of ``message_type`` instances with hostile field values."""
    fields = message_type.get_fields_and_field_types()
    strategies = {name: _field_strategy(field_type, depth)
                  for name, field_type in fields.items()}
    return st.fixed_dictionaries(strategies).map(lambda values: message_type(**values))


# ----------------------------------------------------------------------------- random floods
def _random_scalar(field_type, rng, depth):
    field_type = re.sub(r'<=\d+$', '', field_type)
    if field_type in _INTEGERS:
        low, high = _INTEGERS[field_type]
        if rng.random() < 0.5:
            return rng.choice(_integer_edges(low, high))
        return rng.randint(low, high)
    if field_type in ('double', 'float64', 'float', 'float32'):
        edges = _FLOAT_EDGES if field_type in ('double', 'float64') else _FLOAT32_EDGES
        return rng.choice(edges) if rng.random() < 0.5 else rng.uniform(-10.0, 10.0)
    if field_type == 'boolean':
        return rng.random() < 0.5
    if field_type == 'octet':
        return bytes([rng.randrange(256)])
    if field_type in ('string', 'wstring'):
        return rng.choice(_TEXT_EDGES)
    return random_message(_message_class(field_type), rng, depth + 1)


def random_message(message_type, rng, depth=0):
    """Return one ``message_type`` with hostile field values drawn from ``rng``."""
    values = {}
    for name, field_type in message_type.get_fields_and_field_types().items():
        kind, element, size = _element_type(field_type)
        if kind == 'scalar':
            values[name] = _random_scalar(element, rng, depth)
            continue
        if kind == 'array':
            count = size
        elif '/' in element:
            count = rng.randint(0, 3 if depth < 2 else 0)
        else:
            count = rng.choice([0, 1, 2, 7, LONG_ARRAY])
        if kind == 'sequence' and count == LONG_ARRAY:
            values[name] = [_random_scalar(element, rng, depth)] * count
        else:
            values[name] = [_random_scalar(element, rng, depth) for _ in range(count)]
    return message_type(**values)
