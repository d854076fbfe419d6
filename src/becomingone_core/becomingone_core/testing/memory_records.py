"""Synthetic temporal-memory records for tests, benchmarks and the crash-test writer."""

import cmath
import math
from types import SimpleNamespace

from becomingone_core import witness_chain
from becomingone_core.memory.records import make_record, ns_to_stamp, SYNC


def sync_record(stamp_ns, coherence=None, threshold=0.6):
    """Return a sync state at ``stamp_ns`` whose coherence (default: a slow wave) sets its T."""
    if coherence is None:
        coherence = 0.5 + 0.4 * math.sin(stamp_ns * 1e-9 / 60.0)
    t = cmath.rect(math.sqrt(coherence), stamp_ns * 1e-9)
    fields = {
        'header': {'stamp': ns_to_stamp(stamp_ns), 'frame_id': 'cell'},
        'master_real': t.real, 'master_imag': t.imag,
        'emissary_real': t.real, 'emissary_imag': t.imag,
        'sync_real': t.real, 'sync_imag': t.imag, 'delta_phase': 0.0,
        'coherence': coherence, 'threshold': threshold, 'hysteresis': 0.05,
        'collapsed': coherence >= threshold, 'realign_requested': False,
        'realign_threshold': 0.5, 'signature': [],
    }
    return make_record(SYNC, stamp_ns, '', coherence, t, fields)


def witness_entries(count, observer='cell/witness', start_sequence=0, previous=None,
                    stamp_ns=lambda sequence: sequence * 1_000_000):
    """Return a correctly chained run of ``count`` witness records, made by the witness chain."""
    last = None
    if start_sequence:
        last = SimpleNamespace(sequence=start_sequence - 1, digest=previous)
    chain = witness_chain.HashChain(observer, last)
    return [chain.append(sequence % 4, 'sync', 'cycle', stamp_ns(sequence),
                         {'coherence': 0.5, 'delta_phase': sequence * 0.25})
            for sequence in range(start_sequence, start_sequence + count)]
