"""
Property-based, in process: no message on any of the gateway's subscriptions harms it.

Every subscription of the gateway node (found from the node: the cell's states, resonances,
witness, mesh state and the e-stop) gets messages with field values across the whole range the
wire allows (``testing.hostile``); nothing raises (strict callbacks), and afterwards the REST
view of the cell still answers with values in range.
"""

import math

from becomingone_api.nodes.gateway_node import GatewayNode
from becomingone_core.ros.guarded_node import STRICT_ENVIRONMENT
from becomingone_core.testing import hostile
from becomingone_core.testing.processes import isolated_ros_env
from becomingone_core.testing.ros import RosProbe
from gateway_fixture import client, write_tokens
from hypothesis import given, HealthCheck, settings, strategies as st
import pytest
from rclpy.parameter import Parameter

EXAMPLES = settings(max_examples=120, deadline=None, database=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))


@pytest.fixture(autouse=True)
def strict(monkeypatch):
    monkeypatch.setenv(STRICT_ENVIRONMENT, '1')


def _finite(value):
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


def test_no_message_on_any_subscription_harms_the_gateway(tmp_path):
    tokens_file, tokens = write_tokens(str(tmp_path))
    with RosProbe(isolated_ros_env()) as probe:
        node = GatewayNode(context=probe.context, parameter_overrides=[
            Parameter('port', value=0), Parameter('tokens_file', value=tokens_file)])
        try:
            callbacks = [(s.msg_type, s.callback) for s in node.subscriptions]
            assert len(callbacks) >= 6, [s.topic_name for s in node.subscriptions]

            @EXAMPLES
            @given(st.lists(st.one_of([st.tuples(st.just(i), hostile.messages(kind))
                                       for i, (kind, _) in enumerate(callbacks)]),
                            min_size=1, max_size=4))
            def cases(messages):
                for index, message in messages:
                    callbacks[index][1](message)

            cases()
            assert node.internal_errors == 0
            with client(node.server.url, tokens['read']) as http:
                for path in ('/api/v1/cells', '/api/v1/estop'):
                    reply = http.get(path)
                    assert reply.status_code == 200, reply.text
                    assert _finite(reply.json()), reply.text
        finally:
            node.destroy_node()
