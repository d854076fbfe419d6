"""
The mesh: a peer table that turns many cells' states into one global state (no rclpy here).

Every cell shares a :class:`PeerUpdate` (its T_sync, coherence, declared weight and a per-sender
sequence). A :class:`PeerTable` admits an update only if it is in range (:func:`validate`), new
(not a duplicate, replay or stale copy), not from the future, not from a second host claiming an
id that is already alive, and -- for an id the table does not know yet -- if the table has room:
it holds at most ``max_peers`` peers, makes room by evicting the dead peer heard longest ago and
never evicts a live one, so a flood of fresh ids cannot push out the real mesh. Each refusal is
counted by reason (:data:`REJECTIONS`). Peers are alive while they have been heard within
``timeout_s`` (local receive time, so clock skew between hosts never kills a peer).

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

from becomingone_core.input_rules import (
    check_finite, check_fraction, check_int64, check_name, check_unit, MAX_MESH_PEERS,
    RejectedInput)
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
# Rejection reasons, as counted and shown in /diagnostics (``rejected_<reason>``). The first four
# are input_rules' range reasons, so every node names a bad value the same way.
NON_FINITE = 'non_finite'
OUT_OF_RANGE = 'out_of_range'
TOO_LONG = 'too_long'
BAD_STAMP = 'bad_stamp'
DUPLICATE = 'duplicate'
REPLAY = 'replay'
STALE = 'stale'
FUTURE = 'future'
ID_CONFLICT = 'id_conflict'
TABLE_FULL = 'table_full'
#: Every reason :meth:`PeerTable.offer` (and the mesh node) can refuse an update for.
REJECTIONS = (NON_FINITE, OUT_OF_RANGE, TOO_LONG, BAD_STAMP, DUPLICATE, REPLAY, STALE, FUTURE,
              ID_CONFLICT, TABLE_FULL)
#: Hosts remembered per conflicting id (the incumbent and the latest claimants).
MAX_CLAIMS_PER_ID = 8


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
    max_peers: int = 256

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
            (1 <= self.max_peers <= MAX_MESH_PEERS, 'max_peers',
             f'must be in [1, {MAX_MESH_PEERS}]'),
            (self.min_peers <= self.max_peers, 'min_peers', 'must be <= max_peers'),
        ]
        for ok, name, why in checks:
            if not ok:
                raise ValueError(f'{name!r} {why}')


def namespace_for(node_id):
    """
    Return a valid ROS namespace token for any ``node_id`` (host names included).

    A ROS name token holds letters, digits and underscores and must not start with a digit:
    ``7`` or Docker's ``3f9c1a2b`` would make an invalid namespace and fail the launch. Other
    characters become ``_``; a leading digit (or nothing left) gets an ``h`` in front. The
    node_id itself stays as given: it is what the mesh and the certificates name.
    """
    token = ''.join(c if c.isascii() and (c.isalnum() or c == '_') else '_' for c in node_id)
    if not token or token[0].isdigit():
        token = 'h' + token
    return token


def validate(update):
    """
    Raise :class:`~becomingone_core.input_rules.RejectedInput` unless ``update`` is in range.

    Names within ``MAX_NAME_LENGTH`` (``too_long``; an empty node_id is ``out_of_range``), the
    stamp a time (``bad_stamp``), numbers finite (``non_finite``), then in their domain
    (``out_of_range``): a known role, weight >= 0, |T| <= 1, coherence in [0, 1], the sequence
    within [0, int64 max].
    """
    check_name(update.node_id, 'node_id', required=True)
    check_name(update.host, 'host')
    if not (math.isfinite(update.stamp_s) and update.stamp_s >= 0):
        raise RejectedInput(BAD_STAMP, f'stamp {update.stamp_s!r} s')
    check_finite('weight', update.weight)
    check_unit(update.t, 'T')
    check_fraction(update.coherence, 'coherence')
    if update.weight < 0:
        raise RejectedInput(OUT_OF_RANGE, f'weight {update.weight:.6g} < 0')
    if update.role not in range(len(ROLES)):
        raise RejectedInput(OUT_OF_RANGE, f'role {update.role} not in 0..{len(ROLES) - 1}')
    check_int64(update.sequence, 'sequence')


@dataclass
class PeerTable:
    """
    Live peers of a mesh, with admission control, liveness and aggregation.

    Bounded: at most ``config.max_peers`` peers, id conflicts only for ids in the table, each
    with at most :data:`MAX_CLAIMS_PER_ID` hosts.
    """

    config: MeshConfig = field(default_factory=MeshConfig)

    def __post_init__(self):
        self.peers = {}
        self.rejections = Counter()
        # node_id -> {host: last time that host claimed it}, for ids two hosts claim.
        self.conflicts = {}
        #: The id of the cell that owns this table (set by its first ``local`` offer).
        self.own_id = None
        self._emerged = False
        # A lower bound of every evictable peer's last_seen_s: while even it is not past the
        # timeout, no peer can be dead, so a full table refuses a new id without a scan (a
        # flood of fresh ids costs O(1) per update, whatever max_peers).
        self._oldest_seen_s = math.inf

    def offer(self, update, now_s, local=False):
        """
        Admit ``update`` heard at ``now_s`` (local clock); return ACCEPTED or the reason.

        ``local``: the update is this cell's own state. It is range-checked like any other and
        then always admitted; afterwards an update from the wire claiming the own id is an
        ``id_conflict`` (another process or host using it), never a replacement.
        """
        try:
            validate(update)
            verdict = ACCEPTED if local else self._judge(update, now_s)
            if verdict == ACCEPTED and update.node_id not in self.peers:
                verdict = self._make_room(now_s, local)
        except RejectedInput as error:
            verdict = error.reason
        if verdict == ACCEPTED:
            if local:
                self.own_id = update.node_id
            self.peers[update.node_id] = Peer(update, now_s)
            self._oldest_seen_s = min(self._oldest_seen_s, now_s)
        else:
            self.rejections[verdict] += 1
        return verdict

    def _make_room(self, now_s, local):
        """Return ACCEPTED if a new id fits (evicting the dead peer heard longest ago)."""
        if len(self.peers) < self.config.max_peers:
            return ACCEPTED
        if now_s - self._oldest_seen_s <= self.config.timeout_s and not local:
            return TABLE_FULL
        candidates = [(peer.last_seen_s, node_id) for node_id, peer in self.peers.items()
                      if node_id != self.own_id]
        dead = [c for c in candidates if now_s - c[0] > self.config.timeout_s]
        if not dead and not local:
            self._oldest_seen_s = min((seen for seen, _ in candidates), default=math.inf)
            return TABLE_FULL
        # The own cell always gets its slot, at worst at the cost of the oldest live peer.
        _, victim = min(dead or candidates)
        self._forget(victim)
        return ACCEPTED

    def _forget(self, node_id):
        del self.peers[node_id]
        self.conflicts.pop(node_id, None)

    def _judge(self, update, now_s):
        if update.stamp_s > now_s + self.config.max_clock_skew_s:
            return FUTURE
        if update.stamp_s < now_s - self.config.max_update_age_s:
            return STALE
        known = self.peers.get(update.node_id)
        if known is None:
            return ACCEPTED
        last = known.update
        if update.node_id == self.own_id:
            if update.host != last.host:
                self._record_claim(update, known, now_s)
            return ID_CONFLICT  # nobody else speaks for this cell
        if update.host != last.host:
            if self._is_alive(known, now_s):
                # Two hosts claim one id: keep the incumbent, report both.
                self._record_claim(update, known, now_s)
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

    def _record_claim(self, update, known, now_s):
        claims = self.conflicts.setdefault(update.node_id, {})
        incumbent = known.update.host
        claims[incumbent] = known.last_seen_s
        claims.pop(update.host, None)  # re-insert: dict order is then claim order
        claims[update.host] = now_s
        while len(claims) > MAX_CLAIMS_PER_ID:
            # Forget the claimant heard longest ago, never the incumbent.
            del claims[next(host for host in claims if host != incumbent)]

    def _is_alive(self, peer, now_s):
        return now_s - peer.last_seen_s <= self.config.timeout_s

    def refresh(self, now_s):
        """Update liveness at ``now_s``, forget long-dead peers and expired id conflicts."""
        for node_id, peer in list(self.peers.items()):
            age = now_s - peer.last_seen_s
            peer.alive = age <= self.config.timeout_s
            if age > self.config.forget_after_s and node_id != self.own_id:
                self._forget(node_id)
        for node_id, claims in list(self.conflicts.items()):
            for host, seen in list(claims.items()):
                if now_s - seen > self.config.timeout_s:
                    del claims[host]
            if len(claims) < 2:
                del self.conflicts[node_id]

    def contributors(self, roles=SYNC_ROLES):
        """Return the live peers of ``roles`` that contribute to T_global, and their weights."""
        peers = [p.update for p in self.peers.values()
                 if p.alive and p.update.role in roles and p.update.weight > 0]
        weights = np.array([min(p.weight, self.config.max_weight) for p in peers], dtype=float)
        return peers, weights

    def slow_scale(self, now_s):
        """
        Return the full cells' combined T and its contributors: a light cell's Master input.

        A light cell runs no Master of its own, so alone it could never collapse (a missing
        Master counts as T = 0, capping its coherence at 1/4). It leans on the slow scale that
        exists: what the live full cells integrated, combined by the mesh's own rule. Light
        cells are left out, so no light cell ever leans on another (or on itself).
        """
        self.refresh(now_s)
        peers, weights = self.contributors(roles=(ROLE_FULL,))
        if not peers:
            return 0j, 0
        relative = weights / weights.max()
        real, imag = (combine(np.array([getattr(p.t, part) for p in peers]), relative,
                              self.config.aggregation, self.config.trim_fraction)
                      for part in ('real', 'imag'))
        return complex(real, imag), len(peers)

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
        # Relative weights: the largest is 1, so subnormal declared weights cannot underflow
        # the weighted sums into values outside the peers' range.
        relative = weights / weights.max()
        real, imag, coherence = (
            combine(values[:, i], relative, self.config.aggregation, self.config.trim_fraction)
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
