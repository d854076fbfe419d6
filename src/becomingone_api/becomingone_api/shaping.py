"""
The JSON the gateway speaks, built from plain message fields (pure: no rclpy).

Nodes turn messages into dicts with ``message_fields.to_fields``; the functions here shape
those into the documented JSON (complex numbers as ``{"re", "im", "abs"}``, stamps as float
seconds since the epoch) and keep each cell's latest state, a short history and its witness
health in :class:`CellView`, guarded by a lock (written by the executor, read by the server).
"""

import collections
import json
import math
import threading

NS = 1_000_000_000
MACRO, META = 2, 3
LAYERS = ('micro', 'meso', 'macro', 'meta')


def stamp_s(stamp):
    """Return a ``{"sec", "nanosec"}`` dict as float seconds."""
    return stamp['sec'] + stamp['nanosec'] * 1e-9


def complex_json(real, imag):
    """Return a complex number as ``{"re", "im", "abs", "arg"}``."""
    return {'re': real, 'im': imag, 'abs': math.hypot(real, imag),
            'arg': math.atan2(imag, real)}


def sync_state(cell, fields):
    """Shape a ``SyncState``'s fields."""
    return {
        'cell': cell,
        'stamp': stamp_s(fields['header']['stamp']),
        'coherence': fields['coherence'],
        'threshold': fields['threshold'],
        'hysteresis': fields['hysteresis'],
        'collapsed': fields['collapsed'],
        'delta_phase': fields['delta_phase'],
        'realign_requested': fields['realign_requested'],
        'realign_threshold': fields['realign_threshold'],
        'T_m': complex_json(fields['master_real'], fields['master_imag']),
        'T_e': complex_json(fields['emissary_real'], fields['emissary_imag']),
        'T_sync': complex_json(fields['sync_real'], fields['sync_imag']),
        'signed': bool(fields.get('signature')),
    }


def resonance(cell, fields):
    """Shape a ``Resonance``'s summary (the per-lag arrays stay in ROS and the memory)."""
    return {
        'cell': cell,
        'transducer': fields['transducer'],
        'stamp': stamp_s(fields['header']['stamp']),
        'summary': complex_json(fields['summary_real'], fields['summary_imag']),
        'summary_coherence': fields['summary_coherence'],
        'summary_tau': fields['summary_tau'],
        'lags': len(fields['tau']),
        'samples': fields['samples'],
        'rejected': fields['rejected'],
        'active_sources': fields['active_sources'],
    }


def witness_record(cell, fields):
    """Shape a ``WitnessRecord``."""
    return {
        'cell': cell,
        'stamp': stamp_s(fields['header']['stamp']),
        'observer': fields['observer'],
        'layer': LAYERS[fields['layer']],
        'subject': fields['subject'],
        'event': fields['event'],
        'values': dict(zip(fields['names'], fields['values'])),
        'sequence': fields['sequence'],
        'previous_digest': fields['previous_digest'],
        'digest': fields['digest'],
    }


def _peer(status):
    """Shape one ``PeerStatus``: the peer's state and what the mesh node knows of it."""
    p = status['state']
    return {
        'node_id': p['node_id'], 'host': p['host'], 'role': p['role'],
        'weight': p['weight'], 'T': complex_json(p['t_real'], p['t_imag']),
        'coherence': p['coherence'], 'collapsed': p['collapsed'], 'alive': status['alive'],
        'stamp': stamp_s(p['header']['stamp']), 'last_seen': stamp_s(status['last_seen']),
    }


def mesh_state(cell, fields):
    """Shape a ``MeshState`` and its peers."""
    return {
        'cell': cell,
        'stamp': stamp_s(fields['header']['stamp']),
        'node_id': fields['node_id'],
        'peers': [_peer(status) for status in fields['peers']],
        'peers_alive': fields['peers_alive'],
        'peers_dead': fields['peers_dead'],
        'T_global': complex_json(fields['global_real'], fields['global_imag']),
        'global_coherence': fields['global_coherence'],
        'emerged': fields['emerged'],
        'emergence_threshold': fields['emergence_threshold'],
        'aggregation': fields['aggregation'],
    }


def mesh_signature(view):
    """Return what makes a mesh view *change* for the stream (peers, liveness, emergence)."""
    return (tuple((p['node_id'], p['alive'], p['collapsed']) for p in view['peers']),
            view['emerged'], round(view['global_coherence'], 2))


def dumps(value):
    """Serialise for the wire; NaN and infinities never leave the gateway."""
    return json.dumps(value, allow_nan=False, separators=(',', ':'))


def explain_gate(state, now_s, stale_after_s=1.0, estop=None):
    """
    Say in words why the cell's gate (collapse) is open or closed, from its latest state.

    ``state`` is a shaped sync state or None; ``estop`` the e-stop view. The rules are the
    sync layer's (collapse at coherence >= I_c, release below I_c - h) and the outputs'
    fail-closed rule (no fresh state: nothing acts).
    """
    lines = []
    if estop and estop.get('engaged'):
        lines.append(f'The mesh e-stop is ENGAGED (by {estop.get("engaged_by") or "?"}): no '
                     'motion output acts, whatever the gate says.')
    if state is None:
        lines.append('No sync state received yet: the gate is CLOSED (outputs fail closed).')
        return {'open': False, 'reason': 'no_state', 'text': ' '.join(lines)}
    age = now_s - state['stamp']
    c, threshold, h = state['coherence'], state['threshold'], state['hysteresis']
    if age > stale_after_s:
        lines.append(f'The last sync state is {age:.1f} s old (> {stale_after_s:g} s): the '
                     'gate counts as CLOSED (outputs act only on fresh states).')
        return {'open': False, 'reason': 'stale', 'age_s': age, 'text': ' '.join(lines)}
    tm, te = state['T_m']['abs'], state['T_e']['abs']
    detail = (f'coherence |T_sync|^2 = {c:.3f}, I_c = {threshold:.3f}, hysteresis {h:.3f}; '
              f'|T_m| = {tm:.3f}, |T_e| = {te:.3f}, delta phase {state["delta_phase"]:.3f}.')
    if state['collapsed']:
        reason = 'above_threshold' if c >= threshold else 'hysteresis'
        why = (f'coherence {c:.3f} >= I_c {threshold:.3f}' if c >= threshold else
               f'coherence {c:.3f} is below I_c but not below I_c - h = {threshold - h:.3f}, '
               'so the collapse holds (hysteresis)')
        lines.append(f'The gate is OPEN (collapsed): {why}. {detail}')
    else:
        reason = 'below_threshold'
        why = f'coherence {c:.3f} < I_c {threshold:.3f}'
        if min(tm, te) < 0.3:
            weak = 'Master' if tm < te else 'Emissary'
            why += f'; the {weak} hardly resonates (|T| = {min(tm, te):.3f})'
        if state['realign_requested']:
            why += '; the transducers disagree and ask to realign'
        lines.append(f'The gate is CLOSED (released): {why}. {detail}')
    return {'open': bool(state['collapsed']), 'reason': reason, 'age_s': age,
            'text': ' '.join(lines)}


class CellView:
    """One cell's latest state, recent history, macro events and witness health."""

    def __init__(self, name, history=1200, events=200):
        self.name = name
        self._lock = threading.Lock()
        self.state = None
        self.history = collections.deque(maxlen=history)
        self.resonance = {}
        self.events = collections.deque(maxlen=events)
        self.mesh = None
        self.by_layer = collections.Counter()
        self.last_meta = None
        self.last_record_s = None
        self.missing_streams = set()
        self.rejected = 0

    def on_state(self, shaped):
        with self._lock:
            self.state = shaped
            self.history.append(shaped)

    def on_resonance(self, shaped):
        with self._lock:
            self.resonance[shaped['transducer']] = shaped

    def on_witness(self, shaped, now_s):
        """Take a witness record; return True for a macro event (streamed)."""
        with self._lock:
            self.by_layer[shaped['layer']] += 1
            self.last_record_s = now_s
            if shaped['layer'] == 'meta':
                self.last_meta = shaped
            if shaped['layer'] != 'macro':
                return False
            self.events.append(shaped)
            stream = shaped['subject']
            if shaped['event'] == 'stream_lost':
                self.missing_streams.add(stream)
            elif shaped['event'] == 'stream_restored':
                self.missing_streams.discard(stream)
            return True

    def on_mesh(self, shaped):
        """Take a mesh view; return True when it changed in a way the stream reports."""
        with self._lock:
            changed = self.mesh is None or mesh_signature(self.mesh) != mesh_signature(shaped)
            self.mesh = shaped
            return changed

    def recent(self, seconds, now_s):
        with self._lock:
            return [s for s in self.history if s['stamp'] >= now_s - seconds]

    def witness_health(self, now_s, stale_after_s=3.0):
        """Return the witness's health as the dashboard shows it."""
        with self._lock:
            age = None if self.last_record_s is None else now_s - self.last_record_s
            meta = self.last_meta['values'] if self.last_meta else {}
            if age is None:
                level = 'unknown'
            elif age > stale_after_s:
                level = 'silent'
            elif self.missing_streams:
                level = 'warn'
            else:
                level = 'ok'
            return {'level': level, 'last_record_age_s': age,
                    'records': dict(self.by_layer), 'meta': meta,
                    'missing_streams': sorted(self.missing_streams)}

    def summary(self, now_s):
        with self._lock:
            state, mesh = self.state, self.mesh
            resonance = dict(self.resonance)
            events = list(self.events)[-20:]
        return {'cell': self.name, 'state': state, 'resonance': resonance,
                'mesh': mesh, 'events': events, 'witness': self.witness_health(now_s)}


def verify_witness(records_fields):
    """
    Verify witness records (``WitnessRecord`` fields, oldest first) as hash chains.

    A range may begin inside a chain (it is checked from its first record on) and may span
    restarts of the witness (sequence 0 again: a new epoch, checked on its own).
    """
    from becomingone_core.witness_chain import Record, verify
    runs, current = [], []
    for fields in records_fields:
        record = Record(
            sequence=fields['sequence'], layer=fields['layer'],
            stamp_ns=fields['header']['stamp']['sec'] * NS + fields['header']['stamp']['nanosec'],
            observer=fields['observer'], subject=fields['subject'],
            event=fields['event'], names=tuple(fields['names']), values=tuple(fields['values']),
            previous_digest=fields['previous_digest'], digest=fields['digest'])
        if current and (record.sequence == 0 or record.observer != current[-1].observer):
            runs.append(current)
            current = []
        current.append(record)
    if current:
        runs.append(current)
    results = []
    for run in runs:
        outcome = verify(run)
        results.append({'observer': run[0].observer, 'first_sequence': run[0].sequence,
                        'records': len(run), 'ok': outcome.ok, 'checked': outcome.checked,
                        'bad_sequence': run[outcome.bad_index].sequence if not outcome.ok
                        else None, 'reason': outcome.reason})
    return {'ok': all(r['ok'] for r in results), 'records': len(records_fields),
            'chains': results}
