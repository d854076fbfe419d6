"""The TLS admission gate: real TLS 1.3 handshakes on loopback, every kind of bad knocker."""

import json
import socket
import ssl
import threading
import time

from becomingone_core import transport_tls
from becomingone_core.testing.processes import free_port, wait_until
from becomingone_core.testing.tls_hosts import mesh_with_intruders
from becomingone_core.tls_admission import (
    AdmissionError, AdmissionGate, GATE_PORT_OFFSET, HANDSHAKE_TIMEOUT_S, knock, Knocker, main,
    MAX_ANSWER, MAX_HANDSHAKES, MAX_REMEMBERED, REASONS, Settings)
from hypothesis import given, HealthCheck, settings, strategies as st
import pytest

# Loopback addresses of their own (Linux routes all of 127/8 to lo): the gate tells knockers
# apart by address, as it does hosts on a LAN.
ADDRESSES = {'h0': '127.0.0.1', 'h1': '127.0.0.2', 'x_nocert': '127.0.0.3',
             'x_selfsigned': '127.0.0.4', 'x_otherca': '127.0.0.5', 'x_expired': '127.0.0.6',
             'x_revoked': '127.0.0.7', 'h2': '127.0.0.8'}
EXPECTED = {'x_nocert': 'no_certificate', 'x_selfsigned': 'self_signed',
            'x_otherca': 'untrusted', 'x_expired': 'expired', 'x_revoked': 'untrusted'}


@pytest.fixture(scope='module')
def mesh(tmp_path_factory):
    directory = tmp_path_factory.mktemp('tls')
    _, tls = mesh_with_intruders(directory, ['h0', 'h1', 'h2'])
    port = free_port()
    hosts = {n: (a, port) for n, a in ADDRESSES.items()}
    settings = {}
    for node_id, files in tls.items():
        settings[node_id] = Settings(node_id, hosts, str(files.ca_path), str(files.cert_path),
                                     str(files.key_path))
    settings['x_nocert'] = Settings('x_nocert', hosts, str(tls['h0'].ca_path))
    return settings


@pytest.fixture
def gate(mesh):
    events = []
    # Only h0 and h1 are in h0's own host list; h2 holds a valid certificate but is unlisted.
    listed = {n: mesh['h0'].hosts[n] for n in ('h0', 'h1')}
    settings = Settings('h0', listed, mesh['h0'].ca_file, mesh['h0'].cert_file,
                        mesh['h0'].key_file)
    with AdmissionGate(settings, on_event=lambda *e: events.append(e)) as running:
        running.events = events
        yield running


def test_a_listed_host_is_admitted_and_every_intruder_refused_with_its_reason(mesh, gate):
    assert knock(mesh['h1'], 'h0') == (True, 'admitted h1')
    for node_id, reason in EXPECTED.items():
        admitted, what = knock(mesh[node_id], 'h0')
        assert not admitted and what.startswith('refused in the handshake'), (node_id, what)
        assert wait_until(lambda: any(e[0] == ADDRESSES[node_id] for e in gate.events), 5)
        event = next(e for e in gate.events if e[0] == ADDRESSES[node_id])
        assert event[2] == reason, (node_id, event)
    # The same certificates the refused ones hold fail Fast DDS's handshake for the same
    # reasons (test_mesh_tls.py); here the gate counts and remembers them by address.
    assert gate.admitted == {'h1': 1}
    assert gate.refused == {'no_certificate': 1, 'self_signed': 1, 'untrusted': 2,
                            'expired': 1}
    assert {r.address: r.reason for r in gate.recent()} == {
        ADDRESSES[n]: r for n, r in EXPECTED.items()}


def test_a_valid_certificate_outside_the_host_list_or_from_another_address_is_refused(
        mesh, gate):
    assert knock(mesh['h2'], 'h0') == (False, 'refused unlisted')
    # h1's own files, but knocking from h2's address: not where h1 is listed.
    moved = Settings('h1', dict(mesh['h1'].hosts, h1=mesh['h1'].hosts['h2']),
                     mesh['h1'].ca_file, mesh['h1'].cert_file, mesh['h1'].key_file)
    assert knock(moved, 'h0') == (False, 'refused wrong_address')
    assert gate.refused == {'unlisted': 1, 'wrong_address': 1}
    assert not gate.admitted


def test_garbage_silence_and_floods_are_counted_and_the_gate_keeps_answering(mesh, gate):
    address = gate.address
    with socket.create_connection(address, source_address=('127.0.0.9', 0)) as raw:
        raw.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
        raw.settimeout(HANDSHAKE_TIMEOUT_S + 1)
        try:
            raw.recv(100)
        except OSError:
            pass
    assert wait_until(lambda: gate.refused['not_tls'] == 1, 5), gate.refused
    # More silent connections than the gate handles at once: the rest are refused as busy,
    # the silent ones time out, and a real knock is answered afterwards.
    silent = [socket.create_connection(address, source_address=(f'127.0.1.{i + 1}', 0))
              for i in range(MAX_HANDSHAKES + 4)]
    try:
        assert wait_until(lambda: gate.refused['busy'] >= 4, 5), gate.refused
        assert wait_until(lambda: gate.refused['timeout'] == MAX_HANDSHAKES,
                          HANDSHAKE_TIMEOUT_S + 3), gate.refused
    finally:
        for connection in silent:
            connection.close()
    assert knock(mesh['h1'], 'h0') == (True, 'admitted h1')
    # A flood from many addresses: memory stays bounded, counts stay exact.
    flooders = []
    for i in range(MAX_REMEMBERED + 20):
        connection = socket.create_connection(address, source_address=(f'127.0.2.{i + 1}', 0))
        connection.sendall(b'\x00' * 64)
        flooders.append(connection)
        if len(flooders) >= MAX_HANDSHAKES // 2:
            for each in flooders:
                each.close()
            flooders.clear()
            time.sleep(0.05)
    for each in flooders:
        each.close()
    total = MAX_REMEMBERED + 20
    assert wait_until(lambda: gate.refused['not_tls'] + gate.refused['busy']
                      + gate.refused['timeout'] >= 1 + total + MAX_HANDSHAKES, 10), gate.refused
    assert len(gate.recent()) == MAX_REMEMBERED
    assert set(gate.refused) <= set(REASONS)
    assert knock(mesh['h1'], 'h0') == (True, 'admitted h1')


def test_a_knocker_keeps_knocking_until_admitted_and_reports_changes(mesh, gate):
    changes = []
    knocker = Knocker(mesh['h1'], ['h0', 'h2'], on_change=lambda *c: changes.append(c),
                      retry_s=0.2, period_s=60.0)
    try:
        assert wait_until(lambda: len(changes) >= 2, 10), changes
        assert ('h0', True, 'admitted h1') in changes
        h2 = next(c for c in changes if c[0] == 'h2')
        assert not h2[1] and h2[2].startswith('unreachable'), h2  # no gate on h2's port
        count = len(changes)
        time.sleep(1.0)  # retried, unchanged: not reported again
        assert len(changes) == count
    finally:
        knocker.close()
    assert gate.admitted['h1'] == 1  # admitted once, next knock a minute later


def test_settings_round_trip_and_bad_files_are_refused(mesh, tmp_path):
    path = tmp_path / 'tls_admission.json'
    path.write_text(mesh['h1'].to_json())
    assert Settings.from_file(path) == mesh['h1']
    for text in ('', '[]', '{"this_host": "a"}', '{"this_host": "a", "hosts": {"b": '
                 '["10.0.0.1", 7700]}, "ca_file": "/x"}', '{"this_host": "a", "hosts": {"a": '
                 '["10.0.0.999", 7700]}, "ca_file": "/x"}', '{"this_host": "a", "hosts": {"a": '
                 '["10.0.0.1", 99999]}, "ca_file": "/x"}', '{' * 100_000, 'x' * 2_000_000):
        path.write_text(text)
        with pytest.raises(AdmissionError):
            Settings.from_file(path)
    with pytest.raises(AdmissionError):
        Settings.from_file(tmp_path / 'absent.json')
    broken = Settings('h0', mesh['h0'].hosts, mesh['h0'].ca_file, '/nonexistent', '/none')
    with pytest.raises(AdmissionError):
        AdmissionGate(broken)


def test_the_generator_writes_the_settings_and_keeps_gate_ports_free(mesh, tmp_path):
    h0 = mesh['h0']
    hosts = {'pi1': '10.0.0.1', 'pi2': '10.0.0.2'}
    transport_tls.write_host_files(tmp_path, 'pi1', hosts, ca_file=h0.ca_file,
                                   cert_file=h0.cert_file, key_file=h0.key_file)
    settings = Settings.from_file(tmp_path / 'tls_admission.json')
    assert settings.hosts == {'pi1': ('10.0.0.1', 7700), 'pi2': ('10.0.0.2', 7700)}
    assert settings.gate('pi2') == ('10.0.0.2', 7700 + GATE_PORT_OFFSET)
    with pytest.raises(transport_tls.TlsProfileError, match='admission gate'):
        transport_tls.check_hosts('pi1', {'pi1': '10.0.0.1:7700', 'pi2': '10.0.0.1:7701'})
    with pytest.raises(transport_tls.TlsProfileError):
        transport_tls.check_hosts('pi1', {'pi1': '10.0.0.1:65535'})


def test_a_gate_answers_while_many_knock_at_once(mesh, gate):
    results = []
    threads = [threading.Thread(target=lambda: results.append(knock(mesh['h1'], 'h0')))
               for _ in range(MAX_HANDSHAKES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=HANDSHAKE_TIMEOUT_S * 2)
    assert results.count((True, 'admitted h1')) + gate.refused['busy'] == MAX_HANDSHAKES
    assert results.count((True, 'admitted h1')) >= 1
    assert all(isinstance(r, tuple) for r in results)


def test_tls_older_than_1_3_is_refused_as_protocol(mesh, gate):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(gate.address, source_address=('127.0.0.10', 0)) as raw:
        with pytest.raises(ssl.SSLError):
            context.wrap_socket(raw)
    assert wait_until(lambda: gate.refused['protocol'] == 1, 5), gate.refused


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
                    max_leaves=20))
def test_any_json_is_settings_or_a_refusal(tmp_path, value):
    path = tmp_path / 'settings.json'
    path.write_text(json.dumps(value))
    try:
        loaded = Settings.from_file(path)
    except AdmissionError:
        return
    assert loaded.this_host in loaded.hosts


def test_the_knock_command_prints_every_answer(mesh, gate, capsys, tmp_path):
    path = tmp_path / 'h1.json'
    path.write_text(mesh['h1'].to_json())
    assert main([str(path), '--peer', 'h0']) == 0
    assert 'h0 (127.0.0.1:' in capsys.readouterr().out
    path.write_text(mesh['x_expired'].to_json())
    assert main([str(path), '--peer', 'h0']) == 1
    assert 'refused in the handshake' in capsys.readouterr().out
    assert main([str(path), '--peer', 'nobody']) == 2
    path.write_text('{}')
    assert main([str(path)]) == 2


def test_a_hostile_gate_cannot_flood_or_confuse_the_knocker(mesh, tmp_path):
    # A real TLS server at h0's gate address that answers with megabytes and no line end,
    # then one that answers bytes that are no UTF-8: the knocker reads a bounded line.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(mesh['h0'].cert_file, mesh['h0'].key_file)
    with socket.create_server(mesh['h1'].gate('h0')) as listener:
        def serve(payloads):
            for payload in payloads:
                connection, _ = listener.accept()
                with context.wrap_socket(connection, server_side=True) as tls:
                    try:
                        tls.sendall(payload)
                    except OSError:
                        pass
        server = threading.Thread(target=serve, args=([b'x' * 5_000_000, b'\xff\xfe\n'],))
        server.start()
        flooded = knock(mesh['h1'], 'h0')
        garbled = knock(mesh['h1'], 'h0')
        server.join(timeout=HANDSHAKE_TIMEOUT_S * 2)
    assert flooded[0] is False and len(flooded[1]) <= MAX_ANSWER, flooded
    assert garbled[0] is False and len(garbled[1]) <= MAX_ANSWER, garbled
