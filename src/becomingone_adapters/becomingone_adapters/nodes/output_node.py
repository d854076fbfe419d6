"""
The part every output adapter node shares: the cell's ``sync/state`` behind a watchdog.

A sync state is acted on only if it is in range and recent (``max_clock_skew_s`` ahead,
``max_input_age_s`` behind the node clock, never older than the last one taken) and, on a mesh
with a PKI (``security_dir``), signed by this host: another host, or anyone else on the domain,
cannot open this host's gate.

:class:`GatedOutputNode` is a plain node (display, speaker); :class:`ManagedOutputNode` a
lifecycle node (motor, http: what commands something): its ``configure`` reads the parameters,
loads ``security_dir`` and subscribes ``sync/state``, so the gate is current in the inactive and
the active state; its outputs act only while active.
"""

from becomingone_adapters.gate import CollapseGate
from becomingone_core.health import ERROR, OK, RejectionCounter, Status, WARN
from becomingone_core.input_rules import check_sync_state, RejectedInput, StampWindow
from becomingone_core.ros.diagnostics import DiagnosticsPublisher
from becomingone_core.ros.guarded_lifecycle_node import GuardedLifecycleNode
from becomingone_core.ros.guarded_node import GuardedNode
from becomingone_core.ros.parameters import declare
from becomingone_core.ros.security_parameters import declare_security
from becomingone_msgs.msg import SyncState
from rclpy.qos import QoSProfile, QoSReliabilityPolicy


class _SyncGate:
    """Mixin: subscribes ``sync/state``; ``self.gate.is_open(now)`` says whether to act."""

    def _set_up_gate(self, watchdog_s):
        watchdog = declare(self, 'watchdog_s', watchdog_s,
                           'a sync state older than this counts as released (s)',
                           minimum=0.01, maximum=60.0)
        self.gate = CollapseGate(watchdog)
        self.rejections = RejectionCounter('sync states')
        self.auth = declare_security(self)
        self._window = StampWindow(
            declare(self, 'max_clock_skew_s', 0.5, 'sync states stamped further ahead of the '
                    'node clock are refused (s)', minimum=0.0, maximum=3600.0),
            declare(self, 'max_input_age_s', 2.0, 'sync states stamped further behind the '
                    'node clock are refused (s)', minimum=0.001, maximum=3600.0))
        self._newest_stamp_ns = -1
        self.create_subscription(
            SyncState, 'sync/state', self._on_sync,
            QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE))
        self.diagnostics = DiagnosticsPublisher(self)
        self.diagnostics.add('gate', self._gate_status)
        self.diagnostics.add('input', self.rejections.status)

    def now_s(self):
        return self.get_clock().now().nanoseconds * 1e-9

    def _on_sync(self, message):
        now_ns = self.get_clock().now().nanoseconds
        try:
            stamp = check_sync_state(message, now_ns, self._window)
            self.auth.admit_own_sync(message)
            if stamp < self._newest_stamp_ns:
                raise RejectedInput('replay', 'older than the sync state already taken')
            self.gate.update(now_ns * 1e-9, message.collapsed, message.coherence,
                             complex(message.sync_real, message.sync_imag))
        except (RejectedInput, ValueError) as error:
            self.rejections.reject(getattr(error, 'reason', 'non_finite'))
            self.get_logger().warning(f'sync state rejected: {error}', throttle_duration_sec=5.0)
            return
        self._newest_stamp_ns = stamp
        self.on_sync(message)

    def on_sync(self, message):
        """Act on an accepted sync state (subclasses override)."""

    def _gate_status(self):
        now = self.now_s()
        values = {'coherence': self.gate.coherence, 'collapsed': float(self.gate.collapsed)}
        if self.gate.is_open(now):
            return Status(OK, 'collapsed: acting', values)
        reason = self.gate.reason(now)
        level = ERROR if 'stale' in reason else WARN if 'no sync' in reason else OK
        return Status(level, f'idle: {reason}', values)


class GatedOutputNode(_SyncGate, GuardedNode):
    """Subscribes ``sync/state``; ``self.gate.is_open(now)`` says whether to act."""

    def __init__(self, name, watchdog_s=0.5, **kwargs):
        super().__init__(name, **kwargs)
        self._set_up_gate(watchdog_s)


class ManagedOutputNode(_SyncGate, GuardedLifecycleNode):
    """
    A lifecycle output: :meth:`configure_output` sets up what the subclass needs.

    Subclasses publish through lifecycle publishers (nothing goes out unless active) and call
    :meth:`start` at the end of their ``__init__``.
    """

    def __init__(self, name, watchdog_s=0.5, **kwargs):
        self._default_watchdog_s = watchdog_s
        super().__init__(name, **kwargs)

    def configure_node(self):
        self._set_up_gate(self._default_watchdog_s)
        self.configure_output()

    def configure_output(self):
        """Read the subclass's parameters and create its publishers, subscriptions, timers."""
