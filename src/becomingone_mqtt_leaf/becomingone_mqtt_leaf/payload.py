"""
Samples as the bridge reads them (``becomingone_adapters.mqtt_payload``), written by the leaf.

The leaf publishes one JSON object per sample: ``{"value": v, "stamp": t}`` for one channel,
``{"values": [v, ...], "stamp": t}`` for several; ``stamp`` is the sample time in seconds
since 1970 on this host's clock (keep it NTP-synchronised with the cell's host, or publish
unstamped and let the bridge use its receive time). Non-finite values are never published:
the bridge would refuse them.
"""

import json
import math
import re

#: The bridge's default limit on a payload (bytes); longer lines are not sent.
MAX_PAYLOAD_BYTES = 4096
#: A decimal number as the bridge reads it (ASCII digits; no ``1_000``, ``0x10`` or ``nan``).
#: The bridge's tests check that both packages keep the same two constants.
NUMBER = re.compile(r'[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?', re.ASCII)


class BadSample(ValueError):
    """A reading the leaf will not publish (the reason is the message)."""


def format_sample(values, stamp_s=None):
    """Return the payload (bytes) for ``values`` (a number or a sequence) at ``stamp_s``."""
    many = not isinstance(values, (int, float))
    numbers = [float(v) for v in values] if many else [float(values)]
    if not numbers:
        raise BadSample('no values')
    if not all(math.isfinite(v) for v in numbers):
        raise BadSample('NaN or infinity')
    document = {'values': numbers} if many else {'value': numbers[0]}
    if stamp_s is not None:
        document['stamp'] = round(float(stamp_s), 6)
    payload = json.dumps(document, separators=(',', ':')).encode()
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise BadSample(f'{len(payload)} bytes > {MAX_PAYLOAD_BYTES}')
    return payload


def parse_line(line):
    """Return the numbers of one text line: ``0.5`` or ``0.5,1,2`` (CSV); raise BadSample."""
    if isinstance(line, bytes):
        try:
            line = line.decode('utf-8')
        except UnicodeDecodeError:
            raise BadSample('not UTF-8') from None
    fields = [field.strip() for field in line.strip().split(',')]
    if fields == ['']:
        raise BadSample('empty line')
    if not all(NUMBER.fullmatch(field) for field in fields):
        raise BadSample(f'not numbers: {line.strip()[:40]!r}')
    numbers = [float(field) for field in fields]
    if not all(math.isfinite(v) for v in numbers):
        raise BadSample('NaN or infinity')
    return numbers
