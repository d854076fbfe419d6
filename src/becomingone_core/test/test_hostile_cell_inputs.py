"""
Property-based, in process: no message a cell node subscribes to can crash it or stall it.

For every subscription of ``master``/``emissary``, ``sync`` and ``witness`` (found from the node
itself, so a new subscription is covered without editing this file), hypothesis sends messages
with field values across the whole range the wire allows (``testing.hostile``) and extreme but
valid ones (stamps from 20 s behind to 20 s ahead of the clock, strange sources), each straight
into the node's own guarded callback. ``BECOMINGONE_STRICT_CALLBACKS=1`` makes any exception
fail the test. After each message a clean source fed alongside must still be integrated (or
decided on, or witnessed), and every message must leave a trace: accepted, or rejected and
counted by a known reason.
"""

import math

from becomingone_core.input_rules import NANOSECONDS, REASONS
from becomingone_core.nodes.sync_node import SyncNode
from becomingone_core.nodes.transducer_node import TransducerNode
from becomingone_core.nodes.witness_node import WitnessNode
from becomingone_core.phase_block import pack
from becomingone_core.ros.guarded_node import STRICT_ENVIRONMENT
from becomingone_core.testing import hostile
from becomingone_core.testing.processes import isolated_ros_env
from becomingone_core.testing.ros import RosProbe
from becomingone_msgs.msg import Phase, Resonance, SyncState
from hypothesis import given, HealthCheck, settings, strategies as st
import numpy as np
import pytest

EXAMPLES = settings(max_examples=150, deadline=None, database=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))
# The transducer's own reasons, beyond the message rules and phase_block's.
TRANSDUCER_REASONS = {'empty', 'size_mismatch', 'too_large', 'too_long', 'non_finite',
                      'time_order', 'span', 'bad_stamp', 'future', 'stale', 'time_backwards',
                      'late', 'flood', 'shape', 'too_many_sources', 'out_of_range', 'bank'}


@pytest.fixture(autouse=True)
def strict(monkeypatch):
    monkeypatch.setenv(STRICT_ENVIRONMENT, '1')


@pytest.fixture
def probe():
    with RosProbe(isolated_ros_env()) as probe:
        yield probe


def _callbacks(node):
    """Return ``{relative topic: (message type, guarded callback)}`` of every subscription."""
    return {sub.topic_name.lstrip('/'): (sub.msg_type, sub.callback) for sub in node.subscriptions}


def _now_ns(node):
    return node.get_clock().now().nanoseconds


def _stamp(message, nanoseconds):
    message.header.stamp.sec, message.header.stamp.nanosec = divmod(int(nanoseconds), NANOSECONDS)
    return message


# ----------------------------------------------------------------------------- phase
@st.composite
def valid_but_extreme_phase(draw):
    """Draw a well-formed block from an odd source, stamped from 20 s ago to 20 s ahead."""
    count = draw(st.integers(1, 4))
    offsets = sorted(set(draw(st.lists(st.floats(0, 0.5), min_size=count, max_size=count))))
    offsets = [0.0] + [o for o in offsets if o > 0][:count - 1]
    values = draw(st.lists(st.complex_numbers(max_magnitude=1e6, allow_nan=False,
                                              allow_infinity=False),
                           min_size=len(offsets), max_size=len(offsets)))
    message = Phase(channels=1, stamps_offset=offsets if len(offsets) > 1 else [],
                    real=[v.real for v in values], imag=[v.imag for v in values])
    message.source = draw(st.sampled_from(['imu', 'far', 'x' * 256, 'unnamed']))
    return message, draw(st.floats(-20.0, 20.0))


class CleanPhase:
    """A 2 Hz phasor at 200 Hz from source ``clean``, stamped by the node's clock."""

    def __init__(self, node, callback):
        self.node, self.callback = node, callback
        self.last_ns = _now_ns(node) - NANOSECONDS // 10

    def feed(self):
        now = _now_ns(self.node)
        t_ns = np.arange(self.last_ns + 5_000_000, now + 1, 5_000_000)
        if t_ns.size == 0:
            return
        t = (t_ns - t_ns[0]) / NANOSECONDS
        fields = pack(t, np.exp(2j * np.pi * 2.0 * t_ns / NANOSECONDS), epoch_ns=int(t_ns[0]))
        message = Phase(channels=1, stamps_offset=fields['stamps_offset'], real=fields['real'],
                        imag=fields['imag'])
        message.source = 'clean'
        self.callback(_stamp(message, fields['stamp_ns']))
        self.last_ns = int(t_ns[-1])


@pytest.mark.parametrize('role', ['emissary', 'master'])
def test_no_phase_message_crashes_or_stalls_a_transducer(probe, role):
    node = TransducerNode(role, context=probe.context)
    callbacks = _callbacks(node)
    assert {topic: kind for topic, (kind, _) in callbacks.items()} == {
        'phase': Phase, 'sync/state': SyncState}
    callback, on_sync = callbacks['phase'][1], callbacks['sync/state'][1]
    transducer = node.transducer
    clean = CleanPhase(node, callback)
    clean.feed()
    config = transducer.config
    slack_s = config.max_delay_s + 2.0 / (config.sample_rate_hz or 1000.0) + 0.05

    def outcome():
        return transducer.accepted + transducer.rejections.total

    def send(message):
        before = outcome()
        callback(message)
        assert outcome() > before, 'a message left no trace: neither accepted nor counted'
        assert set(transducer.rejections.counts) <= TRANSDUCER_REASONS
        clean.feed()
        # The clean source is integrated up to (nearly) its newest sample, whatever came before.
        newest = transducer.state().newest_t
        clean_t = (clean.last_ns - node._epoch_ns) / NANOSECONDS
        assert newest >= clean_t - slack_s, (newest, clean_t)

    @EXAMPLES
    @given(st.lists(st.one_of(hostile.messages(Phase), valid_but_extreme_phase(),
                              hostile.messages(SyncState)), min_size=1, max_size=4))
    def cases(messages):
        for message in messages:
            if isinstance(message, SyncState):  # what the sync layer says: realign or not
                on_sync(message)
                clean.feed()
                continue
            if isinstance(message, tuple):
                message, ahead_s = message
                _stamp(message, _now_ns(node) + ahead_s * NANOSECONDS)
            send(message)

    cases()
    assert transducer.rejections.total > 0
    assert 'clean' in transducer.active_sources and node.internal_errors == 0
    node.destroy_node()


# ----------------------------------------------------------------------------- resonance
@st.composite
def valid_but_extreme_resonance(draw):
    lags = draw(st.integers(0, 5))
    gamma = draw(st.lists(st.complex_numbers(max_magnitude=1.0), min_size=lags, max_size=lags))
    summary = draw(st.complex_numbers(max_magnitude=1.0))
    message = Resonance(
        tau=[0.1 * (k + 1) for k in range(lags)], gamma_real=[g.real for g in gamma],
        gamma_imag=[g.imag for g in gamma], coherence=[min(1.0, abs(g) ** 2) for g in gamma],
        summary_real=summary.real, summary_imag=summary.imag,
        summary_coherence=min(1.0, abs(summary) ** 2), samples=draw(st.integers(0, 2**63 - 1)),
        transducer=draw(st.sampled_from(['master', 'emissary', 'y' * 256])))
    return message, draw(st.floats(-20.0, 20.0))


def _clean_resonance(node, value=0.95):
    message = Resonance(transducer='clean', summary_real=value, summary_coherence=value ** 2)
    return _stamp(message, _now_ns(node))


def test_no_resonance_crashes_the_sync_layer_or_blocks_a_clean_decision(probe):
    node = SyncNode(context=probe.context)
    callbacks = _callbacks(node)
    assert {callbacks[f'{r}/resonance'][0] for r in ('master', 'emissary')} == {Resonance}

    def clean_decision():
        for role in ('master', 'emissary'):
            message = _clean_resonance(node)
            callbacks[f'{role}/resonance'][1](message)
        decision = node.layer.last
        stamp_s = message.header.stamp.sec + message.header.stamp.nanosec * 1e-9
        assert math.isclose(decision.coherence, 0.95 ** 2)
        # Stamped at the newest stamp seen, which an accepted input may put up to the allowed
        # skew ahead; never behind the clean input.
        assert stamp_s - 1e-6 <= decision.stamp_s <= stamp_s + node._window.max_future_s

    clean_decision()

    @EXAMPLES
    @given(st.lists(st.tuples(st.sampled_from(['master', 'emissary']), st.one_of(
        hostile.messages(Resonance), valid_but_extreme_resonance())), min_size=1, max_size=4))
    def cases(messages):
        for role, message in messages:
            if isinstance(message, tuple):
                message, ahead_s = message
                _stamp(message, _now_ns(node) + ahead_s * NANOSECONDS)
            before = node.decisions + node.rejections.total
            callbacks[f'{role}/resonance'][1](message)
            assert node.decisions + node.rejections.total == before + 1
            assert set(node.rejections.counts) <= set(REASONS)
            decision = node.layer.last
            assert 0.0 <= decision.coherence <= 1.0 and abs(decision.sync) <= 1.0 + 1e-9
            clean_decision()

    cases()
    assert node.rejections.total > 0 and node.internal_errors == 0
    node.destroy_node()


# ----------------------------------------------------------------------------- witness
def test_no_observed_message_crashes_the_witness_or_stops_its_records(probe):
    node = WitnessNode(context=probe.context)
    callbacks = _callbacks(node)
    kinds = {topic: message_type for topic, (message_type, _) in callbacks.items()}
    assert kinds == {'phase': Phase, 'master/resonance': Resonance,
                     'emissary/resonance': Resonance, 'sync/state': SyncState}
    strategies = [st.tuples(st.just(topic), hostile.messages(message_type))
                  for topic, message_type in sorted(kinds.items())]
    published = []
    node._publisher.publish = published.append  # what the witness sends, seen in process

    @EXAMPLES
    @given(st.lists(st.one_of(strategies), min_size=1, max_size=4))
    def cases(messages):
        for topic, message in messages:
            records = node.witness.records
            callbacks[topic][1](message)
            assert node.witness.records >= records
            assert set(node.rejections.counts) <= set(REASONS)
        before = len(published)
        callbacks['emissary/resonance'][1](_clean_resonance(node))
        assert len(published) > before or node.witness.dropped, 'a clean cycle was not witnessed'
        assert all(0 <= p.sequence < 2**63 for p in published[before:])

    cases()
    assert node.rejections.total > 0 and node.witness.inputs_rejected == node.rejections.total
    assert node.internal_errors == 0
    # Every record the witness made still verifies as one chain.
    from becomingone_core.nodes.witness_node import record_from_message
    from becomingone_core.witness_chain import verify
    assert verify([record_from_message(m) for m in published]).ok
    node.destroy_node()
