"""
Property-based: every converter takes >= 10,000 malformed inputs without an unexpected error.

Each converter must either return finite phases of the promised shape or refuse the input with
:class:`RejectedInput` and a reason; anything else (IndexError, TypeError, a NaN that slips
through) fails the test. Each hypothesis example is a batch of inputs, and every test counts
the inputs it pushed through, so the 10,000 is checked, not assumed.
"""

import json
import math

from becomingone_adapters import audio, image, scalars, text
from becomingone_adapters.encoding import RangeEncoder
from becomingone_adapters.gate import CollapseGate
from becomingone_adapters.input_guard import StampGuard
from becomingone_core.input_rules import RejectedInput
from hypothesis import given, HealthCheck, settings, strategies as st
import numpy as np

MINIMUM_INPUTS = 10000
BATCH = 12
EXAMPLES = settings(max_examples=MINIMUM_INPUTS // BATCH + 50, deadline=None, database=None,
                    derandomize=True, suppress_health_check=list(HealthCheck))
floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
weird = st.one_of(floats, st.integers(-2**70, 2**70), st.text(max_size=5), st.none(),
                  st.booleans(), st.binary(max_size=4))
REASONS = {'non_finite', 'not_numeric', 'empty', 'too_large', 'wrong_size', 'unknown_encoding',
           'not_text', 'bad_json', 'bad_position', 'bad_confidence', 'negative_stamp',
           'future_stamp', 'stamp_backwards'}


def batches(strategy):
    return st.lists(strategy, min_size=BATCH, max_size=BATCH)


class Pushed:
    """Counts the inputs one test pushes through its converter."""

    def __init__(self):
        self.count = 0

    def check(self, convert, shape=None):
        self.count += 1
        try:
            values = convert()
        except RejectedInput as rejected:
            assert rejected.reason in REASONS, rejected.reason
            return None
        values = np.asarray(values)
        assert np.all(np.isfinite(values))
        if shape is not None:
            assert values.shape == shape
        return values


def run(cases):
    """Run the hypothesis test ``cases(pushed)`` and check how many inputs it pushed."""
    pushed = Pushed()
    cases(pushed)
    assert pushed.count >= MINIMUM_INPUTS


def test_scalar():
    @EXAMPLES
    @given(batches(weird))
    def cases(pushed, values):
        for value in values:
            pushed.check(lambda: scalars.encode_scalar(value, RangeEncoder(-1, 1)), (1, 1))
    run(cases)


def test_vector():
    @EXAMPLES
    @given(batches(st.one_of(st.lists(weird, max_size=8), st.lists(floats, max_size=300),
                             st.binary(max_size=16), weird)))
    def cases(pushed, inputs):
        for values in inputs:
            out = pushed.check(lambda: scalars.encode_vector(values, RangeEncoder(0, 1), 0, 256))
            assert out is None or (out.shape[0] == 1 and 1 <= out.shape[1] <= 256)
    run(cases)


def test_imu():
    @EXAMPLES
    @given(batches(st.tuples(st.lists(weird, max_size=5), st.lists(weird, max_size=5))))
    def cases(pushed, inputs):
        for gyro, accel in inputs:
            pushed.check(lambda: scalars.encode_imu(
                gyro, accel, RangeEncoder(-5, 5), RangeEncoder(-20, 20)), (1, 6))
    run(cases)


def test_image():
    fields = st.tuples(
        st.one_of(st.sampled_from(sorted(image.ENCODINGS)), st.text(max_size=8)),
        st.integers(-3, 12), st.integers(-3, 12), st.integers(-5, 80), st.binary(max_size=400),
        st.booleans(), st.booleans())

    @EXAMPLES
    @given(batches(fields))
    def cases(pushed, inputs):
        for encoding, height, width, step, data, bigendian, spatial in inputs:
            out = pushed.check(lambda: image.encode_luma(
                image.luma(encoding, height, width, step, data, bigendian, max_bytes=256),
                spatial))
            assert out is None or out.shape == (1, 3 if spatial else 1)
            assert out is None or np.all(np.abs(out) <= 1.0 + 1e-12)
    run(cases)


def test_text_hash():
    surrogates = st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
                         max_size=3)

    @EXAMPLES
    @given(batches(st.one_of(st.text(max_size=60), st.binary(max_size=8), weird, surrogates)))
    def cases(pushed, inputs):
        for data in inputs:
            pushed.check(lambda: text.encode_hash(data, max_chars=50), (1, 1))
    run(cases)


def test_tokens():
    json_tokens = st.fixed_dictionaries({}, optional={
        'token': weird, 'position': weird, 'confidence': weird}).map(
            lambda d: json.dumps(d, default=repr))

    @EXAMPLES
    @given(batches(st.one_of(json_tokens, st.text(max_size=40), st.just('{'), weird)))
    def cases(pushed, inputs):
        stream = text.TokenStream(8, max_chars=200)
        for data in inputs:
            pushed.check(lambda: stream.encode(data), (1, 2))
    run(cases)


def test_audio_blocks():
    @EXAMPLES
    @given(batches(st.one_of(st.lists(floats, max_size=64), st.lists(weird, max_size=4))))
    def cases(pushed, blocks):
        phase = audio.AnalyticPhase(8000, 1000)
        for block in blocks:
            pushed.count += 1
            try:
                result = phase.push(block)
            except RejectedInput as rejected:
                assert rejected.reason in REASONS
                continue
            except (TypeError, ValueError):
                # Strings and None in a sample block are refused by numpy before our checks.
                assert not all(isinstance(x, (int, float)) for x in block)
                continue
            if result is not None:
                assert np.all(np.isfinite(result[1])) and np.allclose(np.abs(result[1]), 1.0)
    run(cases)


def test_stamps():
    @EXAMPLES
    @given(batches(st.tuples(floats, st.floats(0.0, 2e9))), st.floats(1e-3, 1e3))
    def cases(pushed, inputs, skew):
        guard = StampGuard(skew)
        for stamp, now in inputs:
            out = pushed.check(lambda: guard.check(stamp, now))
            if out is not None:
                assert 0.0 <= out <= now + skew
                guard.accept(float(out))
    run(cases)


def test_sync_state():
    @EXAMPLES
    @given(batches(st.tuples(st.booleans(), floats, floats, floats)))
    def cases(pushed, inputs):
        gate = CollapseGate(0.5)
        for collapsed, coherence, real, imag in inputs:
            pushed.count += 1
            try:
                gate.update(1.0, collapsed, coherence, complex(real, imag))
            except ValueError:
                assert not all(map(math.isfinite, (coherence, real, imag)))
                continue
            assert 0.0 <= gate.coherence <= 1.0
    run(cases)
