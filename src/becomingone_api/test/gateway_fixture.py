"""Start a real cell, its memory and the gateway as processes, with tokens of each scope."""

import os
import re
import secrets

from becomingone_core.testing.processes import isolated_ros_env, NodeProcess, wait_until
import httpx

URL = re.compile(r'gateway for cells .* at (https?://[0-9.:\[\]a-z]+)/api/v1')


def write_tokens(directory):
    """Write a 0600 token file with one token per scope set; return (path, tokens)."""
    tokens = {name: secrets.token_urlsafe(24) for name in ('read', 'input', 'control', 'all')}
    scopes = {'read': 'read', 'input': 'input', 'control': 'control',
              'all': 'read input control'}
    path = os.path.join(directory, 'tokens')
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, 'w') as stream:
        for name, token in tokens.items():
            stream.write(f'{token} {scopes[name]}  # {name}\n')
    return path, tokens


class Gateway:
    """A gateway process; ``url`` once it listens."""

    def __init__(self, env, tokens_file, parameters=()):
        arguments = ['-p', 'port:=0', '-p', f'tokens_file:={tokens_file}', *parameters]
        self.process = NodeProcess.run('becomingone_api', 'gateway', env,
                                       ros_arguments=arguments)
        wait_until(lambda: URL.search(self.process.output()) or not self.process.running, 30)
        match = URL.search(self.process.output())
        assert match, self.process.output()
        self.url = match.group(1)

    def stop(self):
        return self.process.stop()


def start_cell(env, memory_path=None):
    """Start a simulated cell (and its memory when ``memory_path`` is given)."""
    processes = [NodeProcess.run('becomingone_core', 'becomingone_cell', env,
                                 arguments=['--sim', '--scale', 'demo'])]
    if memory_path is not None:
        processes.append(NodeProcess.run('becomingone_core', 'memory', env,
                                         ros_arguments=['-p', f'path:={memory_path}']))
    return processes


def client(url, token=None, **kwargs):
    headers = {'Authorization': f'Bearer {token}'} if token else {}
    return httpx.Client(base_url=url, headers=headers, timeout=10.0, **kwargs)


def env():
    return isolated_ros_env()
