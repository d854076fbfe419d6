"""
Publish a node's health on ``/diagnostics`` so rqt_robot_monitor shows it.

diagnostic_updater is not packaged for every install BecomingONE targets, so this is the small
part of it we need: named checks returning :class:`becomingone_core.health.Status`, published
as one ``DiagnosticArray`` per period, each status named ``<node name>: <check>``.
"""

import socket

from becomingone_core.health import ERROR, Status
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.qos import QoSProfile, QoSReliabilityPolicy


class DiagnosticsPublisher:
    """Runs registered checks on a timer and publishes them on ``/diagnostics``."""

    def __init__(self, node, period_s=1.0, hardware_id=None):
        self._node = node
        self._hardware_id = hardware_id or socket.gethostname()
        self._checks = []
        # /diagnostics is absolute by convention: the aggregator listens there for every node.
        self._publisher = node.create_publisher(
            DiagnosticArray, '/diagnostics',
            QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE))
        self._timer = node.create_timer(period_s, self.publish)
        guard = getattr(node, 'callback_guard', None)
        if guard is not None:  # a GuardedNode: its internal errors are always reported
            self.add('internal errors', guard.status)

    def add(self, name, check):
        """Register ``check() -> Status`` under ``name``."""
        self._checks.append((name, check))

    def statuses(self):
        """Run every check; a check that raises is itself reported as an ERROR."""
        results = []
        for name, check in self._checks:
            try:
                status = check()
            except Exception as error:  # noqa: B902 - a broken check must not stop the others
                status = Status(ERROR, f'check failed: {error!r}')
            results.append((name, status))
        return results

    def publish(self):
        array = DiagnosticArray()
        array.header.stamp = self._node.get_clock().now().to_msg()
        prefix = self._node.get_fully_qualified_name().lstrip('/')
        for name, status in self.statuses():
            message = DiagnosticStatus()
            message.level = bytes([status.level])
            message.name = f'{prefix}: {name}'
            message.message = status.message
            message.hardware_id = self._hardware_id
            message.values = [KeyValue(key=key, value=_format(value))
                              for key, value in status.values.items()]
            array.status.append(message)
        self._publisher.publish(array)


def _format(value):
    return f'{value:.6g}' if isinstance(value, float) else str(value)
