"""The ``main()`` every BecomingONE node shares: init, spin, clean shutdown, clear errors."""

import sys

from becomingone_core.nodes.parameters import ParameterError
import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor


def run_nodes(*factories, args=None, executor=None):
    """
    Create the nodes from ``factories`` and spin them until Ctrl-C or shutdown.

    Returns a process exit code: 0 after a normal shutdown, 2 when a node refused its
    parameters (the message names the parameter and goes to stderr and the ROS log).
    """
    rclpy.init(args=args if args is not None else sys.argv)
    nodes = []
    try:
        for factory in factories:
            nodes.append(factory())
        executor = executor or (MultiThreadedExecutor() if len(nodes) > 1 else
                                rclpy.executors.SingleThreadedExecutor())
        for node in nodes:
            executor.add_node(node)
        executor.spin()
    except ParameterError as error:
        rclpy.logging.get_logger('becomingone').fatal(f'cannot start: {error}')
        print(f'cannot start: {error}', file=sys.stderr)
        return 2
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except RuntimeError:
        # rclpy's errors (RCLError, pybind11's conversion errors) when SIGINT shut the context
        # down inside a callback (a publish, a take) are part of shutting down.
        if rclpy.ok():
            raise
    finally:
        for node in nodes:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


def main_for(factory):
    """Return a console-script ``main`` that runs one node made by ``factory``."""
    def main(args=None):
        sys.exit(run_nodes(factory, args=args))
    return main
