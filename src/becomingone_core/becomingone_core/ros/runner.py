"""
The ``main()`` every BecomingONE node shares: init, spin, clean shutdown, clear errors.

A node process ends cleanly, with status 0 and no traceback, on SIGINT or SIGTERM however they
arrive: once from a terminal or ``kill``, to the whole process group (systemd, scripts, a
terminal's Ctrl-C under ``ros2 launch``), or twice (the group's SIGINT, then the one
``ros2 launch --noninteractive`` forwards), during start-up, spin or clean-up. Only a signal
that arrives while Python is still importing the node's modules, before ``main()`` runs, ends
it the interpreter's way.

``kill -USR1 <pid>`` prints every thread's stack to stderr (:mod:`faulthandler`) and the node
carries on: what a node that does not stop is waiting for.
"""

import atexit
import faulthandler
import os
import signal
import sys

from becomingone_core.ros.parameters import ParameterError
import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.signals import SignalHandlerOptions


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def ignore_stop_signals():
    """Ignore SIGINT and SIGTERM from now on: the process is ending anyway."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


class StopRequest:
    """
    Note SIGINT and SIGTERM instead of raising; install before ``rclpy.init``.

    :func:`init` starts rclpy without its own signal handlers, so a stop signal only sets
    :attr:`requested`: the spin loops check it (every 50 ms at most) and end, and the context
    stays valid while the nodes stand down (:func:`stand_down`: a motor output publishes its
    zero Twist; rclpy's handlers would have shut the context down first, leaving a robot on its
    last command). No ``KeyboardInterrupt`` is ever raised at an arbitrary line (a second SIGINT
    used to interrupt ``destroy_node`` with a traceback and exit -2), and a signal that comes
    during start-up is not lost: :attr:`requested` tells the start-up to stop.
    The handlers stay until the process exits; then (``atexit``) the stop signals are ignored,
    as the interpreter's finalization would reset them to the default action and let a late
    signal kill the ending process (exit -2 or -15 after a clean shut-down).
    """

    def __init__(self):
        self.signal = None  # the name of the first stop signal, once one came

    def install(self):
        """Install the handlers for every signal in :data:`STOP_SIGNALS`; return ``self``."""
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._note)
        atexit.unregister(ignore_stop_signals)  # once, however many runs a process makes
        atexit.register(ignore_stop_signals)
        return self

    @property
    def requested(self):
        return self.signal is not None

    def _note(self, signum, frame):
        if self.signal is None:
            self.signal = signal.Signals(signum).name


def init(args=None):
    """Install a :class:`StopRequest`, then initialize rclpy with ``args``; return the request."""
    stop = StopRequest().install()
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    rclpy.init(args=args if args is not None else sys.argv,
               signal_handler_options=SignalHandlerOptions.NO)
    return stop


#: Set to ``single`` to run the hosts in one process on rclpy's SingleThreadedExecutor.
EXECUTOR_ENVIRONMENT = 'BECOMINGONE_EXECUTOR'


def host_executor(context=None):
    """
    Return the executor a host in one process spins its nodes on (cell, ``becomingone run``).

    rclpy's ``EventsExecutor`` (``rclpy.experimental``, in Jazzy's rclpy): the classic executors
    rebuild the wait set of every entity of every node on each wake, which for the ~150
    entities of a whole host (each node's parameter services, timers, QoS event handlers) cost
    far more than the messages themselves: at 1 kHz input a ``full`` host took a whole core
    (3x a bare relay) on the ``SingleThreadedExecutor`` and a third of one on this (about a
    relay's share; ``benchmark/bench_footprint.py``). ``BECOMINGONE_EXECUTOR=single`` (or an
    rclpy without it) falls back to the ``SingleThreadedExecutor``.
    """
    kwargs = {} if context is None else {'context': context}
    if os.environ.get(EXECUTOR_ENVIRONMENT, 'events') != 'single':
        try:
            from rclpy.experimental import EventsExecutor
        except ImportError:
            pass
        else:
            return EventsExecutor(**kwargs)
    return rclpy.executors.SingleThreadedExecutor(**kwargs)


def spin_until_stopped(executor, stop, period_s=0.05):
    """Spin ``executor`` until a stop signal (``stop``) or the context's shutdown."""
    while rclpy.ok(context=executor.context) and not stop.requested:
        executor.spin_once(timeout_sec=period_s)


def stand_down(nodes):
    """
    Deactivate every active lifecycle node among ``nodes``, the last one started first.

    While the context is still valid, so each can say goodbye (the motor output publishes one
    zero Twist) before it is destroyed.
    """
    for node in reversed(list(nodes)):
        if getattr(node, 'is_active', False):
            try:
                node.trigger_deactivate()
            except Exception as error:  # noqa: B902 - shutting down: report, go on
                node.get_logger().error(f'deactivate at shutdown failed: {error!r}')


class CleanExit:
    """
    Wrap a node process's start-up and spin; ``status`` is its exit code afterwards.

    A node refusing its parameters ends with status 2 (the message names the parameter and goes
    to stderr and the ROS log). Ctrl-C, an external shutdown, and rclpy's errors raised because
    SIGINT invalidated the context at any moment (between ``rclpy.ok()`` and a wait, or inside a
    callback's publish or take) are a clean end, status 0. Anything else propagates.
    """

    def __init__(self, logger_name=None):
        self.status = 0
        # Logged under the executable's own name (master, mesh, ...) and once: the ROS logger
        # already writes to the console, so nothing is printed besides.
        self._logger_name = logger_name or os.path.basename(sys.argv[0]) or 'becomingone'

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if kind is None:
            return False
        if issubclass(kind, ParameterError):
            rclpy.logging.get_logger(self._logger_name).fatal(f'cannot start: {error}')
            self.status = 2
            return True
        if issubclass(kind, (KeyboardInterrupt, ExternalShutdownException)):
            return True
        return issubclass(kind, RuntimeError) and not rclpy.ok()


def run_nodes(*factories, args=None, executor=None):
    """
    Create the nodes from ``factories`` and spin them until Ctrl-C or shutdown.

    Returns the process exit code (see :class:`CleanExit`); SIGINT or SIGTERM at any time is a
    clean end (see :class:`StopRequest`).
    """
    stop = init(args)
    nodes = []
    outcome = CleanExit()
    try:
        with outcome:
            for factory in factories:
                if stop.requested:
                    break
                nodes.append(factory())
            executor = executor or (MultiThreadedExecutor() if len(nodes) > 1 else
                                    rclpy.executors.SingleThreadedExecutor())
            for node in nodes:
                executor.add_node(node)
            spin_until_stopped(executor, stop)
    finally:
        if rclpy.ok():
            stand_down(nodes)
        for node in nodes:
            node.destroy_node()
        rclpy.try_shutdown()
    return outcome.status


def main_for(factory):
    """Return a console-script ``main`` that runs one node made by ``factory``."""
    def main(args=None):
        sys.exit(run_nodes(factory, args=args))
    return main
