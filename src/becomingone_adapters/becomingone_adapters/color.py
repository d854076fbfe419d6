"""
Phase and coherence as a colour: hue from the angle of T, brightness from coherence.

Angle -pi..pi maps to hue 0..1 round the colour wheel (red at angle -pi and pi, so the wrap is
seamless); coherence in [0, 1] is the HSV value, so a released cell is dark.
"""

import colorsys
import math


def phase_color(t_sync, coherence, saturation=1.0):
    """Return (r, g, b) in [0, 1] for a complex T and a coherence."""
    hue = (math.atan2(t_sync.imag, t_sync.real) + math.pi) / (2.0 * math.pi)
    value = min(1.0, max(0.0, coherence))
    return colorsys.hsv_to_rgb(hue % 1.0, saturation, value)


def terminal_line(rgb, coherence, collapsed, width=40):
    """Return a one-line ANSI true-colour bar for a terminal view."""
    r, g, b = (int(round(255 * c)) for c in rgb)
    filled = int(round(width * min(1.0, max(0.0, coherence))))
    bar = '\u2588' * filled + '\u00b7' * (width - filled)
    state = 'COLLAPSED' if collapsed else 'released '
    return f'\x1b[38;2;{r};{g};{b}m{bar}\x1b[0m {coherence:5.3f} {state}'
