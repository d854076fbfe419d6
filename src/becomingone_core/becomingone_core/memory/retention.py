"""
Tiered retention ("BLEND decay"): recent history at full resolution, older history in buckets.

Full-resolution records older than ``raw_keep_s`` fold into buckets of the first tier; each
tier's buckets older than its ``keep_s`` fold into the next, coarser tier; the last tier may
keep forever. Bucket statistics merge exactly (counts add, means weight by count, min/max
combine), so folding in several steps gives the same buckets as folding at once. Each call
moves a bounded number of rows, so a long-running cell's file stays bounded without long
pauses. Witness records are never downsampled: they are dropped after ``witness_keep_s``, in
chain order (whole older epochs first), and the last dropped record of each observer becomes the
anchor the kept records of its epoch verify against.
"""

from dataclasses import dataclass, field
import math

from becomingone_core.memory.records import STATE_KINDS

NS = 1_000_000_000


#: The longest duration a retention setting may name (100 years, well inside int64 ns).
MAX_DURATION_S = 100 * 365.25 * 86_400


@dataclass(frozen=True)
class Tier:
    """Buckets of ``resolution_s`` kept for ``keep_s`` (``math.inf``: forever)."""

    resolution_s: float
    keep_s: float

    @property
    def resolution_ns(self):
        return int(round(self.resolution_s * NS))


def _default_tiers():
    return (Tier(1.0, 86_400.0), Tier(60.0, 30 * 86_400.0), Tier(3600.0, math.inf))


@dataclass(frozen=True)
class RetentionPolicy:
    """How long each resolution is kept; the defaults are 1 h raw, 1 s/1 d, 1 min/30 d, 1 h."""

    raw_keep_s: float = 3600.0
    tiers: tuple = field(default_factory=_default_tiers)
    witness_keep_s: float = math.inf

    def __post_init__(self):
        # Durations become int64 nanoseconds in SQL: a century is the most any may say.
        if not 0 < self.raw_keep_s <= MAX_DURATION_S:
            raise ValueError(f'raw_keep_s must be in (0, {MAX_DURATION_S:g}] s')
        if not (0 < self.witness_keep_s <= MAX_DURATION_S or self.witness_keep_s == math.inf):
            raise ValueError(f'witness_keep_s must be in (0, {MAX_DURATION_S:g}] s or forever')
        previous = None
        for tier in self.tiers:
            if not 0 < tier.resolution_s <= MAX_DURATION_S or not (
                    0 < tier.keep_s <= MAX_DURATION_S or tier.keep_s == math.inf):
                raise ValueError(f'tier {tier}: resolution and keep must be in '
                                 f'(0, {MAX_DURATION_S:g}] s (keep: or forever)')
            if previous is not None:
                if tier.resolution_ns % previous.resolution_ns:
                    raise ValueError(f'tier resolution {tier.resolution_s} s is not a multiple '
                                     f'of {previous.resolution_s} s')
                if math.isinf(previous.keep_s):
                    raise ValueError('only the last tier may keep forever')
            previous = tier

    @classmethod
    def from_lists(cls, raw_keep_s, resolutions_s, keeps_s, witness_keep_s=0.0):
        """Build a policy from parallel lists, as ROS parameters give them (0 = forever)."""
        if len(resolutions_s) != len(keeps_s):
            raise ValueError(f'{len(resolutions_s)} tier resolutions but {len(keeps_s)} keeps')
        tiers = tuple(Tier(float(r), float(k) if k > 0 else math.inf)
                      for r, k in zip(resolutions_s, keeps_s))
        return cls(float(raw_keep_s), tiers, float(witness_keep_s) or math.inf)


@dataclass
class RetentionReport:
    """What one retention step moved or dropped."""

    records_folded: int = 0
    buckets_folded: int = 0
    buckets_dropped: int = 0
    records_dropped: int = 0
    witness_dropped: int = 0

    @property
    def done(self):
        return not (self.records_folded or self.buckets_folded or self.buckets_dropped
                    or self.records_dropped or self.witness_dropped)


# Merge a folded group into an existing bucket: every right-hand side reads the old row.
UPSERT_BUCKET = """
ON CONFLICT (kind, start_ns, resolution_ns, source) DO UPDATE SET
    count = count + excluded.count,
    coherence_mean = (coherence_mean * count + excluded.coherence_mean * excluded.count)
                     / (count + excluded.count),
    coherence_min = min(coherence_min, excluded.coherence_min),
    coherence_max = max(coherence_max, excluded.coherence_max),
    t_real_mean = (t_real_mean * count + excluded.t_real_mean * excluded.count)
                  / (count + excluded.count),
    t_imag_mean = (t_imag_mean * count + excluded.t_imag_mean * excluded.count)
                  / (count + excluded.count)
"""

_FOLD_RECORDS = """
INSERT INTO buckets (kind, resolution_ns, start_ns, source, count, coherence_mean,
                     coherence_min, coherence_max, t_real_mean, t_imag_mean)
SELECT kind, :resolution, (stamp_ns / :resolution) * :resolution AS start, source, count(*),
       avg(coherence), min(coherence), max(coherence), avg(t_real), avg(t_imag)
FROM records WHERE kind = :kind AND stamp_ns < :cutoff
GROUP BY start, source
""" + UPSERT_BUCKET

_FOLD_BUCKETS = """
INSERT INTO buckets (kind, resolution_ns, start_ns, source, count, coherence_mean,
                     coherence_min, coherence_max, t_real_mean, t_imag_mean)
SELECT kind, :coarse, (start_ns / :coarse) * :coarse AS start, source, sum(count),
       sum(coherence_mean * count) / sum(count), min(coherence_min), max(coherence_max),
       sum(t_real_mean * count) / sum(count), sum(t_imag_mean * count) / sum(count)
FROM buckets WHERE kind = :kind AND resolution_ns = :fine AND start_ns < :cutoff
GROUP BY start, source
""" + UPSERT_BUCKET


def _align(stamp_ns, resolution_ns):
    return (stamp_ns // resolution_ns) * resolution_ns


def _cutoff(now_ns, keep_s, resolution_ns):
    """Stamps below the returned value are older than ``keep_s`` (aligned to whole buckets)."""
    if math.isinf(keep_s):
        return None
    return max(0, _align(now_ns - int(keep_s * NS), resolution_ns))


def apply(connection, policy, now_ns, max_rows=50_000):
    """
    Run one bounded retention step inside the caller's transaction; return a report.

    Call repeatedly (e.g. on a timer) until ``report.done``: each call folds at most about
    ``max_rows`` full-resolution records per kind.
    """
    report = RetentionReport()
    first = policy.tiers[0] if policy.tiers else None
    raw_cutoff = _cutoff(now_ns, policy.raw_keep_s, first.resolution_ns if first else 1)
    for kind in STATE_KINDS:
        if first is None:
            report.records_dropped += connection.execute(
                'DELETE FROM records WHERE kind = ? AND stamp_ns < ?',
                (kind, raw_cutoff)).rowcount
        else:
            cutoff = _bounded_cutoff(connection, kind, raw_cutoff, first.resolution_ns,
                                     max_rows)
            if cutoff is not None:
                connection.execute(_FOLD_RECORDS, {
                    'kind': kind, 'resolution': first.resolution_ns, 'cutoff': cutoff})
                report.records_folded += connection.execute(
                    'DELETE FROM records WHERE kind = ? AND stamp_ns < ?',
                    (kind, cutoff)).rowcount
        for fine, coarse in zip(policy.tiers, policy.tiers[1:] + (None,)):
            if coarse is None:
                cutoff = _cutoff(now_ns, fine.keep_s, fine.resolution_ns)
                if cutoff is not None:
                    report.buckets_dropped += connection.execute(
                        'DELETE FROM buckets WHERE kind = ? AND resolution_ns = ? '
                        'AND start_ns + resolution_ns <= ?',
                        (kind, fine.resolution_ns, cutoff)).rowcount
                continue
            cutoff = _cutoff(now_ns, fine.keep_s, coarse.resolution_ns)
            connection.execute(_FOLD_BUCKETS, {
                'kind': kind, 'fine': fine.resolution_ns, 'coarse': coarse.resolution_ns,
                'cutoff': cutoff})
            report.buckets_folded += connection.execute(
                'DELETE FROM buckets WHERE kind = ? AND resolution_ns = ? AND start_ns < ?',
                (kind, fine.resolution_ns, cutoff)).rowcount
    report.witness_dropped = _prune_witness(connection, policy, now_ns)
    return report


def _bounded_cutoff(connection, kind, cutoff, resolution_ns, max_rows):
    """Lower ``cutoff`` so one step folds about ``max_rows`` records; ``None``: nothing due."""
    oldest = connection.execute(
        'SELECT min(stamp_ns) FROM records WHERE kind = ?', (kind,)).fetchone()[0]
    if oldest is None or oldest >= cutoff:
        return None
    row = connection.execute(
        'SELECT stamp_ns FROM records WHERE kind = ? AND stamp_ns < ? '
        'ORDER BY stamp_ns LIMIT 1 OFFSET ?', (kind, cutoff, max_rows)).fetchone()
    if row is None:
        return cutoff
    # Whole buckets only, and at least one, so every step makes progress.
    return min(cutoff, max(_align(row[0], resolution_ns),
                           _align(oldest, resolution_ns) + resolution_ns))


def _prune_witness(connection, policy, now_ns):
    if math.isinf(policy.witness_keep_s):
        return 0
    cutoff = now_ns - int(policy.witness_keep_s * NS)
    # Per observer, the last record in chain order (epoch, then sequence) older than the cutoff
    # becomes the anchor.
    for observer, epoch in connection.execute(
            'SELECT observer, max(epoch) FROM witness WHERE stamp_ns < ? GROUP BY observer',
            (cutoff,)).fetchall():
        sequence, digest = connection.execute(
            'SELECT sequence, digest FROM witness WHERE observer = ? AND epoch = ? '
            'AND stamp_ns < ? ORDER BY sequence DESC LIMIT 1',
            (observer, epoch, cutoff)).fetchone()
        connection.execute(
            'INSERT OR REPLACE INTO witness_anchor (observer, epoch, sequence, digest) '
            'VALUES (?, ?, ?, ?)', (observer, epoch, sequence, digest))
    # Signed heads go by their own stamp: those of the records kept stay (a head is signed
    # after its record was made).
    connection.execute('DELETE FROM witness_signatures WHERE stamp_ns < ?', (cutoff,))
    # Drop everything up to the anchor in chain order, so a chain never loses a record from its
    # middle (older epochs go whole).
    return connection.execute("""
        DELETE FROM witness WHERE (epoch, sequence) <= (
            SELECT epoch, sequence FROM witness_anchor AS a WHERE a.observer = witness.observer)
    """).rowcount
