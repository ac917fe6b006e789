"""The experiments list (home) through Pilot: what its columns show at 80 and 120 columns, its
keys, and its order, which follows the experiments, never the row numbers."""

import html
import json
import time
from pathlib import Path

import numpy as np
import pytest
from textual.widgets import DataTable

from tests.test_palette import run
from tests.test_tui import settle, until
from vibes_core import catalog
from vibes_tui.app import VibesApp
from vibes_tui.screens.confirm import ConfirmDelete
from vibes_tui.screens.experiments import ExperimentsScreen
from vibes_tui.screens.inspect import InspectScreen
from vibes_tui.screens.upload import UploadScreen

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

LONG_NAME = "a" + "x" * 62  # the longest name there can be
LONG_DISPLAY = "D" * 100
# (name, [(trials, successes) per variant A, B, ...]) or a bernoulli's [(trials, successes)]
CHANCES = {
    "p_clear": [(100, 30), (100, 10)],  # A leads, surely
    "p_likely": [(100, 10), (100, 16)],  # B, likely
    "p_maybe": [(100, 10), (100, 12)],  # B, maybe
    "coin": [(100, 50)],  # one group: its rate
}


def isolate(patch: pytest.MonkeyPatch, home: Path, config: Path) -> None:
    """As conftest's ``home``: this lake, and none of the user's settings."""
    patch.setenv("VIBES_HOME", str(home))
    patch.setenv("XDG_CONFIG_HOME", str(config))
    for name in ("VIBES_CONFIG", "VIBES_CATALOG_URL", "VIBES_DATA_PATH", "VIBES_THEME"):
        patch.delenv(name, raising=False)


def create(lake, name: str, counts: list[tuple[int, int]], display: str | None = None) -> None:
    """An ab-test with these (trials, successes) per variant A, B, ...; one pair: a
    bernoulli."""
    if len(counts) == 1:
        kind, events = "bernoulli", [{"outcome": i < counts[0][1]} for i in range(counts[0][0])]
    else:
        kind = "ab-test"
        events = [
            {"variant": "ABCDEFGH"[v], "outcome": i < successes}
            for v, (trials, successes) in enumerate(counts)
            for i in range(trials)
        ]
    source = lake.config.home / f"{name}.json"
    source.write_text(json.dumps(events))
    catalog.create(lake, name, kind, source, display)


@pytest.fixture(scope="module")
def forty(tmp_path_factory) -> Path:
    """40 experiments, some display names markup and one 100 characters long, and a name of 63:
    made once (40 creations take half a minute) and only read (a lake cannot be copied)."""
    folder = tmp_path_factory.mktemp("forty")
    with pytest.MonkeyPatch.context() as patch:
        isolate(patch, folder / "vibes-home", folder / "config")
        with catalog.open_lake() as lake:
            create(lake, "a_bracket", [(40, 10), (40, 20)], "[/b]")
            create(lake, "a_homepage", [(40, 10), (40, 20)], "Homepage [test]")
            create(lake, LONG_NAME, [(40, 10), (40, 20)], LONG_DISPLAY)
            for i in range(1, 38):
                create(lake, f"exp_{i}", [(40, 10), (40, 10 + i % 7)], f"Experiment {i}")
    return folder / "vibes-home"


@pytest.fixture
def in_forty(forty, monkeypatch, tmp_path) -> Path:
    isolate(monkeypatch, forty, tmp_path / "config")
    return forty


@pytest.fixture
def chances(home) -> None:
    with catalog.open_lake() as lake:
        for name, counts in CHANCES.items():
            create(lake, name, counts)


@pytest.fixture(autouse=True)
def no_fits(monkeypatch) -> None:
    """No PyMC: no warm-up, no prefetch of cached fits, no fit when an experiment opens."""
    monkeypatch.setattr(VibesApp, "start_warm_up", lambda app: None)
    monkeypatch.setattr(ExperimentsScreen, "prefetch", lambda screen, key: None)
    monkeypatch.setattr(InspectScreen, "fit", lambda screen, use_cache=True: None)


def table(app) -> DataTable:
    return app.screen.query_one(DataTable)


def columns(app) -> list[str]:
    return [column.key.value for column in table(app).ordered_columns]


def column(app, key: str) -> list[str]:
    """A column's cells, top to bottom, as shown (a long one ends in "…" when drawn)."""
    return [str(cell) for cell in table(app).get_column(key)]


def header(app, key: str) -> str:
    return str(table(app).columns[key].label).rstrip()


def selected(app) -> str:
    return table(app).coordinate_to_cell_key(table(app).cursor_coordinate).row_key.value


def screen_text(app) -> str:
    return html.unescape(app.export_screenshot()).replace("\xa0", " ")


def leader_chances(draws: int = 200_000) -> dict[str, float]:
    """Each ab-test's leader's P(best), by Monte Carlo from the Beta(1 + s, 1 + f) posteriors
    (the type's default prior): independent of vibes's closed form."""
    rng = np.random.default_rng(1)
    found = {}
    for name, counts in CHANCES.items():
        if len(counts) > 1:
            samples = np.array([rng.beta(1 + s, 1 + n - s, draws) for n, s in counts])
            found[name] = np.bincount(samples.argmax(axis=0), minlength=len(counts)).max() / draws
    return found


# --- what shows -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((80, 24), ["name", "events", "result", "display"]),
        ((120, 40), ["name", "type", "events", "result", "uploaded", "display"]),
    ],
)
async def test_name_result_and_display_name_show_at_80_and_120_columns(in_forty, size, expected):
    """The display name once came last after the type, off an 80-column screen: at 80 the
    type and last upload make room for it; nothing is ever off to the right."""
    app = VibesApp()
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        assert columns(app) == expected
        assert table(app).max_scroll_x == 0  # every column in sight
        shown = screen_text(app)
        for text in ("[/b]", "Homepage [test]", "Experiment 1 ", "x" * 20 + "…", "DDDD…"):
            assert text in shown, text
        assert LONG_NAME not in shown and LONG_DISPLAY[:40] not in shown  # cut, not pushing
        assert status_text(app) == "40 experiments"


def status_text(app) -> str:
    return str(app.screen.query_one("#status").render())


async def test_the_list_moves_with_j_k_g_G_home_and_end(in_forty):
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        names = column(app, "name")
        assert names[:5] == ["a_bracket", "a_homepage", LONG_NAME, "exp_1", "exp_2"]
        assert names.index("exp_9") + 1 == names.index("exp_10")  # numbers read as numbers
        await pilot.press("j", "j")
        assert selected(app) == names[2]
        await pilot.press("k")
        assert selected(app) == names[1]
        await pilot.press("G")
        assert selected(app) == names[-1]
        await until(pilot, lambda: table(app).scroll_y == table(app).max_scroll_y > 0, 5)
        await pilot.press("g")
        assert selected(app) == names[0]
        await pilot.press("end")  # the last row, not a blank table scrolled sideways
        assert selected(app) == names[-1] and table(app).scroll_x == 0
        await pilot.press("home")
        assert selected(app) == names[0]


# --- the order --------------------------------------------------------------------------------


async def test_results_sort_by_their_chance_and_arriving_ones_move_nothing_else(
    home, chances, monkeypatch
):
    """Sorted by result before the results are in: as they arrive the order is redone (by
    P(best), then a single group's estimate; not as text), the cursor stays on its experiment
    and no column moves (the result column has its width from the start)."""
    compute = ExperimentsScreen.compute_headlines
    monkeypatch.setattr(ExperimentsScreen, "compute_headlines", lambda screen, rows: None)
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert column(app, "result") == ["...", "...", "...", "..."]
        await pilot.press("s", "s")  # name -> events -> result
        assert header(app, "result") == "result ▼"
        await pilot.press("j")
        chosen = selected(app)
        widths = [column.width for column in table(app).ordered_columns]

        compute(app.screen, app.screen.rows)  # the results arrive
        await until(pilot, lambda: "..." not in column(app, "result"), 60)
        await settle(app, pilot)
        chance = leader_chances()
        expected = [*sorted(chance, key=chance.get, reverse=True), "coin"]
        assert column(app, "name") == expected
        assert selected(app) == chosen
        assert [column.width for column in table(app).ordered_columns] == widths

        await pilot.press("S")  # reversed: the same order backwards
        assert column(app, "name") == expected[::-1] and header(app, "result") == "result ▲"
        assert selected(app) == chosen
        x = sum(c.get_render_width(table(app)) for c in table(app).ordered_columns[:2]) + 2
        await pilot.click(DataTable, offset=(x, 0))  # on "result": reversed again
        await pilot.pause()
        assert column(app, "name") == expected and header(app, "result") == "result ▼"


async def test_keys_act_on_the_experiment_under_the_cursor_after_a_sort(home, chances):
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("j")
        chosen = selected(app)  # the second by name
        for key in ("s", "s", "S"):  # by events, by result, reversed
            await pilot.press(key)
            assert selected(app) == chosen, key
        assert column(app, "name").index(chosen) != 1  # it moved, and the cursor with it
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmDelete) and app.screen.experiment == chosen
        await pilot.press("n")
        await pilot.press("u")
        assert isinstance(app.screen, UploadScreen) and app.screen.experiment == chosen
        await pilot.press("escape")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, InspectScreen), 10)
        assert app.screen.experiment == chosen
        await settle(app, pilot)


async def test_last_upload_sorts_newest_first_and_again_reverses(home):
    with catalog.open_lake() as lake:
        create(lake, "a_oldest", [(10, 5), (10, 5)])
        time.sleep(1.1)  # the catalog keeps upload times to the second
        create(lake, "z_newest", [(10, 5), (10, 5)])
    app = VibesApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await run(app, pilot, "sort by last upload")
        assert column(app, "name") == ["z_newest", "a_oldest"]
        assert header(app, "uploaded") == "last upload ▼"
        await run(app, pilot, "sort by last upload")  # the same column again: reversed
        assert column(app, "name") == ["a_oldest", "z_newest"]
        assert header(app, "uploaded") == "last upload ▲"


async def test_after_opening_one_from_the_palette_back_on_the_list_keys_act_on_it(home, chances):
    """The palette's open moved no cursor: back on the list `d` offered to delete the row
    that happened to be selected. A filter that hides the experiment is cleared."""
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert selected(app) == "coin"  # the first by name
        await run(app, pilot, "open p_maybe")
        await until(pilot, lambda: isinstance(app.screen, InspectScreen), 10)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ExperimentsScreen), 5)
        assert selected(app) == "p_maybe"
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmDelete) and app.screen.experiment == "p_maybe"
        await pilot.press("n")

        await pilot.press("slash", *"coin", "enter")  # hides every other one
        assert column(app, "name") == ["coin"]
        await run(app, pilot, "open p_clear")
        await until(pilot, lambda: isinstance(app.screen, InspectScreen), 10)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ExperimentsScreen), 5)
        assert len(column(app, "name")) == 4 and selected(app) == "p_clear"
        await settle(app, pilot)
