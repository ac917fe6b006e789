"""Filling a DataTable with its column widths set from the cells, not measured later.

DataTable (Textual 8.2) measures new cells when it is next idle, but keeps the lines it drew
before then in a cache that does not know the column widths. When a paint fell in between and
the table's total width came out as before (the exact posterior, then the MCMC one, with cells
of the same widths), its columns stayed clipped to their headers (a flaky SVG snapshot).

Cells are data (widgets/data.py): shown as they are, never read as markup.
"""

from collections.abc import Sequence

from textual.widgets import DataTable

from vibes_tui.widgets.data import text


def fill(
    table: DataTable,
    rows: Sequence[Sequence[object]],
    *,
    keys: Sequence[str] | None = None,
    headers: Sequence[str] | None = None,
    first_width: int | None = None,
) -> None:
    """Replace the rows (keyed by ``keys`` if given), and the columns if ``headers`` are
    given; each column as wide as its label and its widest cell, the first one at most
    ``first_width`` (longer names end in "…") so that one long name cannot push the other
    columns off the screen."""
    table.clear(columns=headers is not None)
    if headers is not None:
        table.add_columns(*map(text, headers))
    cells = [[text(cell) for cell in row] for row in rows]
    for row in cells if first_width else []:
        row[0].no_wrap, row[0].overflow = True, "ellipsis"
    for i, column in enumerate(table.ordered_columns):
        column.width = max([column.label.cell_len, *(row[i].cell_len for row in cells)])
        if i == 0 and first_width:
            column.width = min(column.width, first_width)
        column.auto_width = False
    for row, key in zip(cells, keys or [None] * len(cells), strict=True):
        table.add_row(*row, key=key)


def set_cell(table: DataTable, row_key: str, column_key: str, value: object) -> None:
    """Update one cell, widening its column first if the text needs it."""
    cell = text(value)
    column = table.columns[column_key]
    column.width = max(column.width, cell.cell_len)
    table.update_cell(row_key, column_key, cell, update_width=True)  # the scrollable width
