"""
Bearer tokens with scopes, read from a private file (pure: no rclpy).

The token file holds one token per line followed by its scopes, ``#`` starts a comment::

    3q2+7w...  read            # a dashboard that only looks
    Zm9vYmFy...  read input    # a sensor pushing samples
    c2VjcmV0...  read control  # an operator who may engage the e-stop

Scopes: ``read`` (state, history, the stream), ``input`` (phase samples and scalar values
into a cell), ``control`` (the e-stop). A scope never implies another. The file must not be
readable by group or others (``chmod 600``), or the gateway refuses to start: a token anyone
on the host can read is no secret. Tokens are compared in constant time.
"""

import hmac
import os
import secrets
import stat

READ, INPUT, CONTROL = 'read', 'input', 'control'
SCOPES = (READ, INPUT, CONTROL)
MIN_TOKEN_LENGTH = 16
MAX_TOKEN_LENGTH = 256
#: WebSocket clients (browsers cannot set headers there) offer the token as a subprotocol.
WS_PROTOCOL = 'becomingone.v1'
WS_TOKEN_PREFIX = 'bearer.'


class TokenFileError(ValueError):
    """A token file that cannot be used (its message says why)."""


class Denied(Exception):
    """A request without the right credentials: ``status`` is 401 or 403."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def _valid_token(token):
    return (MIN_TOKEN_LENGTH <= len(token) <= MAX_TOKEN_LENGTH
            and all(c.isalnum() or c in '-_.~+/=' for c in token))


class TokenTable:
    """Tokens and their scopes; ``authorize`` answers a request's Authorization header."""

    def __init__(self, entries=()):
        self._entries = []
        for token, scopes in entries:
            self.add(token, scopes)

    def add(self, token, scopes):
        """Add ``token`` with ``scopes`` (raises TokenFileError for a bad token or scope)."""
        if not _valid_token(token):
            raise TokenFileError(
                f'a token must be {MIN_TOKEN_LENGTH}-{MAX_TOKEN_LENGTH} characters of '
                'letters, digits and -_.~+/=')
        unknown = set(scopes) - set(SCOPES)
        if unknown or not scopes:
            raise TokenFileError(f'scopes must be some of {list(SCOPES)}, got {sorted(scopes)}')
        self._entries.append((token.encode(), frozenset(scopes)))

    def __len__(self):
        return len(self._entries)

    def scopes_for(self, token):
        """Return the scopes of ``token`` (empty for an unknown one), constant time per entry."""
        found = frozenset()
        candidate = token.encode(errors='replace')
        for known, scopes in self._entries:
            if hmac.compare_digest(known, candidate):
                found = scopes
        return found

    def authorize(self, token, scope):
        """Return the token's scopes if it holds ``scope``; raise :class:`Denied` otherwise."""
        if not token:
            raise Denied(401, 'missing bearer token (Authorization: Bearer <token>)')
        scopes = self.scopes_for(token)
        if not scopes:
            raise Denied(401, 'unknown token')
        if scope not in scopes:
            raise Denied(403, f'this token lacks the {scope!r} scope')
        return scopes


def bearer_token(header_value):
    """Return the token of an ``Authorization: Bearer <token>`` header value, or ''."""
    if not header_value:
        return ''
    kind, _, token = header_value.strip().partition(' ')
    return token.strip() if kind.lower() == 'bearer' else ''


def websocket_token(protocols):
    """Return the token a WebSocket client offered as subprotocol ``bearer.<token>``, or ''."""
    for protocol in protocols:
        if protocol.startswith(WS_TOKEN_PREFIX):
            return protocol[len(WS_TOKEN_PREFIX):]
    return ''


def check_private(path):
    """Raise TokenFileError unless ``path`` is a regular file that only its owner can read."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise TokenFileError(f'{path} is not a regular file')
    if info.st_mode & 0o077:
        raise TokenFileError(
            f'{path} is readable by others (mode {stat.S_IMODE(info.st_mode):o}); '
            f'run: chmod 600 {path}')


def load_tokens(path):
    """Read a token file (see the module docstring) into a :class:`TokenTable`."""
    try:
        check_private(path)
        with open(path, encoding='utf-8') as stream:
            lines = stream.read(1 << 20).splitlines()
    except OSError as error:
        raise TokenFileError(f'cannot read token file {path}: {error.strerror}') from error
    table = TokenTable()
    for number, line in enumerate(lines, 1):
        words = line.split('#', 1)[0].split()
        if not words:
            continue
        try:
            table.add(words[0], words[1:])
        except TokenFileError as error:
            raise TokenFileError(f'{path}:{number}: {error}') from error
    if not len(table):
        raise TokenFileError(f'{path} holds no tokens')
    return table


def write_token_file(path, scopes=SCOPES):
    """Create ``path`` (mode 0600) with one fresh token holding ``scopes``; return the token."""
    token = secrets.token_urlsafe(32)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, 'w', encoding='utf-8') as stream:
        os.fchmod(stream.fileno(), 0o600)
        stream.write(f'{token} {" ".join(scopes)}  # generated by the gateway\n')
    return token
