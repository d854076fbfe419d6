"""A cell restarted without a persistent witness log: the memory keeps both runs' chains."""

from becomingone_core.memory.store import MemoryStore
from becomingone_core.testing.processes import isolated_ros_env, NodeProcess
from becomingone_core.testing.ros import latched_qos, RosProbe
from becomingone_msgs.msg import MemoryAck
from becomingone_msgs.srv import QueryMemory
from diagnostic_msgs.msg import DiagnosticArray

WARN, ERROR = b'\x01', b'\x02'


def _witness_count(acks):
    return dict(zip(acks[-1].kinds, acks[-1].counts))['witness'] if acks else 0


def test_memory_stores_a_restarted_witness_chain_as_a_new_epoch_and_warns(tmp_path):
    env = isolated_ros_env()
    path = tmp_path / 'cell.sqlite3'
    cell_command = {'arguments': ['--sim', '--scale', 'demo']}
    with RosProbe(env) as probe, NodeProcess.run(
            'becomingone_core', 'memory', env,
            ros_arguments=['-p', f'path:={path}', '-p', 'diagnostics_period_s:=0.2']) as memory:
        acks = probe.collect(MemoryAck, 'memory/acknowledged', latched_qos())
        diagnostics = probe.collect(DiagnosticArray, '/diagnostics')
        counts = []
        for run in range(2):
            with NodeProcess.run('becomingone_core', 'becomingone_cell', env,
                                 **cell_command) as cell:
                # The first run goes on long enough that the second one's first records (the
                # transient-local witness hands them to the memory from sequence 0) lie below
                # its newest: a restart, not a gap.
                before = _witness_count(acks)
                wanted = before + (150 if run == 0 else 30)
                assert probe.spin_until(lambda: _witness_count(acks) >= wanted,
                                        timeout_s=90), memory.output() + cell.output()
                cell.stop()  # its exit code is the cell's own tests' business
            probe.spin_for(0.5)
            counts.append(_witness_count(acks))

        reply = probe.call(probe.node.create_client(QueryMemory, 'memory/query'),
                           QueryMemory.Request(kind='witness', max_results=10_000))
        records = reply.witness_records
        assert len(records) == counts[-1] and not reply.truncated
        # Both runs are there: the sequence starts again once (the second run's chain).
        sequences = [r.sequence for r in records]
        drops = [i for i in range(1, len(sequences)) if sequences[i] <= sequences[i - 1]]
        assert len(drops) == 1, sequences
        first, second = records[:drops[0]], records[drops[0]:]
        assert len(first) >= 30 and len(second) >= 30
        assert not {r.digest for r in first} & {r.digest for r in second}

        def _memory_statuses():
            return [s for array in diagnostics for s in array.status
                    if s.name.startswith('memory: ')]

        def _chain_warns():
            return [s for s in _memory_statuses()
                    if s.name == 'memory: witness chain' and s.level == WARN]
        assert probe.spin_until(_chain_warns, timeout_s=30), memory.output()
        assert 'restarted' in _chain_warns()[-1].message
        assert ('restarts_witness', '1') in [(kv.key, kv.value)
                                             for kv in _chain_warns()[-1].values]
        assert not [s for s in _memory_statuses() if s.level == ERROR], memory.output()
        assert 'breaks' not in memory.output() and 'rejected' not in memory.output()
        assert 'restarted its chain' in memory.output()
        assert memory.stop() == 0, memory.output()
    with MemoryStore(path, read_only=True) as store:
        assert store.witness.chain_breaks == {}
        # Each run's chain from its sequence 0: the records a new cell publishes before DDS
        # has matched it with the memory arrive from the witness's transient-local history.
        assert [(epoch, first) for epoch, first, _ in store.witness.epochs()['witness']] == \
            [(0, 0), (1, 0)]
