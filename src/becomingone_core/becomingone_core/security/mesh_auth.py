"""
Who may say what on a mesh with a PKI: signed peer states, sync states and e-stop commands.

A host's security directory (``becomingone-pki export NODE_ID --to DIR``) holds the mesh CA, its
CRL and the host's certificate and key. With it, :class:`MeshAuthority`

- signs what this host sends: its ``PeerState`` and its cell's ``SyncState``;
- admits a peer state only if it carries a certificate the mesh CA issued to exactly the
  ``node_id`` it claims (not expired, not revoked) and a valid Ed25519 signature by that
  certificate's key over every sent field; the weight the peer may hold in T_global is what
  its certificate (and this host's ``weight_grants``) grant, whatever it declares;
- admits a sync state only if this host signed it: outputs act on their own cell alone;
- admits an e-stop command signed by any mesh member to *engage*, and only one signed by an
  operator certificate to *release*.

Replay protection comes from what is signed: the stamp (receivers refuse stale and future ones)
and the per-sender sequence (older or repeated: ``replay``). Everything holds over any
transport, plain UDP or a bridge included. Without a security directory (a lab mesh) nothing is
signed and everything is admitted as before (:data:`OPEN`). No rclpy here: messages are read by
attribute.
"""

from dataclasses import dataclass
import math
import pathlib
import time

from becomingone_core.input_rules import RejectedInput, stamp_ns
from becomingone_core.security import signed_fields

# Rejection reasons beyond the certificate's own (pki.REASONS: malformed, untrusted, expired,
# not_yet_valid, revoked, no_node_id, wrong_key_type).
UNSIGNED = 'unsigned'
BAD_SIGNATURE = 'bad_signature'
WRONG_IDENTITY = 'wrong_identity'
WRONG_ROLE = 'wrong_role'
NOT_OPERATOR = 'not_operator'

ROLE_NAMES = ('full', 'light', 'witness', 'relay')
#: How often a running node looks whether its crl.pem changed (s).
CRL_CHECK_S = 2.0


def _stamp(message):
    return stamp_ns(message.header.stamp)


def peer_fields(message):
    """Return the signed fields of a ``PeerState`` (what is sent, not what a receiver fills)."""
    return {'stamp_ns': _stamp(message), 'node_id': message.node_id, 'host': message.host,
            'role': int(message.role), 'weight': float(message.weight),
            't_real': float(message.t_real), 't_imag': float(message.t_imag),
            'coherence': float(message.coherence), 'collapsed': bool(message.collapsed),
            'sequence': int(message.sequence)}


def sync_fields(message):
    """Return the signed fields of a ``SyncState`` (every field but the signature)."""
    fields = {'stamp_ns': _stamp(message), 'frame_id': message.header.frame_id}
    for name in ('master_real', 'master_imag', 'emissary_real', 'emissary_imag', 'sync_real',
                 'sync_imag', 'delta_phase', 'coherence', 'threshold', 'hysteresis',
                 'realign_threshold'):
        fields[name] = float(getattr(message, name))
    fields['collapsed'] = bool(message.collapsed)
    fields['realign_requested'] = bool(message.realign_requested)
    return fields


def estop_fields(message):
    """Return the signed fields of an ``EStopCommand``."""
    return {'stamp_ns': _stamp(message), 'source': message.source,
            'engage': bool(message.engage), 'sequence': int(message.sequence)}


@dataclass(frozen=True)
class Admitted:
    """A message let in: who signed it (None on an open mesh) and the weight it may hold."""

    node_id: str = ''
    operator: bool = False
    weight_cap: float = math.inf


class MeshAuthority:
    """This host's credentials and trust, or none (an open lab mesh)."""

    def __init__(self, trust=None, credentials=None, weight_grants=None):
        if (trust is None) != (credentials is None):
            raise ValueError('a mesh with a PKI needs both the CA and this host credentials')
        self.trust = trust
        self.credentials = credentials
        self.weight_grants = dict(weight_grants or {})
        self._own = None
        self._crl_seen = (None, 0.0)  # (mtime_ns of crl.pem, when it was last looked at)
        if credentials is not None:
            self._own = trust.identify(credentials.certificate_der, _now_for_own())
            path = getattr(trust, 'crl_path', None)
            if path is not None and pathlib.Path(path).exists():
                self._crl_seen = (pathlib.Path(path).stat().st_mtime_ns, time.monotonic())

    @classmethod
    def from_directory(cls, directory, weight_grants=None):
        """Load ``ca.pem``, ``crl.pem``, ``host.pem`` and ``host.key``; '' gives an open mesh."""
        if not directory:
            return OPEN
        # Only a mesh with a PKI loads cryptography (~13 MB of RSS on a small host).
        from becomingone_core.security.pki import (
            EXPORT_CA, EXPORT_CERT, EXPORT_CRL, EXPORT_KEY, HostCredentials, TrustStore)
        root = pathlib.Path(directory)
        crl = root / EXPORT_CRL
        trust = TrustStore.from_files(root / EXPORT_CA, crl if crl.exists() else None)
        credentials = HostCredentials.load(root / EXPORT_CERT, root / EXPORT_KEY)
        return cls(trust, credentials, weight_grants)

    @property
    def enabled(self):
        return self.trust is not None

    @property
    def node_id(self):
        """Return the node id this host's certificate names ('' on an open mesh)."""
        return self._own.node_id if self._own is not None else ''

    @property
    def certificate_der(self):
        return self.credentials.certificate_der if self.enabled else b''

    # ----------------------------------------------------------------------------- signing
    def sign(self, kind, fields):
        """Return this host's signature of ``fields`` (b'' on an open mesh)."""
        if not self.enabled:
            return b''
        return signed_fields.sign_fields(self.credentials, kind, fields)

    # ----------------------------------------------------------------------------- admission
    def refresh_crl(self, every_s=CRL_CHECK_S):
        """
        Reload ``crl.pem`` when the file changed (looked at most every ``every_s``).

        A revocation re-exported to the host takes effect within seconds, without a restart.
        A CRL the store refuses (another CA's, or older than the loaded one) keeps the loaded one.
        """
        path = getattr(self.trust, 'crl_path', None)
        checked = time.monotonic()
        if path is None or checked - self._crl_seen[1] < every_s:
            return False
        from becomingone_core.security.pki import CrlError
        try:
            mtime = pathlib.Path(path).stat().st_mtime_ns
        except OSError:
            mtime = None
        changed = mtime is not None and mtime != self._crl_seen[0]
        self._crl_seen = (mtime if mtime is not None else self._crl_seen[0], checked)
        if not changed or self._crl_seen[0] is None:
            return False
        try:
            self.trust.reload_crl()
        except CrlError:
            return False
        return True

    def identify(self, certificate, now_s):
        """Return the :class:`pki.Identity` of a presented certificate, or raise by reason."""
        if not len(certificate):
            raise RejectedInput(UNSIGNED, 'no certificate')
        self.refresh_crl()
        from becomingone_core.security.pki import Untrusted
        try:
            return self.trust.identify(bytes(certificate), now_s)
        except Untrusted as error:
            raise RejectedInput(error.reason, error.detail) from error

    def admit_peer(self, message, now_s):
        """Admit a ``PeerState``; return :class:`Admitted` or raise ``RejectedInput``."""
        if not self.enabled:
            return Admitted()
        fields = peer_fields(message)
        if not len(message.signature):
            raise RejectedInput(UNSIGNED, 'peer state without a signature')
        identity = self.identify(message.certificate, now_s)
        if identity.operator or identity.node_id != fields['node_id']:
            raise RejectedInput(WRONG_IDENTITY, 'the certificate names another node')
        if not signed_fields.verify_fields(identity, signed_fields.PEER_STATE, fields,
                                           bytes(message.signature)):
            raise RejectedInput(BAD_SIGNATURE, 'peer state signature does not verify')
        role = fields['role']
        if identity.role is not None and (role >= len(ROLE_NAMES)
                                          or ROLE_NAMES[role] != identity.role):
            raise RejectedInput(WRONG_ROLE, f'the certificate grants role {identity.role}')
        cap = self.weight_grants.get(identity.node_id, math.inf)
        if identity.weight is not None:
            cap = min(cap, identity.weight)
        return Admitted(identity.node_id, False, cap)

    def admit_own_sync(self, message):
        """Admit a ``SyncState`` only if this host signed it (any on an open mesh)."""
        if not self.enabled:
            return Admitted()
        if not len(message.signature):
            raise RejectedInput(UNSIGNED, 'sync state without a signature')
        if not signed_fields.verify_fields(self._own, signed_fields.SYNC_STATE,
                                           sync_fields(message), bytes(message.signature)):
            raise RejectedInput(BAD_SIGNATURE, 'sync state not signed by this host')
        return Admitted(self._own.node_id)

    def admit_estop(self, message, now_s):
        """Admit an ``EStopCommand``: engage from any member, release from an operator."""
        if not self.enabled:
            return Admitted(message.source)
        if not len(message.signature):
            raise RejectedInput(UNSIGNED, 'e-stop command without a signature')
        identity = self.identify(message.certificate, now_s)
        if identity.node_id != message.source:
            raise RejectedInput(WRONG_IDENTITY, 'the certificate names another source')
        if not signed_fields.verify_fields(identity, signed_fields.ESTOP, estop_fields(message),
                                           bytes(message.signature)):
            raise RejectedInput(BAD_SIGNATURE, 'e-stop signature does not verify')
        if not message.engage and not identity.operator:
            raise RejectedInput(NOT_OPERATOR, 'only an operator may release the e-stop')
        return Admitted(identity.node_id, identity.operator)


def _now_for_own():
    return time.time()


#: An open (lab) mesh: nothing signed, everything admitted.
OPEN = MeshAuthority()
