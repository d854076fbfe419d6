"""
One connection to an MQTT broker that never gives up and never crashes its owner (no rclpy).

:class:`MqttLink` runs paho's network loop in a thread of its own and reconnects with
:class:`~becomingone_adapters.backoff.Backoff` (paho's own reconnection is switched off: it
waits without jitter and cannot report failed attempts). Every connect subscribes the
link's topics again and republishes the newest retained message of each topic, so a broker
restarted without persistence gets the current state back. :class:`LinkState` counts
reconnects and the time disconnected.

Security settings come from files: TLS CA, client certificate and key, and the password (read
once, never logged, never in a parameter). With TLS the broker's certificate and host name are
always verified.

Messages arrive on the link's thread: ``on_message(topic, payload)`` must only hand them over
(an :class:`~becomingone_adapters.mqtt_inbox.Inbox`), never touch ROS.
"""

from dataclasses import dataclass
import threading
import time

from becomingone_adapters.backoff import Backoff, LinkState
from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

#: Longest password file read (bytes): a password, not a file of anything.
MAX_PASSWORD_BYTES = 1024


@dataclass(frozen=True)
class MqttSettings:
    """Where the broker is and how to log in; files hold everything secret."""

    host: str = 'localhost'
    port: int = 1883
    client_id: str = ''
    keepalive_s: int = 30
    tls: bool = False
    ca_file: str = ''
    cert_file: str = ''
    key_file: str = ''
    username: str = ''
    password_file: str = ''
    backoff_base_s: float = 0.1
    backoff_max_s: float = 10.0
    connect_timeout_s: float = 5.0

    @property
    def uses_tls(self):
        return self.tls or bool(self.ca_file or self.cert_file)

    def __repr__(self):  # the password is in a file; still, never print more than needed
        scheme = 'mqtts' if self.uses_tls else 'mqtt'
        user = f'{self.username}@' if self.username else ''
        return f'MqttSettings({scheme}://{user}{self.host}:{self.port})'


def read_password(path):
    """Return the password held in ``path`` (one line; trailing newline removed)."""
    with open(path, 'rb') as handle:
        data = handle.read(MAX_PASSWORD_BYTES + 1)
    if len(data) > MAX_PASSWORD_BYTES:
        raise ValueError(f'password file {path} is longer than {MAX_PASSWORD_BYTES} bytes')
    return data.decode('utf-8').rstrip('\r\n')


@dataclass
class Traffic:
    """Messages through the link (updated on its thread, read anywhere)."""

    received: int = 0
    published: int = 0
    acknowledged: int = 0
    publish_failures: int = 0


class MqttLink:
    """A paho client on its own thread: connect, subscribe, loop, back off, reconnect."""

    def __init__(self, settings, subscriptions=(), on_message=None, will=None,
                 max_queued=100, clock=time.monotonic, rng=None):
        """
        ``subscriptions``: (topic filter, qos) pairs; ``will``: (topic, payload) or None.

        Raises ``OSError``/``ValueError`` for unreadable password or TLS files, at once.
        """
        self.settings = settings
        self.subscriptions = list(subscriptions)
        self.traffic = Traffic()
        self.clock = clock
        self.state = LinkState(clock())
        self.backoff = Backoff(settings.backoff_base_s, settings.backoff_max_s, rng=rng)
        self._on_message = on_message
        self._retained = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.client = self._make_client(settings, will, max_queued)
        self._thread = threading.Thread(target=self._run, name='mqtt-link', daemon=True)

    def _make_client(self, settings, will, max_queued):
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=settings.client_id,
                             clean_session=True, reconnect_on_failure=False)
        if settings.username:
            password = read_password(settings.password_file) if settings.password_file else None
            client.username_pw_set(settings.username, password)
        if settings.uses_tls:
            # Verification of the broker's certificate and host name stays on.
            client.tls_set(ca_certs=settings.ca_file or None,
                           certfile=settings.cert_file or None,
                           keyfile=settings.key_file or None)
        if will is not None:
            client.will_set(will[0], will[1], qos=1, retain=True)
        client.connect_timeout = settings.connect_timeout_s
        client.max_queued_messages_set(max_queued)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_paho_message
        client.on_publish = self._on_publish
        return client

    # -- owner's side ---------------------------------------------------------------------
    def start(self):
        self._thread.start()
        return self

    @property
    def connected(self):
        return self.state.connected

    def publish(self, topic, payload, qos=1, retain=False):
        """Publish now if connected; return whether paho took the message."""
        if retain:
            with self._lock:
                self._retained[topic] = (payload, qos)
        if not self.state.connected:
            return False
        return self._send(topic, payload, qos, retain)

    def stop(self, timeout_s=3.0):
        """Disconnect and end the thread (waits at most ``timeout_s``)."""
        self._stopping.set()
        try:
            self.client.disconnect()
        except (OSError, ValueError):  # already down
            pass
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def values(self):
        """Return the link's numbers for diagnostics."""
        values = self.state.values(self.clock())
        values.update({'messages_in': float(self.traffic.received),
                       'messages_out': float(self.traffic.published),
                       'acknowledged': float(self.traffic.acknowledged),
                       'publish_failures': float(self.traffic.publish_failures)})
        return values

    # -- the link's thread ----------------------------------------------------------------
    def _run(self):
        s = self.settings
        while not self._stopping.is_set():
            try:
                self.client.connect(s.host, s.port, s.keepalive_s)
            except (OSError, ValueError) as error:  # refused, unreachable, TLS (ssl.SSLError)
                self.state.failed(f'{type(error).__name__}: {error}')
                self._stopping.wait(self.backoff.next_delay())
                continue
            try:
                if not self._stopping.is_set():
                    self.client.loop_forever()  # returns when the connection ends
            except Exception as error:  # noqa: B902 - this thread must live: count, go on
                self.state.failed(f'network loop: {type(error).__name__}: {error}')
                self._close_socket()
            self.state.lost_at(self.clock(), 'connection ended')
            self._stopping.wait(self.backoff.next_delay())

    def _close_socket(self):
        try:
            self.client.disconnect()
        except (OSError, ValueError):
            pass

    def _send(self, topic, payload, qos, retain):
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            self.traffic.publish_failures += 1
            return False
        self.traffic.published += 1
        return True

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:  # e.g. bad user name or password: paho closes the socket
            self.state.failed(f'broker refused: {reason_code}')
            return
        self.state.connected_at(self.clock())
        self.backoff.reset()
        for topic, qos in self.subscriptions:
            client.subscribe(topic, qos)
        with self._lock:
            retained = list(self._retained.items())
        for topic, (payload, qos) in retained:
            self._send(topic, payload, qos, True)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.state.lost_at(self.clock(), f'disconnected: {reason_code}')

    def _on_paho_message(self, client, userdata, message):
        self.traffic.received += 1
        if self._on_message is not None:
            self._on_message(message.topic, message.payload)

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        self.traffic.acknowledged += 1
