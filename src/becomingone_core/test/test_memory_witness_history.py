"""
The witness topic is transient local: a memory that starts or restarts late misses nothing.

A real cell publishes first; the memory, started afterwards, receives the witness's kept history
on matching and stores the chain from sequence 0. A memory restarted under a running cell
receives that history again: the records it already holds are duplicates, ignored and counted,
never rejections, a restart or a break.
"""

from becomingone_core.memory.store import MemoryStore
from becomingone_core.testing.processes import isolated_ros_env, NodeProcess
from becomingone_core.testing.ros import latched_qos, RosProbe
from becomingone_msgs.msg import MemoryAck, WitnessRecord
from diagnostic_msgs.msg import DiagnosticArray

OK = b'\x00'
CELL = {'arguments': ['--sim', '--scale', 'demo']}


def _witness_count(acks):
    return dict(zip(acks[-1].kinds, acks[-1].counts))['witness'] if acks else 0


def _memory(env, path):
    return NodeProcess.run('becomingone_core', 'memory', env, ros_arguments=[
        '-p', f'path:={path}', '-p', 'diagnostics_period_s:=0.2'])


def _assert_one_whole_chain(path):
    with MemoryStore(path, read_only=True) as store:
        assert store.witness.chain_breaks == {}
        epochs = store.witness.epochs()
        assert list(epochs) == ['witness'] and [e[:2] for e in epochs['witness']] == [(0, 0)]
        sequences = [e.sequence for e in store.query('witness', limit=100_000).records]
        # From sequence 0, no gap and no row twice.
        assert sorted(sequences) == list(range(len(sequences))), sequences
        return len(sequences)


def test_memory_started_after_the_cell_stores_the_chain_from_sequence_0(tmp_path):
    env = isolated_ros_env()
    path = tmp_path / 'cell.sqlite3'
    with RosProbe(env) as probe, NodeProcess.run('becomingone_core', 'becomingone_cell', env,
                                                 **CELL) as cell:
        seen = probe.collect(WitnessRecord, 'witness')  # volatile: matches the latched writer
        assert probe.spin_until(lambda: len(seen) >= 20, timeout_s=60), cell.output()
        probe.spin_for(2.0)  # the witness goes on publishing with no memory at all
        published_before = max(r.sequence for r in seen)
        assert published_before >= 20
        with _memory(env, path) as memory:
            acks = probe.collect(MemoryAck, 'memory/acknowledged', latched_qos())
            assert probe.spin_until(lambda: _witness_count(acks) >= published_before + 20,
                                    timeout_s=60), memory.output() + cell.output()
            assert memory.stop() == 0, memory.output()
            assert 'restarted its chain' not in memory.output()
        cell.stop()  # its exit code is the cell's own tests' business
    assert _assert_one_whole_chain(path) >= published_before + 20


def test_memory_restarted_under_a_running_cell_ignores_the_redelivered_history(tmp_path):
    env = isolated_ros_env()
    path = tmp_path / 'cell.sqlite3'
    with RosProbe(env) as probe, NodeProcess.run('becomingone_core', 'becomingone_cell', env,
                                                 **CELL) as cell:
        acks = probe.collect(MemoryAck, 'memory/acknowledged', latched_qos())
        with _memory(env, path) as memory:
            assert probe.spin_until(lambda: _witness_count(acks) >= 50,
                                    timeout_s=60), memory.output() + cell.output()
            assert memory.stop() == 0, memory.output()
        stored = _witness_count(acks)
        probe.spin_for(1.0)  # the cell goes on while the memory is down

        diagnostics = probe.collect(DiagnosticArray, '/diagnostics')
        with _memory(env, path) as memory:
            assert probe.spin_until(lambda: _witness_count(acks) >= stored + 50,
                                    timeout_s=60), memory.output() + cell.output()

            def _chain_statuses():
                return [s for array in diagnostics for s in array.status
                        if s.name == 'memory: witness chain']

            def _duplicates_reported():
                statuses = _chain_statuses()
                values = {kv.key: kv.value for kv in statuses[-1].values} if statuses else {}
                return int(values.get('duplicates_ignored', 0)) > 0

            assert probe.spin_until(_duplicates_reported, timeout_s=30), memory.output()
            statuses = [s for array in diagnostics for s in array.status
                        if s.name.startswith('memory: ')]
            assert statuses and all(s.level == OK for s in statuses), \
                [(s.name, s.level, s.message) for s in statuses if s.level != OK]
            assert memory.stop() == 0, memory.output()
            output = memory.output()
            assert 'rejected' not in output and 'restarted its chain' not in output, output
            assert 'breaks' not in output, output
        cell.stop()
    assert _assert_one_whole_chain(path) >= stored + 50
