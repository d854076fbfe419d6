"""The test side of a node-level test: an rclpy context on the test's own DDS domain."""

import time

from becomingone_core.ros.qos import latched
from becomingone_core.testing.processes import wait_until
from lifecycle_msgs.srv import ChangeState, GetState
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

    def request(self, send, deadline_s=60.0, attempt_s=5.0, cancel=None):
        """
        Return the answer to the request ``send()`` makes (it returns the future).

        An answer to a request sent before the server's reply writer matched this probe is lost
        (readiness is seen from the request side only), so an idempotent request is sent again
        every ``attempt_s`` until the deadline; ``cancel(future)`` drops an unanswered one.
        """
        ends = time.monotonic() + deadline_s
        while True:
            future = send()
            if self.spin_until(future.done, min(attempt_s, max(0.0, ends - time.monotonic()))):
                return future.result()
            if cancel is not None:
                cancel(future)
            assert time.monotonic() < ends, f'no answer within {deadline_s:g} s'

    def call(self, client, request, deadline_s=60.0, attempt_s=5.0):
        """Wait for ``client``'s service, then :meth:`request` ``request`` (idempotent only)."""
        assert self.spin_until(client.service_is_ready, deadline_s), \
            f'no {client.srv_name} service'
        return self.request(lambda: client.call_async(request), deadline_s, attempt_s,
                            cancel=client.remove_pending_request)

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


class Lifecycle:
    """A lifecycle client of one node, as ``ros2 lifecycle get/set`` uses it."""

    def __init__(self, probe, node_name):
        self.probe = probe
        self._change = probe.node.create_client(ChangeState, f'{node_name}/change_state')
        self._get = probe.node.create_client(GetState, f'{node_name}/get_state')
        assert probe.spin_until(
            lambda: self._change.service_is_ready() and self._get.service_is_ready(), 60), \
            f'no lifecycle services on {node_name}'
        self.get()  # answered: the node's reply writers have matched this probe

    def get(self):
        # A query: sent again until answered (RosProbe.call).
        return self.probe.call(self._get, GetState.Request()).current_state.label

    def change(self, transition_id):
        # A transition is sent once (not idempotent: see __init__'s warm-up).
        request = ChangeState.Request()
        request.transition.id = transition_id
        future = self._change.call_async(request)
        assert self.probe.spin_until(future.done, 30.0), \
            f'{self._change.srv_name} did not answer'
        return future.result().success
