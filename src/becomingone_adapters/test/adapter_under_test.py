"""One adapter node under test: its own process and DDS domain, and a probe hearing it."""

from becomingone_core.testing.processes import isolated_ros_env, NodeProcess
from becomingone_core.testing.ros import RosProbe
from becomingone_msgs.msg import Phase
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import qos_profile_sensor_data


class Adapter:
    """One adapter node in its own process, and a probe that hears its phase and health."""

    def __init__(self, executable, ros_arguments=()):
        self.env = isolated_ros_env()
        self.probe = RosProbe(self.env)
        self.node = NodeProcess.run('becomingone_adapters', executable, self.env,
                                    ros_arguments=list(ros_arguments))
        self.phases = self.probe.collect(Phase, 'phase', qos_profile_sensor_data)
        self.diagnostics = self.probe.collect(DiagnosticArray, '/diagnostics', 50)

    def values(self, status_name):
        """Return the newest numeric values of the status ``status_name`` ({} if none yet)."""
        for array in reversed(self.diagnostics):
            for status in array.status:
                if status.name.endswith(': ' + status_name):
                    return {kv.key: float(kv.value) for kv in status.values}
        return {}

    def wait_for_path(self, send, heard=None):
        """Repeat ``send()`` until ``heard()`` (default: any phase came back)."""
        heard = heard or (lambda: bool(self.phases))

        def sent_and_heard():
            if heard():
                return True
            send()
            self.probe.spin_for(0.1)
            return heard()
        assert self.probe.spin_until(sent_and_heard, 60), self.node.output()

    def close(self):
        self.node.stop()
        self.probe.close()
