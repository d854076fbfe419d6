"""
Motors: ``cmd_vel`` (geometry_msgs/Twist) from the cell's phase, only while collapsed.

Zero velocity is published at once on release, when the sync state goes stale (watchdog) and
on e-stop. The e-stop (``becomingone_msgs/EStopCommand``, latched, default
``/becomingone/estop`` for the whole mesh) overrides everything. On a mesh with a PKI
(``security_dir``) a command counts only if signed by a mesh member, and a release only if
signed by an operator certificate; an operator's release also clears the latch. Otherwise
(an open lab mesh, or an unsigned release there) the latch is cleared by ``~/reset_estop``
(std_srvs/Trigger) or a message on ``estop_reset`` (std_msgs/Empty), and only once the e-stop
is released.

A lifecycle node (``rclpy.lifecycle``): ``cmd_vel`` is a lifecycle publisher and the command
timer runs only while active, so an inactive motor output publishes no Twist whatever
``sync/state`` says; deactivating it publishes one zero Twist first. The sync and e-stop
subscriptions live from configure on, so gate and e-stop are current when it activates. A bad
parameter or ``security_dir`` fails configure with the reason logged: the node stays
unconfigured (``ros2 lifecycle get``) and keeps running. ``autostart`` (default true)
configures and activates it at start-up.
"""

from becomingone_adapters.motion import EStopLatch, MotionLimiter, seed_twist
from becomingone_adapters.nodes.output_node import ManagedOutputNode
from becomingone_core.estop import ACCEPTED as ESTOP_ACCEPTED, EStopState
from becomingone_core.health import ERROR, OK, RejectionCounter, Status
from becomingone_core.input_rules import shorten
from becomingone_core.mesh import ESTOP_TOPIC
from becomingone_core.ros.parameters import declare
from becomingone_core.ros.qos import LATCHED_QOS
from becomingone_core.ros.runner import main_for
from becomingone_msgs.msg import EStopCommand
from geometry_msgs.msg import Twist
from std_msgs.msg import Empty
from std_srvs.srv import Trigger


class MotorOutput(ManagedOutputNode):

    def __init__(self, **kwargs):
        super().__init__('motor_output', watchdog_s=0.5, **kwargs)
        self.start()

    def configure_output(self):
        self.limiter = MotionLimiter(
            declare(self, 'max_linear', 0.2, 'maximum |linear.x| (m/s)', minimum=1e-3,
                    maximum=10.0),
            declare(self, 'max_angular', 0.5, 'maximum |angular.z| (rad/s)', minimum=1e-3,
                    maximum=20.0),
            declare(self, 'max_linear_accel', 0.5, 'maximum change of linear.x (m/s^2)',
                    minimum=1e-3, maximum=100.0),
            declare(self, 'max_angular_accel', 1.0, 'maximum change of angular.z (rad/s^2)',
                    minimum=1e-3, maximum=200.0))
        self._rate_hz = declare(self, 'rate_hz', 20.0, 'command rate while collapsed (Hz)',
                                minimum=1.0, maximum=1000.0)
        estop_topic = declare(self, 'estop_topic', ESTOP_TOPIC,
                              'becomingone_msgs/EStopCommand e-stop (latched QoS); an engage '
                              'stops until released and reset')
        self.estop = EStopLatch()
        self.estop_state = EStopState(self._window.max_future_s)
        self.estop_rejections = RejectionCounter('e-stop commands')
        self.moving = False
        self.last_tick_s = self.now_s()
        self.publisher = self.create_lifecycle_publisher(Twist, 'cmd_vel', 10)
        self.create_subscription(EStopCommand, estop_topic, self._on_estop, LATCHED_QOS)
        self.create_subscription(Empty, 'estop_reset', lambda _: self._reset(), 10)
        self.create_service(Trigger, '~/reset_estop', self._on_reset_service)
        self.diagnostics.add('estop', self._estop_status)
        self.diagnostics.add('estop commands', self.estop_rejections.status)

    def activate_node(self):
        self.last_tick_s = self.now_s()
        self.create_timer(1.0 / self._rate_hz, self._tick)

    def deactivate_node(self):
        # Never leave a robot on its last command: one zero Twist, then nothing.
        self._stop('deactivated')

    def on_sync(self, message):
        if self.moving and not self.gate.is_open(self.now_s()):
            self._stop('released')

    def _on_estop(self, message):
        now_ns = self.get_clock().now().nanoseconds
        verdict, admitted = self.estop_state.take(message, self.auth, now_ns)
        if verdict != ESTOP_ACCEPTED:
            self.estop_rejections.reject(verdict)
            self.get_logger().warning(f'e-stop command from {shorten(message.source)} '
                                      f'refused: {verdict}', throttle_duration_sec=5.0)
            return
        engaged = self.estop_state.engaged
        self.estop.on_input(engaged)
        if engaged:
            self._stop('e-stop')
        elif admitted.operator and self.estop.latched:
            self._reset()  # an operator's signed release is the decision to move again

    def _reset(self):
        ok, why = self.estop.reset()
        if ok:
            self.get_logger().info(f'e-stop reset: {why}')
        else:
            self.get_logger().warning(f'e-stop reset refused: {why}')
        return ok, why

    def _on_reset_service(self, request, response):
        response.success, response.message = self._reset()
        return response

    def _tick(self):
        now = self.now_s()
        dt, self.last_tick_s = now - self.last_tick_s, now
        if self.estop.latched or not self.gate.is_open(now):
            if self.moving:
                self._stop('e-stop' if self.estop.latched else self.gate.reason(now))
            return
        self.moving = True
        self._publish(*self.limiter.step(seed_twist(self.gate.t_sync), dt))

    def _stop(self, why):
        self.moving = False
        self._publish(*self.limiter.stop())
        self.get_logger().info(f'stopped: {why}', throttle_duration_sec=1.0)

    def _publish(self, linear, angular):
        twist = Twist()
        twist.linear.x = linear
        twist.angular.z = angular
        self.publisher.publish(twist)

    def _estop_status(self):
        values = {'latched': float(self.estop.latched),
                  'input_asserted': float(self.estop.input_asserted)}
        if self.estop.latched:
            return Status(ERROR, 'e-stop latched: motion off until reset', values)
        return Status(OK, 'e-stop clear', values)


main = main_for(MotorOutput)
