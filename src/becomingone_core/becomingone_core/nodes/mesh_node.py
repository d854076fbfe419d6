"""
The ``mesh`` node: share this cell's state with the mesh over DDS and see the mesh as one.

It reads its cell's ``sync/state``, publishes the cell's ``PeerState`` on the shared absolute
topic :data:`becomingone_core.mesh.PEERS_TOPIC`, keeps a peer table from that topic (all logic in
:mod:`becomingone_core.mesh`) and publishes ``mesh/state`` (MeshState), ``/diagnostics`` and,
only while someone subscribes, ``mesh/markers`` (the peers' T in the complex plane, for rviz).

Hostile input: every field it reads is range-checked before it touches state (peer updates by
:func:`becomingone_core.mesh.validate`, its cell's ``sync/state`` by
:func:`becomingone_core.input_rules.check_sync_state`), refusals are counted by reason and
logged throttled with echoed strings shortened, and everything it keeps per peer is bounded by
``max_peers``.
"""

from collections import deque
from dataclasses import replace
import socket
import time

from becomingone_core import health
from becomingone_core.estop import ACCEPTED as ESTOP_ACCEPTED, EStopState
from becomingone_core.input_rules import (
    check_sync_state, MAX_MESH_PEERS, NANOSECONDS, RejectedInput, shorten, stamp_ns,
    StampWindow)
from becomingone_core.mesh import (
    ACCEPTED, AGGREGATIONS, ESTOP_TOPIC, MeshConfig, PEERS_TOPIC, PeerTable, PeerUpdate,
    ROLE_LIGHT, ROLES, SYNC_ROLES)
from becomingone_core.ros.admission import declare_admission
from becomingone_core.ros.diagnostics import DiagnosticsPublisher
from becomingone_core.ros.guarded_node import GuardedNode
from becomingone_core.ros.markers import declare_markers
from becomingone_core.ros.parameters import declare, ParameterError, require
from becomingone_core.ros.qos import LATCHED_QOS, PEERS_QOS, RESONANCE_QOS, STATE_QOS
from becomingone_core.ros.runner import main_for
from becomingone_core.ros.security_parameters import declare_security
from becomingone_core.ros.stamps import time_from_seconds
from becomingone_core.security.mesh_auth import peer_fields
from becomingone_core.security.signed_fields import PEER_STATE
from becomingone_core.sync import SLOW_SCALE_SOURCE
from becomingone_msgs.msg import (EStopCommand, MeshState, PeerState, PeerStatus, Resonance,
                                  SyncState)
from geometry_msgs.msg import Point
from rcl_interfaces.msg import SetParametersResult
from visualization_msgs.msg import Marker, MarkerArray

#: Own sequences remembered to recognise this cell's state heard back over DDS (2.5 s at the
#: highest publish rate: far longer than a loopback delivery takes).
SENT_MEMORY = 256
#: Peer names one log line lists (joins and deaths during a flood are summarised by count).
LOG_NAMES = 10


def update_from_message(message):
    """
    Convert a ``PeerState`` message into a plain :class:`PeerUpdate`.

    Raises ``RejectedInput('bad_stamp')`` for a stamp that is not a time (nanosec >= 1e9 or
    sec < 0): read as seconds it would silently wrap into another, valid-looking time.
    """
    return PeerUpdate(
        node_id=message.node_id, host=message.host, role=int(message.role),
        weight=float(message.weight), t=complex(message.t_real, message.t_imag),
        coherence=float(message.coherence), collapsed=bool(message.collapsed),
        sequence=int(message.sequence),
        stamp_s=stamp_ns(message.header.stamp) / NANOSECONDS)


def message_from_update(update):
    """Convert a :class:`PeerUpdate` into the ``PeerState`` its sender sends (unsigned)."""
    message = PeerState()
    message.header.stamp = time_from_seconds(update.stamp_s)
    message.node_id = update.node_id
    message.host = update.host
    message.role = update.role
    message.weight = update.weight
    message.t_real, message.t_imag = update.t.real, update.t.imag
    message.coherence = update.coherence
    message.collapsed = update.collapsed
    message.sequence = update.sequence
    return message


def status_from_view(update, last_seen_s, alive):
    """Return the ``PeerStatus`` of one entry of :meth:`PeerTable.view`."""
    return PeerStatus(state=message_from_update(update), last_seen=time_from_seconds(last_seen_s),
                      alive=alive)


class MeshNode(GuardedNode):
    """Publishes this cell's PeerState and the mesh's global state."""

    def __init__(self, **kwargs):
        # kwargs (context, parameter_overrides) let tests run the node in their own context.
        super().__init__('mesh', **kwargs)
        self._auth = declare_security(self)
        self._declare_parameters()
        self._table = PeerTable(self._config)
        # Sequences start at the wall clock in microseconds, so a restarted cell continues
        # above its old sequence instead of looking like a replay of itself.
        self._sequence = int(time.time() * 1e6)
        self._sent = deque(maxlen=SENT_MEMORY)
        self._sync = None
        self._sync_monitor = health.StalenessMonitor(
            self._config.timeout_s / 2, self._config.timeout_s, what='sync/state')
        self._rejections = health.RejectionCounter(what='peer update')
        self._sync_rejections = health.RejectionCounter(what='sync/state')
        self._estop = EStopState(self._config.max_clock_skew_s)
        self._estop_rejections = health.RejectionCounter(what='e-stop command')
        self._capped = 0
        self._marker_ids = {}
        self._last_global = None
        self._alive = set()
        # Claim this cell's slot in the table before any peer update can arrive, so a flood of
        # fresh ids at start-up cannot leave the cell out of its own mesh.
        now = self._now()
        self._table.offer(self.own_update(now), now, local=True)

        self._peers_publisher = self.create_publisher(PeerState, PEERS_TOPIC, PEERS_QOS)
        self._state_publisher = self.create_publisher(MeshState, 'mesh/state', STATE_QOS)
        self._marker_publisher = (
            self.create_publisher(MarkerArray, 'mesh/markers', STATE_QOS)
            if declare_markers(self) else None)
        # A light cell's Master input: the slow scale the full cells integrated.
        self._slow_publisher = None
        self._slow = (0j, 0)
        if self._role == ROLE_LIGHT:
            self._slow_publisher = self.create_publisher(Resonance, 'master/resonance',
                                                         RESONANCE_QOS)
        self.create_subscription(SyncState, 'sync/state', self._on_sync, STATE_QOS)
        self.create_subscription(PeerState, PEERS_TOPIC, self._on_peer, PEERS_QOS)
        self.create_subscription(EStopCommand, ESTOP_TOPIC, self._on_estop, LATCHED_QOS)
        self.create_timer(1.0 / self._rate_hz, self._tick)
        # Validate a runtime change before it is made, apply it after (ROS 2 demos' pattern).
        self.add_on_set_parameters_callback(self._validate_parameters)
        self.add_post_set_parameters_callback(self._apply_parameters)

        diagnostics = DiagnosticsPublisher(self, period_s=self._diagnostics_period_s,
                                           hardware_id=self._host)
        diagnostics.add('peers', self._peers_status)
        diagnostics.add('peer updates', self._rejections.status)
        diagnostics.add('node ids', self._conflict_status)
        if self._role in SYNC_ROLES:
            diagnostics.add('sync input', self._sync_status)
        if self._role == ROLE_LIGHT:
            diagnostics.add('slow scale', self._slow_scale_status)
        diagnostics.add('e-stop', self._estop_status)
        diagnostics.add('authentication', self._auth_status)
        # Last: the gate's threads start only once everything else is in place.
        self._admission = declare_admission(self, self._node_id)
        if self._admission is not None:
            diagnostics.add('tls admission', self._admission.status)
        self.get_logger().info(
            f'mesh node {self._node_id!r} on {self._host!r} as {ROLES[self._role]}, '
            f'publishing on {PEERS_TOPIC} at {self._rate_hz:g} Hz, aggregation '
            f'{self._config.aggregation}')

    def destroy_node(self):
        if getattr(self, '_admission', None) is not None:
            self._admission.close()
        return super().destroy_node()

    # -- parameters ------------------------------------------------------------------------
    def _declare_parameters(self):
        namespace = self.get_namespace().strip('/').replace('/', '_')
        node_id = declare(
            self, 'node_id', '',
            'Id of this cell in the mesh (empty: the one its certificate names, else the '
            'namespace, else the host name)', read_only=True)
        host = declare(self, 'host', '', 'Host name sent to peers (empty: this machine name)',
                       read_only=True)
        self._host = host or socket.gethostname()
        self._node_id = node_id or self._auth.node_id or namespace or self._host
        if self._auth.enabled and self._node_id != self._auth.node_id:
            raise ParameterError(
                f"parameter 'node_id': {shorten(self._node_id)}, but this host's certificate "
                f'names {shorten(self._auth.node_id)}')
        role = declare(self, 'role', 'full', 'Role of this host: ' + ', '.join(ROLES),
                       choices=ROLES, read_only=True)
        self._role = ROLES.index(role)
        self._weight = declare(self, 'weight', 1.0,
                               'Declared capability weight of this cell in T_global',
                               minimum=0.0, maximum=1e6)
        self._rate_hz = declare(self, 'publish_rate_hz', 5.0,
                                'Rate of this cell PeerState and of mesh/state (Hz)',
                                minimum=0.1, maximum=100.0, read_only=True)
        self._diagnostics_period_s = declare(self, 'diagnostics_period_s', 1.0,
                                             'Period of /diagnostics (s)',
                                             minimum=0.05, maximum=60.0, read_only=True)
        self._frame_id = declare(self, 'frame_id', 'mesh',
                                 'Frame of mesh/markers (the complex plane of T)')
        defaults = MeshConfig()
        values = {
            'timeout_s': declare(
                self, 'timeout_s', defaults.timeout_s,
                'A peer unheard for this long is dead (s)', minimum=0.01, maximum=3600.0,
                read_only=True),
            'max_clock_skew_s': declare(
                self, 'max_clock_skew_s', defaults.max_clock_skew_s,
                'Updates stamped further ahead of our clock are rejected as future (s)',
                minimum=0.0, maximum=3600.0),
            'max_update_age_s': declare(
                self, 'max_update_age_s', defaults.max_update_age_s,
                'Updates stamped further behind our clock are rejected as stale (s)',
                minimum=0.01, maximum=3600.0),
            'forget_after_s': declare(
                self, 'forget_after_s', defaults.forget_after_s,
                'Dead peers are dropped from the table after this long (s)',
                minimum=0.01, maximum=86400.0),
            'emergence_threshold': declare(
                self, 'emergence_threshold', defaults.emergence_threshold,
                'The mesh has emerged while global coherence reaches this', minimum=0.0,
                maximum=1.0),
            'emergence_hysteresis': declare(
                self, 'emergence_hysteresis', defaults.emergence_hysteresis,
                'Emergence ends below threshold minus this', minimum=0.0, maximum=1.0),
            'min_peers': declare(
                self, 'min_peers', defaults.min_peers,
                'Contributing live peers (this cell included) needed to emerge',
                minimum=1, maximum=100000),
            'aggregation': declare(
                self, 'aggregation', defaults.aggregation,
                'How peers combine into T_global: ' + ', '.join(AGGREGATIONS),
                choices=AGGREGATIONS),
            'trim_fraction': declare(
                self, 'trim_fraction', defaults.trim_fraction,
                'trimmed_mean: weight share cut from each tail (tolerates liars up to it)',
                minimum=0.0, maximum=0.49),
            'max_weight': declare(
                self, 'max_weight', defaults.max_weight,
                'Declared peer weights are clipped to this', minimum=1e-6, maximum=1e6),
            'max_peers': declare(
                self, 'max_peers', defaults.max_peers,
                'Peers the table holds, this cell included (new ids beyond: table_full)',
                minimum=1, maximum=MAX_MESH_PEERS, read_only=True),
        }
        require(self._weight <= values['max_weight'], 'weight', 'must be <= max_weight')
        require(values['timeout_s'] * self._rate_hz >= 2.0, 'timeout_s',
                'must cover at least two publish periods (timeout_s * publish_rate_hz >= 2)')
        try:
            self._config = MeshConfig(**values)
        except ValueError as error:
            raise ParameterError(f'parameter {error}') from error

    def _candidate(self, parameters):
        """Return (config, weight) with ``parameters`` applied; raise ValueError if invalid."""
        changes = {p.name: p.value for p in parameters}
        fields = {name: changes.get(name, getattr(self._config, name))
                  for name in MeshConfig.__dataclass_fields__}
        config = MeshConfig(**fields)
        weight = changes.get('weight', self._weight)
        if weight > config.max_weight:
            raise ValueError("'weight' must be <= max_weight")
        return config, weight

    def _validate_parameters(self, parameters):
        """Refuse a change that leaves the mesh configuration invalid (state is not touched)."""
        try:
            self._candidate(parameters)
        except ValueError as error:
            return SetParametersResult(successful=False, reason=str(error))
        return SetParametersResult(successful=True)

    def _apply_parameters(self, parameters):
        self._config, self._weight = self._candidate(parameters)
        self._table.config = self._config
        self._frame_id = next((p.value for p in parameters if p.name == 'frame_id'),
                              self._frame_id)

    # -- inputs ----------------------------------------------------------------------------
    def _now(self):
        return self.get_clock().now().nanoseconds * 1e-9

    def _sync_window(self):
        # Built per message: both sides are runtime parameters.
        return StampWindow(max_future_s=self._config.max_clock_skew_s,
                           max_age_s=self._config.max_update_age_s)

    def _on_sync(self, message):
        now_ns = self.get_clock().now().nanoseconds
        try:
            check_sync_state(message, now_ns, self._sync_window())
            self._auth.admit_own_sync(message)
        except RejectedInput as error:
            self._sync_rejections.reject(error.reason)
            self.get_logger().warning(f'rejected a sync/state: {error}',
                                      throttle_duration_sec=5.0)
            return
        # In range up to rounding slack: clamp so the shared coherence is exactly in [0, 1].
        coherence = min(max(float(message.coherence), 0.0), 1.0)
        self._sync = (complex(message.sync_real, message.sync_imag), coherence,
                      bool(message.collapsed))
        self._sync_monitor.touch(now_ns / NANOSECONDS)

    def _on_peer(self, message):
        now = self._now()
        try:
            update = update_from_message(message)
            if update.node_id == self._node_id and update.host == self._host \
                    and update.sequence in self._sent:
                return  # our own state, heard back over DDS; the table already has it
            # On a mesh with a PKI: signed by the certificate of the node_id it claims, and
            # holding no more weight than that certificate grants.
            admitted = self._auth.admit_peer(message, now)
        except RejectedInput as error:
            verdict = error.reason
        else:
            if update.weight > admitted.weight_cap:
                self._capped += 1
                update = replace(update, weight=admitted.weight_cap)
            verdict = self._table.offer(update, now)
        if verdict != ACCEPTED:
            self._rejections.reject(verdict)
            self.get_logger().warning(
                f'rejected peer update from {shorten(message.node_id)}@'
                f'{shorten(message.host)}: {verdict}', throttle_duration_sec=5.0)

    def _on_estop(self, message):
        # Only reported here (the motor outputs decide for themselves, by the same rule).
        verdict, _ = self._estop.take(message, self._auth, self.get_clock().now().nanoseconds)
        if verdict != ESTOP_ACCEPTED:
            self._estop_rejections.reject(verdict)
            self.get_logger().warning(f'refused an e-stop command from '
                                      f'{shorten(message.source)}: {verdict}',
                                      throttle_duration_sec=5.0)

    # -- outputs ---------------------------------------------------------------------------
    @property
    def global_state(self):
        """Return the latest :class:`becomingone_core.mesh.GlobalState`, or ``None`` before one."""
        return self._last_global

    def own_update(self, now):
        """Return this cell's state to share: weight 0 unless its sync state is fresh."""
        self._sequence += 1
        fresh = (self._role in SYNC_ROLES and self._sync is not None
                 and self._sync_monitor.age(now) <= self._config.timeout_s)
        t, coherence, collapsed = self._sync if fresh else (0j, 0.0, False)
        return PeerUpdate(
            node_id=self._node_id, host=self._host, role=self._role,
            weight=self._weight if fresh else 0.0, t=t, coherence=coherence,
            collapsed=collapsed, sequence=self._sequence, stamp_s=now)

    def _tick(self):
        now = self._now()
        update = self.own_update(now)
        self._sent.append(update.sequence)
        self._table.offer(update, now, local=True)
        message = message_from_update(update)
        if self._auth.enabled:
            message.certificate = self._auth.certificate_der
            message.signature = self._auth.sign(PEER_STATE, peer_fields(message))
        self._peers_publisher.publish(message)
        state = self._table.aggregate(now)
        if self._slow_publisher is not None:
            self._publish_slow_scale(now)
        self._log_changes(state, now)
        self._last_global = state
        self._state_publisher.publish(self._mesh_state(state, now))
        if self._marker_publisher is not None and \
                self._marker_publisher.get_subscription_count() > 0:
            self._marker_publisher.publish(self._markers(state, now))

    def _publish_slow_scale(self, now):
        """Give this light cell's sync layer the full cells' T as its Master summary."""
        t, contributors = self._table.slow_scale(now)
        if contributors == 0 and self._slow[1] > 0:
            self.get_logger().warning('no full cell alive: this light cell has no slow scale '
                                      'to lean on and cannot collapse')
        elif contributors and not self._slow[1]:
            self.get_logger().info(f'leaning on {contributors} full cell(s) as the slow scale')
        self._slow = (t, contributors)
        if not contributors:
            return  # nothing published: the sync layer counts the Master as missing (T = 0)
        message = Resonance(transducer=SLOW_SCALE_SOURCE, summary_real=t.real,
                            summary_imag=t.imag,
                            summary_coherence=min(1.0, abs(t) ** 2), samples=contributors)
        message.header.stamp = time_from_seconds(now)
        message.header.frame_id = self.get_name()
        self._slow_publisher.publish(message)

    def _slow_scale_status(self):
        t, contributors = self._slow
        values = {'full_cells': float(contributors), 'slow_scale_coherence': abs(t) ** 2}
        if not contributors:
            return health.Status(health.ERROR, 'no full cell alive: nothing to lean on as the '
                                 'slow scale, so this light cell cannot collapse', values)
        return health.Status(health.OK, f'slow scale from {contributors} full cell(s), '
                             f'|T|^2 {abs(t) ** 2:.2f}', values)

    def _log_changes(self, state, now):
        """Log peers joining and dying, and the mesh emerging or dissolving."""
        # A subset of the table's ids, so bounded by max_peers like the table.
        alive = {u.node_id for u, _, is_alive in self._table.view(now) if is_alive}
        joined, died = sorted(alive - self._alive), sorted(self._alive - alive)
        for node_id in joined[:LOG_NAMES]:
            self.get_logger().info(f'peer {shorten(node_id)} joined ({len(alive)} alive)')
        for node_id in died[:LOG_NAMES]:
            self.get_logger().warning(
                f'peer {shorten(node_id)} dead: unheard for {self._config.timeout_s:g} s '
                f'({len(alive)} alive)')
        if len(joined) > LOG_NAMES or len(died) > LOG_NAMES:
            self.get_logger().warning(
                f'{len(joined)} peers joined and {len(died)} died in one tick '
                f'({len(alive)} alive)')
        self._alive = alive
        previous = self._last_global is not None and self._last_global.emerged
        if state.emerged != previous:
            self.get_logger().info(
                f'mesh {"EMERGED" if state.emerged else "dissolved"}: global coherence '
                f'{state.coherence:.3f}, {state.contributors} contributing')

    def _mesh_state(self, state, now):
        message = MeshState()
        message.header.stamp = time_from_seconds(now)
        message.header.frame_id = self._frame_id
        message.node_id = self._node_id
        message.peers = [status_from_view(*entry) for entry in self._table.view(now)]
        message.peers_alive = state.peers_alive
        message.peers_dead = state.peers_dead
        message.global_real, message.global_imag = state.t.real, state.t.imag
        message.global_coherence = state.coherence
        message.emerged = state.emerged
        message.emergence_threshold = self._config.emergence_threshold
        message.aggregation = self._config.aggregation
        return message

    def _markers(self, state, now):
        """Each peer as a sphere at its T (green: collapsed, blue: alive, grey: dead)."""
        array = MarkerArray()
        clear = Marker(action=Marker.DELETEALL)
        clear.header.frame_id = self._frame_id
        array.markers.append(clear)
        stamp = time_from_seconds(now)
        view = self._table.view(now)
        self._assign_marker_ids([update.node_id for update, _, _ in view])
        for update, _, alive in view:
            marker_id = self._marker_ids[update.node_id]
            colour = ((0.2, 0.9, 0.2) if update.collapsed else (0.2, 0.5, 1.0)) if alive \
                else (0.5, 0.5, 0.5)
            for kind, namespace in ((Marker.SPHERE, 'peers'), (Marker.TEXT_VIEW_FACING,
                                                               'peer_names')):
                marker = Marker(type=kind, action=Marker.ADD, ns=namespace, id=marker_id)
                marker.header.frame_id = self._frame_id
                marker.header.stamp = stamp
                marker.pose.position.x, marker.pose.position.y = update.t.real, update.t.imag
                marker.pose.position.z = 0.0 if kind == Marker.SPHERE else 0.08
                marker.pose.orientation.w = 1.0
                size = 0.03 + 0.05 * min(update.weight, 1.0)
                marker.scale.x = marker.scale.y = marker.scale.z = size
                marker.color.r, marker.color.g, marker.color.b = colour
                marker.color.a = 1.0
                marker.text = update.node_id if kind == Marker.TEXT_VIEW_FACING else ''
                array.markers.append(marker)
        arrow = Marker(type=Marker.ARROW, action=Marker.ADD, ns='global', id=0)
        arrow.header.frame_id = self._frame_id
        arrow.header.stamp = stamp
        arrow.points = [_point(0j), _point(state.t)]
        arrow.scale.x, arrow.scale.y, arrow.scale.z = 0.02, 0.04, 0.04
        arrow.color.r, arrow.color.g, arrow.color.b, arrow.color.a = (
            (1.0, 0.8, 0.0, 1.0) if state.emerged else (1.0, 1.0, 1.0, 0.8))
        array.markers.append(arrow)
        return array

    def _assign_marker_ids(self, node_ids):
        """Keep each listed peer's marker id and give new peers free ones (only listed ids)."""
        listed = set(node_ids)
        self._marker_ids = {i: m for i, m in self._marker_ids.items() if i in listed}
        used = set(self._marker_ids.values())
        free = (m for m in range(len(node_ids) + len(used)) if m not in used)
        for node_id in node_ids:
            if node_id not in self._marker_ids:
                self._marker_ids[node_id] = next(free)

    # -- diagnostics -----------------------------------------------------------------------
    def _peers_status(self):
        state = self._last_global
        if state is None:
            return health.Status(health.WARN, 'no mesh state yet')
        values = {'peers_alive': float(state.peers_alive), 'peers_dead': float(state.peers_dead),
                  'contributors': float(state.contributors),
                  'global_coherence': state.coherence, 'emerged': float(state.emerged)}
        message = (f'{state.peers_alive} alive, {state.peers_dead} dead, '
                   f'coherence {state.coherence:.3f}' + (', emerged' if state.emerged else ''))
        level = health.WARN if state.peers_dead or state.peers_alive <= 1 else health.OK
        return health.Status(level, message, values)

    def _conflict_status(self):
        if not self._table.conflicts:
            return health.Status(health.OK, 'every node id has one host')
        conflicts = sorted(self._table.conflicts.items())
        described = '; '.join(
            f'{shorten(node_id)} claimed by {", ".join(shorten(h, 30) for h in sorted(hosts))}'
            for node_id, hosts in conflicts[:LOG_NAMES])
        if len(conflicts) > LOG_NAMES:
            described += f'; and {len(conflicts) - LOG_NAMES} more ids'
        return health.Status(health.ERROR, f'node id claimed by two hosts: {described}',
                             {'conflicting_ids': float(len(conflicts))})

    def _sync_status(self):
        status = self._sync_monitor.status(self._now())
        rejected = self._sync_rejections.status()
        return health.Status(max(status.level, rejected.level),
                             f'{status.message}; {rejected.message}',
                             {**status.values, **rejected.values})

    def _estop_status(self):
        state = self._estop
        rejected = self._estop_rejections.status()
        if not state.known:
            status = health.Status(health.OK, f'no e-stop command on {ESTOP_TOPIC}')
        elif state.engaged:
            status = health.Status(health.WARN, f'mesh-wide e-stop ENGAGED by '
                                   f'{shorten(state.engaged_by)}', {'engaged': 1.0})
        else:
            status = health.Status(health.OK, f'mesh-wide e-stop released by '
                                   f'{shorten(state.released_by)}', {'engaged': 0.0})
        return health.Status(max(status.level, rejected.level),
                             f'{status.message}; {rejected.message}',
                             {**status.values, **rejected.values})

    def _auth_status(self):
        values = {'weight_capped': float(self._capped)}
        if not self._auth.enabled:
            return health.Status(health.WARN, 'open lab mesh: peer states, sync states and '
                                 'e-stop commands are neither signed nor checked', values)
        return health.Status(health.OK, f'signed as {shorten(self._auth.node_id)}; '
                             f'{self._capped} peer update(s) capped to their granted weight',
                             values)


def _point(value):
    return Point(x=value.real, y=value.imag, z=0.0)


main = main_for(MeshNode)
