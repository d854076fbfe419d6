"""
Recorded inputs as arrays (no rclpy): the rows the replay nodes publish, and their phase.

A recording is a CSV file with a header, ``time_s`` first (strictly increasing), then one column
per value (``value``; ``gx,gy,gz,ax,ay,az`` for an IMU; ``token,confidence`` for a token
stream). Offline, the same adapter encodings the nodes use turn the rows into phase, at the
times the replay would stamp them (seconds from the first row).
"""

import csv
import math

import numpy as np


class Recording:
    """The rows of one CSV recording: times from 0 and named columns (strings kept as such)."""

    def __init__(self, path, columns):
        self.path = str(path)
        self.columns = tuple(columns)
        times, rows = [], []
        with open(path, newline='') as handle:
            reader = csv.DictReader(row for row in handle if not row.lstrip().startswith('#'))
            missing = [c for c in ('time_s', *self.columns) if c not in (reader.fieldnames or ())]
            if missing:
                raise ValueError(f'{path}: missing column(s) {missing}')
            for row in reader:
                t = float(row['time_s'])
                if not math.isfinite(t) or (times and t <= times[-1]):
                    raise ValueError(f'{path}: times must be finite and increasing at {t!r}')
                times.append(t)
                rows.append(tuple(row[c] for c in self.columns))
        if not times:
            raise ValueError(f'{path}: no data rows')
        self.t = np.asarray(times) - times[0]
        self.rows = rows

    def numbers(self):
        """Return the columns as an (N, C) float array."""
        return np.asarray(self.rows, dtype=float).reshape(len(self.rows), len(self.columns))

    @property
    def duration_s(self):
        return float(self.t[-1])


def write_recording(path, t, columns):
    """Write ``columns`` (name -> sequence, one value per time) as a recording CSV."""
    names = list(columns)
    with open(path, 'w', newline='') as handle:
        writer = csv.writer(handle)
        writer.writerow(['time_s', *names])
        for i, stamp in enumerate(t):
            values = [columns[name][i] for name in names]
            writer.writerow([f'{stamp:.4f}'] + [v if isinstance(v, str) else f'{v:.6g}'
                                                for v in values])


def stack(encoded):
    """Stack per-row encodings (each (1, C)) into one (N, C) complex array."""
    return np.concatenate([np.asarray(e, complex).reshape(1, -1) for e in encoded])
