"""
Running an application end to end for its test: ``becomingone run --config FILE`` for real.

The run is a real process (its own process group, SIGINT then SIGKILL), on a DDS domain of its
own; the test watches the host's topics with a :class:`RosProbe` and keeps, for every message,
the time it arrived, and when the probe saw the cell collapse and release.
"""

import shutil
import sys
import time

from becomingone.config import registry
from becomingone.config.resolve import apps
from becomingone_core.testing.processes import isolated_ros_env, NodeProcess
from becomingone_core.testing.ros import latched_qos, RosProbe
from becomingone_msgs.msg import SyncState
import pytest
import yaml


def becomingone_command():
    """Return the ``becomingone`` command: the console script, else the same entry point."""
    script = shutil.which('becomingone')
    if script:
        return [script]
    return [sys.executable, '-c', 'from becomingone.cli import console_main; console_main()']


def require_kinds(*names):
    """Skip, naming them, unless every adapter kind the app uses is registered."""
    known = {**registry.available('input'), **registry.available('output')}
    missing = [name for name in names if name not in known]
    if missing:
        pytest.skip(f'becomingone.config.registry has no kind {", ".join(missing)} yet')


def app_config(app, tmp_path, change=None):
    """Write the app's starter config (``change(data)`` may edit it) to ``tmp_path``."""
    data = yaml.safe_load(apps()[app].read_text())
    if change is not None:
        change(data)
    path = tmp_path / f'{app}.yaml'
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


class Observed:
    """Messages of one topic, each with the (monotonic) time it arrived."""

    def __init__(self):
        self.items = []  # (arrival_s, message)

    def __call__(self, message):
        self.items.append((time.monotonic(), message))

    @property
    def messages(self):
        return [message for _, message in self.items]


class AppRun:
    """``becomingone run --config FILE`` in a process, watched over DDS in this one."""

    def __init__(self, config_path, namespace, tmp_path):
        self.env = isolated_ros_env()
        self.env['XDG_STATE_HOME'] = str(tmp_path / 'state')  # the memory's default file
        self.namespace = namespace
        self.probe = RosProbe(self.env)
        self.states = []
        self.transitions = []  # (arrival_s, collapsed)
        self.collapsed = False
        self.probe.node.create_subscription(SyncState, f'{namespace}/sync/state',
                                            self._on_state, latched_qos(depth=100))
        self.process = NodeProcess(becomingone_command() + ['run', '--config', str(config_path)],
                                   self.env, name='becomingone run')

    def _on_state(self, message):
        self.states.append(message)
        if bool(message.collapsed) != self.collapsed:
            self.collapsed = bool(message.collapsed)
            self.transitions.append((time.monotonic(), self.collapsed))

    def watch(self, message_type, topic, qos=10):
        observed = Observed()
        self.probe.node.create_subscription(message_type, f'{self.namespace}/{topic}',
                                            observed, qos)
        return observed

    def until_released_after_collapse(self, timeout_s=40.0):
        """Spin until a collapse and then a release were seen; return whether they were."""
        def seen():
            kinds = [collapsed for _, collapsed in self.transitions]
            return True in kinds and False in kinds[kinds.index(True):]
        return self.probe.spin_until(seen, timeout_s)

    def collapsed_at(self, when_s):
        """Whether the probe had seen the cell collapsed at ``when_s`` (monotonic)."""
        state = False
        for at, collapsed in self.transitions:
            if at > when_s:
                break
            state = collapsed
        return state

    def output(self):
        text = self.process.output()
        return text if len(text) < 8000 else f'{text[:3000]}\n...\n{text[-5000:]}'

    def close(self):
        self.process.stop()
        self.probe.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def agrees(run, when_s, collapsed, slack_s=0.25):
    """
    Whether the probe saw the cell ``collapsed`` (or not) at ``when_s``, give or take ``slack_s``.

    Two topics of one process reach the probe in either order, so a message that followed a
    change by a few milliseconds may arrive just before the probe sees the change itself.
    """
    if run.collapsed_at(when_s) == collapsed:
        return True
    return any(abs(when_s - at) <= slack_s for at, _ in run.transitions)
