"""
Every QoS profile BecomingONE topics use, defined once (nodes, adapters, tools and tests).

- Sensor streams (``phase``) use rclpy's ``qos_profile_sensor_data`` (best effort, depth 5).
- :data:`RESONANCE_QOS`: a stream of state where every cycle matters to the witness.
- :func:`latched`: reliable and transient local, so a late subscriber learns the current value
  at once (``sync/state``, ``memory/acknowledged``, the e-stop, a display's colour).
- :data:`WITNESS_QOS`, :data:`WITNESS_SIGNATURE_QOS`: the witness chain and its signed heads.
- :data:`PEERS_QOS`: mesh heartbeats; :data:`STATE_QOS`: reliable state, volatile.
"""

from rclpy.qos import QoSDurabilityPolicy, QoSHistoryPolicy, QoSProfile, QoSReliabilityPolicy


def latched(depth=1):
    """Return a reliable, transient-local profile: late joiners get the last ``depth`` values."""
    return QoSProfile(depth=depth, reliability=QoSReliabilityPolicy.RELIABLE,
                      durability=QoSDurabilityPolicy.TRANSIENT_LOCAL)


# Resonance: a stream of state, every cycle matters to the witness: reliable, a few deep.
RESONANCE_QOS = QoSProfile(depth=20, reliability=QoSReliabilityPolicy.RELIABLE)
# sync/state: latched, so an output adapter that starts late learns at once whether to act.
SYNC_STATE_QOS = latched()
#: The one-value latched profile (the e-stop, memory/acknowledged, a display's colour).
LATCHED_QOS = latched()
# witness: every record is part of the chain: reliable, and transient local so that a reader
# matched late (the memory starting after the witness, or restarting) still receives the last
# WITNESS_HISTORY_DEPTH records; a volatile reader (ros2 topic echo, rviz) matches it too, but a
# transient-local reader does not match a volatile writer. 1000 records are 5 s at the default
# micro + meso budget of 200/s and minutes of macro/meta records; at most about 1 KB each in
# the writer's history, so ~1 MB per witness (and per memory subscription), small on a Pi too.
WITNESS_HISTORY_DEPTH = 1000
WITNESS_QOS = latched(WITNESS_HISTORY_DEPTH)
# witness/signatures: like witness, so a memory matched late still receives the recent signed
# heads. 100 are 8 minutes at the default period (plus macro records), ~700 bytes each.
WITNESS_SIGNATURE_QOS = latched(100)
# Peer states are heartbeats: a newer one supersedes any older, so a lost one is not resent
# (resending an old state over a healed link would only produce stale updates).
PEERS_QOS = QoSProfile(depth=20, history=QoSHistoryPolicy.KEEP_LAST,
                       reliability=QoSReliabilityPolicy.BEST_EFFORT)
STATE_QOS = QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE)
