"""
Several recorded inputs at once, through the SDK: in process and offline decide alike.

Each application's recorded inputs (IMU + camera; voice + token stream; temperature, pressure
and thermal) feed an SDK cell in process (real adapter and replay nodes, real DDS) and offline
(the same recordings through the same encodings): the cell collapses at the same sensor time,
within one integration step of the slow scale, and releases afterwards in both.
"""

from becomingone import Camera, Cell, Imu, Microphone, Pressure, Temperature, Text, Thermal
from becomingone.apps import recording
from becomingone.sdk.offline import slow_step_s
from becomingone_core.testing.processes import isolated_ros_env
import pytest

INPUTS = {
    'robot': lambda: [Imu(file=recording('robot_imu.csv')),
                      Camera(file=recording('robot_camera.avi'))],
    'assistant': lambda: [Microphone(file=recording('assistant_voice.wav'), block_frames=256),
                          Text(file=recording('assistant_tokens.csv'))],
    'lab': lambda: [Temperature(file=recording('lab_temperature.csv')),
                    Pressure(file=recording('lab_pressure.csv')),
                    Thermal(file=recording('lab_thermal.csv'), rate_hz=20.0)],
}


@pytest.mark.parametrize('app', sorted(INPUTS))
def test_in_process_and_offline_collapse_together(app, monkeypatch):
    for name, value in isolated_ros_env().items():
        monkeypatch.setenv(name, value)
    # Audio phase leaves the microphone a block late; under load it may lag the other sources
    # by more than the default 0.1 s a bin waits, and lose samples in process only.
    waits = {'max_delay_s': 0.25}
    cell = Cell(scale='demo', parameters={'master': waits, 'emissary': waits})
    for part in INPUTS[app]():
        cell.add_input(part)
    offline = cell.offline()
    assert offline.kinds() == ['collapse', 'release'], offline.events
    with cell:
        assert cell.wait_for(lambda: [e.kind for e in cell.events] == ['collapse', 'release'],
                             20.0), cell.events
    collapse_s = cell.events[0].stamp_s - cell.origin_s
    assert abs(collapse_s - offline.events[0].stamp_s) <= slow_step_s('demo'), \
        (cell.events, offline.events)
