"""
The README's SDK example, run as written: in process and offline it takes the same decisions.

The example (the first ``python`` block of the README's ``## Python SDK`` section) runs with
``tone.wav`` (the applications' recording: a steady tone, then noise) in a scratch directory,
on a DDS domain of its own: the in-process cell (real nodes, real executor) must collapse at
the same instant as the offline run over the same recording, within one integration step of
the slow scale, and release within two (see below).
"""

import contextlib
import io
import pathlib
import re
import shutil
import wave

from becomingone.apps import recording
from becomingone.sdk.offline import slow_step_s
from becomingone_core.testing.processes import isolated_ros_env
import numpy as np

README = pathlib.Path(__file__).resolve().parents[1] / 'README.md'


def readme_example():
    """Return the first python block of the README's ``## Python SDK`` section."""
    text = README.read_text()
    section = text.split('## Python SDK', 1)[1].split('\n## ', 1)[0]
    return re.search(r'```python\n(.*?)```', section, re.S).group(1)


def test_the_readme_example_decides_the_same_in_process_and_offline(tmp_path, monkeypatch):
    for name, value in isolated_ros_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    shutil.copy(recording('tone.wav'), tmp_path / 'tone.wav')
    scope = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(readme_example(), str(README), 'exec'), scope)
    cell, offline = scope['cell'], scope['offline']
    in_process = [(e.kind, e.stamp_s - cell.origin_s) for e in cell.events]
    assert [kind for kind, _ in in_process] == ['collapse', 'release'], printed.getvalue()
    assert offline.kinds() == ['collapse', 'release']
    (_, collapse_s), (_, release_s) = in_process
    step_s = slow_step_s('demo')
    assert abs(collapse_s - offline.events[0].stamp_s) <= step_s, (in_process, offline.events)
    # A realignment request reaches the transducers over DDS; under load an input message in
    # flight is integrated before it (offline: never), which can move the release by a step.
    assert abs(release_s - offline.events[1].stamp_s) <= 2 * step_s, (in_process, offline.events)
    # The callbacks got typed events, and printed them.
    assert printed.getvalue().count('collapse at') == 1, printed.getvalue()
    assert cell.events[0].coherence >= cell.events[0].threshold
    assert cell.events[1].coherence < cell.events[1].threshold
    # No sound card here: the speaker wrote its tone, which sounds only while collapsed.
    with wave.open(str(tmp_path / 'becomingone_speaker.wav')) as sound:
        samples = np.frombuffer(sound.readframes(sound.getnframes()), '<i2')
    assert samples.size and np.max(np.abs(samples)) > 1000
