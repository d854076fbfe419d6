"""
A private LAN of Linux network namespaces, so one machine can test a multi-host mesh.

:class:`VirtualLan` creates a "switch" namespace holding a bridge, and one namespace per host
joined to it by a veth pair, with addresses from a private /24 that exist only inside these
namespaces. A host's link can be cut and healed (its switch-side port goes down and up), which
partitions the mesh the way a pulled cable would. Everything is removed on :meth:`close`, also
after a failure half-way through creation; namespaces left by a run that was killed outright
are removed by the next run. Needs root and iproute2's ``ip``.
"""

import os
import re
import secrets
import shutil
import signal
import subprocess

# Namespace names carry the creating process's pid, so leftovers of a killed run can be found.
NAME = re.compile(r'^bo-(?:sw|h\d+)-(\d+)-[0-9a-f]+$')


def unavailable_reason():
    """Return why namespaces cannot be made here, or None when they can."""
    if shutil.which('ip') is None:
        return 'iproute2 ("ip") is not installed'
    if os.geteuid() != 0:
        return 'creating network namespaces needs root'
    return None


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _delete_namespace(namespace):
    """Kill whatever still runs inside ``namespace``, then delete it."""
    pids = subprocess.run(['ip', 'netns', 'pids', namespace], capture_output=True, text=True,
                          timeout=30).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    subprocess.run(['ip', 'netns', 'delete', namespace], capture_output=True, timeout=30)


def sweep_leftovers():
    """Delete namespaces a killed test run left behind (their creator's pid is gone)."""
    listing = subprocess.run(['ip', 'netns', 'list'], capture_output=True, text=True,
                             timeout=30).stdout
    for line in listing.splitlines():
        name = line.split()[0] if line.split() else ''
        match = NAME.match(name)
        if match and not _pid_alive(int(match.group(1))):
            _delete_namespace(name)


def _ip(*arguments, namespace=None):
    command = ['ip', *(['-n', namespace] if namespace else []), *arguments]
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=30)


class VirtualLan:
    """
    ``hosts`` network namespaces on one bridge; use as a context manager.

    With ``multicast=False`` the hosts have no multicast route, as on networks where multicast
    does not work: DDS must then discover by unicast (initial peers or a discovery server).
    """

    def __init__(self, hosts=3, subnet='10.201.0', multicast=True):
        sweep_leftovers()
        tag = f'{os.getpid()}-{secrets.token_hex(2)}'  # unique: parallel runs never collide
        self.switch = f'bo-sw-{tag}'
        self.hosts = [f'bo-h{i}-{tag}' for i in range(hosts)]
        self.addresses = {host: f'{subnet}.{i + 1}' for i, host in enumerate(self.hosts)}
        # The switch has an address too, for a server every host reaches (e.g. DDS discovery).
        self.addresses[self.switch] = f'{subnet}.254'
        self.multicast = multicast
        self._ports = {host: f'sw{i}' for i, host in enumerate(self.hosts)}
        self._created = []
        try:
            self._create()
        except BaseException:
            self.close()
            raise

    def _create(self):
        for namespace in [self.switch, *self.hosts]:
            _ip('netns', 'add', namespace)
            self._created.append(namespace)
            _ip('link', 'set', 'lo', 'up', namespace=namespace)
        _ip('link', 'add', 'br0', 'type', 'bridge', namespace=self.switch)
        _ip('link', 'set', 'br0', 'up', namespace=self.switch)
        _ip('addr', 'add', f'{self.addresses[self.switch]}/24', 'dev', 'br0',
            namespace=self.switch)
        for host in self.hosts:
            port = self._ports[host]
            _ip('link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host,
                namespace=self.switch)
            _ip('link', 'set', port, 'master', 'br0', namespace=self.switch)
            _ip('link', 'set', port, 'up', namespace=self.switch)
            _ip('addr', 'add', f'{self.addresses[host]}/24', 'dev', 'eth0', namespace=host)
            _ip('link', 'set', 'eth0', 'up', 'multicast', 'on' if self.multicast else 'off',
                namespace=host)
            if self.multicast:
                # DDS discovery multicasts to 239.255.0.1: route multicast out of the LAN port.
                _ip('route', 'add', '224.0.0.0/4', 'dev', 'eth0', namespace=host)

    def command(self, host, command):
        """Return ``command`` wrapped to run inside ``host``'s namespace."""
        return ['ip', 'netns', 'exec', host, *command]

    def cut(self, host):
        """Pull ``host``'s cable: its switch port goes down."""
        _ip('link', 'set', self._ports[host], 'down', namespace=self.switch)

    def heal(self, host):
        """Plug ``host``'s cable back in."""
        _ip('link', 'set', self._ports[host], 'up', namespace=self.switch)

    def close(self):
        """Delete every namespace this LAN made, and anything still running in them."""
        for namespace in reversed(self._created):
            _delete_namespace(namespace)  # the veths and the bridge go with them
        self._created.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
