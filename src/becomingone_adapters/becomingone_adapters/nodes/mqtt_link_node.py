"""
What the MQTT bridge nodes share: the broker parameters and the link's health in /diagnostics.

The password is never a parameter: ``password_file`` names a file holding it, read once at
start-up and never logged. TLS is on with ``tls`` or whenever ``ca_file`` or ``cert_file`` is
set; the broker's certificate and host name are then always verified.
"""

import os
import socket

from becomingone_adapters.mqtt_link import MqttSettings
from becomingone_core.health import ERROR, OK, Status
from becomingone_core.ros.parameters import declare, ParameterError, require


def declare_mqtt(node, client_prefix):
    """Declare the broker parameters on ``node``; return :class:`MqttSettings`."""
    host = declare(node, 'broker_host', 'localhost', 'MQTT broker host name or address')
    require(bool(host), 'broker_host', 'must not be empty')
    port = declare(node, 'broker_port', 1883, 'MQTT broker port (1883 plain, 8883 TLS usually)',
                   minimum=1, maximum=65535)
    client_id = declare(node, 'client_id', '', 'MQTT client id (empty: '
                        f'{client_prefix}-<host>-<pid>; two clients with one id evict '
                        'each other)')
    settings = MqttSettings(
        host=host, port=port,
        client_id=client_id or f'{client_prefix}-{socket.gethostname()}-{os.getpid()}',
        keepalive_s=declare(node, 'keepalive_s', 30, 'MQTT keepalive: the broker drops a '
                            'silent client after 1.5 times this (s)', minimum=5,
                            maximum=3600),
        tls=declare(node, 'tls', False, 'connect with TLS (also on when ca_file or cert_file '
                    'is set); the broker certificate is always verified'),
        ca_file=_file(node, 'ca_file', 'CA bundle to verify the broker with (empty: system CAs)'),
        cert_file=_file(node, 'cert_file', 'client certificate for TLS client authentication'),
        key_file=_file(node, 'key_file', 'private key of cert_file'),
        username=declare(node, 'username', '', 'MQTT user name (empty: anonymous)'),
        password_file=_file(node, 'password_file', 'file holding the MQTT password (the '
                            'password itself is never a parameter and never logged)'),
        backoff_base_s=declare(node, 'backoff_base_s', 0.1, 'first wait before reconnecting, '
                               'doubling on each failure (s)', minimum=0.01, maximum=60.0),
        backoff_max_s=declare(node, 'backoff_max_s', 10.0, 'longest wait before reconnecting '
                              '(s)', minimum=0.01, maximum=3600.0),
        connect_timeout_s=declare(node, 'connect_timeout_s', 5.0, 'TCP and TLS connect '
                                  'timeout (s)', minimum=0.1, maximum=120.0))
    require(settings.backoff_base_s <= settings.backoff_max_s, 'backoff_max_s',
            f'must be >= backoff_base_s ({settings.backoff_base_s})')
    require(not settings.key_file or bool(settings.cert_file), 'key_file',
            'needs cert_file as well')
    require(not settings.password_file or bool(settings.username), 'password_file',
            'needs username as well')
    return settings


def _file(node, name, description):
    path = declare(node, name, '', description)
    if path and not os.access(path, os.R_OK):
        raise ParameterError(f'parameter {name!r}: cannot read {path}')
    return path


def link_status(link, what):
    """Return the :class:`Status` of a link (MQTT or serial): connected, reconnects, gap."""
    values = link.values()
    error = link.state.last_error
    if link.connected:
        return Status(OK, f'{what} connected; {values["reconnects"]:.0f} reconnects, '
                      f'{values["gap_s"]:.1f} s disconnected in total', values)
    return Status(ERROR, f'{what} down for {values["down_for_s"]:.1f} s'
                  + (f' (last error: {error})' if error else ''), values)
