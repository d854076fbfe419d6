"""
Publish a node's health on ``/diagnostics`` so rqt_robot_monitor shows it.

The interface is diagnostic_updater's: an :class:`Updater` holds named tasks, each a function
that fills a :class:`StatusWrapper` (``summary(level, message)``, ``add(key, value)``), runs them
every period and publishes one ``DiagnosticArray``, each status named ``<node>: <task>`` with
the node's fully qualified name (``cell1/master: input``; the real updater drops the namespace).
On a full ROS 2 install the real ``diagnostic_updater.Updater`` is used (:func:`make_updater`);
the PyPI wheels do not package it, so this module carries the small part of it we need, with
the same names and the same output.

:class:`DiagnosticsPublisher` is what nodes use: it adds checks that return a pure
:class:`becomingone_core.health.Status` (the logic modules never see ROS types), reports a
check that raises as an ERROR instead of losing the others, and adds the node's internal-error
count when the node is a ``GuardedNode``.
"""

import socket

from becomingone_core.health import ERROR, Status
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.qos import QoSProfile, QoSReliabilityPolicy


class StatusWrapper(DiagnosticStatus):
    """A ``DiagnosticStatus`` with diagnostic_updater's helpers (DiagnosticStatusWrapper)."""

    def summary(self, level, message):
        """Set the level (an int or a one-byte ``bytes``) and the message."""
        self.level = level if isinstance(level, bytes) else bytes([int(level)])
        self.message = str(message)

    def add(self, key, value):
        """Append one ``key: value`` pair (numbers formatted compactly)."""
        self.values.append(KeyValue(key=str(key), value=_format(value)))


class Updater:
    """diagnostic_updater's ``Updater`` interface: tasks run and published every period."""

    def __init__(self, node, period=1.0):
        self.node = node
        self.period = period
        self.hwid = ''
        self._tasks = []
        # /diagnostics is absolute by convention: the aggregator listens there for every node.
        self.publisher = node.create_publisher(
            DiagnosticArray, '/diagnostics',
            QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE))
        self.timer = node.create_timer(period, self.update)

    def setHardwareID(self, hwid):  # noqa: N802 - diagnostic_updater's name
        self.hwid = hwid

    def add(self, name, task):
        """Add ``task(stat) -> stat`` under ``name``."""
        self._tasks.append((name, task))

    def update(self):
        self.force_update()

    def force_update(self):
        """Run every task now and publish the results."""
        array = DiagnosticArray()
        array.header.stamp = self.node.get_clock().now().to_msg()
        for name, task in self._tasks:
            status = StatusWrapper(name=name, hardware_id=self.hwid)
            status.summary(ERROR, 'No message was set')
            status = task(status)
            # The fully qualified name keeps the cells of one host apart (/cell1/master and
            # /cell2/master); the real updater names by node name only.
            status.name = f'{self.node.get_fully_qualified_name().lstrip("/")}: {name}'
            array.status.append(status)
        self.publisher.publish(array)


def make_updater(node, period_s):
    """Return the real ``diagnostic_updater.Updater`` where installed, else this module's."""
    try:
        import diagnostic_updater
    except ImportError:
        return Updater(node, period_s)
    try:
        return diagnostic_updater.Updater(node, period_s)
    except TypeError:  # older releases take the period from a parameter
        return diagnostic_updater.Updater(node)


class DiagnosticsPublisher:
    """Runs registered :class:`Status` checks on an updater and publishes them."""

    def __init__(self, node, period_s=1.0, hardware_id=None, updater=None):
        self.updater = updater or make_updater(node, period_s)
        self.updater.setHardwareID(hardware_id or socket.gethostname())
        guard = getattr(node, 'callback_guard', None)
        if guard is not None:  # a GuardedNode: its internal errors are always reported
            self.add('internal errors', guard.status)

    def add(self, name, check):
        """Register ``check() -> Status`` under ``name``."""
        self.updater.add(name, lambda stat: fill(stat, _run(check)))

    def publish(self):
        self.updater.force_update()


def fill(stat, status):
    """Write a pure :class:`Status` into a (real or our) diagnostic status wrapper."""
    stat.summary(bytes([status.level]), status.message)
    for key, value in status.values.items():
        stat.add(key, _format(value))
    return stat


def _run(check):
    try:
        return check()
    except Exception as error:  # noqa: B902 - a broken check must not stop the others
        return Status(ERROR, f'check failed: {error!r}')


def _format(value):
    return f'{value:.6g}' if isinstance(value, float) else str(value)
