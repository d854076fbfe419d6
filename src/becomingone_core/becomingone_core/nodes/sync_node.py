"""
``sync``: the sync layer as a node, deciding whether the cell is collapsed.

Decides from ``master/resonance`` and ``emissary/resonance``, publishes ``sync/state``
(latched) and, while someone watches, ``sync/markers`` for rviz.

A decision is taken on every Resonance received, stamped with that message's stamp (the newest
input sample behind it). A transducer not heard for ``resonance_timeout_s`` counts as T = 0, so
the cell releases rather than acting on one scale alone. A Resonance out of range (see
:func:`becomingone_core.input_rules.check_resonance`; stamped more than ``max_clock_skew_s``
ahead of this node's clock or ``max_input_age_s`` behind it) is rejected and counted, and takes
no part in any decision.
"""

from becomingone_core.health import ERROR, OK, RejectionCounter, Status, WARN, worst
from becomingone_core.input_rules import check_resonance, RejectedInput, StampWindow
from becomingone_core.ros.cell_parameters import declare_fixed, declare_scale, refused
from becomingone_core.ros.diagnostics import DiagnosticsPublisher
from becomingone_core.ros.guarded_node import GuardedNode
from becomingone_core.ros.markers import declare_markers, phase_markers
from becomingone_core.ros.parameters import declare
from becomingone_core.ros.qos import RESONANCE_QOS, SYNC_STATE_QOS
from becomingone_core.ros.runner import main_for
from becomingone_core.ros.security_parameters import declare_security
from becomingone_core.ros.stamps import set_stamp
from becomingone_core.security.mesh_auth import sync_fields
from becomingone_core.security.signed_fields import SYNC_STATE
from becomingone_core.sync import ROLES, SLOW_SCALE_SOURCE, SyncLayer
from becomingone_msgs.msg import Resonance, SyncState
from rcl_interfaces.msg import SetParametersResult
from visualization_msgs.msg import MarkerArray


class SyncNode(GuardedNode):
    """Publishes the cell's collapse decision and the phase vectors behind it."""

    def __init__(self, name='sync', **kwargs):
        super().__init__(name, **kwargs)
        scale = declare_scale(self)
        threshold = declare(self, 'threshold', scale.threshold,
                            'Collapse threshold I_c on |T_sync|^2.', minimum=1e-6, maximum=1.0)
        hysteresis = declare(self, 'hysteresis', scale.hysteresis,
                             'Release only below threshold - hysteresis.',
                             minimum=0.0, maximum=1.0)
        realign = declare(self, 'realign_threshold', scale.realign_threshold,
                          'Request realignment while delta_phase exceeds this.',
                          minimum=1e-6, maximum=1.0)
        timeout = declare_fixed(self, 'resonance_timeout_s', 1.0,
                                'A transducer not heard this long counts as T = 0 (s).',
                                minimum=0.01, maximum=3600.0)
        try:
            self.layer = SyncLayer(threshold, hysteresis, realign, timeout)
        except ValueError as error:
            raise refused(error) from error
        self.add_on_set_parameters_callback(self._check_thresholds)
        self.add_post_set_parameters_callback(self._apply_thresholds)
        self._window = StampWindow(
            declare_fixed(self, 'max_clock_skew_s', 0.5,
                          'Resonance stamped further ahead of the node clock is rejected (s).',
                          minimum=0.0, maximum=3600.0),
            declare_fixed(self, 'max_input_age_s', 10.0,
                          'Resonance stamped further behind the node clock is rejected (s).',
                          minimum=0.001, maximum=86400.0))
        self.rejections = RejectionCounter('resonance messages')
        # On a mesh with a PKI every state is signed: outputs act on this host's states only.
        self._auth = declare_security(self)
        self.marker_frame = declare_fixed(self, 'marker_frame_id', 'becomingone',
                                          'Frame of the phase-vector markers.')
        self.marker_period_s = 1.0 / declare_fixed(self, 'marker_rate_hz', 10.0,
                                                   'Most marker updates per second.',
                                                   minimum=0.1, maximum=100.0)
        self._last_marker_s = -1e18
        self.decisions = 0
        self._publisher = self.create_publisher(SyncState, 'sync/state', SYNC_STATE_QOS)
        self._markers = (self.create_publisher(MarkerArray, 'sync/markers', 10)
                         if declare_markers(self) else None)
        for role in ROLES:
            self.create_subscription(Resonance, f'{role}/resonance',
                                     lambda message, role=role: self._on_resonance(role, message),
                                     RESONANCE_QOS)
        self.create_timer(min(0.1, timeout / 4), self._on_timer)
        self._diagnostics = DiagnosticsPublisher(self)
        for role in ROLES:
            self._diagnostics.add(f'{role} input', lambda role=role: self._input_status(role))
        self._diagnostics.add('decision', self._decision_status)
        self._diagnostics.add('rejections', self.rejections.status)

    # ----------------------------------------------------------------------------- thresholds
    def _thresholds_with(self, parameters):
        values = {'threshold': self.layer.threshold, 'hysteresis': self.layer.hysteresis,
                  'realign_threshold': self.layer.realign_threshold}
        values.update({p.name: p.value for p in parameters if p.name in values})
        return values

    def _check_thresholds(self, parameters):
        # Validate only: a rejected set must leave the running layer untouched.
        try:
            SyncLayer(**self._thresholds_with(parameters))
        except ValueError as error:
            return SetParametersResult(successful=False, reason=str(error))
        return SetParametersResult(successful=True)

    def _apply_thresholds(self, parameters):
        # Called for every parameter set, declarations of other parameters included.
        if not any(p.name in ('threshold', 'hysteresis', 'realign_threshold')
                   for p in parameters):
            return
        values = self._thresholds_with(parameters)
        self.layer.threshold = values['threshold']
        self.layer.hysteresis = values['hysteresis']
        self.layer.realign_threshold = values['realign_threshold']
        self.get_logger().info(f'thresholds now {values}')

    # ----------------------------------------------------------------------------- decisions
    def _on_resonance(self, role, message):
        now_ns = self.get_clock().now().nanoseconds
        try:
            stamp = check_resonance(message, now_ns, self._window)
        except RejectedInput as error:
            self.rejections.reject(error.reason)
            self.get_logger().warning(f'rejected {role}/resonance: {error}',
                                      throttle_duration_sec=5.0)
            return
        # A light cell's Master summary is the mesh's slow scale (its mesh node sends it as
        # transducer 'mesh'): the sync layer then also asks the Emissary to hold on its own.
        self._publish(self.layer.observe(
            role, complex(message.summary_real, message.summary_imag), stamp, now_ns,
            borrowed=role == 'master' and message.transducer == SLOW_SCALE_SOURCE))

    def _on_timer(self):
        decision = self.layer.expire(self.get_clock().now().nanoseconds)
        if decision is not None:
            for role in self.layer.missing():
                self.get_logger().warning(f'{role}/resonance stale: counting it as T = 0',
                                          throttle_duration_sec=5.0)
            self._publish(decision)

    def _publish(self, decision):
        self.decisions += 1
        layer = self.layer
        message = SyncState()
        set_stamp(message.header.stamp, decision.stamp_ns)
        message.header.frame_id = self.get_name()
        message.master_real, message.master_imag = decision.master.real, decision.master.imag
        message.emissary_real = decision.emissary.real
        message.emissary_imag = decision.emissary.imag
        message.sync_real, message.sync_imag = decision.sync.real, decision.sync.imag
        message.delta_phase = decision.delta_phase
        message.coherence = decision.coherence
        message.threshold = layer.threshold
        message.hysteresis = layer.hysteresis
        message.collapsed = decision.collapsed
        message.realign_requested = decision.realign_requested
        message.realign_threshold = layer.realign_threshold
        if self._auth.enabled:
            message.signature = self._auth.sign(SYNC_STATE, sync_fields(message))
        self._publisher.publish(message)
        for event in decision.events:
            self.get_logger().info(f'{event} (coherence {decision.coherence:.2f}, '
                                   f'delta_phase {decision.delta_phase:.2f})')
        self._publish_markers(decision)

    def _publish_markers(self, decision):
        # Markers cost a few hundred microseconds: only build them for someone watching.
        if self._markers is None or self._markers.get_subscription_count() == 0:
            return
        now_s = self._now_s()
        if now_s - self._last_marker_s < self.marker_period_s:
            return
        self._last_marker_s = now_s
        self._markers.publish(phase_markers(
            decision, self.layer.threshold, self.marker_frame,
            self.get_clock().now().to_msg()))

    def _now_s(self):
        return self.get_clock().now().nanoseconds * 1e-9

    def _input_status(self, role):
        """Return what the layer knows of the stream of ``role`` (on the receiver clock)."""
        age = self.layer.age_s(role, self.get_clock().now().nanoseconds)
        timeout = self.layer.resonance_timeout_s
        values = {'age_s': age}
        if age == float('inf'):
            return Status(WARN, f'no {role}/resonance yet', values)
        if age >= timeout:
            return Status(ERROR, f'{role}/resonance stale for {age:.1f} s: T = 0', values)
        if age >= timeout / 2:
            return Status(WARN, f'{role}/resonance late by {age:.1f} s', values)
        return Status(OK, f'{role}/resonance fresh', values)

    def _decision_status(self):
        last = self.layer.last
        values = {'decisions': float(self.decisions), 'collapses': float(self.layer.collapses),
                  'releases': float(self.layer.releases),
                  'time_collapsed_s': self.layer.total_collapsed_s(self._now_s())}
        if last is None:
            return Status(OK, 'no decision yet', values)
        values.update(coherence=last.coherence, delta_phase=last.delta_phase)
        statuses = [self._input_status(role) for role in ROLES]
        state = 'collapsed' if last.collapsed else 'released'
        return Status(min(worst(statuses), 1), f'{state}, coherence {last.coherence:.2f}'
                      f'{", realign requested" if last.realign_requested else ""}', values)


main = main_for(SyncNode)
