"""
Property-based, in process: no message on any of the motor output's subscriptions harms it.

Every subscription of ``motor_output`` (found from the node) gets messages with field values
across the whole range the wire allows (``testing.hostile``): nothing raises (strict
callbacks), every refusal has a known reason, and a clean released state fed afterwards always
stops the motor: a hostile message can never leave it moving.
"""

from becomingone_adapters.nodes.motor_node import MotorOutput
from becomingone_core.input_rules import REASONS
from becomingone_core.ros.guarded_node import STRICT_ENVIRONMENT
from becomingone_core.testing import hostile
from becomingone_core.testing.processes import isolated_ros_env
from becomingone_core.testing.ros import RosProbe, stamped
from becomingone_msgs.msg import EStopCommand, SyncState
from hypothesis import given, HealthCheck, settings, strategies as st
import pytest
from std_msgs.msg import Empty

EXAMPLES = settings(max_examples=150, deadline=None, database=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))
KNOWN = set(REASONS) | {'unsigned', 'bad_signature', 'wrong_identity', 'not_operator',
                        'replay', 'future', 'too_many_sources', 'untrusted', 'malformed'}


@pytest.fixture(autouse=True)
def strict(monkeypatch):
    monkeypatch.setenv(STRICT_ENVIRONMENT, '1')


def test_no_message_leaves_the_motor_moving_or_raises():
    with RosProbe(isolated_ros_env()) as probe:
        node = MotorOutput(context=probe.context)
        sent = []
        node.publisher.publish = sent.append
        callbacks = {s.topic_name.lstrip('/'): (s.msg_type, s.callback)
                     for s in node.subscriptions}
        kinds = {topic: kind for topic, (kind, _) in callbacks.items()}
        assert set(kinds.values()) == {SyncState, EStopCommand, Empty}, kinds

        def released():
            return stamped(SyncState(sync_real=0.1, coherence=0.01, threshold=0.5), node)

        @EXAMPLES
        @given(st.lists(st.one_of([st.tuples(st.just(topic), hostile.messages(kind))
                                   for topic, kind in sorted(kinds.items())]),
                        min_size=1, max_size=4))
        def cases(messages):
            for topic, message in messages:
                callbacks[topic][1](message)
                node._tick()
            assert set(node.rejections.counts) <= KNOWN, node.rejections.counts
            assert set(node.estop_rejections.counts) <= KNOWN, node.estop_rejections.counts
            callbacks['sync/state'][1](released())
            node._tick()
            assert not sent or (sent[-1].linear.x == 0.0 and sent[-1].angular.z == 0.0)

        cases()
        assert node.internal_errors == 0
        node.destroy_node()
