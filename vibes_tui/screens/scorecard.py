"""An experiment on units: its scorecard (a row per metric and treated variant, the decision
under it), and each metric's own view (MetricScreen: the experiment screen's tabs, driven by
that metric's summary).

The scorecard shown is the exact one (each metric's closed form, or independent draws from
it): at once, and the same on every machine. The MCMC scorecard, every metric in one PyMC
model, is `vibes posterior NAME`'s; the screen says so.
"""

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, TabbedContent, TabPane
from textual.worker import get_current_worker

from vibes_core.errors import VibesError
from vibes_core.schema import Scorecard, Summary
from vibes_tui.drawing import interval_bar, shared_scale
from vibes_tui.report import footer, scorecard_entries, scorecard_table
from vibes_tui.screens.base import WorkerScreen
from vibes_tui.screens.inspect import InspectScreen
from vibes_tui.terminal import plain_terminal
from vibes_tui.widgets.data import DataTable, DataText, plain
from vibes_tui.widgets.header import Header
from vibes_tui.widgets.table import fill
from vibes_tui.wording import field_name

# A status in words, with a mark that says it without colour, and its colour.
STATUS = {
    "better": ("✓", "green"),
    "within margin": ("✓", "green"),
    "worse": ("✗", "bold red"),
    "harmed": ("✗", "bold red"),
    "unclear": ("?", "yellow"),
}
BAR_WIDTH = (9, 21)  # the uplift bars' width: at least, at most (what the screen leaves)
NARROW_LEAVES_OUT = ("control", "value")  # when the rest would not fit (80 columns)
EXACT_SAID = "exact scorecard (MCMC, every metric in one model: `vibes posterior {}`)"


def status_cell(status: str) -> Text:
    mark, style = STATUS.get(status, ("", ""))
    return Text(f"{mark} {status}" if mark else status, style=style)


def scorecard_rows(summary: Scorecard, bar_width: int, fancy: bool = True, leave_out=()):
    """The headers, the rows of cells (the CLI's table: vibes_tui.report.scorecard_table, with
    an uplift bar after the uplift, each on one scale, and the status marked and coloured),
    each row's key (``metric/variant``) and the bars' scale. One treated variant: no variant
    column (the footer's units say which). ``leave_out``: columns left out (by header)."""
    headers, rows = scorecard_table(summary)
    entries = scorecard_entries(summary)
    uplifts = [g["uplift_rel"] for _, g in entries if "uplift_rel" in g]
    scale = shared_scale([(u["hdi_low"], u["hdi_high"]) for u in uplifts])
    one_variant = len({g["name"] for _, g in entries}) <= 1
    at = headers.index("uplift") + 1
    headers = [*headers[:at], "", *headers[at:]]  # the bar's: its scale is in the legend
    cells, keys = [], []
    for row, (metric, group) in zip(rows, entries, strict=True):
        status = group.get("status", "-")
        style = STATUS.get(status, ("", ""))[1]
        u = group.get("uplift_rel")
        bar = interval_bar(u["hdi_low"], u["hdi_high"], u["median"], scale, bar_width, fancy)
        cells.append(
            [
                *(Text(plain(c)) for c in row[:at]),
                Text(bar if u else "", style=style),
                *(Text(plain(c)) for c in row[at:-1]),
                status_cell(status),
            ]
        )
        keys.append(f"{metric['name']}/{group['name']}")
    dropped = {*leave_out, *(["variant"] if one_variant else [])}
    kept = [i for i, header in enumerate(headers) if header not in dropped]
    headers = [headers[i] for i in kept]
    cells = [[row[i] for i in kept] for row in cells]
    return headers, cells, keys, scale


class ScorecardScreen(WorkerScreen):
    """Opens on the Scorecard tab; `enter` on a row opens its metric (MetricScreen)."""

    DEFAULT_CSS = """
    ScorecardScreen #card-status, ScorecardScreen #card-legend, ScorecardScreen #card-footer {
        padding: 0 1;
        color: $text-muted;
    }
    ScorecardScreen #card-status {
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    ScorecardScreen #card-decision {
        padding: 0 1;
        margin-top: 1;
        text-style: bold;
    }
    ScorecardScreen #card-warnings {
        padding: 0 1;
        color: $warning;
    }
    ScorecardScreen TabbedContent {
        height: 1fr;
    }
    ScorecardScreen DataTable {
        height: auto;
    }
    """
    BINDINGS: ClassVar = [
        Binding("escape,q", "app.pop_screen", "Back"),
        # Priority: shown in the footer, which the table's own (hidden) enter would shadow.
        Binding("enter", "open_metric", "Metric", priority=True, key_display="enter"),
        Binding("m", "metrics", "Metrics"),
        Binding("a", "toggle_adjust", "Adjust"),
        Binding("r", "refresh", "Refresh"),
        Binding("P", "plan", "Plan", show=False),  # in the help and the palette
        Binding("y", "copy", "Copy", show=False),
        Binding("ctrl+e", "export", "Export", show=False),
        Binding("j", "cursor('down')", "Down", show=False),
        Binding("k", "cursor('up')", "Up", show=False),
    ]

    def __init__(self, name: str, known: Scorecard | None = None) -> None:
        """``known``: the exact scorecard as the home screen has it, shown at once."""
        super().__init__()
        self.experiment = name
        self.known = known
        self.summary: Scorecard | None = None
        self.keys: list[str] = []
        self.narrow = False  # the control's and the variant's values left out for room
        self.adjust = True  # CUPED, as `vibes posterior` (`a`: as --no-adjust)

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataText(EXACT_SAID.format(self.experiment), id="card-status")
        tab = TabPane("Scorecard", id="scorecard")
        with TabbedContent(), tab, VerticalScroll(id="card-view"):
            yield DataTable(id="card", cursor_type="row", zebra_stripes=True)
            yield DataText("computing the exact scorecard...", id="card-decision")
            yield DataText("", id="card-legend")
            yield DataText("", id="card-warnings")
            yield DataText("", id="card-footer")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"{self.experiment}, scorecard"
        self.query_one("#card", DataTable).focus()
        self.load_meta()
        known, self.known = self.known, None
        if known is not None:
            self.show(known)
        else:
            self.load()

    # --- workers ------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="scorecard")
    def load(self) -> None:
        from vibes_core import inference

        warnings: list[str] = []

        settings = inference.Settings(adjust=self.adjust)

        def read(lake):
            return inference.posterior(
                lake, self.experiment, settings, exact=True, warn=warnings.append
            )

        try:
            summary = self.with_lake(read)
        except VibesError as error:
            self.from_worker(self.failed, error.words(field_name))
            return
        if not get_current_worker().is_cancelled:
            summary["warnings"] = warnings + summary["warnings"]
            self.from_worker(self.show, summary)

    @work(thread=True, exclusive=True, group="meta")
    def load_meta(self) -> None:
        """The display name, for the header."""
        from vibes_core import catalog

        try:
            meta = self.with_lake(lambda lake: catalog.get(lake, self.experiment))
        except VibesError:
            return  # the scorecard's worker says what is wrong
        if meta.display_name != self.experiment:
            self.from_worker(setattr, self, "title", meta.display_name)

    # --- showing ------------------------------------------------------------------------

    def show(self, summary: Scorecard) -> None:
        self.summary = summary
        table = self.query_one("#card", DataTable)
        fancy = not plain_terminal()
        left_out, self.narrow = (), False
        while True:  # every column in sight, the bar as wide as the rest leaves it
            headers, rows, keys, scale = scorecard_rows(summary, BAR_WIDTH[1], fancy, left_out)
            fixed = sum(  # all but the bar, at their widest, and their padding
                max([len(header), *(row[i].cell_len for row in rows)]) + 2
                for i, header in enumerate(headers)
                if header
            )
            room = self.app.size.width - 2 - fixed - 2  # the scroll bar, the bar's padding
            if room >= BAR_WIDTH[0] or left_out:
                break
            left_out, self.narrow = NARROW_LEAVES_OUT, True
        width = max(BAR_WIDTH[0], min(BAR_WIDTH[1], room))
        headers, rows, keys, scale = scorecard_rows(summary, width, fancy, left_out)
        row = table.cursor_row
        fill(table, rows, headers=headers, keys=keys)
        self.keys = keys
        if rows:
            table.move_cursor(row=min(row, len(rows) - 1), animate=False)
        self.query_one("#card-decision", DataText).update(summary["decision"])
        units = ", ".join(f"{plain(name)} {n:,}" for name, n in summary["units"].items())
        low, high = scale
        values = "; the values: enter, or a wider screen" if self.narrow else ""
        from vibes_core.scorecard import adjusted_words

        adjusted = adjusted_words(summary)
        self.query_one("#card-legend", DataText).update(
            "↓ lower is better. Uplift: relative to the control, its HDI in brackets and "
            f"drawn, every row on one scale ({100 * low:+.0f}% to {100 * high:+.0f}%, 0 at ┼)"
            f"{values}.\nunits: {units}; {summary['excluded_units']:,} left out"
            + (f"\n{plain(adjusted)}" if adjusted else "")
        )
        self.query_one("#card-warnings", DataText).update(
            "\n".join(f"warning: {plain(w)}" for w in summary["warnings"])
        )
        self.query_one("#card-footer", DataText).update(footer(summary))
        method = "exact" if summary["method"] == "exact" else "MCMC"
        said = EXACT_SAID.format(self.experiment) if method == "exact" else "MCMC scorecard"
        self.query_one("#card-status", DataText).update(said)

    def on_resize(self) -> None:
        if self.summary is not None:  # the columns and the bars' width for the new width
            self.show(self.summary)

    def failed(self, message: str) -> None:
        self.query_one("#card-decision", DataText).update(f"error: {message}")
        self.notify(message, title=self.experiment, severity="error")

    # --- actions ------------------------------------------------------------------------

    def selected(self) -> tuple[str, str] | None:
        """The metric and variant of the row under the cursor."""
        table = self.query_one("#card", DataTable)
        if not table.row_count or self.summary is None:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        metric, _, variant = key.partition("/")
        return metric, variant

    def action_open_metric(self) -> None:
        chosen = self.selected()
        if chosen is None:
            self.notify("no metric to open yet", severity="warning", timeout=3)
            return
        self.app.push_screen(MetricScreen(self.experiment, chosen[0], self.adjust))

    @on(DataTable.RowSelected, "#card")
    def row_chosen(self) -> None:
        self.action_open_metric()

    def action_cursor(self, where: str) -> None:
        table = self.query_one("#card", DataTable)
        (table.action_cursor_down if where == "down" else table.action_cursor_up)()

    def action_refresh(self) -> None:
        self.query_one("#card-decision", DataText).update("computing the exact scorecard...")
        self.load()

    def action_plan(self) -> None:
        """The next experiment like this one, on its goal metric: units and days."""
        self.app.open_plan(self.experiment)

    def action_toggle_adjust(self) -> None:
        """Each metric adjusted for what units did before exposure (CUPED), or not."""
        self.adjust = not self.adjust
        self.notify(
            "adjusted for what units did before exposure (CUPED)"
            if self.adjust
            else "not adjusted, as `vibes posterior --no-adjust`",
            timeout=3,
        )
        self.action_refresh()

    def action_metrics(self) -> None:
        self.app.open_metrics()

    def action_copy(self) -> None:
        if self.summary is not None:
            self.app.copy(self.summary["decision"], "the decision")

    def action_export(self) -> None:
        """The scorecard, to a file: what `vibes posterior NAME --exact --format ...` prints."""
        from vibes_tui.screens.export import ExportScreen

        if self.summary is not None:
            self.app.push_screen(ExportScreen(self.experiment, self.summary))


class MetricScreen(InspectScreen):
    """One metric of an experiment on units, as any experiment's screen shows a posterior: its
    summary (``Settings(metric=...)``, exact: the closed form of its kind), diagnostics, data
    (the assignment log) and history. What needs a model of its own (MCMC, pooling, a
    breakdown, options) belongs to the scorecard, and says so."""

    BINDINGS: ClassVar = [  # not in the footer: here they only say where to look instead
        Binding("f", "refit", "Refit", show=False),
        Binding("o", "options", "Options", show=False),
    ]

    def __init__(self, name: str, metric: str, adjust: bool = True) -> None:
        super().__init__(name)
        self.metric = metric
        self.adjust = adjust  # as the scorecard it was opened from

    def exact_settings(self):
        from vibes_core import inference

        return inference.Settings(metric=self.metric, adjust=self.adjust)

    def fit(self, use_cache: bool = True, start: bool = True) -> None:
        """No MCMC fit of one metric: its posterior is exact."""
        self.start_exact()

    def show(self, summary: Summary) -> None:
        super().show(summary)
        self.fit_status(f"exact posterior of {self.metric}; escape: back to the scorecard")

    def show_sub_title(self, summary: Summary | None = None) -> None:
        as_of = f" as of snapshot {self.as_of}" if self.as_of is not None else ""
        self.sub_title = f"{self.experiment}: {self.metric}{as_of}"

    def not_here(self, what: str) -> None:
        self.notify(
            f"{what}: one metric's posterior is exact here; the scorecard's MCMC fit is "
            f"`vibes posterior {self.experiment}`",
            severity="warning",
            timeout=4,
        )

    def action_refit(self) -> None:
        self.not_here("no refit")

    def action_clear_cache(self) -> None:
        self.not_here("no cached fit of one metric")

    def action_toggle_pooled(self) -> None:
        self.not_by_mcmc("--pooled")

    def action_toggle_segments(self) -> None:
        self.not_by_mcmc("--by segment")

    def not_by_mcmc(self, flag: str) -> None:
        """A proportion metric's pooled and breakdown fits are MCMC's: the command line's."""
        self.notify(
            f"not here: `vibes posterior {self.experiment} --metric {self.metric} {flag}` "
            "fits it (proportion metrics)",
            severity="warning",
            timeout=4,
        )

    def action_options(self) -> None:
        self.not_here("options are the experiment's (`vibes posterior --control ...`)")
