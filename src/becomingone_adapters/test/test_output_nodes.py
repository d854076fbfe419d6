"""Speaker and display outputs over real DDS: they act only while the cell is collapsed."""

import wave

from becomingone_core.testing.processes import isolated_ros_env, NodeProcess
from becomingone_core.testing.ros import latched_qos, RosProbe, stamped
from becomingone_msgs.msg import SyncState
import numpy as np
import pytest
from std_msgs.msg import ColorRGBA, Float32MultiArray


def _sync_source(probe, state):
    publisher = probe.node.create_publisher(SyncState, 'sync/state', 10)

    def publish():
        publisher.publish(stamped(SyncState(
            collapsed=state['collapsed'], coherence=state['coherence'], sync_real=state['real'],
            sync_imag=0.0), probe.node))
    probe.node.create_timer(0.05, publish)


def _peak_hz(block, rate=22050):
    spectrum = np.abs(np.fft.rfft(block * np.hanning(block.size)))
    return np.argmax(spectrum) * rate / block.size


def test_speaker_plays_only_while_collapsed_and_writes_a_wav(tmp_path):
    env = isolated_ros_env()
    wav_path = tmp_path / 'speaker.wav'
    state = {'collapsed': False, 'coherence': 0.2, 'real': 0.5}
    with RosProbe(env) as probe, NodeProcess.run(
            'becomingone_adapters', 'speaker_output', env, ros_arguments=[
                '-p', 'sink:=file', '-p', f'wav_path:={wav_path}', '-p', 'volume:=0.8']) as node:
        blocks = []
        probe.node.create_subscription(Float32MultiArray, 'audio',
                                       lambda m: blocks.append(np.asarray(m.data)), 50)
        _sync_source(probe, state)
        assert probe.spin_until(lambda: len(blocks) >= 10, 60), node.output()
        assert max(np.max(np.abs(b)) for b in blocks) < 1e-3, 'silent while released'
        state.update(collapsed=True, coherence=0.9)
        heard = len(blocks)
        assert probe.spin_until(lambda: len(blocks) >= heard + 20, 30)
        loud = blocks[-1]
        # Seed: 440 + Re * 440 Hz at Re = 0.5; gain = volume * coherence.
        assert _peak_hz(loud) == pytest.approx(660.0, abs=25.0)
        assert np.max(np.abs(loud)) == pytest.approx(0.8 * 0.9, abs=0.05)
        node.stop()
        assert node.process.returncode == 0, node.output()
    with wave.open(str(wav_path)) as recorded:
        assert recorded.getframerate() == 22050
        assert recorded.getnframes() >= 30 * 1024


def test_display_is_dark_while_released_and_coloured_while_collapsed():
    env = isolated_ros_env()
    state = {'collapsed': False, 'coherence': 0.3, 'real': 1.0}
    with RosProbe(env) as probe, NodeProcess.run(
            'becomingone_adapters', 'display_output', env,
            ros_arguments=['-p', 'rate_hz:=20.0']) as node:
        colors = probe.collect(ColorRGBA, 'color', latched_qos())
        _sync_source(probe, state)
        assert probe.spin_until(lambda: len(colors) >= 5, 60), node.output()
        assert (colors[-1].r, colors[-1].g, colors[-1].b) == (0.0, 0.0, 0.0)
        state.update(collapsed=True, coherence=1.0)
        # T = 1 + 0i: angle 0 -> hue 0.5 (cyan), full brightness.
        assert probe.spin_until(lambda: colors[-1].g > 0.99 and colors[-1].b > 0.99, 30)
        assert colors[-1].r == pytest.approx(0.0)
