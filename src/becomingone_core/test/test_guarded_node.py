"""The node boundary: a callback that raises is counted and reported; the node keeps serving."""

from becomingone_core.ros.diagnostics import DiagnosticsPublisher
from becomingone_core.ros.guarded_node import GuardedNode, STRICT_ENVIRONMENT
from becomingone_core.testing.processes import isolated_ros_env
from becomingone_core.testing.ros import RosProbe
from becomingone_msgs.srv import ReconstructCoherence
from diagnostic_msgs.msg import DiagnosticArray
import pytest
from std_msgs.msg import Int32


class Fragile(GuardedNode):
    """Raises on odd numbers, in a subscription, a service and a timer."""

    def __init__(self, **kwargs):
        super().__init__('fragile', **kwargs)
        self.seen = []
        self.create_subscription(Int32, 'numbers', self._on_number, 10)
        self.create_service(ReconstructCoherence, 'fragile/reconstruct', self._on_request)
        self.create_timer(0.05, self._on_timer)
        DiagnosticsPublisher(self, period_s=0.2)

    def _on_number(self, message):
        if message.data % 2:
            raise ValueError(f'odd {message.data}')
        self.seen.append(message.data)

    def _on_request(self, request, response):
        if request.stamp.sec % 2:
            raise KeyError('odd second')
        response.known, response.source = True, 'record'
        return response

    def _on_timer(self):
        raise RuntimeError('timer bug')


def test_exceptions_are_counted_reported_and_the_node_keeps_serving(monkeypatch):
    monkeypatch.delenv(STRICT_ENVIRONMENT, raising=False)
    with RosProbe(isolated_ros_env()) as probe:
        node = Fragile(context=probe.context)
        probe.executor.add_node(node)
        numbers = probe.node.create_publisher(Int32, 'numbers', 10)
        diagnostics = probe.collect(DiagnosticArray, '/diagnostics', 10)
        client = probe.node.create_client(ReconstructCoherence, 'fragile/reconstruct')
        assert probe.spin_until(lambda: node.count_publishers('numbers'), 20)
        for value in range(6):
            numbers.publish(Int32(data=value))
        counts = node.callback_guard.counts
        assert probe.spin_until(lambda: counts['subscription numbers'] == 3, 20)
        assert node.seen == [0, 2, 4]
        assert probe.spin_until(lambda: counts['timer'] >= 2, 20)  # a timer keeps firing
        assert client.wait_for_service(timeout_sec=20)
        replies = []
        for sec in (1, 2):
            request = ReconstructCoherence.Request()
            request.stamp.sec = sec
            future = client.call_async(request)
            assert probe.spin_until(future.done, 20)
            replies.append(future.result())
        # The raising request still gets an answer (the default), the next one a real one.
        assert [r.known for r in replies] == [False, True]
        assert counts['service fragile/reconstruct'] == 1
        assert probe.spin_until(lambda: any(
            s.name == 'fragile: internal errors' and s.level == b'\x02'
            and 'internal error(s), last: ' in s.message
            for a in diagnostics for s in a.status), 20)
        probe.executor.remove_node(node)
        node.destroy_node()


def test_strict_mode_lets_tests_see_the_exception(monkeypatch):
    monkeypatch.setenv(STRICT_ENVIRONMENT, '1')
    with RosProbe(isolated_ros_env()) as probe:
        node = Fragile(context=probe.context)
        subscription = next(s for s in node.subscriptions if s.topic_name == '/numbers')
        subscription.callback(Int32(data=2))
        with pytest.raises(ValueError, match='odd 3'):
            subscription.callback(Int32(data=3))
        assert node.internal_errors == 1
        node.destroy_node()
