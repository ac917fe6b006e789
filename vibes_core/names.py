"""Experiment names: the one rule for a name that becomes a table, a folder or a key.

Checked on create, and again wherever a name read back (from the catalog, a cache's tags) is
used: a shared catalog is written by others, and a row named ``..`` or ``/home/x`` must never
become a path.
"""

import re

from vibes_core.errors import InvalidName
from vibes_core.text import printable

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,62}")
SHOWN_LIMIT = 40  # characters of a name quoted in a message


def is_name(value: object) -> bool:
    return isinstance(value, str) and NAME_PATTERN.fullmatch(value) is not None


def validate_name(name: str) -> str:
    if not is_name(name):
        raise InvalidName(
            f"invalid experiment name {quoted(name)}: use 1-63 lowercase letters, digits and "
            "underscores, starting with a letter (e.g. ab_test_1)"
        )
    return name


def shown(value: object, limit: int = SHOWN_LIMIT) -> str:
    """``value`` for a message: control characters as escapes, cut to ``limit``."""
    text = printable(str(value)[: limit + 1])
    return text if len(text) <= limit else text[:limit] + "..."


def quoted(value: object, limit: int = SHOWN_LIMIT) -> str:
    return f"'{shown(value, limit)}'"
