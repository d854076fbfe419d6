"""
A cell inside a program: ``start()`` / ``stop()`` around your own loop, callbacks as decorators.

    python3 sdk_in_a_program.py

The robot application's recorded IMU drives a cell in the background; the program goes on with
its own work and reads ``cell.collapsed`` when it wants; a callback counts the collapses (it
runs on the cell's executor thread: keep it short).
"""

import time

from becomingone import Cell, Imu, Lock, Motor
from becomingone.apps import recording


def main():
    cell = Cell(scale='demo', namespace='/sdk_example')
    cell.add_input(Imu(file=recording('robot_imu.csv')))
    cell.add_output(Motor())  # /sdk_example/cmd_vel, non-zero only while collapsed
    cell.add_output(Lock())   # /sdk_example/lock for twist_mux
    collapses = []

    @cell.on_collapse
    def count(event):
        collapses.append(event.stamp_s)

    with cell:  # start() ... stop()
        for second in range(10):
            time.sleep(1.0)  # the program's own work
            print(f'{second + 1:2d} s: {"COLLAPSED" if cell.collapsed else "released"}',
                  flush=True)
    print(f'{len(collapses)} collapse(s); events: {[e.kind for e in cell.events]}')


if __name__ == '__main__':
    main()
