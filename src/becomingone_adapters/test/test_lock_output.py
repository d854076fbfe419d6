"""
The twist_mux lock: true while the cell is NOT collapsed, latched, repeated, over real DDS.

The pure rule (:class:`LockSignal`) under hypothesis, then the node itself (imported and built
in this process, on a DDS domain of its own) fed sync states by a probe, as the sync node would.
"""

from becomingone_adapters.lock import LockSignal
from becomingone_adapters.nodes.lock_node import LockOutput
from becomingone_core.testing.processes import isolated_ros_env
from becomingone_core.testing.ros import latched_qos, RosProbe, stamped
from becomingone_msgs.msg import SyncState
from hypothesis import given, strategies as st
import pytest
from std_msgs.msg import Bool


@given(st.lists(st.tuples(st.floats(0.0, 1.0), st.booleans()), max_size=200),
       st.floats(0.01, 1.0))
def test_a_change_goes_out_at_once_and_a_steady_lock_once_per_period(steps, period_s):
    signal = LockSignal(period_s)
    now, last_sent, last_value, changes = 0.0, None, None, 0
    for dt, gate_open in steps:
        now += dt
        value = signal.due(now, gate_open)
        if last_value is not None and (not gate_open) != last_value:
            assert value is (not gate_open), 'a change must go out at once'
            changes += 1
        if value is None:
            assert last_sent is not None and now - last_sent < period_s
            continue
        assert value is (not gate_open), 'locked exactly while the gate is closed'
        assert last_sent is None or value != last_value or now - last_sent >= period_s
        last_sent, last_value = now, value
    assert signal.changes == changes


def test_a_period_must_be_positive():
    for bad in (0.0, -1.0, float('nan')):
        with pytest.raises(ValueError):
            LockSignal(bad)


def test_the_node_unlocks_only_while_collapsed_and_locks_when_the_cell_falls_silent():
    env = isolated_ros_env()
    with RosProbe(env) as probe:
        lock = LockOutput(context=probe.context)
        probe.executor.add_node(lock)
        try:
            received = probe.collect(Bool, 'lock', latched_qos(depth=100))
            state = {'collapsed': False, 'sending': True}
            publisher = probe.node.create_publisher(SyncState, 'sync/state', 10)

            def publish():
                if state['sending']:
                    publisher.publish(stamped(SyncState(
                        collapsed=state['collapsed'], coherence=0.9 if state['collapsed']
                        else 0.2, sync_real=0.9), probe.node))
            probe.node.create_timer(0.05, publish)
            # Latched: the first value, before any sync state, is already locked.
            assert probe.spin_until(lambda: received, 10.0)
            assert received[0].data is True
            probe.spin_for(0.5)
            assert all(m.data for m in received), 'unlocked while released'
            state['collapsed'] = True
            assert probe.spin_until(lambda: not received[-1].data, 10.0)
            steady = len(received)
            probe.spin_for(0.5)
            assert len(received) > steady, 'a steady lock is repeated (twist_mux timeout)'
            assert not any(m.data for m in received[steady:]), 'locked while collapsed'
            state['sending'] = False  # the cell died: the watchdog (0.5 s) locks
            assert probe.spin_until(lambda: received[-1].data, 3.0)
            assert lock.signal.changes == 2
        finally:
            probe.executor.remove_node(lock)
            lock.destroy_node()
