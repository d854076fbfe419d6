"""
Run an ASGI app with uvicorn on a thread of its own, with its own event loop (no rclpy).

The ROS executor keeps its thread; the web server never runs on it. The listening socket is
bound before the thread starts, so a port already in use (or a refused address) is an error
at start-up, and port 0 gives a free port (:attr:`WebServer.port`). TLS: a certificate chain
and a key file (PEM); the server then speaks only HTTPS/WSS (TLS 1.2 or newer).
"""

import ipaddress
import socket
import ssl
import threading
import time

import uvicorn

LOOPBACK_HOSTS = ('127.0.0.1', '::1', 'localhost')


def is_loopback(host):
    """Tell whether ``host`` only accepts connections from this machine."""
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WebServer:
    """uvicorn serving ``app`` on ``host:port`` in a daemon thread."""

    def __init__(self, app, host='127.0.0.1', port=8080, certfile='', keyfile='',
                 log_level='warning'):
        if bool(certfile) != bool(keyfile):
            raise ValueError('TLS needs both a certificate file and a key file')
        self.tls = bool(certfile)
        if self.tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(certfile, keyfile)  # fails now, not at the first client
        family = socket.AF_INET6 if ':' in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((host, port))
        except OSError:
            self._socket.close()
            raise
        self._socket.listen(128)
        self.host = host
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app, log_level=log_level, access_log=False, lifespan='off',
            ws='websockets-sansio', ws_max_size=1 << 20, ws_ping_interval=20.0,
            ssl_certfile=certfile or None, ssl_keyfile=keyfile or None,
            ssl_version=ssl.PROTOCOL_TLS_SERVER, timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name='becomingone-api', daemon=True)
        self.error = None

    @property
    def url(self):
        scheme = 'https' if self.tls else 'http'
        host = f'[{self.host}]' if ':' in self.host else self.host
        return f'{scheme}://{host}:{self.port}'

    def start(self, timeout_s=10.0):
        """Start serving; raise RuntimeError if the server is not up within ``timeout_s``."""
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while (not self._server.started and self._thread.is_alive()
               and time.monotonic() < deadline):
            time.sleep(0.01)
        if not self._server.started:
            raise RuntimeError(f'the web server did not start: {self.error}')
        return self

    def _run(self):
        try:
            self._server.run(sockets=[self._socket])
        except Exception as error:  # noqa: B902 - reported by start() and stop()
            self.error = error

    def stop(self, timeout_s=5.0):
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout_s)
        self._socket.close()
