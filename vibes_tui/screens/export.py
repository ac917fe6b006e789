"""The summary on the inspect screen, to a file: Markdown (for a pull request or a chat), CSV
or JSON, each exactly what `vibes posterior --format ...` prints for it."""

import os
import secrets
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, RadioButton, RadioSet

from vibes_core.schema import Summary
from vibes_core.text import CONTROL
from vibes_core.units import counted
from vibes_tui.report import formatted, model_name
from vibes_tui.widgets.choice import Choice
from vibes_tui.widgets.data import DataText, plain
from vibes_tui.widgets.inputs import Input

# --format's value -> what the dialog calls it, and its file suffix. Markdown first: the default.
FORMATS = {"markdown": ("Markdown", ".md"), "csv": ("CSV", ".csv"), "json": ("JSON", ".json")}
SUFFIXES = {suffix: shown for shown, (_, suffix) in FORMATS.items()} | {".markdown": "markdown"}


class ExportScreen(ModalScreen[Path | None]):
    """Dismissed with the path written, or None when cancelled."""

    DEFAULT_CSS = """
    ExportScreen {
        align: center middle;
    }
    ExportScreen #export-dialog {
        width: 70;
        max-width: 100%;
        height: auto;
        padding: 0 1;
        border: thick $primary;
        background: $surface;
    }
    ExportScreen #export-what {
        margin-bottom: 1;
    }
    ExportScreen RadioSet {
        layout: horizontal;
        width: 100%;
    }
    ExportScreen #export-error {
        color: $error;
        height: 1;
    }
    """
    BINDINGS: ClassVar = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("ctrl+s", "write", "Write"),
    ]

    def __init__(self, name: str, summary: Summary) -> None:
        super().__init__()
        self.experiment, self.summary = name, summary
        self.shown = "markdown"
        self.replacing: tuple[Path, str] | None = None  # the file enter replaces if pressed again

    def compose(self) -> ComposeResult:
        method = "exact" if self.summary["method"] == "exact" else "MCMC"
        with Vertical(id="export-dialog"):
            yield DataText(
                f"The posterior of {self.experiment} ({method}, {model_name(self.summary)}) "
                "to a file. enter or ctrl+s writes it.",
                id="export-what",
            )
            yield Label("File (in the current folder unless you give one)")
            yield Input(self.default_name(self.shown), id="export-path")
            with RadioSet(id="export-format"):
                for shown, (title, _) in FORMATS.items():
                    yield Choice(title, value=shown == self.shown, id=f"format-{shown}")
            yield DataText("", id="export-error")
        yield Footer()  # its own keys, not the inspect screen's behind it

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    def default_name(self, shown: str) -> str:
        """<experiment>-posterior.md, and which model when it is not the plain one."""
        from vibes_core.models import of_summary

        model = of_summary(self.summary).title().replace(" ", "-")
        return f"{self.experiment}-posterior{'-' if model else ''}{model}{FORMATS[shown][1]}"

    # --- the name and the format follow each other ----------------------------------------

    @on(Input.Changed, "#export-path")
    def name_changed(self, event: Input.Changed) -> None:
        self.show_error("")
        shown = SUFFIXES.get(Path(event.value.strip()).suffix.lower())
        if shown and shown != self.shown:  # report.csv means CSV
            self.query_one(f"#format-{shown}", RadioButton).value = True

    @on(RadioSet.Changed, "#export-format")
    def format_changed(self, event: RadioSet.Changed) -> None:
        before, self.shown = self.shown, event.pressed.id.removeprefix("format-")
        self.show_error("")
        field = self.query_one("#export-path", Input)
        if field.value == self.default_name(before):  # a name the user typed stays theirs
            field.value = self.default_name(self.shown)

    def show_error(self, message: str) -> None:
        self.replacing = None  # anything changed: replacing a file is asked again
        self.query_one("#export-error", DataText).update(plain(message))

    # --- writing --------------------------------------------------------------------------

    @on(Input.Submitted, "#export-path")
    def action_write(self) -> None:
        typed = self.query_one("#export-path", Input).value.strip()
        try:
            text = formatted(printed(self.summary), self.shown)
        except ValueError:  # a NaN or infinity slipped through: strict JSON has no spelling
            self.show_error("the summary holds a NaN or infinity, which JSON cannot: not written")
            return
        try:
            path = self.target(typed)
            if path.exists() and self.replacing != (path, self.shown):
                self.show_error(f"{path} exists: enter again to replace it")
                self.replacing = (path, self.shown)
                return
            write_atomically(path, text)
        except ValueError as error:  # a name that cannot be a file's
            self.show_error(str(error))
            return
        except OSError as error:  # permission denied, a name too long, a full disk, ...
            self.show_error(f"cannot write {typed}: {error.strerror or error}")
            return
        title = FORMATS[self.shown][0]
        groups = counted(len(self.summary["groups"]), "group")
        self.app.notify(f"wrote {path.absolute()} ({title}, {groups})")
        self.dismiss(path)

    @staticmethod
    def target(typed: str) -> Path:
        """The file a typed name means (``~`` expanded, relative to the current folder), or
        ValueError saying why it cannot be one. One file: no glob, no variables."""
        if not typed:
            raise ValueError("give a file name")
        if found := CONTROL.search(typed):
            escape = plain(found.group())
            raise ValueError(f"the name has a control character ({escape}): type it without")
        path = Path(os.path.expanduser(typed))
        if typed.endswith(("/", os.sep)) or path.is_dir():
            raise ValueError(f"{path} is a folder: give the name of a file in it")
        if not path.parent.is_dir():
            raise ValueError(f"no folder {path.parent}: make it first, or write elsewhere")
        return path


def printed(summary: Summary) -> Summary:
    """``summary`` as `vibes posterior` prints it: without the screen's plot specs."""
    found = summary.copy()
    found.pop("plots", None)
    found.pop("traces", None)
    return found


def write_atomically(path: Path, text: str) -> None:
    """A temporary file beside ``path``, then a rename: whoever reads it sees the old file or
    the new, never half of one, and a failure leaves nothing behind. Made with mode 0o666 so
    the umask decides, as for any file the user makes (mkstemp's would be private, 0o600)."""
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    handle = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
