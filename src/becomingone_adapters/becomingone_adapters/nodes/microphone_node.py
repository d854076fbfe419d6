"""
Microphone (PortAudio through sounddevice) or a WAV file in, analytic-signal phase blocks out.

``source:=device`` records from a sound card; ``source:=file`` replays a WAV recording through
the same path at real time, which is how the adapter is tested without hardware. When PortAudio
is missing and ``file_path`` is set, the node says so and replays the file instead.
"""

import queue

from becomingone_adapters.audio import AnalyticPhase, open_stream, WavSource
from becomingone_adapters.nodes.input_node import PhaseInputNode
from becomingone_core.health import OK, Status, WARN
from becomingone_core.input_rules import RejectedInput
from becomingone_core.ros.parameters import declare, ParameterError, require
from becomingone_core.ros.runner import main_for


class MicrophoneToPhase(PhaseInputNode):

    def __init__(self):
        super().__init__('microphone_to_phase', 'microphone', max_rate_hz=None)
        source = declare(self, 'source', 'device', 'device (sound card) or file (WAV replay)',
                         choices=['device', 'file'])
        self.file_path = declare(self, 'file_path', '', 'WAV file for source=file')
        self.loop = declare(self, 'loop', False, 'replay the WAV file forever')
        device = declare(self, 'device', '', 'sounddevice input device name or index '
                         '(empty: the default input)')
        self.sample_rate = declare(self, 'sample_rate', 16000,
                                   'capture rate of the sound card (Hz)', minimum=1000,
                                   maximum=384000)
        self.block_frames = declare(self, 'block_frames', 1024,
                                    'audio frames per block', minimum=16, maximum=1 << 20)
        self.output_rate_hz = declare(self, 'output_rate_hz', 200.0,
                                      'phase samples per second published (decimated)',
                                      minimum=1.0, maximum=48000.0)
        self.reference_hz = declare(self, 'reference_hz', 2.0,
                                    'rotation of the phase while the sound is steady (Hz)',
                                    minimum=0.0, maximum=1000.0)
        self.divider = declare(self, 'divider', 16.0,
                               'residual pitch phase divided by this: larger tolerates more '
                               'noise before the phase diffuses', minimum=1.0, maximum=1e4)
        self.pitch_tau_s = declare(self, 'pitch_tau_s', 0.5,
                                   'time constant of the followed mean pitch (s)',
                                   minimum=1e-3, maximum=60.0)
        self.wav = None
        self.stream = None
        self.overruns = 0
        if source == 'device':
            try:
                self._open_device(device)
            except OSError as error:
                if not self.file_path:
                    raise ParameterError(
                        f"parameter 'source': no sound device here ({error}); "
                        'set source:=file and file_path:=<recording.wav>') from error
                self.get_logger().warning(
                    f'no sound device ({error}); replaying {self.file_path} instead')
        if self.stream is None:
            require(bool(self.file_path), 'file_path', 'needed for source=file')
            try:
                self.wav = WavSource(self.file_path, self.block_frames, self.loop)
            except (OSError, EOFError, ValueError) as error:
                raise ParameterError(f"parameter 'file_path': {error}") from error
            self.sample_rate = self.wav.sample_rate
        require(self.output_rate_hz <= self.sample_rate, 'output_rate_hz',
                f'must not exceed the audio sample rate ({self.sample_rate} Hz)')
        self.analytic = AnalyticPhase(self.sample_rate, self.output_rate_hz, self.reference_hz,
                                      self.divider, self.pitch_tau_s)
        self.origin_s = self.now_s()
        self.finished = False
        self.frames_read = 0
        self.diagnostics.add('audio', self._audio_status)
        if self.wav is not None:
            self.create_timer(self.block_frames / self.sample_rate, self._read_file)
        else:
            self.create_timer(0.5 * self.block_frames / self.sample_rate, self._drain_device)

    def _open_device(self, device):
        self.blocks = queue.Queue(maxsize=64)

        def callback(indata, frames, time, status):
            # PortAudio's thread: only hand the block over; the executor does the work.
            try:
                self.blocks.put_nowait(indata[:, 0].copy())
            except queue.Full:
                self.overruns += 1
        self.stream = open_stream(
            'InputStream', samplerate=self.sample_rate, blocksize=self.block_frames,
            channels=1, dtype='float32',
            device=(int(device) if device.isdigit() else device or None), callback=callback)

    def _read_file(self):
        # Pace by the clock, not by timer ticks: a late tick reads every block now due, so a
        # recording reaches the cell at the speed it was recorded (stamps never drift behind).
        due = (self.now_s() - self.origin_s) * self.sample_rate
        for _ in range(16):
            if self.finished or self.frames_read + self.block_frames > due:
                return
            block = self.wav.read()
            if block is None:
                self._publish(self.analytic.flush())
                self.finished = True
                self.get_logger().info(
                    f'end of {self.file_path}: {self.published} phase samples')
                return
            self.frames_read += block.size
            self._push(block)

    def _drain_device(self):
        while True:
            try:
                block = self.blocks.get_nowait()
            except queue.Empty:
                return
            self._push(block)

    def _push(self, block):
        try:
            self._publish(self.analytic.push(block))
        except RejectedInput as rejected:
            self.reject(rejected)

    def _publish(self, result):
        if result is None:
            return
        first_s, values = result
        offsets = [i / self.analytic.output_rate for i in range(values.size)]
        self.publish_phase(self.origin_s + first_s, values.reshape(-1, 1), offsets)

    def _audio_status(self):
        values = {'sample_rate_hz': float(self.sample_rate),
                  'output_rate_hz': self.analytic.output_rate,
                  'pitch_hz': self.analytic.pitch_hz,
                  'overruns': float(self.overruns)}
        if self.overruns:
            return Status(WARN, f'{self.overruns} audio blocks dropped (node too slow)', values)
        if self.finished:
            return Status(OK, 'recording replayed to its end', values)
        return Status(OK, 'streaming', values)

    def destroy_node(self):
        if self.stream is not None:
            self.stream.close()
        if self.wav is not None:
            self.wav.close()
        super().destroy_node()


main = main_for(MicrophoneToPhase)
