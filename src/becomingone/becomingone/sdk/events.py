"""What the SDK hands to ``on_collapse`` / ``on_release`` callbacks and returns offline."""

from dataclasses import dataclass

COLLAPSE, RELEASE = 'collapse', 'release'


@dataclass(frozen=True)
class CollapseEvent:
    """
    One change of the cell's decision.

    ``stamp_s`` is the sensor time the decision was taken at (ROS time in seconds in process,
    seconds from the recording's start offline); ``coherence`` is |T_sync|^2 then.
    """

    kind: str
    stamp_s: float
    coherence: float
    threshold: float
    delta_phase: float
    t_sync: complex

    @property
    def collapsed(self):
        return self.kind == COLLAPSE


def event_from_state(message, kind):
    """Build a :class:`CollapseEvent` from a ``becomingone_msgs/SyncState``."""
    stamp = message.header.stamp
    return CollapseEvent(kind, stamp.sec + stamp.nanosec * 1e-9, float(message.coherence),
                         float(message.threshold), float(message.delta_phase),
                         complex(message.sync_real, message.sync_imag))


def event_from_decision(decision, kind, threshold):
    """Build a :class:`CollapseEvent` from an offline ``SyncDecision``."""
    return CollapseEvent(kind, float(decision.stamp_s), float(decision.coherence),
                         float(threshold), float(decision.delta_phase), complex(decision.sync))
