"""
A recording through the microphone path into a real cell, over DDS.

A WAV file with a steady tone, replayed by ``microphone_to_phase``, must make a
``becomingone_cell`` collapse; a noise WAV must not. Skipped (with the reason) when the cell's
executable is not installed.
"""

from becomingone_adapters.audio import write_wav
from becomingone_core.testing.processes import executable, isolated_ros_env, NodeProcess
from becomingone_core.testing.ros import latched_qos, RosProbe
from becomingone_msgs.msg import SyncState
import numpy as np
import pytest


def _cell_installed():
    try:
        executable('becomingone_core', 'becomingone_cell')
    except (FileNotFoundError, LookupError):
        return False
    return True


pytestmark = pytest.mark.skipif(
    not _cell_installed(), reason='becomingone_core has no becomingone_cell executable here')


def _recording(tmp_path, kind, seconds=4.0, rate=16000):
    t = np.arange(int(seconds * rate)) / rate
    signal = (0.4 * np.sin(2 * np.pi * 440 * t) if kind == 'tone'
              else 0.3 * np.random.default_rng(11).standard_normal(t.size))
    path = tmp_path / f'{kind}.wav'
    write_wav(path, signal, rate)
    return path


def _run(path):
    env = isolated_ros_env()
    probe = RosProbe(env)
    cell = NodeProcess.run('becomingone_core', 'becomingone_cell', env)
    microphone = NodeProcess.run('becomingone_adapters', 'microphone_to_phase', env,
                                 ros_arguments=['-p', 'source:=file', '-p', f'file_path:={path}',
                                                '-p', 'loop:=true'])
    states = probe.collect(SyncState, 'sync/state', latched_qos(depth=100))
    return probe, cell, microphone, states


def test_a_steady_tone_makes_the_cell_collapse(tmp_path):
    probe, cell, microphone, states = _run(_recording(tmp_path, 'tone'))
    try:
        assert probe.spin_until(lambda: any(s.collapsed for s in states), 90), \
            cell.output()[-2000:] + microphone.output()[-1000:]
        collapsed = next(s for s in states if s.collapsed)
        assert collapsed.coherence >= collapsed.threshold
    finally:
        microphone.stop()
        cell.stop()
        probe.close()


def test_noise_does_not_make_the_cell_collapse(tmp_path):
    probe, cell, microphone, states = _run(_recording(tmp_path, 'noise'))
    try:
        # The tone collapses within about 8 s (two windows of the demo Master); give noise
        # longer, once the cell is deciding.
        assert probe.spin_until(lambda: len(states) > 20, 60), cell.output()[-2000:]
        probe.spin_for(12.0)
        assert not any(s.collapsed for s in states)
        assert max(s.coherence for s in states) < states[-1].threshold
    finally:
        microphone.stop()
        cell.stop()
        probe.close()
