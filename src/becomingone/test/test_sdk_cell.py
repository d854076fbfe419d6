"""
The SDK's cell: its offline mode on arrays, its refusals, and a real in-process run.

The in-process run builds real nodes on a real executor on a DDS domain of its own, and a
probe in another rclpy context (as another host would) sees the cell's ``sync/state`` and
``cmd_vel`` in the cell's namespace.
"""

import threading

from becomingone import Camera, Cell, CollapseEvent, Imu, Lock, Memory, Microphone, Motor
from becomingone.apps import recording
from becomingone.sdk.offline import slow_step_s
from becomingone_core.memory.store import MemoryStore
from becomingone_core.ros.parameters import ParameterError
from becomingone_core.testing.processes import isolated_ros_env
from becomingone_core.testing.ros import latched_qos, RosProbe, stamped
from becomingone_msgs.msg import SyncState
from geometry_msgs.msg import Twist
import numpy as np
import pytest
import rclpy

RATE_HZ = 100.0


def _phase(kind, seconds=8.0, seed=3):
    t = np.arange(int(seconds * RATE_HZ)) / RATE_HZ
    if kind == 'sine':
        return t, np.exp(2j * np.pi * 1.0 * t)
    rng = np.random.default_rng(seed)
    return t, np.exp(1j * np.cumsum(rng.normal(0.0, 1.0, t.size)))


def test_offline_a_steady_rotation_collapses_and_noise_does_not():
    run = Cell().offline(*_phase('sine'))
    assert run.kinds() == ['collapse']
    assert 1.0 < run.events[0].stamp_s < 6.0
    assert isinstance(run.events[0], CollapseEvent) and run.events[0].collapsed
    assert run.timeline.collapsed[-1] and run.timeline.coherence[-1] > 0.9
    noise = Cell().offline(*_phase('noise'))
    assert noise.kinds() == [] and not noise.timeline.collapsed.any()


def test_offline_bad_samples_are_refused_by_the_transducers_not_raised():
    t, phase = _phase('sine')
    phase = phase.copy()
    phase[::50] = np.nan
    phase[7::50] = 1e308 + 1e308j
    run = Cell().offline(t, phase)
    assert run.kinds() == ['collapse']
    assert np.all(np.isfinite(run.timeline.coherence))


def test_offline_applies_the_node_parameters_the_cell_gives_its_nodes():
    t, phase = _phase('sine')
    # A jittered rotation: |T_sync|^2 settles near 0.7, below a threshold of 0.95.
    jitter = np.random.default_rng(1).standard_normal(t.size)
    jittered = phase * np.exp(0.5j * jitter)
    default = Cell().offline(t, jittered)
    assert default.kinds() == ['collapse'] and default.events[0].threshold == 0.5
    stricter = Cell(parameters={'sync': {'threshold': 0.95, 'hysteresis': 0.05}})
    assert stricter.offline(t, jittered).kinds() == []
    default = default.events[0].stamp_s
    longer = Cell(parameters={'master': {'window_s': 4.0}, 'witness': {'anything': 1}})
    assert longer.offline(t, jittered).events[0].stamp_s > default
    with pytest.raises(ValueError, match='bogus'):
        Cell(parameters={'emissary': {'bogus': 1.0}}).offline(t, phase)
    with pytest.raises(ValueError, match='threshold'):
        Cell(parameters={'sync': {'threshold': 1.5}}).offline(t, phase)


def test_a_cell_refuses_what_it_cannot_run():
    with pytest.raises(ValueError, match='demo'):
        Cell(scale='huge')
    with pytest.raises(ValueError, match='motor_output'):
        Cell(parameters={'motor_output': {'max_linear': 1.0}})
    cell = Cell()
    with pytest.raises(TypeError):
        cell.add_input(Motor())
    with pytest.raises(TypeError):
        cell.add_output(Imu(topic='imu'))
    with pytest.raises(ValueError, match='no inputs'):
        cell.offline()
    cell.add_input(Imu(topic='imu'))
    with pytest.raises(ValueError, match='file='):
        cell.offline()


def test_the_banks_get_a_channel_per_input_channel():
    cell = Cell()
    assert cell.channels == 4
    cell.add_input(Imu(file='imu.csv'))
    cell.add_input(Camera(file='camera.avi'))
    assert cell.channels == 7
    cell.add_input(Microphone(file='tone.wav'))
    assert cell.channels == 8


@pytest.fixture
def ros_env(monkeypatch):
    env = isolated_ros_env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def test_a_recording_that_cannot_be_read_stops_the_start_cleanly(ros_env, tmp_path):
    bad = tmp_path / 'imu.csv'
    bad.write_text('time_s,gx,gy,gz,ax,ay,az\n0.0,0,0,0,0,0,9.8\n0.0,0,0,0,0,0,9.8\n')
    cell = Cell()
    cell.add_input(Imu(file=str(bad)))
    with pytest.raises(ParameterError, match='increasing'):
        cell.start()
    assert cell.nodes == [] and not rclpy.ok()


def test_in_process_callbacks_ros_visibility_and_offline_agreement(ros_env, tmp_path):
    cell = Cell(namespace='/sdk_test')
    cell.add_input(Imu(file=recording('robot_imu.csv')))
    cell.add_output(Motor(topic='wheels/cmd_vel'))  # remapped, inside the namespace
    cell.add_output(Lock())
    cell.add_output(Memory(path=str(tmp_path / 'memory.sqlite3')))
    seen = []

    @cell.on_collapse
    def collapsed(event):
        seen.append((threading.current_thread().name, event))

    cell.on_release(lambda event: seen.append((threading.current_thread().name, event)))
    probe = RosProbe(ros_env)
    states = probe.collect(SyncState, '/sdk_test/sync/state', latched_qos(depth=100))
    twists = probe.collect(Twist, '/sdk_test/wheels/cmd_vel')
    try:
        with cell:
            with pytest.raises(RuntimeError, match='already running'):
                cell.start()
            assert probe.spin_until(lambda: len(seen) >= 2, 30.0), seen
            assert cell.wait_for(lambda: not cell.collapsed, 5.0)
            probe.spin_for(0.5)
    finally:
        probe.close()
    assert [event.kind for _, event in seen] == ['collapse', 'release']
    assert {thread for thread, _ in seen} == {'becomingone-cell'}  # the executor's thread
    collapse = seen[0][1]
    assert collapse.coherence >= collapse.threshold > 0 and np.isfinite(collapse.t_sync)
    # Another context (as another host) saw the same decisions and the motors move.
    assert any(s.collapsed for s in states) and not states[-1].collapsed
    assert any(abs(t.linear.x) + abs(t.angular.z) > 0 for t in twists)
    assert not rclpy.ok() and cell.nodes == []  # the cell shut down the rclpy it started
    with MemoryStore(tmp_path / 'memory.sqlite3') as store:
        synced = store.query('sync', limit=100000).records
    assert len(synced) > 10 and any(r.coherence >= 0.5 for r in synced)
    offline = cell.offline()
    assert offline.kinds() == ['collapse', 'release']
    in_process_s = seen[0][1].stamp_s - cell.origin_s
    assert abs(in_process_s - offline.events[0].stamp_s) <= slow_step_s('demo')


def test_a_callback_that_raises_under_strict_callbacks_ends_the_run_and_stop_says_why(
        ros_env, monkeypatch):
    monkeypatch.setenv('BECOMINGONE_STRICT_CALLBACKS', '1')
    cell = Cell()
    cell.add_input(Imu(file=recording('robot_imu.csv')))

    @cell.on_collapse
    def broken(event):
        raise RuntimeError('callback failed')

    cell.start()
    assert not cell.wait_for(lambda: False, 15.0)  # returns once the spin thread has ended
    with pytest.raises(RuntimeError, match='callback failed'):
        cell.stop()
    assert not rclpy.ok() and cell.nodes == []


def test_sync_states_out_of_range_or_replayed_change_nothing(ros_env):
    cell = Cell(namespace='/sdk_hostile')  # no inputs: only what is published here decides
    probe = RosProbe(ros_env)
    publisher = probe.node.create_publisher(SyncState, '/sdk_hostile/sync/state', 10)
    try:
        with cell:
            observer = next(n for n in cell.nodes if n.get_name() == 'sdk_observer')
            assert probe.spin_until(lambda: publisher.get_subscription_count() >= 1, 10.0)

            def send(**fields):
                message = stamped(SyncState(threshold=0.5, hysteresis=0.1, coherence=0.9,
                                            sync_real=0.9, collapsed=True), probe.node)
                shift_s = fields.pop('shift_s', 0.0)
                for name, value in fields.items():
                    setattr(message.header if name == 'frame_id' else message, name, value)
                message.header.stamp.sec += int(shift_s)
                before = observer.rejections.total
                publisher.publish(message)
                return before

            for bad in ({'coherence': float('nan')}, {'coherence': 7.0},
                        {'sync_real': 1e308, 'sync_imag': 1e308}, {'shift_s': 3600},
                        {'shift_s': -3600}, {'frame_id': 'x' * 100000}):
                before = send(**bad)
                assert probe.spin_until(lambda: observer.rejections.total > before, 10.0), bad
            assert cell.events == [] and not cell.collapsed
            send()
            assert cell.wait_for(lambda: cell.collapsed, 10.0)
            before = send(shift_s=-1, collapsed=False)  # older than the state taken: a replay
            assert probe.spin_until(lambda: observer.rejections.total > before, 10.0)
            assert [e.kind for e in cell.events] == ['collapse'] and cell.collapsed
    finally:
        probe.close()
