"""
Export the temporal memory to MCAP with ROS 2 message encoding, and import it back.

Each record becomes the ``becomingone_msgs`` message it came from (CDR-encoded, schema
``ros2msg``), on the topic it was heard on, with its stamp as log time, so Foxglove,
PlotJuggler or ``ros2 bag`` open the file like any recording. The schemas are the installed
``.msg`` definitions (found through the ament index) with their dependencies appended in the
``MSG:`` form ROS 2 bags use.
"""

import os
import re

from becomingone_core.memory.records import (
    bucket_from_fields, bucket_to_fields, InvalidRecord, MESH, record_from_fields,
    record_to_fields, RESONANCE, SYNC, WITNESS, witness_from_fields, witness_to_fields)
from mcap.reader import make_reader
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
}
KIND_OF_TYPE = {name: kind for kind, name in MESSAGE_TYPES.items()}
_FIXED_TOPICS = {SYNC: 'sync/state', MESH: 'mesh/state', WITNESS: 'witness',
                 BUCKETS: 'memory/buckets'}
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
           share_directory=_share_directory):
    """Write ``store``'s records (and buckets) to an MCAP file; return messages per kind."""
    written = {}
    with open(path, 'wb') as stream:
        writer = Writer(stream)
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
        if buckets:
            for bucket in store.iter_buckets():
                write(BUCKETS, topic_for(BUCKETS, '', namespace), bucket_to_fields(bucket),
                      bucket.start_ns)
        writer.finish()
    return written


def import_into(store, path):
    """
    Add every BecomingONE message of an MCAP file to ``store``; return counts per kind.

    Messages are read in the order they were written (not re-sorted by log time): witness
    records then arrive in chain order, as :func:`export` writes them or a recording received
    them, so each chain's epochs are rebuilt as they were. Other topics are skipped; records the
    store refuses are counted under ``rejected``, witness records it already holds under
    ``duplicates``. The store is flushed (made durable) before
    returning.
    """
    counts = {}
    imported_buckets = []
    with open(path, 'rb') as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        messages = reader.iter_decoded_messages(log_time_order=False)
        for schema, _channel, _message, decoded in messages:
            kind = KIND_OF_TYPE.get(schema.name if schema else '')
            if kind is None:
                continue
            fields = _to_fields(decoded)
            try:
                if kind == BUCKETS:
                    imported_buckets.append(bucket_from_fields(fields))
                elif kind == WITNESS:
                    before = sum(store.duplicates_ignored.values())
                    _add(store, store.add_witness, witness_from_fields(fields))
                    if sum(store.duplicates_ignored.values()) != before:
                        counts['duplicates'] = counts.get('duplicates', 0) + 1
                        continue
                else:
                    _add(store, store.add, record_from_fields(kind, fields))
            except InvalidRecord:
                counts['rejected'] = counts.get('rejected', 0) + 1
                continue
            counts[kind] = counts.get(kind, 0) + 1
    store.flush()
    if imported_buckets:
        store.add_buckets(imported_buckets)
    return counts


def _add(store, add, item):
    if add(item):
        store.flush()


def _to_fields(message):
    """Turn a decoded message (objects with ``__slots__``) into plain dicts and lists."""
    if hasattr(message, '__slots__'):
        return {name: _to_fields(getattr(message, name)) for name in message.__slots__}
    if isinstance(message, (list, tuple)):
        return [_to_fields(item) for item in message]
    if isinstance(message, (bytes, bytearray)):
        return list(message)
    return message
