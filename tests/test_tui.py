"""The dashboard through Textual's Pilot, on a temporary VIBES_HOME with real data."""

import contextlib
import itertools
import json
from datetime import datetime, timedelta

import pytest
from textual import events
from textual.geometry import Region
from textual.widgets import DataTable, Input, RadioButton, Static, TabbedContent
from textual.worker import WorkerCancelled

from tests.conftest import lake_state, run_vibes
from vibes_tui.app import VibesApp
from vibes_tui.report import summary_table
from vibes_tui.screens.confirm import ConfirmClear, ConfirmDelete
from vibes_tui.screens.create import CreateScreen
from vibes_tui.screens.experiments import ExperimentsScreen
from vibes_tui.screens.help import HelpScreen
from vibes_tui.screens.inspect import InspectScreen

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def settle(app, pilot) -> None:
    await pilot.pause()
    with contextlib.suppress(WorkerCancelled):  # an exclusive worker replaced by a newer one
        await app.workers.wait_for_complete()
    await pilot.pause()


async def until(pilot, condition, seconds: float = 180.0) -> None:
    """Let the app run until ``condition()`` holds (workers start one another)."""
    for _ in range(int(seconds * 10)):
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"still not true after {seconds} s")


def drawn(widget) -> str:
    """The widget's lines as they are drawn on the screen (a Rich table's too)."""
    region = Region(0, 0, widget.size.width, widget.size.height)
    return "\n".join(strip.text for strip in widget.render_lines(region))


def table_rows(app) -> list[list[str]]:
    table = app.screen.query_one(DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def column(app, key: str) -> list[str]:
    """The list's column ``key`` (name, type, events, result, uploaded, display), top to
    bottom: which columns show depends on the width (type and uploaded need room)."""
    return [str(cell) for cell in app.screen.query_one(DataTable).get_column(key)]


def status(app) -> str:
    return str(app.screen.query_one("#status", Static).render())


def small_dashboard_fits(monkeypatch, draws: int, tune: int, chains: int) -> None:
    """The experiment screen's MCMC fits (inference.Settings' defaults) this small, for a test
    of what a fit shows rather than of its precision: a model of forty groups fitted with the
    defaults took most of such a test's time. That the dashboard's default fit is the command
    line's (one cache entry for both) is test_contract's to check, with the defaults."""
    import dataclasses

    from vibes_core import inference

    small = dataclasses.make_dataclass(
        "SmallSettings",
        [
            ("draws", int, dataclasses.field(default=draws)),
            ("tune", int, dataclasses.field(default=tune)),
            ("chains", int, dataclasses.field(default=chains)),
        ],
        bases=(inference.Settings,),
        frozen=True,
    )
    monkeypatch.setattr(inference, "Settings", small)


@pytest.fixture
def three(cli, tmp_path):
    """Experiments of three types; the home screen shows them all."""
    for name, kind, n in (
        ("ab", "ab-test", 400),
        ("cohorts", "poisson-cohorts", 200),
        ("coin", "bernoulli", 100),
    ):
        path = tmp_path / f"{name}.json"
        assert cli("generate", kind, "-n", n, "--seed", 1, "-o", path).code == 0
        assert (
            cli("experiments", "create", name, "--type", kind, "--initial-data-file", path).code
            == 0
        )


async def test_home_lists_experiments_with_their_results(home, three):
    app = VibesApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert column(app, "name") == ["ab", "cohorts", "coin"]
        assert column(app, "type") == ["ab-test", "poisson-cohorts", "bernoulli"]
        assert column(app, "events") == ["400", "200", "100"]
        assert column(app, "display") == ["ab", "cohorts", "coin"]
        result = column(app, "result")
        assert result[0].startswith(("A ", "B "))  # the leader and its P(best)
        assert result[2].endswith("%")
        uploaded = datetime.strptime(column(app, "uploaded")[0], "%Y-%m-%d %H:%M")  # local
        assert abs(uploaded - datetime.now()) < timedelta(minutes=10)
        assert status(app) == "3 experiments"


async def test_filter_and_sort(home, three):
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        await pilot.press(*"co")
        assert [row[0] for row in table_rows(app)] == ["cohorts", "coin"]
        assert "2 of 3" in status(app)
        await pilot.press("escape")
        assert len(table_rows(app)) == 3 and app.screen.query_one("#filter", Input).value == ""
        await pilot.press("s")  # name -> events (at 80 columns no type), the biggest first
        assert [row[0] for row in table_rows(app)] == ["ab", "cohorts", "coin"]


async def test_a_filter_typed_ahead_of_the_screen_lands_in_the_field(home, three):
    """`/` and the text after it, all queued before the app handles the first key (a busy
    app over a slow link): the text goes to the filter, not to the table."""
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        for key, character in [("slash", "/"), ("c", "c"), ("o", "o")]:
            app.post_message(events.Key(key, character))
        await pilot.pause()
        assert app.screen.query_one("#filter", Input).value == "co"
        assert [row[0] for row in table_rows(app)] == ["cohorts", "coin"]
        await pilot.press("slash")  # in the field, a slash is text
        assert app.screen.query_one("#filter", Input).value == "co/"


async def test_refreshes_when_another_process_uploads_and_keeps_the_selection(home, three):
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "down")  # coin
        events = run_vibes("generate", "ab-test", "-n", "50", "--format", "ndjson").out.encode()
        assert run_vibes("events", "upload", "ab", stdin=events).code == 0
        await until(pilot, lambda: column(app, "events")[0] == "450", 30)  # polled every 2 s
        await settle(app, pilot)
        assert column(app, "events")[0] == "450"
        table = app.screen.query_one(DataTable)
        assert table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value == "coin"


async def test_delete_asks_first_and_can_be_cancelled(home, three):
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        before = lake_state(home)
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmDelete)
        question = str(app.screen.query_one("#question").render())
        assert "ab" in question and "400 events" in question
        await pilot.press("n")
        assert isinstance(app.screen, ExperimentsScreen)
        assert lake_state(home) == before

        await pilot.press("d", "y")
        await settle(app, pilot)
        assert [row[0] for row in table_rows(app)] == ["cohorts", "coin"]
        assert "ab" not in lake_state(home)[1]


# What keys do, as the help says it (before and after it had a line per key).
KEYS_SAID = [
    "this help",
    "command palette",
    "pick a colour theme",
    "back (quit on the experiments list)",
    "open the selected experiment",
    "create an experiment",
    "upload a file of events to the selected",
    "filter by name, title or type",
]


async def test_help_lists_the_keys_a_line_each_and_scrolls_with_j_and_k(home):
    """Its tables drew a box around each key: four keys showed at 80x24."""
    import html

    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.pause()
        shown = html.unescape(app.export_screenshot()).replace("\xa0", " ")
        assert [said for said in KEYS_SAID if said not in shown] == []
        view = app.screen.query_one("#help")
        await pilot.press("j", "j", "j")
        await until(pilot, lambda: view.scroll_y == 3, 5)
        await pilot.press("k")
        await until(pilot, lambda: view.scroll_y == 2, 5)
        await pilot.press("G")
        await until(pilot, lambda: view.scroll_y == view.max_scroll_y > 0, 5)
        await pilot.press("g")
        await until(pilot, lambda: view.scroll_y == 0, 5)
        await pilot.press("escape")
        assert isinstance(app.screen, ExperimentsScreen)


@pytest.mark.mcmc
async def test_inspect_shows_the_exact_then_the_mcmc_posterior(home, three, monkeypatch):
    small_dashboard_fits(monkeypatch, 200, 200, 2)  # which answer shows, not its precision
    app = VibesApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, InspectScreen) and screen.experiment == "ab"
        await until(pilot, lambda: screen.summary and screen.summary["method"] == "mcmc")
        await settle(app, pilot)
        decision = str(screen.query_one("#decision").render())
        assert decision.startswith(("Choose", "Keep running", "No difference")), decision
        summary_table = screen.query_one("#summary", DataTable)
        assert summary_table.row_count == 2
        await pilot.press("2")
        await pilot.pause()
        diagnostics = drawn(screen.query_one("#diagnostics-text"))
        assert "max r_hat" in diagnostics and "pymc-nuts" in diagnostics
        await pilot.press("3")
        assert "400 events" in str(screen.query_one("#counts").render())
        await pilot.press("escape")
        assert isinstance(app.screen, ExperimentsScreen)


@pytest.mark.mcmc
async def test_a_posterior_drawn_before_the_table_measured_it_is_not_left_clipped(
    home, three, monkeypatch
):
    """Exact then MCMC fills the summary table twice with cells of the same widths; a paint
    that fell before the table measured the new cells once left them clipped for good."""
    small_dashboard_fits(monkeypatch, 200, 200, 2)  # the table's cells, not the numbers
    app = VibesApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        screen = app.screen
        await until(pilot, lambda: screen.summary and screen.summary["method"] == "mcmc")
        await settle(app, pilot)
        table = screen.query_one("#summary", DataTable)
        screen.show(screen.summary)
        table.render_line(1)  # the first row painted at once
        await settle(app, pilot)
        first_row = summary_table(screen.summary)[1][0]
        assert all(cell in str(table.render_line(1).text) for cell in first_row)


@pytest.mark.mcmc
async def test_a_cached_fit_under_the_cursor_opens_at_once_and_leaving_at_once_is_fine(home, three):
    assert run_vibes("posterior", "ab").code == 0  # fitted and cached by another process
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        home_screen = app.screen
        await until(pilot, lambda: ("ab", 400) in home_screen.cached_fits, 120)  # prefetched
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, InspectScreen)
        assert screen.summary["method"] == "mcmc" and screen.summary["cached"]
        await pilot.press("escape")  # before the Data and History tabs have loaded
        assert app.screen is home_screen
        await settle(app, pilot)
        await pilot.pause(0.5)  # their answers arrive for a closed screen: ignored, no crash
        assert app.is_running and app.screen is home_screen
        await pilot.press("enter", "c")  # open it again and clear its cache
        await until(pilot, lambda: isinstance(app.screen, ConfirmClear), 10)
        await pilot.press("y")  # yes: it asks first
        await until(pilot, lambda: ("ab", 400) not in home_screen.cached_fits, 30)
        await settle(app, pilot)
        assert run_vibes("cache", "list", "ab").json() == []  # not shown again as cached


@pytest.mark.mcmc
async def test_a_fit_that_fails_leaves_the_exact_answer_and_says_why(home, three):
    app = VibesApp()
    app.models_ready.set()  # skip the warm-up: this fit must fail, not wait for PyMC
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "down")  # coin
        await pilot.press("enter")
        screen = app.screen
        await pilot.pause()
        assert run_vibes("experiments", "delete", "coin").code == 0  # from another process
        screen.fit(use_cache=False)
        failed = "the MCMC fit failed: no experiment named 'coin'"
        await until(pilot, lambda: failed in str(screen.query_one("#fit-status").render()))
        await settle(app, pilot)


async def test_an_unreadable_lake_is_reported_not_raised(home, tmp_path, monkeypatch):
    monkeypatch.setenv("VIBES_CATALOG_URL", f"sqlite:{tmp_path / 'missing' / 'catalog.sqlite'}")
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert status(app).startswith("error: no lake at")
        assert "vibes db init" in status(app)


async def test_with_the_lake_opened_first_the_table_is_there_at_once(home, three):
    """`vibes tui` opens the lake before Textual starts: the first screen needs no worker."""
    from vibes_core import catalog

    app = VibesApp(catalog.open_lake())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert [row[0] for row in table_rows(app)] == ["ab", "cohorts", "coin"]
        assert status(app) == "3 experiments"
        await settle(app, pilot)


@pytest.mark.mcmc
async def test_command_palette_opens_an_experiment(home, three, monkeypatch):
    small_dashboard_fits(monkeypatch, 200, 200, 2)  # settle waits for the fit it starts
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"open coh")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, InspectScreen) and app.screen.experiment == "cohorts"
        await settle(app, pilot)


def selected(app) -> str:
    table = app.screen.query_one(DataTable)
    return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value


@pytest.mark.mcmc
async def test_history_picks_the_posterior_as_of_an_earlier_snapshot(home, three):
    events = run_vibes("generate", "ab-test", "-n", "50", "--format", "ndjson").out.encode()
    assert run_vibes("events", "upload", "ab", stdin=events).code == 0
    app = VibesApp()
    app.models_ready.set()  # no MCMC: this is about which data the posterior is of
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter", "4")
        screen = app.screen
        snapshots = screen.query_one("#snapshots", DataTable)
        await until(
            pilot,
            lambda: (
                snapshots.row_count == 2
                and "..." not in [str(row[4]) for row in map(snapshots.get_row_at, (0, 1))]
            ),
        )
        assert [[str(cell) for cell in snapshots.get_row_at(i)][2:4] for i in (0, 1)] == [
            ["50", "450"],
            ["400", "400"],
        ]
        await pilot.press("down", "enter")  # the creation's snapshot
        await until(
            pilot,
            lambda: (
                screen.summary
                and screen.as_of is not None
                and sum(g["trials"] for g in screen.summary["groups"]) == 400
            ),
        )
        assert screen.query_one(TabbedContent).active == "posterior"
        assert f"as of snapshot {screen.as_of}" in screen.sub_title
        await pilot.press("l")
        await until(
            pilot,
            lambda: (
                screen.summary  # None until the latest posterior comes
                and sum(g["trials"] for g in screen.summary["groups"]) == 450
            ),
        )
        assert screen.as_of is None


async def test_new_experiment_from_home_is_selected_once_created(home, three):
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("n")
        form = app.screen
        assert isinstance(form, CreateScreen)
        await pilot.press(*"zeta")
        form.query_one("#from-demo", RadioButton).value = True
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, ExperimentsScreen)
                and "zeta" in app.screen.rows
                and selected(app) == "zeta"
            ),
            60,
        )
        await settle(app, pilot)
    assert lake_state(home)[1]["zeta"] == 1000


async def test_the_data_tab_counts_each_group_in_a_table_through_the_formatter(
    home, three, tmp_path
):
    """Not a run-on paragraph of raw floats (exposure 216.51999999999995): one row per
    cohort, a sum of exposures to 3 significant digits, counts with their thousands."""
    import json
    from collections import defaultdict

    from vibes_core.units import number

    exposure, events = defaultdict(float), defaultdict(int)
    for row in json.loads((tmp_path / "cohorts.json").read_text()):
        exposure[row["cohort"]] += row["exposure"]
        events[row["cohort"]] += row["events"]
    app = VibesApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("down", "enter")
        screen = app.screen
        assert isinstance(screen, InspectScreen) and screen.experiment == "cohorts"
        await pilot.press("3")
        table = screen.query_one("#group-counts", DataTable)
        await until(pilot, lambda: table.row_count == len(exposure))
        headers = [str(column.label) for column in table.columns.values()]
        cells = [map(str, table.get_row_at(i)) for i in range(table.row_count)]
        rows = [dict(zip(headers, row, strict=True)) for row in cells]
        assert {row["cohort"] for row in rows} == set(exposure)
        for row in rows:
            assert row["exposure"] == number(exposure[row["cohort"]])
            assert row["events"] == f"{events[row['cohort']]:,}"
        assert "200 events, per group below" in str(screen.query_one("#counts").render())


async def test_an_empty_lake_says_how_to_start_and_one_is_not_plural(home, cli, tmp_path):
    app = VibesApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert status(app) == "no experiments yet: press n to create one, or run `vibes db demo`"
    path = tmp_path / "one.json"
    path.write_text('[{"outcome": true}]')
    options = ["--type", "bernoulli", "--initial-data-file", path]
    created = cli("experiments", "create", "one", *options)
    assert created.code == 0 and "created one with 1 event\n" in created.err
    uploaded = cli("events", "upload", "one", "-f", path)
    assert "uploaded 1 event to one (2 in all)" in uploaded.err
    app = VibesApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert status(app) == "1 experiment"


async def test_the_inspect_screen_scrolls_and_switches_tabs_from_the_keyboard(home, three):
    """From the moment it opens: PgDn, j/k, ctrl+d, g/G scroll the posterior (focus on it,
    visibly), ] and [ switch tabs and give the new tab the keys."""
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")  # ab: a table and two plots, taller than 24 rows
        screen = app.screen
        assert isinstance(screen, InspectScreen) and screen.experiment == "ab"
        view = screen.query_one("#posterior-view")
        await until(pilot, lambda: view.max_scroll_y > 10)
        assert app.focused is view
        for key, moved in (("j", 1), ("pagedown", view.size.height)):
            before, bottom = view.scroll_y, view.max_scroll_y
            await pilot.press(key)
            await until(pilot, lambda start=before: view.scroll_y > start)
            # The MCMC posterior may replace the exact one meanwhile, a line or two taller.
            ends = {min(before + moved, bottom), min(before + moved, view.max_scroll_y)}
            assert view.scroll_y in ends
        # The MCMC posterior replaces the exact one first: G goes to the end of what is shown.
        await until(pilot, lambda: (screen.summary or {}).get("method") == "mcmc")
        await pilot.press("G")
        await until(pilot, lambda: view.scroll_y == view.max_scroll_y)
        await pilot.press("g")
        await until(pilot, lambda: view.scroll_y == 0)
        await pilot.press("ctrl+d")
        await until(pilot, lambda: view.scroll_y == view.size.height // 2)
        await pilot.press("right_square_bracket")
        assert screen.query_one(TabbedContent).active == "diagnostics"
        assert app.focused is screen.query_one("#diagnostics-view")
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert screen.query_one(TabbedContent).active == "history"
        assert app.focused is screen.query_one("#snapshots", DataTable)


async def test_the_footers_show_their_screens_keys_within_80_columns(home, three):
    from textual.widgets._footer import FooterKey

    def keys(app) -> dict[str, FooterKey]:
        return {key.key_display: key for key in app.screen.query(FooterKey)}

    def whole(shown: dict) -> bool:
        """Every key and its word on screen, none under the next (the palette's last)."""
        regions = sorted((key.region for key in shown.values()), key=lambda r: r.x)
        apart = all(a.right <= b.x for a, b in itertools.pairwise(regions))
        return apart and regions[-1].right <= 80

    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        shown = keys(app)
        assert {"enter", "n", "d", "q", "?"} <= set(shown)
        assert whole(shown)  # "? Help" too
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDelete))
        await pilot.pause()
        assert {"y", "esc"} <= set(keys(app)) and "enter" not in keys(app)
        await pilot.press("n")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, InspectScreen))
        await pilot.pause()
        shown = keys(app)
        assert "1-4" in shown and "l" not in shown  # Latest: only for an old snapshot
        assert whole(shown)


async def test_y_copies_through_the_terminal_and_screenshots_land_in_the_current_directory(
    home, three, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    app = VibesApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("y")
        assert app.clipboard.split("\t")[:3] == ["ab", "ab-test", "400"]
        await pilot.press("enter")
        screen = app.screen
        await until(pilot, lambda: screen.summary is not None)
        shown = screen.summary["decision"]
        await pilot.press("y")  # the MCMC fit may replace the exact answer meanwhile
        assert app.clipboard in (shown, screen.summary["decision"])
        assert app.clipboard.startswith(("Choose", "Keep running", "No difference"))
        app.deliver_screenshot()
        await until(pilot, lambda: list(tmp_path.glob("*.svg")))


async def test_a_long_leading_name_is_cut_on_the_list_and_whole_in_the_experiment(
    home, cli, tmp_path
):
    long = "the-new-checkout-flow-with-one-click-payments"  # 45 characters
    events = [{"variant": "A", "outcome": i % 10 == 0} for i in range(400)]
    events += [{"variant": long, "outcome": i % 2 == 0} for i in range(400)]
    path = tmp_path / "long.json"
    path.write_text(json.dumps(events))
    options = ["--type", "ab-test", "--initial-data-file", path]
    assert cli("experiments", "create", "long", *options).code == 0
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: str(table.get_cell("long", "result")) != "...")
        result = str(table.get_cell("long", "result"))
        assert len(result) <= 20 and result.startswith("the-new-") and "…" in result
        assert result.endswith(">99.9%") or result.endswith("%")
        assert table.max_scroll_x == 0  # every column stays on screen
        await pilot.press("enter")
        screen = app.screen
        await until(pilot, lambda: screen.summary is not None)
        names = screen.query_one("#summary", DataTable).get_column_at(0)
        assert long in [str(name) for name in names]  # whole here


def test_quitting_while_pymc_imports_exits_cleanly_and_restores_the_terminal(three):
    """ctrl+q as soon as the list is drawn (PyMC and MLflow still importing behind it): the
    process leaves without waiting for the import (bench/tui_launch.py times it), with exit
    code 0 and the terminal given back (alternate screen left, cursor shown)."""
    import fcntl
    import os
    import select
    import struct
    import subprocess
    import termios
    import time

    from tests.conftest import VIBES

    terminal, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    # Textual draws on stderr: all three on the terminal.
    process = subprocess.Popen([VIBES, "tui"], stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    shown, deadline = b"", time.monotonic() + 60
    try:
        while b"3 experiments" not in shown and time.monotonic() < deadline:
            if select.select([terminal], [], [], 1)[0]:
                shown += os.read(terminal, 65536)
        assert b"3 experiments" in shown
        os.write(terminal, b"\x11")  # ctrl+q
        assert process.wait(timeout=60) == 0
        with contextlib.suppress(OSError):  # the other end has gone
            while chunk := os.read(terminal, 65536):
                shown += chunk
    finally:
        process.kill()
        os.close(terminal)
    after = shown.rpartition(b"3 experiments")[2]
    assert b"\x1b[?1049l" in after and b"\x1b[?25h" in after


async def test_an_upload_by_another_process_shows_a_banner_until_r_refreshes(home, three):
    """The open posterior does not go stale silently: "new data (N events) — r to refresh",
    and r reads the lake again."""
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_coin(app, pilot)
        banner = screen.query_one("#new-data")
        assert not banner.display
        before = screen.summary["snapshot"]
        events = run_vibes("generate", "bernoulli", "-n", "30", "--format", "ndjson").out.encode()
        assert run_vibes("events", "upload", "coin", stdin=events).code == 0
        await until(pilot, lambda: banner.display, 30)  # polled every 2 s
        assert str(banner.render()) == "new data (30 events) — r to refresh"
        await pilot.press("r")
        await until(pilot, lambda: screen.summary and screen.summary["snapshot"] > before, 60)
        assert not banner.display and sum(g["trials"] for g in screen.summary["groups"]) == 130


async def test_with_the_banner_the_screen_still_fits_and_help_stays_in_the_footer(home, three):
    from textual.widgets._footer import FooterKey

    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_coin(app, pilot)
        screen.polled = app.main_lake().snapshot_id()  # as a poll would have found it
        screen.show_new_data(5)
        await pilot.pause()
        assert screen.query_one("#new-data").display
        assert not screen.vertical_scrollbar.display or screen.max_scroll_y == 0
        keys = {key.key_display: key.region for key in screen.query(FooterKey)}
        assert keys["?"].right <= 80 and keys["?"].width >= len("? Help")


async def open_coin(app, pilot) -> InspectScreen:
    await settle(app, pilot)
    app.open_experiment("coin")
    await until(pilot, lambda: isinstance(app.screen, InspectScreen) and app.screen.summary)
    return app.screen
