"""
The mesh-wide e-stop as the commands received so far decide it (no rclpy).

Engaging is fail-safe, releasing is not, so the two are not symmetric: the e-stop is engaged
while the newest admitted *engage* is newer than the newest admitted *release*. A release
stamped before the current engage releases nothing, so a captured old release replayed later
cannot undo a newer stop, and a command's sequence must grow per source (an older or repeated
one is a ``replay``). Who may give which command is decided before, by
:meth:`becomingone_core.security.mesh_auth.MeshAuthority.admit_estop` (on a mesh with a PKI:
engage by any member, release by an operator); this module only orders what was admitted.

Commands are latched (transient local), so a receiver starting late learns the stop that holds;
a command stamped more than ``max_future_s`` ahead of the receiver's clock is ``future`` (one
stamped in 2100 would otherwise make every later release look older). Old commands are not
stale: a stop given an hour ago still holds. The sources remembered are bounded.
"""

from becomingone_core.input_rules import check_int64, check_name, RejectedInput, stamp_ns

ACCEPTED = 'accepted'
REPLAY = 'replay'
FUTURE = 'future'
TOO_MANY_SOURCES = 'too_many_sources'
NANOSECONDS = 1_000_000_000


class EStopState:
    """Engaged or released, from the admitted commands of every source."""

    def __init__(self, max_future_s=0.5, max_sources=256):
        self.max_future_ns = int(max_future_s * NANOSECONDS)
        self.max_sources = max_sources
        self.engaged = False
        self.engaged_by = ''
        self.released_by = ''
        self._sequences = {}
        self._engage_ns = None
        self._release_ns = None

    @property
    def known(self):
        """Tell whether any command was admitted yet."""
        return self._engage_ns is not None or self._release_ns is not None

    def offer(self, source, engage, sequence, stamp_ns, now_ns):
        """Take an admitted command; return ACCEPTED or why it changes nothing."""
        if stamp_ns > now_ns + self.max_future_ns:
            return FUTURE
        last = self._sequences.get(source)
        if last is not None and sequence <= last:
            return REPLAY
        if last is None and len(self._sequences) >= self.max_sources:
            return TOO_MANY_SOURCES
        self._sequences[source] = sequence
        if engage:
            if self._engage_ns is None or stamp_ns > self._engage_ns:
                self._engage_ns, self.engaged_by = stamp_ns, source
        elif self._release_ns is None or stamp_ns > self._release_ns:
            self._release_ns, self.released_by = stamp_ns, source
        self.engaged = self._engage_ns is not None and (
            self._release_ns is None or self._engage_ns > self._release_ns)
        return ACCEPTED

    def take(self, message, authority, now_ns):
        """
        Range-check, admit (``authority``: who may say what) and order one ``EStopCommand``.

        Return ``(verdict, admitted)``: ACCEPTED or the reason (the command's range, its
        signature, a replay, ...), and the :class:`~.security.mesh_auth.Admitted` signer when
        it was admitted. Every node that obeys or shows the e-stop takes commands this way.
        """
        try:
            stamp = stamp_ns(message.header.stamp)
            check_name(message.source, 'source')
            check_int64(message.sequence, 'sequence')
            admitted = authority.admit_estop(message, now_ns / NANOSECONDS)
        except RejectedInput as error:
            return error.reason, None
        verdict = self.offer(admitted.node_id, bool(message.engage), int(message.sequence),
                             stamp, now_ns)
        return verdict, admitted if verdict == ACCEPTED else None
