"""Deleting is the one thing to confirm: the modal names the experiment and its events."""

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal
from textual.screen import ModalScreen
from textual.widgets import Button, Label


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
            yield Label(
                f"Delete [b]{self.experiment}[/b] and its {self.events:,} events?\n"
                "Earlier lake snapshots keep the data until they are expired.",
                id="question",
            )
            with Horizontal(id="buttons"):
                yield Button("Keep it (n)", id="keep", variant="primary")
                yield Button("Delete (y)", id="delete", variant="error")

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()

    @on(Button.Pressed)
    def answered(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "delete")
