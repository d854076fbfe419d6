"""
Post coherence records to an HTTP endpoint from a worker thread, never blocking the caller.

``submit()`` only appends to a bounded queue (the oldest record is dropped and counted when it
is full) and returns. A worker thread sends each record with httpx: TLS verification on, a
timeout, and retries with exponential backoff on connection errors, timeouts and 5xx/429
answers. A bearer token is read from a file or an environment variable and never logged or put
in any message.
"""

from collections import deque
from dataclasses import dataclass
import os
import threading

import httpx


def load_token(token_file='', token_env=''):
    """Return the bearer token from ``token_file`` (preferred) or env ``token_env``, or ''."""
    if token_file:
        with open(token_file) as handle:
            return handle.read().strip()
    if token_env:
        return os.environ.get(token_env, '').strip()
    return ''


def backoff_delays(retries, base_s, max_s):
    """Return the waits before each retry: base, 2 base, 4 base, ... capped at ``max_s``."""
    return [min(max_s, base_s * 2.0 ** attempt) for attempt in range(retries)]


def record(node, stamp_s, coherence, t_sync, collapsed):
    """Return the JSON body the API receives."""
    return {'node': node, 'stamp': stamp_s, 'coherence': coherence,
            'phase': {'real': t_sync.real, 'imag': t_sync.imag}, 'collapsed': bool(collapsed)}


@dataclass
class PostCounters:
    submitted: int = 0
    sent: int = 0
    failed: int = 0
    retries: int = 0
    dropped: int = 0
    last_error: str = ''


class HttpPoster:
    """A bounded queue drained by one worker thread that POSTs JSON with retries."""

    def __init__(self, url, *, timeout_s=2.0, retries=3, backoff_base_s=0.2, backoff_max_s=5.0,
                 queue_size=100, token='', ca_file='', transport=None):
        if not url.startswith(('http://', 'https://')):
            raise ValueError('url must start with http:// or https://')
        if queue_size < 1:
            raise ValueError('queue_size must be >= 1')
        self.url = url
        self.delays = backoff_delays(retries, backoff_base_s, backoff_max_s)
        self.counters = PostCounters()
        self._queue = deque()
        self._queue_size = queue_size
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        headers = {'Authorization': f'Bearer {token}'} if token else {}
        self._client = httpx.Client(timeout=timeout_s, headers=headers,
                                    verify=ca_file or True, transport=transport)
        self._worker = threading.Thread(target=self._run, name='http-poster', daemon=True)
        self._worker.start()

    @property
    def queued(self):
        with self._lock:
            return len(self._queue)

    def submit(self, body):
        """Queue ``body`` for posting; drop (and count) the oldest record if the queue is full."""
        with self._lock:
            if len(self._queue) >= self._queue_size:
                self._queue.popleft()
                self.counters.dropped += 1
            self._queue.append(body)
            self.counters.submitted += 1
            self._lock.notify()

    def close(self, timeout_s=2.0):
        """Stop the worker (abandoning queued records) and close the client."""
        self._stopping.set()
        with self._lock:
            self._lock.notify()
        self._worker.join(timeout_s)
        self._client.close()

    def _run(self):
        while not self._stopping.is_set():
            with self._lock:
                while not self._queue and not self._stopping.is_set():
                    self._lock.wait()
                if self._stopping.is_set():
                    return
                body = self._queue.popleft()
            self._send(body)

    def _send(self, body):
        for attempt in range(len(self.delays) + 1):
            if attempt:
                self.counters.retries += 1
                if self._stopping.wait(self.delays[attempt - 1]):
                    return
            try:
                response = self._client.post(self.url, json=body)
            except httpx.HTTPError as error:
                self.counters.last_error = type(error).__name__
                continue
            if response.status_code < 300:
                self.counters.sent += 1
                return
            self.counters.last_error = f'HTTP {response.status_code}'
            if response.status_code < 500 and response.status_code != 429:
                break  # the request itself is wrong: retrying will not help
        self.counters.failed += 1
