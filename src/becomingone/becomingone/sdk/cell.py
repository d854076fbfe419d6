"""
:class:`Cell`: a whole cell with its inputs and outputs, in process or offline.

In process, :meth:`Cell.start` (or :meth:`Cell.run`) builds the real nodes (the cell's master,
emissary, sync and witness from :mod:`becomingone_core.nodes.cell`, every input and output
adapter) and spins them on one rclpy executor, so ``ros2 topic``, rviz and other hosts see the
same cell as ever. ``on_collapse`` / ``on_release`` callbacks run on that executor with a
:class:`becomingone.sdk.events.CollapseEvent`, taken from ``sync/state`` as any subscriber
sees it. :meth:`Cell.offline` runs the same dynamics over arrays (the inputs' recordings, or
arrays given), for notebooks and tuning.
"""

import threading
import time
from typing import Any, Callable, Dict, Optional

from becomingone.sdk.events import COLLAPSE, CollapseEvent, event_from_state, RELEASE
from becomingone.sdk.inputs import Input
from becomingone.sdk.node_options import configured
from becomingone.sdk.offline import OfflineRun, Recorded, run_offline
from becomingone.sdk.outputs import Output
from becomingone_adapters.nodes.output_node import GatedOutputNode
from becomingone_core.nodes.cell import CELL_NODES, NODE_FACTORIES
from becomingone_core.ros.runner import host_executor, init, stand_down
from becomingone_core.ros.shared_subscriptions import share_subscriptions
from becomingone_core.scales import preset
import numpy as np
import rclpy
from rclpy.parameter import Parameter
from rclpy.signals import SignalHandlerOptions

#: The transducers' bank channel count when the inputs need no more (their default).
MIN_CHANNELS = 4
#: What ``on_collapse`` / ``on_release`` take.
Callback = Callable[[CollapseEvent], Any]


def _origin_s(node):
    """Return the time (ROS s) an input node's recording started: its own, else now."""
    for name in ('origin_s', 'start_s'):  # the replay nodes, the microphone; the thermal node
        if getattr(node, name, None) is not None:
            return getattr(node, name)
    return node.get_clock().now().nanoseconds * 1e-9


class _Observer(GatedOutputNode):
    """
    Follows ``sync/state`` and calls the cell's callbacks on every collapse and release.

    It takes the states an output takes (:mod:`becomingone_adapters.nodes.output_node`): in
    range, recent, never older than the last one, signed by this host on a mesh with a PKI;
    anything else is counted by reason in its ``/diagnostics`` and changes nothing.
    """

    def __init__(self, cell, **kwargs):
        self.cell = cell
        self.collapsed = False
        super().__init__('sdk_observer', **kwargs)

    def on_sync(self, message):
        self.cell.last_state = message
        if bool(message.collapsed) == self.collapsed:
            return
        self.collapsed = bool(message.collapsed)
        self.cell._notify(event_from_state(message, COLLAPSE if self.collapsed else RELEASE))


class Cell:
    """
    A cell at one ``scale`` (``becomingone_core.scales``), with inputs, outputs and callbacks.

    ``namespace`` puts every node under it (one namespace per cell on a shared domain);
    ``parameters`` adds node parameters by node name (``{'sync': {'threshold': 0.6}}``).
    """

    def __init__(self, scale: str = 'demo', namespace: str = '',
                 parameters: Optional[Dict[str, Dict[str, Any]]] = None,
                 realign_dissipation: float = 0.5):
        preset(scale)  # a ValueError naming the choices, now rather than at start
        unknown = sorted(set(parameters or {}) - set(CELL_NODES))
        if unknown:
            raise ValueError(f'parameters: no cell node {", ".join(map(repr, unknown))}; the '
                             f'nodes: {", ".join(CELL_NODES)} (inputs and outputs take fields)')
        self.scale = scale
        self.namespace = namespace
        self.parameters = {name: dict(values) for name, values in (parameters or {}).items()}
        self.realign_dissipation = float(realign_dissipation)
        self.inputs, self.outputs = [], []
        self.events = []
        self.last_state = None
        self.nodes = []
        self.origin_s = None
        self._callbacks = {COLLAPSE: [], RELEASE: []}
        self._executor = None
        self._thread = None
        self._stop = threading.Event()
        self._owns_context = False
        self._stop_request = None
        self._failure = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------- composition
    def add_input(self, part: Input) -> Input:
        """Add an input (:mod:`becomingone.sdk.inputs`); returns it."""
        if not isinstance(part, Input):
            raise TypeError(f'{part!r} is not an input')
        self.inputs.append(part)
        return part

    def add_output(self, part: Output) -> Output:
        """Add an output (:mod:`becomingone.sdk.outputs`); returns it."""
        if not isinstance(part, Output):
            raise TypeError(f'{part!r} is not an output')
        self.outputs.append(part)
        return part

    def on_collapse(self, callback: Callback) -> Callback:
        """Call ``callback(event)`` on every collapse (usable as a decorator)."""
        self._callbacks[COLLAPSE].append(callback)
        return callback

    def on_release(self, callback: Callback) -> Callback:
        """Call ``callback(event)`` on every release (usable as a decorator)."""
        self._callbacks[RELEASE].append(callback)
        return callback

    @property
    def channels(self) -> int:
        """Bank channels the transducers need for every input together."""
        return max(MIN_CHANNELS, sum(part.channels for part in self.inputs))

    @property
    def collapsed(self) -> bool:
        """Return the newest decision seen in process (False before any)."""
        return bool(self.last_state is not None and self.last_state.collapsed)

    def _node_parameters(self, name):
        values = {'scale': self.scale}
        if name in ('master', 'emissary'):
            values.update(channels=self.channels, realign_dissipation=self.realign_dissipation)
        values.update(self.parameters.get(name, {}))
        return [Parameter(key, value=value) for key, value in values.items()]

    def _notify(self, event):
        with self._lock:
            self.events.append(event)
        for callback in self._callbacks[event.kind]:
            callback(event)

    # ------------------------------------------------------------------------- in process
    def start(self) -> 'Cell':
        """Build every node and spin them on a background thread; returns at once."""
        self._open()
        self._thread = threading.Thread(target=self._spin_in_thread, name='becomingone-cell',
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop spinning, destroy every node (and shut rclpy down if the cell started it)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._close()
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure  # what ended the spin thread (a callback's error under strict mode)

    def run(self, duration: Optional[float] = None) -> None:
        """Spin in this thread until SIGINT / SIGTERM or ``duration`` seconds; then stop."""
        self._open()
        try:
            self._spin(None if duration is None else time.monotonic() + duration)
        finally:
            self._close()

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        """Wait (the executor spinning elsewhere) until ``predicate()``; return whether it held."""
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() >= deadline or not (self._thread and self._thread.is_alive()):
                return bool(predicate())
            self._stop.wait(0.02)
        return True

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _open(self):
        if self._executor is not None:
            raise RuntimeError('this cell is already running')
        if not rclpy.ok():
            if threading.current_thread() is threading.main_thread():
                # SIGINT / SIGTERM: a clean end (runner.StopRequest), even before spinning.
                self._stop_request = init(['becomingone'])
            else:
                rclpy.init(args=['becomingone'], signal_handler_options=SignalHandlerOptions.NO)
            self._owns_context = True
        self._stop.clear()
        self.events, self.last_state = [], None
        try:
            for name in CELL_NODES:
                self.nodes.append(NODE_FACTORIES[name](
                    parameter_overrides=self._node_parameters(name), namespace=self.namespace))
            for part in self.outputs:
                self.nodes.extend(part.nodes(self.namespace))
            self.nodes.append(configured(_Observer, {}, self.namespace)(self))
            # The inputs last, just before spinning: their recordings start now.
            origins = []
            for part in self.inputs:
                built = part.nodes(self.namespace)
                self.nodes.extend(built)
                origins += [_origin_s(node) for node in built]
            self.origin_s = min(origins, default=None)
        except BaseException:
            self._close()
            raise
        share_subscriptions(self.nodes)  # one reader per topic in this process
        self._executor = host_executor()
        for node in self.nodes:
            self._executor.add_node(node)

    def _spin(self, deadline=None):
        while (not self._stop.is_set() and rclpy.ok()
               and not (self._stop_request is not None and self._stop_request.requested)
               and (deadline is None or time.monotonic() < deadline)):
            try:
                self._executor.spin_once(timeout_sec=0.05)
            except rclpy.executors.ExternalShutdownException:
                return

    def _spin_in_thread(self):
        try:
            self._spin()
        except Exception as error:  # noqa: B902 - handed to stop(), which raises it
            self._failure = error

    def _close(self):
        if rclpy.ok():
            stand_down(self.nodes)  # a motor output publishes its zero Twist first
        for node in reversed(self.nodes):
            if self._executor is not None:
                self._executor.remove_node(node)
            node.destroy_node()
        self.nodes = []
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None
        if self._owns_context:
            rclpy.try_shutdown()
            self._owns_context = False
            self._stop_request = None

    # ------------------------------------------------------------------------- offline
    def offline(self, stamps: Optional[np.ndarray] = None,
                samples: Optional[np.ndarray] = None) -> OfflineRun:
        """
        Run the same dynamics over arrays and return an :class:`~.offline.OfflineRun`.

        With ``stamps`` (s) and ``samples`` (N x C complex phase) the arrays are one source, a
        sample per message; without, every input's recording (``file=``) is read and encoded
        as its node would. Event stamps are seconds from the recording's start.
        """
        if stamps is not None:
            stamps = np.asarray(stamps, float).reshape(-1)
            samples = np.asarray(samples, complex).reshape(stamps.size, -1)
            sources = {'offline': Recorded(stamps, samples)}
            channels = max(MIN_CHANNELS, samples.shape[1])
        else:
            if not self.inputs:
                raise ValueError('no inputs: add inputs with recordings, or pass arrays')
            sources = {part.source or part.default_source: part.recorded()
                       for part in self.inputs}
            channels = self.channels
        return run_offline(self.scale, sources, channels, self.realign_dissipation,
                           self.parameters)
