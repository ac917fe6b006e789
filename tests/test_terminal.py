"""The dashboard in real terminals: keys that arrive in one read, the clipboard inside tmux,
the Linux console's glyphs, long paths in toasts."""

import pytest
from textual._xterm_parser import XTermParser
from textual.widgets import Input as TextualInput

from tests.test_tui import settle, until
from vibes_core.analysis import Analysis
from vibes_tui.app import VibesApp
from vibes_tui.screens.create import CreateScreen
from vibes_tui.screens.experiments import ExperimentsScreen
from vibes_tui.screens.export import ExportScreen
from vibes_tui.screens.options import OptionsScreen
from vibes_tui.screens.upload import UploadScreen

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SIZE = (80, 24)

# --- keys that arrive in one read ---------------------------------------------------------

# What a terminal sends for: ctrl+e (end of line), ctrl+u (clear to its start), "12",
# backspace, "3", ← and "4". Typed one by one the field ends as "143".
BURST = "\x05\x15" + "12" + "\x7f" + "3" + "\x1b[D" + "4"


def form(kind: str, name: str):
    """Each screen with text fields, for the experiment ``name``."""
    if kind == "create":
        return CreateScreen()
    if kind == "upload":
        return UploadScreen(name)
    if kind == "options":
        return OptionsScreen(name, "ab-test", ["A", "B"], Analysis())
    from vibes_core import catalog, inference

    with catalog.open_lake() as lake:
        return ExportScreen(name, inference.posterior(lake, name, exact=True, plots=True))


async def type_at_once(app, pilot, keys: str) -> None:
    """``keys`` as the terminal driver hands them over after one read: every event queued
    at the App before any is handled, through Textual's own parser."""
    for event in XTermParser().feed(keys):
        event.set_sender(app)
        app.post_message(event)
    for _ in range(3):  # the keys, then what they bubble up
        await pilot.pause()


@pytest.mark.parametrize("kind", ["home", "create", "upload", "options", "export"])
async def test_editing_keys_sent_in_one_burst_with_text_apply_in_order(home, ab_test, kind):
    """ctrl+u then text in one read cleared the text too (`tmux send-keys C-u abc`; a fast
    typist): Textual ran the Input's bound keys after those typed behind them."""
    app = VibesApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        if kind != "home":
            app.push_screen(form(kind, ab_test))
            await until(pilot, lambda: not isinstance(app.screen, ExperimentsScreen), 30)
            await settle(app, pilot)
        fields = list(app.screen.query(TextualInput))
        assert fields
        for field in fields:
            for node in field.ancestors_with_self:  # fields another choice would show
                node.remove_class("hidden")
            await pilot.pause()
            field.focus()
            await pilot.pause()
            assert app.focused is field
            await type_at_once(app, pilot, BURST)
            assert field.value == "143", f"#{field.id}"
