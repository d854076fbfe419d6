"""
``demo``: the cell's demo with the dashboard beside it (what ``make demo`` runs).

    ros2 run becomingone_api demo --duration 20 [--port 8080]

Starts ``becomingone_cell --demo --duration D`` and the gateway (loopback, a fresh all-scope
token in a 0600 file of a temporary directory) as two processes on the caller's ROS domain,
prints the dashboard URL (token in the fragment, never sent to the server) as soon as the
gateway listens, forwards the cell's progress and summary, and stops the gateway when the
cell ends. Exit status: the cell's (0 when collapse -> release -> collapse was seen).
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from becomingone_api import auth

URL = re.compile(r'gateway for cells .* at (https?://[0-9.:\[\]a-z]+)/api/v1')


def executable(package, name):
    from ament_index_python.packages import get_package_prefix
    return os.path.join(get_package_prefix(package), 'lib', package, name)


def _stop(process, deadline_s=10.0):
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGINT)
            process.wait(timeout=deadline_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass
    return process.returncode


def main(argv=None):
    parser = argparse.ArgumentParser(prog='demo', description=__doc__.splitlines()[1])
    parser.add_argument('--duration', type=float, default=20.0, help='seconds of demo')
    parser.add_argument('--port', type=int, default=8080, help='gateway port (0: any free)')
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    directory = tempfile.mkdtemp(prefix='becomingone-demo-')
    tokens = os.path.join(directory, 'tokens')
    token = auth.write_token_file(tokens)
    gateway = subprocess.Popen(
        [executable('becomingone_api', 'gateway'), '--ros-args', '-p', f'port:={args.port}',
         '-p', f'tokens_file:={tokens}'], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True)
    found = threading.Event()
    lines = []

    def watch():
        for line in gateway.stdout:
            lines.append(line)
            match = URL.search(line)
            if match and not found.is_set():
                print(f'dashboard: {match.group(1)}/#token={token}', flush=True)
                found.set()
        found.set()

    threading.Thread(target=watch, daemon=True).start()
    cell = None
    try:
        if not found.wait(30.0) or gateway.poll() is not None:
            sys.stderr.write('the gateway did not start:\n' + ''.join(lines))
            return 2
        cell = subprocess.Popen(
            [executable('becomingone_core', 'becomingone_cell'), '--demo', '--duration',
             f'{args.duration:g}'], stdin=subprocess.DEVNULL, start_new_session=True)
        while cell.poll() is None:
            time.sleep(0.1)
        return cell.returncode
    except KeyboardInterrupt:
        return 130
    finally:
        if cell is not None:
            _stop(cell)
        _stop(gateway)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
