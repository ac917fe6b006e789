"""One experiment: its posterior (exact at once, MCMC when ready), diagnostics, data, history."""

from datetime import datetime
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, ProgressBar, Static, TabbedContent, TabPane
from textual.worker import Worker, get_current_worker

from vibes_core.errors import NoExact, NotFound, VibesError, first_line
from vibes_core.models import Independent, Model, Pooled, Segmented, toggled
from vibes_core.schema import Summary, segments_of
from vibes_core.types import get_type, summary_type
from vibes_core.units import counted, number
from vibes_tui.fits import FitJob
from vibes_tui.report import (
    fit_seconds,
    footer,
    hyperparameter_rows,
    known,
    learned_words,
    segment_rows,
    summary_table,
    verdict_conditions,
)
from vibes_tui.screens.base import WorkerScreen
from vibes_tui.screens.experiments import POLL_SECONDS, local_time
from vibes_tui.widgets.data import DataTable, DataText, plain
from vibes_tui.widgets.header import Header
from vibes_tui.widgets.plot import PlotView
from vibes_tui.widgets.table import fill, set_cell
from vibes_tui.wording import field_name

DATA_ROWS = 20
NAME_WIDTH = 32  # at most, of the group column: the numbers stay in sight at 80 columns
# Where a worker's unexpected error is shown, by its group (besides a toast and the log).
TABS = ("posterior", "diagnostics", "data", "history")
VIEWS = {  # what takes the keys in each tab
    "posterior": "posterior-view",
    "diagnostics": "diagnostics-view",
    "data": "data-view",
    "history": "snapshots",
}
WHERE_ERRORS_SHOW = {"exact": "#decision", "data": "#counts", "history": "#history-status"}
FOLLOW_SECONDS = 0.2  # how often a fit's progress is read while it runs


class InspectScreen(WorkerScreen):
    BINDINGS: ClassVar = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("1", "tab('posterior')", "Tabs", key_display="1-4"),
        Binding("f", "refit", "Refit"),
        Binding("c", "clear_cache", "Clear", show=False),  # in the help and the palette; asks
        Binding("u", "upload", "Upload"),
        # p and b in the help and the palette: the footer keeps 80 columns with `l Latest` too.
        Binding("p", "toggle_pooled", "Pooled", show=False),
        Binding("b", "toggle_segments", "By segment", show=False),
        Binding("l", "latest", "Latest"),  # shown only while an old snapshot is (check_action)
        Binding("y", "copy", "Copy", show=False),
        Binding("ctrl+e", "export", "Export", show=False),
        Binding("o", "options", "Options"),
        Binding("P", "plan", "Plan", show=False),  # in the help and the palette
        Binding("r", "refresh", "Refresh", show=False),  # the banner says it (check_action)
        Binding("j", "scroll('down')", "Down", show=False),
        Binding("k", "scroll('up')", "Up", show=False),
        Binding("ctrl+d", "scroll('page_down')", "Half page down", show=False),
        Binding("ctrl+u", "scroll('page_up')", "Half page up", show=False),
        Binding("g", "scroll('home')", "Top", show=False),
        Binding("G", "scroll('end')", "Bottom", show=False),
        Binding("left_square_bracket", "next_tab(-1)", "Previous tab", show=False),
        Binding("right_square_bracket", "next_tab(1)", "Next tab", show=False),
        Binding("2", "tab('diagnostics')", "Diagnostics", show=False),
        Binding("3", "tab('data')", "Data", show=False),
        Binding("4", "tab('history')", "History", show=False),
    ]

    # One metric of an experiment on units (MetricScreen): its summary, exact only.
    metric: str | None = None

    def __init__(self, name: str, known: Summary | None = None) -> None:
        """``known``: the posterior as the home screen has it (exact without plots, or a
        cached MCMC fit), shown before the first paint."""
        super().__init__()
        self.experiment = name
        self.known = known
        self.summary: Summary | None = None
        self.as_of: int | None = None  # a snapshot picked in the History tab; None = latest
        self.tabs_loaded = False  # Data and History, loaded after the posterior
        self.history: list[dict] = []
        self.model: Model = Independent()  # `p` and `b` switch it (vibes_core.models)
        self.new_events = 0  # uploaded since the shown posterior's snapshot (the banner)
        self.polled: int | None = None  # the lake's snapshot when last polled
        self.meta = None  # its catalog row (vibes_core.catalog.Experiment), once read
        self.following: FitJob | None = None  # the MCMC fit whose progress shows
        self.fit_said = ""  # on the line above the tabs

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataText("", id="new-data", classes="hidden")
        # Above the tabs: a fit's progress shows without scrolling, whatever the tab.
        with Horizontal(id="fit-line"):
            yield DataText("", id="fit-status")
            yield ProgressBar(total=1.0, id="fit-progress", show_eta=False)
        with TabbedContent():
            with TabPane("Posterior", id="posterior"), VerticalScroll(id="posterior-view"):
                yield DataText("computing the exact posterior...", id="decision")
                yield DataText("", id="conditions")
                yield DataTable(id="summary", cursor_type="none", zebra_stripes=True)
                yield DataTable(id="segments", cursor_type="none", zebra_stripes=True)
                yield DataText("", id="warnings")
                yield DataText("", id="fit-footer")
                yield VerticalScroll(id="plots")
            with TabPane("Diagnostics", id="diagnostics"), VerticalScroll(id="diagnostics-view"):
                yield Static(NOT_FITTED, id="diagnostics-text")
                yield VerticalScroll(id="traces")
            with TabPane("Data", id="data"), VerticalScroll(id="data-view"):
                yield DataText("", id="counts")
                yield DataTable(id="group-counts", cursor_type="none", zebra_stripes=True)
                yield PlotView(id="over-time")
                yield DataTable(id="head", cursor_type="row", zebra_stripes=True)
            with TabPane("History", id="history"):
                yield DataText("reading the lake's snapshots...", id="history-status")
                yield DataTable(id="snapshots", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        for hidden in ("#fit-progress", "#segments", "#conditions"):
            self.query_one(hidden).add_class("hidden")
        self.load_meta()
        self.set_interval(FOLLOW_SECONDS, self.watch_fit)
        # PgDn, arrows and Home/End scroll the posterior, plots and all, from the start.
        self.query_one("#posterior-view").focus()
        table = self.query_one("#snapshots", DataTable)
        for key, label in (
            ("snapshot", "snapshot"),
            ("time", "time"),
            ("added", "added"),
            ("events", "events"),
            ("result", "result"),
        ):
            table.add_column(label, key=key)
        self.reload()
        self.set_interval(POLL_SECONDS, self.poll)

    def reload(self, cache_first: bool = False) -> None:
        """Everything again: after an upload, or for another snapshot or model. ``cache_first``:
        the numbers shown stay until the cached fit replaces them; the exact posterior is
        computed only if the cache has none (after new options: one summary, not three)."""
        self.show_sub_title()
        self.fit_status("reading the posterior...")
        self.show_new_data(0)
        self.summary, self.tabs_loaded, self.exact_started = None, False, False
        self.following = None
        known, self.known = self.known, None  # later reloads follow new uploads
        if known and self.as_of is None:
            self.show(known)
            running = self.app.fits.find((self.experiment, self.model, None))
            if running is not None:  # a refit, started before this screen was
                self.follow(running)
            if known["method"] == "mcmc":
                return
        elif not cache_first:
            self.start_exact()
        # Workers compete with the first paint, and with each other, for the GIL: the cached
        # fit (a tenth of a second) comes first, the exact posterior's plots only on a miss.
        self.fit()

    def start_exact(self) -> None:
        if not self.exact_started:
            self.exact_started = True
            self.load_exact()

    # --- workers ------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="exact")
    def load_exact(self) -> None:
        from vibes_core import inference

        as_of = self.as_of
        try:
            settings = self.exact_settings()
            summary = self.with_lake(
                lambda lake: inference.posterior(
                    lake, self.experiment, settings, exact=True, as_of=as_of, plots=True
                )
            )
        except NoExact:
            self.from_worker(self.mcmc_only)
            return
        except VibesError as error:
            self.from_worker(self.failed, error.words(field_name))
            return
        if get_current_worker().is_cancelled:
            return
        self.from_worker(self.show, summary)

    @work(thread=True, exclusive=True, group="fit")
    def fit(self, use_cache: bool = True, start: bool = True) -> None:
        """The cached MCMC fit if there is one (``use_cache``), else the app's fit of this
        experiment and model: the one in progress, or (if ``start``) a new one. Either way it
        runs on when this screen is left, and is cached (see vibes_tui.fits)."""
        from vibes_core import catalog, inference

        if not self.app.models_ready.is_set():
            self.from_worker(self.start_exact)
            self.from_worker(self.fit_status, "loading PyMC...", progress=0.0)
            self.app.call_from_thread(self.app.start_warm_up)
            self.app.models_ready.wait()
        worker = get_current_worker()
        if worker.is_cancelled:  # left, or replaced, while PyMC was loading
            return
        warnings: list[str] = []
        name, as_of, model = self.experiment, self.as_of, self.model
        settings = inference.Settings(model=model)

        def cached(lake):
            # The key of the fit's draws: a new prior or likelihood is a new fit, other
            # options are not.
            experiment = catalog.get(lake, name)
            analysis = experiment.analysis
            key = (name, model, as_of, analysis.prior, analysis.likelihood)
            if self.app.fits.get(key) is not None or not use_cache:
                return key, experiment, None
            found = inference.posterior(
                lake, experiment, settings, as_of=as_of, warn=warnings.append, plots=True, fit=False
            )
            return key, experiment, found

        try:
            key, experiment, summary = self.with_lake(cached)
        except VibesError as error:  # a fit that fails must leave the exact answer standing
            if not worker.is_cancelled:
                self.from_worker(self.fit_failed, error.words(field_name))
            return
        if worker.is_cancelled:
            return
        if summary is not None:
            summary["warnings"] = warnings + summary["warnings"]
            self.from_worker(self.show, summary)
            return
        if not start and self.app.fits.get(key) is None:
            self.from_worker(self.fit_status, "the fit is not in the cache: f fits again")
            return
        app = self.app

        def sample(progress, warn) -> Summary | None:
            lake = app.lake()
            try:  # by name: the catalog read again when it runs (deleted meanwhile: said)
                return inference.posterior(
                    lake,
                    name,
                    settings,
                    as_of=as_of,
                    warn=warn,
                    plots=True,
                    use_cache=False,
                    progress=progress,
                )
            finally:
                lake.close()

        self.from_worker(self.start_exact)
        self.from_worker(lambda: self.follow(app.fits.start(key, sample, experiment.analysis)))

    def follow(self, job: FitJob) -> None:
        """Show ``job``'s progress, then its result (watch_fit, on a timer)."""
        self.following = job
        self.watch_fit()

    def watch_fit(self) -> None:
        job = self.following
        if job is None:
            return
        if not job.done:
            shown = "exact posterior; " if self.summary else ""
            self.fit_status(f"{shown}fitting with MCMC...", progress=job.progress)
            return
        self.following = None
        if job.summary is None:
            if job.error != "stopped":
                self.fit_failed(job.error or "unknown error")
            return
        if self.meta is not None and job.started_with != self.meta.analysis:
            self.fit(start=False)  # options saved while it ran: its cached draws, with them
            return
        summary = job.summary.copy()
        summary["warnings"] = job.warnings + summary["warnings"]
        self.show(summary)

    @work(thread=True, exclusive=True, group="meta")
    def load_meta(self) -> None:
        """Its catalog row: the display name for the header, the groups and options for `o`."""
        from vibes_core import catalog

        try:
            meta = self.with_lake(lambda lake: catalog.get(lake, self.experiment))
        except VibesError:
            return  # the posterior's worker says what is wrong
        self.from_worker(self.show_meta, meta)

    def show_meta(self, meta) -> None:
        self.meta = meta
        if meta.display_name != self.experiment:  # the header: "display name — name, model"
            self.title = meta.display_name

    @work(thread=True, exclusive=True, group="poll")
    def poll(self) -> None:
        """Another process's upload: said in a banner instead of the posterior going stale
        (an old snapshot, picked in History, stays as it is)."""
        from vibes_core import catalog

        shown = self.summary
        if shown is None or self.as_of is not None:
            return
        try:
            lake = self.app.lake()
            try:
                snapshot = lake.snapshot_id()
                if snapshot == self.polled:
                    return
                experiment = catalog.found(lake, self.meta or self.experiment)
                added = catalog.events_added_since(lake, experiment, shown["snapshot"])
            finally:
                lake.close()
        except VibesError:  # deleted meanwhile, or the lake away: the next poll tries again
            return
        self.polled = snapshot
        if self.summary is shown:
            self.from_worker(self.show_new_data, added)

    @work(thread=True, exclusive=True, group="data")
    def load_data(self) -> None:
        from vibes_core import catalog

        as_of = self.as_of

        def read(lake):
            experiment = catalog.get(lake, self.experiment)
            return (
                get_type(experiment.type),
                catalog.latest_events(lake, experiment, DATA_ROWS, as_of),
                catalog.sufficient_stats(lake, experiment, as_of),
                catalog.events_over_time(lake, experiment, as_of),
            )

        try:
            kind, latest, stats, over_time = self.with_lake(read)
        except VibesError:
            return  # the posterior tab says what is wrong
        if not get_current_worker().is_cancelled:
            kinds = {column.name: column.kind for column in kind.columns}
            self.from_worker(self.show_data, latest, stats, over_time, kinds)

    @work(thread=True, exclusive=True, group="history")
    def load_history(self) -> None:
        """The snapshots that added events, then the exact headline at each, as they come."""
        from vibes_core import catalog, inference

        worker = get_current_worker()
        try:
            lake = self.app.lake()
        except VibesError:
            return
        try:
            experiment = catalog.get(lake, self.experiment)
            history = catalog.history(lake, experiment)
            self.from_worker(self.show_history, history)
            for entry in reversed(history):  # the latest first: it is the one people look at
                if worker.is_cancelled:
                    return
                try:
                    text = inference.headline(
                        inference.posterior(
                            lake,
                            experiment,
                            self.exact_settings(),
                            exact=True,
                            as_of=entry["snapshot"],
                        )
                    )
                except NotFound:  # deleted meanwhile
                    text = "-"
                except NoExact:
                    text = "MCMC only"
                except Exception as error:  # one snapshot's problem: the others go on
                    text = "error"
                    where = f"{self.experiment} as of snapshot {entry['snapshot']}"
                    self.app.call_from_thread(self.app.log_error, error, where)
                self.from_worker(self.show_snapshot_headline, entry["snapshot"], text)
        except VibesError as error:
            self.from_worker(self.history_status, f"error: {error}")
        finally:
            lake.close()

    @work(thread=True, group="cache")
    def clear_cache(self) -> None:
        """After the person said yes (action_clear_cache): refitting takes as long again."""
        from vibes_core.cache import Cache, CacheError
        from vibes_core.config import load_config

        try:
            deleted = Cache(load_config()).clear(self.experiment)
        except CacheError as error:
            self.app.call_from_thread(self.app.notify, str(error), severity="error")
            return
        self.app.call_from_thread(self.app.forget_cached_fits, self.experiment)
        self.app.call_from_thread(
            self.app.notify, f"deleted {deleted} cached fit(s) of {self.experiment}"
        )

    def exact_settings(self):
        """What the exact posterior is asked with (a metric's view: MetricScreen's)."""
        from vibes_core import inference

        return inference.Settings()

    # --- showing ------------------------------------------------------------------------

    def show_sub_title(self, summary: Summary | None = None) -> None:
        """The experiment, the snapshot if not the latest, the likelihood if not the type's
        default (known from a summary: the saved one, or the default) and the model."""
        kind = summary_type(summary) if summary else None
        likelihood = f", {kind.likelihood_title}" if kind and kind.likelihood else ""
        self.sub_title = (
            self.experiment
            + (f" as of snapshot {self.as_of}" if self.as_of is not None else "")
            + likelihood
            + (f", {self.model.title()}" if self.model.title() else "")
        )

    def show(self, summary: Summary) -> None:
        if summary["method"] == "exact" and self.summary and self.summary["method"] == "mcmc":
            return  # the cached fit came first
        self.summary = summary
        self.show_sub_title(summary)
        plotted = "plots" in summary or self.metric is not None  # a metric's has none
        if not self.tabs_loaded and plotted:  # the other tabs' data, once this
            self.tabs_loaded = True  # posterior is on the screen (they compete for the GIL)
            self.call_after_refresh(self.load_data)
            self.call_after_refresh(self.load_history)
        headers, rows, marked = summary_table(summary)
        fill(self.query_one("#summary", DataTable), rows, headers=headers, first_width=NAME_WIDTH)
        decision = plain(summary["decision"]) + (f"   (* = {marked})" if marked else "")
        self.query_one("#decision", DataText).update(decision)
        self.show_conditions(summary)
        segments, table = segments_of(summary), self.query_one("#segments", DataTable)
        table.set_class(segments is None, "hidden")
        if segments is not None:  # the CLI's breakdown table, in the order of the forest plots
            headers, rows = segment_rows(summary)
            fill(table, rows, headers=headers, first_width=NAME_WIDTH)
        notes = summary_type(summary).notes(summary)
        if summary.get("learned_prior"):
            notes = [*notes, learned_words(summary["learned_prior"])]
        self.query_one("#warnings", DataText).update(
            "\n".join([*map(plain, notes), *(f"warning: {plain(w)}" for w in summary["warnings"])])
        )
        self.show_footer()
        # After the numbers are on the screen: plots take as long to draw as all the rest.
        self.call_after_refresh(self.show_plots, "#plots", summary.get("plots", []))
        if summary["method"] == "mcmc":
            if self.following is None:
                self.fit_status(fit_brief(summary))
            self.query_one("#diagnostics-text", Static).update(diagnostics_table(summary))
            self.call_after_refresh(self.show_plots, "#traces", summary.get("traces", []))
            self.notify(f"{self.experiment}: MCMC posterior ready", timeout=3)
        elif self.following is None:
            self.fit_status("exact posterior; the MCMC fit follows")

    def show_conditions(self, summary: Summary) -> None:
        """The verdict's two conditions for a choice, each met or not, in one line."""
        saved = self.meta.analysis if self.meta is not None else None
        said = verdict_conditions(summary, saved.max_loss if saved else None)
        conditions = self.query_one("#conditions", DataText)
        conditions.update(said or "")
        conditions.set_class(not said, "hidden")

    def show_footer(self) -> None:
        """How the posterior shown was found, and as of which snapshot (History's numbering)."""
        if self.summary is not None:
            self.query_one("#fit-footer", DataText).update(footer(self.summary, self.as_of_words()))

    def as_of_words(self) -> str:
        """The snapshot the posterior is of, as History numbers them: the latest that added
        events at or before the lake's snapshot it was read at ("" until History is read)."""
        if self.as_of is not None:
            return f"as of snapshot {self.as_of}"
        read_at = self.summary["snapshot"] if self.summary else None
        added = [e["snapshot"] for e in self.history if read_at is None or e["snapshot"] <= read_at]
        return f"as of snapshot {max(added)} (the latest that added events)" if added else ""

    def show_plots(self, where: str, specs: list[dict]) -> None:
        """One plot per spec, reusing the views already there so that nothing flickers."""
        box = self.query_one(where, VerticalScroll)
        views = list(box.query(PlotView))
        for extra in views[len(specs) :]:
            extra.remove()
        for i, spec in enumerate(specs):
            if i >= len(views):
                views.append(PlotView())
                box.mount(views[-1])
            views[i].show(spec)

    def show_new_data(self, added: int) -> None:
        self.new_events = added
        banner = self.query_one("#new-data", DataText)
        banner.update(f"new data ({counted(added, 'event')}) — r to refresh" if added else "")
        banner.set_class(not added, "hidden")
        self.refresh_bindings()  # r works while the banner shows

    def fit_status(self, text: str, progress: float | None = None) -> None:
        """The line above the tabs: what the MCMC fit is doing, with its progress, or how it
        went (in full under the table). Always one line: the tabs below never move."""
        if text != self.fit_said:  # read 5 times a second while a fit runs: no layout for that
            self.fit_said = text
            self.query_one("#fit-status", DataText).update(text, layout=False)
        bar = self.query_one("#fit-progress", ProgressBar)
        bar.set_class(progress is None, "hidden")
        if progress is not None:
            bar.update(progress=progress)

    def fit_failed(self, message: str) -> None:
        self.following = None  # a fit it was following must not write over the failure
        self.fit_status(f"the MCMC fit failed: {message}")
        self.notify(message, title="Fit failed", severity="error")

    def mcmc_only(self) -> None:
        """A type without an exact posterior: nothing to show until the fit (or the cache)."""
        if self.summary is None:
            self.query_one("#decision", DataText).update(
                "MCMC only: this type has no exact posterior; the fit's answer follows"
            )
            if not self.tabs_loaded:  # the other tabs need not wait for the fit
                self.tabs_loaded = True
                self.call_after_refresh(self.load_data)
                self.call_after_refresh(self.load_history)

    def failed(self, message: str) -> None:
        self.query_one("#decision", DataText).update(f"error: {message}")
        if self.following is None:
            self.fit_status("")
        self.notify(message, title=self.experiment, severity="error")

    def worker_failed(self, worker: Worker, error: BaseException) -> None:
        """Said where its answer would have been, as well as in a toast and the log."""
        message = f"error: {first_line(error)}"
        if not self.is_attached:  # left meanwhile
            pass
        elif worker.group == "fit":
            self.fit_status(f"the MCMC fit failed: {first_line(error)}")
        elif worker.group in WHERE_ERRORS_SHOW:
            self.query_one(WHERE_ERRORS_SHOW[worker.group], DataText).update(message)
        super().worker_failed(worker, error)

    def show_data(self, latest: dict, stats: list[dict], over_time: dict, kinds: dict) -> None:
        """``kinds``: each column's kind (timestamp, bool, ...), by name."""
        columns = latest["columns"]
        fill(
            self.query_one("#head", DataTable),
            [
                [
                    event_value(value, kinds.get(column))
                    for column, value in zip(columns, row, strict=True)
                ]
                for row in latest["rows"]
            ],
            headers=columns,
        )
        fill(
            self.query_one("#group-counts", DataTable),
            [[shown(value) for value in row.values()] for row in stats],
            headers=list(stats[0]) if stats else [],
        )
        events = sum(sum(periods.values()) for periods in over_time["groups"].values())
        self.query_one("#counts", DataText).update(
            f"{counted(events, 'event')}, per group below; the latest {DATA_ROWS} under the plot"
        )
        self.query_one("#over-time", PlotView).show(over_time_spec(over_time))

    def show_history(self, history: list[dict]) -> None:
        self.history = history
        latest_first = list(reversed(history))
        fill(
            self.query_one("#snapshots", DataTable),
            [
                [
                    str(entry["snapshot"]),
                    local_time(entry["time"]),
                    f"{entry['added']:,}",
                    f"{entry['events']:,}",
                    "...",
                ]
                for entry in latest_first
            ],
            keys=[str(entry["snapshot"]) for entry in latest_first],
        )
        shown = "the latest" if self.as_of is None else f"snapshot {self.as_of}"
        self.history_status(
            f"{counted(len(history), 'snapshot')} added events; showing {shown}. "
            "enter: the posterior as of that snapshot, l: the latest"
        )
        self.show_footer()  # now that its snapshot can be said as History numbers it

    def show_snapshot_headline(self, snapshot: int, text: str) -> None:
        table = self.query_one("#snapshots", DataTable)
        if str(snapshot) in table.rows:
            set_cell(table, str(snapshot), "result", text)

    def history_status(self, text: str) -> None:
        self.query_one("#history-status", DataText).update(text)

    # --- actions ------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#snapshots")
    def snapshot_chosen(self, event: DataTable.RowSelected) -> None:
        snapshot = int(event.row_key.value)
        latest = self.history and snapshot == self.history[-1]["snapshot"]
        self.show_as_of(None if latest else snapshot)

    def show_as_of(self, snapshot: int | None) -> None:
        self.as_of = snapshot
        self.query_one(TabbedContent).active = "posterior"
        self.refresh_bindings()  # `l` Latest shows while an old snapshot is
        self.reload()

    def check_action(self, action: str, parameters: tuple) -> bool:
        if action == "latest":
            return self.as_of is not None
        if action == "refresh":
            return self.new_events != 0
        return True

    def action_refresh(self) -> None:
        """The posterior again, with the events uploaded since."""
        self.polled = None
        self.switch_model(f"{self.experiment}: refreshed")

    @on(TabbedContent.TabActivated)
    def tab_shown(self, event: TabbedContent.TabActivated) -> None:
        """The tab's content takes the keys at once: arrows, PgDn, j/k scroll it (or, in
        History, pick a snapshot)."""
        self.query_one(f"#{VIEWS[event.pane.id]}").focus()

    def action_next_tab(self, step: int) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = TABS[(TABS.index(tabs.active) + step) % len(TABS)]

    def action_scroll(self, where: str) -> None:
        """vim's and less's keys over what the tab shows: the snapshot list's cursor in
        History, else the tab's scrolling content."""
        view = self.query_one(f"#{VIEWS[self.query_one(TabbedContent).active]}")
        if isinstance(view, DataTable):
            moves = {"down": "cursor_down", "up": "cursor_up", "home": "scroll_top"}
            moves |= {"end": "scroll_bottom", "page_down": "page_down", "page_up": "page_up"}
            getattr(view, f"action_{moves[where]}")()
        elif where in ("page_down", "page_up"):  # half a page, as in vim
            view.scroll_relative(y=view.size.height // 2 * (1 if where == "page_down" else -1))
        else:
            getattr(view, f"scroll_{where}")()

    def action_copy(self) -> None:
        """The decision sentence to the clipboard (see VibesApp.copy: OSC 52, or tmux's)."""
        summary = self.summary or self.known
        if summary is not None:
            self.app.copy(summary["decision"], "the decision")

    def action_export(self) -> None:
        """The summary shown, to a file: CSV, JSON or Markdown."""
        from vibes_tui.screens.export import ExportScreen

        summary = self.summary or self.known
        if summary is not None:
            self.app.push_screen(ExportScreen(self.experiment, summary))

    def action_options(self) -> None:
        """The experiment's analysis options; once saved, the posterior again with them (from
        the cached draws, unless the prior changed)."""
        from dataclasses import replace

        from vibes_core import catalog
        from vibes_tui.screens.options import OptionsScreen

        try:  # from the catalog, not the posterior: it opens while a fit runs, or has failed
            meta = catalog.get(self.app.main_lake(), self.experiment)
            kind = get_type(meta.type)
        except VibesError as error:
            self.notify(first_line(error), title="Options", severity="error")
            return
        summary = self.summary or self.known
        groups = list(meta.groups or [g["name"] for g in (summary or {}).get("groups", [])])

        def saved_options(analysis) -> None:
            if analysis is not None:
                self.meta = replace(meta, analysis=analysis)
                self.notify(f"options of {self.experiment} saved", timeout=2)
                self.known = None
                self.reload(cache_first=self.summary is not None)

        self.app.push_screen(
            OptionsScreen(self.experiment, kind.name, groups, meta.analysis), saved_options
        )

    def action_latest(self) -> None:
        self.show_as_of(None)

    def action_plan(self) -> None:
        """The next experiment like this one: units and days to find a lift."""
        self.app.open_plan(self.experiment)

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_refit(self) -> None:
        self.fit(use_cache=False)

    def action_clear_cache(self) -> None:
        """Asked first: the fits it deletes took tens of seconds each."""
        from vibes_tui.screens.confirm import ConfirmClear

        def answered(yes: bool | None) -> None:
            if yes:
                self.clear_cache()

        self.app.push_screen(ConfirmClear(self.experiment), answered)

    def action_toggle_pooled(self) -> None:
        """Partial pooling on or off: the pooled fit (cached or sampled) replaces the shown one."""
        if self.model_available(lambda kind: kind.has_pooled, "no pooled model"):
            self.switch_model(Pooled())

    def action_toggle_segments(self) -> None:
        """The breakdown by the type's segment column on or off (it replaces pooling)."""
        kind = self.model_available(lambda kind: kind.has_segments, "no breakdown by segment")
        if kind:
            self.switch_model(Segmented(kind.segment_columns[0]))

    def model_available(self, has, missing: str):
        """The experiment's type if it has that model (``has``) and groups to compare."""
        summary = self.summary or self.known
        if summary is None:
            return None
        kind = summary_type(summary)
        if not has(kind) or len(summary["groups"]) < 2:
            self.notify(f"{kind.titled()}: {missing} for this experiment", timeout=3)
            return None
        return kind

    def switch_model(self, model: Model) -> None:
        """``model`` on, or off (back to the plain model) if it is the one shown."""
        self.model = toggled(self.model, model)
        self.notify(f"{model.title()}: {'on' if self.model == model else 'off'}", timeout=2)
        self.known = None
        self.reload()

    def action_upload(self) -> None:
        from vibes_tui.screens.upload import UploadScreen

        def uploaded(result: dict | None) -> None:
            if result:
                self.show_as_of(None)

        self.app.push_screen(UploadScreen(self.experiment), uploaded)


def shown(value) -> str:
    """A statistic: a count with its thousands (1,234), a sum of floats with 3 significant
    digits (216.51999999999995 is 217), a name as the data has it."""
    if isinstance(value, int):
        return f"{value:,}"
    return number(value) if isinstance(value, float) else plain(value)


def over_time_spec(over_time: dict) -> dict:
    """Events per period as one bar series per group."""
    periods = sorted({p for counts in over_time["groups"].values() for p in counts})
    return {
        "kind": "bars",
        "title": f"events per {over_time['unit']}",
        "labels": periods,
        "series": [
            {"name": group, "values": [counts.get(p, 0) for p in periods]}
            for group, counts in over_time["groups"].items()
        ],
    }


NOT_FITTED = "the MCMC fit has not finished yet"


def diagnostics_table(summary: Summary) -> Table:
    """The fit's diagnostics: name, value and what it means, each in its own column (a long
    value or meaning wraps within it)."""
    d = summary["diagnostics"]
    rows = [
        ("max r_hat", known(d["max_r_hat"], ".3f"), "<= 1.01 is converged"),
        ("min bulk ESS", known(d["min_ess_bulk"], ".0f"), "effective draws for the means"),
        ("min tail ESS", known(d["min_ess_tail"], ".0f"), "effective draws for the HDIs"),
        ("divergences", str(d["divergences"]), "0 is what you want"),
        ("parameters", ", ".join(d["parameters"]), "all of the model's, checked"),
        ("sampler", f"{d['sampler']}, target_accept {d['target_accept']}", ""),
        ("chains x draws", f"{d['chains']} x {d['draws']} (after {d['tune']} tuning)", ""),
        ("fit", "from the cache" if summary["cached"] else fit_seconds(summary), ""),
    ]
    rows += hyperparameter_rows(summary)
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(ratio=3, overflow="fold")
    table.add_column(ratio=4, overflow="fold", style="dim")
    for row in rows:
        table.add_row(*(Text(plain(cell)) for cell in row))
    return table


def fit_brief(summary: Summary) -> str:
    """The MCMC posterior shown, for the line above the tabs: where it came from and whether
    it converged (the footer under the table says the rest)."""
    d = summary["diagnostics"]
    source = "from the cache" if summary["cached"] else f"fitted in {fit_seconds(summary)}"
    return (
        f"MCMC posterior {source}: r_hat {known(d['max_r_hat'], '.3f')}, "
        f"{counted(d['divergences'], 'divergence')}"
    )


def event_value(value, kind: str | None) -> str:
    """A cell of the Data tab's latest events: a time local, to the second; a boolean as the
    data writes it (true, false); anything else as it is."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if kind == "timestamp" and isinstance(value, str):
        try:
            return datetime.fromisoformat(value).astimezone().strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            return plain(value)
    return plain(value)
