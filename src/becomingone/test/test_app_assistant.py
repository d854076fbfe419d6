"""
The assistant application end to end: ``becomingone run --config`` on its recorded inputs.

A steady voice and a steady token pace make the cell collapse, noise and erratic tokens make it
release: the speaker's audio blocks are loud only while collapsed (silent before and after),
and the display is dark except while collapsed.
"""

from app_support import agrees, app_config, AppRun, require_kinds
from becomingone_core.testing.ros import latched_qos
import numpy as np
from std_msgs.msg import ColorRGBA, Float32MultiArray

#: A block this loud is sound (the speaker's released blocks are exact zeros after the fade).
AUDIBLE = 1e-3
#: The speaker glides its volume (glide_s 0.02 s) and renders blocks of 46 ms: one block late.
FADE_S = 0.3


def test_speaker_and_display_follow_the_collapse(tmp_path):
    require_kinds('microphone', 'text_recording', 'text', 'speaker', 'display')
    with AppRun(app_config('assistant', tmp_path), '/assistant', tmp_path) as run:
        audio = run.watch(Float32MultiArray, 'audio', 50)
        colors = run.watch(ColorRGBA, 'color', latched_qos(depth=50))
        assert run.until_released_after_collapse(), run.output()
        run.probe.spin_for(1.0)
        loud = [at for at, block in audio.items if np.max(np.abs(block.data)) > AUDIBLE]
        assert loud, 'the speaker never sounded while collapsed\n' + run.output()
        for at in loud:
            assert agrees(run, at, collapsed=True, slack_s=FADE_S), 'sound while released'
        assert np.max(np.abs(audio.messages[-1].data)) <= AUDIBLE, 'still sounding on release'
        assert np.max(np.abs(audio.messages[0].data)) <= AUDIBLE, 'sounding before collapse'
        lit = [at for at, c in colors.items if max(c.r, c.g, c.b) > 0.0]
        assert lit, 'the display never lit while collapsed'
        for at in lit:
            assert agrees(run, at, collapsed=True), 'the display lit while released'
        last = colors.messages[-1]
        assert (last.r, last.g, last.b) == (0.0, 0.0, 0.0), 'the display stayed lit'
