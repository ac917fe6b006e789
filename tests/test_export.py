"""ctrl+e on the inspect screen: the summary shown, to a file, as Markdown, CSV or JSON, each
exactly what `vibes posterior --format ...` prints; nothing is written on a mistake, and an
existing file is replaced only when asked twice."""

import csv
import io
import json
import os
import stat

import pytest
from textual.widgets import Input, RadioButton

from tests.test_tui import until
from vibes_tui.app import VibesApp
from vibes_tui.screens.export import ExportScreen
from vibes_tui.screens.inspect import InspectScreen

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def here(tmp_path, monkeypatch):
    """An empty current folder: relative names land here, and leftovers show."""
    folder = tmp_path / "here"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def exact_summary(name: str) -> dict:
    """The exact posterior as the inspect screen has it (plot specs and all)."""
    from vibes_core import catalog, inference

    with catalog.open_lake() as lake:
        return inference.posterior(lake, name, exact=True, plots=True)


def printed(cli, name: str, shown: str) -> str:
    result = cli("posterior", name, "--exact", "--format", shown)
    assert result.code == 0, result.err
    return result.out


async def open_export(app, pilot, name: str) -> ExportScreen:
    screen = ExportScreen(name, exact_summary(name))
    app.push_screen(screen)
    await until(pilot, lambda: app.screen is screen and screen.focused is not None, 30)
    return screen


def error_shown(screen: ExportScreen) -> str:
    return str(screen.query_one("#export-error").render())


async def test_ctrl_e_on_the_inspect_screen_writes_the_markdown_the_cli_prints(
    home, cli, piped, here, monkeypatch
):
    expected = printed(cli, piped, "markdown")
    # The MCMC fit is not this test's subject: the screen keeps its exact posterior.
    monkeypatch.setattr(InspectScreen, "fit", lambda self, use_cache=True: None)
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(InspectScreen(piped))
        inspect = app.screen
        await until(pilot, lambda: inspect.summary is not None, 60)
        assert inspect.summary["method"] == "exact"
        await pilot.press("ctrl+e")
        await until(pilot, lambda: isinstance(app.screen, ExportScreen), 10)
        dialog = app.screen.query_one("#export-dialog")
        assert dialog.region.bottom <= 23 and dialog.region.right <= 80  # above its footer
        keys = {key.key_display for key in app.screen.query("FooterKey")}
        assert {"esc", "^s"} <= keys
        assert app.screen.query_one(Input).value == "piped-posterior.md"
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is inspect, 10)
        written = here / "piped-posterior.md"
        assert written.read_text() == expected
        assert "B\\|\\[b]x" in expected  # the name with its pipe and bracket escaped
        toast = list(app._notifications)[-1].message if app._notifications else ""
        # A path longer than the toast is broken into lines after a "/" (VibesApp.notify).
        assert toast.replace("\n", "") == f"wrote {written} (Markdown, 2 groups)"


async def test_a_name_ending_in_csv_writes_the_cli_csv_with_the_json_numbers(
    home, cli, piped, here
):
    answer = cli("posterior", piped, "--exact", "--json").json()
    expected = printed(cli, piped, "csv")
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_export(app, pilot, piped)
        screen.query_one(Input).value = "table.csv"
        await pilot.pause()
        assert screen.shown == "csv"  # the suffix picked the format
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is not screen, 10)
    text = (here / "table.csv").read_text()
    assert text == expected
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["group"] for row in rows] == ["A", "B|[b]x"]
    for row, group in zip(rows, answer["groups"], strict=True):
        for key in ("mean", "hdi_low", "hdi_high", "p_best", "expected_loss"):
            assert float(row[key]) == group[key]
        assert int(row["trials"]) == group["trials"]


async def test_json_chosen_in_the_dialog_renames_the_default_and_equals_the_cli_json(
    home, cli, piped, here
):
    expected = printed(cli, piped, "json")
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_export(app, pilot, piped)
        await pilot.press("tab", "right", "right", "enter")  # to the formats, JSON, pick it
        await pilot.pause()
        assert screen.shown == "json"
        assert screen.query_one(Input).value == "piped-posterior.json"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is not screen, 10)
    text = (here / "piped-posterior.json").read_text()
    assert text == expected  # strict, indented, without the screen's plot specs
    assert json.loads(text) == cli("posterior", piped, "--exact", "--json").json()


async def test_a_typed_name_stays_when_the_format_changes(home, piped, here):
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_export(app, pilot, piped)
        screen.query_one(Input).value = "for-the-pr.txt"
        await pilot.pause()
        await pilot.press("tab", "right", "enter")  # CSV
        await pilot.pause()
        assert screen.shown == "csv" and screen.query_one(Input).value == "for-the-pr.txt"


async def test_an_existing_file_is_replaced_only_on_a_second_enter(home, cli, piped, here):
    old = here / "piped-posterior.md"
    old.write_text("kept\n")
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_export(app, pilot, piped)
        await pilot.press("enter")
        await pilot.pause()
        assert "exists: enter again to replace" in error_shown(screen)
        assert app.screen is screen and old.read_text() == "kept\n"
        await pilot.press("end", "x", "backspace")  # an edit asks again
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen and old.read_text() == "kept\n"
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is not screen, 10)
    assert old.read_text() == printed(cli, piped, "markdown")
    assert sorted(os.listdir(here)) == ["piped-posterior.md"]  # no temporary file left


async def test_mistakes_are_said_in_the_dialog_and_write_nothing(home, piped, here):
    (here / "folder").mkdir()
    mistakes = {
        "": "give a file name",
        "missing/out.md": "no folder missing",
        "folder": "folder is a folder",
        "folder/": "is a folder",
        "out\x1b]0;owned\x07.md": "control character (\\x1b)",
        "x" * 300 + ".md": "File name too long",
    }
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_export(app, pilot, piped)
        for name, said in mistakes.items():
            screen.query_one(Input).value = name
            await pilot.press("enter")
            await pilot.pause()
            assert said in error_shown(screen), name
            assert "\n" not in error_shown(screen)  # one line
            assert app.screen is screen
    assert os.listdir(here) == ["folder"] and os.listdir(here / "folder") == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
async def test_a_folder_without_write_permission_is_said_and_changes_nothing(home, piped, here):
    locked = here / "locked"
    locked.mkdir(mode=0o500)
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_export(app, pilot, piped)
        screen.query_one(Input).value = "locked/out.md"
        await pilot.press("enter")
        await pilot.pause()
        assert "Permission denied" in error_shown(screen) and app.screen is screen
    assert os.listdir(locked) == []


async def test_escape_writes_nothing(home, piped, here):
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_export(app, pilot, piped)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is not screen, 10)
    assert os.listdir(here) == []


async def test_the_file_is_a_normal_user_file_and_tilde_is_home(home, piped, here, monkeypatch):
    monkeypatch.setenv("HOME", str(here))
    previous = os.umask(0o027)
    try:
        app = VibesApp()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_export(app, pilot, piped)
            screen.query_one(Input).value = "~/shared.md"
            await pilot.press("enter")
            await until(pilot, lambda: app.screen is not screen, 10)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((here / "shared.md").stat().st_mode) == 0o640  # not mkstemp's 0o600


def marks(screen: ExportScreen) -> dict[str, str]:
    """Each format's button as drawn, colour aside: the character inside its brackets."""
    drawn = {}
    for button in screen.query(RadioButton):
        line = "".join(segment.text for segment in button.render_line(0))
        drawn[str(button.label)] = line[line.index("▐") + 1]
    return drawn


@pytest.mark.parametrize("term", ["xterm-256color", "linux"])
async def test_the_chosen_format_shows_without_colour(home, piped, here, monkeypatch, term):
    """NO_COLOR (or the Linux console's eight colours): Textual draws ● in every radio button
    and tells the chosen one by colour alone; here the chosen one alone is marked."""
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", term)
    chosen, other = ("*", " ") if term == "linux" else ("●", "○")
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_export(app, pilot, piped)
        assert marks(screen) == {"Markdown": chosen, "CSV": other, "JSON": other}
        await pilot.press("tab", "right", "enter")  # CSV
        await pilot.pause()
        assert marks(screen) == {"Markdown": other, "CSV": chosen, "JSON": other}
