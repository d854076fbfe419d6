"""
rviz markers of a sync decision, drawn in the complex plane.

T_m, T_e and T_sync are arrows (x = Re, y = Im, 1 m = |T| of 1), with the unit circle and the
collapse circle |T| = sqrt(I_c): T_sync's arrow tip outside it means collapsed.
"""

import math

from becomingone_core.ros.parameters import declare

from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

NAMESPACE = 'becomingone'
#: What the ``markers`` parameter of the sync and mesh nodes does.
MARKERS_DESCRIPTION = (
    'Offer rviz markers (a MarkerArray publisher, drawn only while subscribed). False: no '
    'publisher, about 3 MB less resident memory on a small host; a host whose cell graph stays '
    'on the host (a TLS mesh) cannot show them on another machine anyway.')


def declare_markers(node):
    """Declare ``markers`` (read once at start-up) and return whether to offer markers."""
    return declare(node, 'markers', True, MARKERS_DESCRIPTION, read_only=True)


MASTER_COLOUR = ColorRGBA(r=0.2, g=0.4, b=1.0, a=1.0)
EMISSARY_COLOUR = ColorRGBA(r=0.1, g=0.8, b=0.3, a=1.0)
RELEASED_COLOUR = ColorRGBA(r=0.9, g=0.9, b=0.9, a=1.0)
COLLAPSED_COLOUR = ColorRGBA(r=1.0, g=0.75, b=0.0, a=1.0)
CIRCLE_COLOUR = ColorRGBA(r=0.5, g=0.5, b=0.5, a=0.6)


def phase_markers(decision, threshold, frame_id, stamp, segments=72):
    """Return the ``MarkerArray`` of one :class:`becomingone_core.sync.SyncDecision`."""
    collapsed_colour = COLLAPSED_COLOUR if decision.collapsed else RELEASED_COLOUR
    markers = [
        _arrow(0, decision.master, 0.03, MASTER_COLOUR),
        _arrow(1, decision.emissary, 0.03, EMISSARY_COLOUR),
        _arrow(2, decision.sync, 0.05, collapsed_colour),
        _circle(3, 1.0, CIRCLE_COLOUR, segments),
        _circle(4, math.sqrt(threshold), collapsed_colour, segments),
        _text(5, f'|T_sync|^2 = {decision.coherence:.2f} '
                 f'({"collapsed" if decision.collapsed else "released"})', collapsed_colour),
    ]
    for marker in markers:
        marker.header.frame_id = frame_id
        marker.header.stamp = stamp
        marker.ns = NAMESPACE
        marker.action = Marker.ADD
        marker.pose.orientation.w = 1.0
        marker.frame_locked = True
    return MarkerArray(markers=markers)


def _arrow(marker_id, value, width, colour):
    marker = Marker(id=marker_id, type=Marker.ARROW, color=colour)
    marker.points = [Point(), Point(x=value.real, y=value.imag)]
    marker.scale.x, marker.scale.y, marker.scale.z = width, 2 * width, 3 * width
    return marker


def _circle(marker_id, radius, colour, segments):
    marker = Marker(id=marker_id, type=Marker.LINE_STRIP, color=colour)
    marker.points = [Point(x=radius * math.cos(2 * math.pi * k / segments),
                           y=radius * math.sin(2 * math.pi * k / segments))
                     for k in range(segments + 1)]
    marker.scale.x = 0.01
    return marker


def _text(marker_id, text, colour):
    marker = Marker(id=marker_id, type=Marker.TEXT_VIEW_FACING, color=colour, text=text)
    marker.pose.position.y = 1.2
    marker.scale.z = 0.1
    return marker
