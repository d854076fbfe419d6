"""
The ``memory`` node: the cell's temporal memory over ROS 2.

Subscribes to the cell's resonance, sync, witness (with its signed heads,
``witness/signatures``) and mesh topics, stores them durably in one
SQLite file (:mod:`becomingone_core.memory.store`), publishes the acknowledged high-water mark
on ``memory/acknowledged`` after every durable commit, and answers ``memory/query``,
``memory/reconstruct`` and ``memory/query_arrays`` (one kind's records as parallel arrays: a
bulk read without a message per record). A Resonance message is stored as one row (its summary
coherence and T index it; the per-lag arrays are kept whole) and comes back from
``memory/query`` as one TemporalSignature per lag.

Every message and request passes its :mod:`input_rules` check (ranges, lengths, a stamp
window around the node clock) before it touches the store; a refused one is counted by reason
(``/diagnostics``: ``input`` for topics, ``requests`` for services), logged throttled and
shortened, and the node goes on.

A lifecycle node (``rclpy.lifecycle``). Configure reads the parameters and opens the store; a
store that cannot open (unwritable directory, a corrupt or foreign file without
``move_aside_corrupt``) or a bad parameter fails it with the reason logged once, and the node
stays unconfigured, running and answering its lifecycle services (``ros2 lifecycle get``), so
a launch file's respawn does not loop; fix the cause and ``ros2 lifecycle set <node>
configure``. Activate subscribes, serves and starts the commit and retention timers;
deactivate commits what is buffered and stops ingest; cleanup and shutdown commit and close
the store. ``autostart`` (default true) configures and activates it at start-up.
"""

import array
import datetime
import functools

from becomingone_core import input_rules
from becomingone_core.health import ERROR, OK, RateMonitor, RejectionCounter, Status, WARN
from becomingone_core.input_rules import RejectedInput, shorten, StampWindow
from becomingone_core.memory.arrays import MAX_ROWS
from becomingone_core.memory.records import (
    check_witness_signature, InvalidRecord, KINDS, make_signature, MESH, record_from_fields,
    record_to_fields, RESONANCE, STATE_KINDS, SYNC, WITNESS, witness_from_fields,
    witness_to_fields)
from becomingone_core.memory.retention import MAX_DURATION_S, RetentionPolicy
from becomingone_core.memory.store import (
    CorruptStore, default_path, MemoryStore, move_aside, StoreError)
from becomingone_core.nodes.witness_node import SIGNATURES_TOPIC
from becomingone_core.ros.diagnostics import DiagnosticsPublisher
from becomingone_core.ros.guarded_lifecycle_node import GuardedLifecycleNode
from becomingone_core.ros.message_fields import from_fields, to_fields
from becomingone_core.ros.parameters import declare, ParameterError, require
from becomingone_core.ros.qos import LATCHED_QOS, WITNESS_QOS, WITNESS_SIGNATURE_QOS
from becomingone_core.ros.runner import main_for
from becomingone_core.ros.stamps import set_stamp, stamp_ns
from becomingone_msgs.msg import (
    CoherenceBucket, MemoryAck, MeshState, Resonance, SyncState, TemporalSignature,
    WitnessRecord, WitnessSignature)
from becomingone_msgs.srv import QueryMemory, QueryMemoryArrays, ReconstructCoherence
from rclpy.qos import QoSProfile, QoSReliabilityPolicy

NS = 1_000_000_000
_LOG_THROTTLE_S = 5.0
#: Default queue depth of the resonance, sync and mesh subscriptions: a second of sync states
#: at 10,000/s waits there while a commit (fsync) holds the node.
STATE_QOS_DEPTH = 10_000
#: Messages one state callback takes from its queue after its own (see _subscribe_drained):
#: bounded, so commits, retention and services still get their turn in a flood.
DRAIN_MAX = 500


class MemoryNode(GuardedLifecycleNode):
    """Durable temporal memory of one cell (a lifecycle node: see the module docstring)."""

    def __init__(self, **kwargs):
        self.store = None
        super().__init__('memory', **kwargs)
        self.start()

    # -- lifecycle ----------------------------------------------------------------------------
    def configure_node(self):
        self._declare_parameters()
        self.store = self._open_store()
        self._rejections = RejectionCounter('records')
        self._request_rejections = RejectionCounter('requests')
        self._written = RateMonitor(window_s=10.0, what='records written')
        self._commit_error = None
        self._published_total = None
        # Latched: a late subscriber learns the current mark at once.
        self._ack_publisher = self.create_lifecycle_publisher(
            MemoryAck, 'memory/acknowledged', LATCHED_QOS)
        self._diagnostics = DiagnosticsPublisher(self, period_s=self._diagnostics_period_s)
        self._diagnostics.add('store', self._store_status)
        self._diagnostics.add('witness chain', self._chain_status)
        self._diagnostics.add('input', self._rejections.status)
        self._diagnostics.add('requests', self._request_rejections.status)
        self.get_logger().info(
            f'memory at {self.store.path}: {self.store.acknowledged.total} records acknowledged')

    def activate_node(self):
        state_qos = QoSProfile(depth=self._qos_depth, reliability=QoSReliabilityPolicy.RELIABLE)
        for topic in ('master/resonance', 'emissary/resonance'):
            self._subscribe_drained(Resonance, topic, self._on_resonance, state_qos)
        self._subscribe_drained(SyncState, 'sync/state', self._on_sync, state_qos)
        self._subscribe_drained(MeshState, 'mesh/state', self._on_mesh, state_qos)
        # Transient local, like the witness's publisher: on matching, the memory receives the
        # records the witness published before DDS matched them (no gap at an epoch's start).
        self.create_subscription(WitnessRecord, 'witness', self._on_witness, WITNESS_QOS)
        # The witness's signed chain heads (on a mesh with a PKI), kept for verify to check.
        self.create_subscription(WitnessSignature, SIGNATURES_TOPIC, self._on_signature,
                                 WITNESS_SIGNATURE_QOS)
        self.create_service(QueryMemory, 'memory/query', self._on_query)
        self.create_service(QueryMemoryArrays, 'memory/query_arrays', self._on_query_arrays)
        self.create_service(ReconstructCoherence, 'memory/reconstruct', self._on_reconstruct)
        self.create_timer(self._flush_period_s, self.flush)
        self.create_timer(self._retention_period_s, self._apply_retention)
        self._publish_ack(self.store.acknowledged)

    def deactivate_node(self):
        self.flush()  # ingest stops: commit what is buffered, publish the final mark

    def cleanup_node(self):
        # Also at destroy_node: the context may be gone already, so do not publish.
        store, self.store = self.store, None
        if store is None:
            return
        try:
            store.flush()
        except StoreError as error:
            self.get_logger().error(f'records lost at shutdown: {error}')
        finally:
            store.close()

    # -- set-up -------------------------------------------------------------------------------
    def _declare_parameters(self):
        # Read once at start-up: read-only, so `ros2 param set` cannot pretend to change them.
        d = functools.partial(declare, self, read_only=True)
        self._path = d('path', '', 'store file; empty: $XDG_STATE_HOME/becomingone/<cell>.sqlite3')
        self._cell = d('cell', '', 'cell name for the default path; empty: from the namespace')
        self._move_aside = d('move_aside_corrupt', False,
                             'move a corrupt or foreign store file aside (<file>.corrupt-<time>) '
                             'and start a new one, instead of refusing to start')
        self._flush_period_s = d('flush_period_s', 0.05, 'commit buffered records this often (s)',
                                 minimum=0.001, maximum=10.0)
        self._batch_size = d('batch_size', 1000, 'commit at once when this many records wait',
                             minimum=1, maximum=1_000_000)
        self._max_backlog = d('max_backlog', 100_000,
                              'refuse (and count) new records while this many wait for the disk',
                              minimum=1, maximum=100_000_000)
        self._qos_depth = d('qos_depth', STATE_QOS_DEPTH,
                            'queue depth of the resonance, sync and mesh subscriptions '
                            '(reliable; witness: the witness history depth)',
                            minimum=1, maximum=100_000)
        raw_keep_s = d('raw_keep_s', 3600.0, 'keep full-resolution records this long (s)',
                       minimum=1e-3, maximum=MAX_DURATION_S)
        resolutions = d('tier_resolutions_s', [1.0, 60.0, 3600.0],
                        'bucket resolution of each retention tier (s), finest first')
        keeps = d('tier_keep_s', [86_400.0, 2_592_000.0, 0.0],
                  'how long each tier keeps its buckets (s); 0: forever (last tier only)')
        witness_keep_s = d('witness_keep_s', 0.0,
                           'keep witness records this long (s); 0: forever', minimum=0.0,
                           maximum=MAX_DURATION_S)
        try:
            self._policy = RetentionPolicy.from_lists(raw_keep_s, resolutions, keeps,
                                                      witness_keep_s)
        except ValueError as error:
            raise ParameterError(
                f"parameters 'tier_resolutions_s'/'tier_keep_s': {error}") from error
        self._retention_period_s = d('retention_period_s', 10.0,
                                     'run one bounded retention step this often (s)',
                                     minimum=0.01, maximum=86_400.0)
        self._retention_max_rows = d('retention_max_rows', 50_000,
                                     'fold at most about this many records per step',
                                     minimum=1, maximum=10_000_000)
        self._default_limit = d('query_default_limit', 1000,
                                'results of memory/query when max_results is 0',
                                minimum=1, maximum=1_000_000)
        self._max_limit = d('query_max_limit', 10_000, 'most results one memory/query returns',
                            minimum=1, maximum=1_000_000)
        require(self._default_limit <= self._max_limit, 'query_default_limit',
                'must not exceed query_max_limit')
        self._default_array_limit = d('query_arrays_default_limit', 100_000,
                                      'records of memory/query_arrays when max_results is 0',
                                      minimum=1, maximum=MAX_ROWS)
        self._max_array_limit = d('query_arrays_max_limit', 1_000_000,
                                  'most records one memory/query_arrays returns (37 bytes '
                                  'each in the reply)', minimum=1, maximum=MAX_ROWS)
        require(self._default_array_limit <= self._max_array_limit,
                'query_arrays_default_limit', 'must not exceed query_arrays_max_limit')
        self._tolerance_ns = int(NS * d(
            'reconstruct_tolerance_s', 5.0,
            'memory/reconstruct answers "unknown" when nothing lies this close (s)',
            minimum=0.0, maximum=MAX_DURATION_S))
        self._window = StampWindow(
            d('max_clock_skew_s', 0.5, 'refuse records stamped further ahead of the node '
              'clock than this (s): retention follows the newest stamp', minimum=0.0,
              maximum=3600.0),
            d('max_record_age_s', 86_400.0, 'refuse records older than this (s); witness '
              'history is redelivered (transient local), so records may be old',
              minimum=1e-3, maximum=MAX_DURATION_S))
        self._max_observers = d('max_observers', 16,
                                'witness observers (chains) the store tracks; records of '
                                'further ones are refused (too_many_observers)',
                                minimum=1, maximum=100_000)
        self._diagnostics_period_s = d('diagnostics_period_s', 1.0,
                                       'publish /diagnostics this often (s)',
                                       minimum=0.01, maximum=3600.0)

    def _open_store(self):
        cell = self._cell or self.get_namespace().strip('/').replace('/', '_') or 'cell'
        path = self._path or str(default_path(cell))
        options = {'policy': self._policy, 'batch_size': self._batch_size,
                   'max_backlog': self._max_backlog, 'max_observers': self._max_observers}
        try:
            return MemoryStore(path, **options)
        except CorruptStore as error:
            if not self._move_aside:
                raise ParameterError(f"parameter 'path': {error} (set move_aside_corrupt:=true "
                                     'to move it aside and start a new store)') from error
            stamp = datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%dT%H%M%SZ')
            target = move_aside(path, stamp)
            self.get_logger().error(f'{error}; moved it to {target} and started a new store')
            return MemoryStore(path, **options)
        except StoreError as error:
            raise ParameterError(f"parameter 'path': {error}") from error
        except OSError as error:  # e.g. its directory cannot be created
            raise ParameterError(f"parameter 'path': cannot open {path}: {error}") \
                from error

    # -- ingest -------------------------------------------------------------------------------
    def _subscribe_drained(self, message_type, topic, on_message, qos):
        """
        Subscribe to a state stream whose callback also drains the queue behind its message.

        The executor rebuilds its wait set (every subscription, service, timer and QoS event
        of the node) for each message it hands out: a few thousand messages a second at most,
        fewer than a sync stream sends. Taking up to :data:`DRAIN_MAX` more from the same
        subscription in one callback pays that once per batch.
        """
        subscription = None

        def drain(message):
            on_message(message)
            for _ in range(DRAIN_MAX):
                with subscription.handle:
                    taken = subscription.handle.take_message(message_type, subscription.raw)
                if taken is None:
                    return
                on_message(taken[0])

        subscription = self.create_subscription(message_type, topic, drain, qos)
        return subscription

    def _on_resonance(self, message):
        self._ingest(RESONANCE, input_rules.check_resonance, message,
                     lambda: self.store.add(record_from_fields(RESONANCE, to_fields(message))))

    def _on_sync(self, message):
        self._ingest(SYNC, input_rules.check_sync_state, message,
                     lambda: self.store.add(record_from_fields(SYNC, to_fields(message))))

    def _on_mesh(self, message):
        self._ingest(MESH, input_rules.check_mesh_state, message,
                     lambda: self.store.add(record_from_fields(MESH, to_fields(message))))

    def _on_witness(self, message):
        breaks = dict(self.store.witness.chain_breaks)
        restarts = dict(self.store.witness.chain_restarts)
        self._ingest(WITNESS, input_rules.check_witness_record, message,
                     lambda: self.store.witness.add(witness_from_fields(to_fields(message))))
        for observer, sequence in self.store.witness.chain_breaks.items():
            if observer not in breaks:
                epoch = self.store.witness.chain_break_epochs[observer]
                self.get_logger().error(f'witness chain of {observer!r} breaks at sequence '
                                        f'{sequence} (epoch {epoch})')
        for observer, count in self.store.witness.chain_restarts.items():
            if count != restarts.get(observer, 0):
                epoch, sequence = self.store.witness.current_epoch(observer)
                self.get_logger().warning(
                    f'witness {observer!r} restarted its chain (a new witness process without '
                    f'a persistent log): epoch {epoch} from sequence {sequence}, kept and '
                    'verified on its own')

    def _on_signature(self, message):
        self._ingest('witness signature', check_witness_signature, message,
                     lambda: self.store.witness.add_signature(make_signature(
                         message.observer, message.sequence, message.digest,
                         stamp_ns(message.header.stamp), bytes(message.certificate),
                         bytes(message.signature))))

    def _ingest(self, kind, check, message, add):
        # By range first: nothing past int64, no 100k-character name and no stamp from the
        # future reaches the store (retention follows the newest acknowledged stamp).
        try:
            check(message, self.get_clock().now().nanoseconds, self._window)
            due = add()
        except (RejectedInput, InvalidRecord) as error:
            self._rejections.reject(error.reason)
            self.get_logger().warning(f'rejected a {kind} record: {shorten(error, 200)}',
                                      throttle_duration_sec=_LOG_THROTTLE_S)
            return
        if due:
            self.flush()

    def flush(self):
        """Commit buffered records durably; publish the new mark when it moved."""
        try:
            before = self.store.acknowledged.total
            dropped = sum(self.store.unstorable.values())
            ack = self.store.flush()
        except StoreError as error:
            self._commit_error = str(error)
            self.get_logger().error(str(error), throttle_duration_sec=_LOG_THROTTLE_S)
            return
        self._commit_error = None
        if sum(self.store.unstorable.values()) != dropped:
            self.get_logger().error(
                f'dropped record(s) SQLite cannot store, committed the rest: '
                f'{self.store.unstorable}', throttle_duration_sec=_LOG_THROTTLE_S)
        self._written.tick(self._now_s(), ack.total - before)
        if ack.total != self._published_total:
            self._publish_ack(ack)

    def _publish_ack(self, ack):
        message = MemoryAck()
        message.header.stamp = self.get_clock().now().to_msg()
        message.total = ack.total
        message.kinds = list(KINDS)
        message.counts = [ack.counts.get(kind, 0) for kind in KINDS]
        set_stamp(message.newest_stamp, ack.newest_ns)
        self._ack_publisher.publish(message)
        self._published_total = ack.total

    def _apply_retention(self):
        try:
            self.store.apply_retention(max_rows=self._retention_max_rows)
        except StoreError as error:
            self.get_logger().error(str(error), throttle_duration_sec=_LOG_THROTTLE_S)

    # -- services -----------------------------------------------------------------------------
    def _refuse(self, response, reason, message):
        """Count a refused request and say why (shortened: requests may hold huge strings)."""
        self._request_rejections.reject(reason)
        self.get_logger().warning(f'refused a request: {message}',
                                  throttle_duration_sec=_LOG_THROTTLE_S)
        response.success = False
        response.message = f'{reason}: {message}'
        return response

    @staticmethod
    def _range_of(request, kinds, name_field):
        """Return a query request's ``(start_ns, end_ns)``; raise ``RejectedInput`` by reason."""
        if request.kind not in kinds:
            raise RejectedInput('out_of_range',
                                f'kind {shorten(request.kind)} is not one of {list(kinds)}')
        input_rules.check_name(getattr(request, name_field), name_field)
        start_ns = input_rules.stamp_ns(request.start)
        end_ns = input_rules.stamp_ns(request.end) or None  # 0: no end
        if end_ns is not None and end_ns < start_ns:
            raise RejectedInput('out_of_range', 'end before start')
        return start_ns, end_ns

    def _on_query(self, request, response):
        try:
            start_ns, end_ns = self._range_of(request, KINDS, 'transducer')
        except RejectedInput as error:
            return self._refuse(response, error.reason, shorten(error, 200))
        self.flush()
        limit = min(request.max_results or self._default_limit, self._max_limit)
        result = self.store.query(request.kind, start_ns, end_ns, request.transducer, limit,
                                  request.newest_first)
        if request.kind == RESONANCE:
            response.signatures = [s for r in result.records for s in _signatures(r)]
        elif request.kind == SYNC:
            response.sync_states = [from_fields(SyncState, record_to_fields(r))
                                    for r in result.records]
        elif request.kind == MESH:
            response.mesh_states = [from_fields(MeshState, record_to_fields(r))
                                    for r in result.records]
        elif request.kind == WITNESS:
            response.witness_records = [from_fields(WitnessRecord, witness_to_fields(e))
                                        for e in result.records]
        response.buckets = [_bucket_message(b) for b in result.buckets]
        response.truncated = result.truncated
        response.success = True
        truncated = ' (truncated)' if result.truncated else ''
        response.message = f'{len(result.records)} records, {len(result.buckets)} buckets' \
            f'{truncated}'
        return response

    def _on_query_arrays(self, request, response):
        try:
            start_ns, end_ns = self._range_of(request, STATE_KINDS, 'source')
        except RejectedInput as error:
            return self._refuse(response, error.reason, shorten(error, 200))
        self.flush()
        # uint64: a limit past int64 is the maximum, like any past the maximum.
        limit = min(request.max_results or self._default_array_limit, self._max_array_limit)
        result = self.store.query_arrays(request.kind, start_ns, end_ns, request.source, limit,
                                         request.newest_first)
        # array.array from the arrays' bytes: rosidl copies them without a per-element check.
        response.stamp_ns = array.array('q', result.stamp_ns.tobytes())
        response.coherence = array.array('d', result.coherence.tobytes())
        response.t_real = array.array('d', result.t_real.tobytes())
        response.t_imag = array.array('d', result.t_imag.tobytes())
        response.collapsed = result.collapsed.tolist()
        response.source_index = array.array('I', result.source_index.astype('<u4').tobytes())
        response.sources = list(result.sources)
        response.truncated = result.truncated
        response.success = True
        truncated = ' (truncated)' if result.truncated else ''
        response.message = f'{len(result)} records{truncated}'
        return response

    def _on_reconstruct(self, request, response):
        try:
            stamp = input_rules.stamp_ns(request.stamp)
        except RejectedInput as error:
            # The response has no success flag: "unknown" is the answer to a stamp that is not
            # a time.
            self._request_rejections.reject(error.reason)
            self.get_logger().warning(f'refused a reconstruct request: {shorten(error, 200)}',
                                      throttle_duration_sec=_LOG_THROTTLE_S)
            return response
        self.flush()
        answer = self.store.reconstruct(stamp, self._tolerance_ns)
        response.known = answer.known
        response.source = answer.source
        if answer.record is not None:
            response.state = from_fields(SyncState, record_to_fields(answer.record))
        elif answer.bucket is not None:
            state = SyncState()
            set_stamp(state.header.stamp, answer.bucket.start_ns)
            state.sync_real = answer.bucket.t_mean.real
            state.sync_imag = answer.bucket.t_mean.imag
            state.coherence = answer.bucket.coherence_mean
            response.state = state
        set_stamp(response.nearest_stamp, answer.stamp_ns)
        return response

    # -- diagnostics --------------------------------------------------------------------------
    def _now_s(self):
        return self.get_clock().now().nanoseconds / NS

    def _store_status(self):
        ack = self.store.acknowledged
        values = {'path': str(self.store.path), 'acknowledged_total': ack.total,
                  'newest_stamp_s': ack.newest_ns / NS, 'backlog': self.store.backlog,
                  'write_rate_hz': self._written.rate(self._now_s()),
                  'disk_bytes': self.store.disk_bytes()}
        values.update({f'acknowledged_{kind}': ack.counts.get(kind, 0) for kind in KINDS})
        unstorable = self.store.unstorable
        values['unstorable'] = sum(unstorable.values())
        values.update({f'unstorable_{kind}': count for kind, count in unstorable.items()})
        if self._commit_error:
            return Status(ERROR, f'commits failing: {self._commit_error}', values)
        if unstorable:
            # Dropped at a commit (never acknowledged): input validation let a bad record by.
            return Status(WARN, f'{values["unstorable"]} record(s) SQLite could not store were '
                                'dropped (never acknowledged)', values)
        if self.store.backlog >= self._max_backlog // 2:
            return Status(WARN, f'{self.store.backlog} records waiting for the disk', values)
        return Status(OK, f'{ack.total} records acknowledged', values)

    def _chain_status(self):
        breaks, restarts = self.store.witness.chain_breaks, self.store.witness.chain_restarts
        values = {}
        for observer, sequence in breaks.items():
            values[f'first_bad_sequence_{observer}'] = sequence
            values[f'first_bad_epoch_{observer}'] = self.store.witness.chain_break_epochs[observer]
        values.update({f'restarts_{observer}': count for observer, count in restarts.items()})
        # Redelivered history (the witness topic is transient local): benign, counted apart.
        duplicates = self.store.witness.duplicates_ignored
        values['duplicates_ignored'] = sum(duplicates.values())
        values.update({f'duplicates_ignored_{observer}': count
                       for observer, count in duplicates.items()})
        if breaks:
            where = ', '.join(
                f'{observer!r} at sequence {sequence} (epoch '
                f'{self.store.witness.chain_break_epochs[observer]})'
                for observer, sequence in sorted(breaks.items()))
            return Status(ERROR, f'witness chain broken: {where}', values)
        if restarts:
            which = ', '.join(f'{observer!r} {count}x' for observer, count in
                              sorted(restarts.items()))
            # Each epoch verifies, but nothing proves what happened between two of them.
            return Status(WARN, f'witness chain restarted since the memory started: {which} '
                                '(each epoch verified on its own)', values)
        return Status(OK, 'witness chains verified', values)


def _signatures(record):
    """One TemporalSignature per lag of a stored Resonance: its normalised γ_k and coherence."""
    fields = record.fields
    tau = fields.get('tau') or [fields.get('summary_tau', 0.0)]
    real = fields.get('gamma_real') or [record.t.real]
    imag = fields.get('gamma_imag') or [record.t.imag]
    coherence = fields.get('coherence') or [record.coherence]
    signatures = []
    for k in range(min(len(tau), len(real), len(imag), len(coherence))):
        signature = TemporalSignature()
        set_stamp(signature.header.stamp, record.stamp_ns)
        signature.header.frame_id = fields.get('header', {}).get('frame_id', '')
        signature.transducer = record.source
        signature.tau = float(tau[k])
        signature.omega = float(fields.get('omega', 0.0))
        signature.t_real, signature.t_imag = float(real[k]), float(imag[k])
        signature.coherence = float(coherence[k])
        signatures.append(signature)
    return signatures


def _bucket_message(bucket):
    message = CoherenceBucket()
    set_stamp(message.start, bucket.start_ns)
    set_stamp(message.end, bucket.end_ns)
    message.kind, message.transducer = bucket.kind, bucket.source
    message.count = bucket.count
    message.coherence_mean = bucket.coherence_mean
    message.coherence_min = bucket.coherence_min
    message.coherence_max = bucket.coherence_max
    message.t_mean_real, message.t_mean_imag = bucket.t_mean.real, bucket.t_mean.imag
    return message


main = main_for(MemoryNode)
