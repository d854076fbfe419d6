"""
The witness: what a cell did, at four layers, in one hash chain (no rclpy).

- **micro**: inputs each transducer accepted and rejected since its previous cycle, with the
  change in its summary coherence they caused (``accepted``/``rejected``);
- **meso**: each transducer integration cycle (``cycle``: summary γ, its lag, counters);
- **macro**: each collapse, release, realign request and its end, and each observed stream that
  went missing or came back (``stream_lost``/``stream_restored``; a stream never heard since
  the witness started is waiting, never lost);
- **meta**: the witness's own health once per period (``health``: records/s, lag behind the
  stream, records dropped).

Micro and meso records share a budget of ``max_records_per_s``; records past it are dropped and
counted (the meta layer reports the count). Macro and meta records are never dropped. Every
record goes through :class:`becomingone_core.witness_chain.HashChain`.
"""

from dataclasses import dataclass

from becomingone_core.health import ERROR, OK, StalenessMonitor, Status, WARN
from becomingone_core.witness_chain import HashChain, MACRO, MESO, META, MICRO


@dataclass
class _TransducerView:
    samples: int = 0
    rejected: int = 0
    coherence: float = 0.0


class Witness:
    """Turns observations into chained records; the caller publishes and stores them."""

    def __init__(self, observer, streams, now_s, max_records_per_s=200.0, last_record=None):
        """
        Watch ``streams`` (name -> timeout s) from ``now_s``.

        ``last_record`` continues an existing chain (e.g. the last line of a stored log).
        """
        if max_records_per_s <= 0:
            raise ValueError('max_records_per_s: must be > 0')
        self.chain = HashChain(observer, last_record)
        self.max_records_per_s = max_records_per_s
        # A stream never heard is "waiting", not lost: only one that was heard and then went
        # quiet for its timeout is reported missing (no false alarm at start-up).
        self.streams = {name: StalenessMonitor(timeout_s / 2, timeout_s, what=name)
                        for name, timeout_s in streams.items()}
        self.lost = set()
        self.records = 0
        self.dropped = 0
        #: Observed messages the node refused by range (it counts them here for the meta layer).
        self.inputs_rejected = 0
        self.by_layer = [0, 0, 0, 0]
        self._tokens = max_records_per_s
        self._last_refill_s = now_s
        self._transducers = {}
        self._collapsed = None
        self._realign = None
        self._period_start_s = now_s
        self._period_records = 0
        self._period_lag_max_s = 0.0

    # ----------------------------------------------------------------------------- observations
    def observe_input(self, stream, now_s, lag_s=0.0):
        """Note that ``stream`` delivered something (liveness only, no record)."""
        self._touch(stream, now_s, lag_s)
        return []

    def observe_resonance(self, transducer, stamp_ns, now_s, *, coherence, summary, tau,
                          samples, rejected, active_sources, lag_s=0.0, stream=None):
        """Record a transducer's integration cycle (meso) and the inputs behind it (micro)."""
        self._touch(stream or f'{transducer}/resonance', now_s, lag_s)
        view = self._transducers.setdefault(transducer, _TransducerView())
        accepted_now = max(0, samples - view.samples)
        rejected_now = max(0, rejected - view.rejected)
        change = coherence - view.coherence
        records = []
        if accepted_now:
            records += self._limited(now_s, MICRO, transducer, 'accepted', stamp_ns, {
                'samples': accepted_now, 'coherence_before': view.coherence,
                'coherence_after': coherence, 'coherence_change': change})
        if rejected_now:
            records += self._limited(now_s, MICRO, transducer, 'rejected', stamp_ns, {
                'samples': rejected_now, 'coherence_change': change})
        records += self._limited(now_s, MESO, transducer, 'cycle', stamp_ns, {
            'coherence': coherence, 'summary_real': summary.real, 'summary_imag': summary.imag,
            'tau': tau, 'samples': samples, 'rejected': rejected,
            'active_sources': active_sources})
        view.samples, view.rejected, view.coherence = samples, rejected, coherence
        return records

    def observe_sync(self, stamp_ns, now_s, *, coherence, collapsed, realign_requested,
                     delta_phase, threshold, lag_s=0.0, stream='sync/state'):
        """Record collapse, release and realign transitions of the sync layer (macro)."""
        self._touch(stream, now_s, lag_s)
        values = {'coherence': coherence, 'threshold': threshold, 'delta_phase': delta_phase}
        records = []
        if collapsed != bool(self._collapsed):
            if collapsed or self._collapsed is not None:
                records.append(self._make(MACRO, 'sync', 'collapse' if collapsed else 'release',
                                          stamp_ns, values))
        if realign_requested != bool(self._realign):
            if realign_requested or self._realign is not None:
                records.append(self._make(MACRO, 'sync', 'realign' if realign_requested
                                          else 'realigned', stamp_ns, values))
        self._collapsed = collapsed
        self._realign = realign_requested
        return records

    def check_streams(self, now_s, stamp_ns):
        """Record streams that went missing or came back since the last check (macro)."""
        records = []
        for name, monitor in self.streams.items():
            status = monitor.status(now_s)
            if status.level >= ERROR and name not in self.lost:
                self.lost.add(name)
                records.append(self._make(MACRO, name, 'stream_lost', stamp_ns,
                                          {'age_s': status.values['age_s']}))
            elif status.level == OK and name in self.lost:
                self.lost.discard(name)
                records.append(self._make(MACRO, name, 'stream_restored', stamp_ns,
                                          {'age_s': status.values['age_s']}))
        return records

    def stream_statuses(self, now_s):
        statuses = {}
        for name, monitor in self.streams.items():
            status = monitor.status(now_s)
            if monitor.last_seen is None:
                status = Status(WARN, f'{name}: waiting (not heard since start-up)',
                                status.values)
            statuses[name] = status
        return statuses

    def health(self, now_s, stamp_ns):
        """Close a meta period: one ``health`` record about the witness itself."""
        elapsed = max(now_s - self._period_start_s, 1e-9)
        values = {'records_per_s': self._period_records / elapsed,
                  'lag_max_s': self._period_lag_max_s, 'dropped': self.dropped,
                  'records': self.records, 'streams_lost': len(self.lost),
                  'inputs_rejected': self.inputs_rejected}
        self._period_start_s = now_s
        self._period_records = 0
        self._period_lag_max_s = 0.0
        return [self._make(META, 'witness', 'health', stamp_ns, values)]

    # ----------------------------------------------------------------------------- internals
    def _touch(self, stream, now_s, lag_s):
        monitor = self.streams.get(stream)
        if monitor is not None:
            monitor.touch(now_s)
        self._period_lag_max_s = max(self._period_lag_max_s, lag_s)

    def _limited(self, now_s, layer, subject, event, stamp_ns, values):
        rate = self.max_records_per_s
        self._tokens = min(rate, self._tokens + (now_s - self._last_refill_s) * rate)
        self._last_refill_s = now_s
        if self._tokens < 1.0:
            self.dropped += 1
            return []
        self._tokens -= 1.0
        return [self._make(layer, subject, event, stamp_ns, values)]

    def _make(self, layer, subject, event, stamp_ns, values):
        record = self.chain.append(layer, subject, event, stamp_ns, values)
        self.records += 1
        self._period_records += 1
        self.by_layer[layer] += 1
        return record
