"""
What the gateway accepts from HTTP and WebSocket clients (pure: no rclpy).

Every request body and query parameter passes a rule here before it reaches ROS; a bad one
raises :class:`BadRequest` with a status (400, 404, 413, 422) and a message, which the app
answers as JSON. Phase samples go through the very rules the cell's own input nodes apply:
:func:`becomingone_core.phase_block.unpack` (sizes, NaN/inf, time order, span) and
:class:`becomingone_adapters.encoding.RangeEncoder` for scalar values.
"""

import json
import math
import re

from becomingone_adapters.encoding import RangeEncoder
from becomingone_core import phase_block
from becomingone_core.input_rules import NANOSECONDS, RejectedInput
import numpy as np

#: Largest request body (bytes); a larger one is refused with 413 before it is parsed.
MAX_BODY_BYTES = 1 << 20
#: Most samples in one POSTed phase block, and most values in one scalar POST.
MAX_SAMPLES = 10_000
MAX_CHANNELS = 64
#: Most results one history query returns.
MAX_RESULTS = 10_000
#: Cell names are ROS namespaces: letters, digits, underscores, slashes.
CELL_PATTERN = re.compile(r'^[A-Za-z0-9_/]{0,200}$')
SOURCE_PATTERN = re.compile(r'^[A-Za-z0-9_.-]{1,64}$')
PARAMETER_PATTERN = re.compile(r'^[A-Za-z_][A-Za-z0-9_.]{0,127}$')
MAX_PARAMETERS = 64
#: Query kinds of the memory service.
KINDS = ('sync', 'resonance', 'witness', 'mesh')


class BadRequest(Exception):
    """A request refused with ``status`` and a ``message`` for the client."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def _no_constants(name):
    raise BadRequest(400, f'{name} is not a JSON number here (NaN and Infinity are refused)')


def parse_json(body, max_bytes=MAX_BODY_BYTES):
    """Return the JSON object in ``body`` (bytes); refuse huge, malformed, NaN or non-objects."""
    if len(body) > max_bytes:
        raise BadRequest(413, f'body of {len(body)} bytes > {max_bytes}')
    try:
        value = json.loads(body.decode('utf-8'), parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise BadRequest(400, 'body is not UTF-8') from None
    except json.JSONDecodeError as error:
        raise BadRequest(400, f'malformed JSON: {error.msg} at line {error.lineno} column '
                         f'{error.colno}') from None
    except RecursionError:
        raise BadRequest(400, 'JSON nested too deeply') from None
    if not isinstance(value, dict):
        raise BadRequest(422, 'the body must be a JSON object')
    return value


def number(value, what, minimum=-math.inf, maximum=math.inf):
    """Return ``value`` as a finite float in [minimum, maximum]; refuse anything else."""
    if isinstance(value, bool) or value is None:
        raise BadRequest(422, f'{what} must be a number')
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise BadRequest(422, f'{what} must be a number, got {value[:40]!r}') from None
    if not isinstance(value, (int, float)):
        raise BadRequest(422, f'{what} must be a number')
    value = float(value)
    if not math.isfinite(value):
        raise BadRequest(422, f'{what} must be finite')
    if not minimum <= value <= maximum:
        raise BadRequest(422, f'{what} {value:g} outside [{minimum:g}, {maximum:g}]')
    return value


def integer(value, what, minimum, maximum):
    """Return ``value`` as an int in [minimum, maximum]."""
    result = number(value, what, minimum, maximum)
    if result != int(result):
        raise BadRequest(422, f'{what} must be an integer')
    return int(result)


def numbers(values, what, max_length=MAX_SAMPLES):
    """Return a list of finite floats; refuse non-lists, too many items and NaN."""
    if not isinstance(values, list):
        raise BadRequest(422, f'{what} must be a list of numbers')
    if len(values) > max_length:
        raise BadRequest(413, f'{what} has {len(values)} items > {max_length}')
    return [number(v, f'{what}[{i}]') for i, v in enumerate(values)]


def cell_name(name, known):
    """Return ``name`` if it is one of the gateway's cells; 404 otherwise."""
    if not isinstance(name, str) or not CELL_PATTERN.match(name):
        raise BadRequest(400, 'a cell name is letters, digits, _ and /')
    if name not in known:
        raise BadRequest(404, f'unknown cell {name[:60]!r}; known: {sorted(known)}')
    return name


def time_range(params, now_s, default_window_s=60.0, max_results=MAX_RESULTS):
    """
    Return ``(start_s, end_s, limit, kind, transducer, newest_first)`` from query parameters.

    ``start``/``end`` are seconds since the epoch; ``last`` (seconds) means [now - last, now];
    neither: the last ``default_window_s``. A reversed range is refused (422).
    """
    known = {'start', 'end', 'last', 'limit', 'kind', 'transducer', 'order'}
    unknown = set(params) - known
    if unknown:
        raise BadRequest(400, f'unknown query parameters {sorted(unknown)}; known '
                         f'{sorted(known)}')
    if 'last' in params and ('start' in params or 'end' in params):
        raise BadRequest(400, 'give either last or start/end')
    if 'last' in params:
        last = number(params['last'], 'last', 0.0, 365 * 86400.0)
        start, end = now_s - last, now_s
    else:
        end = number(params['end'], 'end', 0.0, 1e11) if 'end' in params else now_s
        start = number(params['start'], 'start', 0.0, 1e11) if 'start' in params else \
            end - default_window_s
    if end < start:
        raise BadRequest(422, f'reversed range: end {end:.3f} is before start {start:.3f}')
    limit = integer(params.get('limit', 1000), 'limit', 1, max_results)
    kind = params.get('kind', 'sync')
    if kind not in KINDS:
        raise BadRequest(422, f'kind must be one of {list(KINDS)}')
    transducer = params.get('transducer', '')
    if transducer not in ('', 'master', 'emissary'):
        raise BadRequest(422, 'transducer must be master, emissary or empty')
    order = params.get('order', 'oldest')
    if order not in ('oldest', 'newest'):
        raise BadRequest(422, 'order must be oldest or newest')
    return max(start, 0.0), end, limit, kind, transducer, order == 'newest'


def stamp_seconds(value, now_s, what='stamp'):
    """Return a client stamp (seconds since the epoch; absent or 0: now) as float seconds."""
    if value is None or value == 0:
        return now_s
    return number(value, what, 0.0, 1e11)


def phase_input(body, now_s, max_future_s=0.5, max_age_s=10.0):
    """
    Check a POSTed phase block; return the Phase message fields as a dict.

    Body: ``{"real": [...], "imag": [...], "stamps_offset": [...], "channels": C,
    "stamp": seconds, "source": "name"}``; ``stamps_offset`` may be omitted for one sample.
    The block must pass :func:`becomingone_core.phase_block.unpack` and lie in the receiver's
    stamp window (what the transducer would otherwise reject as ``future`` / ``stale``).
    """
    unknown = set(body) - {'real', 'imag', 'stamps_offset', 'channels', 'stamp', 'source'}
    if unknown:
        raise BadRequest(422, f'unknown fields {sorted(unknown)}')
    real = numbers(body.get('real'), 'real', MAX_SAMPLES * MAX_CHANNELS)
    imag = numbers(body.get('imag'), 'imag', MAX_SAMPLES * MAX_CHANNELS)
    offsets = numbers(body.get('stamps_offset', []), 'stamps_offset')
    channels = integer(body.get('channels', 0), 'channels', 0, MAX_CHANNELS)
    stamp_s = stamp_seconds(body.get('stamp'), now_s)
    source = _source(body.get('source', 'api'))
    _check_window(stamp_s, now_s, max_future_s, max_age_s)
    stamp_ns = round(stamp_s * NANOSECONDS)
    try:
        _, phase = phase_block.unpack(stamp_ns, offsets, real, imag, channels,
                                      max_samples=MAX_SAMPLES * MAX_CHANNELS,
                                      max_channels=MAX_CHANNELS)
    except RejectedInput as error:
        raise BadRequest(422, f'phase block refused: {error}') from None
    if np.abs(phase).max() > 1.0 + 1e-9:
        raise BadRequest(422, 'phase values must lie in the unit disc (|z| <= 1)')
    return {'stamp_ns': stamp_ns, 'source': source, 'channels': phase.shape[1],
            'stamps_offset': offsets, 'real': real, 'imag': imag}


def scalar_input(body, now_s, max_future_s=0.5, max_age_s=10.0):
    """
    Check POSTed scalar readings and encode them as phase, as the scalar input adapter does.

    Body: ``{"values": [v, ...] (one channel each), "low": lo, "high": hi, "stamp": s,
    "source": "name"}``. Values are normalised with the declared range and put on the half
    circle (:class:`becomingone_adapters.encoding.RangeEncoder`); returns Phase fields and how
    many values were clipped to the range.
    """
    unknown = set(body) - {'values', 'low', 'high', 'stamp', 'source'}
    if unknown:
        raise BadRequest(422, f'unknown fields {sorted(unknown)}')
    values = numbers(body.get('values'), 'values', MAX_CHANNELS)
    if not values:
        raise BadRequest(422, 'values is empty')
    low = number(body.get('low', 0.0), 'low')
    high = number(body.get('high', 1.0), 'high')
    if not low < high:
        raise BadRequest(422, f'need low < high, got [{low:g}, {high:g}]')
    stamp_s = stamp_seconds(body.get('stamp'), now_s)
    source = _source(body.get('source', 'api'))
    _check_window(stamp_s, now_s, max_future_s, max_age_s)
    encoder = RangeEncoder(low, high, 'values')
    phase = encoder.encode(values)
    return {'stamp_ns': round(stamp_s * NANOSECONDS), 'source': source,
            'channels': len(values), 'stamps_offset': [], 'real': phase.real.tolist(),
            'imag': phase.imag.tolist()}, encoder.clipped


def _source(value):
    if not isinstance(value, str) or not SOURCE_PATTERN.match(value):
        raise BadRequest(422, 'source must be 1-64 letters, digits, _ . -')
    return value


def _check_window(stamp_s, now_s, max_future_s, max_age_s):
    if stamp_s > now_s + max_future_s:
        raise BadRequest(422, f'stamp {stamp_s - now_s:.3f} s ahead of the gateway clock')
    if stamp_s < now_s - max_age_s:
        raise BadRequest(422, f'stamp {now_s - stamp_s:.3f} s old (at most {max_age_s:g} s)')


def stream_request(message, source_rate_hz=50.0):
    """
    Check a WebSocket client's subscription message; return ``(cells or None, rate_hz, kinds)``.

    ``{"subscribe": ["cell1"], "rate_hz": 5, "kinds": ["state", "witness", "mesh", "estop"]}``.
    """
    unknown = set(message) - {'subscribe', 'rate_hz', 'kinds'}
    if unknown:
        raise BadRequest(422, f'unknown fields {sorted(unknown)}')
    cells = message.get('subscribe')
    if cells is not None and (not isinstance(cells, list) or len(cells) > 256
                              or not all(isinstance(c, str) for c in cells)):
        raise BadRequest(422, 'subscribe must be a list of cell names')
    rate = number(message.get('rate_hz', 10.0), 'rate_hz', 0.1, source_rate_hz)
    kinds = message.get('kinds', list(STREAM_KINDS))
    if not isinstance(kinds, list) or not set(kinds) <= set(STREAM_KINDS):
        raise BadRequest(422, f'kinds must be some of {list(STREAM_KINDS)}')
    return cells, rate, frozenset(kinds)


STREAM_KINDS = ('state', 'witness', 'mesh', 'estop')


def parameter_names(params):
    """Return the names of ``?names=a,b`` (empty: every parameter of the node)."""
    unknown = set(params) - {'names'}
    if unknown:
        raise BadRequest(400, f'unknown query parameters {sorted(unknown)}')
    names = [n for n in params.get('names', '').split(',') if n]
    return _check_parameter_names(names)


def parameter_values(body):
    """Return ``{name: value}`` of a parameter set body (the node validates the values)."""
    if not isinstance(body, dict) or not body:
        raise BadRequest(422, 'body: {"name": value, ...} with at least one parameter')
    _check_parameter_names(list(body))
    for name, value in body.items():
        if value is None or isinstance(value, dict):
            raise BadRequest(422, f'{name}: a value is a bool, number, string or list')
        if isinstance(value, list) and (len(value) > 10_000 or any(
                item is None or isinstance(item, (dict, list)) for item in value)):
            raise BadRequest(422, f'{name}: a list holds up to 10000 bools, numbers or strings')
    return body


def _check_parameter_names(names):
    if len(names) > MAX_PARAMETERS:
        raise BadRequest(422, f'at most {MAX_PARAMETERS} parameters at once')
    for name in names:
        if not PARAMETER_PATTERN.match(name):
            raise BadRequest(422, f'{name[:80]!r} is not a parameter name')
    return names
