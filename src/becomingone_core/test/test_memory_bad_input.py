"""
The memory node, in process: bad input is refused by range, counted by reason, and harmless.

Each message goes straight into the node's own guarded subscription callback (and requests
into its service callbacks); ``BECOMINGONE_STRICT_CALLBACKS=1`` makes any exception escaping
a callback fail the test.
"""

from becomingone_core.input_rules import NANOSECONDS
from becomingone_core.memory.records import StateRecord, SYNC
from becomingone_core.nodes.memory_node import MemoryNode
from becomingone_core.ros.guarded_node import STRICT_ENVIRONMENT
from becomingone_core.testing.memory_records import sync_record, witness_entries
from becomingone_core.testing.processes import isolated_ros_env
from becomingone_core.testing.ros import RosProbe
from becomingone_msgs.msg import SyncState, WitnessRecord
from becomingone_msgs.srv import QueryMemory, ReconstructCoherence
from builtin_interfaces.msg import Time
import pytest
from rclpy.parameter import Parameter


@pytest.fixture(autouse=True)
def strict(monkeypatch):
    monkeypatch.setenv(STRICT_ENVIRONMENT, '1')


@pytest.fixture
def probe():
    with RosProbe(isolated_ros_env()) as probe:
        yield probe


@pytest.fixture
def make_node(probe, tmp_path):
    nodes = []

    def make(**overrides):
        overrides.setdefault('path', str(tmp_path / 'cell.sqlite3'))
        node = MemoryNode(context=probe.context, parameter_overrides=[
            Parameter(name, value=value) for name, value in overrides.items()])
        nodes.append(node)
        return node
    yield make
    for node in nodes:
        node.destroy_node()


def callbacks(node):
    """Return ``{relative topic: guarded callback}`` of the node's subscriptions."""
    return {sub.topic_name.lstrip('/'): sub.callback for sub in node.subscriptions}


def services(node):
    """Return ``{service type: guarded callback}`` of the node's own services."""
    return {service.srv_type: service.callback for service in node.services
            if service.srv_type in (QueryMemory, ReconstructCoherence)}


def now_ns(node):
    return node.get_clock().now().nanoseconds


def stamp(nanoseconds):
    return Time(sec=nanoseconds // NANOSECONDS, nanosec=nanoseconds % NANOSECONDS)


def witness_message(entry):
    message = WitnessRecord()
    message.header.stamp = stamp(entry.stamp_ns)
    message.observer = entry.observer
    message.layer, message.subject, message.event = entry.layer, entry.subject, entry.event
    message.names, message.values = list(entry.names), list(entry.values)
    message.sequence = entry.sequence
    message.previous_digest, message.digest = entry.previous_digest, entry.digest
    return message


def sync_message(stamp_ns, coherence=0.5):
    fields = sync_record(stamp_ns, coherence).fields
    message = SyncState(**{key: value for key, value in fields.items() if key != 'header'})
    message.header.stamp = stamp(stamp_ns)
    message.header.frame_id = 'cell'
    return message


def query(node, **fields):
    return services(node)[QueryMemory](QueryMemory.Request(**fields), QueryMemory.Response())


def test_a_witness_sequence_past_int64_is_counted_and_the_node_goes_on(make_node):
    node = make_node()
    on_witness = callbacks(node)['witness']
    start = now_ns(node) - NANOSECONDS
    entries = witness_entries(2, stamp_ns=lambda sequence: start + sequence * 1000)
    hostile = witness_message(entries[0])
    hostile.sequence = 2**64 - 1  # killed the node: OverflowError in MemoryStore._is_stored
    on_witness(hostile)
    assert node._rejections.counts == {'out_of_range': 1}
    for entry in entries:
        on_witness(witness_message(entry))
    node.flush()
    assert node.store.acknowledged.counts['witness'] == 2 and node.internal_errors == 0
    reply = query(node, kind='witness')
    assert reply.success and [w.sequence for w in reply.witness_records] == [0, 1]


def test_a_record_from_the_future_never_reaches_the_store(make_node):
    """One record stamped in 2100 would have moved retention's clock and folded every record."""
    node = make_node(raw_keep_s=60.0)
    on_sync = callbacks(node)['sync/state']
    now = now_ns(node)
    for offset_s in (3, 2, 1):
        on_sync(sync_message(now - offset_s * NANOSECONDS))
    on_sync(sync_message(4_102_444_800 * NANOSECONDS))  # 2100-01-01
    on_sync(sync_message(now + 2 * NANOSECONDS))  # beyond max_clock_skew_s (0.5 s)
    assert node._rejections.counts == {'future': 2}
    node.flush()
    assert node.store.acknowledged.newest_ns < now
    while not node.store.apply_retention().done:
        pass
    assert node.store.stored_counts()['sync'] == 3  # still at full resolution
    assert len(query(node, kind='sync').sync_states) == 3


def test_records_older_than_max_record_age_are_stale(make_node):
    node = make_node(max_record_age_s=60.0)
    on_sync = callbacks(node)['sync/state']
    on_sync(sync_message(now_ns(node) - 120 * NANOSECONDS))
    on_sync(sync_message(now_ns(node) - 30 * NANOSECONDS))
    node.flush()
    assert node._rejections.counts == {'stale': 1}
    assert node.store.acknowledged.counts['sync'] == 1


def test_observers_past_max_observers_are_refused(make_node):
    node = make_node(max_observers=2)
    on_witness = callbacks(node)['witness']
    start = now_ns(node) - NANOSECONDS
    for observer in ('a', 'b', 'c', 'd'):
        for entry in witness_entries(2, observer=observer, stamp_ns=lambda s: start + s):
            on_witness(witness_message(entry))
    node.flush()
    assert node._rejections.counts == {'too_many_observers': 4}
    assert node.store.acknowledged.counts['witness'] == 4
    assert set(node.store.witness._tails) == {'a', 'b'}


HUGE = 'x' * 100_000


@pytest.mark.parametrize('fields, reason', [
    ({'kind': HUGE}, 'out_of_range'),
    ({'kind': 'sync', 'transducer': HUGE}, 'too_long'),
    ({'kind': 'sync', 'start': Time(sec=1, nanosec=2**32 - 1)}, 'bad_stamp'),
    ({'kind': 'sync', 'end': Time(sec=1, nanosec=1_000_000_000)}, 'bad_stamp'),
    ({'kind': 'sync', 'start': Time(sec=10), 'end': Time(sec=5)}, 'out_of_range'),
])
def test_a_bad_query_is_refused_counted_and_never_echoed_whole(make_node, fields, reason):
    node = make_node()
    reply = query(node, **fields)
    assert not reply.success and reply.message.startswith(reason)
    assert len(reply.message) < 300
    assert node._request_rejections.counts == {reason: 1}
    assert query(node, kind='sync').success  # and the service goes on


def test_a_bad_reconstruct_stamp_is_unknown_and_counted(make_node):
    node = make_node()
    reconstruct = services(node)[ReconstructCoherence]
    node.store.add(sync_record(5 * NANOSECONDS))
    answer = reconstruct(ReconstructCoherence.Request(stamp=Time(sec=5, nanosec=2**32 - 1)),
                         ReconstructCoherence.Response())
    assert not answer.known and node._request_rejections.counts == {'bad_stamp': 1}
    answer = reconstruct(ReconstructCoherence.Request(stamp=Time(sec=5)),
                         ReconstructCoherence.Response())
    assert answer.known and answer.source == 'record'


def test_unstorable_records_are_reported_in_diagnostics(make_node):
    node = make_node()
    good = sync_record(NANOSECONDS)
    node.store.add(StateRecord(SYNC, 2**64, '', good.coherence, good.t, dict(good.fields)))
    node.store.add(good)
    node.flush()
    status = node._store_status()
    assert status.values['unstorable'] == 1 and status.values['acknowledged_total'] == 1
    assert 'dropped' in status.message
