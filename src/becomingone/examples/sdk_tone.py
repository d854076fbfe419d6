"""
The README's SDK example as a script: a WAV file into a cell, a tone out, events printed.

    python3 sdk_tone.py [--file tone.wav] [--duration 9.5] [--scale demo]

Runs the cell in process (real nodes: ``ros2 topic echo /sync/state`` sees it), then the same
recording offline, and prints both modes' collapse and release instants.
"""

import argparse

from becomingone import Cell, Microphone, Speaker
from becomingone.apps import recording


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('--file', default=recording('tone.wav'), help='a WAV recording')
    parser.add_argument('--duration', type=float, default=9.5, help='seconds to run')
    parser.add_argument('--scale', default='demo', help='scale preset (mini on a Pi 4)')
    args = parser.parse_args()
    cell = Cell(scale=args.scale)
    cell.add_input(Microphone(file=args.file))
    cell.add_output(Speaker())

    def show(event):
        print(f'{event.kind:8s} {event.stamp_s - cell.origin_s:6.2f} s  '
              f'|T_sync|^2 = {event.coherence:.2f}', flush=True)
    cell.on_collapse(show)
    cell.on_release(show)
    cell.run(duration=args.duration)
    print('offline:')
    for event in cell.offline().events:
        print(f'{event.kind:8s} {event.stamp_s:6.2f} s  |T_sync|^2 = {event.coherence:.2f}')


if __name__ == '__main__':
    main()
