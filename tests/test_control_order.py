"""The control (the reference cohort) is the first group of the initial data, in the order the
file holds its events, unless ``--control`` at creation says otherwise; groups new in an upload
come after the known ones, in their order in the batch. Experiments of an older lake, which
recorded no order, are compared alphabetically as before."""

import json
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import lake_state, run_vibes
from vibes_core import catalog


def create(cli, tmp_path, name, type_name, events: list[dict] | str, *extra):
    """Create ``name`` from ``events`` (a list, written as JSON, or a path) through the CLI."""
    if isinstance(events, list):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(events))
    else:
        path = events
    return cli(
        "experiments", "create", name, "--type", type_name, "--initial-data-file", path, *extra
    )


def exact(cli, name, *extra) -> dict:
    result = cli("posterior", name, "--exact", "--json", *extra)
    assert result.code == 0, result.err
    return result.json()


def names(summary: dict) -> list[str]:
    return [row["name"] for row in summary["groups"]]


def listed(cli, name) -> dict:
    [experiment] = [e for e in cli("experiments", "list").json() if e["name"] == name]
    return experiment


def ab_events(variants: list[str], n: int = 10) -> list[dict]:
    """``n`` events per variant, the variants first appearing in the order given."""
    return [{"variant": v, "outcome": i % 3 == 0} for i in range(n) for v in variants]


@pytest.mark.parametrize("type_name", ["ab-test", "revenue"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_variants_have_the_control_first(cli, tmp_path, type_name, seed):
    path = tmp_path / "events.json"
    generated = cli(
        "generate", type_name, "-n", "400", "--seed", seed, "--variants", "B,A", "-o", path
    )
    assert generated.code == 0, generated.err
    assert json.loads(path.read_text())[0]["variant"] == "B"  # what "the control first" says
    assert create(cli, tmp_path, "exp", type_name, path).code == 0

    summary = exact(cli, "exp")
    assert summary["control"] == "B"
    assert names(summary) == ["B", "A"]
    assert [row["control"] for row in summary["groups"]] == [True, False]
    assert "uplift_abs" in summary["groups"][1] and "uplift_abs" not in summary["groups"][0]
    assert listed(cli, "exp")["groups"] == ["B", "A"]


def test_the_reference_cohort_is_the_first_in_the_file(cli, tmp_path):
    path = tmp_path / "visits.csv"
    rows = [f"{c},{3 + i % 4},{1.0 + i % 2}" for i in range(12) for c in ("north", "south", "east")]
    path.write_text("cohort,events,exposure\n" + "\n".join(rows) + "\n")
    assert create(cli, tmp_path, "visits", "poisson-cohorts", path).code == 0

    summary = exact(cli, "visits")
    assert summary["control"] == "north"
    assert names(summary) == ["north", "south", "east"]
    assert "rate_ratio" not in summary["groups"][0]
    assert all("rate_ratio" in row for row in summary["groups"][1:])


def test_generated_cohorts_keep_the_order_given(cli, tmp_path):
    path = tmp_path / "cohorts.csv"
    argv = ("generate", "poisson-cohorts", "-n", "300", "--seed", "5", "--cohorts")
    assert cli(*argv, "north,south,east", "-o", path).code == 0
    assert create(cli, tmp_path, "cohorts", "poisson-cohorts", path).code == 0
    summary = exact(cli, "cohorts")
    assert summary["control"] == "north" and names(summary) == ["north", "south", "east"]


def test_control_at_creation_comes_first(cli, tmp_path):
    created = create(cli, tmp_path, "ab", "ab-test", ab_events(["A", "B", "C"]), "--control", "C")
    assert created.code == 0, created.err
    assert created.json()["groups"] == ["C", "A", "B"]
    summary = exact(cli, "ab")
    assert summary["control"] == "C" and names(summary) == ["C", "A", "B"]
    # Per call, --control still picks another one, without changing the record.
    assert exact(cli, "ab", "--control", "B")["control"] == "B"
    assert exact(cli, "ab")["control"] == "C"


def test_control_from_python(home, tmp_path):
    import vibes_core as vc

    frame = {"cohort": ["b", "a", "c"], "events": [3, 4, 5], "exposure": [1.0, 1.0, 1.0]}
    assert vc.create("plain", "poisson-cohorts", frame)["groups"] == ["b", "a", "c"]
    assert vc.create("chosen", "poisson-cohorts", frame, control="c")["groups"] == ["c", "b", "a"]
    assert vc.fit("plain", exact=True)["control"] == "b"
    assert vc.fit("chosen", exact=True)["control"] == "c"
    assert {e["name"]: e["groups"] for e in vc.experiments()} == {
        "chosen": ["c", "b", "a"],
        "plain": ["b", "a", "c"],
    }


BAD_CONTROLS = [
    ("not a variant", "ab-test", ab_events(["A", "B"]), "Z", "--control 'Z' is not a variant"),
    (
        "not a cohort",
        "poisson-cohorts",
        [{"cohort": "north", "events": 1}, {"cohort": "south", "events": 2}],
        "east",
        "--control 'east' is not a cohort",
    ),
    (
        "a type without groups",
        "bernoulli",
        [{"outcome": True}, {"outcome": False}],
        "A",
        "--control does not apply to a bernoulli experiment",
    ),
    (
        "arms have no control",
        "multi-armed-bandits",
        [{"arm": "x", "reward": True}, {"arm": "y", "reward": False}],
        "x",
        "--control does not apply to a multi-armed-bandits experiment",
    ),
]


@pytest.mark.parametrize(
    ("type_name", "events", "control", "words"),
    [case[1:] for case in BAD_CONTROLS],
    ids=[case[0] for case in BAD_CONTROLS],
)
def test_a_bad_control_is_one_line_and_creates_nothing(
    cli, home, tmp_path, ab_test, type_name, events, control, words
):
    before = lake_state(home)
    result = create(cli, tmp_path, "new", type_name, events, "--control", control)
    assert result.code == 1, result
    assert result.out == ""
    assert result.err.count("\n") == 1 and result.err.startswith("vibes: error: "), result.err
    assert words in result.err
    assert lake_state(home) == before


def test_an_upload_appends_its_new_groups_in_its_order(cli, tmp_path):
    assert create(cli, tmp_path, "ab", "ab-test", ab_events(["B", "A"])).code == 0
    created_at = exact(cli, "ab")["snapshot"]
    batch = json.dumps(ab_events(["D", "A", "C", "B"]))
    assert cli("events", "upload", "ab", stdin=batch).code == 0

    summary = exact(cli, "ab")
    assert summary["control"] == "B" and names(summary) == ["B", "A", "D", "C"]
    assert listed(cli, "ab")["groups"] == ["B", "A", "D", "C"]
    # A batch of known groups only changes nothing; an earlier snapshot keeps the same order.
    assert cli("events", "upload", "ab", stdin=json.dumps(ab_events(["C", "A"]))).code == 0
    assert listed(cli, "ab")["groups"] == ["B", "A", "D", "C"]
    then = exact(cli, "ab", "--as-of-version", created_at)
    assert then["control"] == "B" and names(then) == ["B", "A"]


LARGE = 300_000


def large_groups() -> list[str]:
    """300,000 events: 'm' alone, then 'z' from event 150,000, 'b' from 250,000 and the
    alphabetically first, 'a', only from 290,000."""
    cycle = {0: ["m"], 150_000: ["m", "z"], 250_000: ["m", "z", "b"], 290_000: ["m", "z", "b", "a"]}
    groups, current = [], ["m"]
    for i in range(LARGE):
        current = cycle.get(i, current)
        groups.append(current[i % len(current)])
    return groups


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_large_file_keeps_its_order_of_first_appearance(cli, tmp_path, fmt):
    groups = large_groups()
    assert list(dict.fromkeys(groups)) == ["m", "z", "b", "a"] and groups.index("a") > 290_000
    table = pa.table(
        {
            # A long column, so that the file is large (about 15 MB as CSV): DuckDB reads it
            # in many pieces.
            "timestamp": [
                f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:30:00.123456+01:00" for i in range(LARGE)
            ],
            "variant": groups,
            "outcome": [i % 7 == 0 for i in range(LARGE)],
        }
    )
    path = tmp_path / f"large.{fmt}"
    if fmt == "csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, path)
        assert path.stat().st_size > 10_000_000
    else:
        pq.write_table(table, path, row_group_size=4096)  # 74 row groups
    created = create(cli, tmp_path, "large", "ab-test", path)
    assert created.code == 0, created.err
    assert created.json()["events"] == LARGE
    summary = exact(cli, "large")
    assert summary["control"] == "m" and names(summary) == ["m", "z", "b", "a"]
    assert created.json()["groups"] == ["m", "z", "b", "a"]


def old_experiment(name: str, events: list[dict], *, drop_column: bool) -> None:
    """An experiment as an older vibes made it: no order recorded (the value NULL, or the lake
    without the column at all), written past create as that version would have left it."""
    with catalog.open_lake() as lake:
        source = lake.config.home / f"{name}.json"
        source.write_text(json.dumps(events))
        catalog.create(lake, name, "ab-test", source)

        def forget(con) -> None:
            if drop_column:  # nor the analysis options, newer still
                con.execute(f"ALTER TABLE {catalog.METADATA} DROP COLUMN options")
                con.execute(f"ALTER TABLE {catalog.METADATA} DROP COLUMN groups")
            else:
                con.execute(f"UPDATE {catalog.METADATA} SET groups = NULL WHERE name = ?", [name])

        lake.write(forget, "as an old version wrote it")


@pytest.mark.parametrize("drop_column", [False, True], ids=["no value", "no column"])
def test_an_experiment_of_an_older_version_is_compared_alphabetically(cli, home, drop_column):
    old_experiment("old", ab_events(["B", "A"]), drop_column=drop_column)

    summary = exact(cli, "old")  # opening the lake adds the column back, if it was missing
    assert summary["control"] == "A" and names(summary) == ["A", "B"]
    assert listed(cli, "old")["groups"] is None
    # An upload with a new group records no partial order: the groups stay alphabetical.
    assert cli("events", "upload", "old", stdin=json.dumps(ab_events(["C", "0"]))).code == 0
    summary = exact(cli, "old")
    assert summary["control"] == "0" and names(summary) == ["0", "A", "B", "C"]
    assert listed(cli, "old")["groups"] is None
    # New experiments of the same lake record theirs.
    assert (
        cli(
            "experiments",
            "create",
            "new",
            "--type",
            "ab-test",
            stdin=json.dumps(ab_events(["Y", "X"])),
        ).code
        == 0
    )
    assert exact(cli, "new")["control"] == "Y"


def test_several_processes_opening_an_old_lake_add_the_column_once(home):
    old_experiment("old", ab_events(["B", "A"]), drop_column=True)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: run_vibes("experiments", "list"), range(4)))
    assert [r.code for r in results] == [0] * 4, [r.err for r in results]
    assert all(r.json()[0]["groups"] is None for r in results)
    with catalog.open_lake() as lake:
        columns = [row[0] for row in lake.con.execute(f"DESCRIBE {catalog.METADATA}").fetchall()]
    added = ["groups", "options", "metrics"]
    assert sorted(columns) == sorted(["name", "display_name", "type", "created_at", *added])


@pytest.mark.parametrize("fmt", ["csv", "parquet", "ndjson"])
def test_staged_records_follow_the_file_even_when_duckdb_reads_it_in_parallel(tmp_path, fmt):
    """The order comes from the records' numbers, given as DuckDB reads the file: they follow
    the file even on a connection that reads with 8 threads and does not preserve insertion
    order (there, a plain CREATE TABLE AS of the same file comes out of order)."""
    import datetime as dt

    import duckdb

    from vibes_core import ingest
    from vibes_core.types import get_type

    start = dt.datetime(2026, 1, 1)
    table = pa.table(
        {
            # Event i happens i seconds after the start: its time says where it is in the file.
            "timestamp": [
                (start + dt.timedelta(seconds=i)).isoformat() + "Z" for i in range(LARGE)
            ],
            "variant": large_groups(),
            "outcome": [i % 7 == 0 for i in range(LARGE)],
        }
    )
    path = tmp_path / f"large.{fmt}"
    if fmt == "csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, path)
    elif fmt == "parquet":
        pq.write_table(table, path, row_group_size=4096)
    else:
        path.write_text("\n".join(json.dumps(row) for row in table.to_pylist()) + "\n")

    con = duckdb.connect()
    con.execute("SET threads = 8")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET TimeZone = 'UTC'")
    with ingest.staged_events(con, path, get_type("ab-test"), initial=True) as staged:
        misplaced = con.execute(
            f"SELECT count(*) FROM {ingest.STAGED} WHERE {ingest.RECORD} - 1 <> "
            f"date_diff('second', TIMESTAMP '2026-01-01', {staged.parsed['timestamp']})",
            [start],  # the default of a missing timestamp (there is none)
        ).fetchone()[0]
        assert misplaced == 0
        assert ingest.groups_in_order(con, staged) == ["m", "z", "b", "a"]
