"""The upload form's file field through Pilot: Browse... and completion, on real files."""

from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Label

from tests.test_tui import until
from vibes_tui.terminal import plain_terminal
from vibes_tui.widgets.files import (
    FileField,
    FilePicker,
    PathInput,
    VisibleFiles,
    path_completions,
)

SIZE = (80, 24)
CONSOLE_SAFE = set("│├└─")  # beyond ASCII, only the box-drawing lines the Linux console has


class FieldApp(App):
    def compose(self) -> ComposeResult:
        yield FileField("path")


def touch(folder: Path, *names: str) -> None:
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith("/"):
            path.mkdir(exist_ok=True)
        else:
            path.write_text("")


async def browse(app, pilot) -> tuple[FilePicker, VisibleFiles]:
    await pilot.click("#path-browse")
    await until(pilot, lambda: isinstance(app.screen, FilePicker), 10)
    return app.screen, app.screen.query_one(VisibleFiles)


def names(tree: VisibleFiles) -> set[str]:
    return {str(node.label) for node in tree.root.children}


def folder_shown(picker: FilePicker) -> str:
    return str(picker.query_one("#folder", Label).render())


async def type_path(pilot, field: PathInput, value: str, suggestion: str) -> None:
    field.focus()
    await pilot.press(*value)
    await until(pilot, lambda: field._suggestion == suggestion, 10)


# --- Browse... ----------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["", "nowhere/at/all.csv"])
async def test_browse_starts_in_the_working_directory(tmp_path, monkeypatch, typed):
    here = tmp_path / "here"
    touch(here, "events.csv")
    monkeypatch.chdir(here)
    app = FieldApp()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one(PathInput).value = typed
        picker, tree = await browse(app, pilot)
        assert tree.path == here.resolve()
        assert folder_shown(picker) == str(here.resolve())
        await until(pilot, lambda: names(tree) == {"events.csv"}, 10)


async def test_browse_starts_in_the_typed_files_folder(tmp_path, monkeypatch):
    touch(tmp_path, "data/batch.csv", "elsewhere/")
    monkeypatch.chdir(tmp_path / "elsewhere")
    app = FieldApp()
    async with app.run_test(size=SIZE) as pilot:
        app.query_one(PathInput).value = str(tmp_path / "data" / "batch.csv")
        _, tree = await browse(app, pilot)
        assert tree.path == (tmp_path / "data").resolve()


async def test_going_up_re_roots_the_tree_at_the_parent(tmp_path, monkeypatch):
    touch(tmp_path, "a/b/inner.csv", "a/sibling.json", "top.csv")
    monkeypatch.chdir(tmp_path / "a" / "b")
    app = FieldApp()
    async with app.run_test(size=SIZE) as pilot:
        picker, tree = await browse(app, pilot)
        await pilot.press("backspace")
        a = (tmp_path / "a").resolve()
        await until(pilot, lambda: names(tree) == {"b", "sibling.json"}, 10)
        assert tree.path == a and folder_shown(picker) == str(a)
        await pilot.press("minus")
        await until(pilot, lambda: "top.csv" in names(tree), 10)
        assert tree.path == tmp_path.resolve() and folder_shown(picker) == str(tmp_path.resolve())


async def test_going_up_from_the_root_stays_there():
    app = FieldApp()
    async with app.run_test(size=SIZE) as pilot:
        picker = FilePicker(Path("/"))
        await app.push_screen(picker)
        await pilot.press("backspace", "backspace")
        await pilot.pause()
        assert picker.query_one(VisibleFiles).path == Path("/")
        assert folder_shown(picker) == "/"


async def test_j_and_k_move_in_the_tree_and_enter_picks(tmp_path, monkeypatch):
    touch(tmp_path, "a.csv", "b.csv", "c.csv")
    monkeypatch.chdir(tmp_path)
    app = FieldApp()
    async with app.run_test(size=SIZE) as pilot:
        _, tree = await browse(app, pilot)
        await until(pilot, lambda: len(tree.root.children) == 3, 10)
        await pilot.press("j", "j", "j", "k")  # the root, a, b, c, then back to b
        assert tree.cursor_node.label.plain == "b.csv"
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, FilePicker), 10)
        assert app.query_one(PathInput).value == str(tmp_path.resolve() / "b.csv")


async def test_the_tree_shows_folders_and_data_files_only(tmp_path, monkeypatch):
    data = ["a.csv", "B.CSV", "c.csv.gz", "d.JSON.GZ", "e.ndjson", "f.jsonl", "g.parquet"]
    touch(tmp_path, *data, "notes.txt", "archive.gz", "csv", "run.py", ".hidden.csv", ".git/")
    touch(tmp_path, "sub/")
    monkeypatch.chdir(tmp_path)
    app = FieldApp()
    async with app.run_test(size=SIZE) as pilot:
        _, tree = await browse(app, pilot)
        await until(pilot, lambda: len(tree.root.children) > 0, 10)
        assert names(tree) == {*data, "sub"}


async def test_a_file_name_is_shown_as_it_is(tmp_path, monkeypatch):
    touch(tmp_path, "[bold]\x1b[31mred.csv")  # markup and an escape sequence
    monkeypatch.chdir(tmp_path)
    app = FieldApp()
    async with app.run_test(size=SIZE) as pilot:
        _, tree = await browse(app, pilot)
        await until(pilot, lambda: names(tree) == {"[bold]\\x1b[31mred.csv"}, 10)


@pytest.mark.parametrize("term", ["linux", "xterm-256color"])
async def test_the_linux_console_gets_no_emoji(tmp_path, monkeypatch, term):
    monkeypatch.setenv("TERM", term)
    touch(tmp_path, "folder/inner.csv", "folder/deeper/", "top.csv")
    monkeypatch.chdir(tmp_path)
    app = FieldApp()
    async with app.run_test(size=SIZE) as pilot:
        _, tree = await browse(app, pilot)
        await until(pilot, lambda: names(tree) == {"folder", "top.csv"}, 10)
        await pilot.press("down", "enter")  # open "folder": an expanded icon and guide lines
        await until(pilot, lambda: len(tree.root.children[0].children) == 2, 10)
        await pilot.pause()
        drawn = "".join(segment.text for y in range(6) for segment in tree.render_line(y))
    assert "inner.csv" in drawn and "top.csv" in drawn
    unsafe = {char for char in drawn if ord(char) > 127 and char not in CONSOLE_SAFE}
    if plain_terminal():
        assert not unsafe
    else:  # the check sees the icons where they are drawn
        assert {"📂", "📁", "📄"} <= unsafe


# --- completion ---------------------------------------------------------------------------


def test_only_folders_and_data_files_are_offered(tmp_path):
    touch(tmp_path, "data/", "data.CSV", "data.csv.gz", "data.txt", "data.py", ".data.csv")
    assert path_completions(f"{tmp_path}/da") == [  # by name
        f"{tmp_path}/data/",
        f"{tmp_path}/data.CSV",
        f"{tmp_path}/data.csv.gz",
    ]
    assert path_completions(f"{tmp_path}/.d") == [f"{tmp_path}/.data.csv"]  # hidden if typed


async def test_right_cycles_through_the_matches_and_wraps(tmp_path):
    touch(tmp_path, "data_a.csv", "data_b.csv", "data_c.txt")
    app = FieldApp()
    async with app.run_test(size=SIZE) as pilot:
        field = app.query_one(PathInput)
        await type_path(pilot, field, f"{tmp_path}/data_", f"{tmp_path}/data_a.csv")
        await pilot.press("right")
        assert field.value == f"{tmp_path}/data_a.csv"
        await until(pilot, lambda: len(field.matches) == 2, 10)
        await pilot.press("right")
        assert field.value == f"{tmp_path}/data_b.csv"
        await pilot.press("right")
        assert field.value == f"{tmp_path}/data_a.csv"  # round again; data_c.txt is no data
        await pilot.press("backspace")  # typing starts a new completion
        assert field.matches == []
        await until(pilot, lambda: field._suggestion == f"{tmp_path}/data_a.csv", 10)


async def test_a_folder_completes_with_a_slash_and_right_goes_on_inside(tmp_path):
    touch(tmp_path, "folder/inner.csv")
    app = FieldApp()
    async with app.run_test(size=SIZE) as pilot:
        field = app.query_one(PathInput)
        await type_path(pilot, field, f"{tmp_path}/fo", f"{tmp_path}/folder/")
        await pilot.press("right")
        assert field.value == f"{tmp_path}/folder/"
        await until(pilot, lambda: field._suggestion == f"{tmp_path}/folder/inner.csv", 10)
        await pilot.press("right")  # the only match: → completes inside it
        assert field.value == f"{tmp_path}/folder/inner.csv"


async def test_while_cycling_no_ghost_promises_what_right_will_not_do(tmp_path):
    touch(tmp_path, "data/inner.csv", "data.csv")
    app = FieldApp()
    async with app.run_test(size=SIZE) as pilot:
        field = app.query_one(PathInput)
        await type_path(pilot, field, f"{tmp_path}/dat", f"{tmp_path}/data/")
        await pilot.press("right")
        await until(pilot, lambda: len(field.matches) == 2, 10)
        await pilot.pause(0.3)  # the suggestion for "data/" had time to come
        assert field._suggestion == ""  # not "data/inner.csv": → goes to data.csv
        await pilot.press("right")
        assert field.value == f"{tmp_path}/data.csv"
        await pilot.press("right")
        assert field.value == f"{tmp_path}/data/"  # round again
        await pilot.pause(0.3)
        assert field._suggestion == ""
