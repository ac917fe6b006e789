"""A new experiment: name, title, type and its initial events (a file, or generated demo data).

The selected type's schema shows beside the form, so that a file can be checked by eye first.
"""

from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import (
    Button,
    Footer,
    Label,
    RadioButton,
    RadioSet,
    Select,
    Static,
)
from textual.worker import get_current_worker

from vibes_core.errors import AlreadyExists, InvalidInput, InvalidName, VibesError
from vibes_core.units import counted
from vibes_tui.screens.base import WorkerScreen
from vibes_tui.widgets.choice import Choice
from vibes_tui.widgets.data import DataText
from vibes_tui.widgets.files import FileField
from vibes_tui.widgets.header import Header
from vibes_tui.widgets.inputs import Input

MAX_DEMO_EVENTS = 10_000_000


@dataclass(frozen=True)
class Request:
    name: str
    display_name: str | None
    type_name: str
    path: str | None  # None: generate ``events`` demo events
    events: int


class CreateScreen(WorkerScreen[str]):
    """Dismissed with the new experiment's name once it is in the lake."""

    DEFAULT_CSS = """
    CreateScreen #body {
        height: 1fr;
    }
    CreateScreen #form {
        width: 3fr;
        padding: 0 1;
        scrollbar-size-vertical: 1;
    }
    CreateScreen #form > Vertical {
        height: auto;
    }
    CreateScreen #schema {
        width: 2fr;
        padding: 0 1;
        border-left: vkey $foreground 30%;
    }
    CreateScreen Label {
        text-style: bold;
    }
    CreateScreen .error {
        color: $error;
        height: auto;
    }
    CreateScreen .hidden {
        display: none;
    }
    CreateScreen RadioSet {
        width: 100%;
    }
    CreateScreen #actions {
        height: auto;
        padding: 0 1;
    }
    CreateScreen #create-status {
        padding: 0 2;
        width: 1fr;
        height: 3;
        content-align-vertical: middle;
        color: $error;
    }
    """
    BINDINGS: ClassVar = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+s", "create", "Create"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.creating = False
        self.errors = {"name": "", "path": "", "count": ""}  # field -> what is wrong with it

    def compose(self) -> ComposeResult:
        from vibes_core.types import registry

        names = list(registry())
        yield Header()
        with Horizontal(id="body"):
            with VerticalScroll(id="form"):
                yield Label("Name (becomes the table name)")
                yield Input(placeholder="e.g. ab_test_1", id="name")
                yield DataText("", id="name-error", classes="error hidden")
                yield Label("Display name (optional)")
                yield Input(placeholder="e.g. Test 1: Homepage Button Color", id="display")
                yield Label("Type")
                yield Select([(n, n) for n in names], value=names[0], allow_blank=False, id="type")
                yield Label("Initial data")
                with RadioSet(id="source"):
                    yield Choice("a file", value=True, id="from-file")
                    yield Choice("generate demo events", id="from-demo")
                with Vertical(id="file-fields"):
                    yield FileField("path")
                    yield DataText("", id="path-error", classes="error hidden")
                with Vertical(id="demo-fields", classes="hidden"):
                    yield Label(f"How many demo events (1 to {MAX_DEMO_EVENTS:,})")
                    yield Input("1000", type="integer", placeholder="how many events", id="count")
                    yield DataText("", id="count-error", classes="error hidden")
            with VerticalScroll(id="schema"):
                yield Static("", id="schema-text")
        with Horizontal(id="actions"):  # outside the scrolling form: always in sight
            yield Button("Create (ctrl+s)", id="create", variant="primary")
            yield DataText("", id="create-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "new experiment"
        self.show_schema(self.query_one("#type", Select).value)
        self.query_one("#name", Input).focus()

    # --- the form as you fill it in -------------------------------------------------------

    @on(Input.Changed, "#name")
    def name_changed(self, event: Input.Changed) -> None:
        from vibes_core.catalog import validate_name

        name = event.value
        self.show_error("name", "")
        if not name:
            return
        try:
            validate_name(name)
        except InvalidName as error:
            self.show_error("name", str(error))
            return
        self.check_taken(name)

    @work(thread=True, exclusive=True, group="check-name")
    def check_taken(self, name: str) -> None:
        from vibes_core import catalog

        try:
            lake = self.app.lake()
            try:
                taken = catalog.exists(lake.con, name)
            finally:
                lake.close()
        except VibesError:
            return  # creating will say what is wrong with the lake
        if taken and not get_current_worker().is_cancelled:
            self.from_worker(self.name_taken, name)

    def name_taken(self, name: str) -> None:
        from vibes_core.catalog import taken

        if self.is_attached and self.query_one("#name", Input).value == name:  # not retyped
            self.show_error("name", taken(name))

    @on(Select.Changed, "#type")
    def type_changed(self, event: Select.Changed) -> None:
        self.show_schema(event.value)

    @on(RadioSet.Changed, "#source")
    def source_changed(self, event: RadioSet.Changed) -> None:
        from_file = event.pressed.id == "from-file"
        self.query_one("#file-fields").set_class(not from_file, "hidden")
        self.query_one("#demo-fields").set_class(from_file, "hidden")

    @on(Input.Changed, "#path")
    def path_changed(self) -> None:
        self.show_error("path", "")

    @on(Input.Changed, "#count")
    def count_changed(self) -> None:
        self.show_error("count", "")

    def show_schema(self, type_name) -> None:
        from vibes_core.types import get_type

        schema = get_type(type_name).schema()
        parts = [(schema["type"], "bold"), f"\n{schema['description']}\n\nIts events' columns:\n"]
        for column in schema["columns"]:
            if column["required"]:
                need = "required"
            elif "default" in column:
                need = f"optional, default {column['default']}"
            else:
                need = "optional"
            parts += [
                (f"\n{column['name']}", "bold"),
                (f" ({need})\n", "italic"),
                (f"{column['type']}\n", "italic"),
                f"{column['meaning']}\n",
            ]
        self.query_one("#schema-text", Static).update(Content.assemble(*parts))

    def show_error(self, field: str, message: str) -> None:
        self.errors[field] = message
        shown = self.query_one(f"#{field}-error", DataText)
        shown.update(message)
        shown.set_class(not message, "hidden")

    # --- creating -------------------------------------------------------------------------

    def action_create(self) -> None:
        request = self.read_form()
        if request is None or self.creating:
            return
        self.creating = True
        button = self.query_one("#create", Button)
        button.disabled = button.loading = True
        self.query_one("#create-status", DataText).update("")
        self.create(request)

    @on(Button.Pressed, "#create")
    def create_pressed(self) -> None:
        self.action_create()

    def read_form(self) -> Request | None:
        """The form as a request, or None after showing under each field what is wrong."""
        from vibes_core.catalog import validate_name

        name = self.query_one("#name", Input).value
        from_file = self.query_one("#from-file", RadioButton).value
        path = self.query_one("#path", Input).value.strip()
        count_text = self.query_one("#count", Input).value.strip()
        ok = True
        try:
            validate_name(name)
        except InvalidName as error:
            self.show_error("name", str(error))
            ok = False
        if self.errors["name"]:  # e.g. already taken
            ok = False
        if from_file and not path:
            self.show_error("path", "give the path of a JSON, NDJSON, CSV or Parquet file")
            ok = False
        count = int(count_text) if count_text.lstrip("+-").isdigit() else 0
        if not from_file and not 1 <= count <= MAX_DEMO_EVENTS:
            self.show_error("count", f"a whole number of events from 1 to {MAX_DEMO_EVENTS:,}")
            ok = False
        if not ok:
            self.notify("fix the fields marked in red", severity="error")
            self.reveal_error()
            return None
        display_name = self.query_one("#display", Input).value.strip() or None
        type_name = self.query_one("#type", Select).value
        return Request(name, display_name, type_name, path if from_file else None, count)

    @work(thread=True, exclusive=True, group="create")
    def create(self, request: Request) -> None:
        from vibes_core import catalog

        try:
            lake = self.app.lake()
            try:
                if request.path is None:
                    result = create_with_demo_events(lake, request)
                else:
                    result = catalog.create(
                        lake, request.name, request.type_name, request.path, request.display_name
                    )
            finally:
                lake.close()
        except Exception as error:  # a bug must not lose the form: say it, keep the screen
            self.from_worker(self.failed, request, error)
            return
        self.from_worker(self.created, request.name, result["events"])

    def created(self, name: str, events: int) -> None:
        self.notify(f"created {name}: {counted(events, 'event')}")
        self.app.refresh_experiments()
        if self.is_current:  # not left with escape while it ran (or a dialog is on top)
            self.dismiss(name)

    def failed(self, request: Request, error: Exception) -> None:
        message = str(error) or type(error).__name__
        if not isinstance(error, VibesError):
            self.app.log_error(error, f"creating {request.name}")
        self.notify(message, title="Not created", severity="error")
        if not self.is_attached:  # left with escape while it ran
            return
        self.creating = False
        button = self.query_one("#create", Button)
        button.disabled = button.loading = False
        if isinstance(error, InvalidName | AlreadyExists):
            self.show_error("name", message)
        elif isinstance(error, InvalidInput):  # the file's, or too few demo events for groups
            self.show_error("path" if request.path else "count", message)
        else:
            self.query_one("#create-status", DataText).update(message)
        self.reveal_error()

    def reveal_error(self) -> None:
        """The first field in error gets the focus, and its error is scrolled into sight: below
        the file field, it is below the fold of an 80x24 screen."""
        field = next((field for field, message in self.errors.items() if message), None)
        if field is None:
            return
        self.query_one(f"#{field}", Input).focus()
        shown = self.query_one(f"#{field}-error", DataText)
        self.call_after_refresh(shown.scroll_visible, animate=False)  # once it is laid out


def create_with_demo_events(lake, request: Request) -> dict:
    """Generated events go through a temporary file, so they are created the usual way."""
    import tempfile
    from pathlib import Path

    import numpy as np

    from vibes_core import catalog
    from vibes_core.ingest import write_events
    from vibes_core.types import get_type

    catalog.validate_name(request.name)  # before generating millions of events for nothing
    if catalog.exists(lake.con, request.name):
        raise AlreadyExists(catalog.taken(request.name))
    events = get_type(request.type_name).generate(request.events, np.random.default_rng())
    with tempfile.TemporaryDirectory(prefix="vibes-demo-") as folder:
        path = Path(folder) / "events.parquet"
        write_events(events, "parquet", path)
        return catalog.create(lake, request.name, request.type_name, path, request.display_name)
