"""
The launch actions every BecomingONE launch file shares (imported by launch files only).

- :func:`preflight` includes ``becomingone_bringup``'s ``preflight.launch.py`` first: it refuses a
  launch whose tools are missing before any process starts, turns SIGTERM into a clean stop and
  makes the namespace a valid name.
- :func:`managed` brings a lifecycle node up, since Jazzy's launch_ros has no autostart.
"""

from launch.actions import EmitEvent, IncludeLaunchDescription, RegisterEventHandler
from launch.event_handlers import OnProcessStart
from launch.events import matches_action
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import ThisLaunchFileDir
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from lifecycle_msgs.msg import Transition


def preflight(**arguments):
    """Include preflight.launch.py (beside the including file) with ``arguments``."""
    return IncludeLaunchDescription(PythonLaunchDescriptionSource(
        [ThisLaunchFileDir(), '/preflight.launch.py']), launch_arguments=arguments.items())


def managed(node):
    """
    Return ``node`` (a LifecycleNode) with what brings it up.

    Configure on every start of its process (a respawn too), activate once configured; a node
    taken down later (``ros2 lifecycle set ... deactivate``) stays down.
    """
    def change(transition_id):
        return EmitEvent(event=ChangeState(lifecycle_node_matcher=matches_action(node),
                                           transition_id=transition_id))
    return [node, RegisterEventHandler(OnProcessStart(
                target_action=node, on_start=[change(Transition.TRANSITION_CONFIGURE)])),
            RegisterEventHandler(OnStateTransition(
                target_lifecycle_node=node, start_state='configuring', goal_state='inactive',
                entities=[change(Transition.TRANSITION_ACTIVATE)]))]
