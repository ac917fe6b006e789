"""Home: every experiment, filterable and sortable, refreshed when another process writes."""

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, NamedTuple

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.worker import Worker, get_current_worker

from vibes_core.errors import NoExact, NotFound, VibesError, first_line
from vibes_core.schema import Summary
from vibes_core.units import counted
from vibes_tui.screens.base import WorkerScreen
from vibes_tui.widgets.data import DataTable, DataText, plain
from vibes_tui.widgets.header import Header
from vibes_tui.widgets.inputs import Input
from vibes_tui.widgets.table import set_cell


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    orders: tuple[str, str] = ("A to Z", "Z to A")  # its first order, and reversed
    descending: bool = False  # its first order is the biggest, most certain, newest first
    wide_only: bool = False  # left out when the display name would get too little room


# The display name comes last: free text of any length, it takes the room the others leave.
COLUMNS = (
    Column("name", "name"),
    Column("type", "type", wide_only=True),
    Column("events", "events", ("most first", "fewest first"), descending=True),
    Column("result", "result", ("highest first", "lowest first"), descending=True),
    Column("uploaded", "last upload", ("newest first", "oldest first"), True, wide_only=True),
    Column("display", "display name"),
)
BY_KEY = {column.key: column for column in COLUMNS}
POLL_SECONDS = 2.0
HEADLINE_BATCH_SECONDS = 0.25
PREFETCH_AFTER_SECONDS = 0.2  # the cursor rests on a row this long: fetch its cached fit
PREFETCHED = 20  # cached fits kept in memory, the latest
RESULT_WIDTH = 20  # fixed: the results arriving one by one must not move the other columns
NAME_WIDTH = 24  # a longer name ends in "…" (names may have 63 characters)
MIN_DISPLAY_WIDTH = 16  # narrower than this, the type and last upload columns make room
ARROWS = {False: " ▲", True: " ▼"}  # after the sorted column's label: ascending, descending
SHOWN_WARNINGS = 5  # lines of the catalog's warnings in one toast
MCMC_ONLY = "MCMC only"  # the headline of a type without an exact posterior, until fitted
NO_METRICS = "no metrics"  # of an experiment on units not given its metrics yet
HARMED = "✗"  # before a guardrail the leader harms, in a scorecard's headline


class Row(NamedTuple):
    name: str
    display: str
    type: str
    events: int
    uploaded: str  # local time, to the minute
    uploaded_at: datetime  # to sort by


class Result(NamedTuple):
    """A headline and what it sorts by: (0, the estimate) of a single group, (1, P(best)) of a
    leader (a probability sorts above an estimate), None without a number."""

    text: str
    order: tuple[int, float] | None = None


def result_of(summary: Summary) -> Result:
    from vibes_core import inference

    if "metrics" in summary:  # a scorecard: ranked by its goal's leader
        goal = next((m for m in summary["metrics"] if m["role"] == "goal"), None)
        groups = goal["groups"] if goal else []
        chances = [group["p_best"] for group in groups if group["p_best"] is not None]
        number = max(chances, default=None)
        order = (1, number) if number is not None and math.isfinite(number) else None
        return Result(inference.headline(summary), order)
    groups = summary["groups"]
    chances = [group["p_best"] for group in groups if group["p_best"] is not None]
    kind, number = (0, groups[0]["mean"]) if len(groups) == 1 else (1, max(chances, default=None))
    order = (kind, number) if number is not None and math.isfinite(number) else None
    return Result(inference.headline(summary), order)


def is_scorecard_type(type_name: str) -> bool:
    """Whether experiments of this type are judged on metrics (a scorecard): a capability the
    type declares (vibes_core.capabilities), not a name compared."""
    from vibes_core.capabilities import Scorecard
    from vibes_core.errors import VibesError
    from vibes_core.types import get_type

    try:
        return isinstance(get_type(type_name), Scorecard)
    except VibesError:  # a type this vibes does not know (a plugin not loaded)
        return False


def row_of(experiment, events: int, uploaded: str | None) -> Row:
    when = uploaded or experiment.created_at
    return Row(
        experiment.name,
        experiment.display_name,
        experiment.type,
        events,
        local_time(when),
        datetime.fromisoformat(when),
    )


def local_time(iso_utc: str) -> str:
    """A catalog time (UTC) as the person at the terminal reads clocks: local, to the minute."""
    return datetime.fromisoformat(iso_utc).astimezone().strftime("%Y-%m-%d %H:%M")


def natural(text: str) -> tuple:
    """A sort key that reads numbers in text as numbers: exp_2 before exp_10."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in DIGITS.split(text))


DIGITS = re.compile(r"(\d+)")


def brief(result: str) -> str:
    """A result in at most RESULT_WIDTH characters: a long leader's name cut with an ellipsis,
    its probability kept, and a scorecard's harmed guardrails (``✗errors``) kept as far as
    they fit, at least their ✗ (the experiment's screen shows them whole)."""
    if len(result) <= RESULT_WIDTH:
        return result
    text, mark, harmed = result.partition(" " + HARMED)
    mark = f" {HARMED}{harmed}" if mark else ""
    name, _, chance = text.rpartition(" ")
    if not name:
        return result[: RESULT_WIDTH - 1] + "…"
    room = RESULT_WIDTH - len(chance) - 2  # for the name and its "…"
    if mark and room - len(mark) < 4:  # the leader's name keeps a few characters
        mark = mark[: max(room - 4, 2) - 1] + "…"
    kept = name if len(name) + len(mark) <= room + 1 else name[: room - len(mark)] + "…"
    return f"{kept} {chance}{mark}"


class ExperimentTable(DataTable):
    """The list, with the keys of a pager too; home and end go to the first and last rows."""

    BINDINGS: ClassVar = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g,home", "scroll_top", "First", show=False),
        Binding("G,end", "scroll_bottom", "Last", show=False),
    ]


class ExperimentsScreen(WorkerScreen):
    BINDINGS: ClassVar = [
        # Priority: shown in the footer, which the table's own (hidden) enter would shadow.
        Binding("enter", "inspect", "Open", priority=True, key_display="enter"),
        Binding("n", "create", "New"),
        Binding("u", "upload", "Upload"),
        # Before the key reaches the table: the text typed after it goes to the filter even
        # when it arrives at once (a fast typist over SSH).
        Binding("slash", "filter", "Filter", priority=True),
        Binding("s", "sort", "Sort", show=False),  # so that "? Help" fits at 80 columns
        Binding("S", "reverse", "Reverse", show=False),
        Binding("d", "delete", "Delete"),
        Binding("r", "refresh", "Refresh", show=False),  # in the help; the footer fits 80
        Binding("y", "copy", "Copy", show=False),
        Binding("m", "app.open_metrics", "Metrics", show=False),  # in the help and palette
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, Row] = {}  # as loaded
        self.headlines: dict[tuple[str, int], Result] = {}  # (name, events) -> result
        self.exact: dict[tuple[str, int], Summary] = {}  # (name, events) -> exact summary
        self.cached_fits: dict[tuple[str, int], Summary] = {}  # -> MCMC summary with plots
        self.prefetch_timer = None
        self.snapshot: int | None = None
        self.select_after_load: str | None = None  # e.g. the experiment just created
        self.laid_out_width = 0  # the screen's width when the columns were chosen
        # The order: a column, and whether it is reversed from that column's first order.
        self.sort_column, self.sort_reverse = "name", False
        self.warned: set[str] = set()  # the catalog's warnings shown already

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="filter by name, title or type", id="filter", classes="hidden")
        yield ExperimentTable(id="experiments", cursor_type="row", zebra_stripes=True)
        yield DataText("opening the lake...", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        if self.app.lake_is_open:  # a few milliseconds: draw the first screen with its data
            try:
                self.show(*self.read(self.app.main_lake()))
                # After the first paint: the worker's imports would compete with it.
                self.call_after_refresh(self.compute_headlines, self.rows)
            except Exception as error:  # a lake it cannot read: said, and the app goes on
                self.show_error(error)
        else:
            self.load()
        self.set_interval(POLL_SECONDS, self.poll)

    # --- loading ------------------------------------------------------------------------

    def read(self, lake) -> tuple[int, dict[str, Row], list[str]]:
        """The snapshot, a row per experiment, and a line for each catalog row ignored or read
        in part (see catalog.list_experiments)."""
        from vibes_core import catalog

        snapshot = lake.snapshot_id()
        listing = catalog.list_experiments(lake)
        counts = catalog.event_counts(lake)
        uploads = catalog.last_uploads(lake)
        rows = {
            e.name: row_of(e, counts.get(e.name, 0), uploads.get(e.name))
            for e in listing.experiments
        }
        return snapshot, rows, listing.warnings

    @work(thread=True, exclusive=True, group="load")
    def load(self) -> None:
        try:
            lake = self.app.lake()
            try:
                snapshot, rows, warnings = self.read(lake)
            finally:
                lake.close()
        except Exception as error:
            self.from_worker(self.show_error, error)
            self.app.call_from_thread(self.app.start_warm_up)
            return
        self.from_worker(self.show, snapshot, rows, warnings)
        self.compute_headlines(rows)

    @work(thread=True, exclusive=True, group="poll")
    def poll(self) -> None:
        """Reload only when another process (or this one) committed a new snapshot."""
        try:
            lake = self.app.lake()
            try:
                snapshot = lake.snapshot_id()
            finally:
                lake.close()
        except VibesError:
            return
        if snapshot != self.snapshot:
            self.from_worker(self.load)

    @work(thread=True, exclusive=True, group="headlines")
    def compute_headlines(self, rows: dict[str, Row]) -> None:
        """The exact posterior's headline per experiment, shown in batches as they come (one
        table update per batch keeps a list of a thousand experiments responsive)."""
        import time

        from vibes_core import catalog, inference

        worker = get_current_worker()
        try:
            lake = self.app.lake()
        except VibesError:
            return  # the list already says what is wrong
        batch, sent = {}, time.monotonic()
        try:
            for name, row in rows.items():
                key = (name, row.events)
                if worker.is_cancelled:  # a newer load took over
                    return
                if key in self.headlines or not row.events:
                    continue
                try:
                    experiment = catalog.get(lake, name)
                    if is_scorecard_type(experiment.type) and not experiment.metrics:
                        self.headlines[key] = Result(NO_METRICS)
                    else:
                        self.exact[key] = inference.posterior(lake, experiment, exact=True)
                        self.headlines[key] = result_of(self.exact[key])
                except NotFound:  # deleted meanwhile
                    self.headlines[key] = Result("-")
                except NoExact:  # its cached fit's, once read (keep_fit)
                    self.headlines[key] = Result(MCMC_ONLY)
                except Exception as error:  # one experiment's problem: the others go on
                    self.headlines[key] = Result("error")  # opening it says what is wrong
                    self.app.call_from_thread(self.app.log_error, error, f"headline of {name}")
                batch[name] = self.headlines[key]
                if time.monotonic() - sent > HEADLINE_BATCH_SECONDS:
                    self.from_worker(self.show_headlines, batch)
                    batch, sent = {}, time.monotonic()
            if batch:
                self.from_worker(self.show_headlines, batch)
        finally:
            lake.close()

    @work(thread=True, exclusive=True, group="prefetch")
    def prefetch(self, key: tuple[str, int]) -> None:
        """The highlighted experiment's cached MCMC fit, so that opening it shows it at once
        (reading it takes a tenth of a second, which is long when the screen is drawing)."""
        from vibes_core import inference

        self.app.call_from_thread(self.app.start_warm_up)
        self.app.models_ready.wait()
        if key in self.cached_fits or get_current_worker().is_cancelled:
            return
        try:
            lake = self.app.lake()
            try:
                summary = inference.posterior(
                    lake, key[0], plots=True, fit=False, warn=lambda message: None
                )
            finally:
                lake.close()
        except Exception:  # opening it will show what is wrong
            return
        if summary is not None:
            self.from_worker(self.keep_fit, key, summary)

    def keep_fit(self, key: tuple[str, int], summary: Summary) -> None:
        self.cached_fits[key] = summary
        if self.headlines.get(key) == Result(MCMC_ONLY):
            self.headlines[key] = result_of(summary)
            self.show_headlines({key[0]: self.headlines[key]})
        while len(self.cached_fits) > PREFETCHED:
            self.cached_fits.pop(next(iter(self.cached_fits)))  # the oldest

    def forget_cached_fits(self, name: str) -> None:
        for key in [key for key in self.cached_fits if key[0] == name]:
            del self.cached_fits[key]

    # --- showing ------------------------------------------------------------------------

    def show(self, snapshot: int, rows: dict[str, Row], warnings: list[str] = ()) -> None:
        self.snapshot, self.rows = snapshot, rows
        self.render_rows()
        self.show_warnings(warnings)
        self.app.call_after_refresh(self.app.start_warm_up)
        self.prefetch_soon()  # filling the table does not always post a RowHighlighted

    def render_rows(self) -> None:
        """Fill the table from ``rows``, filtered and sorted, in the columns the screen has room
        for; the cursor stays on the experiment it was on."""
        table = self.query_one(DataTable)
        selected, self.select_after_load = self.select_after_load or self.selected_name(), None
        needle = self.query_one("#filter", Input).value.strip().lower()
        shown = self.arranged(
            row
            for row in self.rows.values()
            if not needle
            or any(needle in text.lower() for text in (row.name, row.display, row.type))
        )
        cells = [self.cells(row) for row in shown]
        self.laid_out_width = self.app.size.width
        room = self.laid_out_width - table.styles.scrollbar_size_vertical
        widths = self.widths(cells, room, table.cell_padding)
        table.clear(columns=True)
        for key, width in widths.items():
            column = table.columns[table.add_column(self.label(BY_KEY[key]), key=key)]
            column.width, column.auto_width = width, False  # set, not measured (see fill)
        for row, row_cells in zip(shown, cells, strict=True):
            table.add_row(*(row_cells[key] for key in widths), key=row.name)
        if selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected), animate=False)
        total = len(self.rows)
        self.show_status(
            f"{len(shown)} of {counted(total, 'experiment')} (filter: {needle})"
            if needle
            else counted(total, "experiment")
            if total
            else "no experiments yet: press n to create one, or run `vibes db demo`"
        )

    def cells(self, row: Row) -> dict[str, Text]:
        """Every column's cell of a row, one line each: too long, it ends in "…"."""
        result = self.headlines.get((row.name, row.events), Result("..." if row.events else "-"))
        values = {
            "name": row.name,
            "type": row.type,
            "events": f"{row.events:,}",
            "result": brief(result.text),
            "uploaded": row.uploaded,
            "display": row.display,
        }
        return {
            key: Text(plain(value), no_wrap=True, overflow="ellipsis")
            for key, value in values.items()
        }

    @staticmethod
    def widths(cells: list[dict[str, Text]], room: int, padding: int) -> dict[str, int]:
        """The columns shown and their widths: each as wide as its label (an arrow's room
        included) and its cells, the name at most NAME_WIDTH and the result RESULT_WIDTH
        (results arrive one by one: nothing moves when they do), the display name what the
        others leave. When that would be under MIN_DISPLAY_WIDTH, the type and last upload
        columns are left out. ``padding``: a column's, on each side."""
        widths = {
            column.key: max([len(column.label) + 2, *(row[column.key].cell_len for row in cells)])
            for column in COLUMNS
        }
        widths["name"] = min(widths["name"], NAME_WIDTH)
        widths["result"] = RESULT_WIDTH

        def left(columns: Sequence[Column]) -> int:
            return room - sum(widths[column.key] + 2 * padding for column in columns)

        columns = list(COLUMNS)
        if left(columns) + widths["display"] < MIN_DISPLAY_WIDTH:  # what the display name gets
            columns = [column for column in COLUMNS if not column.wide_only]
        shown = {column.key: widths[column.key] for column in columns}
        room_for_display = max(left(columns) + widths["display"], len("display name") + 2)
        shown["display"] = min(widths["display"], room_for_display)
        return shown

    def label(self, column: Column) -> str:
        """The column's title; the sorted one's with ▲ or ▼ (the others keep room for it)."""
        if column.key != self.sort_column:
            return column.label + "  "
        return column.label + ARROWS[column.descending != self.sort_reverse]

    def arranged(self, rows: Iterable[Row]) -> list[Row]:
        """In the sort column's order (ties by name); rows it has no value for (no result yet)
        come last whichever the direction."""
        value = self.sort_value(self.sort_column)
        by_name = sorted(rows, key=lambda row: natural(row.name))
        valued = [row for row in by_name if value(row) is not None]
        valued.sort(key=value, reverse=BY_KEY[self.sort_column].descending != self.sort_reverse)
        return valued + [row for row in by_name if value(row) is None]

    def sort_value(self, key: str) -> Callable[[Row], object]:
        """What a column sorts by: numbers as numbers, times as times, names as people read
        them (exp_2 before exp_10), a result by its probability or estimate."""
        return {
            "name": lambda row: natural(row.name),
            "type": lambda row: row.type,
            "events": lambda row: row.events,
            "result": lambda row: self.headlines.get((row.name, row.events), Result("")).order,
            "uploaded": lambda row: row.uploaded_at,
            "display": lambda row: natural(row.display.casefold()),
        }[key]

    def on_resize(self) -> None:
        if self.rows and self.app.size.width != self.laid_out_width:  # another layout
            self.render_rows()

    def show_warnings(self, warnings: list[str]) -> None:
        """The catalog's rows ignored or read in part: one toast for those not said before
        (a reload after each upload would repeat them)."""
        new = [line for line in warnings if line not in self.warned]
        self.warned.update(new)
        if new:
            more = len(new) - SHOWN_WARNINGS
            lines = new[:SHOWN_WARNINGS] + (
                [f"and {more} more: see `vibes experiments list`"] if more > 0 else []
            )
            self.notify("\n".join(lines), title="Some catalog rows", severity="warning", timeout=10)

    def show_headlines(self, headlines: dict[str, Result]) -> None:
        if self.sort_column == "result":  # they change the order
            self.render_rows()
            return
        table = self.query_one(DataTable)
        for name, result in headlines.items():
            if name in table.rows:
                set_cell(table, name, "result", brief(result.text))

    def show_status(self, text: str) -> None:
        self.query_one("#status", DataText).update(text)

    def show_error(self, error: Exception) -> None:
        self.show_status(f"error: {first_line(error)}")
        if isinstance(error, VibesError):
            self.notify(first_line(error), title="Cannot read the lake", severity="error")
        else:
            self.app.report_error(error, "reading the experiments")

    def worker_failed(self, worker: Worker, error: BaseException) -> None:
        self.show_status(f"error: {first_line(error)}")
        super().worker_failed(worker, error)

    def selected_name(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    # --- actions ------------------------------------------------------------------------

    def action_refresh(self) -> None:
        self.load()

    def action_copy(self) -> None:
        """The selected row, its cells tab-separated, to the clipboard (OSC 52, as `y` in an
        experiment)."""
        name = self.selected_name()
        if name:  # every column's, the ones a narrow screen leaves out too
            cells = self.cells(self.rows[name])
            self.app.copy("\t".join(cells[column.key].plain for column in COLUMNS), f"{name}'s row")

    def action_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.remove_class("hidden")
        self.set_focus(field)  # at once: field.focus() waits behind the keys already queued

    def check_action(self, action: str, parameters: tuple) -> bool:
        """In the filter field (the only input here), `/` is text and enter applies it."""
        return not (action in ("filter", "inspect") and isinstance(self.focused, Input))

    def action_clear_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.value = ""
        field.add_class("hidden")
        self.query_one(DataTable).focus()

    @on(Input.Changed, "#filter")
    def filter_changed(self) -> None:
        self.render_rows()

    @on(Input.Submitted, "#filter")
    def filter_done(self) -> None:
        self.query_one(DataTable).focus()

    def action_sort(self, column: str | None = None) -> None:
        """`s`: by the next column shown, in its first order. The palette and a click on a
        header name a column: the one sorted by now is reversed."""
        if column is None:
            shown = [key.value for key in self.query_one(DataTable).columns]
            following = shown.index(self.sort_column) + 1 if self.sort_column in shown else 0
            self.sort_by(shown[following % len(shown)], reverse=False)
        else:
            self.sort_by(column, reverse=column == self.sort_column and not self.sort_reverse)

    def action_reverse(self) -> None:
        self.sort_by(self.sort_column, reverse=not self.sort_reverse)

    def sort_by(self, column: str, reverse: bool) -> None:
        self.sort_column, self.sort_reverse = column, reverse
        self.render_rows()
        shown = BY_KEY[column]
        self.notify(f"sorted by {shown.label}, {shown.orders[reverse]}", timeout=1.5)

    @on(DataTable.HeaderSelected)
    def header_clicked(self, event: DataTable.HeaderSelected) -> None:
        self.action_sort(event.column_key.value)

    @on(DataTable.RowSelected)
    def row_chosen(self) -> None:
        self.action_inspect()

    def open(self, name: str) -> None:
        """The palette's open: the cursor goes to the experiment first, so that back here every
        key acts on the one just seen."""
        self.select(name)
        self.app.open_from_home(name)

    def select(self, name: str) -> None:
        """The cursor on ``name``; the filter is cleared if it hides it, and an experiment not
        loaded yet is selected when it is."""
        table = self.query_one(DataTable)
        if name not in table.rows and name in self.rows:
            self.action_clear_filter()
            self.render_rows()
        if name in table.rows:
            table.move_cursor(row=table.get_row_index(name), animate=False)
        else:
            self.select_after_load = name

    def action_inspect(self) -> None:
        name = self.selected_name()
        if name:  # with what is known of its posterior: the inspect screen shows it at once
            key = (name, self.rows[name].events)
            self.app.open_experiment(name, self.cached_fits.get(key) or self.exact.get(key))

    @on(DataTable.RowHighlighted)
    def prefetch_soon(self) -> None:
        """The cached fit of the row under the cursor, once the cursor has rested on it."""
        if self.prefetch_timer is not None:
            self.prefetch_timer.stop()
        name = self.selected_name()
        if name in self.rows and self.rows[name].events:
            key = (name, self.rows[name].events)
            self.prefetch_timer = self.set_timer(PREFETCH_AFTER_SECONDS, lambda: self.prefetch(key))

    def action_create(self) -> None:
        from vibes_tui.screens.create import CreateScreen

        def created(name: str | None) -> None:
            if name:
                self.select_after_load = name
                self.load()

        self.app.push_screen(CreateScreen(), created)

    def action_upload(self) -> None:
        from vibes_tui.screens.upload import UploadScreen

        name = self.selected_name()
        if name:
            self.app.push_screen(UploadScreen(name))
        else:
            self.notify("no experiment to upload to: create one first (n)", severity="warning")

    def action_delete(self) -> None:
        from vibes_tui.screens.confirm import ConfirmDelete

        name = self.selected_name()
        if not name:
            return
        events = self.rows[name].events

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.delete(name)

        self.app.push_screen(ConfirmDelete(name, events), confirmed)

    @work(thread=True, group="write")
    def delete(self, name: str) -> None:
        from vibes_core import catalog

        try:
            lake = self.app.lake()
            try:
                catalog.delete(lake, name)
            finally:
                lake.close()
        except VibesError as error:
            self.app.call_from_thread(self.notify, str(error), severity="error")
            return
        self.app.call_from_thread(self.notify, f"deleted {name}", title="Deleted")
        self.from_worker(self.load)
