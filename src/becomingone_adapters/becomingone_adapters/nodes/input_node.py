"""The part every input adapter node shares: guards, counted rejections, Phase out, health."""

from becomingone_adapters.input_guard import StampGuard
from becomingone_core.health import OK, RateMonitor, RejectionCounter, Status, WARN
from becomingone_core.input_rules import MAX_NAME_LENGTH, RejectedInput
from becomingone_core.ros.diagnostics import DiagnosticsPublisher
from becomingone_core.ros.guarded_node import GuardedNode
from becomingone_core.ros.parameters import declare, require
from becomingone_core.ros.stamps import time_from_seconds
from becomingone_core.token_bucket import TokenBucket
from becomingone_msgs.msg import Phase
import numpy as np
from rclpy.event_handler import SubscriptionEventCallbacks, UnsupportedEventTypeError
from rclpy.qos import qos_profile_sensor_data


class PhaseInputNode(GuardedNode):
    """A node that turns some input into ``becomingone_msgs/Phase`` on ``phase``."""

    def __init__(self, name, source, max_rate_hz=200.0):
        super().__init__(name)
        self.source_name = declare(self, 'source_name', source,
                                   'Phase.source of the published phase: names the source (a '
                                   'cell gives each source its own channels)')
        self.frame_id = declare(self, 'frame_id', '',
                                "header.frame_id of the published phase: the sensor's coordinate "
                                'frame, if it has one')
        for name in ('source_name', 'frame_id'):  # a cell refuses longer names: fail now
            require(len(getattr(self, name)) <= MAX_NAME_LENGTH, name,
                    f'at most {MAX_NAME_LENGTH} characters')
        require(bool(self.source_name), 'source_name', 'must name the source')
        self.limiter = None
        if max_rate_hz is not None:  # None: the node paces its own source (a driver)
            self.limiter = TokenBucket(declare(
                self, 'max_rate_hz', max_rate_hz,
                'inputs accepted per second at most; more are shed and counted as '
                'rate_limited in /diagnostics', minimum=0.01, maximum=1e6))
        skew = declare(self, 'max_future_skew_s', 1.0,
                       'inputs stamped further than this ahead of the clock are refused (s)',
                       minimum=1e-3, maximum=3600.0)
        self.guard = StampGuard(skew)
        self.rejections = RejectionCounter('inputs')
        self.output_rate = RateMonitor(what='phase samples out')
        self.encoders = []
        self._clipped_reported = 0
        self.published = 0
        self.publisher = self.create_publisher(Phase, 'phase', qos_profile_sensor_data)
        self.diagnostics = DiagnosticsPublisher(self)
        self.diagnostics.add('input', self.rejections.status)
        self.diagnostics.add('output', lambda: self.output_rate.status(self.now_s()))
        self.diagnostics.add('range', self._range_status)
        self.lost = 0
        self.diagnostics.add('transport', self._transport_status)

    def subscribe(self, message_type, topic, callback):
        """Subscribe with sensor-data QoS, counting messages DDS reports lost before us."""
        try:
            return self.create_subscription(
                message_type, topic, callback, qos_profile_sensor_data,
                event_callbacks=SubscriptionEventCallbacks(message_lost=self._on_lost))
        except UnsupportedEventTypeError:
            self.lost = None  # this RMW cannot tell
            return self.create_subscription(message_type, topic, callback,
                                            qos_profile_sensor_data)

    def _on_lost(self, info):
        self.lost = info.total_count

    def _transport_status(self):
        if self.lost is None:
            return Status(OK, 'messages lost in transport: not reported by this RMW')
        values = {'messages_lost': float(self.lost)}
        if self.lost:
            return Status(WARN, f'{self.lost} messages lost in transport (publisher faster '
                          'than this node)', values)
        return Status(OK, 'no messages lost in transport', values)

    def now_s(self):
        return self.get_clock().now().nanoseconds * 1e-9

    def accept(self, stamp_s, encode):
        """
        Admit one input stamped ``stamp_s`` (0 = unstamped) and publish ``encode()``.

        Any :class:`RejectedInput` is counted and logged (throttled); nothing else is caught,
        so a programming error still shows.
        """
        now = self.now_s()
        try:
            if self.limiter is not None and not self.limiter.admit(now):
                raise RejectedInput('rate_limited', f'over {self.limiter.rate_hz:g} Hz')
            stamp = self.guard.check(stamp_s, now)
            values = encode()
        except RejectedInput as rejected:
            self.reject(rejected)
            return False
        self.publish_phase(stamp, values)
        return True

    def reject(self, rejected):
        self.rejections.reject(rejected.reason)
        self.get_logger().warning(f'input rejected: {rejected}', throttle_duration_sec=5.0)

    def publish_phase(self, stamp_s, values, offsets=None):
        """Publish ``values`` (N x C complex) stamped ``stamp_s``, offsets in s for N > 1."""
        values = np.asarray(values, dtype=complex)
        message = Phase()
        # Rounded to the nanosecond with a carry into sec (never a clamped 999999999).
        message.header.stamp = time_from_seconds(stamp_s)
        message.header.frame_id = self.frame_id
        message.source = self.source_name
        message.channels = values.shape[1]
        if values.shape[0] > 1:
            message.stamps_offset = [float(x) for x in offsets]
        flat = values.reshape(-1)
        message.real = flat.real.tolist()
        message.imag = flat.imag.tolist()
        self.publisher.publish(message)
        self.guard.accept(stamp_s + (float(offsets[-1]) if values.shape[0] > 1 else 0.0))
        self.published += values.shape[0]
        self.output_rate.tick(self.now_s(), values.shape[0])

    def _range_status(self):
        clipped = {f'clipped_{e.name}': float(e.clipped) for e in self.encoders}
        total = int(sum(clipped.values()))
        fresh, self._clipped_reported = total - self._clipped_reported, total
        if fresh:
            return Status(WARN, f'{fresh} values clipped to their declared range since the '
                          'last report', clipped)
        return Status(OK, 'values within their declared ranges recently', clipped)
