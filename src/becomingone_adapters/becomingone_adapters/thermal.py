"""
Linux thermal and hwmon temperatures, and CSV recordings of any scalar, as plain readings.

The kernel exposes temperatures in millidegrees Celsius as text files:
``/sys/class/thermal/thermal_zone*/temp`` and ``/sys/class/hwmon/hwmon*/temp*_input``. A CSV
file with ``time_s,value`` rows (header optional) replays a recording through the same path.
"""

import csv
import glob
import math

from becomingone_core.input_rules import RejectedInput

SYSFS_PATTERNS = ('/sys/class/thermal/thermal_zone*/temp', '/sys/class/hwmon/hwmon*/temp*_input')


def find_sensors():
    """Return every readable kernel temperature file on this machine, sorted."""
    return sorted(path for pattern in SYSFS_PATTERNS for path in glob.glob(pattern))


def read_millidegrees(path):
    """Read one kernel temperature file -> degrees Celsius."""
    with open(path) as handle:
        text = handle.read().strip()
    try:
        return int(text) / 1000.0
    except ValueError as error:
        raise RejectedInput('not_numeric', f'{path}: {text[:20]!r}') from error


class CsvSource:
    """Rows of (time_s, value) from a CSV file, times strictly increasing."""

    def __init__(self, path):
        self.rows = []
        with open(path, newline='') as handle:
            for row in csv.reader(handle):
                if not row or row[0].lstrip().startswith('#'):
                    continue
                try:
                    t, value = float(row[0]), float(row[1])
                except (ValueError, IndexError):
                    if not self.rows:
                        continue  # a header line
                    raise ValueError(f'{path}: bad row {row!r}')
                if not (math.isfinite(t) and (not self.rows or t > self.rows[-1][0])):
                    raise ValueError(f'{path}: times must be finite and increasing at {row!r}')
                self.rows.append((t, value))
        if not self.rows:
            raise ValueError(f'{path}: no data rows')
        self._next = 0

    def due(self, elapsed_s):
        """Return the rows whose time (relative to the first row) is <= ``elapsed_s``."""
        start = self.rows[0][0]
        out = []
        while self._next < len(self.rows) and self.rows[self._next][0] - start <= elapsed_s:
            out.append(self.rows[self._next])
            self._next += 1
        return out

    @property
    def finished(self):
        return self._next >= len(self.rows)
