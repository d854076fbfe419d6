"""
The cell over real DDS, each role its own process started through its entry point.

One run covers what the issue asks to see: a coherent sine collapses within five windows of the
slower transducer, noise releases it within five windows, the sine collapses it again; the
witness chain received over DDS verifies; killing one node leaves the others running and the
witness reports the missing stream within its timeout.
"""

import json

from becomingone_core.nodes.witness_node import record_from_message
from becomingone_core.ros.stamps import seconds
from becomingone_core.scales import preset
from becomingone_core.testing.processes import isolated_ros_env, NodeProcess, wait_until
from becomingone_core.testing.ros import latched_qos, RosProbe
from becomingone_core.witness_chain import MACRO, read_log, verify, verify_log
from becomingone_msgs.msg import Resonance, SyncState, WitnessRecord
from diagnostic_msgs.msg import DiagnosticArray
import pytest

DEMO = preset('demo')
WINDOW_S = DEMO.slowest_window_s
SEGMENT_S = 6.0
STREAM_TIMEOUT_S = 2.0


def _source_epoch(diagnostics, rate_hz=100.0):
    for array in diagnostics:
        for status in array.status:
            if status.name == 'sim_source: output':
                published = {kv.key: kv.value for kv in status.values}['published']
                return seconds(array.header.stamp) - float(published) / rate_hz
    return None


def _transitions(states, epoch_s):
    """Return [(seconds since the source started, collapsed)] at every change of state."""
    changes, previous = [], False
    for state in sorted(states, key=lambda s: seconds(s.header.stamp)):
        if state.collapsed != previous:
            changes.append((seconds(state.header.stamp) - epoch_s, state.collapsed))
            previous = state.collapsed
    return changes


@pytest.fixture
def cell():
    env = isolated_ros_env()
    common = ['-p', 'scale:=demo']
    processes = {
        'master': NodeProcess.run('becomingone_core', 'master', env, ros_arguments=common),
        'emissary': NodeProcess.run('becomingone_core', 'emissary', env, ros_arguments=common),
        'sync': NodeProcess.run('becomingone_core', 'sync', env, ros_arguments=common),
        'witness': NodeProcess.run('becomingone_core', 'witness', env, ros_arguments=[
            *common, '-p', f'stream_timeout_s:={STREAM_TIMEOUT_S}']),
    }
    try:
        yield env, processes
    finally:
        for process in processes.values():
            process.stop()


def test_cell_collapses_releases_collapses_and_survives_a_killed_node(cell):
    env, processes = cell
    with RosProbe(env) as probe:
        states = probe.collect(SyncState, 'sync/state', latched_qos(depth=100))
        emissary = probe.collect(Resonance, 'emissary/resonance', 20)
        records = probe.collect(WitnessRecord, 'witness', 200)
        diagnostics = probe.collect(DiagnosticArray, '/diagnostics', 50)
        assert probe.spin_until(
            lambda: {'master', 'emissary', 'sync', 'witness'} <= {
                s.name.split(':')[0] for a in diagnostics for s in a.status}, 60), \
            {name: p.output() for name, p in processes.items()}
        processes['sim_source'] = NodeProcess.run(
            'becomingone_core', 'sim_source', env, ros_arguments=[
                '-p', f"schedule:=['sine:{SEGMENT_S}', 'noise:{SEGMENT_S}', 'sine']",
                '-p', 'frequency_hz:=2.0', '-p', 'snr_db:=10.0', '-p', 'rate_hz:=100.0',
                '-p', 'seed:=3'])
        assert probe.spin_until(lambda: emissary, 60), processes['emissary'].output()
        # The source publishes in real time from its start: its published count over its rate,
        # taken from its diagnostics, dates the start of its schedule on the stamps' clock.
        assert probe.spin_until(lambda: _source_epoch(diagnostics), 30)
        epoch_s = _source_epoch(diagnostics)

        def seen(count):
            return lambda: len(_transitions(states, epoch_s)) >= count

        probe.spin_until(seen(3), 2 * SEGMENT_S + 5 * WINDOW_S + 30)
        changes = _transitions(states, epoch_s)
        assert len(changes) >= 3, (changes, processes['sync'].output())
        (collapse, c1), (release, c2), (again, c3) = changes[:3]
        assert (c1, c2, c3) == (True, False, True)
        assert collapse <= 5 * WINDOW_S
        assert 0 < release - SEGMENT_S <= 5 * WINDOW_S
        assert 0 < again - 2 * SEGMENT_S <= 5 * WINDOW_S

        # The witness saw it, and its chain verifies over what crossed DDS.
        probe.spin_until(lambda: sum(r.event == 'collapse' for r in records) >= 2, 10)
        # (The probe may have joined after the first records: a tail verifies on its own.)
        chain = sorted((record_from_message(m) for m in records), key=lambda r: r.sequence)
        assert verify(chain).ok and verify(chain).checked == len(chain) > 50, verify(chain)
        macro = [r.event for r in chain if r.layer == MACRO and r.subject == 'sync']
        assert [e for e in macro if e in ('collapse', 'release')][:3] == [
            'collapse', 'release', 'collapse']
        assert {r.layer for r in chain} == {0, 1, 2, 3}

        # Kill the emissary: the others keep running, the witness reports its stream missing.
        processes['emissary'].kill()
        killed_at = probe.node.get_clock().now().nanoseconds * 1e-9
        before = len(records)

        def reported():
            return [r for r in records[before:] if r.event == 'stream_lost'
                    and r.subject == 'emissary/resonance']

        assert probe.spin_until(reported, STREAM_TIMEOUT_S + 10), processes['witness'].output()
        assert seconds(reported()[0].header.stamp) - killed_at <= STREAM_TIMEOUT_S + 1.0
        diagnostics.clear()
        assert probe.spin_until(lambda: [
            s for a in diagnostics for s in a.status
            if s.name == 'witness: stream emissary/resonance' and s.level == b'\x02'], 10)
        # Without the Emissary the sync layer counts it as zero and releases.
        assert probe.spin_until(lambda: not states[-1].collapsed, 10)
        for name, process in processes.items():
            assert process.running or name == 'emissary', (name, process.output())


@pytest.mark.parametrize('executable,arguments,name', [
    ('master', ['-p', 'window_s:=-1.0'], 'window_s'),
    ('emissary', ['-p', 'lag_min_s:=2.0', '-p', 'lag_max_s:=1.0'], 'lag_max_s'),
    ('sync', ['-p', 'threshold:=0.2', '-p', 'hysteresis:=0.3'], 'hysteresis'),
    ('witness', ['-p', 'streams:=[phase, nonsense]'], 'streams'),
    ('master', ['-p', 'scale:=galactic'], 'scale'),
])
def test_bad_parameter_stops_start_up_naming_it(executable, arguments, name):
    env = isolated_ros_env()
    with NodeProcess.run('becomingone_core', executable, env, ros_arguments=arguments) as node:
        node.process.wait(timeout=60)
        assert node.process.returncode == 2, node.output()
        assert f"'{name}'" in node.output(), node.output()


def test_witness_log_continues_across_restarts_and_refuses_an_edited_log(tmp_path):
    env = isolated_ros_env()
    log = tmp_path / 'witness.jsonl'
    arguments = ['-p', f'log_path:={log}', '-p', 'meta_period_s:=0.2']

    def run_until_records(count):
        with NodeProcess.run('becomingone_core', 'witness', env,
                             ros_arguments=arguments) as witness:
            assert wait_until(lambda: log.exists() and len(read_log(log)) >= count, 30), \
                witness.output()
        return read_log(log)

    first = run_until_records(3)
    second = run_until_records(len(first) + 3)
    assert second[:len(first)] == first and second[len(first)].sequence == len(first)
    assert verify_log(log).ok
    lines = log.read_text().splitlines()
    edited = json.loads(lines[2])
    edited['subject'] = 'someone else'
    lines[2] = json.dumps(edited)
    log.write_text('\n'.join(lines) + '\n')
    with NodeProcess.run('becomingone_core', 'witness', env, ros_arguments=arguments) as node:
        node.process.wait(timeout=60)
        assert node.process.returncode == 2 and "'log_path'" in node.output(), node.output()
        assert 'broken at record 2' in node.output()
