"""
The sample format the MQTT and serial bridges read, and the state JSON they write (no rclpy).

A sample is UTF-8 text of at most ``max_bytes`` bytes, in one of three forms:

* a number: ``0.42`` (one channel, unstamped);
* a CSV line: ``0.42,17,-3.5e2`` (one channel per field, unstamped);
* a JSON object: ``{"value": 0.42}`` or ``{"values": [0.42, 17]}``, with an optional
  ``"stamp"``: the sample time in seconds since 1970 (a number; 0 or absent: unstamped, the
  receive time is used). Other keys are ignored.

Numbers are decimal (``-1``, ``2.5``, ``.5``, ``1e-3``); ``nan`` and ``inf`` are refused as
``non_finite``, as is anything that overflows a double. A refused sample raises
:class:`~becomingone_core.input_rules.RejectedInput` with one of these reasons:

``too_long`` (payload over ``max_bytes``, more than ``max_values`` values), ``not_text`` (not
UTF-8, or control characters), ``empty``, ``not_numeric`` (a field that is not a number),
``non_finite``, ``out_of_range`` (a JSON integer past int64), ``bad_json`` (invalid, not an
object, nested too deep, no ``value``/``values`` or both), ``bad_stamp`` (not a number, not
finite, negative or past int64 nanoseconds).

Going out, :func:`encode_state` turns the record every API output shares
(:func:`becomingone_adapters.http_post.record`) into compact JSON.
"""

from dataclasses import dataclass
import json
import re

from becomingone_core.input_rules import INT64_MAX, NANOSECONDS, RejectedInput

#: Longest sample accepted (bytes): a line of 64 numbers fits many times over.
MAX_PAYLOAD_BYTES = 4096
#: Most values in one sample (``max_channels`` of the input node is the tighter, per-node cap).
MAX_VALUES = 256
#: Latest stamp a sample may carry (s): int64 nanoseconds, as ROS stores a time.
MAX_STAMP_S = INT64_MAX / NANOSECONDS

#: A decimal number (ASCII only: Python's \d and float() would also take other scripts' digits).
NUMBER = re.compile(r'[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?', re.ASCII)
_NON_FINITE = re.compile(r'[+-]?(?:nan|inf|infinity)', re.IGNORECASE)
_CONTROL = re.compile(r'[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]')


@dataclass(frozen=True)
class Sample:
    """One parsed sample: its stamp in seconds (0.0: unstamped) and its values."""

    stamp_s: float
    values: tuple


def parse_sample(payload, max_bytes=MAX_PAYLOAD_BYTES, max_values=MAX_VALUES):
    """Parse one payload (``bytes`` or ``str``) into a :class:`Sample`, or raise RejectedInput."""
    if isinstance(payload, str):
        payload = payload.encode('utf-8', 'surrogatepass')
    if len(payload) > max_bytes:
        raise RejectedInput('too_long', f'payload of {len(payload)} bytes > {max_bytes}')
    try:
        text = payload.decode('utf-8')
    except UnicodeDecodeError as error:
        raise RejectedInput('not_text', f'not UTF-8 at byte {error.start}') from None
    text = text.strip()
    if not text:
        raise RejectedInput('empty', 'empty payload')
    if _CONTROL.search(text):
        raise RejectedInput('not_text', 'control characters in the payload')
    if text.startswith(('{', '[')):
        return _parse_json(text, max_values)
    fields = text.split(',')
    if len(fields) > max_values:
        raise RejectedInput('too_long', f'{len(fields)} values > {max_values}')
    return Sample(0.0, tuple(_parse_number(field.strip()) for field in fields))


def _parse_number(field):
    if NUMBER.fullmatch(field):
        value = float(field)
        if value in (float('inf'), float('-inf')):
            raise RejectedInput('non_finite', f'{field[:20]!r} overflows a double')
        return value
    if _NON_FINITE.fullmatch(field):
        raise RejectedInput('non_finite', f'{field!r}')
    if not field:
        raise RejectedInput('empty', 'an empty field')
    raise RejectedInput('not_numeric', f'{field[:20]!r} is not a number')


def _refuse_constant(name):
    raise RejectedInput('non_finite', f'{name} in JSON')


def _parse_json(text, max_values):
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except RejectedInput:
        raise
    except (ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError
        raise RejectedInput('bad_json', str(error)[:80]) from None
    if not isinstance(document, dict):
        raise RejectedInput('bad_json', 'not a JSON object')
    if ('value' in document) == ('values' in document):
        raise RejectedInput('bad_json', 'needs exactly one of "value" and "values"')
    if 'value' in document:
        values = [document['value']]
    else:
        values = document['values']
        if not isinstance(values, list):
            raise RejectedInput('bad_json', '"values" is not an array')
        if not values:
            raise RejectedInput('empty', '"values" is empty')
        if len(values) > max_values:
            raise RejectedInput('too_long', f'{len(values)} values > {max_values}')
    return Sample(_json_stamp(document.get('stamp', 0)), tuple(_json_number(v) for v in values))


def _json_number(value, what='value'):
    # bool is an int in Python, but true is not a reading.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RejectedInput('not_numeric', f'{what} {json.dumps(value)[:20]} is not a number')
    if isinstance(value, int):
        if abs(value) > INT64_MAX:
            raise RejectedInput('out_of_range', f'{what}: an integer past int64')
        return float(value)
    if value in (float('inf'), float('-inf')):  # 1e999 in JSON
        raise RejectedInput('non_finite', f'{what} overflows a double')
    return value


def _json_stamp(stamp):
    if isinstance(stamp, bool) or not isinstance(stamp, (int, float)):
        raise RejectedInput('bad_stamp', 'stamp is not a number')
    if isinstance(stamp, int) and abs(stamp) > INT64_MAX:
        raise RejectedInput('bad_stamp', 'stamp past int64')
    stamp = float(stamp)
    if not 0.0 <= stamp <= MAX_STAMP_S:  # also NaN-safe: 1e999 parses as inf
        raise RejectedInput('bad_stamp', f'stamp {stamp:.6g} s outside [0, {MAX_STAMP_S:.6g}]')
    return stamp


def format_sample(values, stamp_s=0.0):
    """Return the JSON payload for ``values`` (a number or a sequence) stamped ``stamp_s``."""
    if isinstance(values, (int, float)):
        document = {'value': float(values)}
    else:
        document = {'values': [float(v) for v in values]}
    if stamp_s:
        document['stamp'] = float(stamp_s)
    return json.dumps(document, allow_nan=False, separators=(',', ':')).encode()


def encode_state(record, online=True):
    """Return an output record as compact JSON bytes (``online`` false: the bridge's will)."""
    body = dict(record, online=bool(online))
    return json.dumps(body, allow_nan=False, separators=(',', ':')).encode()
