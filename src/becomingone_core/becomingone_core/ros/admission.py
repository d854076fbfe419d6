"""
The mesh node's TLS admission gate and knocker, as a node runs them (``tls_admission_file``).

All the logic is in :mod:`becomingone_core.tls_admission`; this module declares the parameter,
logs what the gate and the knocker see (throttled per address and reason) and turns it into one
diagnostic status.
"""

import threading
import time

from becomingone_core import health
from becomingone_core.input_rules import shorten
from becomingone_core.ros.parameters import declare, ParameterError

DESCRIPTION = (
    'The admission settings becomingone-tls wrote (tls_admission.json in its output directory): '
    'this host answers knocks on the port after its Fast DDS TLS port and knocks on the hosts it '
    'connects to, so a host refused at TLS is seen, with the reason, on both sides. Empty: no '
    'gate (plain UDP, or TLS without it).')
#: A refusal from one address for one reason is logged at most once per this (s).
LOG_EVERY_S = 30.0
#: A refusal this recent keeps the status at WARN (s).
RECENT_S = 60.0
#: (address, reason) pairs whose last log time is kept (the oldest dropped beyond).
MAX_LOGGED = 256


class AdmissionMonitor:
    """A node's gate and knocker; :meth:`status` is its diagnostic, :meth:`close` stops both."""

    def __init__(self, node, settings):
        from becomingone_core.tls_admission import AdmissionGate, Knocker
        from becomingone_core.transport_tls import connect_to
        self._logger = node.get_logger()
        self._logged = {}
        self._lock = threading.Lock()
        self.gate = AdmissionGate(settings, on_event=self._on_knock)
        self.knocker = Knocker(settings, connect_to(settings.this_host, settings.hosts),
                               on_change=self._on_answer)
        address, port = self.gate.address
        self._logger.info(f'TLS admission gate on {address}:{port}; knocking on '
                          f'{", ".join(self.knocker.peers) or "nobody (first host)"}')

    def _on_knock(self, address, node_id, reason, detail):
        from becomingone_core.tls_admission import explain
        if reason is None:
            key = (address, node_id)
            if self._due(key, float('inf')):  # node ids in certificates are checked names
                self._logger.info(f'TLS admission: admitted {node_id} knocking from {address}')
            return
        if self._due((address, reason), LOG_EVERY_S):
            who = f'{address} ({node_id})' if node_id else address
            # Our own words and OpenSSL's, bounded: detail is cut where it is made.
            self._logger.warn(f'TLS admission: refused {who}: {reason}, '
                              f'{explain(reason, detail)}')

    def _due(self, key, every_s):
        now = time.monotonic()
        with self._lock:
            last = self._logged.get(key)
            if last is not None and now - last < every_s:
                return False
            self._logged.pop(key, None)
            self._logged[key] = now
            while len(self._logged) > MAX_LOGGED:
                self._logged.pop(next(iter(self._logged)))
            return True

    def _on_answer(self, node_id, admitted, what):
        log = self._logger.info if admitted else self._logger.warn
        log(f'TLS admission: knocked on {node_id}: {shorten(what, 200)}')

    def status(self):
        from becomingone_core.tls_admission import REASONS
        now = time.monotonic()
        refused = dict(self.gate.refused)
        values = {f'refused_{r}': float(refused.get(r, 0)) for r in REASONS}
        values['refused_total'] = float(sum(refused.values()))
        values['admitted_hosts'] = float(len(self.gate.admitted))
        recent = [r for r in self.gate.recent() if now - r.last_s <= RECENT_S]
        for refusal in recent:
            values[f'refused {refusal.address}'] = (
                f'{refusal.reason} x{refusal.count}, {now - refusal.last_s:.0f} s ago')
        answers = dict(self.knocker.answers)
        for node_id, (admitted, what) in sorted(answers.items()):
            values[f'gate of {node_id}'] = what
        not_admitting = sorted(n for n, (ok, _) in answers.items() if not ok)
        parts = [f'admitted {", ".join(sorted(self.gate.admitted)) or "nobody yet"}']
        if recent:
            parts.append(f'refused {len(recent)} address(es) in the last {RECENT_S:.0f} s: '
                         + ', '.join(f'{r.address} ({r.reason})' for r in recent[-5:]))
        if not_admitting:
            parts.append(f'not admitted by {", ".join(not_admitting)}')
        level = health.WARN if recent or not_admitting else health.OK
        return health.Status(level, '; '.join(parts), values)

    def close(self):
        self.knocker.close()
        self.gate.close()


def declare_admission(node, node_id):
    """Declare ``tls_admission_file``; return the running :class:`AdmissionMonitor` or None."""
    path = declare(node, 'tls_admission_file', '', DESCRIPTION, read_only=True)
    if not path:
        return None
    # Only a host with the gate pays for ssl (a Pi's memory: #13's footprint).
    from becomingone_core.tls_admission import AdmissionError, Settings
    try:
        settings = Settings.from_file(path)
        if settings.this_host != node_id:
            raise AdmissionError(f'it is the settings of {shorten(settings.this_host)}, this '
                                 f'node is {shorten(node_id)}')
        return AdmissionMonitor(node, settings)
    except AdmissionError as error:
        raise ParameterError(f"parameter 'tls_admission_file': {error}") from error
