"""What is read back from the catalog is input: rows written past validation (a shared
catalog is written by others, and by other versions) are checked as they are read. A row that
breaks the rules is ignored with one warning and never hides the others; a name never becomes
a path unchecked; saved options that cannot be read, or no longer fit the data, are left out
with a warning and never stop an answer."""

import json

import pytest

from tests.conftest import lake_state
from tests.test_tui import settle, table_rows, until
from vibes_core import catalog
from vibes_core.analysis import Analysis
from vibes_core.cache import Cache
from vibes_core.config import load_config
from vibes_core.errors import InvalidName
from vibes_tui.app import VibesApp
from vibes_tui.screens.confirm import ConfirmClear
from vibes_tui.screens.inspect import InspectScreen

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CONTROL_NAME = "x\x1b]0;pwned\x07" * 30  # a terminal title sequence, and long
DEEP = "[" * 100_000 + "]" * 100_000  # json.loads: RecursionError
HUGE = "1" + "0" * 400  # float(): OverflowError


def write_rows(rows: list[tuple[str, str]]) -> None:
    """(name, type) rows straight into the catalog, as another tool or version could."""
    with catalog.open_lake() as lake:
        lake.write(
            lambda con: con.executemany(
                f"INSERT INTO {catalog.METADATA} (name, display_name, type, created_at) "
                "VALUES (?, ?, ?, now())",
                [[name, "planted", kind] for name, kind in rows],
            ),
            "rows past validation",
        )


def set_column(name: str, column: str, value: str | None) -> None:
    with catalog.open_lake() as lake:
        lake.write(
            lambda con: con.execute(
                f"UPDATE {catalog.METADATA} SET {column} = ? WHERE name = ?", [value, name]
            ),
            "as another version wrote it",
        )


def warnings_of(err: str) -> list[str]:
    lines = err.strip().splitlines()
    assert all(line.startswith(("vibes: warning: ", "vibes: note: ")) for line in lines), err
    return [line.removeprefix("vibes: warning: ") for line in lines]


@pytest.fixture
def outside(tmp_path):
    """A folder outside VIBES_HOME with a file in it: nothing of vibes may touch it."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "precious.txt").write_text("mine")
    return folder


def test_a_bad_row_is_ignored_with_one_warning_and_hides_nothing(cli, ab_test, home, outside):
    write_rows(
        [
            ("..", "ab-test"),
            (str(outside), "ab-test"),
            (CONTROL_NAME, "ab-test"),
            ("orphan", "ab-test"),  # a valid name without its table
            ("ab", "ab-test"),  # the same name twice
        ]
    )
    listed = cli("experiments", "list")
    assert listed.code == 0, listed.err
    assert [e["name"] for e in listed.json()] == ["ab"]
    said = warnings_of(listed.err)
    assert "experiment row '..' is not a valid name: ignored" in said
    assert f"experiment row '{str(outside)[:40]}" in listed.err
    assert "\x1b" not in listed.err and "\\x1b" in listed.err  # shown as an escape
    assert all(len(line) < 200 for line in said)  # long names are cut
    assert any(line.startswith("experiment row orphan has no table") for line in said)
    assert any("ab appears more than once" in line for line in said)
    assert len(said) == 5
    assert cli("posterior", "ab", "--exact", "--json").code == 0

    deleted = cli("experiments", "delete", "orphan")  # what the warning says to do
    assert deleted.code == 0 and deleted.json()["events"] == 0, deleted.err
    assert "orphan" not in cli("experiments", "list").err
    assert (outside / "precious.txt").read_text() == "mine" and (home / "catalog.sqlite").exists()


def test_an_experiment_of_a_type_this_vibes_does_not_know_is_listed_with_a_warning(cli, ab_test):
    set_column("ab", "type", "from-a-plugin")
    listed = cli("experiments", "list")
    assert listed.code == 0, listed.err
    assert [(e["name"], e["type"]) for e in listed.json()] == [("ab", "from-a-plugin")]
    [said] = warnings_of(listed.err)
    assert "'from-a-plugin', which this vibes does not know" in said


HOSTILE = [  # (column, stored, the options then listed, what the warning says)
    ("options", f'{{"hdi_prob": {HUGE}, "control": "B"}}', {"control": "B"}, "saved hdi_prob"),
    ("options", '{"max_loss": true, "rope": 0.05}', {"rope": 0.05}, "saved max_loss"),
    ("options", '{"split": {"A": true, "B": 1}}', {}, "saved split"),
    ("options", DEEP, {}, "saved options are not JSON"),
    ("options", "[1, 2]", {}, "not a JSON object"),
    ("groups", DEEP, {}, "recorded order of groups"),
]


@pytest.mark.parametrize(("column", "stored", "options", "said"), HOSTILE)
def test_saved_options_or_groups_that_cannot_be_read_stop_no_answer(
    cli, ab_test, column, stored, options, said
):
    """A 400-digit number, JSON nested 100,000 deep, a boolean for a number: left out with a
    warning that says how to clear them; the list and every posterior answer."""
    set_column("ab", column, stored)
    listed = cli("experiments", "list")
    assert listed.code == 0, listed.err
    assert listed.json()[0]["options"] == options
    [warning] = warnings_of(listed.err)
    assert warning.startswith("experiment ab: ") and said in warning
    assert len(warning) < 300
    if column == "options":
        assert "`vibes experiments options ab --reset`" in warning
    answer = cli("posterior", "ab", "--exact", "--json")
    assert answer.code == 0, answer.err
    assert answer.json()["hdi_prob"] == 0.94 and said in answer.err
    if column == "options":
        assert cli("experiments", "options", "ab", "--reset").code == 0
        assert cli("experiments", "list").err == ""


@pytest.fixture
def grown(cli, tmp_path) -> tuple[str, int]:
    """An ab-test of A and B, then C in a later upload; the snapshot before C."""
    first = [{"variant": v, "outcome": i % 4 == 0} for v in "AB" for i in range(100)]
    later = [{"variant": "C", "outcome": i % 3 == 0} for i in range(100)]
    (tmp_path / "first.json").write_text(json.dumps(first))
    (tmp_path / "later.json").write_text(json.dumps(later))
    made = cli(
        "experiments", "create", "grown", "--type", "ab-test", "--initial-data-file",
        tmp_path / "first.json",
    )  # fmt: skip
    assert made.code == 0, made.err
    assert cli("events", "upload", "grown", "-f", tmp_path / "later.json").code == 0
    return "grown", made.json()["snapshot"]


def test_a_saved_option_that_does_not_fit_the_snapshot_is_left_out_with_a_warning(cli, grown):
    name, before_c = grown
    set_column(name, "options", '{"control": "C"}')  # as `o` saves it

    now = cli("posterior", name, "--exact", "--json")
    assert now.code == 0 and now.json()["control"] == "C" and "left out" not in now.err

    then = cli("posterior", name, "--exact", "--json", "--as-of-version", before_c)
    assert then.code == 0, then.err
    assert then.json()["control"] == "A"  # the default: the first
    [warning] = [line for line in warnings_of(then.err) if "saved control" in line]
    assert "'C' is not a variant with events at this snapshot" in warning
    assert f"`vibes experiments options {name} --control ...`" in warning

    given = cli("posterior", name, "--exact", "--as-of-version", before_c, "--control", "C")
    error = given.err.strip().splitlines()[-1]
    assert given.code == 1 and "--control 'C' is not a variant" in error  # given: an error
    assert "saved" not in error


def test_a_saved_split_of_thousands_of_unknown_variants_is_left_out(cli, grown):
    name, _ = grown
    split = {"A": 1, "B": 1, "C": 1} | {f"ghost{i}": 1 for i in range(5000)}
    set_column(name, "options", json.dumps({"split": split}))
    answer = cli("posterior", name, "--exact", "--json")
    assert answer.code == 0, answer.err
    assert [group["name"] for group in answer.json()["groups"]] == ["A", "B", "C"]
    [warning] = [line for line in warnings_of(answer.err) if "saved split" in line]
    assert "'ghost0', 'ghost1'" in warning and "and 4,995 more" in warning
    assert len(warning) < 400


def test_experiments_options_shows_sets_and_resets_the_saved_options(cli, home, grown):
    name, _ = grown
    assert cli("experiments", "options", name).json() == {}
    snapshot, _ = lake_state(home)
    set_ = cli("experiments", "options", name, "--hdi-prob", "0.9", "--control", "B")
    assert set_.code == 0 and set_.json() == {"control": "B", "hdi_prob": 0.9}, set_.err
    assert lake_state(home)[0] == snapshot + 1  # one snapshot
    answer = cli("posterior", name, "--exact", "--json").json()
    assert (answer["control"], answer["hdi_prob"]) == ("B", 0.9)

    added = cli("experiments", "options", name, "--rope", "0.05", "--split", "A=1,B=1,C=2")
    assert added.json() == {
        "control": "B",
        "hdi_prob": 0.9,
        "split": {"A": 1.0, "B": 1.0, "C": 2.0},
        "rope": 0.05,
    }
    assert cli("experiments", "options", name).json() == added.json()

    snapshot, _ = lake_state(home)
    for bad, said in [
        (["--control", "Z"], "--control: 'Z' is not a variant"),
        (["--split", "A=1,Z=1"], "--split: it names 'Z'"),
        (["--threshold", "0.5"], "--threshold does not apply to a"),
        (["--prior", "gamma=3"], "gamma"),
    ]:
        refused = cli("experiments", "options", name, *bad)
        assert refused.code == 1 and said in refused.err, (bad, refused.err)
    refused = cli("experiments", "options", name, "--hdi-prob", "2")
    assert refused.code == 2  # out of range: a usage error
    assert lake_state(home)[0] == snapshot  # nothing saved
    assert cli("experiments", "options", name).json() == added.json()

    replaced = cli("experiments", "options", name, "--reset", "--hdi-prob", "0.8")
    assert replaced.json() == {"hdi_prob": 0.8}
    cleared = cli("experiments", "options", name, "--reset")
    assert cleared.code == 0 and cleared.json() == {} and "cleared" in cleared.err
    assert cli("experiments", "list").json()[0]["options"] == {}


def test_a_name_that_breaks_the_rule_never_becomes_a_folder_to_delete(home, ab_test, outside):
    """Defence in depth: clearing the cache of '..' or of an absolute path would remove
    $VIBES_HOME itself or that folder; the name is refused first."""
    cache = Cache(load_config())
    for name in ("..", str(outside), "ab/../..", ""):
        with pytest.raises(InvalidName):
            cache.clear(name)
    assert (outside / "precious.txt").read_text() == "mine"
    assert (home / "catalog.sqlite").exists()


@pytest.mark.mcmc  # the screen's fit runs to its end
async def test_the_dashboard_lists_the_good_rows_and_c_clears_only_its_own_copies(
    home, ab_test, outside, tmp_path
):
    write_rows([("..", "ab-test"), (str(outside), "ab-test"), ("orphan", "ab-test")])
    elsewhere = tmp_path / "elsewhere"  # fits/ab a link to it: the link goes, not its target
    elsewhere.mkdir()
    (elsewhere / "kept.json").write_text("{}")
    (home / "fits").mkdir(mode=0o700)
    (home / "fits" / "ab").symlink_to(elsewhere, target_is_directory=True)

    app, toasts = VibesApp(), []
    shown = app.notify
    app.notify = lambda message, **options: (toasts.append(message), shown(message, **options))

    def warned() -> list[str]:
        return [message for message in toasts if "is not a valid name" in message]

    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: table_rows(app))
        assert [row[0] for row in table_rows(app)] == ["ab"]
        [toast] = warned()
        assert "'..' is not a valid name" in toast and "orphan has no table" in toast
        await pilot.press("enter")
        # The screen's MCMC fit ends first: one still running when c clears writes its copy
        # afterwards (as it should: it is the newest fit).
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, InspectScreen)
                and (app.screen.summary or {}).get("method") == "mcmc"
            ),
        )
        await pilot.press("c")  # it asks first
        await until(pilot, lambda: isinstance(app.screen, ConfirmClear))
        await pilot.press("y")
        await until(pilot, lambda: any("cached fit" in message for message in toasts))
        assert not (home / "fits" / "ab").exists() and not (home / "fits" / "ab").is_symlink()
        await pilot.press("escape")
        with catalog.open_lake() as lake:  # another process writes: the list is read again
            catalog.save_analysis(lake, "ab", Analysis(hdi_prob=0.9))
        home_screen = app.screen
        snapshot = home_screen.snapshot
        await until(pilot, lambda: home_screen.snapshot != snapshot)
        await settle(app, pilot)
        assert len(warned()) == 1  # said once, not at every load
    assert (outside / "precious.txt").read_text() == "mine"
    assert (elsewhere / "kept.json").read_text() == "{}"
    assert (home / "catalog.sqlite").exists() and (home / "data").exists()
