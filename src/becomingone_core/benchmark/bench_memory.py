"""
Temporal memory figures: durable ingest rate, range query latency, disk per record.

Run with ``make bench`` (or ``python bench_memory.py [--hours 24]``). Aims from the issues:
ingest >= 20,000 records/s with durability on; p99 of a 1-hour range query over a day at
10 Hz < 20 ms; a raw hour (36,000 records) as arrays <= 20 ms p99 at the store (issue #13),
printed beside the object path (``query``) measured in the same run.
"""

import argparse
import math
import random
import tempfile
import time

from becomingone_core.memory.retention import RetentionPolicy
from becomingone_core.memory.store import MemoryStore
from becomingone_core.testing.memory_records import sync_record
import numpy as np

NS = 1_000_000_000
HOUR_NS = 3600 * NS


def ingest(path, count, batch):
    records = [sync_record(i * 100_000_000) for i in range(count)]
    with MemoryStore(path, batch_size=batch) as store:
        start = time.perf_counter()
        for record in records:
            if store.add(record):
                store.flush()
        store.flush()
        elapsed = time.perf_counter() - start
    return count / elapsed


def fill_day(path, hours, policy):
    """Ten records a second for ``hours``, then retention until it has caught up."""
    with MemoryStore(path, policy=policy, batch_size=50_000) as store:
        for i in range(int(hours * 36_000)):
            if store.add(sync_record(i * 100_000_000)):
                store.flush()
        store.flush()
        while not store.apply_retention(max_rows=200_000).done:
            pass
        store._connection.execute('PRAGMA wal_checkpoint(TRUNCATE)')
        stored = store.stored_counts()
        return store.disk_bytes(), stored['sync'] + stored['buckets']


def query_latencies(path, hours, limit, runs=200, seed=1):
    rng = random.Random(seed)
    latencies = []
    items = 0
    with MemoryStore(path, read_only=True) as store:
        for _ in range(runs):
            start_ns = rng.randrange(0, max(1, int((hours - 1) * HOUR_NS)))
            begin = time.perf_counter()
            result = store.query('sync', start_ns, start_ns + HOUR_NS, limit=limit)
            latencies.append((time.perf_counter() - begin) * 1e3)
            items += len(result.records) + len(result.buckets)
    p50, p99 = np.percentile(latencies, [50, 99])
    return p50, p99, items / runs


def raw_hour_reads(path, runs=40, seed=2):
    """
    Read a whole raw hour both ways, interleaved; return ``{path: (p50, p99, records)}``.

    The store holds an hour and a half of sync states at 10 Hz with up to 2 ms of jitter,
    stamped like ROS stamps (nanoseconds since the epoch, 2026); each run reads a random hour.
    """
    rng = np.random.default_rng(seed)
    base = 1_780_000_000 * NS
    count = 54_000
    stamps = base + np.arange(count) * 100_000_000 + rng.integers(0, 2_000_000, count)
    with MemoryStore(path, policy=RetentionPolicy(raw_keep_s=1e9), batch_size=10_000) as store:
        for stamp in stamps.tolist():
            if store.add(sync_record(stamp)):
                store.flush()
        store.flush()
    paths = {
        'query (StateRecord objects)': lambda store, start: len(store.query(
            'sync', start, start + HOUR_NS, limit=40_000).records),
        'query_arrays (numpy arrays)': lambda store, start: len(store.query_arrays(
            'sync', start, start + HOUR_NS, limit=40_000)),
    }
    latencies = {name: [] for name in paths}
    records = {}
    with MemoryStore(path, read_only=True) as store:
        for _ in range(runs):
            start = base + int(rng.integers(0, HOUR_NS // 2))
            for name, read in paths.items():
                begin = time.perf_counter()
                records[name] = read(store, start)
                latencies[name].append((time.perf_counter() - begin) * 1e3)
    return {name: (*np.percentile(values, [50, 99]), records[name])
            for name, values in latencies.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--hours', type=float, default=24.0, help='history to fill, at 10 Hz')
    parser.add_argument('--ingest', type=int, default=200_000, help='records for the ingest run')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        figures = raw_hour_reads(f'{directory}/hour.sqlite3')
        objects = figures['query (StateRecord objects)']
        for name, (p50, p99, count) in figures.items():
            print(f'a raw hour ({count:,} records) by {name}: p50 {p50:6.2f} ms, p99 '
                  f'{p99:6.2f} ms; p50 {objects[0] / p50:4.1f}x, p99 {objects[1] / p99:4.1f}x '
                  'the object path (aim arrays p99 <= 20 ms)')
        print()
        for batch in (1000, 100):
            rate = ingest(f'{directory}/ingest-{batch}.sqlite3', args.ingest, batch)
            print(f'ingest, synchronous=FULL, {batch} records per commit: '
                  f'{rate:,.0f} records/s (aim >= 20,000)')
        policies = {
            'everything at full resolution': RetentionPolicy(raw_keep_s=1e9),
            'default tiers (1 h raw, then 1 s buckets)': RetentionPolicy(),
        }
        for name, policy in policies.items():
            path = f'{directory}/day-{len(name)}.sqlite3'
            begin = time.perf_counter()
            disk, rows = fill_day(path, args.hours, policy)
            records = int(args.hours * 36_000)
            print(f'\n{args.hours:g} h at 10 Hz ({records:,} records), {name}: filled in '
                  f'{time.perf_counter() - begin:.1f} s; {rows:,} rows, {disk / 1e6:.1f} MB, '
                  f'{disk / records:.1f} bytes per record received, '
                  f'{disk / rows:.1f} bytes per stored row')
            for limit in (1000, 40_000):
                p50, p99, items = query_latencies(path, args.hours, limit)
                print(f'  1-hour range query, limit {limit:>6,}: p50 {p50:6.2f} ms, '
                      f'p99 {p99:6.2f} ms, {items:,.0f} items returned on average '
                      f'(aim p99 < 20 ms)')
    return 0 if math.isfinite(p99) else 1


if __name__ == '__main__':
    main()
