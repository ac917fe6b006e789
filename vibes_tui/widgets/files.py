"""Picking an event file: a path field that completes as you type, and a Browse... dialog."""

import asyncio
import os
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Button, DirectoryTree, Input, Label

from vibes_tui.widgets.data import plain

PLACEHOLDER = "path to a JSON, NDJSON, CSV or Parquet file"


class PathSuggester(Suggester):
    """Completes a path with the first entry (by name) of its folder that starts with what was
    typed; a folder gets a trailing "/" so that completing can go on inside it."""

    def __init__(self) -> None:
        # No cache: files come and go. Case-sensitive: so do file systems.
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return await asyncio.to_thread(complete_path, value)  # a slow disk must not block keys


def complete_path(value: str) -> str | None:
    folder, slash, prefix = value.rpartition("/")
    directory = Path(folder or slash or ".").expanduser()  # "/x" is in "/", "x" in "."
    try:
        names = sorted(entry.name for entry in os.scandir(directory))
    except OSError:
        return None
    for name in names:
        if name.startswith(prefix) and (prefix or not name.startswith(".")):
            completed = value + name[len(prefix) :]
            return completed + "/" if (directory / name).is_dir() else completed
    return None


class VisibleFiles(DirectoryTree):
    """A directory tree without hidden files and folders (.git, .venv, ...), each name shown
    as it is (a file name can hold control characters)."""

    def process_label(self, label) -> Text:
        return super().process_label(plain(label) if isinstance(label, str) else label)

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [path for path in paths if not path.name.startswith(".")]


class FilePicker(ModalScreen[Path | None]):
    """A file chosen in a directory tree, or None when cancelled."""

    DEFAULT_CSS = """
    FilePicker {
        align: center middle;
    }
    FilePicker > Vertical {
        width: 90%;
        max-width: 100;
        height: 80%;
        border: round $primary;
        background: $surface;
    }
    FilePicker DirectoryTree {
        height: 1fr;
    }
    FilePicker Label {
        padding: 0 1;
        color: $text-muted;
    }
    """
    BINDINGS: ClassVar = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, start: Path) -> None:
        super().__init__()
        self.start = start

    def compose(self) -> ComposeResult:
        with Vertical():
            where = plain(self.start)
            yield Label(
                f"{where}: enter opens a folder or picks a file; escape cancels", markup=False
            )
            yield VisibleFiles(self.start)

    def on_mount(self) -> None:
        self.query_one(VisibleFiles).focus()

    @on(DirectoryTree.FileSelected)
    def picked(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss(event.path)


class FileField(Horizontal):
    """A path input with completion and a Browse... button beside it."""

    DEFAULT_CSS = """
    FileField {
        height: auto;
    }
    FileField Input {
        width: 1fr;
    }
    FileField Button {
        min-width: 12;
    }
    """

    class Picked(Message):
        """A file was chosen with Browse...; the input already holds its path."""

        def __init__(self, path: Path) -> None:
            super().__init__()
            self.path = path

    def __init__(self, input_id: str = "path") -> None:
        super().__init__()
        self.input_id = input_id

    def compose(self) -> ComposeResult:
        yield Input(placeholder=PLACEHOLDER, suggester=PathSuggester(), id=self.input_id)
        yield Button("Browse…", id=f"{self.input_id}-browse")

    @property
    def input(self) -> Input:
        return self.query_one(f"#{self.input_id}", Input)

    @on(Button.Pressed)
    def browse(self, event: Button.Pressed) -> None:
        event.stop()
        typed = Path(self.input.value.strip() or ".").expanduser()
        start = typed if typed.is_dir() else typed.parent if typed.parent.is_dir() else Path(".")

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.input.value = str(path)
                self.input.focus()
                self.post_message(self.Picked(path))

        self.app.push_screen(FilePicker(start.resolve()), chosen)
