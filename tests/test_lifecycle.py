"""Each command end to end through the CLI's entry point, on a temporary VIBES_HOME."""

import json

import pytest

from tests.conftest import lake_state, run_vibes
from vibes_core.capabilities import Scorecard
from vibes_core.types import registry

TYPES = list(registry())
# `vibes generate` of an experiment on units writes a set of files (--units, --output-dir):
# their round trips and statistics are tests/test_scorecard.py's.
ONE_TABLE = [name for name, kind in registry().items() if not isinstance(kind, Scorecard)]


def test_walkthrough_from_the_readme(home, tmp_path):
    """The README's walkthrough, each command a separate process as a user types them."""
    initial = tmp_path / "initial_data.json"
    assert run_vibes("generate", "ab-test", "--num-events", "200", "--output", initial).code == 0
    assert len(json.loads(initial.read_text())) == 200

    created = run_vibes(
        "experiments",
        "create",
        "ab_test_1",
        "--display-name",
        "Test 1: Homepage Button Color",
        "--type",
        "ab-test",
        "--initial-data-file",
        initial,
    )
    assert created.code == 0, created.err
    assert created.json()["events"] == 200

    batch = run_vibes("generate", "ab-test", "--num-events", "300")
    uploaded = run_vibes("events", "upload", "--name", "ab_test_1", stdin=batch.out.encode())
    assert uploaded.code == 0, uploaded.err
    assert uploaded.json()["events_added"] == 300
    assert uploaded.json()["snapshot"] > created.json()["snapshot"]

    listed = run_vibes("experiments", "list").json()
    assert [(e["name"], e["display_name"], e["type"], e["events"]) for e in listed] == [
        ("ab_test_1", "Test 1: Homepage Button Color", "ab-test", 500)
    ]
    assert listed[0]["created_at"].endswith("Z")
    assert listed[0]["last_upload"] >= listed[0]["created_at"][:19]  # to the second

    deleted = run_vibes("experiments", "delete", "ab_test_1")
    assert deleted.code == 0, deleted.err
    assert run_vibes("experiments", "list").json() == []
    assert lake_state(home)[1] == {"vibes.experiments": 0}


@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv", "parquet"])
@pytest.mark.parametrize("type_name", ONE_TABLE)
def test_every_type_round_trips_through_every_format(cli, tmp_path, type_name, fmt):
    path = tmp_path / f"events.{fmt}"
    assert cli("generate", type_name, "-n", "120", "--seed", "3", "-o", path).code == 0
    created = cli(
        "experiments", "create", "--name", "exp", "--type", type_name, "--initial-data-file", path
    )
    assert created.code == 0, created.err
    assert created.json()["events"] == 120
    # The same file through stdin, detected from its content alone.
    uploaded = cli("events", "upload", "exp", stdin=path.read_bytes())
    assert uploaded.code == 0, uploaded.err
    assert uploaded.json()["events"] == 240


def test_generate_is_reproducible_with_a_seed(cli):
    first = cli("generate", "poisson-cohorts", "-n", "50", "--seed", "9", "--format", "ndjson")
    again = cli("generate", "poisson-cohorts", "-n", "50", "--seed", "9", "--format", "ndjson")
    other = cli("generate", "poisson-cohorts", "-n", "50", "--seed", "10", "--format", "ndjson")

    def strip(out):
        return [
            {k: v for k, v in json.loads(line).items() if k != "timestamp"}
            for line in out.splitlines()
        ]

    assert strip(first.out) == strip(again.out)
    assert strip(first.out) != strip(other.out)
    assert len(first.out.splitlines()) == 50


def test_generate_type_options(cli):
    out = cli("generate", "ab-test", "-n", "300", "--variants", "ctl,red,blue", "--seed", "1")
    assert {e["variant"] for e in json.loads(out.out)} == {"ctl", "red", "blue"}
    out = cli("generate", "bernoulli", "-n", "2000", "--rate", "0.5", "--seed", "1")
    share = sum(e["outcome"] for e in json.loads(out.out)) / 2000
    assert 0.45 < share < 0.55
    bad = cli("generate", "bernoulli", "-n", "10", "--rate", "1.5")
    assert bad.code == 1 and "--rate must be a probability" in bad.err


def test_upload_without_timestamp_uses_upload_time(cli, ab_test):
    cli("events", "upload", ab_test, stdin='{"variant": "A", "outcome": true}\n')
    head = cli("db", "inspect", "--table-name", ab_test, "--limit", "300").json()["head"]
    created_at = cli("experiments", "list").json()[0]["created_at"]
    assert head[-1]["timestamp"] > created_at  # the upload's own time, after creation


def test_timestamps_with_offsets_are_stored_in_utc(cli, ab_test):
    events = '{"variant": "B", "outcome": false, "timestamp": "2026-03-01T10:00:00+02:00"}\n'
    assert cli("events", "upload", ab_test, stdin=events).code == 0
    head = cli("db", "inspect", "--table-name", ab_test, "--limit", "300").json()["head"]
    assert head[-1]["timestamp"] == "2026-03-01T08:00:00Z"


def test_exposure_defaults_to_one(cli):
    rows = "cohort,events\na,3\nb,0\n"
    assert cli("experiments", "create", "c", "--type", "poisson-cohorts", stdin=rows).code == 0
    head = cli("db", "inspect", "--table-name", "c").json()["head"]
    assert [(r["cohort"], r["events"], r["exposure"]) for r in head] == [
        ("a", 3, 1.0),
        ("b", 0, 1.0),
    ]


def test_schema_describes_columns(cli):
    schema = cli("experiments", "schema", "--type", "poisson-cohorts").json()
    columns = {c["name"]: c for c in schema["columns"]}
    assert set(columns) == {"timestamp", "cohort", "events", "exposure"}
    assert columns["exposure"]["required"] is False and columns["exposure"]["default"] == 1.0
    assert columns["events"]["type"] == "integer" and columns["timestamp"]["required"] is False


def test_db_commands(cli, ab_test):
    assert cli("db", "init").json()["created"] is False  # already made by first use
    tables = cli("db", "list-tables").json()
    assert tables == [{"table": "ab", "rows": 200}, {"table": "vibes.experiments", "rows": 1}]
    inspected = cli("db", "inspect", "--table-name", "ab", "--limit", "3").json()
    assert inspected["rows"] == 200 and len(inspected["head"]) == 3
    names = ["timestamp", "variant", "outcome", "segment"]  # the table's own columns, all
    assert [c["name"] for c in inspected["columns"]] == names
    meta = cli("db", "inspect", "--table-name", "vibes.experiments").json()
    assert meta["head"][0]["name"] == "ab"


def test_db_init_creates_the_lake_once(cli, home):
    first = cli("db", "init")
    assert first.code == 0 and first.json()["created"] is True
    assert (home / "catalog.sqlite").exists()
    snapshot = lake_state(home)[0]
    assert cli("db", "init").json()["created"] is False
    assert lake_state(home)[0] == snapshot


def test_one_upload_is_one_snapshot(cli, home, ab_test):
    before, _ = lake_state(home)
    events = cli("generate", "ab-test", "-n", "1000", "--format", "ndjson").out
    assert cli("events", "upload", ab_test, stdin=events).code == 0
    after, rows = lake_state(home)
    assert after == before + 1 and rows[ab_test] == 1200


def test_version_and_help(cli):
    assert cli("--version").out.strip() == "vibes 0.1.0"
    helped = cli("--help")
    assert helped.code == 0
    for command in ("db", "experiments", "events", "generate", "tui"):
        assert command in helped.out
    generate_help = cli("generate", "ab-test", "--help").out
    assert "--variants" in generate_help and "--base-rate" in generate_help


def test_one_posterior_reads_the_experiments_row_once(cli, ab_test, monkeypatch):
    """`vibes posterior` finds the experiment once and hands it down: the catalog's table of
    experiments is queried once, not again by each step that needs the experiment's type or
    groups (its statistics, a breakdown's, its pace)."""
    from vibes_core import catalog

    reads = []

    class Counted:
        """The lake's connection, keeping each statement that reads the experiments table."""

        def __init__(self, con):
            self.con = con

        def execute(self, sql, *args, **kwargs):
            if catalog.METADATA in sql:
                reads.append(sql)
            return self.con.execute(sql, *args, **kwargs)

        def __getattr__(self, name):
            return getattr(self.con, name)

    opened = catalog.open_lake

    def open_counted(*args, **kwargs):
        lake = opened(*args, **kwargs)  # (its check that the table is there: not counted)
        lake.con = Counted(lake.con)
        return lake

    monkeypatch.setattr(catalog, "open_lake", open_counted)
    answer = cli("posterior", ab_test, "--exact", "--json")
    assert answer.code == 0, answer.err
    assert answer.json()["experiment"] == ab_test
    assert len(reads) == 1, reads


def test_history_lists_each_batch_and_the_total_after_it(cli, ab_test, home):
    from vibes_core import catalog
    from vibes_core.config import load_config
    from vibes_core.lake import Lake

    batch = cli("generate", "ab-test", "-n", "30", "--seed", "2", "--format", "ndjson").out
    uploaded = cli("events", "upload", ab_test, stdin=batch).json()
    cli("generate", "bernoulli", "-n", "5", "-o", home.parent / "coin.json")
    coin = ["--type", "bernoulli", "--initial-data-file", home.parent / "coin.json"]
    cli("experiments", "create", "coin", *coin)  # a snapshot of another experiment
    with Lake(load_config(), create=False) as lake:
        experiment = catalog.get(lake, ab_test)
        history = catalog.history(lake, experiment)
        over_time = catalog.events_over_time(lake, experiment)
        before = catalog.events_over_time(lake, experiment, as_of=history[0]["snapshot"])
    assert [(h["added"], h["events"]) for h in history] == [(200, 200), (30, 230)]
    assert history[1]["snapshot"] == uploaded["snapshot"]
    assert history[0]["time"] <= history[1]["time"]
    assert set(over_time["groups"]) == {"A", "B"}
    assert sum(sum(days.values()) for days in over_time["groups"].values()) == 230
    assert sum(sum(days.values()) for days in before["groups"].values()) == 200
