"""What cannot be undone cheaply is confirmed first: deleting an experiment (the modal names it
and its events), and clearing its cached fits (each took tens of seconds to sample)."""

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label

from vibes_core.units import counted
from vibes_tui.widgets.data import plain


class Confirm(ModalScreen[bool]):
    """A question, "no" focused (escape and n too), "yes" with y. Subclasses say the words."""

    DEFAULT_CSS = """
    Confirm {
        align: center middle;
    }
    """
    KEEP, DO = "Keep it", "Delete"  # the buttons' words

    BINDINGS: ClassVar = [
        Binding("escape,n", "dismiss(False)", KEEP),
        Binding("y", "dismiss(True)", DO),
    ]

    def question(self) -> Content:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        with Grid(id="dialog"):
            yield Label(self.question(), id="question")
            with Horizontal(id="buttons"):
                yield Button(f"{self.KEEP} (n)", id="keep", variant="primary")
                yield Button(f"{self.DO} (y)", id="delete", variant="error")
        yield Footer()  # its own keys, not those of the screen behind it

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()

    @on(Button.Pressed)
    def answered(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "delete")


class ConfirmDelete(Confirm):
    def __init__(self, name: str, events: int) -> None:
        super().__init__()
        self.experiment, self.events = name, events

    def question(self) -> Content:
        return Content.assemble(
            "Delete ",
            (plain(self.experiment), "bold"),
            f" and its {counted(self.events, 'event')}?\n"
            "Earlier lake snapshots keep the data until they are expired.",
        )


class ConfirmClear(Confirm):
    KEEP, DO = "Keep them", "Clear"
    BINDINGS: ClassVar = [
        Binding("escape,n", "dismiss(False)", KEEP),
        Binding("y", "dismiss(True)", DO),
    ]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.experiment = name

    def question(self) -> Content:
        return Content.assemble(
            "Clear the cached fits of ",
            (plain(self.experiment), "bold"),
            "?\nEach is sampled again when next asked for, which takes as long as it did.",
        )
