"""
``witness``: observes the cell's topics and itself, and publishes hash-chained ``witness`` records.

It listens to ``phase``, ``master/resonance``, ``emissary/resonance`` and ``sync/state`` (see
:class:`becomingone_core.witness.Witness` for what each layer records), reports a stream that
stops (a node that died, a sensor that fell silent) within ``stream_timeout_s`` as a macro
``stream_lost`` record and an ERROR on ``/diagnostics``, and can append every record to a JSON
Lines log whose chain ``witness_verify`` checks.

What it observes passes :mod:`becomingone_core.input_rules` first (stamps within
``max_clock_skew_s`` ahead and ``max_input_age_s`` behind its clock, values in range): a message
out of range is counted by reason (``inputs_rejected`` in every meta record, and
``/diagnostics``), is not recorded and does not count as the stream being alive.

With a PKI (``security_dir``) the chain names its host: its observer is
``<certificate node_id>/<node name>`` (without one, the node name). The node then signs the head
of its chain with the host key (a ``WitnessSignature`` on ``witness/signatures``: observer,
sequence, digest and the signing time) every ``sign_period_s`` when the chain has grown, and
right after every macro record; with a ``log_path`` the signatures also go to
``<log_path>.signatures.jsonl``. ``becomingone-memory verify --ca`` and ``witness_verify --ca``
then prove a stored or exported log to be that host's.
"""

import os

from becomingone_core.health import ERROR, OK, RejectionCounter, Status, WARN
from becomingone_core.input_rules import (check_resonance, check_sync_state, checked_stamp,
                                          NANOSECONDS, RejectedInput, StampWindow)
from becomingone_core.ros.cell_parameters import declare_fixed, declare_scale
from becomingone_core.ros.diagnostics import DiagnosticsPublisher
from becomingone_core.ros.guarded_node import GuardedNode
from becomingone_core.ros.parameters import ParameterError
from becomingone_core.ros.qos import RESONANCE_QOS, SYNC_STATE_QOS, WITNESS_QOS
from becomingone_core.ros.qos import WITNESS_SIGNATURE_QOS
from becomingone_core.ros.runner import main_for
from becomingone_core.ros.security_parameters import declare_security
from becomingone_core.ros.stamps import set_stamp, stamp_ns
from becomingone_core.witness import Witness
from becomingone_core.witness_chain import (
    LogWriter, MACRO, read_log, Record, sign_head, signatures_path, SignatureWriter, SignedHead,
    verify)
from becomingone_msgs.msg import Phase, Resonance, SyncState, WitnessRecord, WitnessSignature
from rclpy.qos import qos_profile_sensor_data

STREAMS = ('phase', 'master/resonance', 'emissary/resonance', 'sync/state')
SIGNATURES_TOPIC = 'witness/signatures'


class WitnessNode(GuardedNode):
    """Witnesses the cell at four layers and publishes the chain on ``witness``."""

    def __init__(self, name='witness', **kwargs):
        super().__init__(name, **kwargs)
        self._log = None
        declare_scale(self)
        streams = declare_fixed(self, 'streams', list(STREAMS),
                                'Topics to watch for liveness (relative names, from: '
                                + ', '.join(STREAMS) + ').')
        unknown = sorted(set(streams) - set(STREAMS))
        if unknown:
            raise ParameterError(f"parameter 'streams': unknown {unknown}; use {list(STREAMS)}")
        timeout = declare_fixed(self, 'stream_timeout_s', 2.0,
                                'A watched stream silent this long is reported missing (s).',
                                minimum=0.01, maximum=86400.0)
        budget = declare_fixed(self, 'max_records_per_s', 200.0,
                               'Budget of micro + meso records per second; beyond it they are '
                               'dropped and counted (macro and meta never are).',
                               minimum=1.0, maximum=100000.0)
        meta_period = declare_fixed(self, 'meta_period_s', 1.0,
                                    "Period of the witness's own health records (s).",
                                    minimum=0.01, maximum=3600.0)
        self._window = StampWindow(
            declare_fixed(self, 'max_clock_skew_s', 0.5,
                          'Observed messages stamped further ahead of the node clock are '
                          'rejected (s).', minimum=0.0, maximum=3600.0),
            declare_fixed(self, 'max_input_age_s', 10.0,
                          'Observed messages stamped further behind the node clock are '
                          'rejected (s).', minimum=0.001, maximum=86400.0))
        self.rejections = RejectionCounter('observed messages')
        # On a mesh with a PKI the chain names its host and its heads are signed.
        self._auth = declare_security(self)
        sign_period = declare_fixed(self, 'sign_period_s', 5.0,
                                    'Sign the head of the chain this often when it has grown '
                                    '(s; and after every macro record). Only with a '
                                    'security_dir.', minimum=0.01, maximum=86400.0)
        self._signatures_log = None
        self._signed = None  # (sequence, digest) of the newest head signed
        self.signatures = 0
        self.observer = self.get_name()
        if self._auth.enabled:
            self.observer = f'{self._auth.node_id}/{self.get_name()}'
        self.log_path = declare_fixed(self, 'log_path', '',
                                      'Append every record to this JSON Lines file (empty: none). '
                                      'An existing log is verified and its chain continued.')
        last = self._open_log()
        self.witness = Witness(self.observer, {s: timeout for s in streams}, self._now_s(),
                               budget, last_record=last)
        self._head = last
        self._publisher = self.create_publisher(WitnessRecord, 'witness', WITNESS_QOS)
        # Created on every host (the SROS2 policy names one set of topics); only one with a
        # PKI signs.
        self._signature_publisher = self.create_publisher(
            WitnessSignature, SIGNATURES_TOPIC, WITNESS_SIGNATURE_QOS)
        if self._auth.enabled:
            self.create_timer(sign_period, self.sign_head)
        if 'phase' in streams:
            # Liveness of the raw input costs a share of a core at kHz rates; leave 'phase' out
            # of streams to rely on the transducers' counters instead.
            self.create_subscription(Phase, 'phase', self._on_phase, qos_profile_sensor_data)
        for role in ('master', 'emissary'):
            self.create_subscription(
                Resonance, f'{role}/resonance',
                lambda message, role=role: self._on_resonance(role, message), RESONANCE_QOS)
        self.create_subscription(SyncState, 'sync/state', self._on_sync, SYNC_STATE_QOS)
        self.create_timer(min(0.1, timeout / 4), self._on_check)
        self.create_timer(meta_period, self._on_meta)
        self._diagnostics = DiagnosticsPublisher(self)
        for stream in streams:
            self._diagnostics.add(f'stream {stream}', lambda s=stream: self._stream_status(s))
        self._diagnostics.add('records', self._records_status)
        self._diagnostics.add('rejections', self.rejections.status)

    def _open_log(self):
        if not self.log_path:
            return None
        last = None
        if '\x00' in self.log_path:
            raise ParameterError("parameter 'log_path': contains a NUL byte")
        if os.path.exists(self.log_path):
            try:
                records = read_log(self.log_path)
            except (OSError, ValueError) as error:
                raise ParameterError(f"parameter 'log_path': cannot read: {error}") from error
            result = verify(records)
            if not result.ok:
                raise ParameterError(
                    f"parameter 'log_path': {self.log_path} is broken at record "
                    f'{result.bad_index} ({result.reason}); refusing to extend it')
            last = records[-1] if records else None
        try:
            self._log = LogWriter(self.log_path)
            if self._auth.enabled:
                self._signatures_log = SignatureWriter(signatures_path(self.log_path))
        except (OSError, ValueError) as error:  # ValueError: a NUL byte in the path
            raise ParameterError(f"parameter 'log_path': {error}") from error
        return last

    # ----------------------------------------------------------------------------- observing
    def _admit(self, check, message, stream):
        """Return ``(stamp_ns, now_s)`` if ``message`` passes ``check``, else count it."""
        now_ns = self.get_clock().now().nanoseconds
        try:
            return check(message, now_ns, self._window), now_ns / NANOSECONDS
        except RejectedInput as error:
            self.rejections.reject(error.reason)
            self.witness.inputs_rejected += 1
            self.get_logger().warning(f'rejected a message on {stream}: {error}',
                                      throttle_duration_sec=5.0)
            return None, None

    def _on_phase(self, message):
        # Liveness only: the stamp must be a time near ours; the block is the transducers' to
        # judge (and count).
        stamp, now_s = self._admit(
            lambda m, now_ns, window: checked_stamp(m.header.stamp, now_ns, window),
            message, 'phase')
        if stamp is not None:
            self.witness.observe_input('phase', now_s, lag_s=now_s - stamp / NANOSECONDS)

    def _on_resonance(self, role, message):
        stamp, now_s = self._admit(check_resonance, message, f'{role}/resonance')
        if stamp is None:
            return
        self._emit(self.witness.observe_resonance(
            role, stamp, now_s,
            coherence=message.summary_coherence,
            summary=complex(message.summary_real, message.summary_imag),
            tau=message.summary_tau, samples=message.samples, rejected=message.rejected,
            active_sources=message.active_sources, lag_s=now_s - stamp / NANOSECONDS))

    def _on_sync(self, message):
        stamp, now_s = self._admit(check_sync_state, message, 'sync/state')
        if stamp is None:
            return
        self._emit(self.witness.observe_sync(
            stamp, now_s, coherence=message.coherence,
            collapsed=message.collapsed, realign_requested=message.realign_requested,
            delta_phase=message.delta_phase, threshold=message.threshold,
            lag_s=now_s - stamp / NANOSECONDS))

    def _on_check(self):
        records = self.witness.check_streams(self._now_s(), self.get_clock().now().nanoseconds)
        for record in records:
            self.get_logger().warning(f'{record.subject}: {record.event.replace("_", " ")}')
        self._emit(records)

    def _on_meta(self):
        self._emit(self.witness.health(self._now_s(), self.get_clock().now().nanoseconds))

    def _emit(self, records):
        for record in records:
            if self._log is not None:
                self._log.write(record)
            message = WitnessRecord()
            set_stamp(message.header.stamp, record.stamp_ns)
            message.observer = record.observer
            message.layer = record.layer
            message.subject = record.subject
            message.event = record.event
            message.names = list(record.names)
            message.values = list(record.values)
            message.sequence = record.sequence
            message.previous_digest = record.previous_digest
            message.digest = record.digest
            self._publisher.publish(message)
            self._head = record
        # A macro record (a collapse, a lost stream) is signed at once, after its record.
        if any(record.layer == MACRO for record in records):
            self.sign_head()

    def sign_head(self):
        """Sign and publish the head of the chain (unless there is none, or it is signed)."""
        head = self._head
        # A head made under another name (a log continued from before the PKI) is not this
        # host's to vouch for.
        if not self._auth.enabled or head is None or head.observer != self.observer:
            return None
        if self._signed == (head.sequence, head.digest):
            return None
        signed = sign_head(self._auth, head.observer, head,
                           self.get_clock().now().nanoseconds)
        if self._signatures_log is not None:
            self._signatures_log.write(signed)
        self._signature_publisher.publish(signature_message(signed))
        self._signed = (head.sequence, head.digest)
        self.signatures += 1
        return signed

    # ----------------------------------------------------------------------------- health
    def _now_s(self):
        return self.get_clock().now().nanoseconds * 1e-9

    def _stream_status(self, stream):
        status = self.witness.stream_statuses(self._now_s())[stream]
        if stream in self.witness.lost:
            return Status(ERROR, f'{stream} missing: {status.message}', status.values)
        return status

    def _records_status(self):
        w = self.witness
        values = {'records': float(w.records), 'dropped': float(w.dropped),
                  'micro': float(w.by_layer[0]), 'meso': float(w.by_layer[1]),
                  'macro': float(w.by_layer[2]), 'meta': float(w.by_layer[3]),
                  'sequence': float(w.chain.sequence), 'signatures': float(self.signatures)}
        if w.lost:
            return Status(ERROR, f'missing: {", ".join(sorted(w.lost))}', values)
        if w.dropped:
            return Status(WARN, f'{w.dropped} micro/meso records dropped over budget', values)
        return Status(OK, f'{w.records} records chained', values)

    def destroy_node(self):
        for log in (self._log, self._signatures_log):
            if log is not None:
                log.close()
        return super().destroy_node()


def record_from_message(message):
    """Return the :class:`becomingone_core.witness_chain.Record` a ``WitnessRecord`` holds."""
    return Record(message.sequence, message.layer, stamp_ns(message.header.stamp),
                  message.observer, message.subject, message.event,
                  tuple(message.names), tuple(message.values), message.previous_digest,
                  message.digest)


def signature_message(head):
    """Return the ``WitnessSignature`` of a :class:`becomingone_core.witness_chain.SignedHead`."""
    message = WitnessSignature()
    set_stamp(message.header.stamp, head.stamp_ns)
    message.observer = head.observer
    message.sequence = head.sequence
    message.digest = head.digest
    message.certificate = bytes(head.certificate)
    message.signature = bytes(head.signature)
    return message


def head_from_message(message):
    """Return the :class:`becomingone_core.witness_chain.SignedHead` a message holds."""
    return SignedHead(message.observer, int(message.sequence), message.digest,
                      stamp_ns(message.header.stamp), bytes(message.certificate),
                      bytes(message.signature))


main = main_for(WitnessNode)
