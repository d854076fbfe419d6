"""
Tuning without ROS: sweep the collapse threshold over a recording, offline.

    python3 sdk_offline_tuning.py [--file tone.wav] [--scale demo]

Each line is one threshold: when the cell would collapse and release on this recording, and how
long it would stay collapsed. The offline mode runs the nodes' own Emissary, Master and sync
layer, so a threshold chosen here behaves the same in ``cell.run()`` or ``becomingone run``
(``cell: {sync: {threshold: ...}}``).
"""

import argparse

from becomingone import Cell, Microphone
from becomingone.apps import recording
import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('--file', default=recording('tone.wav'), help='a WAV recording')
    parser.add_argument('--scale', default='demo', help='scale preset')
    args = parser.parse_args()
    print('threshold  collapse   release  collapsed')
    for threshold in (0.3, 0.5, 0.7, 0.9):
        cell = Cell(scale=args.scale, parameters={'sync': {
            'threshold': threshold, 'hysteresis': min(0.1, threshold / 2)}})
        cell.add_input(Microphone(file=args.file))
        run = cell.offline()
        timeline = run.timeline
        collapsed_s = float(np.sum(np.diff(timeline.t)[timeline.collapsed[:-1]]))
        collapse = run.times('collapse')
        release = run.times('release')
        print(f'{threshold:9.2f}  {collapse[0] if collapse else float("nan"):7.2f} s '
              f'{release[0] if release else float("nan"):7.2f} s  {collapsed_s:6.2f} s')


if __name__ == '__main__':
    main()
