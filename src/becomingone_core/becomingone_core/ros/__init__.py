"""
Shared ROS 2 helpers for every BecomingONE node (the nav2_util of this stack).

QoS profiles, stamp conversions, parameter declaration with ranges, diagnostics with
diagnostic_updater's interface, markers, the guarded base node, the process runner and the
launch-file helpers. Executables live in ``becomingone_core.nodes``; algorithms import none
of this.
"""
