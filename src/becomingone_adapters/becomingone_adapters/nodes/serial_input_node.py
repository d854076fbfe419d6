"""
``serial_to_phase``: lines of numeric samples from a serial port in, ``phase`` out.

A microcontroller (or anything on a UART, a USB serial adapter, a pseudo-terminal) prints one
sample per line in :mod:`becomingone_adapters.mqtt_payload`'s format: a number, a CSV line or
a JSON object with an optional stamp. The port is read on a thread of its own
(:class:`~becomingone_adapters.serial_link.SerialLink`); a port that fails or disappears is
closed and opened again with backoff, the loss counted in ``<node>: serial``. Lines longer than
``max_payload_bytes`` are dropped whole and counted as ``rejected_too_long``.
"""

from becomingone_adapters.nodes.mqtt_input_node import SampleInputNode
from becomingone_adapters.nodes.mqtt_link_node import link_status
from becomingone_adapters.serial_link import SerialLink
from becomingone_core.ros.parameters import declare, require
from becomingone_core.ros.runner import main_for


class SerialToPhase(SampleInputNode):

    def __init__(self):
        self.link = None
        super().__init__('serial_to_phase', 'serial')
        port = declare(self, 'port', '', 'serial device (/dev/ttyUSB0, a udev symlink) or a '
                       'pyserial URL (socket://host:port)')
        require(bool(port), 'port', 'needs a serial device or URL')
        base = declare(self, 'backoff_base_s', 0.1, 'first wait before reopening the port, '
                       'doubling on each failure (s)', minimum=0.01, maximum=60.0)
        top = declare(self, 'backoff_max_s', 5.0, 'longest wait before reopening (s)',
                      minimum=0.01, maximum=3600.0)
        require(base <= top, 'backoff_max_s', f'must be >= backoff_base_s ({base})')
        self.link = SerialLink(
            port, self.hand_over,
            baudrate=declare(self, 'baudrate', 115200, 'bits per second (ignored by a '
                             'pseudo-terminal or a socket)', minimum=50, maximum=4_000_000),
            max_line_bytes=self.max_payload_bytes, backoff_base_s=base, backoff_max_s=top)
        self.diagnostics.add('serial', lambda: link_status(self.link, f'port {port}'))
        self.link.start()
        self.get_logger().info(f'reading samples from {port}')

    def dropped_before_parsing(self):
        # Over-long lines never reach the parser: they count with the other rejections.
        dropped = super().dropped_before_parsing()
        if self.link is not None:
            dropped['too_long'] = self.link.framer.too_long
        return dropped

    def destroy_node(self):
        if self.link is not None:
            self.link.stop()
        super().destroy_node()


main = main_for(SerialToPhase)
