"""Names are data: shown as they are, never read as markup, never written to the terminal raw;
and one bad experiment, query or answer never takes the dashboard down.

The lakes here hold what an old version let in (control characters too): the names are written
with DuckDB into the lake's tables, past ingest, as that version would have stored them.
"""

import json

import numpy as np
import pytest
from textual.widgets import DataTable

from tests.test_tui import column, settle, until
from vibes_core import catalog
from vibes_core.capabilities import Scorecard
from vibes_core.text import printable
from vibes_core.types import get_type, registry
from vibes_tui.app import VibesApp
from vibes_tui.screens.confirm import ConfirmDelete
from vibes_tui.screens.experiments import ExperimentsScreen
from vibes_tui.screens.inspect import InspectScreen

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

HOSTILE = [
    "[/b]",
    "[/]",
    "Revenue [/] up [b",
    "Homepage [test]",
    "[bold red]x[/]",
    "[link=http://evil]x[/link]",
    "[@click=app.quit]x[/]",
    "\x1b]0;pwned\x07",  # sets the terminal's title
    "\x1b]52;c;cGF3bmVk\x07",  # writes the clipboard
    "a\x00b",
    "\u202eevil",  # right-to-left override
    "L" * 99 + "]",  # 100 characters
    "🎉 宽字符 ok",  # emoji and wide characters
]
IDS = [
    "close-b",
    "close-all",
    "revenue",
    "homepage",
    "bold-red",
    "link",
    "click",
    "osc-title",
    "osc52",
    "nul",
    "rtl",
    "long",
    "wide",
]
RAW = ("\x1b", "\x07", "\x00", "\u202e")  # never on the screen as they are
# Experiments on units are judged on metrics of event tables: tests/test_tui_scorecard.py.
GROUPED = [
    name
    for name, kind in registry().items()
    if kind.group_column and not isinstance(kind, Scorecard)
]


def plant(name: str, kind_name: str, groups: list[str], display: str, rows=None) -> None:
    """An experiment whose groups are ``groups`` and whose display name is ``display``,
    written past ingest as an older version would have. ``rows``: its events, each group as
    g0, g1, ...; by default an ab-test's, in which the first group leads clearly."""
    column = get_type(kind_name).group_column
    events = rows or [
        {column: f"g{i}", "outcome": i == 0 or j % 5 == 0}
        for i in range(len(groups))
        for j in range(20)
    ]
    with catalog.open_lake() as lake:
        source = lake.config.home / f"{name}.json"
        source.write_text(json.dumps(events))
        catalog.create(lake, name, kind_name, source)

        def rename(con) -> None:
            renames = ", ".join(["(?, ?)"] * len(groups))
            con.execute(
                f'UPDATE {catalog.table_sql(name)} t SET "{column}" = r.new '
                f'FROM (VALUES {renames}) r(old, new) WHERE t."{column}" = r.old',
                [x for i, new in enumerate(groups) for x in (f"g{i}", new)],
            )
            con.execute(
                f"UPDATE {catalog.METADATA} SET display_name = ? WHERE name = ?", [display, name]
            )

        lake.write(rename, "as an old version wrote it")


def no_raw_control(app) -> None:
    screen = app.export_screenshot()
    assert not [c for c in RAW if c in screen], "a control character reached the screen raw"


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


# --- the CLI's human output -------------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE, ids=IDS)
def test_posterior_prints_names_as_they_are(home, cli, monkeypatch, hostile):
    monkeypatch.setenv("COLUMNS", "300")  # a name printed whole, on one line
    plant("exp", "ab-test", [hostile, "B"], hostile)
    result = cli("posterior", "exp", "--exact")
    assert result.code == 0, result.err
    assert not [c for c in RAW if c in result.out + result.err]
    lines = [line.strip() for line in result.out.splitlines()]
    name = printable(hostile)
    assert any(
        line.startswith(name) and line[len(name) :].startswith(("  ", "*  ")) for line in lines
    )  # its row, "*" if it is the control
    start = next(i for i, line in enumerate(lines) if line.startswith(("Choose", "Keep")))
    decision = " ".join(lines[start:-1])  # before the footer; it may fold at 300 columns
    assert printable(hostile) in decision and "probability" in decision

    refused = cli("posterior", "exp", "--exact", "--control", "nope")  # an error naming it
    assert refused.code == 1 and refused.err.count("\n") == 1
    assert not [c for c in RAW if c in refused.err] and printable(hostile) in refused.err


@pytest.mark.mcmc
def test_an_mcmc_fit_of_groups_named_with_any_character_is_stored_and_read_back(home, cli):
    """A fit's posterior is stored as netCDF, whose strings hold no NUL: the names are the
    summary's, the stored coordinates their escapes."""
    groups = ["a\x00b", "a\\x00b", "[/b]"]  # the first two alike once escaped
    plant("exp", "ab-test", groups, "exp")
    quick = ("--json", "--draws", "50", "--tune", "50", "--chains", "1")
    fitted = cli("posterior", "exp", *quick)
    assert fitted.code == 0 and "not cached" not in fitted.err, fitted.err
    again = cli("posterior", "exp", *quick, "--control", groups[1])  # from the stored draws
    assert again.code == 0 and again.json()["cached"], again.err
    assert sorted(g["name"] for g in again.json()["groups"]) == sorted(groups)


# --- the dashboard ----------------------------------------------------------------------------


async def test_home_shows_names_as_they_are(home):
    """One experiment per hostile name, as its display name and its leading variant."""
    for i, hostile in enumerate(HOSTILE):
        plant(f"exp{i:02}", "ab-test", [hostile, "B"], hostile)
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.is_running and isinstance(app.screen, ExperimentsScreen)
        await until(pilot, lambda: "..." not in column(app, "result"), 60)
        assert column(app, "display") == [printable(hostile) for hostile in HOSTILE]
        for result, hostile in zip(column(app, "result"), HOSTILE, strict=True):
            # The headline: the leader as it is, or cut with an ellipsis if long.
            leader = printable(hostile)
            shown = result.rpartition(" ")[0]
            assert shown == leader or (shown.endswith("…") and leader.startswith(shown[:-1]))
        no_raw_control(app)
        await pilot.press(*["right"] * 5)  # scrolled right, had the display names been there
        no_raw_control(app)

        await pilot.press("ctrl+p", *"exp")  # the palette finds them, display names too
        await pilot.pause(0.5)
        no_raw_control(app)
        await pilot.press("escape")

        await pilot.press("d")  # the delete confirmation names it
        assert isinstance(app.screen, ConfirmDelete)
        assert text_of(app.screen, "#question").startswith("Delete exp00 and its ")
        await pilot.press("n")
        await pilot.press("slash", *"[/b")  # markup typed in the filter is text too
        await pilot.pause()
        assert "(filter: [/b)" in text_of(app.screen, "#status")
        assert column(app, "display") == ["[/b]"]
        no_raw_control(app)
        assert app.is_running


def generated(kind_name: str, groups: int) -> list[dict]:
    """The type's own generated events, 20 per group, the groups named g0, g1, ..."""
    kind = get_type(kind_name)
    rows = kind.generate(20 * groups, np.random.default_rng(1)).drop_columns("timestamp")
    return [{**row, kind.group_column: f"g{i % groups}"} for i, row in enumerate(rows.to_pylist())]


@pytest.mark.parametrize("kind", GROUPED)
@pytest.mark.mcmc
async def test_an_experiment_with_hostile_groups_and_forty_of_them(home, kind):
    """Every screen of one experiment: the decision, the table, plots' legends, counts."""
    groups = HOSTILE + [f"group {i}" for i in range(len(HOSTILE), 40)]
    plant("exp", kind, groups, "[/b] display", generated(kind, len(groups)))
    app = VibesApp()
    app.models_ready.set()  # no warm-up: this is about showing, not fitting
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, InspectScreen)
        await until(pilot, lambda: screen.summary is not None and "plots" in screen.summary, 60)
        await pilot.pause()
        leader = max(screen.summary["groups"], key=lambda group: group["p_best"])["name"]
        assert printable(leader) in text_of(screen, "#decision")
        summary = screen.query_one("#summary", DataTable)
        cells = [str(summary.get_row_at(i)[0]).rstrip("*") for i in range(summary.row_count)]
        assert sorted(cells) == sorted(printable(group) for group in groups)
        no_raw_control(app)
        specs = [view.spec for view in screen.query("#plots PlotView") if view.spec]
        # Forty groups: a forest plot, a row per group, not forty overlaid densities.
        assert specs[0]["kind"] == "forest"
        assert {row["name"] for row in specs[0]["rows"]} == {printable(g) for g in groups}
        items = [spec.get("series") or spec.get("rows", []) for spec in specs]
        labels = [item["name"] for listed in items for item in listed]
        assert set(labels) <= {printable(group) for group in groups}

        await pilot.press("3")  # Data: counts per group and the latest events
        await until(pilot, lambda: "per group below" in text_of(screen, "#counts"), 60)
        counts = screen.query_one("#group-counts", DataTable)
        names = {str(counts.get_row_at(i)[0]) for i in range(counts.row_count)}
        assert names == {printable(group) for group in groups}
        await pilot.pause()
        no_raw_control(app)
        await pilot.press("4")
        await pilot.pause()
        no_raw_control(app)
        assert app.is_running and app.screen is screen


# --- one bad thing ----------------------------------------------------------------------------


async def test_the_dashboard_starts_when_one_experiment_cannot_be_summarized(home):
    """A type this version does not know (a newer one wrote it): its headline says "error",
    the others are shown, the log says why, and opening it says what is wrong."""
    plant("good", "ab-test", ["A", "B"], "good")
    plant("newer", "ab-test", ["A", "B"], "newer")
    with catalog.open_lake() as lake:
        newer = f"UPDATE {catalog.METADATA} SET type = 'ab-test-v9' WHERE name = 'newer'"
        lake.write(lambda con: con.execute(newer), "as a newer version wrote it")
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        results = dict(zip(column(app, "name"), column(app, "result"), strict=True))
        assert results["newer"] == "error"
        assert results["good"].startswith("A ")
        log = (home / "logs" / "dashboard.log").read_text()
        assert "headline of newer: unknown experiment type 'ab-test-v9'" in log
        await pilot.press("down", "enter")
        screen = app.screen
        await until(pilot, lambda: "error: unknown experiment type" in text_of(screen, "#decision"))
        await settle(app, pilot)
        assert app.is_running


@pytest.mark.mcmc
async def test_a_worker_that_fails_is_reported_and_the_app_goes_on(home):
    """The experiment's table dropped behind the catalog's back while it is open: the Data
    tab's query fails (a DuckDB error, not one of ours); the tab and a toast say so, the
    log has the traceback, and the app runs on."""
    plant("exp", "ab-test", ["A", "B"], "exp")
    app = VibesApp()
    app.models_ready.set()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        screen = app.screen
        await until(pilot, lambda: "per group below" in text_of(screen, "#counts"), 60)
        with catalog.open_lake() as lake:
            lake.write(lambda con: con.execute(f"DROP TABLE {catalog.table_sql('exp')}"), "x")
        screen.load_data()  # as after every posterior it shows
        await until(pilot, lambda: text_of(screen, "#counts").startswith("error: Catalog Error"))
        await pilot.pause()
        assert app.is_running and app.screen is screen
        assert any("Catalog Error" in n.message for n in app._notifications)
        log = (home / "logs" / "dashboard.log").read_text()
        assert "InspectScreen.load_data: Catalog Error" in log and "Traceback" in log
        assert (home / "logs" / "dashboard.log").stat().st_mode & 0o077 == 0  # owner-only
        await pilot.press("escape")
        assert isinstance(app.screen, ExperimentsScreen)


async def test_an_error_that_stops_the_app_exits_1_with_one_line(home, capsys):
    """The last resort, for an error in the UI itself (not in a worker): exit code 1 (which
    `vibes tui` returns), one line on stderr for the person, the traceback in the log."""
    app = VibesApp()

    def broken() -> None:
        raise RuntimeError("a bug in the dashboard")

    with pytest.raises(RuntimeError):  # Pilot hands it on, for tests
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.call_later(broken)
            await pilot.pause()
    assert app.return_code == 1
    log = home / "logs" / "dashboard.log"
    assert capsys.readouterr().err == ""  # no traceback: `vibes tui` prints stopped_by
    assert app.stopped_by == (
        f"vibes: error: the dashboard stopped: a bug in the dashboard; details in {log}"
    )
    assert "RuntimeError: a bug in the dashboard" in log.read_text()
