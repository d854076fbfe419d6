"""
Recordings as arrays (pure): what the replay publishes and the offline mode encodes.

Round trips under hypothesis, and every refusal by range: times that repeat or go back, are
not finite or not numbers, missing columns, an empty file, values far outside an encoder's
range (clipped, counted, never a crash).
"""

from becomingone import Cell, Imu, Temperature, Text
from becomingone.apps import recording
from becomingone.sdk.recordings import Recording, write_recording
from hypothesis import given, settings, strategies as st
import numpy as np
import pytest


@settings(max_examples=50, deadline=None)
@given(values=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=100),
       step_s=st.floats(1e-3, 10.0), start_s=st.floats(-1e9, 1e9))
def test_a_written_recording_reads_back(tmp_path_factory, values, step_s, start_s):
    path = tmp_path_factory.mktemp('rec') / 'r.csv'
    t = start_s + step_s * np.arange(len(values))
    write_recording(path, t, {'value': values})
    read = Recording(path, ('value',))
    assert read.t[0] == 0.0 and np.all(np.diff(read.t) > 0)
    np.testing.assert_allclose(read.numbers()[:, 0], values, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('text, why', [
    ('time_s,value\n', 'no data rows'),
    ('', 'missing column'),
    ('time_s,other\n0,1\n', 'missing column'),
    ('time_s,value\n0,1\n0,2\n', 'increasing'),
    ('time_s,value\n1,1\n0,2\n', 'increasing'),
    ('time_s,value\nnan,1\n', 'finite'),
    ('time_s,value\ninf,1\n', 'finite'),
    ('time_s,value\n1e400,1\n', 'finite'),
])
def test_a_bad_recording_is_refused_with_the_reason(tmp_path, text, why):
    path = tmp_path / 'bad.csv'
    path.write_text(text)
    with pytest.raises(ValueError, match=why):
        Recording(path, ('value',))


def test_a_time_that_is_not_a_number_is_refused(tmp_path):
    path = tmp_path / 'bad.csv'
    path.write_text('time_s,value\nsoon,1\n')
    with pytest.raises(ValueError):
        Recording(path, ('value',))


def test_values_far_outside_the_range_are_clipped_offline_not_raised(tmp_path):
    path = tmp_path / 'hot.csv'
    t = np.arange(400) / 20.0
    write_recording(path, t, {'value': np.where(t < 10, 1e300, -1e300)})
    cell = Cell()
    cell.add_input(Temperature(file=str(path)))
    run = cell.offline()
    assert np.all(np.isfinite(run.timeline.coherence))


def test_the_applications_recordings_encode_to_unit_phasors():
    imu = Imu(file=recording('robot_imu.csv')).recorded()
    assert imu.phase.shape == (imu.t.size, 6)
    tokens = Text(file=recording('assistant_tokens.csv')).recorded()
    assert tokens.phase.shape == (tokens.t.size, 2)
    for recorded in (imu, tokens):
        assert np.all(np.abs(recorded.phase) <= 1.0 + 1e-12)
        assert np.all(np.diff(recorded.t) > 0)
