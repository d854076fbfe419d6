"""The one parameter every node that signs or checks mesh messages declares: ``security_dir``."""

from becomingone_core.ros.parameters import declare, ParameterError
from becomingone_core.security.mesh_auth import MeshAuthority

DESCRIPTION = (
    "This host's mesh credentials, as 'becomingone-pki export NODE_ID --to DIR' writes them "
    '(ca.pem, crl.pem, host.pem, host.key 0600): messages this node sends are signed and those '
    'it acts on must be signed. Empty: an open lab mesh, nothing signed or checked.')


def declare_security(node):
    """Declare ``security_dir`` and return the :class:`MeshAuthority` it gives (read once)."""
    directory = declare(node, 'security_dir', '', DESCRIPTION, read_only=True)
    if not directory:
        return MeshAuthority.from_directory('')  # an open lab mesh, without cryptography
    from becomingone_core.security.pki import PkiError, Untrusted
    try:
        return MeshAuthority.from_directory(directory)
    except (PkiError, Untrusted, OSError, ValueError) as error:
        raise ParameterError(f"parameter 'security_dir': {error}") from error
