"""
The last line of defence: a node whose callbacks cannot take it down.

Every input is checked by range before it touches state (:mod:`becomingone_core.input_rules`),
so a callback that still raises is a bug. :class:`GuardedNode` wraps every subscription,
service and timer callback it creates: an exception is caught at the node boundary, counted
(``internal_error``, by callback), logged as an error with its traceback (throttled), reported
as ERROR in ``/diagnostics`` with the exception, and the node keeps serving. A service whose
callback raised answers with its default response (``success`` false where the type has it).

Tests must never pass over such a bug: with ``BECOMINGONE_STRICT_CALLBACKS=1`` (set by
``make test``) the exception is counted, logged and then re-raised, so the test fails.

The guarding is the mixin :class:`GuardedCallbacks`; :class:`GuardedNode` is a plain guarded
node, and :mod:`becomingone_core.ros.guarded_lifecycle_node` holds the guarded managed node (a
module of its own, so that a process without managed nodes never loads ``rclpy.lifecycle``:
about 1.4 MB of a Pi's memory).
"""

from collections import Counter
import os
import traceback

from becomingone_core.health import ERROR, OK, Status
from rclpy.node import Node

STRICT_ENVIRONMENT = 'BECOMINGONE_STRICT_CALLBACKS'
_LOG_THROTTLE_S = 5.0


def strict_callbacks():
    """Tell whether callback exceptions are re-raised (tests) instead of only counted."""
    return os.environ.get(STRICT_ENVIRONMENT, '') not in ('', '0')


class CallbackGuard:
    """Counts and describes exceptions escaping a node's callbacks; pure bookkeeping."""

    def __init__(self):
        self.counts = Counter()
        self.last_error = ''
        self._reported = 0

    @property
    def total(self):
        return sum(self.counts.values())

    def record(self, where, error):
        self.counts[where] += 1
        self.last_error = f'{where}: {type(error).__name__}: {error}'[:500]

    def status(self):
        values = {'internal_error': float(self.total)}
        values.update({f'internal_error {where}': float(n) for where, n in self.counts.items()})
        if self.total:
            return Status(ERROR, f'{self.total} internal error(s), last: {self.last_error}',
                          values)
        return Status(OK, 'no internal errors', values)


class GuardedCallbacks:
    """Mixin for an rclpy node class: its subscription, service and timer callbacks are guarded."""

    def __init__(self, *args, **kwargs):
        self.callback_guard = CallbackGuard()
        super().__init__(*args, **kwargs)

    def create_subscription(self, msg_type, topic, callback, qos_profile, **kwargs):
        return super().create_subscription(
            msg_type, topic, self._guarded(callback, f'subscription {topic}'), qos_profile,
            **kwargs)

    def create_service(self, srv_type, srv_name, callback, **kwargs):
        def answer_anyway(request, response):
            try:
                return callback(request, response)
            except Exception as error:  # noqa: B902 - the boundary: see the module docstring
                self._internal_error(f'service {srv_name}', error)
                fresh = srv_type.Response()
                if hasattr(fresh, 'success'):
                    fresh.success = False
                if hasattr(fresh, 'message'):
                    fresh.message = 'internal error (see /diagnostics)'
                return fresh
        return super().create_service(srv_type, srv_name, answer_anyway, **kwargs)

    def create_timer(self, timer_period_sec, callback, *args, **kwargs):
        return super().create_timer(timer_period_sec, self._guarded(callback, 'timer'),
                                    *args, **kwargs)

    @property
    def internal_errors(self):
        return self.callback_guard.total

    def _guarded(self, callback, where):
        def guarded(*args):
            try:
                return callback(*args)
            except Exception as error:  # noqa: B902 - the boundary: see the module docstring
                self._internal_error(where, error)
        return guarded

    def _internal_error(self, where, error):
        if not self.context.ok():
            raise error  # shutting down: rclpy's own errors end the spin (runner.CleanExit)
        self.callback_guard.record(where, error)
        self.get_logger().error(
            f'internal_error in {where}: {"".join(traceback.format_exception(error))}',
            throttle_duration_sec=_LOG_THROTTLE_S)
        if strict_callbacks():
            raise error


class GuardedNode(GuardedCallbacks, Node):
    """An rclpy ``Node`` whose subscription, service and timer callbacks are guarded."""
