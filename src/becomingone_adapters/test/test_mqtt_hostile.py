"""
Hostile MQTT input through a real Mosquitto into ``mqtt_to_phase``.

Every bad payload is a counted rejection by reason, a flood is shed (rate limit, bounded
queue) and good samples still pass afterwards; a refused login is retried and counted, the
password never logged; bad broker parameters stop the node with status 2. Nothing crashes.
"""

import json
import time

from adapter_under_test import Adapter
from becomingone_core.testing.processes import isolated_ros_env, NodeProcess
import mqtt_testing
from mqtt_testing import needs_mosquitto, publisher
import pytest

pytestmark = needs_mosquitto
broker = mqtt_testing.broker

TOPIC = 'becomingone/hostile/phase'

HOSTILE = {
    'too_long': [b'0.5,' * 300_000],                       # 1.2 MB
    'not_text': [b'\xff\xfe0.5', b'0.5\x00'],
    'non_finite': [b'nan', b'-inf', b'1e999', b'{"value": NaN}', b'{"values": [0.1, 1e999]}'],
    'out_of_range': [b'{"value": 99999999999999999999999}'],
    'bad_json': [b'{"value": ', b'{"value": ' + b'[' * 3000, b'{"other": 1}',
                 b'{"value": 1, "values": [1]}', b'[0.5]'],
    'bad_stamp': [b'{"value": 0.5, "stamp": -1}', b'{"value": 0.5, "stamp": 1e30}',
                  b'{"value": 0.5, "stamp": "now"}',
                  b'{"value": 0.5, "stamp": 99999999999999999999999}'],
    'not_numeric': [b'abc', b'0x10', b'{"value": true}', b'{"value": "0.5"}', b'1_000'],
    'empty': [b'', b'   ', b'{"values": []}'],
    'too_large': [','.join(['0.5'] * 100).encode()],      # more than max_channels (64)
    'future_stamp': [json.dumps({'value': 0.5, 'stamp': time.time() + 3600}).encode()],
}


def test_hostile_payloads_are_counted_by_reason_and_good_ones_still_pass(broker):
    node = Adapter('mqtt_to_phase', ['-p', f'broker_port:={broker.port}',
                                     '-p', f'topics:=[{TOPIC}]', '-p', 'queue_size:=500'])
    client = publisher(broker.port)
    try:
        assert node.probe.spin_until(lambda: node.values('mqtt').get('connected') == 1.0, 30), \
            node.node.output()
        node.wait_for_path(lambda: client.publish(TOPIC, b'0.5', qos=1))
        for payloads in HOSTILE.values():
            for payload in payloads:
                client.publish(TOPIC, payload, qos=1).wait_for_publish(5)

        def counted():
            values = node.values('input')
            return all(values.get(f'rejected_{reason}', 0) >= len(payloads)
                       for reason, payloads in HOSTILE.items())
        assert node.probe.spin_until(counted, 30), (node.values('input'), node.node.output())

        # A flood: 5000 samples as fast as paho sends them. Shed, counted, never a stall.
        for _ in range(5000):
            client.publish(TOPIC, b'0.25')
        assert node.probe.spin_until(
            lambda: node.values('input').get('rejected_rate_limited', 0)
            + node.values('input').get('rejected_queue_full', 0) > 1000, 30), node.values('input')

        # Good samples still pass afterwards, and nothing crashed.
        heard = len(node.phases)
        node.wait_for_path(lambda: client.publish(TOPIC, '{"values": [0.1, 0.9]}'),
                           lambda: any(p.channels == 2 for p in node.phases[heard:]))
        assert node.node.running
        assert node.values('internal errors').get('internal_error') == 0.0
    finally:
        client.disconnect()
        client.loop_stop()
        node.close()


def test_a_refused_login_is_retried_counted_and_never_logs_the_password(broker):
    wrong = broker.directory / 'wrong-password.txt'
    wrong.write_text('an-invalid-password-0c9d\n')
    node = Adapter('mqtt_to_phase', [
        '-p', 'broker_host:=localhost', '-p', f'broker_port:={broker.tls_port}',
        '-p', f'ca_file:={broker.pki.ca_file}', '-p', f'cert_file:={broker.pki.client_cert}',
        '-p', f'key_file:={broker.pki.client_key}', '-p', f'username:={broker.username}',
        '-p', f'password_file:={wrong}', '-p', 'backoff_max_s:=0.2'])
    try:
        def refused_again_and_again():
            values = node.values('mqtt')
            return values.get('connect_failures', 0) >= 3 and values.get('connected') == 0.0
        assert node.probe.spin_until(refused_again_and_again, 30), node.node.output()
        status = next(s for a in reversed(node.diagnostics) for s in a.status
                      if s.name.endswith(': mqtt'))
        assert 'Not authorized' in status.message and status.level == b'\x02'
        assert node.node.running
        assert 'an-invalid-password' not in node.node.output()
    finally:
        node.close()


@pytest.mark.parametrize('arguments, named', [
    (['-p', 'password_file:=/nonexistent/password'], 'password_file'),
    (['-p', 'username:=u', '-p', 'ca_file:=/nonexistent/ca.pem'], 'ca_file'),
    (['-p', 'backoff_base_s:=5.0', '-p', 'backoff_max_s:=1.0'], 'backoff_max_s'),
    (['-p', 'topics:=[""]'], 'topics'),
])
def test_bad_broker_parameters_stop_the_node_with_status_2(arguments, named):
    with NodeProcess.run('becomingone_adapters', 'mqtt_to_phase', isolated_ros_env(),
                         ros_arguments=arguments) as node:
        assert node.process.wait(60) == 2, node.output()
        assert named in node.output()
