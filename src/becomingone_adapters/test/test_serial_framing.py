"""Serial line framing: bounded lines whatever the chunking, over-long lines dropped whole."""

from becomingone_adapters.serial_framing import LineFramer
from hypothesis import given, settings, strategies as st
import pytest


def _feed_in_chunks(framer, data, cuts):
    lines, start = [], 0
    for cut in sorted(set(cuts)) + [len(data)]:
        lines += framer.feed(data[start:cut])
        start = cut
    return lines


def _expected(data, limit):
    *lines, unfinished = data.split(b'\n')
    lines = [line[:-1] if line.endswith(b'\r') else line for line in lines]
    # An unfinished line is dropped (and counted) as soon as it cannot fit, even with a '\r'.
    too_long = sum(len(x) > limit for x in lines) + (len(unfinished) > limit + 1)
    return [line for line in lines if len(line) <= limit], too_long


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.binary(max_size=40) | st.sampled_from([b'\n', b'\r\n', b'0.5\n']),
                max_size=30).map(b''.join),
       st.lists(st.integers(0, 1200), max_size=10), st.integers(1, 30))
def test_lines_come_out_whole_whatever_the_chunking(data, cuts, limit):
    framer = LineFramer(limit)
    lines = _feed_in_chunks(framer, data, [c for c in cuts if c <= len(data)])
    expected, too_long = _expected(data, limit)
    assert lines == expected
    assert framer.too_long == too_long
    assert framer.pending <= limit + 1  # bounded memory


def test_an_endless_line_costs_bounded_memory_and_counts_once():
    framer = LineFramer(16)
    for _ in range(1000):
        assert framer.feed(b'x' * 1000) == []
        assert framer.pending <= 17
    assert framer.too_long == 1
    assert framer.feed(b'tail\n0.5\n') == [b'0.5']


def test_reset_forgets_a_partial_line():
    framer = LineFramer(16)
    framer.feed(b'0.12')
    framer.reset()
    assert framer.feed(b'34\n') == [b'34']


def test_max_line_bytes_must_be_positive():
    with pytest.raises(ValueError):
        LineFramer(0)
