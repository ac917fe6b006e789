"""Experiment types: the registry, realistic generated data, and sufficient statistics in Ibis."""

import math
import re
from pathlib import Path

import numpy as np
import pytest

import vibes_core.types
from vibes_core import catalog
from vibes_core.capabilities import Scorecard
from vibes_core.types import get_type, registry

TYPES = list(registry())
# `vibes generate` of an experiment on units writes a set of files (--units, --output-dir):
# their round trips and statistics are tests/test_scorecard.py's.
ONE_TABLE = [name for name, kind in registry().items() if not isinstance(kind, Scorecard)]


def test_registry_finds_every_type_module():
    """Every module of the package that assigns TYPE is registered, under a distinct name."""
    folder = Path(vibes_core.types.__file__).parent
    defining = [p for p in folder.glob("*.py") if re.search(r"^TYPE = ", p.read_text(), re.M)]
    assert len(registry()) == len(defining) >= 5
    for experiment_type in registry().values():
        assert experiment_type.columns[0].name == "timestamp"
        assert experiment_type.description


@pytest.mark.parametrize("type_name", TYPES)
def test_generated_events_match_the_schema(type_name):
    experiment_type = get_type(type_name)
    table = experiment_type.generate(500, np.random.default_rng(0))
    assert table.num_rows == 500
    # Segment columns only when asked for (vibes generate --segments): else as before.
    segments = experiment_type.segment_columns
    assert table.column_names == [c.name for c in experiment_type.columns if c.name not in segments]
    timestamps = table.column("timestamp").to_pylist()
    assert timestamps == sorted(timestamps)


def test_bandit_data_shifts_traffic_to_the_best_arm():
    bandits = get_type("multi-armed-bandits")
    table = bandits.generate(20_000, np.random.default_rng(4), arms="a,b,c,d", batches=20)
    arms = np.array(table.column("arm").to_pylist())
    rewards = np.array(table.column("reward").to_pylist())
    rates = {arm: rewards[arms == arm].mean() for arm in "abcd"}
    pulls = {arm: (arms == arm).sum() for arm in "abcd"}
    best = max(rates, key=rates.get)
    assert pulls[best] == max(pulls.values())
    late = arms[-5000:]
    assert (late == best).mean() > 0.5  # Thompson sampling has settled on it


def test_poisson_events_scale_with_exposure():
    table = get_type("poisson-cohorts").generate(20_000, np.random.default_rng(2), cohorts="x")
    events = np.array(table.column("events").to_pylist())
    exposure = np.array(table.column("exposure").to_pylist())
    rate = events.sum() / exposure.sum()
    low, high = exposure < 1.0, exposure > 1.5
    assert events[high].mean() / exposure[high].mean() == pytest.approx(rate, rel=0.1)
    assert events[low].mean() < events[high].mean()


def flag(kind) -> str:
    """The type's one boolean column (outcome, reward)."""
    [column] = [c.name for c in kind.columns if c.kind == "bool"]
    return column


def logs(rows) -> list[float]:
    return [math.log(r["value"]) for r in rows if r["value"] > 0]


# Each statistic computed from the raw rows of one group, independently of the Ibis
# expression: a type with a new statistic adds its reference here.
REFERENCES = {
    "trials": lambda kind, rows: len(rows),
    "successes": lambda kind, rows: sum(r[flag(kind)] for r in rows),
    "rows": lambda kind, rows: len(rows),
    "events": lambda kind, rows: sum(r["events"] for r in rows),
    "exposure": lambda kind, rows: sum(r["exposure"] for r in rows),
    "users": lambda kind, rows: len(rows),
    "buyers": lambda kind, rows: sum(r["value"] > 0 for r in rows),
    "sum_log": lambda kind, rows: sum(logs(rows)),
    "sum_log2": lambda kind, rows: sum(x * x for x in logs(rows)),
    "sum_value": lambda kind, rows: sum(r["value"] for r in rows),
    "sum_value2": lambda kind, rows: sum(r["value"] ** 2 for r in rows),
}


@pytest.mark.parametrize("type_name", ONE_TABLE)
def test_sufficient_stats_agree_with_the_raw_events(cli, tmp_path, type_name):
    path = tmp_path / "events.parquet"
    assert cli("generate", type_name, "-n", "3000", "--seed", "8", "-o", path).code == 0
    assert (
        cli("experiments", "create", "e", "--type", type_name, "--initial-data-file", path).code
        == 0
    )
    import pyarrow.parquet as pq

    kind = get_type(type_name)
    raw = pq.read_table(path).to_pylist()
    with catalog.open_lake() as lake:
        stats = catalog.sufficient_stats(lake, catalog.get(lake, "e"))
    group = kind.group_column
    groups = sorted({row[group] for row in raw}) if group else [None]
    assert len(stats) == len(groups)
    for row, name in zip(stats, groups, strict=True):
        mine = [r for r in raw if group is None or r[group] == name]
        for statistic in kind.statistics:
            expected = REFERENCES[statistic.name](kind, mine)
            assert row[statistic.name] == pytest.approx(expected, rel=1e-12), statistic.name
