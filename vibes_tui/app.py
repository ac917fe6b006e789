"""The dashboard. For now one screen: every experiment in the lake, loaded in a worker."""

from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Header, Static

from vibes_core.errors import VibesError

COLUMNS = ("name", "display name", "type", "events", "created")


class VibesApp(App):
    TITLE = "vibes"
    SUB_TITLE = "experiments"
    BINDINGS: ClassVar = [("q", "quit", "Quit"), ("r", "refresh", "Refresh")]
    CSS = "#status { padding: 0 1; color: $text-muted; }"

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="experiments", cursor_type="row", zebra_stripes=True)
        yield Static("loading experiments...", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)
        self.action_refresh()

    def action_refresh(self) -> None:
        self.load_experiments()

    @work(thread=True, exclusive=True)
    def load_experiments(self) -> None:
        from vibes_core import catalog

        try:
            with catalog.open_lake() as lake:
                experiments = catalog.list_experiments(lake)
                counts = catalog.event_counts(lake)
        except VibesError as error:
            self.call_from_thread(self.show_status, f"error: {error}")
            self.call_from_thread(self.notify, str(error), severity="error")
            return
        rows = [
            (
                e.name,
                e.display_name,
                e.type,
                f"{counts[e.name]:,}",
                e.created_at[:16].replace("T", " "),
            )
            for e in experiments
        ]
        self.call_from_thread(self.show_rows, rows)

    def show_rows(self, rows: list[tuple]) -> None:
        table = self.query_one(DataTable)
        table.clear()
        table.add_rows(rows)
        self.show_status(
            f"{len(rows)} experiment(s)" if rows else "no experiments yet: vibes experiments create"
        )

    def show_status(self, text: str) -> None:
        self.query_one("#status", Static).update(text)
