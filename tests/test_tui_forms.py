"""The create and upload screens through Pilot, on a temporary VIBES_HOME with real data."""

import json
import threading

import pytest
from textual.widgets import Button, DataTable, Input, RadioButton, Select, Static

from tests.conftest import lake_state
from tests.test_tui import settle, until
from vibes_core import catalog, ingest
from vibes_core.errors import InvalidInput
from vibes_core.types import get_type
from vibes_tui.app import VibesApp
from vibes_tui.screens.create import CreateScreen
from vibes_tui.screens.upload import UploadScreen
from vibes_tui.widgets.files import FilePicker, PathSuggester

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SIZE = (80, 24)  # the smallest terminal the dashboard must work in


def text(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def shown(screen, selector: str) -> bool:
    return screen.query_one(selector).display


async def open_form(app, pilot, screen, results: list):
    await settle(app, pilot)
    await app.push_screen(screen, results.append)
    await pilot.pause()
    return screen


def write_ndjson(path, events: list[dict]):
    path.write_text("".join(json.dumps(event) + "\n" for event in events))
    return path


# --- the pieces ---------------------------------------------------------------------------


async def test_path_suggester_completes_names_and_folders(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "events.json").write_text("[]")
    (tmp_path / "events_2.csv").write_text("")
    (tmp_path / ".hidden.csv").write_text("")
    suggest = PathSuggester().get_suggestion
    assert await suggest(f"{tmp_path}/ev") == f"{tmp_path}/events.json"  # the first by name
    assert await suggest(f"{tmp_path}/events_") == f"{tmp_path}/events_2.csv"
    assert await suggest(f"{tmp_path}/d") == f"{tmp_path}/data/"
    assert await suggest(f"{tmp_path}/") == f"{tmp_path}/data/"  # hidden files only if typed
    assert await suggest(f"{tmp_path}/.h") == f"{tmp_path}/.hidden.csv"
    assert await suggest(f"{tmp_path}/nothing") is None
    assert await suggest(f"{tmp_path}/missing/x") is None


def test_preview_validates_like_an_upload(home, ab_test, tmp_path):
    good = write_ndjson(
        tmp_path / "good.ndjson",
        [
            {"timestamp": "2026-01-02T03:04:05+01:00", "variant": " A ", "outcome": True},
            {"variant": "B", "outcome": False},
            {"variant": "B", "outcome": True},
        ],
    )
    bad = write_ndjson(tmp_path / "bad.ndjson", [{"variant": "A", "outcome": "yes"}])
    ab = get_type("ab-test")
    with catalog.open_lake() as lake:
        preview = ingest.preview(lake.con, good, ab, rows=2)
        assert preview["rows"] == 3
        assert preview["columns"] == ["timestamp", "variant", "outcome"]
        assert preview["head"][0] == ["2026-01-02T02:04:05Z", "A", True]  # parsed: UTC, trimmed
        assert preview["head"][1][1:] == ["B", False] and preview["head"][1][0].endswith("Z")
        assert len(preview["head"]) == 2
        json.dumps(preview)  # JSON-friendly
        with pytest.raises(InvalidInput) as previewed:
            ingest.preview(lake.con, bad, ab)
        with pytest.raises(InvalidInput) as uploaded:
            catalog.upload(lake, "ab", bad)
    assert str(previewed.value) == str(uploaded.value)
    assert "record 1, column 'outcome'" in str(previewed.value)


# --- creating -----------------------------------------------------------------------------


async def test_create_from_generated_demo_events(home, ab_test):
    app, results = VibesApp(), []
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(app, pilot, CreateScreen(), results)
        await pilot.press(*"demo")
        screen.query_one("#type", Select).value = "poisson-cohorts"
        await pilot.pause()
        assert "exposure" in text(screen, "#schema-text")  # the schema follows the type
        screen.query_one("#from-demo", RadioButton).value = True
        await pilot.pause()
        assert shown(screen, "#demo-fields") and not shown(screen, "#file-fields")
        count = screen.query_one("#count", Input)
        assert count.value == "1000"
        count.value = "500"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: results == ["demo"], 120)
        await settle(app, pilot)
        assert not isinstance(app.screen, CreateScreen)
    assert lake_state(home)[1]["demo"] == 500
    with catalog.open_lake() as lake:
        assert catalog.get(lake, "demo").type == "poisson-cohorts"


async def test_create_from_a_file(home, ab_test, cli, tmp_path):
    events = tmp_path / "coin.csv"
    assert cli("generate", "bernoulli", "-n", "120", "--seed", "3", "-o", events).code == 0
    app, results = VibesApp(), []
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(app, pilot, CreateScreen(), results)
        await pilot.press(*"coin")
        screen.query_one("#display", Input).value = "A fair coin?"
        screen.query_one("#type", Select).value = "bernoulli"
        path = screen.query_one("#path", Input)
        path.focus()
        await pilot.press(*f"{tmp_path}/coi")  # then accept the completion with "right"
        await until(pilot, lambda: path._suggestion == str(events), 30)
        await pilot.press("right")
        assert path.value == str(events)
        await pilot.click("#create")
        await until(pilot, lambda: results == ["coin"], 120)
        await settle(app, pilot)
    assert lake_state(home)[1]["coin"] == 120
    with catalog.open_lake() as lake:
        assert catalog.get(lake, "coin").display_name == "A fair coin?"


async def test_a_bad_name_is_shown_as_you_type_and_creates_nothing(home, ab_test):
    before = lake_state(home)
    app, results = VibesApp(), []
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(app, pilot, CreateScreen(), results)
        await pilot.press(*"9lives")
        assert shown(screen, "#name-error")
        assert "invalid experiment name '9lives'" in text(screen, "#name-error")
        screen.query_one("#from-demo", RadioButton).value = True
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.screen is screen and results == []
        await pilot.press(
            "backspace", "backspace", "backspace", "backspace", "backspace", "backspace"
        )
        await pilot.press(*"lives")
        await pilot.pause()
        assert not shown(screen, "#name-error")
        await settle(app, pilot)
    assert lake_state(home) == before


async def test_a_taken_name_is_said_at_once(home, ab_test):
    before = lake_state(home)
    app, results = VibesApp(), []
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(app, pilot, CreateScreen(), results)
        await pilot.press("a", "b")
        await until(pilot, lambda: "already exists" in text(screen, "#name-error"), 60)
        screen.query_one("#from-demo", RadioButton).value = True
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.screen is screen and results == []
    assert lake_state(home) == before


async def test_a_bad_file_shows_the_ingest_error_and_changes_nothing(home, ab_test, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"variant": "A", "outcome": True, "colour": "red"}]))
    before = lake_state(home)
    app, results = VibesApp(), []
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(app, pilot, CreateScreen(), results)
        await pilot.press(*"fresh")
        screen.query_one("#path", Input).value = str(bad)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: shown(screen, "#path-error"), 60)
        await settle(app, pilot)
        assert "unknown column(s) 'colour'" in text(screen, "#path-error")
        assert app.screen is screen and results == []
        assert not screen.query_one("#create", Button).disabled  # ready for another try
        # In sight at 80x24 (below the file field, it was below the fold: a toast only said
        # it), and the field to fix has the focus.
        error, form = screen.query_one("#path-error"), screen.query_one("#form")
        assert form.region.contains_region(error.region), (error.region, form.region)
        assert app.focused is screen.query_one("#path", Input)
    assert lake_state(home) == before


async def test_a_bad_number_of_demo_events_is_shown_under_it(home, ab_test):
    before = lake_state(home)
    app, results = VibesApp(), []
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(app, pilot, CreateScreen(), results)
        await pilot.press(*"demo")
        screen.query_one("#from-demo", RadioButton).value = True
        screen.query_one("#count", Input).value = "0"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "from 1 to 10,000,000" in text(screen, "#count-error")
        screen.query_one("#count", Input).value = "1"  # one event: one variant, an A/B needs 2
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "at least 2 distinct" in text(screen, "#count-error"), 60)
        await settle(app, pilot)
        assert results == []
    assert lake_state(home) == before


# --- uploading ----------------------------------------------------------------------------


async def test_upload_previews_then_adds_the_events(home, ab_test, cli, tmp_path):
    batch = tmp_path / "batch.ndjson"
    assert cli("generate", "ab-test", "-n", "30", "--seed", "2", "-o", batch).code == 0
    snapshot, rows = lake_state(home)
    app, results = VibesApp(), []
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(app, pilot, UploadScreen("ab"), results)
        upload = screen.query_one("#upload", Button)
        assert upload.disabled
        screen.query_one("#path", Input).value = str(batch)
        await pilot.press("enter")
        await until(pilot, lambda: text(screen, "#summary").startswith("valid: 30 events"), 60)
        table = screen.query_one("#head", DataTable)
        assert table.row_count == 10 and len(table.columns) == 3
        assert not upload.disabled
        assert lake_state(home) == (snapshot, rows)  # a preview writes nothing
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(results) == 1, 120)
        await settle(app, pilot)
    assert results[0]["events_added"] == 30 and results[0]["events"] == 230
    assert lake_state(home)[1]["ab"] == rows["ab"] + 30


async def test_upload_of_a_bad_file_shows_the_first_problem_and_stays_disabled(
    home, ab_test, tmp_path
):
    bad = write_ndjson(
        tmp_path / "bad.ndjson",
        [
            {"variant": "A", "outcome": True},
            {"variant": "B", "outcome": "yes"},
        ],
    )
    before = lake_state(home)
    app, results = VibesApp(), []
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(app, pilot, UploadScreen("ab"), results)
        screen.query_one("#path", Input).value = str(bad)
        await pilot.click("#preview")
        await until(pilot, lambda: shown(screen, "#path-error"), 60)
        assert "record 2, column 'outcome'" in text(screen, "#path-error")
        assert screen.query_one("#upload", Button).disabled
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert app.screen is screen and results == []
    assert lake_state(home) == before


async def test_browse_picks_a_file_and_previews_it(home, ab_test, cli, tmp_path, monkeypatch):
    folder = tmp_path / "data"
    folder.mkdir()
    batch = folder / "batch.csv"
    assert cli("generate", "ab-test", "-n", "12", "--seed", "4", "-o", batch).code == 0
    (folder / ".hidden.csv").write_text("")
    monkeypatch.chdir(folder)  # Browse starts where the field points, else here
    app, results = VibesApp(), []
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(app, pilot, UploadScreen("ab"), results)
        await pilot.click("#path-browse")
        await until(pilot, lambda: isinstance(app.screen, FilePicker), 10)
        tree = app.screen.query_one("VisibleFiles")
        await until(pilot, lambda: len(tree.root.children) == 1, 30)  # no hidden files
        await pilot.press("down", "enter")
        await until(pilot, lambda: text(screen, "#summary").startswith("valid: 12 events"), 60)
        assert app.screen is screen
        assert screen.query_one("#path", Input).value == str(batch)
        await settle(app, pilot)


async def test_leaving_while_it_runs_neither_crashes_nor_undoes_it(
    home, ab_test, tmp_path, monkeypatch
):
    from vibes_tui.screens.experiments import ExperimentsScreen

    gate, real_create = threading.Event(), catalog.create

    def held_create(*args, **kwargs):  # runs once the test has left the screen
        assert gate.wait(60)
        return real_create(*args, **kwargs)

    monkeypatch.setattr(catalog, "create", held_create)
    bad = tmp_path / "bad.json"
    bad.write_text("[{")
    app, results = VibesApp(), []
    async with app.run_test(size=SIZE) as pilot:
        for name, source in (("broken", str(bad)), ("quick", None)):
            screen = await open_form(app, pilot, CreateScreen(), results)
            await pilot.press(*name)
            if source:
                screen.query_one("#path", Input).value = source
            else:
                screen.query_one("#from-demo", RadioButton).value = True
            await pilot.press("ctrl+s")
            assert screen.query_one("#create", Button).disabled  # while it runs
            await pilot.press("escape")
            assert isinstance(app.screen, ExperimentsScreen)
            gate.set()
            await settle(app, pilot)
            gate.clear()
            assert isinstance(app.screen, ExperimentsScreen) and results == []
    tables = lake_state(home)[1]
    assert "broken" not in tables and tables["quick"] == 1000


async def test_the_upload_preview_warns_of_groups_the_experiment_has_never_seen(
    home, ab_test, tmp_path
):
    batch = write_ndjson(
        tmp_path / "typo.ndjson",
        [
            {"variant": "A", "outcome": True},
            {"variant": "b", "outcome": False},  # the experiment has A and B
            {"variant": "[C]", "outcome": True},
        ],
    )
    app, results = VibesApp(), []
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(app, pilot, UploadScreen("ab"), results)
        screen.query_one("#path", Input).value = str(batch)
        await pilot.press("enter")
        await until(pilot, lambda: text(screen, "#summary").startswith("valid: 3 events"), 60)
        said = text(screen, "#summary")
        assert "warning: variants ab has never seen: b, [C]; a typo" in said
        assert not screen.query_one("#upload", Button).disabled  # a new variant is allowed


async def test_an_upload_of_known_groups_has_no_warning(home, ab_test, tmp_path):
    batch = write_ndjson(tmp_path / "ok.ndjson", [{"variant": "B", "outcome": True}])
    app, results = VibesApp(), []
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(app, pilot, UploadScreen("ab"), results)
        screen.query_one("#path", Input).value = str(batch)
        await pilot.press("enter")
        await until(pilot, lambda: text(screen, "#summary").startswith("valid: 1 event,"), 60)
        assert "warning" not in text(screen, "#summary")


async def test_keys_typed_right_after_tab_go_to_the_next_field(home, ab_test):
    """`race_one`, Tab, `Display`, all queued before the app handles the first key (a fast
    typist, a busy app): each field gets its own text."""
    from textual import events

    app, results = VibesApp(), []
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_form(app, pilot, CreateScreen(), results)
        keys = [(c, c) for c in "race_one"] + [("tab", "\t")] + [(c, c) for c in "Display"]
        for key, character in [("underscore" if k == "_" else k, c) for k, c in keys]:
            app.post_message(events.Key(key, character))
        await pilot.pause()
        assert screen.query_one("#name", Input).value == "race_one"
        assert screen.query_one("#display", Input).value == "Display"
        await pilot.press("shift+tab", "end", "s")  # back again (focus selects the text)
        assert screen.query_one("#name", Input).value == "race_ones"
