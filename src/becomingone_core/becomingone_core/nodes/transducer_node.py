"""
``master`` and ``emissary``: one :class:`becomingone_core.transducer.Transducer` as a node.

Subscribes to ``Phase`` on every topic in ``input_topics`` (best effort, as sensors publish),
integrates it, and publishes ``<role>/resonance`` on the input that completes an integration
cycle (at most ``publish_rate_hz``; a cycle held back by that limit goes out one period
later). ``header.stamp`` of each ``Resonance`` is the stamp of the newest input sample it
integrated, so a consumer can measure the input-to-decision latency.
"""

import time

from becomingone_core.health import ERROR, OK, RateMonitor, RejectionCounter, Status, WARN
from becomingone_core.input_rules import (check_sync_state, RejectedInput, shorten, stamp_ns,
                                          StampWindow)
from becomingone_core.phase_block import unpack
from becomingone_core.realign import RealignPolicy
from becomingone_core.ros.cell_parameters import declare_fixed, declare_scale, refused
from becomingone_core.ros.diagnostics import DiagnosticsPublisher
from becomingone_core.ros.guarded_node import GuardedNode
from becomingone_core.ros.parameters import require
from becomingone_core.ros.qos import RESONANCE_QOS, SYNC_STATE_QOS
from becomingone_core.ros.runner import main_for
from becomingone_core.ros.stamps import set_stamp
from becomingone_core.scales import transducer_config
from becomingone_core.transducer import LAG_SPACINGS, make_lags, SUMMARY_RULES, Transducer
from becomingone_msgs.msg import Phase, Resonance, SyncState
import numpy as np
from rclpy.qos import qos_profile_sensor_data

ROLES = ('master', 'emissary')
NANOSECONDS = 1_000_000_000


class TransducerNode(GuardedNode):
    """Integrates phase at one time scale and publishes the bank's resonance."""

    def __init__(self, role='emissary', name=None, **kwargs):
        if role not in ROLES:
            raise ValueError(f'role must be one of {ROLES}')
        super().__init__(name or role, **kwargs)
        self.role = role
        self.transducer = Transducer(self._declare_config())
        self.publish_rate_hz = declare_fixed(
            self, 'publish_rate_hz', 50.0,
            'Most Resonance messages per second (cycles in between are integrated, not sent).',
            minimum=0.1, maximum=10000.0)
        self.stall_timeout_s = declare_fixed(
            self, 'stall_timeout_s', 2.0,
            'ERROR when inputs arrive but no integration cycle happened for this long (s).',
            minimum=0.01, maximum=3600.0)
        self.deadline_s = declare_fixed(
            self, 'deadline_s', 0.005,
            'Budget for handling one input message (s); longer handling counts as a missed '
            'deadline (WARN in diagnostics).', minimum=1e-5, maximum=10.0)
        topics = declare_fixed(self, 'input_topics', ['phase'],
                               'Phase topics to integrate (relative names); each source is a '
                               'Phase.source, its channels become bank channels.')
        require(len(topics) > 0 and all(topics), 'input_topics', 'needs at least one topic')
        self._epoch_ns = None
        self._unpublished = False
        self._last_publish_s = -np.inf
        self._newest_input_ns = 0
        self._last_input_s = None
        self._last_cycle_s = None
        self._missed_deadlines = 0
        self._reported_misses = 0
        self._handling_max_s = 0.0
        self._cycles = RateMonitor(window_s=5.0, what='integration cycles')
        self._publisher = self.create_publisher(Resonance, f'{role}/resonance', RESONANCE_QOS)
        for topic in topics:
            self.create_subscription(Phase, topic, self._on_phase, qos_profile_sensor_data)
        # Realignment (becomingone_core.realign): while the sync layer requests it and this is
        # the weaker scale, forget part of the integrated past at once.
        config = self.transducer.config
        self._realign = RealignPolicy(self.role, declare_fixed(
            self, 'realign_dissipation', 0.5,
            'On a realignment request, the weaker transducer keeps this share of its '
            'integrated past (1: never realign).', minimum=1e-3, maximum=1.0),
            declare_fixed(self, 'realign_period_s', config.window_s / 8,
                          'At most one realignment step per this many seconds.',
                          minimum=1e-3, maximum=86400.0))
        self._sync_window = StampWindow(config.max_clock_skew_s, max(config.max_age_s, 1.0))
        self._sync_rejections = RejectionCounter('sync states')
        self.create_subscription(SyncState, 'sync/state', self._on_sync, SYNC_STATE_QOS)
        # Housekeeping (silent sources) at a modest fixed rate. Publishing never waits for it:
        # a cycle is published on the input that closed it; only a cycle held back by
        # publish_rate_hz arms the flush timer, which runs once and cancels itself. (A timer
        # at publish_rate_hz would spin the executor up to 10 kHz for nothing.)
        self.create_timer(min(0.1, self.transducer.config.source_timeout_s / 4), self._on_timer)
        self._flush_timer = self.create_timer(1.0 / self.publish_rate_hz, self._on_flush)
        self._flush_timer.cancel()
        self._diagnostics = DiagnosticsPublisher(self)
        self._diagnostics.add('input', self._input_status)
        self._diagnostics.add('rejections', self.transducer.rejections.status)
        self._diagnostics.add('integration', self._integration_status)
        self._diagnostics.add('deadline', self._deadline_status)
        self._diagnostics.add('sync input', self._sync_rejections.status)
        config = self.transducer.config
        self.get_logger().info(
            f'{role}: {len(config.lags)} lags {config.lags[0]:g}-{config.lags[-1]:g} s, '
            f'window {config.window_s:g} s, integrating at '
            f'{config.sample_rate_hz or "input"} Hz, summary {config.summary}, '
            f'inputs {list(topics)}')

    def _declare_config(self):
        scale = declare_scale(self)
        preset = scale.transducer(self.role)
        lag_min = declare_fixed(self, 'lag_min_s', preset.lag_min_s,
                                'Shortest lag of the bank (s).', minimum=1e-6, maximum=86400.0)
        lag_max = declare_fixed(self, 'lag_max_s', preset.lag_max_s,
                                'Longest lag of the bank (s).', minimum=1e-6, maximum=86400.0)
        count = declare_fixed(self, 'lag_count', preset.lag_count, 'Number of lags in the bank.',
                              minimum=1, maximum=4096)
        spacing = declare_fixed(self, 'lag_spacing', preset.lag_spacing,
                                'How lags are spread between lag_min_s and lag_max_s.',
                                choices=LAG_SPACINGS)
        require(lag_min <= lag_max, 'lag_max_s', f'must be >= lag_min_s ({lag_min})')
        config = transducer_config(
            scale, self.role,
            lags=tuple(make_lags(lag_min, lag_max, count, spacing)),
            window_s=declare_fixed(self, 'window_s', preset.window_s,
                                   'Integration window W of the bank (s).',
                                   minimum=1e-3, maximum=1e6),
            omega=declare_fixed(self, 'omega', 0.0, 'Demodulation angular frequency (rad/s).',
                                minimum=-1e6, maximum=1e6),
            channels=declare_fixed(self, 'channels', 4,
                                   'Bank channels: complex channels of all sources together.',
                                   minimum=1, maximum=256),
            sample_rate_hz=declare_fixed(
                self, 'sample_rate_hz', preset.sample_rate_hz,
                'Integration rate (Hz): inputs are averaged over bins of 1/rate; 0 integrates '
                'every sample as it comes (one source only).', minimum=0.0, maximum=100000.0),
            summary=declare_fixed(self, 'summary', 'peak_real',
                                  'How the bank is reduced to one gamma: peak_real (lag where '
                                  'Re gamma peaks), peak_coherence, nearest (lag nearest '
                                  'summary_tau_s).',
                                  choices=SUMMARY_RULES),
            summary_tau_s=declare_fixed(self, 'summary_tau_s', 0.0,
                                        'Lag used by summary "nearest" (s).',
                                        minimum=0.0, maximum=86400.0),
            source_timeout_s=declare_fixed(
                self, 'source_timeout_s', scale.source_timeout_s,
                'A source silent this long stops contributing and is reported (s).',
                minimum=0.001, maximum=86400.0),
            max_delay_s=declare_fixed(self, 'max_delay_s', 0.1,
                                      'How long a bin waits for a lagging source (s).',
                                      minimum=0.0, maximum=60.0),
            max_input_rate_hz=declare_fixed(
                self, 'max_input_rate_hz', 10000.0,
                'Per-source sample budget (Hz, one second of burst); beyond it samples are '
                'rejected as a flood.', minimum=1.0, maximum=1e7),
            max_clock_skew_s=declare_fixed(
                self, 'max_clock_skew_s', 0.5,
                'Samples stamped further ahead of the node clock are rejected as future '
                '(s); the integration never runs ahead of the clock.',
                minimum=0.0, maximum=3600.0),
            max_age_s=declare_fixed(
                self, 'max_input_age_s', 10.0,
                'Samples stamped further behind the node clock are rejected as stale (s).',
                minimum=0.001, maximum=86400.0))
        self.max_block_span_s = declare_fixed(
            self, 'max_block_span_s', 60.0,
            'Longest time one Phase block may cover (last stamps_offset, s); longer: span.',
            minimum=1e-6, maximum=3600.0)
        try:
            config.validate()
        except ValueError as error:
            raise refused(error) from error
        return config

    # ----------------------------------------------------------------------------- input
    def _on_phase(self, message):
        started = time.perf_counter()
        now_ns = self.get_clock().now().nanoseconds
        if self._epoch_ns is None:
            # Times inside the transducer are seconds from the receiver's clock at the first
            # input: small floats, full precision, and no sender can choose them.
            self._epoch_ns = now_ns // NANOSECONDS * NANOSECONDS
        now_s = self._now_s(now_ns)
        source = message.source or 'unnamed'
        try:
            stamp = stamp_ns(message.header.stamp)
            t, phase = unpack(stamp, message.stamps_offset, message.real, message.imag,
                              message.channels, epoch_ns=self._epoch_ns,
                              max_channels=self.transducer.config.channels,
                              max_span_s=self.max_block_span_s)
        except RejectedInput as error:
            self.transducer.reject(error.reason, max(1, min(len(message.stamps_offset), 1 << 20)))
            self._warn_rejected(error.reason, source)
            return
        result = self.transducer.push(source, t, phase, now_s)
        self._last_input_s = now_s
        if result.rejected:
            self._warn_rejected(result.reason, source)
        if result.accepted:
            self._newest_input_ns = self._epoch_ns + int(round(result.newest_t * NANOSECONDS))
        if result.cycles:
            self._unpublished = True
            self._last_cycle_s = now_s
            self._cycles.tick(now_s, result.cycles)
            if now_s - self._last_publish_s >= 1.0 / self.publish_rate_hz:
                self._publish(now_s)
            elif self._flush_timer.is_canceled():
                self._flush_timer.reset()
        handling = time.perf_counter() - started
        self._handling_max_s = max(self._handling_max_s, handling)
        if handling > self.deadline_s:
            self._missed_deadlines += 1

    def _on_sync(self, message):
        now_ns = self.get_clock().now().nanoseconds
        try:
            check_sync_state(message, now_ns, self._sync_window)
        except RejectedInput as error:
            self._sync_rejections.reject(error.reason)
            return
        factor = self._realign.due(
            message.realign_requested, abs(complex(message.master_real, message.master_imag)),
            abs(complex(message.emissary_real, message.emissary_imag)), now_ns / NANOSECONDS)
        if factor is not None:
            self.transducer.dissipate(factor)
            self.get_logger().info(f'realigning: the weaker scale keeps {factor:g} of its past',
                                   throttle_duration_sec=5.0)

    def _warn_rejected(self, reason, source):
        self.get_logger().warning(f'rejected input from {shorten(source)}: {reason}',
                                  throttle_duration_sec=5.0)

    def _on_timer(self):
        for source in self.transducer.expire(self._now_s()):
            self.get_logger().warning(
                f'source {source!r} silent for {self.transducer.config.source_timeout_s:g} s: '
                'it no longer contributes')

    def _on_flush(self):
        # Armed only when a cycle was held back by publish_rate_hz: send it, then disarm.
        self._flush_timer.cancel()
        if self._unpublished:
            self._publish(self._now_s())

    def _publish(self, now_s):
        state = self.transducer.state()
        config = self.transducer.config
        message = Resonance()
        set_stamp(message.header.stamp, self._newest_input_ns)
        message.header.frame_id = self.get_name()
        message.transducer = self.role
        message.tau = state.lags.tolist()
        message.omega = config.omega
        message.window = config.window_s
        message.gamma_real = state.gamma.real.tolist()
        message.gamma_imag = state.gamma.imag.tolist()
        message.coherence = state.coherence.tolist()
        message.summary_real = state.summary.real
        message.summary_imag = state.summary.imag
        message.summary_coherence = state.summary_coherence
        message.summary_tau = state.summary_tau
        message.summary_index = state.summary_index
        message.samples = state.samples
        message.rejected = state.rejected
        message.active_sources = state.active_sources
        self._publisher.publish(message)
        self._unpublished = False
        self._last_publish_s = now_s

    # ----------------------------------------------------------------------------- health
    def _now_s(self, now_ns=None):
        """Return the node's clock in the transducer's time base (seconds from the epoch)."""
        if now_ns is None:
            now_ns = self.get_clock().now().nanoseconds
        return (now_ns - (self._epoch_ns or 0)) / NANOSECONDS

    def _input_status(self):
        active = self.transducer.active_sources
        silent = self.transducer.silent_sources
        values = {'active_sources': len(active), 'silent_sources': len(silent),
                  'active': ','.join(active), 'silent': ','.join(silent)}
        if not active and not silent:
            return Status(WARN, 'no input yet', values)
        if not active:
            return Status(ERROR, f'every source silent: {", ".join(silent)}', values)
        if silent:
            return Status(WARN, f'silent: {", ".join(silent)}; active: {", ".join(active)}',
                          values)
        return Status(OK, f'{len(active)} source(s) contributing', values)

    def _integration_status(self):
        now_s = self._now_s()
        state = self.transducer.state()
        values = {'cycles': float(self.transducer.cycles),
                  'cycle_rate_hz': self._cycles.rate(now_s),
                  'samples': float(state.samples), 'summary_coherence': state.summary_coherence,
                  'summary_tau_s': state.summary_tau,
                  'lags_ready': float(np.count_nonzero(self.transducer.ready()))}
        fresh_input = (self._last_input_s is not None
                       and now_s - self._last_input_s < self.stall_timeout_s)
        since_cycle = now_s - (self._last_cycle_s if self._last_cycle_s is not None
                               else (self._last_input_s or now_s))
        if fresh_input and since_cycle >= self.stall_timeout_s:
            return Status(ERROR, f'stalled: input arrives but no integration for '
                          f'{since_cycle:.1f} s', values)
        if not values['lags_ready']:
            return Status(OK, 'warming up: no lag has integrated a full window yet', values)
        return Status(OK, f'summary coherence {state.summary_coherence:.2f} at tau '
                      f'{state.summary_tau:g} s', values)

    def _deadline_status(self):
        missed = self._missed_deadlines - self._reported_misses
        self._reported_misses = self._missed_deadlines
        values = {'missed_total': float(self._missed_deadlines),
                  'handling_max_s': self._handling_max_s, 'deadline_s': self.deadline_s}
        self._handling_max_s = 0.0
        if missed:
            return Status(WARN, f'{missed} input(s) took longer than {self.deadline_s:g} s',
                          values)
        return Status(OK, 'inputs handled within the deadline', values)


def master_node(**kwargs):
    return TransducerNode('master', **kwargs)


def emissary_node(**kwargs):
    return TransducerNode('emissary', **kwargs)


main_master = main_for(master_node)
main_emissary = main_for(emissary_node)
