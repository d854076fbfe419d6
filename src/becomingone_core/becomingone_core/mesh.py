"""
The mesh: a peer table that turns many cells' states into one global state (no rclpy here).

Every cell shares a :class:`PeerUpdate` (its T_sync, coherence, declared weight and a per-sender
sequence). A :class:`PeerTable` admits an update only if it is well formed, new (not a
duplicate, replay or stale copy), not from the future and not from a second host claiming an id
that is already alive; each refusal is counted by reason. Peers are alive while they have been
heard within ``timeout_s`` (local receive time, so clock skew between hosts never kills a peer).

From the live peers that run a sync layer (roles full and light, weight > 0), :meth:`aggregate`
computes T_global and the global coherence with one of three rules:

``weighted_mean``
    T_global = sum(w_P T_P) / sum(w_P). Weights are clipped to ``max_weight`` and |T_P| <= 1 is
    enforced on admission, so a lying peer L moves T_global by at most
    ``2 * w_L / sum(w)`` (see :func:`weighted_mean_bound`).
``trimmed_mean``
    Per coordinate (real, imaginary, coherence), ``trim_fraction`` of the total weight is cut
    from each tail before averaging. While the lying peers' combined weight is at most
    ``trim_fraction`` of the live total, every coordinate stays within the range of the honest
    peers' values, whatever the liars send: they move T_global by at most the honest spread.
``median``
    The weighted median per coordinate: the same bound while liars hold less than half the
    weight.
"""

from collections import Counter
from dataclasses import dataclass, field, replace
import math

import numpy as np

#: The shared topic every mesh node publishes its own state on and reads its peers from.
PEERS_TOPIC = '/becomingone/mesh/peers'
#: The mesh-wide emergency stop (``std_msgs/Bool``, reliable, transient local): while the last
#: value is true, every cell's motor output holds still.
ESTOP_TOPIC = '/becomingone/estop'

ROLE_FULL, ROLE_LIGHT, ROLE_WITNESS, ROLE_RELAY = range(4)
#: Role names as launch arguments spell them, indexed like ``PeerState.ROLE_*``.
ROLES = ('full', 'light', 'witness', 'relay')
#: Roles whose cells run a sync layer, so their T_sync means something.
SYNC_ROLES = frozenset({ROLE_FULL, ROLE_LIGHT})
#: Which nodes each role starts on a host (launch files follow this table).
ROLE_NODES = {
    'full': ('master', 'emissary', 'sync', 'witness', 'memory', 'mesh'),
    'light': ('emissary', 'sync', 'mesh'),
    'witness': ('witness', 'memory', 'mesh'),
    'relay': ('mesh',),
}
AGGREGATIONS = ('weighted_mean', 'trimmed_mean', 'median')

ACCEPTED = 'accepted'
# Rejection reasons, as counted and shown in /diagnostics.
INVALID = 'invalid'
DUPLICATE = 'duplicate'
REPLAY = 'replay'
STALE = 'stale'
FUTURE = 'future'
ID_CONFLICT = 'id_conflict'


@dataclass(frozen=True)
class PeerUpdate:
    """One cell's shared state, as a plain value (``stamp_s``: when the peer produced it)."""

    node_id: str
    host: str
    role: int
    weight: float
    t: complex
    coherence: float
    collapsed: bool
    sequence: int
    stamp_s: float


@dataclass
class Peer:
    """A peer table entry: the last admitted update and when it was heard (local clock)."""

    update: PeerUpdate
    last_seen_s: float
    alive: bool = True


@dataclass(frozen=True)
class GlobalState:
    """The mesh's global state as one node sees it."""

    t: complex
    coherence: float
    emerged: bool
    peers_alive: int
    peers_dead: int
    contributors: int
    total_weight: float


@dataclass
class MeshConfig:
    """What a peer table needs to know; every field is a node parameter of the same name."""

    timeout_s: float = 2.0
    max_clock_skew_s: float = 0.5
    max_update_age_s: float = 2.0
    forget_after_s: float = 60.0
    emergence_threshold: float = 0.75
    emergence_hysteresis: float = 0.05
    min_peers: int = 1
    aggregation: str = 'weighted_mean'
    trim_fraction: float = 0.25
    max_weight: float = 10.0

    def __post_init__(self):
        checks = [
            (self.timeout_s > 0, 'timeout_s', 'must be > 0'),
            (self.max_clock_skew_s >= 0, 'max_clock_skew_s', 'must be >= 0'),
            (self.max_update_age_s > 0, 'max_update_age_s', 'must be > 0'),
            (self.forget_after_s >= self.timeout_s, 'forget_after_s', 'must be >= timeout_s'),
            (0 <= self.emergence_threshold <= 1, 'emergence_threshold', 'must be in [0, 1]'),
            (0 <= self.emergence_hysteresis <= self.emergence_threshold,
             'emergence_hysteresis', 'must be in [0, emergence_threshold]'),
            (self.min_peers >= 1, 'min_peers', 'must be >= 1'),
            (self.aggregation in AGGREGATIONS, 'aggregation', f'must be one of {AGGREGATIONS}'),
            (0 <= self.trim_fraction < 0.5, 'trim_fraction', 'must be in [0, 0.5)'),
            (self.max_weight > 0, 'max_weight', 'must be > 0'),
        ]
        for ok, name, why in checks:
            if not ok:
                raise ValueError(f'{name!r} {why}')


def validate(update):
    """Return why ``update`` is malformed, or None if it is well formed."""
    numbers = (update.weight, update.t.real, update.t.imag, update.coherence, update.stamp_s)
    if not all(math.isfinite(x) for x in numbers):
        return 'non-finite value'
    if not update.node_id:
        return 'empty node_id'
    if update.role not in range(len(ROLES)):
        return f'unknown role {update.role}'
    if update.weight < 0:
        return 'negative weight'
    if abs(update.t) > 1 + 1e-9:
        return '|T_sync| > 1'
    if not -1e-9 <= update.coherence <= 1 + 1e-9:
        return 'coherence outside [0, 1]'
    if update.sequence < 0:
        return 'negative sequence'
    return None


@dataclass
class PeerTable:
    """Live peers of a mesh, with admission control, liveness and aggregation."""

    config: MeshConfig = field(default_factory=MeshConfig)

    def __post_init__(self):
        self.peers = {}
        self.rejections = Counter()
        # node_id -> {host: last time that host claimed it}, for ids two hosts claim.
        self.conflicts = {}
        self._emerged = False

    def offer(self, update, now_s):
        """Admit ``update`` heard at ``now_s`` (local clock); return ACCEPTED or the reason."""
        verdict = self._judge(update, now_s)
        if verdict == ACCEPTED:
            self.peers[update.node_id] = Peer(update, now_s)
        else:
            self.rejections[verdict] += 1
        return verdict

    def _judge(self, update, now_s):
        if validate(update) is not None:
            return INVALID
        if update.stamp_s > now_s + self.config.max_clock_skew_s:
            return FUTURE
        if update.stamp_s < now_s - self.config.max_update_age_s:
            return STALE
        known = self.peers.get(update.node_id)
        if known is None:
            return ACCEPTED
        last = known.update
        if update.host != last.host:
            if self._is_alive(known, now_s):
                # Two hosts claim one id: keep the incumbent, report both.
                claims = self.conflicts.setdefault(update.node_id, {})
                claims[last.host] = known.last_seen_s
                claims[update.host] = now_s
                return ID_CONFLICT
            return ACCEPTED  # the old host went silent: a new host may take the id over
        if not self._is_alive(known, now_s):
            return ACCEPTED  # a restarted peer may begin a new sequence
        if update.sequence == last.sequence:
            return DUPLICATE if update == last else REPLAY
        if update.sequence < last.sequence:
            return REPLAY
        if update.stamp_s < last.stamp_s:
            return STALE
        return ACCEPTED

    def _is_alive(self, peer, now_s):
        return now_s - peer.last_seen_s <= self.config.timeout_s

    def refresh(self, now_s):
        """Update liveness at ``now_s``, forget long-dead peers and expired id conflicts."""
        for node_id, peer in list(self.peers.items()):
            age = now_s - peer.last_seen_s
            peer.alive = age <= self.config.timeout_s
            if age > self.config.forget_after_s:
                del self.peers[node_id]
        for node_id, claims in list(self.conflicts.items()):
            for host, seen in list(claims.items()):
                if now_s - seen > self.config.timeout_s:
                    del claims[host]
            if len(claims) < 2:
                del self.conflicts[node_id]

    def contributors(self):
        """Return the live peers that contribute to T_global, and their clipped weights."""
        peers = [p.update for p in self.peers.values()
                 if p.alive and p.update.role in SYNC_ROLES and p.update.weight > 0]
        weights = np.array([min(p.weight, self.config.max_weight) for p in peers], dtype=float)
        return peers, weights

    def aggregate(self, now_s):
        """Refresh liveness at ``now_s`` and return the :class:`GlobalState`."""
        self.refresh(now_s)
        peers, weights = self.contributors()
        alive = sum(p.alive for p in self.peers.values())
        dead = len(self.peers) - alive
        if not peers:
            self._emerged = False
            return GlobalState(0j, 0.0, False, alive, dead, 0, 0.0)
        values = np.array([[p.t.real, p.t.imag, p.coherence] for p in peers], dtype=float)
        real, imag, coherence = (
            combine(values[:, i], weights, self.config.aggregation, self.config.trim_fraction)
            for i in range(3))
        enough = len(peers) >= self.config.min_peers
        if self._emerged:
            release = self.config.emergence_threshold - self.config.emergence_hysteresis
            self._emerged = enough and coherence >= release
        else:
            self._emerged = enough and coherence >= self.config.emergence_threshold
        return GlobalState(complex(real, imag), float(coherence), self._emerged, alive, dead,
                           len(peers), float(weights.sum()))

    def view(self, now_s):
        """Return every known peer (alive or dead) as ``(update, last_seen_s, alive)``."""
        self.refresh(now_s)
        return [(p.update, p.last_seen_s, p.alive)
                for _, p in sorted(self.peers.items())]


def combine(values, weights, aggregation, trim_fraction=0.25):
    """Aggregate one coordinate of the peers' values with the named rule."""
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    if aggregation == 'weighted_mean':
        return float(np.dot(values, weights) / weights.sum())
    if aggregation == 'trimmed_mean':
        return trimmed_mean(values, weights, trim_fraction)
    if aggregation == 'median':
        return weighted_median(values, weights)
    raise ValueError(f'unknown aggregation {aggregation!r}')


def _sorted_intervals(values, weights):
    """Sort by value; each value owns the interval [start, end) of the cumulative weight."""
    order = np.argsort(values, kind='stable')
    values, weights = values[order], weights[order]
    end = np.cumsum(weights)
    return values, end - weights, end, end[-1]


def trimmed_mean(values, weights, fraction):
    """
    Weighted mean after cutting ``fraction`` of the total weight from each tail.

    A value whose weight straddles a cut keeps only the part inside. With ``fraction`` near 0.5
    nothing may be left; the weighted median is returned then.
    """
    values, start, end, total = _sorted_intervals(values, weights)
    low, high = fraction * total, (1 - fraction) * total
    kept = np.clip(np.minimum(end, high) - np.maximum(start, low), 0.0, None)
    if kept.sum() <= 1e-12 * total:
        return weighted_median(values, weights)
    return float(np.dot(kept, values) / kept.sum())


def weighted_median(values, weights):
    """Return the value at half the total weight (the mean of two when it falls on a boundary)."""
    values, start, end, total = _sorted_intervals(values, weights)
    half = total / 2
    below = int(np.searchsorted(end, half, side='left'))
    if math.isclose(end[below], half) and below + 1 < len(values):
        return float((values[below] + values[below + 1]) / 2)
    return float(values[below])


def weighted_mean_bound(liar_weight, total_weight):
    """Largest |ΔT_global| a peer of weight ``liar_weight`` can cause under ``weighted_mean``."""
    return 2.0 * liar_weight / total_weight


def with_liveness(update, alive):
    """Return ``update`` with weight 0 unless ``alive`` (declared capability x liveness)."""
    return update if alive else replace(update, weight=0.0)
