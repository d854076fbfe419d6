r"""
Cut a serial byte stream into lines, bounded (no rclpy).

A microcontroller prints one sample per line (``\n`` or ``\r\n``; the format is
:mod:`becomingone_adapters.mqtt_payload`'s). Bytes arrive in arbitrary chunks: a line may be
split across reads, a read may hold many lines. A line longer than ``max_line_bytes`` (a
missing newline, line noise at the wrong baud rate) is dropped whole, counted, and framing
starts again after its newline, so memory stays bounded whatever comes. Bytes are never
decoded here: a garbage line is the parser's to refuse (``not_text``), with a reason.
"""


class LineFramer:
    """Feed bytes in, get complete lines out; over-long lines are discarded and counted."""

    def __init__(self, max_line_bytes=4096):
        if max_line_bytes < 1:
            raise ValueError('max_line_bytes must be >= 1')
        self.max_line_bytes = int(max_line_bytes)
        self.too_long = 0
        self._partial = bytearray()
        self._discarding = False

    def feed(self, data):
        """Return the lines (``bytes``, without line ends) completed by ``data``."""
        lines = []
        start = 0
        while True:
            end = data.find(b'\n', start)
            if end < 0:
                break
            self._take(data[start:end], lines, complete=True)
            start = end + 1
        self._take(data[start:], lines, complete=False)
        return lines

    def _take(self, piece, lines, complete):
        if self._discarding:
            self._discarding = not complete
            return
        # One byte of slack while the line is open: it may be the '\r' of a '\r\n'.
        if len(self._partial) + len(piece) > self.max_line_bytes + 1:
            self._drop(complete)
            return
        self._partial += piece
        if not complete:
            return
        line = bytes(self._partial[:-1] if self._partial.endswith(b'\r') else self._partial)
        self._partial.clear()
        if len(line) > self.max_line_bytes:
            self._drop(complete)
            return
        lines.append(line)

    def _drop(self, complete):
        self.too_long += 1
        self._partial.clear()
        self._discarding = not complete

    @property
    def pending(self):
        """Bytes of the line not yet ended."""
        return len(self._partial)

    def reset(self):
        """Forget the partial line (the port was reopened: its start is gone)."""
        self._partial.clear()
        self._discarding = False
