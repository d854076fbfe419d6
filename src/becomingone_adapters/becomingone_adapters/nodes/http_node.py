"""
HTTP API: POST {node, stamp, coherence, phase, collapsed} to ``url`` while the cell is collapsed.

Posting happens on a worker thread (see :mod:`becomingone_adapters.http_post`); the ROS callback
only queues. One record is posted per accepted sync state while collapsed (at most
``max_rate_hz``), and one more (``collapsed: false``) on release or when the sync state goes
stale, so the receiver sees the end.

A lifecycle node: configure reads the parameters (a bad ``url``, token file or
``security_dir`` leaves it unconfigured with the reason logged, still running) and starts the
poster; records are posted only while active, and deactivating it while collapsed posts the
closing ``collapsed: false`` record. ``autostart`` (default true) configures and activates it
at start-up.
"""

from becomingone_adapters.http_post import HttpPoster, load_token, record
from becomingone_adapters.nodes.output_node import ManagedOutputNode
from becomingone_core.health import OK, Status, WARN
from becomingone_core.ros.parameters import declare, ParameterError, require
from becomingone_core.ros.runner import main_for
from becomingone_core.ros.stamps import seconds


class HttpOutput(ManagedOutputNode):

    def __init__(self, **kwargs):
        self.poster = None
        super().__init__('http_output', **kwargs)
        self.start()

    def configure_output(self):
        url = declare(self, 'url', '', 'endpoint receiving the JSON records (http/https)')
        require(url.startswith(('http://', 'https://')), 'url',
                f'must be an http:// or https:// URL, got {url!r}')
        self.node_name = declare(self, 'node_name', '', 'the "node" field of every record '
                                 '(empty: the namespace, else the node name)')
        self.node_name = self.node_name or self.get_namespace().strip('/') or self.get_name()
        token_file = declare(self, 'token_file', '', 'file holding a bearer token (optional)')
        token_env = declare(self, 'token_env', '',
                            'environment variable holding a bearer token (optional)')
        self.max_rate_hz = declare(self, 'max_rate_hz', 5.0, 'records posted per second at most',
                                   minimum=0.01, maximum=1000.0)
        try:
            token = load_token(token_file, token_env)
        except OSError as error:
            raise ParameterError(f"parameter 'token_file': {error.strerror}") from error
        self.poster = HttpPoster(
            url,
            timeout_s=declare(self, 'timeout_s', 2.0, 'per-request timeout (s)', minimum=0.01,
                              maximum=120.0),
            retries=declare(self, 'retries', 3, 'retries after a failed post', minimum=0,
                            maximum=20),
            backoff_base_s=declare(self, 'backoff_base_s', 0.2,
                                   'first retry wait, doubling each retry (s)', minimum=0.0,
                                   maximum=60.0),
            backoff_max_s=declare(self, 'backoff_max_s', 5.0, 'longest retry wait (s)',
                                  minimum=0.0, maximum=600.0),
            queue_size=declare(self, 'queue_size', 100,
                               'records waiting at most; the oldest is dropped and counted',
                               minimum=1, maximum=100000),
            token=token,
            ca_file=declare(self, 'ca_file', '',
                            'CA bundle to verify the server with (empty: system CAs); TLS '
                            'verification is always on'))
        self.last_post_s = None
        self.was_open = False
        self.diagnostics.add('http', self._http_status)
        self.create_timer(self.gate.watchdog_s / 2.0, self._check_watchdog)
        self.get_logger().info(f'posting to {url} ' + ('with' if token else 'without') +
                               ' a bearer token')

    def activate_node(self):
        self.last_post_s = None
        self.was_open = False

    def deactivate_node(self):
        if self.was_open:  # the receiver sees the end
            self.was_open = False
            self._submit(self.now_s(), False)

    def on_sync(self, message):
        if not self.is_active:
            return
        now = self.now_s()
        is_open = self.gate.is_open(now)
        released = self.was_open and not is_open
        self.was_open = is_open
        if not (is_open or released):
            return
        if (is_open and self.last_post_s is not None
                and now - self.last_post_s < 1.0 / self.max_rate_hz):
            return
        self.last_post_s = now
        self._submit(seconds(message.header.stamp), self.gate.collapsed)

    def _check_watchdog(self):
        # A cell that falls silent while collapsed is released too: tell the receiver.
        if self.is_active and self.was_open and not self.gate.is_open(self.now_s()):
            self.was_open = False
            self._submit(self.now_s(), False)

    def _submit(self, stamp_s, collapsed):
        self.poster.submit(record(self.node_name, stamp_s, self.gate.coherence,
                                  self.gate.t_sync, collapsed))

    def _http_status(self):
        c = self.poster.counters
        values = {'submitted': float(c.submitted), 'sent': float(c.sent),
                  'failed': float(c.failed), 'retries': float(c.retries),
                  'dropped': float(c.dropped), 'queued': float(self.poster.queued)}
        if c.failed or c.dropped:
            return Status(WARN, f'{c.failed} failed, {c.dropped} dropped '
                          f'(last error: {c.last_error or "none"})', values)
        return Status(OK, f'{c.sent} records sent', values)

    def cleanup_node(self):
        if self.poster is not None:
            self.poster.close()
            self.poster = None


main = main_for(HttpOutput)
