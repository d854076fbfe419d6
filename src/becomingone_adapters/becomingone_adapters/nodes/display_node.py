"""
Display: ``color`` (std_msgs/ColorRGBA), hue from the cell's phase, brightness from coherence.

Dark (alpha 1, black) while released or stale. ``terminal:=true`` also draws a coloured bar on
stdout.
"""

from becomingone_adapters.color import phase_color, terminal_line
from becomingone_adapters.nodes.output_node import GatedOutputNode
from becomingone_core.ros.parameters import declare
from becomingone_core.ros.qos import LATCHED_QOS
from becomingone_core.ros.runner import main_for
from std_msgs.msg import ColorRGBA


class DisplayOutput(GatedOutputNode):

    def __init__(self):
        super().__init__('display_output')
        rate = declare(self, 'rate_hz', 10.0, 'colour updates per second', minimum=0.1,
                       maximum=240.0)
        self.terminal = declare(self, 'terminal', False, 'also draw a colour bar on stdout')
        # Latched: a display that starts late shows the current colour at once.
        self.publisher = self.create_publisher(ColorRGBA, 'color', LATCHED_QOS)
        self.create_timer(1.0 / rate, self._draw)

    def _draw(self):
        is_open = self.gate.is_open(self.now_s())
        rgb = phase_color(self.gate.t_sync, self.gate.coherence if is_open else 0.0)
        self.publisher.publish(ColorRGBA(r=rgb[0], g=rgb[1], b=rgb[2], a=1.0))
        if self.terminal:
            print('\r' + terminal_line(rgb, self.gate.coherence, is_open), end='', flush=True)


main = main_for(DisplayOutput)
