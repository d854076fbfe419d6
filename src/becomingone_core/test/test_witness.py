"""Witness: four layers, rate budget, stream loss, and a hash chain that shows any edit."""

import dataclasses
import json

from becomingone_core.health import WARN
from becomingone_core.witness import Witness
from becomingone_core.witness_chain import (GENESIS, HashChain, LogWriter, MACRO, main, MESO,
                                            META, MICRO, read_log, verify, verify_log)
import pytest


def _chain(count=20):
    chain = HashChain('witness')
    return [chain.append(i % 4, 'emissary', 'cycle', 1_000_000 * i,
                         {'coherence': i / count, 'samples': i}) for i in range(count)]


def test_chain_links_every_record_to_the_previous_one():
    records = _chain()
    assert records[0].previous_digest == GENESIS and records[0].sequence == 0
    assert all(b.previous_digest == a.digest for a, b in zip(records, records[1:]))
    assert [r.sequence for r in records] == list(range(20))
    assert verify(records).ok and verify(records).checked == 20
    assert verify(records[7:]).ok  # a tail verifies on its own


@pytest.mark.parametrize('index', [0, 5, 19])
@pytest.mark.parametrize('field,value', [
    ('values', (0.123, 4.0)), ('event', 'collapse'), ('stamp_ns', 42), ('layer', MACRO),
    ('subject', 'master'), ('names', ('coherence', 'sample')), ('observer', 'mallory')])
def test_changing_any_field_of_any_record_breaks_verification_there(index, field, value):
    records = _chain()
    records[index] = dataclasses.replace(records[index], **{field: value})
    result = verify(records)
    assert not result.ok and result.bad_index == index and result.checked == index


def test_removing_reordering_or_rehashing_one_record_is_detected():
    records = _chain()
    assert verify(records[:5] + records[6:]).bad_index == 5
    assert verify(records[:3] + [records[4], records[3]] + records[5:]).bad_index == 3
    # Recomputing the edited record's own digest does not help: the next record still chains
    # to the old digest.
    forged = HashChain('witness')
    forged.sequence, forged.last_digest = 5, records[4].digest
    replacement = forged.append(MESO, 'emissary', 'cycle', 5_000_000, {'coherence': 1.0})
    assert verify(records[:5] + [replacement] + records[6:]).bad_index == 6


def test_log_round_trip_and_edit_on_disk(tmp_path, capsys):
    path = tmp_path / 'witness.jsonl'
    writer = LogWriter(path)
    for record in _chain():
        writer.write(record)
    writer.close()
    assert read_log(path) == _chain() and verify_log(path).ok
    assert main([str(path)]) == 0
    lines = path.read_text().splitlines()
    edited = json.loads(lines[11])
    edited['event'] = 'release'
    lines[11] = json.dumps(edited)
    path.write_text('\n'.join(lines) + '\n')
    result = verify_log(path)
    assert not result.ok and result.bad_index == 11
    assert main([str(path)]) == 1 and 'BROKEN at record 11' in capsys.readouterr().out


def test_a_chain_continues_across_restarts():
    records = _chain(3)
    more = HashChain('witness', last=records[-1]).append(META, 'witness', 'health', 9, {})
    assert more.sequence == 3 and verify(records + [more]).ok


def _resonance(witness, now_s, samples, rejected=0, coherence=0.5, name='emissary'):
    return witness.observe_resonance(
        name, int(now_s * 1e9), now_s, coherence=coherence, summary=complex(coherence ** 0.5),
        tau=0.5, samples=samples, rejected=rejected, active_sources=1)


def test_four_layers():
    witness = Witness('witness', {'emissary/resonance': 1.0}, now_s=0.0)
    made = []
    records = _resonance(witness, 0.1, samples=10, coherence=0.2)
    made += records
    assert [(r.layer, r.event) for r in records] == [(MICRO, 'accepted'), (MESO, 'cycle')]
    assert records[0].value('coherence_change') == pytest.approx(0.2)
    records = _resonance(witness, 0.2, samples=15, rejected=2, coherence=0.5)
    assert [(r.layer, r.event) for r in records] == [
        (MICRO, 'accepted'), (MICRO, 'rejected'), (MESO, 'cycle')]
    made += records
    assert records[0].value('samples') == 5 and records[1].value('samples') == 2
    assert records[0].value('coherence_change') == pytest.approx(0.3)
    sync = {'coherence': 0.8, 'realign_requested': False, 'delta_phase': 0.1, 'threshold': 0.5}
    assert witness.observe_sync(1, 0.3, collapsed=False, **sync) == []
    made += witness.observe_sync(2, 0.4, collapsed=True, **sync)
    assert [r.event for r in made[-1:]] == ['collapse']
    sync['realign_requested'] = True
    made += witness.observe_sync(3, 0.5, collapsed=False, **sync)
    assert [r.event for r in made[-2:]] == ['release', 'realign']
    health = witness.health(1.0, 4)
    made += health
    assert health[0].layer == META and health[0].value('records') == witness.records - 1
    assert witness.by_layer == [3, 2, 3, 1]
    assert verify(made).ok and verify(made).checked == 9


def test_micro_and_meso_past_the_budget_are_dropped_and_counted_but_macro_never():
    witness = Witness('witness', {}, now_s=0.0, max_records_per_s=10.0)
    made = sum(len(_resonance(witness, 0.0, samples=n + 1)) for n in range(20))
    assert made == 10 and witness.dropped == 30
    sync = {'coherence': 0.8, 'realign_requested': False, 'delta_phase': 0.1, 'threshold': 0.5}
    assert len(witness.observe_sync(1, 0.0, collapsed=True, **sync)) == 1
    assert witness.health(0.0, 2)[0].value('dropped') == 30


def test_missing_stream_is_reported_once_within_its_timeout_and_its_return_too():
    witness = Witness('witness', {'emissary/resonance': 1.0, 'phase': 2.0}, now_s=0.0)
    _resonance(witness, 0.5, samples=1)
    witness.observe_input('phase', 0.5)
    assert witness.check_streams(1.0, 1) == []
    lost = witness.check_streams(1.6, 2)
    assert [(r.layer, r.subject, r.event) for r in lost] == [
        (MACRO, 'emissary/resonance', 'stream_lost')]
    assert witness.check_streams(1.7, 3) == []
    assert witness.lost == {'emissary/resonance'}
    assert [r.subject for r in witness.check_streams(2.6, 4)] == ['phase']
    _resonance(witness, 2.7, samples=2)
    back = witness.check_streams(2.8, 5)
    assert [(r.subject, r.event) for r in back] == [('emissary/resonance', 'stream_restored')]


def test_a_stream_never_heard_is_waiting_not_lost():
    # Regression: every stream was reported lost ~2 s after start-up, before any input.
    witness = Witness('witness', {'phase': 1.0, 'sync/state': 1.0}, now_s=0.0)
    assert witness.check_streams(5.0, 1) == [] and witness.lost == set()
    status = witness.stream_statuses(5.0)['phase']
    assert status.level == WARN and 'waiting' in status.message
    witness.observe_input('phase', 5.5)
    assert witness.check_streams(6.0, 2) == []
    assert [r.event for r in witness.check_streams(7.0, 3)] == ['stream_lost']
    assert witness.lost == {'phase'}  # sync/state was never heard: still only waiting
