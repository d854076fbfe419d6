"""
Speaker: a tone whose pitch follows the cell's phase and whose volume follows its coherence.

Plays through sounddevice when a device exists (``sink:=device``); otherwise (or with
``sink:=file``) it writes a WAV file, and it always publishes its audio blocks on ``audio``
(std_msgs/Float32MultiArray, mono samples in [-1, 1]) for any other player. Silent while released.
"""

from becomingone_adapters.audio import open_stream, write_wav
from becomingone_adapters.nodes.output_node import GatedOutputNode
from becomingone_adapters.tone import seed_frequency, ToneSynth
from becomingone_core.health import OK, Status, WARN
from becomingone_core.ros.parameters import declare
from becomingone_core.ros.runner import main_for
import numpy as np
from std_msgs.msg import Float32MultiArray


class SpeakerOutput(GatedOutputNode):

    def __init__(self):
        super().__init__('speaker_output')
        sink = declare(self, 'sink', 'device', 'device (sound card) or file (WAV) ',
                       choices=['device', 'file', 'topic'])
        self.wav_path = declare(self, 'wav_path', 'becomingone_speaker.wav',
                                'WAV written when there is no sound device or sink=file')
        self.sample_rate = declare(self, 'sample_rate', 22050, 'output sample rate (Hz)',
                                   minimum=8000, maximum=192000)
        self.block_frames = declare(self, 'block_frames', 1024, 'frames per audio block',
                                    minimum=64, maximum=65536)
        self.base_hz = declare(self, 'base_hz', 440.0, 'pitch at Re(T) = 0 (Hz)',
                               minimum=20.0, maximum=8000.0)
        self.span_hz = declare(self, 'span_hz', 440.0, 'pitch change per unit Re(T) (Hz)',
                               minimum=0.0, maximum=8000.0)
        volume = declare(self, 'volume', 0.5, 'gain at coherence 1', minimum=0.0, maximum=1.0)
        glide = declare(self, 'glide_s', 0.02, 'pitch and volume glide time (s), no clicks',
                        minimum=1e-3, maximum=5.0)
        self.synth = ToneSynth(self.sample_rate, glide, volume)
        self.recorded = []
        self.skipped = 0
        self.stream = None
        if sink == 'device':
            try:
                self.stream = open_stream('OutputStream', samplerate=self.sample_rate,
                                          channels=1, dtype='float32')
            except OSError as error:
                self.get_logger().warning(f'{error}; writing {self.wav_path} instead')
        self.write_file = self.stream is None and sink != 'topic'
        self.publisher = self.create_publisher(Float32MultiArray, 'audio', 10)
        self.diagnostics.add('audio', self._audio_status)
        self.create_timer(self.block_frames / self.sample_rate, self._render)

    def _audio_status(self):
        values = {'frequency_hz': self.synth.frequency, 'gain': self.synth.gain,
                  'skipped_blocks': float(self.skipped)}
        sink = 'sound card' if self.stream else 'WAV file' if self.write_file else 'topic only'
        if self.skipped:
            return Status(WARN, f'{self.skipped} blocks skipped: the sound card was full', values)
        return Status(OK, f'playing to {sink}', values)

    def _render(self):
        now = self.now_s()
        is_open = self.gate.is_open(now)
        frequency = seed_frequency(self.gate.t_sync.real, self.base_hz, self.span_hz)
        block = self.synth.render(self.block_frames, frequency,
                                  self.gate.coherence if is_open else 0.0)
        if self.stream is not None:
            # Never block the executor on the sound card: skip a block it has no room for.
            if self.stream.write_available >= block.size:
                self.stream.write(block.astype(np.float32).reshape(-1, 1))
            else:
                self.skipped += 1
        if self.write_file:
            self.recorded.append(block)
        message = Float32MultiArray()
        message.data = block.astype(np.float32).tolist()
        self.publisher.publish(message)

    def destroy_node(self):
        if self.stream is not None:
            self.stream.close()
        if self.write_file and self.recorded:
            write_wav(self.wav_path, np.concatenate(self.recorded), self.sample_rate)
            self.get_logger().info(f'wrote {self.wav_path}')
        super().destroy_node()


main = main_for(SpeakerOutput)
