"""Deleting is the one thing to confirm: the modal names the experiment and its events."""

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


class ConfirmDelete(ModalScreen[bool]):
    BINDINGS: ClassVar = [
        Binding("escape,n", "dismiss(False)", "Keep it"),
        Binding("y", "dismiss(True)", "Delete"),
    ]

    def __init__(self, name: str, events: int) -> None:
        super().__init__()
        self.experiment, self.events = name, events

    def compose(self) -> ComposeResult:
        with Grid(id="dialog"):
            question = Content.assemble(
                "Delete ",
                (plain(self.experiment), "bold"),
                f" and its {counted(self.events, 'event')}?\n"
                "Earlier lake snapshots keep the data until they are expired.",
            )
            yield Label(question, id="question")
            with Horizontal(id="buttons"):
                yield Button("Keep it (n)", id="keep", variant="primary")
                yield Button("Delete (y)", id="delete", variant="error")
        yield Footer()  # its own keys, not the list's behind it

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()

    @on(Button.Pressed)
    def answered(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "delete")
