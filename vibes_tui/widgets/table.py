"""Filling a DataTable with its column widths set from the cells, not measured later.

DataTable (Textual 8.2) measures new cells when it is next idle, but keeps the lines it drew
before then in a cache that does not know the column widths. When a paint fell in between and
the table's total width came out as before (the exact posterior, then the MCMC one, with cells
of the same widths), its columns stayed clipped to their headers (a flaky SVG snapshot).
"""

from collections.abc import Sequence

from rich.cells import cell_len
from textual.widgets import DataTable


def fill(
    table: DataTable,
    rows: Sequence[Sequence[str]],
    *,
    keys: Sequence[str] | None = None,
    headers: Sequence[str] | None = None,
) -> None:
    """Replace the rows (keyed by ``keys`` if given), and the columns if ``headers`` are
    given; each column as wide as its label and its widest cell."""
    table.clear(columns=headers is not None)
    if headers is not None:
        table.add_columns(*headers)
    for i, column in enumerate(table.ordered_columns):
        column.width = max([column.label.cell_len, *(cell_len(row[i]) for row in rows)])
        column.auto_width = False
    for row, key in zip(rows, keys or [None] * len(rows), strict=True):
        table.add_row(*row, key=key)


def set_cell(table: DataTable, row_key: str, column_key: str, text: str) -> None:
    """Update one cell, widening its column first if the text needs it."""
    column = table.columns[column_key]
    column.width = max(column.width, cell_len(text))
    table.update_cell(row_key, column_key, text, update_width=True)  # the scrollable width
