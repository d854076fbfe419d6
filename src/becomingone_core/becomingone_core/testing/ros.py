"""The test side of a node-level test: an rclpy context on the test's own DDS domain."""

from becomingone_core.nodes.qos import latched
from becomingone_core.testing.processes import wait_until
import rclpy
from rclpy.executors import SingleThreadedExecutor


class RosProbe:
    """One node in its own context that subscribes, publishes and waits with deadlines."""

    def __init__(self, env, name='test_probe'):
        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=int(env['ROS_DOMAIN_ID']))
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def collect(self, message_type, topic, qos=10):
        """Subscribe to ``topic`` and return the list that receives every message."""
        received = []
        self.node.create_subscription(message_type, topic, received.append, qos)
        return received

    def spin_until(self, predicate, timeout_s):
        """Spin the probe until ``predicate()`` is true or ``timeout_s`` passes."""
        return wait_until(predicate, timeout_s,
                          on_poll=lambda poll_s: self.executor.spin_once(timeout_sec=poll_s))

    def spin_for(self, duration_s):
        self.spin_until(lambda: False, duration_s)

    def close(self):
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


#: Reliable, transient-local QoS: late joiners get the last state (the one definition: qos.py).
latched_qos = latched


def stamped(message, node):
    """Stamp ``message.header`` with ``node``'s clock now (nodes refuse unstamped states)."""
    message.header.stamp = node.get_clock().now().to_msg()
    return message
