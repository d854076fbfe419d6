"""A loopback HTTP server for the HTTP output tests: ok, slow, 500 or down."""

import http.server
import json
import threading
import time


class _Handler(http.server.BaseHTTPRequestHandler):

    def do_POST(self):  # noqa: N802 - the name http.server calls
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        server = self.server
        with server.lock:
            server.requests.append((json.loads(body), self.headers.get('Authorization')))
        if server.mode == 'slow':
            time.sleep(server.delay_s)
        status = 500 if server.mode == '500' else 200
        self.send_response(status)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *args):
        pass


class LoopbackServer(http.server.ThreadingHTTPServer):
    """Serves on 127.0.0.1 (a free port) in a thread; ``mode`` can change while it runs."""

    daemon_threads = True

    def __init__(self, mode='ok', delay_s=1.0):
        super().__init__(('127.0.0.1', 0), _Handler)
        self.mode = mode
        self.delay_s = delay_s
        self.requests = []
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self):
        return f'http://127.0.0.1:{self.server_address[1]}/coherence'

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


def closed_port_url():
    """Return a loopback URL nobody listens on (the 'down' server)."""
    with LoopbackServer() as server:
        url = server.url
    return url
