"""
A test host's agent: reports its mesh node's ``mesh/state`` as JSON lines on stdout.

With ``--sync REAL IMAG`` it also stands in for the cell, publishing a constant ``sync/state``
(T_sync = REAL + i IMAG). The multi-host test runs one agent per network namespace and reads
what each host's mesh node sees from the agent's output.
"""

import argparse
import json
import sys

from becomingone_core.nodes.mesh_node import STATE_QOS
from becomingone_msgs.msg import MeshState, SyncState
import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node


class MeshHostAgent(Node):

    def __init__(self, sync):
        super().__init__('mesh_host_agent')
        self.create_subscription(MeshState, 'mesh/state', self._report, STATE_QOS)
        if sync is not None:
            self._sync = complex(*sync)
            self._publisher = self.create_publisher(SyncState, 'sync/state', STATE_QOS)
            self.create_timer(0.05, self._publish_sync)

    def _publish_sync(self):
        message = SyncState(sync_real=self._sync.real, sync_imag=self._sync.imag,
                            coherence=abs(self._sync) ** 2, collapsed=True)
        message.header.stamp = self.get_clock().now().to_msg()
        self._publisher.publish(message)

    def _report(self, message):
        print(json.dumps({
            'node_id': message.node_id,
            'alive': sorted(p.node_id for p in message.peers if p.alive),
            'dead': sorted(p.node_id for p in message.peers if not p.alive),
            'contributing': sorted(p.node_id for p in message.peers if p.alive and p.weight > 0),
            'peers_t': {p.node_id: [p.t_real, p.t_imag] for p in message.peers},
            't': [message.global_real, message.global_imag],
            'coherence': message.global_coherence,
            'emerged': message.emerged,
        }), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--sync', nargs=2, type=float, metavar=('REAL', 'IMAG'))
    args, ros_args = parser.parse_known_args()
    rclpy.init(args=[sys.argv[0], *ros_args])
    node = MeshHostAgent(args.sync)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
