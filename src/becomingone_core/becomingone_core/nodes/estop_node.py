"""
``mesh_estop``: engage or release the mesh-wide e-stop, and hold it.

    ros2 run becomingone_core mesh_estop engage      # every cell's motor output holds still
    ros2 run becomingone_core mesh_estop release

Publishes ``std_msgs/Bool`` on :data:`becomingone_core.mesh.ESTOP_TOPIC` (reliable, transient
local) and keeps running, so that cells starting later still receive it: a latched value lives
only as long as its publisher. Several operators may hold it; the last value published wins.
"""

import argparse
import sys

from becomingone_core.mesh import ESTOP_TOPIC
from becomingone_core.nodes.guarded_node import GuardedNode
from becomingone_core.nodes.mesh_node import LATCHED_QOS
from becomingone_core.nodes.runner import run_nodes
from std_msgs.msg import Bool


class EStopNode(GuardedNode):
    """Publishes the e-stop value once, latched, and logs each cell that matches it."""

    def __init__(self, engaged):
        super().__init__('mesh_estop')
        self._publisher = self.create_publisher(Bool, ESTOP_TOPIC, LATCHED_QOS)
        self._publisher.publish(Bool(data=engaged))
        self._matched = 0
        self.create_timer(1.0, self._report)
        self.get_logger().info(
            f'e-stop {"ENGAGED" if engaged else "released"} on {ESTOP_TOPIC}; holding it '
            'until Ctrl-C')

    def _report(self):
        matched = self._publisher.get_subscription_count()
        if matched != self._matched:
            self.get_logger().info(f'{matched} subscriber(s) hold the e-stop value')
            self._matched = matched


def main(argv=None):
    parser = argparse.ArgumentParser(prog='mesh_estop', description=__doc__.splitlines()[1])
    parser.add_argument('action', choices=['engage', 'release'])
    args, ros_args = parser.parse_known_args(argv if argv is not None else sys.argv[1:])
    engaged = args.action == 'engage'
    sys.exit(run_nodes(lambda: EStopNode(engaged), args=[sys.argv[0], *ros_args]))
