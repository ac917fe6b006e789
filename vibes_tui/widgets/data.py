"""Strings from data and users on the screen: always text as it is, never markup or a command.

Textual reads a str as markup in a DataTable cell or header, a Static, a Label, a toast and a
command palette hit: a group named ``[/b]`` raised MarkupError and took the dashboard down,
``Homepage [test]`` lost its brackets. And lakes written before ingest refused control
characters hold them: ESC written raw lets a data file set the terminal's title or clipboard.
Everything the dashboard shows goes through ``plain`` (or the widgets here, which use it), and
so is shown as it is, with control characters as visible escapes (``\\x1b``).
"""

import re

from rich.cells import cell_len, chop_cells
from rich.text import Text
from textual.content import Content
from textual.widgets import DataTable as TextualDataTable
from textual.widgets import Static

from vibes_core.text import printable


def plain(value: object) -> str:
    """``value`` as one line to show: each control character (newline too) as its escape."""
    return printable(str(value))


def lines(value: object) -> str:
    """A message to show as it is, its line breaks kept and every other control character
    shown as its escape."""
    return "\n".join(printable(line) for line in str(value).split("\n"))


WORD = re.compile(r"\s*\S+\s*")  # as Rich wraps a Textual toast: a word, spaces around it
PATH_PART = re.compile(r"[/\\]*[^/\\]*[/\\]+|[^/\\]+")  # "/srv/", "data/", "ab.csv"


def wrapped(message: str, width: int) -> str:
    """``message`` with a line break inside each word longer than ``width`` cells, after the
    path separator where its line ends. Textual (Rich's divide_line) folds such a word
    wherever the line ends ("/home/ann/expe" + "riments/ab.csv"); it breaks the rest at
    spaces, which this follows, to know where lines end."""
    out = []
    for line in message.split("\n"):
        text, offset = "", 0
        for word in WORD.findall(line) or [line]:  # a line of spaces stays
            parts = PATH_PART.findall(word) if cell_len(word.rstrip()) > width else [word]
            for index, part in enumerate(parts):
                if offset and offset + cell_len(part.rstrip()) > width:  # on the next line
                    text += "\n" if index else ""  # at a space, Rich breaks by itself
                    offset = 0
                text += part
                offset = line_end(part, offset, width)
        out.append(text)
    return "\n".join(out)


def line_end(part: str, offset: int, width: int) -> int:
    """Where the line ends once ``part`` is put at ``offset`` (longer than a line, it is
    folded, from the start of one)."""
    if offset + cell_len(part.rstrip()) <= width:
        return offset + cell_len(part)
    return cell_len(chop_cells(part, width)[-1])


def text(value: object) -> Text:
    """A cell or a label: a ``Text`` is taken as built (by our code), anything else as data."""
    return value if isinstance(value, Text) else Text(plain(value))


class DataTable(TextualDataTable):
    """A DataTable whose cells and column labels are data, whatever adds them."""

    def add_column(self, label, *, width=None, key=None, default=None):
        return super().add_column(text(label), width=width, key=key, default=default)

    def add_row(self, *cells, height=1, key=None, label=None):
        return super().add_row(
            *map(text, cells), height=height, key=key, label=None if label is None else text(label)
        )

    def update_cell(self, row_key, column_key, value, *, update_width=False) -> None:
        super().update_cell(row_key, column_key, text(value), update_width=update_width)


class DataText(Static):
    """A Static for messages and data: a str is shown as it is (see ``lines``), never read as
    markup. A ``Content`` or ``Text`` is taken as built."""

    def __init__(self, value: object = "", **options) -> None:
        super().__init__(shown(value), markup=False, **options)

    def update(self, value: object = "", *, layout: bool = True) -> None:
        super().update(shown(value), layout=layout)


def shown(value: object) -> Content | Text | str:
    return value if isinstance(value, Content | Text) else lines(value)
