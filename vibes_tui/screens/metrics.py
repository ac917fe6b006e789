"""Metrics and event tables (`m`): every metric's definition and who uses it, every event
table; `n` defines a metric in a form that checks its expressions as you type (the CLI's
rules: vibes_core.expressions), `d` deletes one (asked first; refused while used).

Expressions are data: shown as they are (never markup), checked before anything is written.
"""

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Checkbox, Footer, Label, Select
from textual.worker import get_current_worker

from vibes_core.errors import AlreadyExists, InvalidName, VibesError
from vibes_core.units import counted
from vibes_tui.screens.base import WorkerScreen
from vibes_tui.screens.confirm import Confirm
from vibes_tui.screens.experiments import local_time
from vibes_tui.widgets.data import DataTable, DataText, plain
from vibes_tui.widgets.header import Header
from vibes_tui.widgets.inputs import Input, checked_field, show_field_error
from vibes_tui.widgets.table import fill
from vibes_tui.wording import field_name

METRIC_HEADERS = ["name", "table", "kind", "where", "window", "better", "used by"]
TABLE_HEADERS = ["event table", "rows", "columns", "last upload"]
CUT = {"where": 12, "used by": 16}  # the least each gets when the screen is narrow (then "…")
EXPRESSIONS = ("value", "denominator", "where")


def described(metric, used_by: list[str]) -> str:
    """A metric in one sentence, every expression whole (the table cuts long ones)."""
    what = {
        "proportion": "the share of units with an event",
        "count": "events per unit",
        "mean": f"the sum of {metric.value.text if metric.value else ''} per unit",
        "ratio": (
            f"the sum of {metric.value.text if metric.value else ''} over the sum of "
            f"{metric.denominator.text if metric.denominator else ''}"
        ),
    }[metric.kind]
    where = f", where {metric.where.text}" if metric.where is not None else ""
    window = f"within {metric.window} of exposure" if metric.window else "any time after exposure"
    cap = f", capped at {metric.cap:g} per unit" if metric.cap is not None else ""
    lower = "lower" if metric.lower_is_better else "higher"
    used = ", ".join(used_by) if used_by else "no experiment"
    return (
        f"{metric.name}: {what} of {metric.table}{where}, {window}{cap}; {lower} is better; "
        f"used by {used}"
    )


def read_all(lake) -> tuple[list, dict[str, list[str]], list[dict], list[str]]:
    """The metrics, the experiments using each, the event tables, and a line for each row left
    out (a definition that fails its checks, a table vibes did not write)."""
    from vibes_core import catalog, metrics, tables

    listing = metrics.list_metrics(lake)
    used = {m.name: catalog.experiments_using(lake.con, m.name) for m in listing.metrics}
    found = tables.list_tables(lake)
    return listing.metrics, used, found.tables, listing.warnings + found.warnings


class MetricsScreen(WorkerScreen):
    DEFAULT_CSS = """
    MetricsScreen #metrics-view {
        height: 1fr;
    }
    MetricsScreen DataTable {
        height: auto;
        max-height: 16;
    }
    MetricsScreen .caption {
        padding: 0 1;
        text-style: bold;
    }
    MetricsScreen #tables-caption {
        margin-top: 1;
    }
    MetricsScreen #metric-detail {
        padding: 0 1;
        color: $text-muted;
    }
    MetricsScreen #metrics-status {
        height: 1;
        padding: 0 1;
        color: $text-muted;
    }
    """
    BINDINGS: ClassVar = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("n", "new", "New metric"),
        Binding("d", "delete", "Delete"),
        Binding("r", "refresh", "Refresh"),
        Binding("j", "cursor('down')", "Down", show=False),
        Binding("k", "cursor('up')", "Up", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.metrics: list = []
        self.used: dict[str, list[str]] = {}
        self.tables: list[dict] = []
        self.warned: set[str] = set()

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="metrics-view"):
            yield DataText("Metrics", classes="caption")
            yield DataTable(id="metrics", cursor_type="row", zebra_stripes=True)
            yield DataText("", id="metric-detail")
            yield DataText("Event tables", id="tables-caption", classes="caption")
            yield DataTable(id="tables", cursor_type="none", zebra_stripes=True)
        yield DataText("reading the lake...", id="metrics-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "metrics and event tables"
        self.query_one("#metrics", DataTable).focus()
        self.load()

    @work(thread=True, exclusive=True, group="load")
    def load(self) -> None:
        try:
            found = self.with_lake(read_all)
        except VibesError as error:
            self.from_worker(self.status, f"error: {error}")
            self.app.call_from_thread(
                self.app.notify, str(error), title="Metrics", severity="error"
            )
            return
        if not get_current_worker().is_cancelled:
            self.from_worker(self.show, *found)

    def show(self, metrics: list, used: dict, tables: list[dict], warnings: list[str]) -> None:
        self.metrics, self.used, self.tables = metrics, used, tables
        table = self.query_one("#metrics", DataTable)
        row = table.cursor_row
        fill(
            table,
            [
                [
                    m.name,
                    m.table,
                    m.kind,
                    m.where.text if m.where is not None else "",
                    m.window or "all",
                    "lower ↓" if m.lower_is_better else "higher ↑",
                    ", ".join(used.get(m.name, [])) or "-",
                ]
                for m in metrics
            ],
            headers=METRIC_HEADERS,
            keys=[m.name for m in metrics],
        )
        self.fit_columns(table)
        if metrics:
            table.move_cursor(row=min(row, len(metrics) - 1), animate=False)
        fill(
            self.query_one("#tables", DataTable),
            [
                [
                    t["name"],
                    f"{t['rows']:,}",
                    ", ".join(c["name"] for c in t["columns"]),
                    local_time(t["last_upload"]) if t["last_upload"] else "-",
                ]
                for t in tables
            ],
            headers=TABLE_HEADERS,
        )
        self.status(
            f"{counted(len(metrics), 'metric')}, {counted(len(tables), 'event table')}"
            + ("" if metrics else ": n defines a metric")
            + ("" if tables else "; `vibes tables upload NAME FILE` makes a table")
        )
        new = [line for line in warnings if line not in self.warned]
        self.warned.update(new)
        if new:
            self.notify("\n".join(new[:5]), title="Left out", severity="warning", timeout=10)

    def fit_columns(self, table: DataTable) -> None:
        """Every column in sight: the where and used-by columns take what the others leave
        (at least CUT's), a longer cell ends in "…" (the line under the table has it whole)."""
        columns = table.ordered_columns
        cut = {METRIC_HEADERS.index(header): least for header, least in CUT.items()}
        rest = sum(c.width + 2 * table.cell_padding for i, c in enumerate(columns) if i not in cut)
        room = self.app.size.width - 2 - rest - 2 * table.cell_padding * len(cut)
        wanted = {i: columns[i].width for i in cut}
        if sum(wanted.values()) <= room:
            return
        for i, least in cut.items():  # each its share of the room, at least its least
            share = room * wanted[i] // max(sum(wanted.values()), 1)
            columns[i].width = min(wanted[i], max(least, share))
        for row_key in table.rows:  # cells longer than their column end in "…"
            for i in cut:
                cell = table.get_cell_at((table.get_row_index(row_key), i))
                cell.no_wrap, cell.overflow = True, "ellipsis"
        table.refresh()

    @on(DataTable.RowHighlighted, "#metrics")
    def metric_highlighted(self) -> None:
        name = self.selected()
        metric = next((m for m in self.metrics if m.name == name), None)
        detail = self.query_one("#metric-detail", DataText)
        detail.update(described(metric, self.used.get(metric.name, [])) if metric else "")

    def status(self, text: str) -> None:
        self.query_one("#metrics-status", DataText).update(text)

    def selected(self) -> str | None:
        table = self.query_one("#metrics", DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    # --- actions ------------------------------------------------------------------------

    def action_cursor(self, where: str) -> None:
        table = self.query_one("#metrics", DataTable)
        (table.action_cursor_down if where == "down" else table.action_cursor_up)()

    def action_refresh(self) -> None:
        self.load()

    def action_new(self) -> None:
        if not self.tables:
            self.notify(
                "no event table to define a metric on: `vibes tables upload NAME FILE` makes one",
                severity="error",
            )
            return

        def created(name: str | None) -> None:
            if name:
                self.load()

        self.app.push_screen(MetricForm(self.tables), created)

    def action_delete(self) -> None:
        name = self.selected()
        if name is None:
            self.notify("no metric to delete", severity="warning", timeout=3)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.delete(name)

        self.app.push_screen(ConfirmDeleteMetric(name, self.used.get(name, [])), confirmed)

    @work(thread=True, group="write")
    def delete(self, name: str) -> None:
        from vibes_core import catalog, metrics

        try:
            self.with_lake(lambda lake: metrics.delete(lake, name, catalog.experiments_using))
        except VibesError as error:
            self.app.call_from_thread(
                self.app.notify, str(error), title="Not deleted", severity="error"
            )
            return
        self.app.call_from_thread(self.app.notify, f"deleted the metric {name}", title="Deleted")
        self.from_worker(self.load)


class ConfirmDeleteMetric(Confirm):
    def __init__(self, name: str, used_by: list[str]) -> None:
        super().__init__()
        self.metric, self.used_by = name, used_by

    def question(self) -> Content:
        used = (
            f"\nIt is used by {', '.join(map(plain, self.used_by))}: deleting will be refused."
            if self.used_by
            else ""
        )
        return Content.assemble("Delete the metric ", (plain(self.metric), "bold"), f"?{used}")


class MetricForm(WorkerScreen[str]):
    """A new metric: each field checked as typed, with the CLI's rules (expressions against
    the chosen table's columns); created through vibes_core.metrics.create, which also runs
    it once on the table. Dismissed with its name."""

    DEFAULT_CSS = """
    MetricForm #metric-form {
        height: 1fr;
        padding: 0 1;
    }
    MetricForm Label {
        text-style: bold;
    }
    MetricForm .error {
        color: $error;
        height: auto;
    }
    MetricForm .hidden {
        display: none;
    }
    MetricForm #metric-actions {
        height: auto;
        padding: 0 1;
    }
    MetricForm #metric-create-status {
        padding: 0 2;
        width: 1fr;
        height: 3;
        content-align-vertical: middle;
        color: $error;
    }
    """
    BINDINGS: ClassVar = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+s", "create", "Create"),
    ]
    FIELDS = ("name", "value", "denominator", "where", "window")

    def __init__(self, tables: list[dict]) -> None:
        super().__init__()
        self.tables = {t["name"]: [c["name"] for c in t["columns"]] for t in tables}
        self.errors = dict.fromkeys(self.FIELDS, "")
        self.creating = False

    def compose(self) -> ComposeResult:
        from vibes_core.metrics import KINDS

        tables = list(self.tables)
        yield Header()
        with VerticalScroll(id="metric-form"):
            yield from checked_field(
                "Name (lowercase letters, digits, _)", "name", placeholder="e.g. purchased"
            )
            yield Label("Event table")
            choices = [(plain(t), t) for t in tables]
            yield Select(choices, value=tables[0], allow_blank=False, id="table")
            yield DataText("", id="columns", classes="columns")
            yield Label("Kind")
            yield Select([(k, k) for k in KINDS], value=KINDS[0], allow_blank=False, id="kind")
            yield from checked_field(
                "Value (mean, ratio: an expression over the columns)",
                "value",
                placeholder="e.g. amount",
            )
            yield from checked_field(
                "Denominator (ratio)", "denominator", placeholder="e.g. 1 (per event), or items"
            )
            where = "Where (optional: which events count)"
            yield from checked_field(where, "where", placeholder="e.g. status = 'paid'")
            yield from checked_field(
                "Window after exposure (optional: 7d, 36h; empty: all after)",
                "window",
                placeholder="e.g. 7d",
            )
            yield Checkbox("lower is better (errors, latency, refunds)", id="lower")
        with Horizontal(id="metric-actions"):
            yield Button("Create (ctrl+s)", id="create", variant="primary")
            yield DataText("", id="metric-create-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "new metric"
        self.show_columns()
        self.query_one("#name", Input).focus()

    # --- checking as you type -------------------------------------------------------------

    def table(self) -> str:
        return self.query_one("#table", Select).value

    def show_columns(self) -> None:
        columns = ", ".join(map(plain, self.tables.get(self.table(), [])))
        self.query_one("#columns", DataText).update(f"its columns: {columns}")

    @on(Input.Changed)
    def field_changed(self, event: Input.Changed) -> None:
        if event.input.id in self.FIELDS:
            self.check(event.input.id)

    @on(Select.Changed, "#table")
    def table_changed(self) -> None:
        self.show_columns()
        for part in EXPRESSIONS:  # the same text may name columns this table lacks
            self.check(part)

    def check(self, field: str) -> None:
        """The field's value by the CLI's rules: its error under it, or none."""
        from vibes_core.expressions import checked
        from vibes_core.metrics import parse_window
        from vibes_core.names import validate_name

        text = self.query_one(f"#{field}", Input).value
        message = ""
        if text.strip():
            try:
                if field == "name":
                    validate_name(text)
                elif field == "window":
                    parse_window(text)
                else:
                    checked(text, self.tables.get(self.table(), []), field)
            except VibesError as error:
                message = error.words(field_name)
        self.show_error(field, message)

    def show_error(self, field: str, message: str) -> None:
        self.errors[field] = message
        show_field_error(self, field, message)

    # --- creating -------------------------------------------------------------------------

    def action_create(self) -> None:
        if self.creating:
            return
        for field in self.FIELDS:
            self.check(field)
        if not self.query_one("#name", Input).value.strip():
            self.show_error("name", "give the metric a name")
        wrong = next((f for f, message in self.errors.items() if message), None)
        if wrong is not None:
            self.notify("fix the fields marked in red", severity="error")
            self.query_one(f"#{wrong}", Input).focus()
            return
        given = {
            part: self.query_one(f"#{part}", Input).value.strip() or None
            for part in (*EXPRESSIONS, "window")
        }
        request = (
            self.query_one("#name", Input).value.strip(),
            self.table(),
            self.query_one("#kind", Select).value,
            {**given, "lower_is_better": self.query_one("#lower", Checkbox).value},
        )
        self.creating = True
        button = self.query_one("#create", Button)
        button.disabled = button.loading = True
        self.query_one("#metric-create-status", DataText).update("")
        self.create(*request)

    @on(Button.Pressed, "#create")
    def create_pressed(self) -> None:
        self.action_create()

    @work(thread=True, exclusive=True, group="create")
    def create(self, name: str, table: str, kind: str, given: dict) -> None:
        from vibes_core import metrics

        try:
            self.with_lake(lambda lake: metrics.create(lake, name, table, kind, **given))
        except Exception as error:  # a bug must not lose the form: say it, keep the screen
            self.from_worker(self.failed, name, error)
            return
        self.from_worker(self.created, name)

    def created(self, name: str) -> None:
        self.notify(f"created the metric {name}")
        if self.is_current:
            self.dismiss(name)

    def failed(self, name: str, error: Exception) -> None:
        expected = isinstance(error, VibesError)
        message = error.words(field_name) if expected else str(error) or type(error).__name__
        if not expected:
            self.app.log_error(error, f"creating the metric {name}")
        self.notify(message, title="Not created", severity="error")
        self.creating = False
        button = self.query_one("#create", Button)
        button.disabled = button.loading = False
        named = error.options if expected else []
        field = next((f for f in named if f in self.FIELDS), None)
        if field is None and isinstance(error, InvalidName | AlreadyExists):
            field = "name"
        if field is not None:  # e.g. "value 'status' is varchar on orders; ..."
            self.show_error(field, message)
            self.query_one(f"#{field}", Input).focus()
        else:
            self.query_one("#metric-create-status", DataText).update(message)
