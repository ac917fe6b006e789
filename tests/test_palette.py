"""The command palette (ctrl+p): every main action once, each doing what its key does."""

import pytest
from textual.command import CommandList, CommandPalette

from tests.test_tui import settle, table_rows, three, until  # noqa: F401  (three: a fixture)
from vibes_tui.app import VibesApp
from vibes_tui.screens.confirm import ConfirmClear, ConfirmDelete
from vibes_tui.screens.create import CreateScreen
from vibes_tui.screens.experiments import ExperimentsScreen
from vibes_tui.screens.export import ExportScreen
from vibes_tui.screens.help import HelpScreen
from vibes_tui.screens.inspect import InspectScreen
from vibes_tui.screens.options import OptionsScreen
from vibes_tui.screens.upload import UploadScreen

# ab, cohorts and coin (test_tui's fixture), on a temporary VIBES_HOME and config directory.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.usefixtures("home", "three"),
]


@pytest.fixture
def quiet(monkeypatch) -> list:
    """No PyMC and no MCMC: the warm-up, the prefetch of cached fits and the inspect screen's
    fit do nothing; the fits asked for (use_cache) and cache clearings are recorded."""
    calls = []
    monkeypatch.setattr(VibesApp, "start_warm_up", lambda app: None)
    monkeypatch.setattr(ExperimentsScreen, "prefetch", lambda screen, key: None)
    monkeypatch.setattr(
        InspectScreen, "fit", lambda screen, use_cache=True: calls.append(use_cache)
    )
    monkeypatch.setattr(InspectScreen, "clear_cache", lambda screen: calls.append("clear"))
    return calls


async def listed(app, pilot) -> list[str]:
    """Every entry of the palette, opened with nothing typed; the palette stays open."""
    await pilot.press("ctrl+p")
    await until(pilot, lambda: isinstance(app.screen, CommandPalette), 5)
    options = app.screen.query_one(CommandList)
    # Both providers have answered (ours, and Textual's system commands).
    await until(pilot, lambda: {"help: keys and screens", "Quit"} <= set(texts(options)), 5)
    await pilot.pause(0.2)
    return texts(options)


def texts(options: CommandList) -> list[str]:
    """The entries' plain text ("no matches" is an option without a hit)."""
    found = (options.get_option_at_index(i) for i in range(options.option_count))
    return [option.hit.text for option in found if hasattr(option, "hit")]


async def run(app, pilot, text: str) -> None:
    """Pick the palette's entry ``text`` and run it."""
    await pilot.press("ctrl+p", *text)
    await until(pilot, lambda: isinstance(app.screen, CommandPalette), 5)
    options = app.screen.query_one(CommandList)

    def index() -> int | None:
        for i in range(options.option_count):
            hit = getattr(options.get_option_at_index(i), "hit", None)
            if hit is not None and hit.text == text:
                return i
        return None

    await until(pilot, lambda: index() is not None, 5)
    options.highlighted = index()
    await pilot.press("enter")
    await until(pilot, lambda: not isinstance(app.screen, CommandPalette), 5)
    await pilot.pause()


async def open_ab(app, pilot) -> InspectScreen:
    await pilot.press("enter")  # the first row: ab
    await until(pilot, lambda: isinstance(app.screen, InspectScreen), 10)
    return app.screen


HOME_ACTIONS = [
    "new experiment",
    "upload events to ab",
    "delete ab",
    *(
        f"sort by {label}"
        for label in ("name", "type", "events", "result", "last upload", "display name")
    ),
    "refresh the experiments",
]
INSPECT_ACTIONS = [
    "upload events to ab",
    "refit ab",
    "clear cached fits of ab",
    "export ab",
    "options of ab",
    "plan the next experiment like ab",
]
EVERYWHERE = [
    "open ab",
    "open cohorts",
    "open coin",
    "Plan an experiment",
    "help: keys and screens",
    "change theme",
]
TEXTUAL = ["Quit", "Screenshot"]
NOT_OURS = {"Keys", "Maximize", "Minimize", "Theme"}  # Textual's, beside ours: left out


async def test_every_action_is_listed_once_where_it_works(quiet):
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        texts = await listed(app, pilot)
        assert len(texts) == len(set(texts))
        assert set(HOME_ACTIONS + EVERYWHERE + TEXTUAL) <= set(texts)
        assert [text for text in texts if "theme" in text.lower()] == ["change theme"]
        assert not NOT_OURS & set(texts)
        assert not {"refit ab", "export ab"} & set(texts)  # no experiment is open
        await pilot.press("escape")

        await open_ab(app, pilot)
        texts = await listed(app, pilot)
        assert len(texts) == len(set(texts))
        assert set(INSPECT_ACTIONS + EVERYWHERE + TEXTUAL) <= set(texts)
        assert [text for text in texts if "theme" in text.lower()] == ["change theme"]
        assert not NOT_OURS & set(texts)
        assert not {"new experiment", "delete ab", "sort by name"} & set(texts)  # home's keys
        await pilot.press("escape")


async def test_the_home_screens_actions_do_what_their_keys_do(quiet):
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await run(app, pilot, "new experiment")
        assert isinstance(app.screen, CreateScreen)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ExperimentsScreen), 5)

        await run(app, pilot, "upload events to ab")
        assert isinstance(app.screen, UploadScreen) and app.screen.experiment == "ab"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ExperimentsScreen), 5)

        await run(app, pilot, "delete ab")  # the same question as `d`
        assert isinstance(app.screen, ConfirmDelete) and app.screen.experiment == "ab"
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ExperimentsScreen), 5)
        await settle(app, pilot)
        assert "ab" in app.screen.rows  # kept

        names = ["ab", "cohorts", "coin"]
        assert [row[0] for row in table_rows(app)] == names
        await run(app, pilot, "sort by type")  # ab-test, bernoulli, poisson-cohorts
        assert [row[0] for row in table_rows(app)] == ["ab", "coin", "cohorts"]
        await run(app, pilot, "sort by name")
        assert [row[0] for row in table_rows(app)] == names
        await run(app, pilot, "sort by name")  # the column sorted by: reversed
        assert [row[0] for row in table_rows(app)] == names[::-1]
        await run(app, pilot, "sort by result")
        await pilot.press("s")  # the key goes on from the column the palette chose
        assert app.screen.sort_column == "display"
        assert [row[0] for row in table_rows(app)] == names


async def test_an_experiments_actions_run_on_the_open_experiment(quiet):
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        screen = await open_ab(app, pilot)
        await until(pilot, lambda: screen.summary is not None, 30)  # the exact posterior
        assert quiet == [True]  # opening it looks in the cache
        await run(app, pilot, "refit ab")
        assert quiet == [True, False]  # `f`: a fit that skips the cache
        await run(app, pilot, "clear cached fits of ab")
        await until(pilot, lambda: isinstance(app.screen, ConfirmClear), 5)  # asked first
        await pilot.press("y")
        assert quiet == [True, False, "clear"]
        assert app.screen is screen

        await run(app, pilot, "export ab")
        assert isinstance(app.screen, ExportScreen)
        await pilot.press("escape")
        await run(app, pilot, "options of ab")
        assert isinstance(app.screen, OptionsScreen)


async def test_opening_from_the_palette_replaces_the_open_experiment(quiet):
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await open_ab(app, pilot)
        await run(app, pilot, "open coin")
        await until(pilot, lambda: isinstance(app.screen, InspectScreen), 10)
        stack = app.screen_stack[1:]  # above Textual's default screen
        assert [type(screen) for screen in stack] == [ExperimentsScreen, InspectScreen]
        assert stack[1].experiment == "coin"

        await pilot.press("question_mark")  # help, over the experiment
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), 5)
        await run(app, pilot, "open cohorts")
        await until(pilot, lambda: isinstance(app.screen, InspectScreen), 10)
        stack = app.screen_stack[1:]
        assert [type(screen) for screen in stack] == [ExperimentsScreen, InspectScreen]
        assert stack[1].experiment == "cohorts"
        await pilot.press("escape")  # back: home, not the experiments opened before
        await until(pilot, lambda: isinstance(app.screen, ExperimentsScreen), 5)
        await settle(app, pilot)
