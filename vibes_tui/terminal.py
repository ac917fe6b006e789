"""What the terminal can draw, from its name alone (no Textual here: the CLI asks too)."""

import os

# Consoles whose font has no braille, emoji or most of Unicode, and 8 or 16 colours.
PLAIN_TERMINALS = {"linux", "vt100", "vt102", "vt220", "dumb", "cons25"}


def plain_terminal() -> bool:
    """A console such as the Linux one (TERM=linux): ASCII markers, no grey canvas."""
    return os.environ.get("TERM", "") in PLAIN_TERMINALS
