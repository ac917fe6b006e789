"""Picking an event file: a path field that completes as you type, and a Browse... dialog."""

import asyncio
import os
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Button, DirectoryTree, Label

from vibes_tui.terminal import plain_terminal
from vibes_tui.widgets.data import plain
from vibes_tui.widgets.inputs import Input

PLACEHOLDER = "path to a JSON, NDJSON, CSV or Parquet file"
# What ingest reads; each may also be gzip-compressed (name.csv.gz).
DATA_SUFFIXES = (".json", ".ndjson", ".jsonl", ".csv", ".parquet")


def is_data_file(name: str) -> bool:
    return name.lower().removesuffix(".gz").endswith(DATA_SUFFIXES)


def is_folder(path: Path | os.DirEntry) -> bool:
    try:
        return path.is_dir()
    except OSError:  # no permission to look: not a folder one can open
        return False


class PathSuggester(Suggester):
    """Completes a path with the first entry (by name) of its folder that starts with what was
    typed; a folder gets a trailing "/" so that completing can go on inside it."""

    def __init__(self) -> None:
        # No cache: files come and go. Case-sensitive: so do file systems.
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return await asyncio.to_thread(complete_path, value)  # a slow disk must not block keys


def path_completions(value: str) -> list[str]:
    """Every completion of ``value``, by name: its folder's data files and folders (with a
    trailing "/") that start with the last part typed; hidden ones only if a "." is typed."""
    folder, slash, prefix = value.rpartition("/")
    directory = Path(folder or slash or ".").expanduser()  # "/x" is in "/", "x" in "."
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError:
        return []
    completions = []
    for entry in entries:
        if entry.name.startswith(prefix) and (prefix or not entry.name.startswith(".")):
            completed = value + entry.name[len(prefix) :]
            if is_folder(entry):
                completions.append(completed + "/")
            elif is_data_file(entry.name):
                completions.append(completed)
    return completions


def complete_path(value: str) -> str | None:
    return next(iter(path_completions(value)), None)


class PathInput(Input):
    """A path input whose → accepts the completion shown and, pressed again, swaps it for the
    next match, round and round (like tab in a shell)."""

    def __init__(self, **kwargs) -> None:
        self.matches: list[str] = []  # what → cycles through; empty unless there are 2 or more
        super().__init__(suggester=PathSuggester(), **kwargs)

    def action_cursor_right(self, select: bool = False) -> None:
        if not select and self.cursor_at_end and self.value in self.matches:
            following = self.matches.index(self.value) + 1
            self.value = self.matches[following % len(self.matches)]
            self.cursor_position = len(self.value)
            return
        typed, accepting = self.value, not select and self.cursor_at_end and bool(self._suggestion)
        super().action_cursor_right(select)
        if accepting:
            self.list_matches(typed, self.value)

    @work(group="path-matches", exclusive=True)
    async def list_matches(self, typed: str, accepted: str) -> None:
        matches = await asyncio.to_thread(path_completions, typed)  # off the loop, as above
        if self.value == accepted and len(matches) > 1:
            self.matches = matches
            self._suggestion = ""  # → now means "next match": hide a ghost that says otherwise

    def validate__suggestion(self, suggestion: str) -> str:
        # Ghosts that arrive while cycling (for "data/": "data/inner.csv") are hidden too.
        return "" if self.value in self.matches else suggestion

    def watch_value(self, value: str) -> None:
        if value not in self.matches:  # typed, not cycled: a new completion starts afresh
            self.matches = []


class VisibleFiles(DirectoryTree):
    """A directory tree of folders and data files, without hidden ones (.git, .venv, ...),
    each name shown as it is (a file name can hold control characters); `j`/`k` move as the
    arrows do, as in the rest of the dashboard."""

    BINDINGS: ClassVar = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    def __init__(self, path: str | Path, **kwargs) -> None:
        super().__init__(path, **kwargs)
        if plain_terminal():  # the Linux console's font has no emoji; its guide lines are fine
            self.ICON_NODE, self.ICON_NODE_EXPANDED, self.ICON_FILE = "+ ", "- ", "  "

    def process_label(self, label) -> Text:
        return super().process_label(plain(label) if isinstance(label, str) else label)

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [
            path
            for path in paths
            if not path.name.startswith(".") and (is_data_file(path.name) or is_folder(path))
        ]


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
    BINDINGS: ClassVar = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("backspace,minus", "parent", "Parent folder"),
    ]
    HELP = "enter: open or pick  backspace: parent folder  escape: cancel"

    def __init__(self, start: Path) -> None:
        super().__init__()
        self.start = start

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(plain(self.start), id="folder", markup=False)
            yield Label(self.HELP, markup=False)
            yield VisibleFiles(self.start)

    def on_mount(self) -> None:
        self.query_one(VisibleFiles).focus()

    def action_parent(self) -> None:
        tree = self.query_one(VisibleFiles)
        tree.path = Path(tree.path).parent  # "/" is its own parent: going up from it stays
        self.query_one("#folder", Label).update(plain(tree.path))

    @on(DirectoryTree.FileSelected)
    def picked(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss(event.path)


def browse_start(typed: str) -> Path:
    """Where Browse... opens: the typed folder, or the typed file's folder, else here."""
    path = Path(typed.strip() or ".").expanduser()
    start = path if is_folder(path) else path.parent if is_folder(path.parent) else Path(".")
    return start.resolve()


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
        yield PathInput(placeholder=PLACEHOLDER, id=self.input_id)
        yield Button("Browse…", id=f"{self.input_id}-browse")

    @property
    def input(self) -> Input:
        return self.query_one(f"#{self.input_id}", Input)

    @on(Button.Pressed)
    def browse(self, event: Button.Pressed) -> None:
        event.stop()

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.input.value = str(path)
                self.input.focus()
                self.post_message(self.Picked(path))

        self.app.push_screen(FilePicker(browse_start(self.input.value)), chosen)
