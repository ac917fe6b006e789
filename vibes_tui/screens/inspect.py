"""One experiment: its posterior (exact at once, MCMC when ready), diagnostics and data."""

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import (
    DataTable,
    Footer,
    Header,
    ProgressBar,
    Static,
    TabbedContent,
    TabPane,
)
from textual.worker import get_current_worker

from vibes_core.errors import VibesError
from vibes_tui.report import footer, summary_table

DATA_ROWS = 20


class FitReplaced(Exception):
    """Raised inside a fit's progress callback to stop sampling nobody waits for any more."""


class InspectScreen(Screen):
    BINDINGS: ClassVar = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("f", "refit", "Refit"),
        Binding("c", "clear_cache", "Clear cache"),
        Binding("1", "tab('posterior')", "Posterior", show=False),
        Binding("2", "tab('diagnostics')", "Diagnostics", show=False),
        Binding("3", "tab('data')", "Data", show=False),
    ]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.experiment = name
        self.summary: dict | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent():
            with TabPane("Posterior", id="posterior"):
                yield Static("computing the exact posterior...", id="decision")
                yield DataTable(id="summary", cursor_type="none", zebra_stripes=True)
                yield Static("", id="warnings")
                yield Static("", id="fit-status")
                yield ProgressBar(total=1.0, id="fit-progress", show_eta=False)
            with TabPane("Diagnostics", id="diagnostics"):
                yield Static("the MCMC fit has not finished yet", id="diagnostics-text")
            with TabPane("Data", id="data"):
                yield Static("", id="counts")
                yield DataTable(id="head", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.experiment
        self.query_one("#fit-progress").add_class("hidden")
        self.load_exact()
        self.load_data()

    # --- workers ------------------------------------------------------------------------

    @work(thread=True, group="exact")
    def load_exact(self) -> None:
        from vibes_core import inference

        try:
            summary = self.with_lake(lambda lake: inference.posterior(lake, self.experiment,
                                                                      exact=True))  # fmt: skip
        except VibesError as error:
            self.app.call_from_thread(self.failed, str(error))
            return
        self.app.call_from_thread(self.show, summary)
        self.app.call_from_thread(self.fit)

    @work(thread=True, exclusive=True, group="fit")
    def fit(self, use_cache: bool = True) -> None:
        from vibes_core import inference

        self.app.call_from_thread(self.fit_status, "loading PyMC...", progress=0.0)
        self.app.call_from_thread(self.app.start_warm_up)
        self.app.models_ready.wait()
        self.app.call_from_thread(self.fit_status, "fitting with MCMC...", progress=0.0)
        warnings: list[str] = []
        worker = get_current_worker()

        def progress(done: float) -> None:
            if worker.is_cancelled:  # a newer fit replaced this one: stop sampling
                raise FitReplaced
            self.app.call_from_thread(self.fit_status, "fitting with MCMC...", progress=done)

        try:
            summary = self.with_lake(lambda lake: inference.posterior(
                lake, self.experiment, use_cache=use_cache, warn=warnings.append,
                progress=progress))  # fmt: skip
        except FitReplaced:
            return
        except Exception as error:  # a fit that fails must leave the exact answer standing
            if not worker.is_cancelled:
                self.app.call_from_thread(self.fit_failed, str(error) or type(error).__name__)
            return
        if worker.is_cancelled:
            return
        summary["warnings"] = warnings + summary["warnings"]
        self.app.call_from_thread(self.show, summary)

    @work(thread=True, group="data")
    def load_data(self) -> None:
        from vibes_core import catalog

        try:
            inspected, stats = self.with_lake(lambda lake: (
                catalog.inspect_table(lake, self.experiment, DATA_ROWS),
                catalog.sufficient_stats(lake, self.experiment)))  # fmt: skip
        except VibesError:
            return  # the posterior tab says what is wrong
        self.app.call_from_thread(self.show_data, inspected, stats)

    @work(thread=True, group="cache")
    def clear_cache(self) -> None:
        from vibes_core.cache import Cache, CacheError
        from vibes_core.config import load_config

        try:
            deleted = Cache(load_config()).clear(self.experiment)
        except CacheError as error:
            self.app.call_from_thread(self.notify, str(error), severity="error")
            return
        self.app.call_from_thread(
            self.notify, f"deleted {deleted} cached fit(s) of {self.experiment}"
        )

    def with_lake(self, work):
        lake = self.app.lake()
        try:
            return work(lake)
        finally:
            lake.close()

    # --- showing ------------------------------------------------------------------------

    def show(self, summary: dict) -> None:
        self.summary = summary
        headers, rows, marked = summary_table(summary)
        table = self.query_one("#summary", DataTable)
        table.clear(columns=True)
        table.add_columns(*headers)
        table.add_rows(rows)
        decision = summary["decision"] + (f"   (* = {marked})" if marked else "")
        self.query_one("#decision", Static).update(decision)
        self.query_one("#warnings", Static).update(
            "\n".join(f"warning: {w}" for w in summary["warnings"])
        )
        if summary["method"] == "mcmc":
            self.fit_status(footer(summary))
            self.query_one("#diagnostics-text", Static).update(diagnostics_text(summary))
            self.notify(f"{self.experiment}: MCMC posterior ready", timeout=3)
        else:
            self.fit_status("exact posterior; the MCMC fit follows")

    def fit_status(self, text: str, progress: float | None = None) -> None:
        self.query_one("#fit-status", Static).update(text)
        bar = self.query_one("#fit-progress", ProgressBar)
        bar.set_class(progress is None, "hidden")
        if progress is not None:
            bar.update(progress=progress)

    def fit_failed(self, message: str) -> None:
        self.fit_status(f"the MCMC fit failed: {message}")
        self.notify(message, title="Fit failed", severity="error")

    def failed(self, message: str) -> None:
        self.query_one("#decision", Static).update(f"error: {message}")
        self.notify(message, title=self.experiment, severity="error")

    def show_data(self, inspected: dict, stats: list[dict]) -> None:
        table = self.query_one("#head", DataTable)
        table.add_columns(*(column["name"] for column in inspected["columns"]))
        table.add_rows([[str(value) for value in row.values()] for row in inspected["head"]])
        counts = "  ".join(
            ", ".join(f"{key} {value:,}" if isinstance(value, int) else f"{key} {value}"
                      for key, value in row.items())
            for row in stats
        )  # fmt: skip
        self.query_one("#counts", Static).update(
            f"{inspected['rows']:,} events; per group: {counts}\nfirst {DATA_ROWS} rows:"
        )

    # --- actions ------------------------------------------------------------------------

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_refit(self) -> None:
        self.fit(use_cache=False)

    def action_clear_cache(self) -> None:
        self.clear_cache()


def diagnostics_text(summary: dict) -> str:
    d = summary["diagnostics"]
    rows = [
        ("max r_hat", d["max_r_hat"], "<= 1.01 is converged"),
        ("min bulk ESS", d["min_ess_bulk"], "effective draws for the means"),
        ("min tail ESS", d["min_ess_tail"], "effective draws for the HDIs"),
        ("divergences", d["divergences"], "0 is what you want"),
        ("sampler", d["sampler"], ""),
        ("chains x draws", f"{d['chains']} x {d['draws']} (after {d['tune']} tuning)", ""),
        ("seconds", d["seconds"], "from the cache" if summary["cached"] else "this fit"),
    ]
    return "\n".join(f"{name:<15} {'n/a' if value is None else value!s:<28} {note}"
                     for name, value, note in rows)  # fmt: skip
