"""
The MQTT bridges' pure parts: the sample format, the state JSON, backoff, link accounting, inbox.

Hypothesis pushes arbitrary bytes, text and JSON through the parser: each must give finite
values of a bounded count or a refusal with a documented reason, never another exception.
"""

import json
import math
import random
import threading

from becomingone_adapters.backoff import Backoff, LinkState
from becomingone_adapters.http_post import record
from becomingone_adapters.mqtt_inbox import Inbox
from becomingone_adapters.mqtt_payload import (encode_state, format_sample, MAX_PAYLOAD_BYTES,
                                               MAX_VALUES, NUMBER, parse_sample)
from becomingone_core.input_rules import RejectedInput
from hypothesis import given, settings, strategies as st
import pytest

REASONS = {'too_long', 'not_text', 'empty', 'not_numeric', 'non_finite', 'out_of_range',
           'bad_json', 'bad_stamp'}


def _outcome(payload):
    try:
        sample = parse_sample(payload)
    except RejectedInput as rejected:
        assert rejected.reason in REASONS, rejected
        return rejected.reason
    assert 1 <= len(sample.values) <= MAX_VALUES
    assert all(math.isfinite(v) for v in sample.values)
    assert math.isfinite(sample.stamp_s) and sample.stamp_s >= 0
    return sample


@pytest.mark.parametrize('payload, values, stamp', [
    (b'0.5', (0.5,), 0.0),
    (b' -1e-3 \n', (-0.001,), 0.0),
    (b'.5,2,+3.', (0.5, 2.0, 3.0), 0.0),
    (b'{"value": 7}', (7.0,), 0.0),
    (b'{"values": [1, 2.5], "stamp": 1764620000.25, "unit": "C"}', (1.0, 2.5), 1764620000.25),
    (b'{"value": 1, "stamp": 0}', (1.0,), 0.0),
])
def test_the_documented_forms_parse(payload, values, stamp):
    sample = parse_sample(payload)
    assert sample.values == values and sample.stamp_s == stamp


@pytest.mark.parametrize('payload, reason', [
    (b'1' * (MAX_PAYLOAD_BYTES + 1), 'too_long'),
    (','.join(['1'] * (MAX_VALUES + 1)).encode(), 'too_long'),
    (b'\xc3\x28', 'not_text'), (b'1\x1b[2J', 'not_text'),
    (b'', 'empty'), (b'1,,2', 'empty'), (b'{"values": []}', 'empty'),
    (b'one', 'not_numeric'), (b'0x1f', 'not_numeric'), (b'1_0', 'not_numeric'),
    ('\u0663'.encode(), 'not_numeric'),  # an Arabic-Indic digit: float() would take it
    (b'{"value": null}', 'not_numeric'), (b'{"value": false}', 'not_numeric'),
    (b'NaN', 'non_finite'), (b'-Infinity', 'non_finite'), (b'2e308', 'non_finite'),
    (b'{"value": Infinity}', 'non_finite'), (b'{"value": -1e400}', 'non_finite'),
    (b'{"value": 9223372036854775808}', 'out_of_range'),
    (b'{"value": 1', 'bad_json'), (b'[1, 2]', 'bad_json'), (b'{"v": 1}', 'bad_json'),
    (b'{"value": ' + b'[' * 2000 + b']' * 2000 + b'}', 'bad_json'),
    (b'{"values": 3}', 'bad_json'),
    (b'{"value": 1, "stamp": -0.5}', 'bad_stamp'), (b'{"value": 1, "stamp": "t"}', 'bad_stamp'),
    (b'{"value": 1, "stamp": 1e300}', 'bad_stamp'), (b'{"value": 1, "stamp": true}', 'bad_stamp'),
    (b'{"value": 1, "stamp": 18446744073709551616}', 'bad_stamp'),
])
def test_bad_payloads_are_refused_by_reason(payload, reason):
    with pytest.raises(RejectedInput) as refused:
        parse_sample(payload)
    assert refused.value.reason == reason


@settings(max_examples=1200, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_parse_or_are_refused_by_reason(payload):
    _outcome(payload)


@settings(max_examples=800, deadline=None)
@given(st.text(alphabet='0123456789.,+-eE nafiNIy{}[]":\\', max_size=80))
def test_number_like_text_parses_or_is_refused_by_reason(text):
    _outcome(text)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(['value', 'values', 'stamp', 'x']), children, max_size=3),
    max_leaves=12)


@settings(max_examples=800, deadline=None)
@given(_JSON)
def test_any_json_document_parses_or_is_refused_by_reason(document):
    _outcome(json.dumps(document).encode())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=64),
       st.floats(min_value=0.0, max_value=4e9))
def test_what_format_sample_writes_parses_back_exactly(values, stamp):
    sample = parse_sample(format_sample(values, stamp))
    assert sample.values == tuple(values) and sample.stamp_s == stamp


def test_the_leaf_writes_what_the_bridge_reads():
    leaf = pytest.importorskip('becomingone_mqtt_leaf.payload')
    # The leaf cannot import the bridge (no ROS there): its copies must stay equal.
    assert leaf.MAX_PAYLOAD_BYTES == MAX_PAYLOAD_BYTES
    assert (leaf.NUMBER.pattern, leaf.NUMBER.flags) == (NUMBER.pattern, NUMBER.flags)
    assert parse_sample(leaf.format_sample(0.25, 1764620000.5)).values == (0.25,)
    sample = parse_sample(leaf.format_sample([0.1, 0.9]))
    assert sample.values == (0.1, 0.9) and sample.stamp_s == 0.0


def test_the_state_json_is_the_shared_record_plus_online():
    body = json.loads(encode_state(record('cell1', 12.5, 0.8, 0.6 + 0.2j, True)))
    assert body == {'node': 'cell1', 'stamp': 12.5, 'coherence': 0.8,
                    'phase': {'real': 0.6, 'imag': 0.2}, 'collapsed': True, 'online': True}
    with pytest.raises(ValueError):
        encode_state(record('cell1', 1.0, float('nan'), 0j, True))


@settings(max_examples=500, deadline=None)
@given(st.floats(0.001, 10.0), st.floats(1.0, 1000.0), st.floats(0.0, 1.0),
       st.integers(0, 2000))
def test_backoff_grows_exponentially_within_jitter_and_never_past_the_cap(
        base, ratio, jitter, attempts):
    backoff = Backoff(base, base * ratio, jitter, random.Random(attempts))
    for n in range(min(attempts, 60)):
        ceiling = min(base * ratio, base * 2.0 ** n)
        delay = backoff.next_delay()
        assert (1.0 - jitter) * ceiling - 1e-12 <= delay <= ceiling + 1e-12
    backoff.attempt = attempts  # far past the cap: no overflow
    assert backoff.next_delay() <= base * ratio
    backoff.reset()
    assert backoff.next_delay() <= base


def test_backoff_refuses_nonsense():
    for arguments in [(0.0, 1.0), (2.0, 1.0), (float('nan'), 1.0), (0.1, float('inf'))]:
        with pytest.raises(ValueError):
            Backoff(*arguments)
    with pytest.raises(ValueError):
        Backoff(0.1, 1.0, jitter=1.5)


def test_link_state_counts_reconnects_and_the_gap_but_not_the_first_wait():
    state = LinkState(now_s=100.0)
    assert state.values(103.0)['gap_s'] == 0.0  # never connected yet: waiting, not a gap
    state.failed('refused')
    state.connected_at(105.0)
    state.connected_at(106.0)  # a repeated callback changes nothing
    state.lost_at(110.0, 'eof')
    assert state.values(112.5)['gap_s'] == 2.5 and state.down_for(112.5) == 2.5
    state.connected_at(114.0)
    values = state.values(200.0)
    assert values == {'connected': 1.0, 'reconnects': 1.0, 'connection_losses': 1.0,
                      'connect_failures': 1.0, 'gap_s': 4.0, 'last_gap_s': 4.0,
                      'down_for_s': 0.0}


def test_the_inbox_is_bounded_drops_the_oldest_and_counts():
    inbox = Inbox(capacity=3)
    threads = [threading.Thread(target=lambda: [inbox.put(i) for i in range(1000)])
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(inbox) == 3 and inbox.received == 4000 and inbox.dropped == 3997
    inbox.put('newest')
    assert inbox.drain(limit=2)[-1] != 'newest' and inbox.drain()[-1] == 'newest'
    assert inbox.drain() == []
