"""A real cell and the memory node together: its witness chain arrives and verifies intact."""

from becomingone_core.memory.store import MemoryStore
from becomingone_core.testing.processes import isolated_ros_env, NodeProcess
from becomingone_core.testing.ros import latched_qos, RosProbe
from becomingone_msgs.msg import MemoryAck


def test_memory_keeps_a_running_cells_history_and_witness_chain(tmp_path):
    env = isolated_ros_env()
    path = tmp_path / 'cell.sqlite3'
    with RosProbe(env) as probe, \
            NodeProcess.run('becomingone_core', 'memory', env,
                            ros_arguments=['-p', f'path:={path}']) as memory, \
            NodeProcess.run('becomingone_core', 'becomingone_cell', env,
                            arguments=['--sim', '--scale', 'demo']) as cell:
        acks = probe.collect(MemoryAck, 'memory/acknowledged', latched_qos())

        def _enough():
            if not acks:
                return False
            counts = dict(zip(acks[-1].kinds, acks[-1].counts))
            return counts['witness'] >= 30 and counts['resonance'] >= 10 and counts['sync'] >= 5
        assert probe.spin_until(_enough, timeout_s=90), memory.output() + cell.output()
        # Memory first: a cell shutting down may lose its last records in flight, and the
        # memory would rightly keep that as a gap.
        assert memory.stop() == 0, memory.output()
        cell.stop()  # the cell's own exit code is its tests' business
        logs = memory.output()[-4000:] + cell.output()[-4000:]
    with MemoryStore(path, read_only=True) as store:
        assert store.witness.chain_breaks == {}
        witness = store.query('witness', limit=100_000).records
        assert len({entry.observer for entry in witness}) == 1
        sequences = [entry.sequence for entry in witness]
        missing = sorted(set(range(sequences[0], sequences[-1] + 1)) - set(sequences))
        assert not missing, f'sequences missing: {missing[:20]}\n{logs}'
        assert sequences == sorted(sequences), logs
        sync = store.query('sync', limit=10).records
        assert all(0.0 <= record.coherence <= 1.0 for record in sync)
        assert {r.source for r in store.query('resonance', limit=1000).records} == \
            {'master', 'emissary'}
