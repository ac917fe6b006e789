"""Strings from data and users: which characters are refused, and how old ones are shown.

Control characters (C0, DEL, C1) reach a terminal as commands: ESC starts sequences that set
the window title or write the clipboard (OSC 52), BEL rings. Bidirectional overrides reorder
what is shown ("Trojan Source"). Ingest refuses all of them in every string; whatever is
already stored is shown through ``printable``, never raw.
"""

import re

# Python's and DuckDB's (RE2) spelling of the same character class.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
CONTROL_SQL = r"[\x00-\x1f\x7f-\x9f\x{202a}-\x{202e}\x{2066}-\x{2069}]"


def has_control(text: str) -> bool:
    return CONTROL.search(text) is not None


def printable(text: str) -> str:
    """``text`` with each control character shown as its escape (``\\x1b``, ``\\u202e``)."""
    return CONTROL.sub(lambda found: found.group().encode("unicode_escape").decode(), text)
