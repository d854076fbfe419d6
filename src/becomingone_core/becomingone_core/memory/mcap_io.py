"""
Export the temporal memory to MCAP with ROS 2 message encoding, and import it back.

Each record becomes the ``becomingone_msgs`` message it came from (CDR-encoded, schema
``ros2msg``), on the topic it was heard on, with its stamp as log time, so Foxglove,
PlotJuggler or ``ros2 bag`` open the file like any recording. The schemas are the installed
``.msg`` definitions (found through the ament index) with their dependencies appended in the
``MSG:`` form ROS 2 bags use. Signed chain heads go on ``witness/signatures``
(``WitnessSignature``) after the witness records, so an exported log can be proven to be its
host's wherever it is imported.
"""

import os
import re
import struct
import zlib

from becomingone_core import input_rules
from becomingone_core.input_rules import RejectedInput, shorten
from becomingone_core.memory.records import (
    bucket_from_fields, bucket_to_fields, check_witness_signature, InvalidRecord, MESH,
    record_from_fields, record_to_fields, RESONANCE, signature_from_fields, signature_to_fields,
    SYNC, WITNESS, witness_from_fields, witness_to_fields)
from becomingone_core.memory.schema import StoreError
from becomingone_core.memory.witness_ledger import SIGNATURES
from mcap.records import Channel, Chunk, Footer, Message, Schema
from mcap.stream_reader import breakup_chunk, StreamReader
from mcap_ros2.decoder import DecoderFactory
from mcap_ros2.writer import Writer

BUCKETS = 'buckets'
# Kind -> message type and topic (relative to the export's namespace).
MESSAGE_TYPES = {
    RESONANCE: 'becomingone_msgs/msg/Resonance',
    SYNC: 'becomingone_msgs/msg/SyncState',
    MESH: 'becomingone_msgs/msg/MeshState',
    WITNESS: 'becomingone_msgs/msg/WitnessRecord',
    BUCKETS: 'becomingone_msgs/msg/CoherenceBucket',
    SIGNATURES: 'becomingone_msgs/msg/WitnessSignature',
}
KIND_OF_TYPE = {name: kind for kind, name in MESSAGE_TYPES.items()}
_FIXED_TOPICS = {SYNC: 'sync/state', MESH: 'mesh/state', WITNESS: 'witness',
                 BUCKETS: 'memory/buckets', SIGNATURES: 'witness/signatures'}
_PRIMITIVES = {'bool', 'byte', 'char', 'float32', 'float64', 'int8', 'uint8', 'int16', 'uint16',
               'int32', 'uint32', 'int64', 'uint64', 'string', 'wstring'}
_SEPARATOR = '=' * 80


def _share_directory(package):
    from ament_index_python.packages import get_package_share_directory
    return get_package_share_directory(package)


def message_definition(type_name, share_directory=_share_directory):
    """
    Return the full ROS 2 message definition of ``pkg/msg/Type`` for an MCAP schema.

    The type's own ``.msg`` text comes first, then every type it uses (recursively), each
    after a separator line and ``MSG: pkg/msg/Type``.
    """
    ordered = {}

    def visit(name):
        package, _, message = name.split('/')
        if name in ordered:
            return
        path = os.path.join(share_directory(package), 'msg', f'{message}.msg')
        with open(path, encoding='utf-8') as handle:
            text = handle.read()
        ordered[name] = text
        for dependency in _dependencies(text, package):
            visit(dependency)

    visit(type_name)
    parts = [ordered.pop(type_name).rstrip('\n')]
    for name, text in ordered.items():
        package, _, message = name.split('/')
        # rosbag2 names dependencies without the '/msg/' part.
        parts += [_SEPARATOR, f'MSG: {package}/{message}', text.rstrip('\n')]
    return '\n'.join(parts) + '\n'


def _dependencies(text, package):
    for line in text.splitlines():
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        field_type = re.sub(r'(\[.*\]|<=\d+)$', '', line.split()[0])
        if field_type in _PRIMITIVES or '=' in line.split()[1]:
            continue
        if field_type == 'Header':
            yield 'std_msgs/msg/Header'
        elif '/' in field_type:
            dependency_package, message = field_type.split('/')[0], field_type.split('/')[-1]
            yield f'{dependency_package}/msg/{message}'
        else:
            yield f'{package}/msg/{field_type}'


def topic_for(kind, source, namespace='/'):
    """Return the absolute topic a record of ``kind`` is exported on."""
    relative = f'{source}/resonance' if kind == RESONANCE and source else (
        _FIXED_TOPICS.get(kind, 'resonance'))
    return f'{namespace.rstrip("/")}/{relative}'


def export(store, path, namespace='/', kinds=(RESONANCE, SYNC, MESH, WITNESS), buckets=True,
           share_directory=_share_directory, chunk_size=1024 * 1024):
    """Write ``store``'s records (and buckets) to an MCAP file; return messages per kind."""
    written = {}
    with open(path, 'wb') as stream:
        writer = Writer(stream, chunk_size=chunk_size)
        schemas = {}

        def write(kind, topic, fields, stamp_ns):
            if kind not in schemas:
                schemas[kind] = writer.register_msgdef(
                    MESSAGE_TYPES[kind],
                    message_definition(MESSAGE_TYPES[kind], share_directory))
            writer.write_message(topic, schemas[kind], fields, log_time=stamp_ns,
                                 publish_time=stamp_ns, sequence=written.get(kind, 0))
            written[kind] = written.get(kind, 0) + 1

        for kind in kinds:
            for item in store.iter_records(kind):
                if kind == WITNESS:
                    write(kind, topic_for(kind, '', namespace), witness_to_fields(item),
                          item.stamp_ns)
                else:
                    write(kind, topic_for(kind, item.source, namespace),
                          record_to_fields(item), item.stamp_ns)
            if kind == WITNESS:
                for head in store.witness.iter_signatures():
                    write(SIGNATURES, topic_for(SIGNATURES, '', namespace),
                          signature_to_fields(head), head.stamp_ns)
        if buckets:
            for bucket in store.iter_buckets():
                write(BUCKETS, topic_for(BUCKETS, '', namespace), bucket_to_fields(bucket),
                      bucket.start_ns)
        writer.finish()
    return written


class ImportFailed(StoreError):
    """An MCAP file that cannot be imported whole; nothing of it was stored."""


#: Largest record or decompressed chunk an import reads: a corrupt length field must not make
#: the reader allocate gigabytes.
MAX_RECORD_BYTES = 256 * 2**20
_MAGIC = b'\x89MCAP0\r\n'
_FOOTER = struct.Struct('<BQQQI')  # opcode, length, summary start, summary offset start, crc
_TAIL = _FOOTER.size + len(_MAGIC)


def import_into(store, path):
    """
    Add every BecomingONE message of an MCAP file to ``store``, all or nothing.

    The whole file is validated and decoded first (:func:`read_import`), then stored in one
    transaction (:func:`store_import`). Returns counts per kind; identical records the store
    already holds are skipped and counted under ``duplicates``, messages of other types under
    ``skipped``. Raises :class:`ImportFailed` (a one-line message) with the store unchanged.
    """
    return store_import(store, path, read_import(path))


def read_import(path):
    """
    Validate and decode a whole MCAP file; return ``(kind, item)`` pairs in file order.

    Messages are kept in the order they were written (not re-sorted by log time): witness
    records then arrive in chain order, as :func:`export` writes them or a recording received
    them, so each chain's epochs are rebuilt as they were. Every CRC the file carries is checked
    (chunks, data section, summary section), the file must end in its footer and magic, and each
    message must pass its kind's :mod:`input_rules` check (no clock window: ``ANY_TIME``).
    Messages of other types are returned as ``('skipped', None)``. Raises :class:`ImportFailed`.
    """
    try:
        with open(path, 'rb') as stream:
            _check_tail(stream)
            stream.seek(0)
            return list(_decode(stream, path))
    except ImportFailed:
        raise
    except Exception as error:  # noqa: B902 - whatever a damaged file makes the reader raise
        raise ImportFailed(f'{path}: cannot import ({_one_line(error)})') from error


def store_import(store, path, items):
    """Add decoded ``items`` to ``store`` in one transaction; return counts per kind."""
    counts = {}
    saved = _counter_state(store)
    saved_backlog = store.max_backlog
    # All or nothing: the whole file is one commit, whatever the store's batch limit.
    store.max_backlog = max(saved_backlog, store.backlog + len(items) + 1)
    try:
        for kind, item in items:
            duplicates = _duplicates(store)
            if kind == 'skipped':
                pass
            elif kind == BUCKETS:
                store.add_buckets([item], skip_duplicates=True)
            elif kind == WITNESS:
                store.witness.add(item)
            elif kind == SIGNATURES:
                store.witness.add_signature(item)
            else:
                store.add(item, skip_duplicates=True)
            if kind != 'skipped' and _duplicates(store) != duplicates:
                kind = 'duplicates'
            counts[kind] = counts.get(kind, 0) + 1
        store.flush(isolate=False)
    except BaseException as error:  # noqa: B902 - leave the store as it was, then re-raise
        store.discard()
        _restore_counter_state(store, saved)
        if isinstance(error, (StoreError, InvalidRecord)):
            raise ImportFailed(f'{path}: not imported, the store is unchanged '
                               f'({_one_line(error)})') from error
        raise
    finally:
        store.max_backlog = saved_backlog
    return counts


def _duplicates(store):
    ledger = store.witness
    return (sum(ledger.duplicates_ignored.values()) + ledger.duplicate_signatures
            + sum(store.duplicate_records.values()))


# The counters an import may move, per object: restored when it fails.
_STORE_COUNTERS = ('duplicate_records',)
_LEDGER_COUNTERS = ('duplicates_ignored', 'duplicate_signatures', 'chain_breaks',
                    'chain_break_epochs', 'chain_restarts')


def _counter_state(store):
    return ({name: _copy(getattr(store, name)) for name in _STORE_COUNTERS},
            {name: _copy(getattr(store.witness, name)) for name in _LEDGER_COUNTERS})


def _copy(value):
    return dict(value) if isinstance(value, dict) else value


def _restore_counter_state(store, saved):
    for target, values in zip((store, store.witness), saved):
        for name, value in values.items():
            setattr(target, name, value)


def _check_tail(stream):
    """Check the footer, the closing magic and the summary CRC (the reader does not)."""
    size = stream.seek(0, os.SEEK_END)
    if size < len(_MAGIC) + _TAIL:
        raise ImportFailed(f'{stream.name}: not an MCAP file or truncated ({size} bytes)')
    stream.seek(size - _TAIL)
    tail = stream.read(_TAIL)
    opcode, length, summary_start, _, summary_crc = _FOOTER.unpack(tail[:_FOOTER.size])
    if tail[_FOOTER.size:] != _MAGIC or opcode != 0x02 or length != 20:
        raise ImportFailed(f'{stream.name}: not an MCAP file or truncated (no footer)')
    if not summary_crc:
        return  # written without CRCs: nothing to check
    # The CRC covers the summary section and the footer up to the CRC itself.
    start = summary_start or size - _TAIL
    if not len(_MAGIC) <= start <= size - _TAIL:
        raise ImportFailed(f'{stream.name}: footer points outside the file')
    stream.seek(start)
    crc, remaining = 0, size - 12 - start
    while remaining:
        block = stream.read(min(remaining, 1 << 20))
        crc, remaining = zlib.crc32(block, crc), remaining - len(block)
    if crc != summary_crc:
        raise ImportFailed(f'{stream.name}: summary section CRC mismatch (damaged file)')


def _decode(stream, path):
    reader = StreamReader(stream, emit_chunks=True, validate_crcs=True,
                          record_size_limit=MAX_RECORD_BYTES)
    factory = DecoderFactory()
    schemas, channels = {}, {}
    index = 0
    ended = False
    for record in reader.records:
        if isinstance(record, Chunk):
            if record.uncompressed_size > MAX_RECORD_BYTES:
                raise ImportFailed(f'{path}: a chunk of {record.uncompressed_size} bytes')
            inner = breakup_chunk(record, validate_crc=True)
        else:
            inner = [record]
        for item in inner:
            if isinstance(item, Schema):
                schemas[item.id] = item
            elif isinstance(item, Channel):
                channels[item.id] = item
            elif isinstance(item, Message):
                yield _message(path, index, item, schemas, channels, factory)
                index += 1
            elif isinstance(item, Footer):
                ended = True
    if not ended:
        raise ImportFailed(f'{path}: truncated (no footer)')


def _message(path, index, message, schemas, channels, factory):
    channel = channels.get(message.channel_id)
    if channel is None:
        raise ImportFailed(f'{path}: message {index} on an undeclared channel')
    schema = schemas.get(channel.schema_id)
    kind = KIND_OF_TYPE.get(schema.name if schema else '')
    if kind is None:
        return 'skipped', None
    decoder = factory.decoder_for(channel.message_encoding, schema)
    if decoder is None:
        raise ImportFailed(f'{path}: message {index} ({kind}): no decoder for '
                           f'{shorten(channel.message_encoding)}')
    decoded = decoder(message.data)
    try:
        return kind, _checked(kind, decoded)
    except (RejectedInput, InvalidRecord) as error:
        raise ImportFailed(f'{path}: message {index} ({kind}) refused, {error.reason}: '
                           f'{_one_line(error)}') from error


def _checked(kind, decoded):
    """Check a decoded message by its kind's input rule and return the record it makes."""
    if kind == BUCKETS:
        input_rules.stamp_ns(decoded.start)
        input_rules.stamp_ns(decoded.end)
        input_rules.check_name(decoded.transducer, 'transducer')
        input_rules.check_name(decoded.kind, 'kind')
        for name in ('coherence_mean', 'coherence_min', 'coherence_max'):
            input_rules.check_fraction(getattr(decoded, name), name)
        input_rules.check_unit(complex(decoded.t_mean_real, decoded.t_mean_imag), 't_mean')
        input_rules.check_int64(decoded.count, 'count')
        return bucket_from_fields(_to_fields(decoded))
    _RULES[kind](decoded)
    fields = _to_fields(decoded)
    if kind == WITNESS:
        return witness_from_fields(fields)
    if kind == SIGNATURES:
        return signature_from_fields(fields)
    return record_from_fields(kind, fields)


_RULES = {RESONANCE: input_rules.check_resonance, SYNC: input_rules.check_sync_state,
          MESH: input_rules.check_mesh_state, WITNESS: input_rules.check_witness_record,
          SIGNATURES: check_witness_signature}


def _one_line(error):
    """Return an exception as one short line (never a traceback or a 100k string)."""
    text = ' '.join(str(error).split()) or type(error).__name__
    if not isinstance(error, (StoreError, InvalidRecord, RejectedInput)):
        text = f'{type(error).__name__}: {text}'
    return text if len(text) <= 300 else text[:300] + '...'


def _to_fields(message):
    """Turn a decoded message (objects with ``__slots__``) into plain dicts and lists."""
    if hasattr(message, '__slots__'):
        return {name: _to_fields(getattr(message, name)) for name in message.__slots__}
    if isinstance(message, (list, tuple)):
        return [_to_fields(item) for item in message]
    if isinstance(message, (bytes, bytearray)):
        return list(message)
    return message
