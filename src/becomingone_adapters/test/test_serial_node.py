"""
``serial_to_phase`` on a real pseudo-terminal pair, over real DDS.

The node opens the pty through a symlink (as through a udev ``/dev/serial/by-id`` link). Lines
in -> phase out, split lines joined, garbage and over-long lines counted as rejections; then
the port goes away (the pty is closed) and a new one appears at the same path: the node
reconnects, counts it, and lines flow again.
"""

import os

from adapter_under_test import Adapter


class Pty:
    """One pseudo-terminal pair; the node gets the slave through ``link``."""

    def __init__(self, link):
        self.master, slave = os.openpty()
        target = os.ttyname(slave)
        os.close(slave)  # the node opens it by name
        temporary = f'{link}.new'
        os.symlink(target, temporary)
        os.replace(temporary, link)

    def write(self, data):
        os.write(self.master, data)

    def close(self):
        os.close(self.master)


def test_serial_lines_become_phase_and_a_vanished_port_is_reopened(tmp_path):
    link = str(tmp_path / 'ttyBO0')
    pty = Pty(link)
    node = Adapter('serial_to_phase', ['-p', f'port:={link}', '-p', 'max_payload_bytes:=256',
                                       '-p', 'backoff_max_s:=0.2'])
    try:
        assert node.probe.spin_until(lambda: node.values('serial').get('connected') == 1.0,
                                     30), node.node.output()
        node.wait_for_path(lambda: pty.write(b'0.25\n'))

        # A line split over two writes, CSV with two channels, JSON: all arrive whole.
        heard = len(node.phases)
        pty.write(b'0.7')
        node.probe.spin_for(0.2)
        pty.write(b'5,0.5\r\n{"values": [0.1, 0.2]}\n')
        assert node.probe.spin_until(
            lambda: sum(p.channels == 2 for p in node.phases[heard:]) >= 2, 10)
        first = next(p for p in node.phases[heard:] if p.channels == 2)
        assert abs(first.real[0] - 0.70710678) < 1e-6  # 0.75 on the half circle: exp(i pi/4)

        # Garbage bytes and an over-long line: counted, the line after them still passes.
        pty.write(b'\xff\xfe\x00garbage\n' + b'9' * 5000 + b'\nnot a number\n')
        heard = len(node.phases)
        node.wait_for_path(lambda: pty.write(b'0.5\n'), lambda: len(node.phases) > heard)
        assert node.probe.spin_until(lambda: node.values('input').get('rejected_too_long') == 1
                                     and node.values('input').get('rejected_not_text') == 1
                                     and node.values('input').get('rejected_not_numeric') == 1,
                                     10), node.values('input')

        # The port vanishes; a new one appears at the same path: reconnect, counted.
        replacement = Pty(link + '.next')
        pty.close()
        os.replace(link + '.next', link)
        pty = replacement
        assert node.probe.spin_until(lambda: node.values('serial').get('reconnects', 0) >= 1
                                     and node.values('serial').get('connected') == 1.0, 30), \
            (node.values('serial'), node.node.output())
        heard = len(node.phases)
        node.wait_for_path(lambda: pty.write(b'0.5\n'), lambda: len(node.phases) > heard)
        values = node.values('serial')
        assert values['connection_losses'] >= 1 and values['gap_s'] > 0.0, values
        assert node.node.running
        assert node.values('internal errors').get('internal_error') == 0.0
    finally:
        node.close()
        pty.close()
