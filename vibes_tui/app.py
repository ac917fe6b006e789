"""The dashboard: a Textual app over vibes_core, with no SQL or model code of its own.

Everything slow (opening the lake, queries, fits, importing PyMC and MLflow) runs in thread
workers; each worker talks to the lake through its own DuckDB connection.
"""

import contextlib
import gc
import os
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.content import Content

from vibes_core.errors import VibesError, first_line
from vibes_tui.commands import VibesCommands
from vibes_tui.fits import Fits
from vibes_tui.screens.base import SurvivesWorkers
from vibes_tui.widgets.data import lines, plain, wrapped

COPY_TOAST_SECONDS = 6  # its sentence may say what to set to reach the system clipboard

if TYPE_CHECKING:  # DuckDB is imported by the thread that opens the lake (see entry.py)
    from vibes_core.lake import Lake
    from vibes_tui.screens.experiments import ExperimentsScreen


class VibesApp(SurvivesWorkers, App):
    TITLE = "vibes"
    CSS_PATH = "app.tcss"
    BINDINGS: ClassVar = [
        Binding("question_mark,f1", "help", "Help"),
        Binding("ctrl+t", "change_theme", "Theme", show=False),
        # Priority, so that focus moves when the key arrives: keys typed right after it go
        # to the next field even when they were queued before the app handled the Tab.
        Binding("tab", "focus_next", "Next field", show=False, priority=True),
        Binding("shift+tab", "focus_previous", "Previous field", show=False, priority=True),
    ]

    COMMANDS = App.COMMANDS | {VibesCommands}

    def __init__(self, lake: "Lake | None" = None) -> None:
        super().__init__()
        self._lake = lake  # opened by the first worker that needs it, if not given
        self._lake_lock = threading.Lock()
        self.models_ready = threading.Event()  # set once PyMC, ArviZ and MLflow are imported
        self.fits = Fits(self)  # MCMC fits in progress: they outlive the screens that start them
        self._warming = False
        self.stopped_by: str | None = None  # the one line to say if an error stopped the app
        self.apply_saved_theme()

    # --- the theme, kept in the config file -----------------------------------------------

    def apply_saved_theme(self) -> None:
        """VIBES_THEME (the environment, else the config file), if it names a theme."""
        from vibes_core.config import preference

        saved = preference("VIBES_THEME")
        self.saved_theme = saved if saved in self.available_themes else self.theme
        self.theme = self.saved_theme  # an unknown (or removed) theme: the default stays

    def watch_theme(self, theme: str) -> None:
        """A theme picked (ctrl+t, the palette) is written to the config file for next time."""
        from vibes_core.config import save_preference

        if theme == getattr(self, "saved_theme", theme):
            return
        self.saved_theme = theme
        try:
            save_preference("VIBES_THEME", theme)
        except VibesError as error:  # the file is left as it was
            self.notify(f"the theme was not saved: {first_line(error)}", severity="warning")

    def get_system_commands(self, screen) -> Iterable[SystemCommand]:
        """Of Textual's, quit and screenshot: the palette has our theme and help, and Textual's
        keys panel and maximize would show its own widgets' keys and layouts beside ours."""
        for command in super().get_system_commands(screen):
            if command.title in ("Quit", "Screenshot"):
                yield command

    def on_mount(self) -> None:
        from vibes_tui.screens.experiments import ExperimentsScreen

        self.push_screen(ExperimentsScreen())

    def deliver_screenshot(
        self, filename: str | None = None, path: str | None = None, time_format=None
    ) -> str | None:
        """The palette's screenshot: into the current directory (a server has no Downloads
        folder), or $VIBES_HOME when that is not writable."""
        if path is None:
            from vibes_core.config import load_config

            here = os.getcwd()
            path = here if os.access(here, os.W_OK) else str(load_config().home)
        return super().deliver_screenshot(filename, path, time_format)

    def start_warm_up(self) -> None:
        """Called when the first screen has its data: imports compete with it for the GIL."""
        if not self._warming:
            self._warming = True
            # A daemon thread, not a worker: quitting must not wait seconds for an import
            # (Textual's executor is joined on exit; see dashboard.py).
            threading.Thread(target=self.warm_up, name="warm-up", daemon=True).start()

    @property
    def lake_is_open(self) -> bool:
        return self._lake is not None

    def main_lake(self) -> "Lake":
        """The lake's own connection, for the UI thread only (closing a thread's connection
        can wait on DuckDB while a worker queries: never on the UI thread)."""
        return self._lake

    def lake(self) -> "Lake":
        """A connection to the lake for the calling thread (the lake opens on first use)."""
        from vibes_core import catalog

        with self._lake_lock:
            if self._lake is None:
                self._lake = catalog.open_lake()
        return self._lake.for_thread()

    def warm_up(self) -> None:
        """After the first paint: the imports a fit needs, so that opening one is quick."""
        try:
            import arviz_stats  # noqa: F401
            import h5netcdf.legacyapi  # noqa: F401  # reads a cached fit's draws
            import pymc  # noqa: F401
            import xarray  # noqa: F401

            import vibes_core.plots  # noqa: F401
            import vibes_tui.screens.inspect  # noqa: F401
            from vibes_core.cache import Cache, CacheError, artifacts
            from vibes_core.config import load_config

            config = load_config()
            with contextlib.suppress(CacheError):  # a fit will say so, and fit uncached
                Cache(config).connect()  # MLflow's store, ready for the fits to store
            artifacts(config.home.as_uri())  # MLflow's artifact stores, found once
            # Millions of objects now live for good; a full collection that walked them took
            # 0.25 s, and struck in the middle of opening an experiment one time in two.
            gc.freeze()
        except Exception as error:  # a fit will meet it again, and say so where it shows
            with contextlib.suppress(RuntimeError):  # the app has gone meanwhile
                self.call_from_thread(self.log_error, error, "importing PyMC and MLflow")
        finally:
            self.models_ready.set()

    def open_experiment(self, name: str, known: dict | None = None) -> None:
        """``known``: its posterior as far as the caller has it (see InspectScreen). An
        experiment judged on metrics opens on its scorecard (ScorecardScreen)."""
        from vibes_tui.screens.experiments import is_scorecard_type

        home = self.home
        row = home.rows.get(name) if home else None
        if (known is not None and "metrics" in known) or (row and is_scorecard_type(row.type)):
            from vibes_tui.screens.scorecard import ScorecardScreen

            self.push_screen(ScorecardScreen(name, known))
            return
        from vibes_tui.screens.inspect import InspectScreen

        self.push_screen(InspectScreen(name, known))

    def open_from_home(self, name: str) -> None:
        """The palette's open: back to the home screen first (screens never stack up), then
        the experiment, with what home knows of its posterior."""
        home = self.home
        if home is None:
            return
        while self.screen is not home:
            self.pop_screen()
        row = home.rows.get(name)
        key = (name, row.events if row else 0)
        self.open_experiment(name, home.cached_fits.get(key) or home.exact.get(key))

    def open_metrics(self) -> None:
        """The metrics and event tables (`m`, the palette), over whatever screen is open."""
        from vibes_tui.screens.metrics import MetricForm, MetricsScreen

        if not isinstance(self.screen, MetricsScreen | MetricForm):
            self.push_screen(MetricsScreen())

    action_open_metrics = open_metrics  # the key `m`: "app.open_metrics"

    def open_plan(self, experiment: str | None = None) -> None:
        """Plan an experiment (the palette), or the next one like ``experiment`` (`P` on it)."""
        from vibes_tui.screens.plan import PlanScreen

        if not isinstance(self.screen, PlanScreen):
            self.push_screen(PlanScreen(experiment))

    @property
    def home(self) -> "ExperimentsScreen | None":
        """The experiments screen, under whatever screens are open on top of it."""
        from vibes_tui.screens.experiments import ExperimentsScreen

        return next((s for s in self.screen_stack if isinstance(s, ExperimentsScreen)), None)

    def refresh_experiments(self) -> None:
        if self.home:
            self.home.load()

    def forget_cached_fits(self, name: str) -> None:
        """After its cache was cleared: the home screen must not show the old fit again."""
        if self.home:
            self.home.forget_cached_fits(name)

    def action_help(self) -> None:
        from vibes_tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    # --- data on the screen, and errors ---------------------------------------------------

    def notify(self, message: str, *, title: str = "", markup: bool = False, **options) -> None:
        """Every toast shows its text as it is: messages quote names, file contents, paths;
        in lines that break a path after a separator, not wherever the line ends."""
        # Textual 8.2's Toast: 60 wide, at most half its rack (the screen less a margin and a
        # scroll bar), its text inside a left border and a padding of 1.
        width = max(min(60, (self.size.width - 2) // 2) - 3, 10)
        super().notify(wrapped(lines(message), width), title=plain(title), markup=False, **options)

    def copy_to_clipboard(self, text: str) -> None:
        """Textual's copy (an Input's ctrl+c too), the way ``copy`` takes, without a toast."""
        self.copy(text)

    def copy(self, text: str, what: str = "") -> None:
        """``text`` to the clipboard as this terminal allows (see vibes_tui/clipboard.py) and,
        given ``what`` it is, a toast that says where it went."""
        from vibes_tui.clipboard import how_to_copy

        self._clipboard = text  # Textual's own, which ctrl+v in an Input pastes
        how = how_to_copy(text, what)
        if how.via == "tmux":  # a command to run, whose answer says what happened
            self.run_worker(partial(self.copy_to_tmux, text, what), thread=True, group="copy")
            return
        if how.sequence and self._driver is not None:  # as Textual's copy writes it
            self._driver.write(how.sequence)
        if what:
            self.notify(how.said, timeout=COPY_TOAST_SECONDS)

    def copy_to_tmux(self, text: str, what: str) -> None:
        """In a worker thread: tmux's buffer, else OSC 52 (which tmux may pass on)."""
        from vibes_tui.clipboard import copy_to_tmux, osc52

        try:
            said = copy_to_tmux(text, what)
        except OSError as error:
            said = (
                f"tmux did not take {what or 'the text'} ({error}); sent it to your terminal as "
                "OSC 52, which tmux passes on only with set -g set-clipboard on"
            )
            if self._driver is not None:
                self.call_from_thread(self._driver.write, osc52(text))
        if what:
            self.call_from_thread(self.notify, said, timeout=COPY_TOAST_SECONDS)

    def format_title(self, title: str, sub_title: str) -> Content:
        return super().format_title(plain(title), plain(sub_title))

    def report_error(self, error: BaseException, where: str) -> None:
        """An error nobody caught where it happened: said in a toast, written to the log."""
        logged = self.log_error(error, where)
        expected = isinstance(error, VibesError)
        message = first_line(error) if expected else f"{type(error).__name__}: {first_line(error)}"
        if logged and not expected:
            message += f" (details in {logged})"
        self.notify(message, title="Something failed", severity="error", timeout=10)

    def log_error(self, error: BaseException, where: str) -> Path | None:
        """To Textual's log and to $VIBES_HOME/logs/dashboard.log (that file, if written)."""
        self.log.error(where, error)
        return log_error(self.home_path(), where, error)

    def home_path(self) -> Path | None:
        if self._lake is not None:
            return self._lake.config.home
        from vibes_core.config import load_config

        try:
            return load_config().home
        except VibesError:
            return None

    def _fatal_error(self) -> None:
        """Textual's last resort (an error in the UI itself; Textual 8.2's private hook) prints
        a traceback with its locals: the log gets those, and `vibes tui` prints ``stopped_by``,
        one line, and exits 1 (see entry.py)."""
        error = sys.exception()
        logged = log_error(self.home_path(), "the dashboard", error)
        where = f"; details in {logged}" if logged else ""
        self.stopped_by = f"vibes: error: the dashboard stopped: {plain(first_line(error))}{where}"
        self._close_messages_no_wait()

    def on_unmount(self) -> None:
        if self._lake is not None:
            self._lake.close()


def log_error(home: Path | None, where: str, error: BaseException | None) -> Path | None:
    """Append the error and its traceback to $VIBES_HOME/logs/dashboard.log (owner-only, like
    the rest of the home); the file, or None if it cannot be written."""
    import traceback

    if home is None or error is None:
        return None
    log = home / "logs" / "dashboard.log"
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    trace = "".join(traceback.format_exception(error))
    try:
        log.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "a") as file:
            file.write(f"{when} {where}: {plain(first_line(error))}\n{lines(trace)}\n")
    except OSError:
        return None
    return log
