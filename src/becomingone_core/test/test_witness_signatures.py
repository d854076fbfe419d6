"""
Witness logs that prove their origin: signed chain heads, stored, exported and verified.

A mesh CA issues certificates to hosts ``a`` and ``b`` and to ``c``, which is revoked after it
signed. Host ``a``'s witness node (in process, its timers and callbacks called directly) signs
the head of its chain at its period and after every macro record; a memory node stores the
signatures. An MCAP export of a store is edited and imported again, and ``becomingone-memory
verify --ca`` must pass the untouched log and name the first bad record of an edited one, or
of one re-signed with host ``b``'s key.
"""

import dataclasses
import json
import sqlite3
import time

from becomingone_core import witness_chain
from becomingone_core.input_rules import NANOSECONDS
from becomingone_core.memory import cli, mcap_io, schema
from becomingone_core.memory.store import MemoryStore
from becomingone_core.nodes.memory_node import MemoryNode
from becomingone_core.nodes.witness_node import (
    head_from_message, signature_message, WitnessNode)
from becomingone_core.ros.guarded_node import STRICT_ENVIRONMENT
from becomingone_core.security.mesh_auth import MeshAuthority
from becomingone_core.security.pki import MeshPki
from becomingone_core.testing.memory_records import witness_entries
from becomingone_core.testing.processes import isolated_ros_env
from becomingone_core.testing.ros import RosProbe
from becomingone_msgs.msg import Resonance, SyncState
import pytest
from rclpy.parameter import Parameter

OBSERVER = 'a/witness'
# Signature stamps: now, when every certificate is valid.
SIGN_NS = int(time.time()) * NANOSECONDS


@pytest.fixture(autouse=True)
def strict(monkeypatch):
    monkeypatch.setenv(STRICT_ENVIRONMENT, '1')


@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    root = tmp_path_factory.mktemp('pki')
    mesh = MeshPki(root / 'ca')
    mesh.init('test mesh')
    directories = {}
    for node_id in ('a', 'b', 'c'):
        mesh.issue(node_id, role='full')
        directories[node_id] = root / node_id
        mesh.export(node_id, directories[node_id])
    mesh.revoke('c')
    directories['ca'] = mesh.ca_path
    directories['crl'] = mesh.crl_path
    return directories


@pytest.fixture(scope='module')
def hosts(pki):
    return {node_id: MeshAuthority.from_directory(pki[node_id]) for node_id in ('a', 'b', 'c')}


@pytest.fixture
def probe():
    with RosProbe(isolated_ros_env()) as probe:
        yield probe


def _callbacks(node):
    return {sub.topic_name.lstrip('/'): sub.callback for sub in node.subscriptions}


def _stamp(message, nanoseconds):
    message.header.stamp.sec, message.header.stamp.nanosec = divmod(int(nanoseconds), NANOSECONDS)
    return message


def _now_ns(node):
    return node.get_clock().now().nanoseconds


def _sign_timer(node):
    return next(t for t in node.timers if t.timer_period_ns == 5 * NANOSECONDS)


# ----------------------------------------------------------------------------- the witness node
def test_the_witness_signs_its_head_at_its_period_and_after_every_macro_record(
        probe, pki, tmp_path, capsys):
    log = tmp_path / 'witness.jsonl'
    node = WitnessNode(context=probe.context, parameter_overrides=[
        Parameter('security_dir', value=str(pki['a'])), Parameter('log_path', value=str(log))])
    try:
        assert node.witness.chain.observer == OBSERVER  # the chain names its host
        records, signatures = [], []
        node._publisher.publish = records.append
        node._signature_publisher.publish = signatures.append
        sign = _sign_timer(node).callback
        on = _callbacks(node)
        sign()
        assert signatures == []  # nothing to sign yet
        resonance = Resonance(transducer='emissary', summary_real=0.9, summary_coherence=0.81,
                              samples=10)
        on['emissary/resonance'](_stamp(resonance, _now_ns(node)))
        assert records and not signatures  # micro/meso records wait for the period
        sign()
        assert [s.sequence for s in signatures] == [records[-1].sequence]
        sign()
        assert len(signatures) == 1  # the head did not move: nothing new to sign
        collapse = SyncState(coherence=0.9, threshold=0.6, collapsed=True)
        on['sync/state'](_stamp(collapse, _now_ns(node)))
        assert records[-1].event == 'collapse' and len(signatures) == 2
        assert (signatures[-1].sequence, signatures[-1].digest) == (records[-1].sequence,
                                                                    records[-1].digest)
        trust = MeshAuthority.from_directory(pki['a']).trust
        heads = [head_from_message(s) for s in signatures]
        assert all(witness_chain.check_head(h, trust) == '' for h in heads)
        assert all(h.observer == OBSERVER for h in heads)
    finally:
        node.destroy_node()
    # The log keeps them beside the chain, and witness_verify checks them against the CA.
    assert witness_chain.read_signatures(witness_chain.signatures_path(log)) == heads
    assert witness_chain.main(['--ca', str(pki['ca']), str(log)]) == 0
    out = capsys.readouterr().out
    assert f'{OBSERVER}: proven up to {heads[-1].sequence}' in out
    assert witness_chain.main([str(log)]) == 0
    assert 'internal consistency only' in capsys.readouterr().out


def test_without_a_pki_the_witness_signs_nothing_and_keeps_its_name(probe):
    node = WitnessNode(context=probe.context)
    try:
        assert node.witness.chain.observer == 'witness'
        signatures = []
        node._signature_publisher.publish = signatures.append
        on = _callbacks(node)
        on['sync/state'](_stamp(SyncState(coherence=0.9, threshold=0.6, collapsed=True),
                                _now_ns(node)))
        assert node.witness.records == 1 and node.sign_head() is None and signatures == []
        assert not any(t.timer_period_ns == 5 * NANOSECONDS for t in node.timers)
    finally:
        node.destroy_node()


def test_a_memory_node_stores_signatures_and_refuses_bad_ones(probe, hosts, tmp_path):
    node = MemoryNode(context=probe.context, parameter_overrides=[
        Parameter('path', value=str(tmp_path / 'm.sqlite3'))])
    try:
        on = _callbacks(node)
        now = _now_ns(node)
        entries = witness_entries(3, observer=OBSERVER, stamp_ns=lambda s: now - 1000 + s)
        head = witness_chain.sign_head(hosts['a'], OBSERVER, entries[-1], now)
        message = signature_message(head)
        on['witness/signatures'](message)
        on['witness/signatures'](message)  # redelivered (transient local): a duplicate
        for name, value in (('digest', 'x' * 64), ('signature', b'\0' * 63),
                            ('certificate', b'\0' * 16385), ('observer', 'o' * 300),
                            ('sequence', 2**63)):
            forged = signature_message(head)
            setattr(forged, name, value)
            on['witness/signatures'](forged)
        node.flush()
        assert list(node.store.witness.iter_signatures()) == [head]
        assert node.store.witness.duplicate_signatures == 1
        assert node._rejections.total == 5 and node.internal_errors == 0
    finally:
        node.destroy_node()


# ----------------------------------------------------------------------------- export -> verify
def _signed_store(path, authority, count=30, every=10, observer=OBSERVER):
    """Store a chain of ``count`` records with a head signed after every ``every``."""
    entries = witness_entries(count, observer=observer)
    with MemoryStore(path) as store:
        for entry in entries:
            store.witness.add(entry)
            if (entry.sequence + 1) % every == 0:
                store.witness.add_signature(witness_chain.sign_head(
                    authority, observer, entry, SIGN_NS + entry.sequence))
        store.flush()
    return entries


def _verify(path, capsys, *options):
    status = cli.main(['--store', str(path), 'verify', *options])
    report = json.loads(capsys.readouterr().out)
    return status, report


def _round_trip(tmp_path, source, edit=None):
    """Export ``source``, let ``edit`` change the decoded items, import them into a new store."""
    exported = tmp_path / 'export.mcap'
    with MemoryStore(source, read_only=True) as store:
        mcap_io.export(store, exported)
    items = mcap_io.read_import(exported)
    if edit is not None:
        items = edit(items)
    target = tmp_path / 'imported.sqlite3'
    with MemoryStore(target) as store:
        mcap_io.store_import(store, exported, items)
    return target


def test_an_untouched_export_passes_and_says_how_far_it_is_proven(pki, hosts, tmp_path, capsys):
    source = tmp_path / 'a.sqlite3'
    _signed_store(source, hosts['a'], count=35)
    target = _round_trip(tmp_path, source)
    status, report = _verify(target, capsys, '--ca', str(pki['ca']), '--crl', str(pki['crl']))
    assert status == 0, report
    proof = report['witness_signatures'][OBSERVER]
    assert (proof['proven_to'], proof['first_bad'], proof['signatures']) == (29, None, 3)
    assert proof['unsigned_tail'] == [30, 34] and proof['unsigned_records'] == 5
    assert report['signatures_checked'].startswith('against the mesh CA')


def _edit_value(sequence, rehash):
    def edit(items):
        out, chain = [], None
        for kind, item in items:
            if kind == 'witness' and item.sequence >= sequence and (rehash or
                                                                    item.sequence == sequence):
                if item.sequence == sequence:
                    item = dataclasses.replace(item, values=(0.99,) + item.values[1:])
                if rehash:
                    previous = chain.digest if chain is not None else item.previous_digest
                    item = dataclasses.replace(item, previous_digest=previous, digest=(
                        witness_chain.digest_of(item.sequence, item.layer, item.stamp_ns,
                                                item.observer, item.subject, item.event,
                                                item.names, item.values, previous)))
                    chain = item
            out.append((kind, item))
        return out
    return edit


def test_an_edited_value_with_the_chain_rehashed_fails_at_its_segment(pki, hosts, tmp_path,
                                                                      capsys):
    source = tmp_path / 'a.sqlite3'
    _signed_store(source, hosts['a'], count=40)
    # Records 10..19 are vouched for by the head signed at 19: the first of them is named.
    target = _round_trip(tmp_path, source, _edit_value(14, rehash=True))
    status, report = _verify(target, capsys, '--ca', str(pki['ca']))
    assert report['witness_chain_breaks'] == {}  # consistent: only the signatures tell
    proof = report['witness_signatures'][OBSERVER]
    assert status == 1
    assert (proof['first_bad'], proof['reason'], proof['proven_to']) == (
        10, 'digest_mismatch', 9)


def test_an_edited_value_without_a_rehash_is_a_chain_break(pki, hosts, tmp_path, capsys):
    source = tmp_path / 'a.sqlite3'
    _signed_store(source, hosts['a'], count=40)
    target = _round_trip(tmp_path, source, _edit_value(14, rehash=False))
    status, report = _verify(target, capsys, '--ca', str(pki['ca']))
    assert status == 1 and report['witness_chain_breaks'] == {OBSERVER: 14}
    # The signatures still hold for what precedes the break.
    proof = report['witness_signatures'][OBSERVER]
    assert proof['first_bad'] is None and proof['proven_to'] == 9


def _resign(authority):
    def edit(items):
        return [(kind, witness_chain.sign_head(authority, item.observer, item, item.stamp_ns)
                 if kind == 'witness_signature' else item) for kind, item in items]
    return edit


def test_signatures_re_signed_with_another_hosts_key_fail_at_the_first_record(
        pki, hosts, tmp_path, capsys):
    source = tmp_path / 'a.sqlite3'
    _signed_store(source, hosts['a'], count=30)
    target = _round_trip(tmp_path, source, _resign(hosts['b']))
    status, report = _verify(target, capsys, '--ca', str(pki['ca']))
    proof = report['witness_signatures'][OBSERVER]
    assert status == 1 and (proof['first_bad'], proof['reason']) == (0, 'wrong_identity')
    assert proof['proven_to'] is None
    # Without the CA the swap is still seen: b's certificate does not name host a.
    assert _verify(target, capsys)[1]['witness_signatures'][OBSERVER]['first_bad'] == 0


def test_a_log_signed_by_a_certificate_now_revoked_fails(pki, hosts, tmp_path, capsys):
    source = tmp_path / 'c.sqlite3'
    _signed_store(source, hosts['c'], observer='c/witness')
    status, report = _verify(source, capsys, '--ca', str(pki['ca']), '--crl', str(pki['crl']))
    proof = report['witness_signatures']['c/witness']
    assert status == 1 and (proof['first_bad'], proof['reason']) == (0, 'revoked')
    # The CA alone (no CRL) does not know of the revocation.
    assert _verify(source, capsys, '--ca', str(pki['ca']))[0] == 0


def test_without_a_ca_signatures_are_checked_for_consistency_only(pki, hosts, tmp_path, capsys):
    source = tmp_path / 'a.sqlite3'
    _signed_store(source, hosts['a'])
    status, report = _verify(source, capsys)
    assert status == 0 and report['signatures_checked'].startswith('internal consistency only')
    assert report['witness_signatures'][OBSERVER]['proven_to'] == 29
    # A corrupted signature fails even so.
    with sqlite3.connect(source) as connection:
        connection.execute('UPDATE witness_signatures SET signature = ? WHERE sequence = 19',
                           (b'\1' * 64,))
    status, report = _verify(source, capsys)
    proof = report['witness_signatures'][OBSERVER]
    assert status == 1 and (proof['first_bad'], proof['reason']) == (10, 'bad_signature')


def test_an_import_with_a_malformed_signature_stores_nothing(hosts, tmp_path):
    source = tmp_path / 'a.sqlite3'
    _signed_store(source, hosts['a'])
    exported = tmp_path / 'export.mcap'
    with MemoryStore(source, read_only=True) as store:
        mcap_io.export(store, exported)
    items = mcap_io.read_import(exported)
    kinds = [kind for kind, _ in items]
    assert kinds.count('witness_signature') == 3 and kinds.count('witness') == 30
    bad = [(kind, dataclasses.replace(item, sequence=2**63) if kind == 'witness_signature'
            else item) for kind, item in items]
    target = tmp_path / 'target.sqlite3'
    with MemoryStore(target) as store:
        with pytest.raises(mcap_io.ImportFailed, match='unchanged'):
            mcap_io.store_import(store, exported, bad)
        assert store.stored_counts()['witness'] == 0 and store.witness.signature_count() == 0
        # Imported twice: the second time every signature is a duplicate.
        mcap_io.store_import(store, exported, items)
        counts = mcap_io.store_import(store, exported, items)
        assert counts['duplicates'] == 33 and store.witness.signature_count() == 3


def test_a_version_2_store_is_migrated_and_keeps_its_chain(tmp_path):
    path = tmp_path / 'old.sqlite3'
    with MemoryStore(path) as store:
        for entry in witness_entries(5):
            store.witness.add(entry)
        store.flush()
    # Back to version 2: no packed numbers (version 4), no signature table (version 3).
    with sqlite3.connect(path) as connection:
        connection.execute('DROP INDEX records_by_time')
        connection.execute('ALTER TABLE records DROP COLUMN packed')
        connection.execute('ALTER TABLE records DROP COLUMN collapsed')
        connection.execute('CREATE INDEX records_by_time ON records (kind, stamp_ns)')
        connection.execute('DROP TABLE witness_signatures')
        connection.execute('PRAGMA user_version = 2')
    with MemoryStore(path) as store:
        assert store._connection.execute('PRAGMA user_version').fetchone()[0] == schema.VERSION
        assert store.witness.verify() == {} and store.witness.signature_count() == 0
        assert store.stored_counts()['witness'] == 5
        assert store.witness.proofs()['cell/witness'].signatures == 0
