"""
Start ROS 2 executables as real processes and stop them cleanly (no rclpy here).

Each process runs in its own process group so that SIGINT reaches it (and anything it spawned)
the way Ctrl-C would; a process that ignores SIGINT past the deadline gets SIGKILL.
"""

import os
import random
import signal
import socket
import subprocess
import tempfile
import time


#: Where test domains are drawn from; ``BECOMINGONE_TEST_DOMAINS=201-232`` lets a second test
#: run share the machine without meeting the first one's nodes.
DOMAINS_VARIABLE = 'BECOMINGONE_TEST_DOMAINS'


def _test_domain(env):
    low, _, high = env.get(DOMAINS_VARIABLE, '1-200').partition('-')
    return random.randint(int(low), int(high or low))


def isolated_ros_env(base=None, domain_id=None):
    """Return an environment whose DDS traffic stays on this host and on a domain of its own."""
    env = dict(os.environ if base is None else base)
    env['ROS_DOMAIN_ID'] = str(domain_id if domain_id is not None else _test_domain(env))
    env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    env['PYTHONUNBUFFERED'] = '1'
    return env


def executable(package, name):
    """Return the path of a package's executable, as `ros2 run package name` would find it."""
    from ament_index_python.packages import get_package_prefix
    path = os.path.join(get_package_prefix(package), 'lib', package, name)
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f'no executable {name!r} in package {package!r} ({path})')
    return path


class NodeProcess:
    """A ROS 2 executable running in its own process group, with its output kept in a file."""

    def __init__(self, command, env, name=None):
        self.command = list(command)
        self.name = name or os.path.basename(self.command[0])
        self._log = tempfile.TemporaryFile(mode='w+')
        self.process = subprocess.Popen(
            self.command, env=env, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True)

    @classmethod
    def run(cls, package, name, env, arguments=(), ros_arguments=()):
        """Start ``package``'s executable ``name`` with optional ``--ros-args`` arguments."""
        command = [executable(package, name), *arguments]
        if ros_arguments:
            command += ['--ros-args', *ros_arguments]
        return cls(command, env, name=name)

    @property
    def running(self):
        return self.process.poll() is None

    def output(self):
        """Return everything the process printed so far."""
        self._log.flush()
        self._log.seek(0)
        return self._log.read()

    def stop(self, deadline_s=10.0):
        """
        SIGINT the process group, SIGKILL it after ``deadline_s``; return the exit code.

        Before the SIGKILL, SIGUSR1 makes a node (``ros.runner``) print its threads' stacks, so
        the output says what kept it from stopping.
        """
        if self.running:
            self._signal(signal.SIGINT)
            try:
                self.process.wait(timeout=deadline_s)
            except subprocess.TimeoutExpired:
                self.process.send_signal(signal.SIGUSR1)
                try:
                    self.process.wait(timeout=1.0)
                except subprocess.TimeoutExpired:
                    pass
                self._signal(signal.SIGKILL)
                self.process.wait()
        return self.process.returncode

    def kill(self):
        """SIGKILL the process group at once (a crash, as other nodes see it)."""
        if self.running:
            self._signal(signal.SIGKILL)
            self.process.wait()

    def _signal(self, signum):
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        self._log.close()


def free_port(address='127.0.0.1'):
    """Return a TCP port nothing listens on at ``address`` now (for a server a test starts)."""
    with socket.socket() as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]


def wait_until(predicate, timeout_s, poll_s=0.05, on_poll=None):
    """Poll ``predicate`` until it is true or ``timeout_s`` passes; return its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        if on_poll is not None:
            on_poll(poll_s)
        else:
            time.sleep(poll_s)
