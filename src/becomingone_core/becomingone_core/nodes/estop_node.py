"""
``mesh_estop``: engage or release the mesh-wide e-stop, and hold it.

    ros2 run becomingone_core mesh_estop engage      # every cell's motor output holds still
    ros2 run becomingone_core mesh_estop release --ros-args -p security_dir:=~/operator

Publishes one ``becomingone_msgs/EStopCommand`` on :data:`becomingone_core.mesh.ESTOP_TOPIC`
(reliable, transient local) and keeps running, so that cells starting later still receive it: a
latched value lives only as long as its publisher. On a mesh with a PKI the command is signed
with the credentials in ``security_dir`` (``becomingone-pki export``): any mesh member may
engage; only an operator certificate (``becomingone-pki issue NAME --operator``) may release.
On an open lab mesh the command travels unsigned. The newest engage holds until a newer release.
"""

import argparse
import socket
import sys
import time

from becomingone_core.mesh import ESTOP_TOPIC
from becomingone_core.ros.guarded_node import GuardedNode
from becomingone_core.ros.parameters import declare
from becomingone_core.ros.qos import LATCHED_QOS
from becomingone_core.ros.runner import run_nodes
from becomingone_core.ros.security_parameters import declare_security
from becomingone_core.ros.stamps import set_stamp
from becomingone_core.security.mesh_auth import estop_fields
from becomingone_core.security.signed_fields import ESTOP
from becomingone_msgs.msg import EStopCommand


def make_command(authority, engage, source, now_ns):
    """Return an ``EStopCommand`` from ``source`` stamped ``now_ns``, signed if a PKI is set."""
    command = EStopCommand(source=source, engage=bool(engage), sequence=int(now_ns))
    set_stamp(command.header.stamp, now_ns)
    if authority.enabled:
        command.certificate = authority.certificate_der
        command.signature = authority.sign(ESTOP, estop_fields(command))
    return command


class EStopNode(GuardedNode):
    """Publishes one e-stop command, latched, and logs each cell that matches it."""

    def __init__(self, engaged, **kwargs):
        super().__init__('mesh_estop', **kwargs)
        authority = declare_security(self)
        source = declare(self, 'source', '', 'Who gives the command (empty: the certificate '
                         'name, else this host name)', read_only=True)
        source = authority.node_id or source or socket.gethostname()
        self._publisher = self.create_publisher(EStopCommand, ESTOP_TOPIC, LATCHED_QOS)
        # The wall clock as sequence: a later command from the same source is always newer.
        self.command = make_command(authority, engaged, source, time.time_ns())
        self._publisher.publish(self.command)
        self._matched = 0
        self.create_timer(1.0, self._report)
        signed = 'signed' if authority.enabled else 'unsigned (open lab mesh)'
        self.get_logger().info(
            f'e-stop {"ENGAGED" if engaged else "released"} by {source!r} on {ESTOP_TOPIC}, '
            f'{signed}; holding it until Ctrl-C')

    def _report(self):
        matched = self._publisher.get_subscription_count()
        if matched != self._matched:
            self.get_logger().info(f'{matched} subscriber(s) hold the e-stop command')
            self._matched = matched


def main(argv=None):
    parser = argparse.ArgumentParser(prog='mesh_estop', description=__doc__.splitlines()[1])
    parser.add_argument('action', choices=['engage', 'release'])
    args, ros_args = parser.parse_known_args(argv if argv is not None else sys.argv[1:])
    engaged = args.action == 'engage'
    sys.exit(run_nodes(lambda: EStopNode(engaged), args=[sys.argv[0], *ros_args]))
