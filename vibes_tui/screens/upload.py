"""A batch of events for one experiment: previewed and validated first, then uploaded."""

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Input, ProgressBar
from textual.worker import get_current_worker

from vibes_core.errors import VibesError
from vibes_core.units import counted
from vibes_tui.screens.base import WorkerScreen
from vibes_tui.widgets.data import DataTable, DataText, plain
from vibes_tui.widgets.files import FileField
from vibes_tui.widgets.header import Header
from vibes_tui.widgets.table import fill

PREVIEW_ROWS = 10


class UploadScreen(WorkerScreen[dict]):
    """Dismissed with ``catalog.upload``'s result (experiment, events_added, events, snapshot)."""

    DEFAULT_CSS = """
    UploadScreen #form {
        padding: 0 1;
        scrollbar-size-vertical: 1;
    }
    UploadScreen #intro {
        margin: 1 0;
    }
    UploadScreen #path-error {
        color: $error;
    }
    UploadScreen #actions {
        height: auto;
    }
    UploadScreen #actions Button {
        margin-right: 2;
    }
    UploadScreen #summary {
        margin-top: 1;
    }
    UploadScreen #head {
        height: auto;
        max-height: 14;
    }
    UploadScreen .hidden {
        display: none;
    }
    """
    BINDINGS: ClassVar = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+s", "upload", "Upload"),
    ]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.experiment = name
        self.previewed: dict | None = None  # the last valid preview of the path in the field
        self.uploading = False

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="form"):
            yield DataText(
                f"Events to add to {self.experiment}: JSON array, NDJSON, CSV or Parquet. "
                "Enter (or Preview) checks the file; nothing is written until Upload.",
                id="intro",
            )
            yield FileField("path")
            yield DataText("", id="path-error", classes="hidden")
            with Horizontal(id="actions"):
                yield Button("Preview", id="preview")
                yield Button("Upload (ctrl+s)", id="upload", variant="primary", disabled=True)
            yield DataText("", id="summary")
            yield ProgressBar(total=None, show_eta=False, id="progress", classes="hidden")
            yield DataTable(id="head", cursor_type="none", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"upload to {self.experiment}"
        self.query_one("#path", Input).focus()

    # --- preview ---------------------------------------------------------------------------

    @on(Input.Changed, "#path")
    def path_changed(self, event: Input.Changed) -> None:
        """Another path: the last preview no longer says anything about it."""
        if self.previewed and event.value.strip() == self.previewed["path"]:
            return  # a picked file's preview may come back before the change is seen
        self.previewed = None
        self.query_one("#upload", Button).disabled = True
        self.show_problem("")
        self.query_one("#summary", DataText).update("")
        self.query_one("#head", DataTable).clear(columns=True)

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#preview")
    @on(FileField.Picked)
    def action_preview(self) -> None:
        path = self.query_one("#path", Input).value.strip()
        if not path:
            self.show_problem("give the path of a JSON, NDJSON, CSV or Parquet file")
            return
        if self.uploading:
            return
        self.query_one("#summary", DataText).update(f"checking {path}…")
        self.preview(path)

    @work(thread=True, exclusive=True, group="preview")
    def preview(self, path: str) -> None:
        from vibes_core import catalog, ingest
        from vibes_core.types import get_type

        try:
            lake = self.app.lake()
            try:
                experiment = catalog.get(lake, self.experiment)
                experiment_type = get_type(experiment.type)
                preview = ingest.preview(lake.con, path, experiment_type, rows=PREVIEW_ROWS)
                known = set(experiment.groups or ())
                preview["new_groups"] = [g for g in preview["groups"] if known and g not in known]
                preview["group_column"] = experiment_type.group_column
            finally:
                lake.close()
        except VibesError as error:
            if not get_current_worker().is_cancelled:
                self.from_worker(self.preview_failed, path, str(error))
            return
        if not get_current_worker().is_cancelled:
            self.from_worker(self.show_preview, path, preview)

    def show_preview(self, path: str, preview: dict) -> None:
        if not self.is_attached or self.query_one("#path", Input).value.strip() != path:
            return  # left, or the field changed while the file was read
        self.previewed = {**preview, "path": path}
        said = (
            f"valid: {counted(preview['rows'], 'event')}, ready to upload"
            f" (the first {min(preview['rows'], PREVIEW_ROWS)} below)"
        )
        if preview["new_groups"]:  # a typo in a variant's name makes a group of its own
            names = ", ".join(preview["new_groups"][:5])
            more = len(preview["new_groups"]) - 5
            said += (
                f"\nwarning: {preview['group_column']}s {self.experiment} has never seen: "
                f"{names}{f' and {more} more' if more > 0 else ''}; a typo makes a group of its own"
            )
        self.query_one("#summary", DataText).update(said)
        fill(
            self.query_one("#head", DataTable),
            [["" if v is None else str(v) for v in row] for row in preview["head"]],
            headers=preview["columns"],
        )
        self.query_one("#upload", Button).disabled = False

    def preview_failed(self, path: str, message: str) -> None:
        if not self.is_attached or self.query_one("#path", Input).value.strip() != path:
            return
        self.query_one("#summary", DataText).update("")
        self.show_problem(message)

    def show_problem(self, message: str) -> None:
        shown = self.query_one("#path-error", DataText)
        shown.update(Text(plain(message), style="bold red") if message else "")
        shown.set_class(not message, "hidden")

    # --- upload ----------------------------------------------------------------------------

    @on(Button.Pressed, "#upload")
    def action_upload(self) -> None:
        if self.previewed is None or self.uploading:
            return  # only a file that was shown valid is uploaded
        self.uploading = True
        self.query_one("#upload", Button).disabled = True
        self.query_one("#preview", Button).disabled = True
        self.query_one("#progress").remove_class("hidden")
        self.query_one("#summary", DataText).update(f"uploading {self.previewed['rows']:,} events…")
        self.upload(self.previewed["path"])

    @work(thread=True, exclusive=True, group="upload")
    def upload(self, path: str) -> None:
        from vibes_core import catalog

        try:
            lake = self.app.lake()
            try:
                result = catalog.upload(lake, self.experiment, path)
            finally:
                lake.close()
        except Exception as error:  # a bug must not lose the screen: say it; the lake is as it was
            if not isinstance(error, VibesError):
                self.app.call_from_thread(self.app.log_error, error, f"uploading {path}")
            self.from_worker(self.upload_failed, str(error) or type(error).__name__)
            return
        self.from_worker(self.uploaded, result)

    def uploaded(self, result: dict) -> None:
        added = result["events_added"]
        self.notify(
            f"uploaded {counted(added, 'event')} to {self.experiment}", title="Upload finished"
        )
        self.app.refresh_experiments()
        if self.is_current:  # not left with escape while it ran
            self.dismiss(result)

    def upload_failed(self, message: str) -> None:
        self.notify(message, title="Not uploaded", severity="error")
        if not self.is_attached:  # left with escape while it ran
            return
        self.uploading = False
        self.previewed = None  # the file changed since its preview, or the lake refused it
        self.query_one("#preview", Button).disabled = False
        self.query_one("#progress").add_class("hidden")
        self.query_one("#summary", DataText).update("")
        self.show_problem(message)
