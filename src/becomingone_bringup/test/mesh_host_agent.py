"""
A test host's agent: reports its mesh node's ``mesh/state`` as JSON lines on stdout.

With ``--sync REAL IMAG`` it also stands in for the cell, publishing a constant ``sync/state``
(T_sync = REAL + i IMAG). The multi-host test runs one agent per network namespace and reads
what each host's mesh node sees from the agent's output.

On a mesh with a PKI, ``--security-dir DIR`` (a ``becomingone-pki export`` directory) signs that
``sync/state`` with the host key, as the cell's sync node does (the mesh node admits only its own
host's signed states); ``--collapsed-while PATH`` makes it collapsed only while PATH exists
(default: always); ``--diagnostics`` also prints each ``/diagnostics`` status heard on the host
as a JSON line ``{"diagnostic": name, "level": ..., "message": ..., "values": {...}}``;
``--sync-states`` also prints each ``sync/state`` heard on the host (the cell's own, or this
agent's stand-in) as ``{"sync_state": [REAL, IMAG], "master": [...], "emissary": [...], "stamp":
s, "coherence": ..., "collapsed": ..., "received": s}`` (``stamp`` the decision's sensor-clock
stamp, ``received`` the wall time it was heard).
"""

import argparse
import json
import os
import sys
import time

from becomingone_core.ros.qos import STATE_QOS
from becomingone_core.security.mesh_auth import MeshAuthority, sync_fields
from becomingone_core.security.signed_fields import SYNC_STATE
from becomingone_msgs.msg import MeshState, SyncState
from diagnostic_msgs.msg import DiagnosticArray
import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node


class MeshHostAgent(Node):

    def __init__(self, sync, security_dir='', collapsed_while=None, diagnostics=False,
                 sync_states=False):
        super().__init__('mesh_host_agent')
        self.create_subscription(MeshState, 'mesh/state', self._report, STATE_QOS)
        self._authority = None
        if security_dir:
            self._authority = MeshAuthority.from_directory(security_dir)
        self._collapsed_while = collapsed_while
        if sync is not None:
            self._sync = complex(*sync)
            self._publisher = self.create_publisher(SyncState, 'sync/state', STATE_QOS)
            self.create_timer(0.05, self._publish_sync)
        if diagnostics:
            self.create_subscription(DiagnosticArray, '/diagnostics', self._report_diagnostics,
                                     STATE_QOS)
        if sync_states:
            self.create_subscription(SyncState, 'sync/state', self._report_sync, STATE_QOS)

    def _report_sync(self, message):
        stamp = message.header.stamp
        print(json.dumps({
            'sync_state': [message.sync_real, message.sync_imag],
            'master': [message.master_real, message.master_imag],
            'emissary': [message.emissary_real, message.emissary_imag],
            'stamp': stamp.sec + stamp.nanosec * 1e-9, 'coherence': message.coherence,
            'collapsed': message.collapsed, 'received': time.time(),
        }), flush=True)

    def _publish_sync(self):
        collapsed = (self._collapsed_while is None
                     or os.path.exists(self._collapsed_while))
        message = SyncState(sync_real=self._sync.real, sync_imag=self._sync.imag,
                            coherence=abs(self._sync) ** 2, collapsed=collapsed)
        message.header.stamp = self.get_clock().now().to_msg()
        if self._authority is not None:
            message.signature = self._authority.sign(SYNC_STATE, sync_fields(message))
        self._publisher.publish(message)

    def _report_diagnostics(self, message):
        for status in message.status:
            print(json.dumps({
                'diagnostic': status.name, 'level': int.from_bytes(status.level, 'little'),
                'message': status.message,
                'values': {v.key: v.value for v in status.values},
            }), flush=True)

    def _report(self, message):
        print(json.dumps({
            'node_id': message.node_id,
            'alive': sorted(s.state.node_id for s in message.peers if s.alive),
            'dead': sorted(s.state.node_id for s in message.peers if not s.alive),
            'contributing': sorted(s.state.node_id for s in message.peers
                                   if s.alive and s.state.weight > 0),
            'peers_t': {s.state.node_id: [s.state.t_real, s.state.t_imag] for s in message.peers},
            'hosts': {s.state.node_id: s.state.host for s in message.peers},
            'weights': {s.state.node_id: s.state.weight for s in message.peers},
            't': [message.global_real, message.global_imag],
            'coherence': message.global_coherence,
            'emerged': message.emerged,
        }), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--sync', nargs=2, type=float, metavar=('REAL', 'IMAG'))
    parser.add_argument('--security-dir', default='',
                        help="sign the sync state with this export directory's host key")
    parser.add_argument('--collapsed-while', metavar='PATH',
                        help='the sync state is collapsed only while PATH exists')
    parser.add_argument('--diagnostics', action='store_true',
                        help='also print the /diagnostics statuses heard, as JSON lines')
    parser.add_argument('--sync-states', action='store_true',
                        help='also print the sync/state messages heard, as JSON lines')
    args, ros_args = parser.parse_known_args()
    rclpy.init(args=[sys.argv[0], *ros_args])
    node = MeshHostAgent(args.sync, args.security_dir, args.collapsed_while, args.diagnostics,
                         args.sync_states)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
