"""Tiered retention, time-range queries and reconstruct() across tier boundaries."""

import math
import tempfile

from becomingone_core.memory.records import make_record, RESONANCE
from becomingone_core.memory.retention import RetentionPolicy, Tier
from becomingone_core.memory.store import MemoryStore
from becomingone_core.testing.memory_records import sync_record
from hypothesis import given, settings, strategies as st
import numpy as np
import pytest

NS = 1_000_000_000
MS = 1_000_000
# 10 Hz for 1000 s. With newest at 999.9 s this policy leaves: 60 s buckets on [0, 540),
# 10 s buckets on [540, 890), 1 s buckets on [890, 979) and raw records on [979, 999.9].
STAMPS = np.arange(10_000, dtype=np.int64) * 100 * MS
POLICY = RetentionPolicy(raw_keep_s=20.0, tiers=(
    Tier(1.0, 100.0), Tier(10.0, 400.0), Tier(60.0, math.inf)))


def _coherence(stamp_ns):
    return 0.5 + 0.4 * math.sin(stamp_ns / NS / 7.0)


def _fill(path, max_rows):
    store = MemoryStore(path, policy=POLICY, batch_size=5000)
    for stamp in STAMPS.tolist():
        if store.add(sync_record(stamp, _coherence(stamp))):
            store.flush()
    store.flush()
    steps = 0
    while not store.apply_retention(max_rows=max_rows).done:
        steps += 1
    return store, steps


@pytest.fixture(scope='module')
def store(tmp_path_factory):
    store, steps = _fill(tmp_path_factory.mktemp('history') / 'cell.sqlite3', max_rows=700)
    assert steps > 3, 'retention should have run in several bounded steps'
    yield store
    store.close()


def _expected(start_s, end_s):
    chosen = STAMPS[(STAMPS >= start_s * NS) & (STAMPS < end_s * NS)]
    coherence = np.array([_coherence(s) for s in chosen.tolist()])
    t = np.sqrt(coherence) * np.exp(1j * chosen * 1e-9)
    return len(chosen), coherence.mean(), coherence.min(), coherence.max(), t.mean()


def test_retention_leaves_each_tier_where_the_policy_says(store):
    buckets = list(store.iter_buckets())
    by_resolution = {}
    for bucket in buckets:
        by_resolution.setdefault(bucket.resolution_ns // NS, []).append(bucket.start_ns // NS)
    assert by_resolution[60] == list(range(0, 540, 60))
    assert by_resolution[10] == list(range(540, 890, 10))
    assert by_resolution[1] == list(range(890, 979))
    raw = store.query('sync', limit=100_000).records
    assert [r.stamp_ns for r in raw] == [s for s in STAMPS.tolist() if s >= 979 * NS]
    # Nothing lost: every record is counted exactly once, raw or in a bucket.
    assert sum(b.count for b in buckets) + len(raw) == len(STAMPS)
    assert store.acknowledged.total == len(STAMPS)


@pytest.mark.parametrize('resolution_s, start_s', [(60, 120), (10, 700), (1, 950)])
def test_bucket_statistics_match_the_records_they_replace(store, resolution_s, start_s):
    result = store.query('sync', start_s * NS, start_s * NS)
    [bucket] = [b for b in result.buckets if b.resolution_ns == resolution_s * NS]
    count, mean, low, high, t_mean = _expected(start_s, start_s + resolution_s)
    assert bucket.count == count
    assert bucket.coherence_mean == pytest.approx(mean, rel=1e-9)
    assert (bucket.coherence_min, bucket.coherence_max) == pytest.approx((low, high))
    assert bucket.t_mean == pytest.approx(t_mean, rel=1e-9, abs=1e-12)


def test_bounded_steps_give_the_same_buckets_as_one_step(store, tmp_path):
    one_shot, steps = _fill(tmp_path / 'once.sqlite3', max_rows=10**9)
    try:
        assert steps == 1
        ours, theirs = list(store.iter_buckets()), list(one_shot.iter_buckets())
        assert [(b.resolution_ns, b.start_ns, b.count) for b in ours] == \
            [(b.resolution_ns, b.start_ns, b.count) for b in theirs]
        assert [b.coherence_mean for b in ours] == pytest.approx(
            [b.coherence_mean for b in theirs], rel=1e-12)
    finally:
        one_shot.close()


def test_time_range_spans_every_tier_in_time_order(store):
    result = store.query('sync', 530 * NS, 1000 * NS, limit=100_000)
    assert not result.truncated
    starts = [(b.resolution_ns // NS, b.start_ns // NS) for b in result.buckets]
    assert starts[0] == (60, 480)  # overlaps the range start
    assert len(starts) == 1 + 35 + 89
    assert [s for _, s in starts] == sorted(s for _, s in starts)
    assert len(result.records) == 210
    assert result.records[0].stamp_ns == 979 * NS


def test_newest_first_with_limit_is_truncated_and_starts_at_the_newest(store):
    result = store.query('sync', 0, None, limit=250, newest_first=True)
    assert result.truncated
    assert len(result.records) == 210 and len(result.buckets) == 40
    assert result.records[0].stamp_ns == STAMPS[-1]
    assert result.buckets[0].start_ns == 978 * NS
    oldest_first = store.query('sync', 0, None, limit=5)
    assert oldest_first.truncated and not oldest_first.records
    assert [b.start_ns // NS for b in oldest_first.buckets] == [0, 60, 120, 180, 240]


def test_range_inside_raw_history_is_exact(store):
    result = store.query('sync', 990 * NS, 991 * NS)
    assert [r.stamp_ns for r in result.records] == list(range(990 * NS, 991 * NS + 1, 100 * MS))
    assert result.buckets == [] and not result.truncated


@pytest.mark.parametrize('at_s, source, resolution_s, nearest_s', [
    (995.0, 'record', None, 995.0),
    (1003.0, 'record', None, 999.9),
    (950.05, 'bucket', 1, 950),
    (700.5, 'bucket', 10, 700),
    (100.0, 'bucket', 60, 60),
])
def test_reconstruct_answers_from_the_right_tier(store, at_s, source, resolution_s, nearest_s):
    answer = store.reconstruct(int(at_s * NS), tolerance_ns=5 * NS)
    assert answer.known and answer.source == source
    assert answer.stamp_ns == pytest.approx(nearest_s * NS)
    if source == 'record':
        assert answer.record.coherence == pytest.approx(_coherence(answer.stamp_ns))
        assert answer.record.fields['threshold'] == 0.6
    else:
        assert answer.bucket.resolution_ns == resolution_s * NS
        start = answer.bucket.start_ns / NS
        assert answer.bucket.coherence_mean == pytest.approx(
            _expected(start, start + resolution_s)[1])


def test_reconstruct_far_from_any_history_is_unknown(store):
    assert not store.reconstruct(5000 * NS, tolerance_ns=5 * NS).known
    assert store.reconstruct(1004 * NS, tolerance_ns=5 * NS).known
    assert not store.reconstruct(1005 * NS, tolerance_ns=5 * NS).known


def test_transducer_filter_and_kinds_are_kept_apart(tmp_path):
    with MemoryStore(tmp_path / 'r.sqlite3') as store:
        for i in range(10):
            for source in ('master', 'emissary'):
                store.add(make_record(RESONANCE, i * NS, source, 0.1 * i, 0.3j))
        store.add(sync_record(3 * NS))
        store.flush()
        master = store.query(RESONANCE, 2 * NS, 5 * NS, source='master').records
        assert [(r.source, r.stamp_ns) for r in master] == \
            [('master', s * NS) for s in range(2, 6)]
        assert len(store.query(RESONANCE, 0, None).records) == 20
        assert len(store.query('sync', 0, None).records) == 1


def test_a_cell_running_for_months_keeps_its_file_bounded(tmp_path):
    policy = RetentionPolicy(raw_keep_s=60.0, tiers=(
        Tier(1.0, 300.0), Tier(60.0, 1200.0), Tier(600.0, 3600.0)))
    sizes, rows = [], []
    with MemoryStore(tmp_path / 'long.sqlite3', policy=policy) as store:
        for hour in range(8):
            for second in range(3600):
                store.add(sync_record((hour * 3600 + second) * NS))
                if second % 60 == 59:
                    store.flush()
                    store.apply_retention()
            stored = store.stored_counts()
            rows.append(stored['sync'] + stored['buckets'])
            store._connection.execute('PRAGMA wal_checkpoint(TRUNCATE)')
            sizes.append(store.disk_bytes())
        assert store.acknowledged.total == 8 * 3600
    assert max(rows) <= 60 + 60 + 300 + 20 + 6 + 1
    assert sizes[-1] <= sizes[2] * 1.1, sizes


@settings(max_examples=15, deadline=None)
@given(stamps=st.lists(st.integers(0, 400 * NS), min_size=1, max_size=300),
       max_rows=st.integers(1, 400), raw_keep_s=st.sampled_from([1.0, 30.0, 90.0]))
def test_any_history_folds_the_same_in_bounded_steps_and_loses_no_count(stamps, max_rows,
                                                                        raw_keep_s):
    policy = RetentionPolicy(raw_keep_s=raw_keep_s, tiers=(
        Tier(1.0, 60.0), Tier(10.0, 120.0), Tier(60.0, math.inf)))
    results = []
    with tempfile.TemporaryDirectory() as directory:
        for name, rows in (('steps', max_rows), ('once', 10**9)):
            with MemoryStore(f'{directory}/{name}.sqlite3', policy=policy) as store:
                for stamp in stamps:  # arrival order is random: late records are fine
                    store.add(sync_record(stamp, _coherence(stamp)))
                store.flush()
                while not store.apply_retention(max_rows=rows).done:
                    pass
                buckets = list(store.iter_buckets())
                raw = store.query('sync', limit=10**6).records
                assert sum(b.count for b in buckets) + len(raw) == len(stamps)
                results.append(([(b.resolution_ns, b.start_ns, b.count, b.coherence_min,
                                  b.coherence_max) for b in buckets], len(raw),
                                [b.coherence_mean for b in buckets]))
    (steps, raw_steps, means_steps), (once, raw_once, means_once) = results
    assert steps == once and raw_steps == raw_once
    assert means_steps == pytest.approx(means_once, rel=1e-12)
