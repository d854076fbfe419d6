"""
The TLS admission check: who tried to join this host's mesh, and why it was turned away (no rclpy).

Fast DDS 2.14 refuses a peer whose TLS handshake fails without a word on the *accepting* side
(its accept errors are info-level log lines, compiled out of the wheels): a host with no
certificate, a self-made one, one from another CA, an expired one or a revoked one is kept
out, but the hosts that keep it out cannot tell anyone. So each host's mesh node also runs an
*admission gate* (:class:`AdmissionGate`) on the port after its Fast DDS TLS port
(:data:`GATE_PORT_OFFSET`), and knocks (:func:`knock`) on the gates of the hosts its Fast DDS
connects to (``transport_tls.connect_to``) with the same TLS files. The gate is Python's ``ssl``
with the same CA, TLS 1.3 and a client certificate required; it admits a knock only from a
listed node id at its listed address and refuses anything else with a reason (:data:`REASONS`)
that it counts, remembers per address and reports. The knocker hears the answer too.

The knock is not what keeps anyone out: Fast DDS's own handshake does that, whether a host
knocks or not. It is what makes a refusal visible on both sides, with its reason. A raw TLS
client that never knocks is still refused by Fast DDS, unseen (``SECURITY.md``).

Run as a program, it knocks on other hosts' gates and prints their answers (why cannot this
host join?)::

    python -m becomingone_core.tls_admission /etc/becomingone/tls/tls_admission.json

The gate's answer is a line: ``admitted NODE_ID`` or ``refused REASON``; a refusal during the
handshake is a TLS alert instead. A knocker does not verify the gate (the knock carries nothing
but its public certificate, and nothing acts on the answer except a log line).
"""

import argparse
import collections
import dataclasses
import ipaddress
import json
import os
import pathlib
import socket
import ssl
import sys
import threading
import time

#: The gate listens on the host's Fast DDS TLS port plus this.
GATE_PORT_OFFSET = 1
#: The highest Fast DDS TLS port a host may have (its gate's must exist too).
MAX_TLS_PORT = 65535 - GATE_PORT_OFFSET
#: Longest a knock's TLS handshake and answer may take (s), on either side.
HANDSHAKE_TIMEOUT_S = 5.0
#: Knocks handled at once; more are refused at once as ``busy`` (a flood cannot stall the gate).
MAX_HANDSHAKES = 8
#: Addresses whose last refusal the gate remembers (least recently refused dropped first).
MAX_REMEMBERED = 64
#: Longest answer line a knocker reads (bytes).
MAX_ANSWER = 200
#: File the TLS generator writes beside the Fast DDS profile (``transport_tls``).
SETTINGS_FILE = 'tls_admission.json'

#: Every reason a knock is refused for (the keys of :attr:`AdmissionGate.refused`).
REASONS = (
    'no_certificate',   # the knocker sent none
    'expired',          # its certificate's validity is over
    'not_yet_valid',    # ... or has not begun
    'self_signed',      # a certificate nobody issued
    'untrusted',        # another CA, or a TLS generation this host no longer trusts (revoked)
    'revoked',          # on a revocation list this gate checks
    'bad_certificate',  # any other verification failure
    'unlisted',         # a valid certificate whose node id is not in the host list
    'wrong_address',    # a listed node id knocking from another address than its listed one
    'not_tls',          # bytes that are no TLS handshake
    'protocol',         # a TLS handshake this gate does not speak (e.g. older than TLS 1.3)
    'timeout',          # no complete handshake within HANDSHAKE_TIMEOUT_S
    'busy',             # MAX_HANDSHAKES knocks already being handled
)

# OpenSSL's X509_V_ERR_* codes (x509_vfy.h), as the gate names them.
_VERIFY_REASONS = {9: 'not_yet_valid', 10: 'expired', 18: 'self_signed', 19: 'self_signed',
                   2: 'untrusted', 20: 'untrusted', 21: 'untrusted', 23: 'revoked'}
_EXPLAINED = {
    'untrusted': "its certificate does not chain to this mesh's TLS CA: another CA, or an "
                 'old TLS generation (a revoked host, or one not re-exported)',
    'self_signed': 'a self-signed certificate', 'expired': 'an expired certificate',
    'not_yet_valid': 'a certificate not valid yet', 'no_certificate': 'no certificate',
}


class AdmissionError(ValueError):
    """Settings the gate or the knocker cannot work with."""


@dataclasses.dataclass(frozen=True)
class Refusal:
    """The last refusal of one address: why, how often, when (monotonic s)."""

    address: str
    reason: str
    detail: str
    count: int
    last_s: float


@dataclasses.dataclass(frozen=True)
class Settings:
    """One host's admission settings: its id, the host list and its TLS files."""

    this_host: str
    hosts: dict  # node id -> (address, Fast DDS TLS port)
    ca_file: str
    cert_file: str = ''
    key_file: str = ''

    def gate(self, node_id=None):
        """Return where ``node_id``'s admission gate listens (this host's by default)."""
        address, port = self.hosts[node_id or self.this_host]
        return address, port + GATE_PORT_OFFSET

    def to_json(self):
        return json.dumps({'this_host': self.this_host,
                           'hosts': {n: list(a) for n, a in sorted(self.hosts.items())},
                           'ca_file': self.ca_file, 'cert_file': self.cert_file,
                           'key_file': self.key_file}, indent=2) + '\n'

    @classmethod
    def from_file(cls, path):
        """Read what :meth:`to_json` wrote; refuse anything else (:class:`AdmissionError`)."""
        try:
            text = pathlib.Path(path).read_text()
            data = json.loads(text) if len(text) <= 1_000_000 else None
            hosts = {str(n): (str(ipaddress.IPv4Address(a)), int(p))
                     for n, (a, p) in data['hosts'].items()}
            settings = cls(str(data['this_host']), hosts, str(data['ca_file']),
                           str(data.get('cert_file', '')), str(data.get('key_file', '')))
        except (OSError, TypeError, KeyError, AttributeError, ValueError) as error:
            raise AdmissionError(f'{str(path)[:200]}: not admission settings ({error})'[:300]) \
                from None
        if settings.this_host not in hosts or \
                not all(1 <= p <= MAX_TLS_PORT for _, p in hosts.values()):
            raise AdmissionError(f'{str(path)[:200]}: this host is not in its host list, or a '
                                 'port is out of range')
        return settings


def _node_id(certificate_der):
    from becomingone_core.security import pki
    from cryptography import x509
    return pki.certificate_node_id(x509.load_der_x509_certificate(certificate_der))


def _handshake_reason(error):
    """Return ``(reason, detail)`` for a failed server-side handshake."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return (_VERIFY_REASONS.get(error.verify_code, 'bad_certificate'),
                str(error.verify_message))
    if isinstance(error, (socket.timeout, TimeoutError)):
        return 'timeout', f'no handshake within {HANDSHAKE_TIMEOUT_S:g} s'
    reason = getattr(error, 'reason', None) or ''
    if reason == 'PEER_DID_NOT_RETURN_A_CERTIFICATE':
        return 'no_certificate', 'the knocker sent no certificate'
    if reason in ('WRONG_VERSION_NUMBER', 'HTTP_REQUEST', 'HTTPS_PROXY_REQUEST',
                  'UNKNOWN_PROTOCOL', 'RECORD_LAYER_FAILURE', 'PACKET_LENGTH_TOO_LONG') \
            or isinstance(error, (ConnectionError, ssl.SSLEOFError)):
        return 'not_tls', reason or type(error).__name__
    return 'protocol', (reason or str(error))[:120]


def _server_context(settings):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.verify_mode = ssl.CERT_REQUIRED
    try:
        context.load_verify_locations(settings.ca_file)
        context.load_cert_chain(settings.cert_file, settings.key_file)
    except (OSError, ssl.SSLError) as error:
        raise AdmissionError(f'the gate cannot use its TLS files: {error}'[:300]) from None
    return context


class AdmissionGate:
    """
    Answers knocks on ``settings.gate()``; counts refusals by reason, remembers them by address.

    ``on_event(address, node_id, reason, detail)`` is called for every knock from the gate's
    threads (``reason`` None: admitted). Runs until :meth:`close`.
    """

    def __init__(self, settings, on_event=None, clock=time.monotonic):
        self.settings = settings
        self._context = _server_context(settings)
        self._on_event = on_event or (lambda *event: None)
        self._clock = clock
        self._lock = threading.Lock()
        self.refused = collections.Counter()
        self.admitted = collections.Counter()  # node id -> knocks admitted
        self._recent = collections.OrderedDict()  # address -> Refusal
        self._slots = threading.BoundedSemaphore(MAX_HANDSHAKES)
        self._closed = threading.Event()
        address, port = settings.gate()
        try:
            self._listener = socket.create_server((address, port), backlog=64)
        except OSError as error:
            raise AdmissionError(f'the gate cannot listen on {address}:{port}: {error}') \
                from None
        self._listener.settimeout(0.5)  # so close() is seen
        self.address = self._listener.getsockname()[:2]
        self._thread = threading.Thread(target=self._accept_loop, name='tls-admission',
                                        daemon=True)
        self._thread.start()

    def recent(self):
        """Return the remembered refusals, most recent last."""
        with self._lock:
            return list(self._recent.values())

    def close(self):
        self._closed.set()
        self._listener.close()
        self._thread.join(timeout=2.0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _accept_loop(self):
        while not self._closed.is_set():
            try:
                connection, peer = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                if self._closed.is_set():
                    return
                time.sleep(0.05)  # e.g. out of file descriptors: try again, never stop
                continue
            if not self._slots.acquire(blocking=False):
                connection.close()
                self._record(peer[0], None, 'busy', f'{MAX_HANDSHAKES} knocks in progress')
                continue
            threading.Thread(target=self._answer, args=(connection, peer[0]),
                             name='tls-admission-knock', daemon=True).start()

    def _answer(self, connection, address):
        try:
            connection.settimeout(HANDSHAKE_TIMEOUT_S)
            try:
                tls = self._context.wrap_socket(connection, server_side=True)
            except (OSError, ssl.SSLError) as error:
                self._record(address, None, *_handshake_reason(error))
                return
            with tls:
                node_id, reason, detail = self._check(tls, address)
                answer = f'admitted {node_id}' if reason is None else f'refused {reason}'
                try:
                    tls.sendall(answer.encode() + b'\n')
                except OSError:
                    pass  # the knocker left: its knock is recorded all the same
                self._record(address, node_id, reason, detail)
        except Exception as error:  # never let one knock end the gate
            self._record(address, None, 'protocol', f'{type(error).__name__}: {error}'[:120])
        finally:
            connection.close()
            self._slots.release()

    def _check(self, tls, address):
        from becomingone_core.security.pki import Untrusted
        try:
            node_id = _node_id(tls.getpeercert(binary_form=True))
        except (Untrusted, ValueError) as error:
            return None, 'bad_certificate', str(error)[:120]
        listed = self.settings.hosts.get(node_id)
        if listed is None:
            return node_id, 'unlisted', f'{node_id!r:.60} is not in the host list'
        if listed[0] != address:
            return node_id, 'wrong_address', f'{node_id!r:.60} is listed at {listed[0]}'
        return node_id, None, ''

    def _record(self, address, node_id, reason, detail):
        with self._lock:
            if reason is None:
                self.admitted[node_id] += 1
                self._recent.pop(address, None)
            else:
                self.refused[reason] += 1
                before = self._recent.pop(address, None)
                count = 1 if before is None or before.reason != reason else before.count + 1
                self._recent[address] = Refusal(address, reason, detail, count, self._clock())
                while len(self._recent) > MAX_REMEMBERED:
                    self._recent.popitem(last=False)
        self._on_event(address, node_id, reason, detail)


def explain(reason, detail=''):
    """Return a short sentence for a refusal reason (what a log line says)."""
    text = _EXPLAINED.get(reason, reason.replace('_', ' '))
    return f'{text} ({detail})' if detail and reason not in ('no_certificate',) else text


def knock(settings, node_id, timeout_s=HANDSHAKE_TIMEOUT_S):
    """
    Knock on ``node_id``'s gate with this host's TLS files; return ``(admitted, what)``.

    ``what`` is the gate's answer or why there was none (``unreachable: ...``, or the TLS alert
    the gate refused the handshake with).
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # nothing acts on the answer (see the module)
    if settings.cert_file and os.path.exists(settings.cert_file):
        try:
            context.load_cert_chain(settings.cert_file, settings.key_file or None)
        except (OSError, ssl.SSLError) as error:
            return False, f'own TLS files unusable: {error}'[:200]
    address = settings.gate(node_id)
    try:
        # From this host's listed address: the gate checks it (a multi-homed host's route
        # might pick another).
        own = settings.hosts[settings.this_host][0]
        with socket.create_connection(address, timeout=timeout_s,
                                      source_address=(own, 0)) as raw, \
                context.wrap_socket(raw) as tls:
            answer = b''
            while b'\n' not in answer and len(answer) < MAX_ANSWER:
                chunk = tls.recv(MAX_ANSWER)
                if not chunk:
                    break
                answer += chunk
    except ssl.SSLError as error:
        return False, f'refused in the handshake: {error.reason or error}'[:200]
    except OSError as error:
        return False, f'unreachable: {error}'[:200]
    line = answer.split(b'\n', 1)[0].decode('utf-8', 'replace')[:MAX_ANSWER]
    return line.startswith('admitted '), line or 'no answer'


class Knocker:
    """
    Knocks on every gate ``settings`` names as this host's to connect to, until stopped.

    ``peers`` are the node ids whose gates it knocks on; a gate not yet admitting is tried every
    ``retry_s``, one that admitted every ``period_s``. ``on_change(node_id, admitted, what)``
    is called when a gate's answer changes. :attr:`answers` holds the latest ones.
    """

    def __init__(self, settings, peers, on_change=None, retry_s=2.0, period_s=30.0):
        self.settings = settings
        self.peers = list(peers)
        self.answers = {}
        self._on_change = on_change or (lambda *change: None)
        self._retry_s, self._period_s = retry_s, period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name='tls-knocker', daemon=True)
        self._thread.start()

    def _run(self):
        due = dict.fromkeys(self.peers, 0.0)
        while not self._stop.is_set():
            now = time.monotonic()
            for node_id in self.peers:
                if due[node_id] > now or self._stop.is_set():
                    continue
                answer = knock(self.settings, node_id)
                if self.answers.get(node_id) != answer:
                    self.answers[node_id] = answer
                    self._on_change(node_id, *answer)
                due[node_id] = time.monotonic() + (self._period_s if answer[0]
                                                   else self._retry_s)
            self._stop.wait(min([max(0.05, d - time.monotonic()) for d in due.values()]
                                or [1.0]))

    def close(self):
        self._stop.set()
        self._thread.join(timeout=HANDSHAKE_TIMEOUT_S + 1.0)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m becomingone_core.tls_admission',
        description="Knock on other mesh hosts' TLS admission gates with this host's TLS files "
                    'and print each answer: admitted, or why not.')
    parser.add_argument('settings', type=pathlib.Path,
                        help=f"this host's {SETTINGS_FILE} (becomingone-tls --out writes it)")
    parser.add_argument('--peer', action='append', metavar='NODE_ID',
                        help='knock on this host only (repeat); default: every other host')
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_file(args.settings)
        peers = args.peer or sorted(n for n in settings.hosts if n != settings.this_host)
        unknown = [n for n in peers if n not in settings.hosts]
        if unknown:
            raise AdmissionError(f'not in the host list: {", ".join(unknown)[:200]}')
    except AdmissionError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    answers = {node_id: knock(settings, node_id) for node_id in peers}
    for node_id, (admitted, what) in answers.items():
        address, port = settings.gate(node_id)
        print(f'{node_id} ({address}:{port}): {what!r}')
    return 0 if all(admitted for admitted, _ in answers.values()) else 1


if __name__ == '__main__':
    sys.exit(main())
