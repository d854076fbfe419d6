"""
Temporal memory figures: durable ingest rate, 1-hour range query latency, disk per record.

Run with ``make bench`` (or ``python bench_memory.py [--hours 24]``). Aims from the issue:
ingest >= 20,000 records/s with durability on; p99 of a 1-hour range query over a day at
10 Hz < 20 ms.
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--hours', type=float, default=24.0, help='history to fill, at 10 Hz')
    parser.add_argument('--ingest', type=int, default=200_000, help='records for the ingest run')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
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
