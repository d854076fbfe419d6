"""
Crash-test writer: append to a memory store forever, printing each acknowledged mark.

Run as ``python memory_writer.py STORE SEED``. It resumes from what the store acknowledged,
writes sync records stamped 1 ms apart (stamp = index) and a witness chain in random batch
sizes, and after every durable flush prints ``ACK <sync count> <witness count>``.
"""

import random
import sys

from becomingone_core.memory.store import MemoryStore
from becomingone_core.testing.memory_records import sync_record, witness_entries

MS = 1_000_000


def main(path, seed):
    rng = random.Random(seed)
    store = MemoryStore(path, batch_size=10**9)
    sync = store.acknowledged.counts['sync']
    tail = store.query('witness', limit=1, newest_first=True).records
    sequence, previous = (tail[0].sequence + 1, tail[0].digest) if tail else (0, None)
    print(f'START {sync} {sequence}', flush=True)
    while True:
        for _ in range(rng.randint(1, 3000)):
            store.add(sync_record(sync * MS))
            sync += 1
        for entry in witness_entries(rng.randint(0, 20), start_sequence=sequence,
                                     previous=previous):
            store.witness.add(entry)
            sequence, previous = entry.sequence + 1, entry.digest
        ack = store.flush()
        print(f'ACK {ack.counts["sync"]} {ack.counts["witness"]}', flush=True)


if __name__ == '__main__':
    main(sys.argv[1], int(sys.argv[2]))
