"""
Property-based, in process: no message or request can crash, silence or corrupt the memory.

For every subscription of the node (found from the node itself, so a new one is covered
without editing this file) and both services, hypothesis sends values across the whole range
the wire allows (``testing.hostile``) straight into the node's guarded callbacks;
``BECOMINGONE_STRICT_CALLBACKS=1`` makes any exception fail the test. Every message must leave
a trace (buffered, or refused and counted by a known reason), and a clean record fed alongside
must still be acknowledged after a flush and come back from a query.
"""

from becomingone_core.input_rules import NANOSECONDS, REASONS
from becomingone_core.nodes.memory_node import MemoryNode
from becomingone_core.ros.guarded_node import STRICT_ENVIRONMENT
from becomingone_core.testing import hostile
from becomingone_core.testing.processes import isolated_ros_env
from becomingone_core.testing.ros import RosProbe
from becomingone_msgs.srv import QueryMemory, ReconstructCoherence
from hypothesis import given, HealthCheck, settings
import pytest
from rclpy.parameter import Parameter
from test_memory_bad_input import now_ns, services, stamp, sync_message

EXAMPLES = settings(max_examples=150, deadline=None, database=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))
# The memory's own reasons (records.InvalidRecord, the store) beyond the input rules'.
MEMORY_REASONS = set(REASONS) | {'malformed', 'size', 'kind', 'stamp', 'not_finite',
                                 'backlog', 'too_many_observers'}


@pytest.fixture(autouse=True)
def strict(monkeypatch):
    monkeypatch.setenv(STRICT_ENVIRONMENT, '1')


@pytest.fixture
def node(tmp_path):
    with RosProbe(isolated_ros_env()) as probe:
        node = MemoryNode(context=probe.context, parameter_overrides=[
            Parameter('path', value=str(tmp_path / 'cell.sqlite3'))])
        try:
            yield node
        finally:
            node.destroy_node()


def _trace(node):
    store = node.store
    return (store.backlog + store.acknowledged.total + node._rejections.total
            + sum(store.witness.duplicates_ignored.values()) + store.witness.duplicate_signatures
            + sum(store.duplicate_records.values()))


class CleanSync:
    """Valid sync states stamped just behind the node clock, each one checked back."""

    def __init__(self, node):
        self.node = node
        self.callback = next(sub.callback for sub in node.subscriptions
                             if sub.topic_name.endswith('sync/state'))
        self.last_ns = 0

    def feed_and_check(self):
        stamp_ns = max(now_ns(self.node) - NANOSECONDS // 10, self.last_ns + 1)
        before = self.node.store.acknowledged.counts['sync']
        self.callback(sync_message(stamp_ns))
        self.node.flush()
        # Hostile ones that were valid after all are acknowledged too: at least one more.
        assert self.node.store.backlog == 0
        assert self.node.store.acknowledged.counts['sync'] >= before + 1
        reply = services(self.node)[QueryMemory](
            QueryMemory.Request(kind='sync', start=stamp(stamp_ns), end=stamp(stamp_ns)),
            QueryMemory.Response())
        assert reply.success and len(reply.sync_states) == 1
        self.last_ns = stamp_ns


def test_no_message_on_any_subscription_harms_the_memory(node):
    subscriptions = {sub.topic_name.lstrip('/'): sub for sub in node.subscriptions}
    assert set(subscriptions) == {'master/resonance', 'emissary/resonance', 'sync/state',
                                  'mesh/state', 'witness', 'witness/signatures'}
    clean = CleanSync(node)
    for topic, subscription in subscriptions.items():
        @EXAMPLES
        @given(hostile.messages(subscription.msg_type))
        def send(message):
            # As drawn (the stamp is checked first, so mostly refused for it), then stamped by
            # the node clock so that the rest of the message meets its checks too.
            for restamp in (False, True):
                if restamp:
                    message.header.stamp = stamp(now_ns(node) - NANOSECONDS // 10)
                before = _trace(node)
                subscription.callback(message)
                assert _trace(node) == before + 1, f'{topic}: a message left no trace'
                assert set(node._rejections.counts) <= MEMORY_REASONS
            clean.feed_and_check()

        send()
    assert node.internal_errors == 0
    # Hostile input is refused for what it is, not for a bug: the common reasons all show.
    assert {'non_finite', 'bad_stamp', 'too_long', 'out_of_range', 'size_mismatch',
            'bad_digest', 'future', 'stale'} <= set(node._rejections.counts)


def test_no_request_harms_the_memory(node):
    callbacks = services(node)
    clean = CleanSync(node)

    @EXAMPLES
    @given(hostile.messages(QueryMemory.Request))
    def ask(request):
        before = node._request_rejections.total
        reply = callbacks[QueryMemory](request, QueryMemory.Response())
        refused = node._request_rejections.total - before
        assert refused == (not reply.success)
        assert len(reply.message) < 400  # never a 100k-character request echoed back
        clean.feed_and_check()

    @EXAMPLES
    @given(hostile.messages(ReconstructCoherence.Request))
    def reconstruct(request):
        before = node._request_rejections.total
        callbacks[ReconstructCoherence](request, ReconstructCoherence.Response())
        valid = request.stamp.nanosec < NANOSECONDS and request.stamp.sec >= 0
        assert node._request_rejections.total - before == (not valid)

    ask()
    reconstruct()
    clean.feed_and_check()
    assert node.internal_errors == 0
    assert set(node._request_rejections.counts) <= set(REASONS)
