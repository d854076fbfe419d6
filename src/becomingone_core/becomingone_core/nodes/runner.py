"""The ``main()`` every BecomingONE node shares: init, spin, clean shutdown, clear errors."""

import os
import sys

from becomingone_core.nodes.parameters import ParameterError
import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor


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

    Returns the process exit code (see :class:`CleanExit`).
    """
    rclpy.init(args=args if args is not None else sys.argv)
    nodes = []
    outcome = CleanExit()
    try:
        with outcome:
            for factory in factories:
                nodes.append(factory())
            executor = executor or (MultiThreadedExecutor() if len(nodes) > 1 else
                                    rclpy.executors.SingleThreadedExecutor())
            for node in nodes:
                executor.add_node(node)
            executor.spin()
    finally:
        for node in nodes:
            node.destroy_node()
        rclpy.try_shutdown()
    return outcome.status


def main_for(factory):
    """Return a console-script ``main`` that runs one node made by ``factory``."""
    def main(args=None):
        sys.exit(run_nodes(factory, args=args))
    return main
