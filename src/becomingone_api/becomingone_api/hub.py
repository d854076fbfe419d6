"""
Hand frames from ROS callbacks to WebSocket clients without letting anyone wait (pure).

ROS callbacks run on the executor's thread, clients are served on the web server's event loop.
:meth:`Hub.publish` is called from the executor: for every subscribed client it appends the
frame to that client's own bounded queue (a full queue drops its *oldest* frame and counts it),
and wakes the client's sender through ``loop.call_soon_threadsafe`` only when the queue was
empty. It never blocks and never touches a socket, so a client that stops reading loses its
own frames and nothing else: the executor and the other clients go on at full rate.

State frames are throttled per client to the rate the client asked for (at most the source
rate); macro witness events, mesh changes and e-stop changes are never throttled.
"""

import collections
import itertools
import threading


class ClientQueue:
    """One client's frames: bounded, drop-oldest, counted, thread-safe."""

    def __init__(self, depth, wake=None, cells=None, rate_hz=10.0, kinds=None):
        self.depth = int(depth)
        self._frames = collections.deque()
        self._lock = threading.Lock()
        self._wake = wake
        self.cells = cells
        self.rate_hz = float(rate_hz)
        self.kinds = kinds
        self.dropped = 0
        self.sent = 0
        self._next_state_s = {}

    def configure(self, cells, rate_hz, kinds):
        with self._lock:
            self.cells, self.rate_hz, self.kinds = cells, float(rate_hz), kinds
            self._next_state_s.clear()

    def wants(self, kind, cell, now_s):
        """Tell whether a frame of ``kind`` from ``cell`` is due for this client now."""
        if self.kinds is not None and kind not in self.kinds:
            return False
        if cell is not None and self.cells is not None and cell not in self.cells:
            return False
        if kind != 'state':
            return True
        period = 1.0 / self.rate_hz
        due = self._next_state_s.get(cell, 0.0)
        # A frame up to a quarter period early is on time: a source at about the client's
        # rate, with jitter, must not be cut to every other frame. The schedule advances by
        # one period per frame, so on average never more than rate_hz, and never bursts after
        # a pause (the next frame is due half a period after this one at the earliest).
        if now_s < due - 0.25 * period:
            return False
        self._next_state_s[cell] = max(due + period, now_s + 0.5 * period)
        return True

    def put(self, frame):
        """Append ``frame``; drop the oldest when full. Return whether the sender was woken."""
        with self._lock:
            was_empty = not self._frames
            if len(self._frames) >= self.depth:
                self._frames.popleft()
                self.dropped += 1
            self._frames.append(frame)
        if was_empty and self._wake is not None:
            self._wake()
            return True
        return False

    def take_all(self):
        """Return every waiting frame (oldest first) and empty the queue."""
        with self._lock:
            frames = list(self._frames)
            self._frames.clear()
        return frames

    def __len__(self):
        return len(self._frames)


class Hub:
    """Every connected client's queue; publish from any thread."""

    def __init__(self, depth=64):
        self.depth = depth
        self._clients = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.published = 0
        self.dropped_closed = 0

    def connect(self, wake=None, **settings):
        """Register a client; return ``(client_id, queue)``."""
        queue = ClientQueue(self.depth, wake, **settings)
        with self._lock:
            client_id = next(self._ids)
            self._clients[client_id] = queue
        return client_id, queue

    def disconnect(self, client_id):
        with self._lock:
            queue = self._clients.pop(client_id, None)
        if queue is not None:
            self.dropped_closed += queue.dropped

    def publish(self, kind, cell, frame, now_s):
        """Offer ``frame`` to every client that wants it; return how many queued it."""
        with self._lock:
            queues = list(self._clients.values())
        self.published += 1
        queued = 0
        for queue in queues:
            if queue.wants(kind, cell, now_s):
                queue.put(frame)
                queued += 1
        return queued

    def stats(self):
        """Return per-client and total counts (for /api/v1/gateway)."""
        with self._lock:
            clients = dict(self._clients)
        return {
            'clients': len(clients),
            'published': self.published,
            'dropped': sum(q.dropped for q in clients.values()) + self.dropped_closed,
            'per_client': [{'id': i, 'queued': len(q), 'sent': q.sent, 'dropped': q.dropped,
                            'rate_hz': q.rate_hz} for i, q in sorted(clients.items())],
        }
