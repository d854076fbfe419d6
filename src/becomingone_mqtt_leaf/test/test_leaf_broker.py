"""
The leaf's command line against a real Mosquitto.

Plain TCP from stdin; a sine over TLS with a client certificate and a password; a wrong
password delivers nothing and says why.
"""

import json
import os
import subprocess
import sys
import threading

from becomingone_mqtt_leaf.testing import Mosquitto, mosquitto_binary
from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
import pytest

pytestmark = pytest.mark.skipif(
    mosquitto_binary() is None,
    reason='mosquitto is not installed (Debian package mosquitto; make setup installs it)')


@pytest.fixture
def broker(tmp_path):
    with Mosquitto(tmp_path) as running:
        yield running


class Listener:
    def __init__(self, port, topic):
        self.payloads = []
        self.subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, 1)
        self.client.on_subscribe = lambda *args: self.subscribed.set()
        self.client.on_message = lambda c, u, m: self.payloads.append(json.loads(m.payload))
        self.client.connect('127.0.0.1', port)
        self.client.loop_start()
        assert self.subscribed.wait(10)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def _leaf(*arguments, stdin=None):
    return subprocess.run([sys.executable, '-m', 'becomingone_mqtt_leaf.cli', *arguments],
                          input=stdin, capture_output=True, text=True, timeout=60)


def test_stdin_samples_reach_the_broker_in_the_bridge_format(broker):
    listener = Listener(broker.port, 'leaf/plain')
    try:
        done = _leaf('--port', str(broker.port), '--topic', 'leaf/plain', '--qos', '1',
                     '--source', 'stdin', stdin='0.5\nbad\n0.1,0.9\n')
        assert done.returncode == 0, done.stderr
        assert '2 sent' in done.stderr and 'skipped' in done.stderr
        assert _wait(lambda: len(listener.payloads) == 2)
        first, second = listener.payloads
        assert first['value'] == 0.5 and second['values'] == [0.1, 0.9]
        assert first['stamp'] > 1.7e9
    finally:
        listener.close()


def test_a_sine_over_tls_with_certificate_and_password(broker):
    listener = Listener(broker.port, 'leaf/tls')
    tls = ['--port', str(broker.tls_port), '--broker', 'localhost', '--ca-file',
           broker.pki.ca_file, '--cert-file', broker.pki.client_cert, '--key-file',
           broker.pki.client_key, '--username', broker.username]
    try:
        done = _leaf(*tls, '--password-file', broker.password_file, '--topic', 'leaf/tls',
                     '--qos', '1', '--source', 'sine', '--rate', '100', '--count', '50',
                     '--no-stamp')
        assert done.returncode == 0, done.stderr
        assert _wait(lambda: len(listener.payloads) >= 45), (done.stderr, broker.log())
        values = [p['value'] for p in listener.payloads]
        assert all('stamp' not in p for p in listener.payloads)
        assert min(values) >= 0.0 and max(values) <= 1.0 and max(values) - min(values) > 0.5

        wrong = broker.directory / 'wrong.txt'
        wrong.write_text('not the password\n')
        refused = _leaf(*tls, '--password-file', str(wrong), '--topic', 'leaf/tls',
                        '--source', 'sine', '--rate', '100', '--duration', '1.0')
        assert refused.returncode == 0 and 'refused the connection: Not authorized' in \
            refused.stderr, refused.stderr
        assert broker.password not in refused.stderr + refused.stdout
        count = len(listener.payloads)
        assert not _wait(lambda: len(listener.payloads) > count, 0.5)
    finally:
        listener.close()


def _wait(predicate, timeout_s=10.0):
    from time import monotonic, sleep
    deadline = monotonic() + timeout_s
    while not predicate():
        if monotonic() > deadline:
            return False
        sleep(0.02)
    return True


def test_lines_from_a_serial_port_reach_the_broker(broker):
    pytest.importorskip('serial')
    master, slave = os.openpty()
    port = os.ttyname(slave)
    os.close(slave)
    listener = Listener(broker.port, 'leaf/serial')
    leaf = subprocess.Popen([sys.executable, '-m', 'becomingone_mqtt_leaf.cli', '--port',
                             str(broker.port), '--topic', 'leaf/serial', '--qos', '1',
                             '--source', 'serial', '--serial-port', port, '--count', '3'],
                            stderr=subprocess.PIPE, text=True)
    try:
        def sent_and_heard():
            os.write(master, b'0.25\n0.5,0.75\n')
            return _wait(lambda: len(listener.payloads) >= 3, 0.5)
        assert _wait(sent_and_heard, 30), leaf.stderr
        assert {'value': 0.25} in [{'value': p.get('value')} for p in listener.payloads]
        assert any(p.get('values') == [0.5, 0.75] for p in listener.payloads)
        assert leaf.wait(30) == 0
    finally:
        if leaf.poll() is None:
            leaf.kill()
        leaf.wait()
        os.close(master)
        listener.close()
