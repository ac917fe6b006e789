"""What the terminal can draw, from its name alone (no Textual here: the CLI asks too)."""

import os

# Consoles whose font has no braille, emoji or most of Unicode, and 8 or 16 colours.
PLAIN_TERMINALS = {"linux", "vt100", "vt102", "vt220", "dumb", "cons25"}

# Circles Textual draws that the Linux console's fonts lack (each showed as a box): the
# Header's icon (⭘) and a RadioButton's dot (●). An "o", as the plots draw a point there.
CONSOLE_GLYPHS = {"⭘": "o", "●": "o"}


def plain_terminal() -> bool:
    """A console such as the Linux one (TERM=linux): ASCII markers, no grey canvas."""
    return os.environ.get("TERM", "") in PLAIN_TERMINALS


def for_consoles(output: str) -> str:
    """What the dashboard writes, with the glyphs a console lacks replaced."""
    for glyph, instead in CONSOLE_GLYPHS.items():  # µs a screen; translate took ms
        output = output.replace(glyph, instead)
    return output
