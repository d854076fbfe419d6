"""
The hand-over from a network or serial thread to the ROS executor (no rclpy).

paho's network loop and the serial reader run in threads of their own; the node must publish
only from its executor. The thread puts what it received into an :class:`Inbox` (bounded: when
full, the oldest entry is dropped and counted, so a flood costs memory no longer than
``capacity`` entries and the newest data wins), and a node timer drains it.
"""

from collections import deque
import threading


class Inbox:
    """A bounded, thread-safe FIFO that drops (and counts) its oldest entry when full."""

    def __init__(self, capacity=1000):
        if capacity < 1:
            raise ValueError('capacity must be >= 1')
        self.capacity = int(capacity)
        self._items = deque()
        self._lock = threading.Lock()
        self.received = 0
        self.dropped = 0

    def put(self, item):
        with self._lock:
            if len(self._items) >= self.capacity:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self.received += 1

    def drain(self, limit=None):
        """Return up to ``limit`` (default: all) entries, oldest first, removing them."""
        with self._lock:
            count = len(self._items) if limit is None else min(limit, len(self._items))
            return [self._items.popleft() for _ in range(count)]

    def __len__(self):
        with self._lock:
            return len(self._items)
