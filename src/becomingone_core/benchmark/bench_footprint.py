"""
Resident memory and CPU of a host, per role, beside a bare rclpy process in the same run.

Starts, one after the other on the same machine and domain: a bare rclpy process (one node
spinning a 10 Hz timer: the floor any ROS 2 Python process pays), then ``becomingone_cell
--role R --sim`` for each role (the whole node set of that role in one process, fed by its
simulated source at 100 Hz; rviz markers and type-description services off, as
``pi_node.launch.py`` runs it), lets each run
``SETTLE_S``, and reads VmRSS and the CPU used over
``MEASURE_S`` from /proc. Prints each figure and its ratio to the bare process.

Then the CPU a whole host takes at real input rates: a ``sim_source`` process publishes
``phase`` at ``--rate`` (1 kHz, one sample per message, as a sensor driver does), and the
``full`` and ``light`` hosts in one process (``becomingone_cell --role R``, no simulated
source of their own) are measured beside one bare rclpy relay process (``bench_cell.py
--relay``: subscribe ``phase``, republish every message), one after the other on that stream.
"""

import argparse
import os
import pathlib
import sys
import tempfile
import time

from becomingone_core.testing.processes import executable, isolated_ros_env, NodeProcess

#: What pi_node.launch.py sets beyond the nodes' defaults on a Pi (its markers and
#: type_description_service arguments).
PI_DEFAULTS = ['--ros-args', '-p', 'markers:=false', '-p', 'start_type_description_service:=false']
SETTLE_S = 6.0
MEASURE_S = 5.0
TICKS = os.sysconf('SC_CLK_TCK')
BARE = """
import rclpy
import rclpy.parameter
rclpy.init()
# The same rclpy settings as the hosts (PI_DEFAULTS): no type-description service.
node = rclpy.create_node('bare', parameter_overrides=[rclpy.parameter.Parameter(
    'start_type_description_service', value=False)])
node.create_timer(0.1, lambda: None)
rclpy.spin(node)
"""


def _rss_mb(pid):
    for line in pathlib.Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f'no VmRSS for {pid}')


def _cpu_s(pid):
    fields = pathlib.Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def measure(command, env):
    with NodeProcess(command, env) as process:
        time.sleep(SETTLE_S)
        assert process.running, process.output()[-2000:]
        pid = process.process.pid
        cpu = _cpu_s(pid)
        time.sleep(MEASURE_S)
        return _rss_mb(pid), 100 * (_cpu_s(pid) - cpu) / MEASURE_S


def cpu_at_input_rate(env, rate_hz):
    """Return ``{name: CPU %}`` of a host per role and of a bare relay at ``rate_hz`` input."""
    relay = [sys.executable, str(pathlib.Path(__file__).with_name('bench_cell.py')), '--relay',
             'phase', 'relayed']
    cell = executable('becomingone_core', 'becomingone_cell')
    runs = {'bare relay': relay, 'host full': [cell, '--role', 'full', *PI_DEFAULTS],
            'host light': [cell, '--role', 'light', *PI_DEFAULTS]}
    source = NodeProcess.run('becomingone_core', 'sim_source', env, ros_arguments=[
        '-p', f'rate_hz:={rate_hz}', '-p', 'frequency_hz:=2.0', '-p', 'snr_db:=10.0'])
    with source:
        return {name: measure(command, env)[1] for name, command in runs.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--rate', type=float, default=1000.0,
                        help='input rate (Hz) of the CPU comparison')
    args = parser.parse_args()
    env = isolated_ros_env()
    env['XDG_STATE_HOME'] = tempfile.mkdtemp(prefix='bench_footprint_')
    cell = executable('becomingone_core', 'becomingone_cell')
    runs = {'bare rclpy': [sys.executable, '-c', BARE]}
    for role in ('full', 'light', 'witness', 'relay'):
        # As pi_node.launch.py runs a role: one process, rviz markers and the type-description
        # services off (its defaults).
        runs[f'role {role}'] = [cell, '--role', role, '--sim', *PI_DEFAULTS]
    results = {name: measure(command, env) for name, command in runs.items()}
    bare_rss, bare_cpu = results['bare rclpy']
    print(f'{"process":14s} {"RSS MB":>8s} {"x bare":>7s} {"CPU %":>7s}')
    for name, (rss, cpu) in results.items():
        print(f'{name:14s} {rss:8.1f} {rss / bare_rss:7.2f} {cpu:7.1f}')
    cpu = cpu_at_input_rate(env, args.rate)
    print(f'\nCPU at {args.rate:g} Hz input (one Phase per sample from a sim_source process):')
    print(f'{"process":14s} {"CPU %":>7s} {"x relay":>8s}')
    for name, share in cpu.items():
        print(f'{name:14s} {share:7.1f} {share / cpu["bare relay"]:8.2f}')


if __name__ == '__main__':
    main()
