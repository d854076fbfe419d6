"""Helpers of the MQTT tests: a broker per test, paho subscribers, the bridge's arguments."""

import json
import sys
import threading

from becomingone_mqtt_leaf.testing import Mosquitto, mosquitto_binary
from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
import pytest

needs_mosquitto = pytest.mark.skipif(
    mosquitto_binary() is None,
    reason='mosquitto is not installed (Debian package mosquitto; make setup installs it)')


def tls_arguments(broker):
    """ROS arguments that connect a bridge node to the broker's TLS + password listener."""
    return ['-p', 'broker_host:=localhost', '-p', f'broker_port:={broker.tls_port}',
            '-p', f'ca_file:={broker.pki.ca_file}', '-p', f'cert_file:={broker.pki.client_cert}',
            '-p', f'key_file:={broker.pki.client_key}', '-p', f'username:={broker.username}',
            '-p', f'password_file:={broker.password_file}', '-p', 'backoff_max_s:=0.5']


def leaf_command(broker, topic, *extra):
    """Return the leaf's command line: over TLS with the client certificate and the password."""
    return [sys.executable, '-m', 'becomingone_mqtt_leaf.cli', '--broker', 'localhost',
            '--port', str(broker.tls_port), '--topic', topic, '--ca-file', broker.pki.ca_file,
            '--cert-file', broker.pki.client_cert, '--key-file', broker.pki.client_key,
            '--username', broker.username, '--password-file', broker.password_file, *extra]


class Subscriber:
    """A plain paho client (reconnecting on its own) that keeps every message of ``topic``."""

    def __init__(self, port, topic):
        self.messages = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, 1)
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.connect_async('127.0.0.1', port)
        self.client.loop_start()

    def _on_message(self, client, userdata, message):
        with self.lock:
            self.messages.append(message)

    def records(self):
        with self.lock:
            return [json.loads(m.payload) for m in self.messages]

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def publisher(port):
    """Return a connected paho client on the plain listener (the caller disconnects it)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.connect('127.0.0.1', port)
    client.loop_start()
    return client


@pytest.fixture
def broker(tmp_path):
    """Run a mosquitto for one test (plain port and TLS + password port)."""
    with Mosquitto(tmp_path) as running:
        yield running
