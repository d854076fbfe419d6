"""
Resident memory of ``becomingone run APP`` for each application, beside a bare rclpy process.

    python3 src/becomingone/benchmark/bench_run_memory.py [--seconds 12] [APP ...]

Each application runs on its recorded inputs on a DDS domain of its own (loopback only); the
bare process is ``rclpy.init()`` + one node spinning, measured the same way in the same run.
Printed per process: VmRSS after ``--seconds`` (the steady state) and VmHWM (the peak), in MiB,
and the ratio to the bare process. Linux only (/proc).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

from becomingone.config import resolve
from becomingone_core.testing.processes import isolated_ros_env

BARE = ('import rclpy\nfrom rclpy.executors import SingleThreadedExecutor\nrclpy.init()\n'
        "node = rclpy.create_node('bare')\nexecutor = SingleThreadedExecutor()\n"
        'executor.add_node(node)\nexecutor.spin()\n')


def memory_mib(pid):
    """Return (VmRSS, VmHWM) of process ``pid`` in MiB."""
    values = {}
    with open(f'/proc/{pid}/status') as status:
        for line in status:
            name, _, rest = line.partition(':')
            if name in ('VmRSS', 'VmHWM'):
                values[name] = int(rest.split()[0]) / 1024.0
    return values['VmRSS'], values['VmHWM']


def measure(command, env, seconds):
    """Start ``command``, wait ``seconds``, read its memory, stop it; return the figures."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        time.sleep(seconds)
        if process.poll() is not None:
            raise RuntimeError(f'{command} ended early with {process.returncode}')
        return memory_mib(process.pid)
    finally:
        os.killpg(process.pid, 2)
        process.wait(timeout=20)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('apps', nargs='*', help='applications (default: every one installed)')
    parser.add_argument('--seconds', type=float, default=12.0,
                        help='run time before the reading (default 12 s)')
    args = parser.parse_args(argv)
    apps = args.apps or sorted(resolve.apps())
    with tempfile.TemporaryDirectory(prefix='bench_run_memory_') as state:
        env = isolated_ros_env()
        env['XDG_STATE_HOME'] = state  # the memories' default stores
        rows = [('bare rclpy (1 node)', measure([sys.executable, '-c', BARE], env,
                                                args.seconds))]
        for app in apps:
            plan = resolve.plan(resolve.load(str(resolve.apps()[app])))
            rows.append((f'becomingone run {app} ({len(plan.nodes)} nodes)', measure(
                [sys.executable, '-m', 'becomingone.cli', 'run', app], env, args.seconds)))
    bare = rows[0][1][0]
    print(f'{"process":40s} {"RSS MiB":>8s} {"peak MiB":>9s} {"x bare":>7s}')
    for name, (rss, peak) in rows:
        print(f'{name:40s} {rss:8.1f} {peak:9.1f} {rss / bare:7.2f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
