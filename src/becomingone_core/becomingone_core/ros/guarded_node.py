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
node, :class:`GuardedLifecycleNode` a guarded managed node (``rclpy.lifecycle``): its work is
set up in hooks run by the lifecycle transitions, what a hook creates is destroyed by the
opposite transition, and a failing configure (a :class:`ConfigureError`, e.g. a bad parameter
or a store that cannot open) is logged and leaves the node unconfigured, still running and
answering its lifecycle services, instead of ending the process.
"""

from collections import Counter
import os
import traceback

from becomingone_core.health import ERROR, OK, Status
from becomingone_core.ros.parameters import declare, ParameterError
from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn
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


class ConfigureError(ParameterError):
    """A reason a managed node cannot be configured (its message says why)."""


_CONFIGURE, _ACTIVATE = 'configure', 'activate'
_DESTROY = {'subscription': 'destroy_subscription', 'service': 'destroy_service',
            'timer': 'destroy_timer', 'publisher': 'destroy_publisher',
            'lifecycle_publisher': 'destroy_lifecycle_publisher', 'client': 'destroy_client'}


class GuardedLifecycleNode(GuardedCallbacks, LifecycleNode):
    """
    A managed node with guarded callbacks; subclasses override the four hooks.

    * :meth:`configure_node` reads parameters, opens resources and creates what lives while
      configured (inactive and active); raising :class:`ConfigureError` (or
      :class:`ParameterError`) fails the transition with that reason: logged once, kept in
      :attr:`configure_error`, the node stays unconfigured;
    * :meth:`activate_node` creates what lives only while active;
    * :meth:`deactivate_node` runs while the lifecycle publishers are still enabled (a last
      message), then what activate created is destroyed and the publishers disabled;
    * :meth:`cleanup_node` (cleanup, shutdown, ``destroy_node``) releases resources, then what
      configure created is destroyed.

    Parameters are declared by the first configure; a later one reads the declared values again.
    ``autostart`` (read-only, default true): :meth:`start` configures and activates the node at
    once, as a plain executable does; a launch file that drives the transitions sets it false.
    """

    def __init__(self, node_name, **kwargs):
        self.configure_error = None
        self._owned = {_CONFIGURE: [], _ACTIVATE: []}
        self._scope = None
        self._transition_failure = None
        super().__init__(node_name, **kwargs)
        self.autostart = declare(
            self, 'autostart', True, 'configure and activate at start-up; false: wait for '
            "lifecycle transitions (ros2 lifecycle set, a launch file's ChangeState)",
            read_only=True)

    # -- start-up and state ---------------------------------------------------------------
    def start(self):
        """Configure and activate now when ``autostart`` is set (call at the end of __init__)."""
        if self.autostart and self.trigger_configure() == TransitionCallbackReturn.SUCCESS:
            self.trigger_activate()
        if self._transition_failure is not None and strict_callbacks():
            raise self._transition_failure

    @property
    def lifecycle_state(self):
        """Return the primary state's label: unconfigured, inactive, active or finalized."""
        return self._state_machine.current_state[1]

    @property
    def is_active(self):
        return self.lifecycle_state == 'active'

    # -- hooks (subclasses override) ------------------------------------------------------
    def configure_node(self):
        """Read parameters, open resources, create what lives while configured."""

    def activate_node(self):
        """Create what lives only while active."""

    def deactivate_node(self):
        """Say goodbye while the lifecycle publishers are still enabled."""

    def cleanup_node(self):
        """Release what :meth:`configure_node` opened (files, threads)."""

    # -- transitions ----------------------------------------------------------------------
    def on_configure(self, state):
        self.configure_error = None
        try:
            self._in_scope(_CONFIGURE, self.configure_node)
        except ParameterError as error:
            self.configure_error = error
            self._undo_configure()
            self.get_logger().error(f'cannot configure: {error}')
            return TransitionCallbackReturn.FAILURE
        except Exception as error:  # noqa: B902 - the boundary: see the module docstring
            self._undo_configure()
            return self._failed('configure', error)
        return super().on_configure(state)

    def _undo_configure(self):
        try:
            self.cleanup_node()
        except Exception as error:  # noqa: B902 - already failing: report, go on
            self.get_logger().error(f'cleanup after a failed configure failed: {error!r}')
        self._destroy_owned(_CONFIGURE)

    def on_activate(self, state):
        result = super().on_activate(state)  # enables the lifecycle publishers
        try:
            self._in_scope(_ACTIVATE, self.activate_node)
        except Exception as error:  # noqa: B902
            self._destroy_owned(_ACTIVATE)
            super().on_deactivate(state)
            return self._failed('activate', error)
        return result

    def on_deactivate(self, state):
        try:
            self.deactivate_node()
        except Exception as error:  # noqa: B902
            self._failed('deactivate', error)
        self._destroy_owned(_ACTIVATE)
        return super().on_deactivate(state)

    def on_cleanup(self, state):
        return self._release(super().on_cleanup, state)

    def on_shutdown(self, state):
        if state.label == 'active':  # the state shutdown started from
            self.on_deactivate(state)
        return self._release(super().on_shutdown, state)

    def on_error(self, state):
        self._destroy_owned(_ACTIVATE)
        self._release(lambda _: TransitionCallbackReturn.SUCCESS, state)
        return super().on_error(state)

    def destroy_node(self):
        # The context may be gone already: release resources, publish nothing.
        if self.lifecycle_state in ('inactive', 'active'):
            try:
                self.cleanup_node()
            except Exception as error:  # noqa: B902 - shutting down: report, go on
                self.get_logger().error(f'cleanup at shutdown failed: {error!r}')
        super().destroy_node()

    def _release(self, then, state):
        try:
            self.cleanup_node()
        except Exception as error:  # noqa: B902
            self._failed('cleanup', error)
        self._destroy_owned(_ACTIVATE)
        self._destroy_owned(_CONFIGURE)
        return then(state)

    def _failed(self, transition, error):
        self._transition_failure = error
        try:
            self._internal_error(f'transition {transition}', error)
        except Exception:  # noqa: B902 - strict: re-raised by start(), rclpy would hide it
            pass
        return TransitionCallbackReturn.ERROR

    # -- what each transition owns --------------------------------------------------------
    def _in_scope(self, scope, hook):
        self._scope = scope
        try:
            hook()
        finally:
            self._scope = None

    def _own(self, kind, entity):
        if self._scope is not None:
            self._owned[self._scope].append((kind, entity))
        return entity

    def _destroy_owned(self, scope):
        owned, self._owned[scope] = self._owned[scope], []
        for kind, entity in reversed(owned):
            getattr(self, _DESTROY[kind])(entity)

    def declare_parameter(self, name, *args, **kwargs):
        if self.has_parameter(name):  # declared by an earlier configure
            return self.get_parameter(name)
        return super().declare_parameter(name, *args, **kwargs)

    def create_subscription(self, *args, **kwargs):
        return self._own('subscription', super().create_subscription(*args, **kwargs))

    def create_service(self, *args, **kwargs):
        return self._own('service', super().create_service(*args, **kwargs))

    def create_timer(self, *args, **kwargs):
        return self._own('timer', super().create_timer(*args, **kwargs))

    def create_client(self, *args, **kwargs):
        return self._own('client', super().create_client(*args, **kwargs))

    def create_publisher(self, *args, **kwargs):
        return self._own('publisher', super().create_publisher(*args, **kwargs))

    def create_lifecycle_publisher(self, *args, **kwargs):
        return self._own('lifecycle_publisher',
                         super().create_lifecycle_publisher(*args, **kwargs))
