"""
Lock: ``lock`` (std_msgs/Bool, latched) true while the cell is NOT collapsed, for twist_mux.

Add it to an existing stack's twist_mux ``locks`` (see :mod:`becomingone_adapters.lock`): the
robot's own velocity sources then move it only while the cell is collapsed. The value goes out
on every accepted sync state that changes it, on the watchdog (a stale sync state locks), and
every ``1 / rate_hz`` s; latched, so a twist_mux started later is locked at once.
"""

from becomingone_adapters.lock import LockSignal
from becomingone_adapters.nodes.output_node import GatedOutputNode
from becomingone_core.health import OK, Status
from becomingone_core.ros.parameters import declare
from becomingone_core.ros.qos import LATCHED_QOS
from becomingone_core.ros.runner import main_for
from std_msgs.msg import Bool


class LockOutput(GatedOutputNode):

    def __init__(self, **kwargs):
        super().__init__('lock_output', **kwargs)
        rate = declare(self, 'rate_hz', 10.0, 'lock repeated this often (Hz); a change goes '
                       'out at once', minimum=0.1, maximum=1000.0)
        self.signal = LockSignal(1.0 / rate)
        self.publisher = self.create_publisher(Bool, 'lock', LATCHED_QOS)
        self.diagnostics.add('lock', self._lock_status)
        self._send()  # locked from the start: no sync state yet
        self.create_timer(min(1.0 / rate, self.gate.watchdog_s / 2), self._send)

    def on_sync(self, message):
        self._send()

    def _send(self):
        locked = self.signal.due(self.now_s(), self.gate.is_open(self.now_s()))
        if locked is not None:
            self.publisher.publish(Bool(data=locked))

    def _lock_status(self):
        values = {'locked': float(bool(self.signal.locked)), 'changes': float(self.signal.changes)}
        return Status(OK, 'locked' if self.signal.locked else 'unlocked: collapsed', values)


main = main_for(LockOutput)
