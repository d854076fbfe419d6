"""
Write the recorded inputs the applications run on by default (``python -m ...``).

Every recording is deterministic (fixed seeds) and small (< 300 KB): a steady rhythm first,
which makes a ``demo`` cell collapse within a few seconds, then an erratic stretch, which makes
it release. The files are committed; run this again only to change them::

    python -m becomingone.apps.make_recordings [DIRECTORY]
"""

import argparse
import os
import sys

from becomingone.sdk.recordings import write_recording
from becomingone_adapters.audio import write_wav
import numpy as np

#: Seconds of steady rhythm, then of erratic input, in every recording.
STEADY_S, ERRATIC_S = 5.0, 3.0
#: The rhythm (Hz): one period per second sits on both demo transducers' lag banks.
RHYTHM_HZ = 1.0
AUDIO_RATE = 8000
IMU_RATE, CAMERA_RATE, SENSOR_RATE, TOKEN_RATE = 100.0, 15.0, 20.0, 8.0


def _times(rate_hz):
    return np.arange(int((STEADY_S + ERRATIC_S) * rate_hz)) / rate_hz


def _rhythm(t, rng, erratic_scale=1.0, phase=0.0):
    """Return a sine while steady, then white noise of the same spread (scaled)."""
    steady = np.sin(2 * np.pi * RHYTHM_HZ * t + phase)
    noise = erratic_scale * rng.standard_normal(t.size) * np.sqrt(0.5)
    return np.where(t < STEADY_S, steady, noise)


def tone(path, seconds=(4.5, 4.0)):
    """Write a steady 440 Hz tone, then noise: the SDK example's recording."""
    rng = np.random.default_rng(11)
    tone_t = np.arange(int(seconds[0] * AUDIO_RATE)) / AUDIO_RATE
    noise = 0.3 * rng.standard_normal(int(seconds[1] * AUDIO_RATE))
    write_wav(path, np.concatenate([0.4 * np.sin(2 * np.pi * 440 * tone_t), noise]), AUDIO_RATE)


def robot(folder):
    rng = np.random.default_rng(1)
    t = _times(IMU_RATE)
    small = 0.02 * rng.standard_normal((6, t.size))
    write_recording(os.path.join(folder, 'robot_imu.csv'), t, {
        'gx': small[0], 'gy': small[1], 'gz': 1.5 * _rhythm(t, rng) + small[2],
        'ax': 3.0 * _rhythm(t, rng, phase=0.5) + small[3], 'ay': small[4],
        'az': 9.81 + small[5]})
    from becomingone_adapters.video import write_video
    frames_t = _times(CAMERA_RATE)
    level = 128 + 80 * np.clip(_rhythm(frames_t, rng), -1.5, 1.5) / 1.5
    write_video(os.path.join(folder, 'robot_camera.avi'),
                [np.full((24, 32, 3), int(v), np.uint8) for v in level], CAMERA_RATE)


def assistant(folder):
    rng = np.random.default_rng(2)
    t = np.arange(int((STEADY_S + ERRATIC_S) * AUDIO_RATE)) / AUDIO_RATE
    voice = np.where(t < STEADY_S, 0.4 * np.sin(2 * np.pi * 440 * t),
                     0.3 * rng.standard_normal(t.size))
    write_wav(os.path.join(folder, 'assistant_voice.wav'), voice, AUDIO_RATE)
    # Tokens: a phrase repeated at a steady pace, then random words at random moments.
    phrase = ['the', 'cell', 'is', 'listening', 'now', 'and', 'it', 'hears']
    steady_n = int(STEADY_S * TOKEN_RATE)
    times = list(np.arange(steady_n) / TOKEN_RATE)
    tokens = [phrase[i % len(phrase)] for i in range(steady_n)]
    confidence = [0.9] * steady_n
    erratic = np.sort(rng.uniform(STEADY_S, STEADY_S + ERRATIC_S, int(ERRATIC_S * TOKEN_RATE)))
    times += list(erratic)
    tokens += [f'w{int(k)}' for k in rng.integers(0, 10000, erratic.size)]
    confidence += list(rng.uniform(0.1, 1.0, erratic.size))
    write_recording(os.path.join(folder, 'assistant_tokens.csv'), times,
                    {'token': tokens, 'confidence': confidence})


def lab(folder):
    rng = np.random.default_rng(3)
    t = _times(SENSOR_RATE)
    write_recording(os.path.join(folder, 'lab_temperature.csv'), t,
                    {'value': 40.0 + 10.0 * _rhythm(t, rng)})
    write_recording(os.path.join(folder, 'lab_pressure.csv'), t,
                    {'value': 95000.0 + 5000.0 * _rhythm(t, rng, phase=1.0)})
    write_recording(os.path.join(folder, 'lab_thermal.csv'), t,
                    {'value': 55.0 + 12.0 * _rhythm(t, rng, phase=2.0)})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('directory', nargs='?', default=os.path.dirname(__file__))
    folder = parser.parse_args(argv).directory
    tone(os.path.join(folder, 'tone.wav'))
    robot(folder)
    assistant(folder)
    lab(folder)
    for name in sorted(os.listdir(folder)):
        if name.endswith(('.csv', '.wav', '.avi')):
            print(f'{name}: {os.path.getsize(os.path.join(folder, name)) // 1024} KB')
    return 0


if __name__ == '__main__':
    sys.exit(main())
