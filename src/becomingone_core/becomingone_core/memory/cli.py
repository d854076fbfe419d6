"""
``becomingone-memory``: query, reconstruct, export, import and verify a memory store offline.

No ROS needs to be running. Times are seconds since the epoch (float); results print as JSON,
one object per line, so they pipe into ``jq`` or a spreadsheet. ``query --format csv|npz`` reads
a resonance, sync or mesh range in bulk as arrays instead (:meth:`MemoryStore.query_arrays`):
CSV on stdout, or a NumPy ``.npz`` file (``--output``).
"""

import argparse
import csv
import dataclasses
import json
import os
import pathlib
import sys

from becomingone_core.memory import mcap_io
from becomingone_core.memory.records import KINDS, STATE_KINDS, StateRecord
from becomingone_core.memory.store import default_path, MemoryStore, StoreError
import numpy as np

NS = 1_000_000_000


def _seconds_to_ns(text):
    return int(round(float(text) * NS))


def _positive(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f'{text} is not > 0')
    return value


def _json_default(value):
    if isinstance(value, complex):
        return [value.real, value.imag]
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f'cannot print {type(value).__name__}')


def _as_dict(item):
    return item.as_dict() if isinstance(item, StateRecord) else dataclasses.asdict(item)


def _print(item, **extra):
    print(json.dumps({**_as_dict(item), **extra}, default=_json_default, sort_keys=True))


def _info(store, args):
    print(json.dumps({
        'path': str(store.path), 'acknowledged': store.acknowledged.counts,
        'total': store.acknowledged.total, 'newest_ns': store.acknowledged.newest_ns,
        'stored': store.stored_counts(), 'disk_bytes': store.disk_bytes(),
        'unstorable': store.unstorable,
        'witness_chain_breaks': store.witness.chain_breaks,
        'witness_chain_restarts': store.witness.restart_counts()}, sort_keys=True))
    return 0


def _query(store, args):
    if args.format != 'json':
        return _query_arrays(store, args)
    result = store.query(args.kind, args.start, args.end, args.source, args.limit,
                         args.newest_first)
    for bucket in result.buckets:
        _print(bucket, type='bucket')
    for record in result.records:
        _print(record, type='record')
    if result.truncated:
        print(f'truncated at {args.limit} results', file=sys.stderr)
    return 0


# The columns of a bulk query, in the order CSV prints them.
_ARRAY_COLUMNS = ('stamp_ns', 'coherence', 't_real', 't_imag', 'collapsed', 'source')


def _query_arrays(store, args):
    """Print (CSV) or save (``.npz``) one kind's records in bulk, as arrays."""
    if args.kind not in STATE_KINDS:
        raise StoreError(f'--format {args.format}: kind must be one of {list(STATE_KINDS)} '
                         '(witness records are not numbers)')
    if args.format == 'npz' and not args.output:
        raise StoreError('--format npz needs --output FILE')
    result = store.query_arrays(args.kind, args.start, args.end, args.source, args.limit,
                                args.newest_first)
    columns = {'stamp_ns': result.stamp_ns, 'coherence': result.coherence,
               't_real': result.t_real, 't_imag': result.t_imag, 'collapsed': result.collapsed}
    if args.format == 'npz':
        np.savez(args.output, **columns, source_index=result.source_index,
                 sources=np.asarray(result.sources, dtype=str), truncated=result.truncated)
        print(json.dumps({'output': args.output, 'records': len(result),
                          'truncated': result.truncated}, sort_keys=True))
    else:
        writer = csv.writer(sys.stdout, lineterminator='\n')
        writer.writerow(_ARRAY_COLUMNS)
        # repr: every float prints with the digits that read back to the same number.
        writer.writerows(zip(result.stamp_ns.tolist(), map(repr, result.coherence.tolist()),
                             map(repr, result.t_real.tolist()), map(repr, result.t_imag.tolist()),
                             result.collapsed.astype(int).tolist(),
                             result.source_names().tolist()))
    if result.truncated:
        print(f'truncated at {args.limit} results', file=sys.stderr)
    return 0


def _reconstruct(store, args):
    answer = store.reconstruct(args.time, args.tolerance)
    state = answer.record or answer.bucket
    print(json.dumps({'known': answer.known, 'source': answer.source,
                      'stamp_ns': answer.stamp_ns,
                      'state': None if state is None else _as_dict(state)},
                     default=_json_default, sort_keys=True))
    return 0 if answer.known else 1


def _export(store, args):
    written = mcap_io.export(store, args.output, namespace=args.namespace)
    print(json.dumps({'output': args.output, 'messages': written}, sort_keys=True))
    return 0


def _import(path, args):
    """
    Import an MCAP file whole or not at all: the store is unchanged by a failed import.

    The file is validated and decoded before the store is opened, so a bad file creates no
    store; a store this import created is removed again (with its -wal and -shm) on failure.
    """
    items = mcap_io.read_import(args.input)
    path = pathlib.Path(path)
    created = not path.exists()
    try:
        with MemoryStore(path) as store:
            counts = mcap_io.store_import(store, args.input, items)
    except BaseException:  # noqa: B902 - remove what we created, whatever stopped us
        if created:
            for name in (path, f'{path}-wal', f'{path}-shm'):
                if os.path.exists(name):
                    os.remove(name)
        raise
    print(json.dumps({'input': args.input, 'messages': counts}, sort_keys=True))
    return 0


def _trust(args):
    """Return the mesh CA's TrustStore named by --ca (and --crl), or None."""
    if args.crl and not args.ca:
        raise StoreError('--crl needs --ca')
    if not args.ca:
        return None
    from becomingone_core.security.pki import PkiError, TrustStore
    try:
        return TrustStore.from_files(args.ca, args.crl)
    except (PkiError, OSError) as error:
        raise StoreError(f'--ca/--crl: {error}') from error


def _verify(store, args):
    """
    Check the file, the witness chains and the signed heads; exit 1 when anything fails.

    Per observer with signatures: how far its chain is proven to be its host's
    (``proven_to``), the first bad record (``first_bad``, with ``reason``) and the records no
    signature covers yet (``unsigned_tail``).
    """
    trust = _trust(args)
    integrity = store.integrity_check()
    breaks = store.witness.verify()
    proofs = store.witness.proofs(trust)
    signed = {observer: proof.as_dict() for observer, proof in proofs.items()
              if proof.signatures}
    checked = (f'against the mesh CA {trust.mesh_name!r} ({trust.ca_fingerprint[:16]})'
               if trust is not None else
               'internal consistency only (no --ca: not proven to be any host of a mesh)')
    # A restart (a new epoch) is not a break: each epoch is verified on its own.
    print(json.dumps({'path': str(store.path), 'integrity_check': integrity,
                      'witness_chain_breaks': breaks,
                      'witness_chain_restarts': store.witness.restart_counts(),
                      'witness_signatures': signed,
                      'witness_unsigned_observers': sorted(o for o, p in proofs.items()
                                                           if not p.signatures),
                      'signatures_checked': checked}, sort_keys=True))
    failed = sorted(observer for observer, proof in proofs.items() if not proof.ok)
    for observer in failed:
        proof = proofs[observer]
        print(f'becomingone-memory: {observer}: first bad record {proof.first_bad} '
              f'(epoch {proof.first_bad_epoch}, {proof.reason})', file=sys.stderr)
    return 0 if integrity == 'ok' and not breaks and not failed else 1


def build_parser():
    parser = argparse.ArgumentParser(prog='becomingone-memory', description=__doc__.split('\n')[1])
    parser.add_argument('--store', help='store file (default: the --cell store under '
                                        '$XDG_STATE_HOME/becomingone/)')
    parser.add_argument('--cell', default='cell', help='cell name for the default store path')
    commands = parser.add_subparsers(dest='command', required=True)

    commands.add_parser('info', help='counts, disk use, witness chain state').set_defaults(
        run=_info, writable=False)

    query = commands.add_parser('query', help='records and buckets in a time range')
    query.add_argument('kind', choices=KINDS)
    query.add_argument('--start', type=_seconds_to_ns, default=0, help='start time (s)')
    query.add_argument('--end', type=_seconds_to_ns, default=None, help='end time (s)')
    query.add_argument('--source', default='', help='transducer, mesh node or witness subject')
    query.add_argument('--limit', type=_positive, default=1000)
    query.add_argument('--newest-first', action='store_true')
    query.add_argument('--format', choices=('json', 'csv', 'npz'), default='json',
                       help='json: records and buckets, one object per line; csv, npz: one '
                            "kind's full-resolution records in bulk, as columns")
    query.add_argument('--output', help='the .npz file of --format npz')
    query.set_defaults(run=_query, writable=False)

    reconstruct = commands.add_parser('reconstruct', help='the sync state at a time')
    reconstruct.add_argument('time', type=_seconds_to_ns, help='time (s since the epoch)')
    reconstruct.add_argument('--tolerance', type=_seconds_to_ns, default=5 * NS,
                             help='how far the nearest record may be (s)')
    reconstruct.set_defaults(run=_reconstruct, writable=False)

    export = commands.add_parser('export', help='write the store to an MCAP file (ROS 2 CDR)')
    export.add_argument('output')
    export.add_argument('--namespace', default='/', help='topic namespace, e.g. /cell1')
    export.set_defaults(run=_export, writable=False)

    import_ = commands.add_parser('import', help='add the messages of an MCAP file')
    import_.add_argument('input')
    import_.set_defaults(run=None, writable=True)

    verify = commands.add_parser(
        'verify', help='integrity check, witness chains and their signed heads')
    verify.add_argument('--ca', help='the mesh CA (ca.pem): each signature must be by a '
                                     "certificate it issued to the observer's host")
    verify.add_argument('--crl', help='the mesh CRL (crl.pem): signatures by revoked '
                                      'certificates fail')
    verify.set_defaults(run=_verify, writable=False)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    path = args.store or default_path(args.cell)
    try:
        if args.command == 'import':
            return _import(path, args)
        with MemoryStore(path, read_only=not args.writable, create=args.writable) as store:
            return args.run(store, args)
    except StoreError as error:
        # One line: the message names the file and why, never a traceback.
        print(f'becomingone-memory: {" ".join(str(error).split())}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
