"""
Every becomingone_msgs message and service crosses real DDS intact.

The test process subscribes (and calls services); a second process, started from this same
file, publishes one deterministic instance of each message and serves each service by echoing
a deterministic response. Every field of every type is filled with a distinct value derived
from its position, so a dropped, truncated or swapped field fails the comparison.
"""

import importlib
import os
import random
import signal
import subprocess
import sys
import time

import pytest

MESSAGES = [
    'Phase', 'Resonance', 'SyncState', 'WitnessRecord', 'PeerState', 'MeshState',
    'TemporalSignature', 'CoherenceBucket', 'MemoryAck', 'EStopCommand', 'WitnessSignature',
]
SERVICES = ['QueryMemory', 'QueryMemoryArrays', 'ReconstructCoherence']
DEADLINE_S = 60.0


def _import_type(qualified, kind='msg'):
    package, name = qualified.split('/')
    return getattr(importlib.import_module(f'{package}.{kind}'), name)


def _value(field_type, seed):
    """Return a distinct, deterministic value of ``field_type`` for ``seed``."""
    if field_type.startswith('sequence<'):
        inner = field_type[len('sequence<'):-1]
        return [_value(inner, seed * 7 + i) for i in range(1 + seed % 3)]
    if field_type in ('double', 'float'):
        return seed * 0.5 + 0.25
    if field_type in ('uint8', 'uint16', 'uint32', 'uint64', 'int32', 'int64'):
        return seed % 250 + 1
    if field_type == 'boolean':
        return seed % 2 == 1
    if field_type == 'string':
        return f'value-{seed}'
    return _filled(_import_type(field_type)(), seed)


def _filled(message, seed):
    for index, (name, field_type) in enumerate(message.get_fields_and_field_types().items()):
        setattr(message, name, _value(field_type, seed * 31 + index))
    return message


def sample_message(name, seed=1):
    from becomingone_msgs import msg
    return _filled(getattr(msg, name)(), seed)


def sample_request(name, seed=2):
    from becomingone_msgs import srv
    return _filled(getattr(srv, name).Request(), seed)


def sample_response(name, seed=3):
    from becomingone_msgs import srv
    return _filled(getattr(srv, name).Response(), seed)


def _topic(name):
    return f'interfaces_test/{name.lower()}'


def run_publisher():
    """Publish each message repeatedly and serve each service until interrupted."""
    import rclpy
    from rclpy.executors import ExternalShutdownException
    from rclpy.qos import QoSDurabilityPolicy, QoSProfile
    from becomingone_msgs import msg, srv

    rclpy.init()
    node = rclpy.create_node('interfaces_publisher')
    qos = QoSProfile(depth=1, durability=QoSDurabilityPolicy.TRANSIENT_LOCAL)
    publishers = [(node.create_publisher(getattr(msg, name), _topic(name), qos),
                   sample_message(name)) for name in MESSAGES]
    services = [node.create_service(
        getattr(srv, name), _topic(name),
        lambda request, response, name=name: sample_response(name))
        for name in SERVICES]

    def publish_all():
        for publisher, message in publishers:
            publisher.publish(message)

    node.create_timer(0.2, publish_all)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        del services
        node.destroy_node()
        rclpy.try_shutdown()


@pytest.fixture
def ros_env():
    env = dict(os.environ)
    env['ROS_DOMAIN_ID'] = str(random.randint(1, 200))
    env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    return env


@pytest.fixture
def publisher_process(ros_env):
    process = subprocess.Popen([sys.executable, __file__], env=ros_env, start_new_session=True)
    yield process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_every_interface_crosses_dds_intact(ros_env, publisher_process):
    import rclpy
    from rclpy.qos import QoSDurabilityPolicy, QoSProfile
    from becomingone_msgs import msg, srv

    context = rclpy.Context()
    rclpy.init(context=context, domain_id=int(ros_env['ROS_DOMAIN_ID']))
    node = rclpy.create_node('interfaces_subscriber', context=context)
    executor = rclpy.executors.SingleThreadedExecutor(context=context)
    executor.add_node(node)
    try:
        received = {}
        qos = QoSProfile(depth=1, durability=QoSDurabilityPolicy.TRANSIENT_LOCAL)
        for name in MESSAGES:
            node.create_subscription(
                getattr(msg, name), _topic(name),
                lambda message, name=name: received.setdefault(name, message), qos)
        deadline = time.monotonic() + DEADLINE_S
        while len(received) < len(MESSAGES) and time.monotonic() < deadline:
            assert publisher_process.poll() is None, 'publisher process died'
            executor.spin_once(timeout_sec=0.1)
        assert sorted(received) == sorted(MESSAGES), 'messages never arrived'
        for name in MESSAGES:
            assert received[name] == sample_message(name), f'{name} changed on the wire'
        # A type whose fields were all default would pass trivially: make sure it was filled.
        assert received['Phase'].real and received['MeshState'].peers

        for name in SERVICES:
            client = node.create_client(getattr(srv, name), _topic(name))
            assert client.wait_for_service(timeout_sec=DEADLINE_S), f'{name} never came up'
            future = client.call_async(sample_request(name))
            executor.spin_until_future_complete(future, timeout_sec=DEADLINE_S)
            assert future.done(), f'{name} call timed out'
            assert future.result() == sample_response(name), f'{name} response changed'
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)


if __name__ == '__main__':
    run_publisher()
