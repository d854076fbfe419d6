"""Synthetic temporal-memory records for tests, benchmarks and the crash-test writer."""

import cmath
import math

from becomingone_core import witness_chain
from becomingone_core.memory.records import make_record, make_witness, ns_to_stamp, SYNC


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
        'realign_threshold': 0.5,
    }
    return make_record(SYNC, stamp_ns, '', coherence, t, fields)


def witness_entries(count, node='cell/witness', start_sequence=0, previous=None,
                    stamp_ns=lambda sequence: sequence * 1_000_000):
    """Return a correctly chained run of ``count`` witness entries."""
    previous = witness_chain.GENESIS if previous is None else previous
    entries = []
    for sequence in range(start_sequence, start_sequence + count):
        content = {'sequence': sequence, 'stamp_ns': stamp_ns(sequence), 'node': node,
                   'layer': sequence % 4, 'subject': 'sync', 'event': 'cycle',
                   'names': ['coherence', 'delta_phase'], 'values': [0.5, sequence * 0.25]}
        digest = witness_chain.digest(previous, content)
        entries.append(make_witness(previous_digest=previous, digest=digest, **content))
        previous = digest
    return entries
