"""
A guarded managed node: :class:`GuardedLifecycleNode` (``rclpy.lifecycle``).

Its callbacks are guarded as :class:`~becomingone_core.ros.guarded_node.GuardedNode`'s are; its
work is set up in hooks run by the lifecycle transitions, what a hook creates is destroyed by the
opposite transition, and a failing configure (a :class:`ConfigureError`, e.g. a bad parameter or
a store that cannot open) is logged and leaves the node unconfigured, still running and
answering its lifecycle services, instead of ending the process.
"""

from becomingone_core.ros.guarded_node import GuardedCallbacks, strict_callbacks
from becomingone_core.ros.parameters import declare, ParameterError
from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn


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
