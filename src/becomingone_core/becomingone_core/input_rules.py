"""
What a BecomingONE node accepts from the wire: the range of every field it reads (no rclpy).

A ROS 2 type says what a field can *hold* (a ``uint64``, a ``float64``, a string of any length);
these rules say what a node can *use*. Anyone on the DDS domain can publish anything the type
holds, so every message a node subscribes to, every service request and every file it reads
passes the rule for its kind here before it touches any state. A value out of range raises
:class:`RejectedInput` whose ``reason`` is a short counter key (see :data:`REASONS`); nodes count
rejections by reason, log them throttled and go on, never raise.

The rules read messages by attribute (``message.header.stamp.sec``), so they take ROS messages,
messages decoded from MCAP and plain test objects alike, and never import a message type.
Rules for the other kinds live with their logic: ``Phase`` blocks in
:mod:`becomingone_core.phase_block`, ``PeerState`` in :func:`becomingone_core.mesh.validate`.
"""

from dataclasses import dataclass
import math

import numpy as np

NANOSECONDS = 1_000_000_000
#: Integers are stored in SQLite and used as indices: uint64 fields must fit an int64.
INT64_MAX = 2**63 - 1
#: Names (frame ids, node ids, hosts, observers, subjects, events, transducers), in characters.
MAX_NAME_LENGTH = 256
#: Per-lag arrays of a Resonance: a bank has at most this many lags (``lag_count`` maximum).
MAX_LAGS = 4096
#: Named values of one witness record (the witness itself writes at most a dozen).
MAX_WITNESS_VALUES = 64
#: Peers listed in one MeshState (the mesh node's ``max_peers`` maximum).
MAX_MESH_PEERS = 10_000
#: SHA-256 digests are 64 lower-case hex digits.
DIGEST_LENGTH = 64
#: Values a little above a bound (|T| = 1 computed in floating point) still count as in range.
SLACK = 1e-9

#: Every rejection reason these rules (and :mod:`phase_block`) give, with what it means.
REASONS = {
    'bad_stamp': 'nanosec >= 1e9 or sec < 0: not a time',
    'future': 'stamped further ahead of the receiver clock than max_clock_skew_s',
    'stale': 'stamped further behind the receiver clock than the allowed age',
    'non_finite': 'NaN or infinity where a number is needed',
    'out_of_range': 'a number outside its domain (|T| > 1, coherence outside [0, 1], an '
                    'integer past int64, an enum outside its constants)',
    'too_long': 'a string or array longer than its limit',
    'size_mismatch': 'arrays that must have equal lengths do not',
    'bad_digest': 'a digest that is not 64 hex digits',
    'too_many_observers': 'a witness record from more observers than the memory tracks',
    'table_full': 'a new mesh peer while the peer table is full of live peers',
}


class RejectedInput(ValueError):
    """An input refused before it could touch any state; ``reason`` keys the rejection count."""

    def __init__(self, reason, detail=''):
        super().__init__(f'{reason}: {detail}' if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class StampWindow:
    """
    The stamps a receiver accepts: at most ``max_future_s`` ahead of its clock, ``max_age_s`` old.

    ``math.inf`` switches a side off (offline tools, imports of old recordings).
    """

    max_future_s: float = 0.5
    max_age_s: float = 10.0

    def __post_init__(self):
        if not (self.max_future_s >= 0 and self.max_age_s > 0):
            raise ValueError('max_future_s must be >= 0 and max_age_s > 0')

    def check(self, stamp_ns, now_ns, what='stamp'):
        """Raise ``future`` or ``stale`` unless ``stamp_ns`` lies in the window around now."""
        ahead_s = (stamp_ns - now_ns) / NANOSECONDS
        if ahead_s > self.max_future_s:
            raise RejectedInput('future', f'{what} {ahead_s:.3f} s ahead of the clock')
        if -ahead_s > self.max_age_s:
            raise RejectedInput('stale', f'{what} {-ahead_s:.3f} s old')


#: No window: every valid time is accepted (offline tools).
ANY_TIME = StampWindow(math.inf, math.inf)


def stamp_ns(stamp):
    """Return a ``builtin_interfaces/Time`` as nanoseconds, or raise ``bad_stamp``."""
    sec, nanosec = int(stamp.sec), int(stamp.nanosec)
    if not 0 <= nanosec < NANOSECONDS or sec < 0:
        raise RejectedInput('bad_stamp', f'sec {sec}, nanosec {nanosec}')
    return sec * NANOSECONDS + nanosec


def checked_stamp(stamp, now_ns, window, what='stamp'):
    """Return ``stamp`` in nanoseconds after checking it is a time inside ``window``."""
    value = stamp_ns(stamp)
    if now_ns is not None:
        window.check(value, now_ns, what)
    return value


def check_name(value, what, max_length=MAX_NAME_LENGTH, required=False):
    """Raise ``too_long`` (or ``out_of_range`` for a required empty name)."""
    if len(value) > max_length:
        raise RejectedInput('too_long', f'{what} of {len(value)} characters > {max_length}')
    if required and not value:
        raise RejectedInput('out_of_range', f'{what} is empty')


def check_length(values, what, max_length):
    if len(values) > max_length:
        raise RejectedInput('too_long', f'{what} of {len(values)} items > {max_length}')


def check_finite(what, *values):
    if not all(math.isfinite(v) for v in values):
        raise RejectedInput('non_finite', what)


def check_int64(value, what):
    if not 0 <= value <= INT64_MAX:
        raise RejectedInput('out_of_range', f'{what} {value} outside [0, int64 max]')


def check_unit(value, what):
    """Raise unless complex ``value`` is finite and inside the unit disc."""
    check_finite(what, value.real, value.imag)
    # hypot, not abs(): |1e308 + 1e308j| overflows complex abs() but is plainly out of range.
    magnitude = math.hypot(value.real, value.imag)
    if magnitude > 1 + SLACK:
        raise RejectedInput('out_of_range', f'|{what}| = {magnitude:.6g} > 1')


def check_fraction(value, what):
    """Raise unless ``value`` is a finite number in [0, 1]."""
    check_finite(what, value)
    if not -SLACK <= value <= 1 + SLACK:
        raise RejectedInput('out_of_range', f'{what} {value:.6g} outside [0, 1]')


def shorten(text, limit=60):
    """Return ``repr(text)`` cut to ``limit`` characters, for replies and logs."""
    text = str(text)
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f'... ({len(text)} chars)'


# ----------------------------------------------------------------------------- message kinds
def check_resonance(message, now_ns=None, window=ANY_TIME):
    """
    Check a ``Resonance``; return its stamp in nanoseconds.

    Summary and per-lag γ in the unit disc, coherences in [0, 1], lags finite and >= 0, the
    four per-lag arrays of one length <= :data:`MAX_LAGS`, counters within int64.
    """
    stamp = checked_stamp(message.header.stamp, now_ns, window)
    check_name(message.header.frame_id, 'frame_id')
    check_name(message.transducer, 'transducer')
    check_unit(complex(message.summary_real, message.summary_imag), 'summary')
    check_fraction(message.summary_coherence, 'summary_coherence')
    check_finite('omega, window or summary_tau', message.omega, message.window,
                 message.summary_tau)
    if message.window < 0 or message.summary_tau < 0:
        raise RejectedInput('out_of_range', 'negative window or summary_tau')
    arrays = {name: getattr(message, name) for name in ('tau', 'gamma_real', 'gamma_imag',
                                                        'coherence')}
    for name, values in arrays.items():
        check_length(values, name, MAX_LAGS)
    if len({len(values) for values in arrays.values()}) > 1:
        raise RejectedInput('size_mismatch', 'per-lag arrays of different lengths')
    tau = np.asarray(arrays['tau'], float)
    gamma = np.asarray(arrays['gamma_real'], float) + 1j * np.asarray(arrays['gamma_imag'], float)
    coherence = np.asarray(arrays['coherence'], float)
    if not (np.all(np.isfinite(tau)) and np.all(np.isfinite(gamma))
            and np.all(np.isfinite(coherence))):
        raise RejectedInput('non_finite', 'per-lag arrays')
    if (np.any(tau < 0) or np.any(np.abs(gamma) > 1 + SLACK) or np.any(coherence < -SLACK)
            or np.any(coherence > 1 + SLACK)):
        raise RejectedInput('out_of_range', 'per-lag tau < 0, |gamma| > 1 or coherence')
    if tau.size and message.summary_index >= tau.size:
        raise RejectedInput('out_of_range', f'summary_index {message.summary_index}')
    check_int64(message.samples, 'samples')
    check_int64(message.rejected, 'rejected')
    return stamp


def check_sync_state(message, now_ns=None, window=ANY_TIME):
    """Check a ``SyncState``; return its stamp in nanoseconds."""
    stamp = checked_stamp(message.header.stamp, now_ns, window)
    check_name(message.header.frame_id, 'frame_id')
    for name in ('master', 'emissary', 'sync'):
        check_unit(complex(getattr(message, f'{name}_real'), getattr(message, f'{name}_imag')),
                   name)
    for name in ('delta_phase', 'coherence', 'threshold', 'hysteresis', 'realign_threshold'):
        check_fraction(getattr(message, name), name)
    return stamp


def check_witness_record(message, now_ns=None, window=ANY_TIME):
    """Check a ``WitnessRecord``'s ranges (its chain is the store's to judge); return its stamp."""
    stamp = checked_stamp(message.header.stamp, now_ns, window)
    check_name(message.header.frame_id, 'frame_id')
    check_name(message.subject, 'subject')
    check_name(message.event, 'event')
    if message.layer not in range(4):
        raise RejectedInput('out_of_range', f'layer {message.layer} not in 0..3')
    check_int64(message.sequence, 'sequence')
    check_length(message.names, 'names', MAX_WITNESS_VALUES)
    check_length(message.values, 'values', MAX_WITNESS_VALUES)
    if len(message.names) != len(message.values):
        raise RejectedInput('size_mismatch',
                            f'{len(message.names)} names but {len(message.values)} values')
    for name in message.names:
        check_name(name, 'value name')
    check_name(message.observer, 'observer', required=True)
    for name in ('previous_digest', 'digest'):
        value = getattr(message, name)
        if len(value) != DIGEST_LENGTH or any(c not in '0123456789abcdef' for c in value):
            raise RejectedInput('bad_digest', f'{name} {shorten(value, 20)}')
    return stamp


def check_mesh_state(message, now_ns=None, window=ANY_TIME):
    """Check a ``MeshState`` and the peers it lists; return its stamp in nanoseconds."""
    stamp = checked_stamp(message.header.stamp, now_ns, window)
    check_name(message.header.frame_id, 'frame_id')
    check_name(message.node_id, 'node_id')
    check_name(message.aggregation, 'aggregation')
    check_unit(complex(message.global_real, message.global_imag), 'T_global')
    check_fraction(message.global_coherence, 'global_coherence')
    check_fraction(message.emergence_threshold, 'emergence_threshold')
    check_length(message.peers, 'peers', MAX_MESH_PEERS)
    for status in message.peers:
        peer = status.state
        stamp_ns(peer.header.stamp)
        stamp_ns(status.last_seen)
        check_name(peer.header.frame_id, 'peer frame_id')
        check_name(peer.node_id, 'peer node_id')
        check_name(peer.host, 'peer host')
        check_unit(complex(peer.t_real, peer.t_imag), 'peer T')
        check_fraction(peer.coherence, 'peer coherence')
        check_finite('peer weight', peer.weight)
        check_int64(peer.sequence, 'peer sequence')
    return stamp
