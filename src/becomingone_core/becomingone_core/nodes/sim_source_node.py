"""
``sim_source``: publish simulated ``becomingone_msgs/Phase`` for demos and tests.

The samples come from :class:`becomingone_core.simulation.SimulatedSource`; this node only
declares its parameters, turns ROS time into schedule time and publishes blocks of samples on
``phase`` (best effort, as a sensor would).
"""

from becomingone_core.health import OK, RateMonitor, Status
from becomingone_core.phase_block import pack
from becomingone_core.ros.diagnostics import DiagnosticsPublisher
from becomingone_core.ros.guarded_node import GuardedNode
from becomingone_core.ros.parameters import declare, ParameterError
from becomingone_core.ros.runner import main_for
from becomingone_core.ros.stamps import set_stamp
from becomingone_core.simulation import GENERATORS, SimulatedSource, SourceConfig
from becomingone_msgs.msg import Phase
import numpy as np
from rclpy.qos import qos_profile_sensor_data


class SimSourceNode(GuardedNode):
    """Publishes a seeded, scheduled phase stream in real time."""

    def __init__(self, name='sim_source', **kwargs):
        super().__init__(name, **kwargs)
        self.config = self._declare_config()
        self.block_size = declare(
            self, 'block_size', 1, 'Samples per Phase message (1: one message per sample).',
            minimum=1, maximum=100000)
        self.source_name = declare(self, 'source_name', 'sim', 'Source name put in Phase.source.')
        try:
            self.source = SimulatedSource(self.config)
        except ValueError as error:
            raise ParameterError(f'parameter {error}') from error
        self.published = 0
        self._pending_t = np.empty(0)
        self._pending_phase = np.empty((0, self.config.channels), complex)
        self._rate = RateMonitor(window_s=5.0, what='samples')
        self._publisher = self.create_publisher(Phase, 'phase', qos_profile_sensor_data)
        self._epoch_ns = self.get_clock().now().nanoseconds
        period_s = max(self.block_size / self.config.rate_hz, 0.001)
        self.create_timer(period_s, self._publish_due_samples)
        self._diagnostics = DiagnosticsPublisher(self)
        self._diagnostics.add('output', self._output_status)
        self.get_logger().info(
            f'publishing {self.config.schedule} at {self.config.rate_hz:g} Hz, '
            f'{self.config.channels} channel(s), seed {self.config.seed}')

    def _declare_config(self):
        d = SourceConfig()
        return SourceConfig(
            rate_hz=declare(self, 'rate_hz', 100.0, 'Sample rate (Hz).',
                            minimum=0.1, maximum=100000.0),
            channels=declare(self, 'channels', 1, 'Complex channels per sample.',
                             minimum=1, maximum=1024),
            schedule=declare(
                self, 'schedule', ['sine'],
                'Generator segments in order, "name:seconds" (no seconds: forever). '
                f'Generators: {", ".join(GENERATORS)}.'),
            frequency_hz=declare(self, 'frequency_hz', d.frequency_hz,
                                 'Frequency of "sine" (Hz).', minimum=-10000.0, maximum=10000.0),
            frequencies_hz=declare(self, 'frequencies_hz', d.frequencies_hz,
                                   'Frequencies of "sines" (Hz).'),
            amplitudes=declare(self, 'amplitudes', d.amplitudes,
                               'Amplitudes of "sines", one per frequency.'),
            chirp_start_hz=declare(self, 'chirp_start_hz', d.chirp_start_hz,
                                   '"chirp" start frequency (Hz).',
                                   minimum=-10000.0, maximum=10000.0),
            chirp_end_hz=declare(self, 'chirp_end_hz', d.chirp_end_hz,
                                 '"chirp" end frequency (Hz).', minimum=-10000.0, maximum=10000.0),
            chirp_period_s=declare(self, 'chirp_period_s', d.chirp_period_s,
                                   '"chirp" sweep duration (s).', minimum=0.001),
            step_period_s=declare(self, 'step_period_s', d.step_period_s,
                                  '"steps": seconds between phase jumps.', minimum=0.001),
            snr_db=declare(self, 'snr_db', 200.0,
                           'Signal-to-noise ratio of added white noise (dB); 200 is clean.',
                           minimum=-60.0, maximum=200.0),
            jitter_s=declare(self, 'jitter_s', 0.0,
                             'Clock jitter (s, standard deviation; < half a sample period).',
                             minimum=0.0, maximum=1.0),
            dropout_rate_hz=declare(self, 'dropout_rate_hz', 0.0,
                                    'Mean rate of dropouts (Hz).', minimum=0.0, maximum=100.0),
            dropout_duration_s=declare(self, 'dropout_duration_s', d.dropout_duration_s,
                                       'Length of each dropout (s).', minimum=0.001),
            burst_rate_hz=declare(self, 'burst_rate_hz', 0.0,
                                  'Mean rate of noise bursts (Hz).', minimum=0.0, maximum=100.0),
            burst_duration_s=declare(self, 'burst_duration_s', d.burst_duration_s,
                                     'Length of each noise burst (s).', minimum=0.001),
            burst_snr_db=declare(self, 'burst_snr_db', d.burst_snr_db,
                                 'Signal-to-noise ratio inside a burst (dB).',
                                 minimum=-60.0, maximum=200.0),
            seed=declare(self, 'seed', 0, 'Random seed: same seed, same stream.',
                         minimum=0, maximum=2**31 - 1),
        )

    def _publish_due_samples(self):
        now_ns = self.get_clock().now().nanoseconds
        t, phase = self.source.samples_until((now_ns - self._epoch_ns) * 1e-9)
        self._pending_t = np.concatenate([self._pending_t, t])
        self._pending_phase = np.concatenate([self._pending_phase, phase])
        # Only whole blocks go out, so every message has block_size samples.
        whole = len(self._pending_t) // self.block_size * self.block_size
        for start in range(0, whole, self.block_size):
            self._publish(self._pending_t[start:start + self.block_size],
                          self._pending_phase[start:start + self.block_size])
        self._pending_t = self._pending_t[whole:]
        self._pending_phase = self._pending_phase[whole:]
        self.published += whole
        self._rate.tick(now_ns * 1e-9, whole)

    def _publish(self, t, phase):
        fields = pack(t, phase, epoch_ns=self._epoch_ns)
        message = Phase()
        set_stamp(message.header.stamp, fields['stamp_ns'])
        message.source = self.source_name
        message.channels = fields['channels']
        message.stamps_offset = fields['stamps_offset']
        message.real = fields['real']
        message.imag = fields['imag']
        self._publisher.publish(message)

    def _output_status(self):
        now_s = self.get_clock().now().nanoseconds * 1e-9
        elapsed = now_s - self._epoch_ns * 1e-9
        values = {'published': float(self.published), 'rate_hz': self._rate.rate(now_s),
                  'segment': self.source.segment_at(elapsed)}
        return Status(OK, f'segment {values["segment"]} at {values["rate_hz"]:.1f} Hz', values)


main = main_for(SimSourceNode)
