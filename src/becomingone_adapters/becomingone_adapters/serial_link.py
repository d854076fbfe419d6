"""
A serial port read line by line on a thread of its own, reopened when it goes away (no rclpy).

A USB serial adapter unplugged, a board reset or a closed pseudo-terminal makes reads fail;
:class:`SerialLink` closes the port, counts the loss in its
:class:`~becomingone_adapters.backoff.LinkState`, waits (:class:`Backoff`) and opens the
port again, for as long as it runs: a missing port is retried, never an exit. Opening goes
through pyserial's ``serial_for_url``, so a device path, a udev symlink or a pyserial URL
(``socket://host:port``, ``loop://``) all work.

Lines arrive on the link's thread: ``on_line(line)`` must only hand them over (an
:class:`~becomingone_adapters.mqtt_inbox.Inbox`), never touch ROS.
"""

import threading
import time

from becomingone_adapters.backoff import Backoff, LinkState
from becomingone_adapters.serial_framing import LineFramer
import serial

#: Bytes asked for per read; a read returns sooner with whatever came within ``READ_TIMEOUT_S``.
READ_SIZE = 4096
#: How long one read waits (s): also how soon ``stop()`` is noticed.
READ_TIMEOUT_S = 0.1


class SerialLink:
    """Read ``port`` at ``baudrate``, frame lines, hand each to ``on_line``; reopen on loss."""

    def __init__(self, port, on_line, baudrate=115200, max_line_bytes=4096,
                 backoff_base_s=0.1, backoff_max_s=5.0, clock=time.monotonic, rng=None):
        self.port = port
        self.baudrate = int(baudrate)
        self.on_line = on_line
        self.framer = LineFramer(max_line_bytes)
        self.clock = clock
        self.state = LinkState(clock())
        self.backoff = Backoff(backoff_base_s, backoff_max_s, rng=rng)
        self.lines = 0
        self.bytes = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name='serial-link', daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self, timeout_s=2.0):
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    @property
    def connected(self):
        return self.state.connected

    def values(self):
        values = self.state.values(self.clock())
        values.update({'lines_in': float(self.lines), 'bytes_in': float(self.bytes),
                       'rejected_too_long_lines': float(self.framer.too_long)})
        return values

    def _run(self):
        while not self._stopping.is_set():
            try:
                port = serial.serial_for_url(self.port, baudrate=self.baudrate,
                                             timeout=READ_TIMEOUT_S)
            except (serial.SerialException, OSError, ValueError) as error:
                self.state.failed(f'open {self.port}: {error}')
                self._stopping.wait(self.backoff.next_delay())
                continue
            self.state.connected_at(self.clock())
            self.backoff.reset()
            self.framer.reset()
            try:
                self._read(port)
            except (serial.SerialException, OSError) as error:
                self.state.lost_at(self.clock(), f'{type(error).__name__}: {error}')
            finally:
                port.close()
            self.state.lost_at(self.clock(), 'closed')
            self._stopping.wait(self.backoff.next_delay())

    def _read(self, port):
        while not self._stopping.is_set():
            data = port.read(READ_SIZE)
            if not data:
                continue
            self.bytes += len(data)
            for line in self.framer.feed(data):
                self.lines += 1
                self.on_line(line)
