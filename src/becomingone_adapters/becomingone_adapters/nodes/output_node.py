"""The part every output adapter node shares: the cell's ``sync/state`` behind a watchdog."""

from becomingone_adapters.gate import CollapseGate
from becomingone_core.health import ERROR, OK, RejectionCounter, Status, WARN
from becomingone_core.nodes.diagnostics import DiagnosticsPublisher
from becomingone_core.nodes.guarded_node import GuardedNode
from becomingone_core.nodes.parameters import declare
from becomingone_msgs.msg import SyncState
from rclpy.qos import QoSProfile, QoSReliabilityPolicy


class GatedOutputNode(GuardedNode):
    """Subscribes ``sync/state``; ``self.gate.is_open(now)`` says whether to act."""

    def __init__(self, name, watchdog_s=0.5):
        super().__init__(name)
        watchdog = declare(self, 'watchdog_s', watchdog_s,
                           'a sync state older than this counts as released (s)',
                           minimum=0.01, maximum=60.0)
        self.gate = CollapseGate(watchdog)
        self.rejections = RejectionCounter('sync states')
        self.create_subscription(
            SyncState, 'sync/state', self._on_sync,
            QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE))
        self.diagnostics = DiagnosticsPublisher(self)
        self.diagnostics.add('gate', self._gate_status)
        self.diagnostics.add('input', self.rejections.status)

    def now_s(self):
        return self.get_clock().now().nanoseconds * 1e-9

    def _on_sync(self, message):
        try:
            self.gate.update(self.now_s(), message.collapsed, message.coherence,
                             complex(message.sync_real, message.sync_imag))
        except ValueError as error:
            self.rejections.reject('non_finite')
            self.get_logger().warning(f'sync state rejected: {error}', throttle_duration_sec=5.0)
            return
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
