"""``becomingone-pki`` round trip: every sub-command, exit codes, one-line errors, no key shown."""

import io
import json
import stat
import subprocess
import sys
import time

from becomingone_core.security import pki
from becomingone_core.security.cli import main
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree
import pytest


def _run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _ok(*argv):
    code, out, err = _run(*argv)
    assert (code, err) == (0, ''), err
    return out


def _refused(*argv):
    code, out, err = _run(*argv)
    assert code == 2 and out == ''
    assert err.startswith('becomingone-pki: error: ') and err.count('\n') == 1, err
    return err


def test_round_trip(tmp_path):
    d = str(tmp_path / 'pki')
    printed = [_ok('--dir', d, 'init', 'lab')]
    printed.append(_ok('--dir', d, 'issue', 'pi1', '--weight', '2', '--role', 'full'))
    printed.append(_ok('--dir', d, 'issue', '7', '--days', '30'))
    printed.append(_ok('--dir', d, 'issue', 'alice', '--operator'))
    table = _ok('--dir', d, 'list')
    printed.append(table)
    assert table.splitlines()[0].split() == ['NODE_ID', 'SERIAL', 'STATUS', 'NOT_AFTER', 'GRANTS']
    assert any(line.startswith('pi1 ') and 'weight 2, role full' in line
               for line in table.splitlines())
    listed = json.loads(_ok('--dir', d, 'list', '--json'))
    assert [(c['node_id'], c['status'], c['operator']) for c in listed] == [
        ('7', 'valid', False), ('alice', 'valid', True), ('pi1', 'valid', False)]
    shown = json.loads(_ok('--dir', d, 'show', 'pi1', '--json'))
    assert (shown['weight'], shown['role'], shown['status']) == (2.0, 'full', 'valid')
    printed.append(_ok('--dir', d, 'show', 'pi1'))

    deploy = tmp_path / 'deploy'
    exported = _ok('--dir', d, 'export', 'pi1', '--to', str(deploy))
    printed.append(exported)
    assert '(TLS generation 1)' in exported
    assert sorted(p.name for p in deploy.iterdir()) == [
        'ca.pem', 'crl.pem', 'host.key', 'host.pem', 'tls-ca.pem', 'tls.key', 'tls.pem']
    assert stat.S_IMODE((deploy / 'host.key').stat().st_mode) == 0o600
    assert stat.S_IMODE((deploy / 'tls.key').stat().st_mode) == 0o600
    _ok('--dir', d, 'export', '7', '--to', str(tmp_path / 'deploy-7'))
    store = pki.TrustStore.from_files(deploy / 'ca.pem', deploy / 'crl.pem')
    credentials = pki.HostCredentials.load(deploy / 'host.pem', deploy / 'host.key')
    identity = store.identify(credentials.certificate_der, time.time())
    assert (identity.node_id, identity.weight) == ('pi1', 2.0)

    # alice never got TLS files: revoking her leaves the TLS generation as it is.
    assert 'TLS generation' not in _ok('--dir', d, 'revoke', 'alice')
    revoked = _ok('--dir', d, 'revoke', 'pi1', '--reason', 'key_compromise')
    printed.append(revoked)
    # pi1 held TLS files: a new generation, and the operator is told who to export again.
    assert 'TLS generation 2:' in revoked and 'again (7)' in revoked, revoked
    assert '(TLS generation 2)' in _ok('--dir', d, 'export', '7', '--to',
                                       str(tmp_path / 'deploy-7'))
    assert json.loads(_ok('--dir', d, 'show', 'pi1', '--json'))['status'] == 'revoked'
    assert 'is revoked' in _refused('--dir', d, 'export', 'pi1', '--to', str(deploy))
    store.reload_crl((tmp_path / 'pki' / 'crl.pem').read_bytes())
    with pytest.raises(pki.Untrusted):
        store.identify(credentials.certificate_der, time.time())
    # Rotation: a new certificate for the same id; with --replace the old one is superseded.
    _ok('--dir', d, 'issue', 'pi1', '--weight', '1')
    assert 'holds certificate' in _refused('--dir', d, 'issue', 'pi1')
    _ok('--dir', d, 'issue', 'pi1', '--replace')
    serial = json.loads(_ok('--dir', d, 'show', 'pi1', '--json'))['serial_hex']
    _ok('--dir', d, 'revoke', 'pi1', '--serial', serial)
    assert 'no unrevoked' in _refused('--dir', d, 'revoke', 'pi1')

    keys = [p.read_bytes().decode() for p in (tmp_path / 'pki').rglob('*.key')]
    for text in printed:
        assert 'PRIVATE KEY' not in text
        assert not any(key.splitlines()[1] in text for key in keys)


@pytest.mark.parametrize('argv, says', [
    ((), 'required'),
    (('init',), 'required'),
    (('issue', 'pi1', '--role', 'boss'), 'invalid choice'),
    (('issue', 'pi1', '--weight', 'heavy'), 'not a number'),
    (('issue', 'pi1', '--weight', '-1'), 'weight'),
    (('issue', 'pi1', '--weight', 'nan'), 'weight'),
    (('issue', 'pi1', '--days', '0'), 'days'),
    (('issue', 'x' * 257), '1..256'),
    (('issue', ''), '1..256'),
    (('revoke', 'nobody'), 'no certificate'),
    (('revoke', 'pi1', '--serial', 'xyz'), 'hexadecimal'),
    (('show', 'nobody'), 'no certificate'),
    (('init', 'lab'), 'refusing to overwrite'),
    (('frobnicate',), 'invalid choice'),
    (('policy', '--namespace', 'pi1'), 'namespace'),
])
def test_refusals_are_one_line_and_exit_2(tmp_path, argv, says):
    d = str(tmp_path / 'pki')
    _ok('--dir', d, 'init', 'lab')
    assert says in _refused('--dir', d, *argv)


def test_needs_an_initialised_directory(tmp_path):
    missing = tmp_path / 'none'
    assert 'run init first' in _refused('--dir', str(missing), 'list')
    assert 'run init first' in _refused('--dir', str(missing), 'issue', 'pi1')
    assert not missing.exists()


def test_default_directory_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CONFIG_HOME', str(tmp_path / 'config'))
    _ok('init', 'lab')
    assert (tmp_path / 'config' / 'becomingone' / 'pki' / 'ca.pem').exists()


def test_policy_sub_command(tmp_path):
    target = tmp_path / 'policy.xml'
    _ok('policy', '--namespace', '/pi1', '--role', 'light', '--role', 'relay', '--output',
        str(target))
    root = etree.fromstring(target.read_bytes())
    assert [e.get('path') for e in root.iter('enclave')] == [
        '/becomingone/light/emissary', '/becomingone/light/sync', '/becomingone/light/mesh',
        '/becomingone/relay/mesh']
    assert _ok('policy', '--namespace', '/pi1').startswith('<?xml')


def test_as_a_process(tmp_path):
    """The module runs as the console script does: exit codes and stderr from a real process."""
    d = str(tmp_path / 'pki')

    def run(*argv):
        return subprocess.run([sys.executable, '-m', 'becomingone_core.security.cli', *argv],
                              capture_output=True, text=True, timeout=60)

    assert run('--dir', d, 'init', 'lab').returncode == 0
    again = run('--dir', d, 'init', 'lab')
    assert again.returncode == 2 and again.stderr.count('\n') == 1 and not again.stdout
    helped = run('--help')
    assert helped.returncode == 0 and 'export' in helped.stdout and 'exit status' in helped.stdout
    issued = run('--dir', d, 'issue', '7')
    assert issued.returncode == 0, issued.stderr
    certificate = x509.load_pem_x509_certificate((tmp_path / 'pki/hosts/7.pem').read_bytes())
    assert certificate.public_bytes(serialization.Encoding.DER)
