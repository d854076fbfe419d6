"""
The offline mode: the cell's own Emissary, Master and sync layer over numpy arrays (no rclpy).

:class:`becomingone_core.cell_model.CellModel` holds the pieces the nodes run; here it is fed
the way the nodes are fed: message by message (an input's block of samples, or one sample), in
the order they would arrive, and a decision is taken after every message that completed an
integration cycle, stamped with its newest sample, as the sync node decides on every Resonance.
So offline and in process take the same decisions at the same sensor times, up to where the
integration bins fall (in process they start at the receiver's clock, within one step).
"""

from dataclasses import dataclass, field

from becomingone.sdk.events import COLLAPSE, event_from_decision, RELEASE
from becomingone_core.cell_model import CellModel, ROLES, Timeline
from becomingone_core.realign import RealignPolicy
from becomingone_core.scales import preset, transducer_config
from becomingone_core.sync import SyncLayer
from becomingone_core.transducer import make_lags, Transducer
import numpy as np


@dataclass
class Recorded:
    """One input's recording as arrays: times (s from its start), phase (N x C), messages."""

    t: np.ndarray
    phase: np.ndarray
    #: Index one past the last sample of each message (None: one sample per message).
    ends: np.ndarray = None

    def messages(self):
        """Yield ``(t, phase)`` per message, in order."""
        ends = self.ends if self.ends is not None else np.arange(1, self.t.size + 1)
        start = 0
        for end in ends:
            yield self.t[start:end], self.phase[start:end]
            start = end


@dataclass
class OfflineRun:
    """What an offline run decided: the collapse/release events and every decision."""

    events: list = field(default_factory=list)
    timeline: Timeline = None

    def kinds(self):
        return [event.kind for event in self.events]

    def times(self, kind):
        return [event.stamp_s for event in self.events if event.kind == kind]


def integration_step_s(scale):
    """Return one integration step of the faster transducer of ``scale`` (s)."""
    chosen = preset(scale)
    return 1.0 / max(chosen.emissary.sample_rate_hz, chosen.master.sample_rate_hz)


def slow_step_s(scale):
    """
    Return one integration step of the slower transducer of ``scale`` (s).

    A decision needs both scales, so where the bins fall moves it by up to this much: in
    process and offline take the same decisions within one such step.
    """
    chosen = preset(scale)
    return 1.0 / min(chosen.emissary.sample_rate_hz, chosen.master.sample_rate_hz)


#: Node parameters that change the decisions, by where they go offline.
SYNC_PARAMETERS = ('threshold', 'hysteresis', 'realign_threshold')
TRANSDUCER_PARAMETERS = ('window_s', 'omega', 'sample_rate_hz', 'summary', 'summary_tau_s',
                         'source_timeout_s', 'max_delay_s', 'max_input_rate_hz')
LAG_PARAMETERS = ('lag_min_s', 'lag_max_s', 'lag_count', 'lag_spacing')
REALIGN_PARAMETERS = ('realign_dissipation', 'realign_period_s')
#: Node parameters of the in-process plumbing (rates, deadlines, clocks, topics, markers).
IN_PROCESS_ONLY = ('publish_rate_hz', 'stall_timeout_s', 'deadline_s', 'input_topics',
                   'max_block_span_s', 'max_clock_skew_s', 'max_input_age_s',
                   'resonance_timeout_s', 'marker_frame_id', 'marker_rate_hz', 'security_dir',
                   'channels')


def cell_model(scale, channels=4, realign_dissipation=0.5, parameters=None):
    """
    Return the :class:`CellModel` the nodes would run with ``parameters`` (node -> values).

    Every node parameter that changes a decision is applied as the node applies it; one this
    mode cannot apply raises ValueError, so offline and in process never silently differ.
    """
    parameters = parameters or {}
    model = CellModel(scale)
    for node, values in parameters.items():
        known = {'sync': SYNC_PARAMETERS}.get(
            node, TRANSDUCER_PARAMETERS + LAG_PARAMETERS + REALIGN_PARAMETERS
            if node in ROLES else None)
        if known is None:
            continue  # witness, memory, ...: no part in the decisions
        unknown = sorted(set(values) - set(known) - set(IN_PROCESS_ONLY))
        if unknown:
            raise ValueError(f'{node}: {", ".join(unknown)} cannot be applied offline')
    chosen = preset(scale)
    for role in ROLES:
        values = parameters.get(role, {})
        bank = chosen.transducer(role)
        lags = make_lags(*(values.get(name, getattr(bank, name)) for name in LAG_PARAMETERS))
        # The nodes' defaults: 4 channels at least, as many as the inputs need (cell.channels).
        config = transducer_config(scale, role, lags=tuple(lags), channels=channels, **{
            name: values[name] for name in TRANSDUCER_PARAMETERS if name in values})
        config.validate()
        model.transducers[role] = Transducer(config)
        model.realign[role] = RealignPolicy(
            role, values.get('realign_dissipation', realign_dissipation),
            values.get('realign_period_s', config.window_s / 8))
    sync = parameters.get('sync', {})
    model.sync = SyncLayer(*(sync.get(name, getattr(model.sync, name))
                             for name in SYNC_PARAMETERS))
    return model


def run_offline(scale, sources, channels=4, realign_dissipation=0.5, parameters=None):
    """
    Decide over ``sources`` (name -> :class:`Recorded`, times from a common start).

    ``channels`` is the bank's channel count (all sources together), as the nodes'
    ``channels`` parameter; ``realign_dissipation`` and ``parameters`` (node -> values) as
    the nodes take them (see :func:`cell_model`).
    """
    model = cell_model(scale, channels, realign_dissipation, parameters)
    arrivals = []
    for name, recorded in sources.items():
        t = np.asarray(recorded.t, float)
        phase = np.asarray(recorded.phase, complex).reshape(t.size, -1)
        chunks = Recorded(t, phase, recorded.ends).messages()
        arrivals += [(float(times[-1]), index, name, times, values)
                     for index, (times, values) in enumerate(chunks) if times.size]
    arrivals.sort(key=lambda item: item[:2])  # by newest sample, each source in its order
    threshold = model.sync.threshold
    run = OfflineRun()
    times, coherence, collapsed = [], [], []
    for newest, _, name, t, phase in arrivals:
        cycles = sum(transducer.push(name, t, phase, newest).cycles
                     for transducer in model.transducers.values())
        if not cycles:
            continue
        decision = model.decide(newest)
        times.append(newest)
        coherence.append(decision.coherence)
        collapsed.append(decision.collapsed)
        run.events.extend(event_from_decision(decision, kind, threshold)
                          for kind in decision.events if kind in (COLLAPSE, RELEASE))
    run.timeline = Timeline(np.array(times), np.array(coherence), np.array(collapsed, bool))
    return run
