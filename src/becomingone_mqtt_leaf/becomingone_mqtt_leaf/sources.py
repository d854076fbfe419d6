"""
Where the leaf's samples come from: a sine, a CSV recording, stdin, a serial port.

Each source is an iterator of ``(stamp_s, values)``: ``stamp_s`` on this host's wall clock,
``values`` a list of floats. Generated and replayed sources pace themselves in real time, so
the broker sees the rhythm the signal has; line sources yield as lines arrive. A bad line is
skipped and counted in ``skipped`` (a sensor glitch must not end the leaf).
"""

import csv
import math
import sys
import time

from becomingone_mqtt_leaf.payload import BadSample, parse_line


class Pacer:
    """Sleeps until each tick of a fixed-rate schedule (never drifting, never bursting)."""

    def __init__(self, rate_hz, clock=time.monotonic, sleep=time.sleep):
        if not rate_hz > 0:
            raise ValueError('rate must be > 0')
        self.period = 1.0 / rate_hz
        self.clock = clock
        self.sleep = sleep
        self._next = None

    def wait(self):
        now = self.clock()
        if self._next is None or now - self._next > self.period:  # late: restart the grid
            self._next = now
        elif self._next > now:
            self.sleep(self._next - now)
        self._next += self.period


def sine(frequency_hz=2.0, rate_hz=50.0, amplitude=0.5, offset=0.5, count=0,
         wall=time.time, pacer=None):
    """``offset + amplitude * sin(2 pi f t)`` at ``rate_hz``; ``count`` samples (0: forever)."""
    pacer = pacer or Pacer(rate_hz)
    start = wall()
    n = 0
    while not count or n < count:
        pacer.wait()
        now = wall()
        yield now, [offset + amplitude * math.sin(2.0 * math.pi * frequency_hz * (now - start))]
        n += 1


class LineSource:
    """Lines of numbers (``0.5`` or ``0.5,1``) from a text stream, stamped on arrival."""

    def __init__(self, lines, wall=time.time):
        self.lines = lines
        self.wall = wall
        self.skipped = 0

    def __iter__(self):
        for line in self.lines:
            try:
                values = parse_line(line)
            except BadSample as error:
                self.skipped += 1
                print(f'becomingone-leaf: skipped a line: {error}', file=sys.stderr)
                continue
            yield self.wall(), values


def stdin_source():
    return LineSource(sys.stdin)


def serial_lines(port, baudrate=115200):
    """Yield the lines a serial port sends (pyserial, imported only for this source)."""
    import serial  # noqa: I100 - optional: only this source needs pyserial
    with serial.serial_for_url(port, baudrate=baudrate, timeout=1.0) as handle:
        while True:
            line = handle.readline()
            if line:
                yield line


def csv_recording(path, loop=False, wall=time.time, clock=time.monotonic, sleep=time.sleep):
    """
    Replay ``time_s,value[,value...]`` rows in real time (header and ``#`` comments skipped).

    Times must increase; each row is sent when its time (from the first row) has passed.
    """
    rows = _read_csv(path)
    while True:
        start = clock()
        for t, values in rows:
            delay = (t - rows[0][0]) - (clock() - start)
            if delay > 0:
                sleep(delay)
            yield wall(), values
        if not loop:
            return


def _read_csv(path):
    rows = []
    with open(path, newline='') as handle:
        for row in csv.reader(handle):
            if not row or row[0].lstrip().startswith('#'):
                continue
            try:
                t, values = float(row[0]), [float(v) for v in row[1:]]
            except ValueError:
                if not rows:
                    continue  # a header
                raise ValueError(f'{path}: bad row {row!r}') from None
            if not values or not all(math.isfinite(v) for v in [t, *values]):
                raise ValueError(f'{path}: need finite time and values in {row!r}')
            if rows and t <= rows[-1][0]:
                raise ValueError(f'{path}: times must increase at {row!r}')
            rows.append((t, values))
    if not rows:
        raise ValueError(f'{path}: no data rows')
    return rows
