"""SIGKILL a writer at random moments: every acknowledged record survives, the file stays sound."""

import os
import pathlib
import random
import re
import sqlite3
import sys
import time

from becomingone_core.memory.store import MemoryStore
from becomingone_core.testing.processes import NodeProcess, wait_until

WRITER = pathlib.Path(__file__).with_name('memory_writer.py')
MS = 1_000_000
KILLS = 6


def _last_ack(output):
    acks = re.findall(r'^ACK (\d+) (\d+)$', output, flags=re.MULTILINE)
    return tuple(map(int, acks[-1])) if acks else (0, 0)


def test_acknowledged_records_survive_sigkill_at_random_moments(tmp_path):
    path = tmp_path / 'cell.sqlite3'
    rng = random.Random(20261125)
    acknowledged = (0, 0)
    for kill in range(KILLS):
        writer = NodeProcess([sys.executable, str(WRITER), str(path), str(kill)], os.environ,
                             name='memory_writer')
        try:
            assert wait_until(lambda: 'ACK' in writer.output(), timeout_s=60), writer.output()
            time.sleep(rng.uniform(0.0, 0.6))  # the random moment of the crash
        finally:
            writer.kill()
        output = writer.output()
        start = re.search(r'^START (\d+) (\d+)$', output, flags=re.MULTILINE)
        # The writer resumed at (or past) everything acknowledged before the last crash.
        assert start and (int(start.group(1)), int(start.group(2))) >= acknowledged, output
        acknowledged = _last_ack(output)
        assert acknowledged[0] > 0, output

        raw = sqlite3.connect(path)
        assert raw.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
        raw.close()
        with MemoryStore(path) as store:
            assert store.integrity_check() == 'ok'
            assert store.witness.chain_breaks == {}
            assert store.acknowledged.counts['sync'] >= acknowledged[0]
            assert store.acknowledged.counts['witness'] >= acknowledged[1]
            present = store._connection.execute(
                "SELECT count(DISTINCT stamp_ns) FROM records WHERE kind = 'sync' "
                'AND stamp_ns < ?', (acknowledged[0] * MS,)).fetchone()[0]
            assert present == acknowledged[0]
            sequences = store._connection.execute(
                'SELECT count(*), max(sequence) FROM witness').fetchone()
            assert sequences[0] >= acknowledged[1]
            assert sequences[0] == (sequences[1] + 1 if sequences[1] is not None else 0)
