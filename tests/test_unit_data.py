"""vibes_core.unit_data: an experiment on units (assignment log, orders, errors) checked against
its known truth by computations of its own here (pandas on the returned tables), and its files
read back by DuckDB."""

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vibes_core.errors import VibesError
from vibes_core.unit_data import simulate_units, write_unit_files

END = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = pd.Timedelta(days=7)
# Large lifts, different from each other: the checks below tell each one from no effect and
# from the others, with room to spare (see test_the_treatment_moves_what_the_truth_says).
LIFTS = {"purchase_lift": 0.3, "revenue_lift": 0.5, "error_lift": 0.2}
LARGE = 200_000
TOLERANCE = 4  # standard errors: a check fails by chance with probability about 6e-5


@pytest.fixture(scope="module")
def large():
    return simulate_units(LARGE, np.random.default_rng(7), end=END, **LIFTS)


@pytest.fixture(scope="module")
def per_unit(large):
    """One row per assigned unit under one variant: its variant, and its orders, paid revenue
    and errors in the 7 days from its first exposure and in the history_days before it."""
    rows = large.assignments.to_pandas()
    units = rows.groupby("unit").agg(
        exposed=("timestamp", "min"), variants=("variant", "nunique"), variant=("variant", "first")
    )
    units = units[units.variants == 1]
    history = pd.Timedelta(days=large.truth.history_days)
    for name, events in (("orders", large.orders), ("errors", large.errors)):
        events = events.to_pandas().merge(units[["exposed"]], left_on="unit", right_index=True)
        after = events[
            (events.timestamp >= events.exposed) & (events.timestamp < events.exposed + WINDOW)
        ]
        before = events[
            (events.timestamp < events.exposed) & (events.timestamp >= events.exposed - history)
        ]
        units[name] = after.groupby("unit").size().reindex(units.index, fill_value=0)
        units[f"{name}_before"] = before.groupby("unit").size().reindex(units.index, fill_value=0)
        if name == "orders":
            paid = after[after.status == "paid"].groupby("unit").amount.sum()
            units["revenue"] = paid.reindex(units.index, fill_value=0.0)
            units["buyer"] = (units.orders > 0).astype(float)
    return units


def ratio(units: pd.DataFrame, column: str, treatment: str, control: str) -> tuple[float, float]:
    """The treatment's mean of ``column`` over the control's, and the standard error of its
    log (delta method: the two means independent, each of many units)."""
    parts = []
    for variant in (treatment, control):
        values = units.loc[units.variant == variant, column]
        parts.append((values.mean(), values.var() / len(values) / values.mean() ** 2))
    (treated, v_t), (control_mean, v_c) = parts
    return treated / control_mean, float(np.sqrt(v_t + v_c))


def test_the_assignment_log_has_the_truths_repeats_and_conflicts():
    data = simulate_units(20_000, np.random.default_rng(1), end=END, variants=("a", "b", "c"))
    rows = data.assignments.to_pandas()
    per = rows.groupby("unit").agg(rows=("variant", "size"), variants=("variant", "nunique"))
    truth = data.truth
    assert truth.variants == ("a", "b", "c")
    assert rows.variant.iloc[0] == "a"  # the control is the first variant in row order
    assert len(per) == truth.units == 20_000
    assert ((per.rows > 1) & (per.variants == 1)).sum() == truth.repeated_units
    assert (per.variants > 1).sum() == truth.conflicting_units
    assert per.rows.max() == 2
    assert 0.015 < truth.repeated_units / truth.units < 0.025
    assert 0.002 < truth.conflicting_units / truth.units < 0.004
    # Each clean unit's first row: its variant; the counts per variant are the truth's.
    first = rows.sort_values("timestamp", kind="stable").groupby("unit").first()
    clean = first[per.variants == 1]
    assert tuple(clean.variant.value_counts().reindex(truth.variants)) == truth.units_per_variant
    # Exposures over the days before the end; repeats and conflicts after the first row.
    start, end = pd.Timestamp(truth.start), pd.Timestamp(truth.end)
    assert truth.end == END and truth.start == END - timedelta(days=14)
    assert first.timestamp.min() >= start and rows.timestamp.max() < end
    assert str(data.assignments.schema.field("timestamp").type) == "timestamp[ms, tz=UTC]"
    assert data.assignments.column("segment").null_count == len(rows)  # no segments asked


def test_a_few_units_still_start_with_a_control_row():
    for seed in range(20):
        data = simulate_units(3, np.random.default_rng(seed), end=END)
        assert data.assignments.column("variant")[0].as_py() == "control"


def test_the_treatment_moves_what_the_truth_says(large, per_unit):
    # Each ratio of means is within TOLERANCE standard errors of its true value. At 200,000
    # units the standard error of the log ratio is about 0.009 for the buyers' share, 0.012 for
    # orders and 0.018 for revenue per unit (a long tail): the tolerance, about 0.04 to 0.1 on
    # ratios 1.2 to 1.5, tells each lift from none and revenue's (0.5) from purchase's (0.3).
    truth = large.truth
    assert (truth.purchase_lift, truth.revenue_lift, truth.error_lift) == (0.3, 0.5, 0.2)
    assert truth.amount_factor == pytest.approx(1.5 / 1.3)
    control, treatment = truth.variants
    expected = {
        "buyer": 1 + truth.purchase_lift,
        "orders": 1 + truth.purchase_lift,
        "revenue": 1 + truth.revenue_lift,
        "errors": 1 + truth.error_lift,
        # Before exposure both variants behave alike.
        "orders_before": 1.0,
        "errors_before": 1.0,
    }
    for column, value in expected.items():
        measured, se = ratio(per_unit, column, treatment, control)
        assert abs(np.log(measured / value)) < TOLERANCE * se, (column, measured, value, se)
        assert se < 0.02, (column, se)  # the tolerance is as tight as the comment says


def test_the_history_predicts_the_experiment(per_unit):
    control = per_unit[per_unit.variant == "control"]
    assert np.corrcoef(control.orders_before, control.orders)[0, 1] > 0.2
    assert (control.orders_before + control.errors_before > 0).mean() > 0.3
    # Realistic sizes: a share of units buy within a week, a few orders each; errors rarer.
    assert 0.1 < control.buyer.mean() < 0.4
    assert 2 < control.orders[control.orders > 0].mean() < 6
    assert 0 < control.errors.mean() < control.orders.mean()


def test_about_ten_events_per_unit_and_some_of_units_never_assigned(large):
    data = large
    rows = data.assignments.num_rows + data.orders.num_rows + data.errors.num_rows
    assert 8 < rows / LARGE < 12
    assigned = set(data.assignments.column("unit").to_pylist())
    in_events = set(data.orders.column("unit").to_pylist()) | set(
        data.errors.column("unit").to_pylist()
    )
    never = in_events - assigned
    assert len(never) == data.truth.unassigned_units
    assert 0.03 < len(never) / LARGE < 0.06


def test_the_events_values():
    data = simulate_units(20_000, np.random.default_rng(3), end=END, segments="us,de,fr")
    orders, errors = data.orders.to_pandas(), data.errors.to_pandas()
    assert set(orders.status) == {"paid", "refunded", "cancelled"}
    assert 0.85 < (orders.status == "paid").mean() < 0.97
    assert (orders.amount >= 0).all() and (orders["items"] >= 1).all()
    assert orders.amount.max() > 20 * orders.amount.median()  # a few large ones
    assert (errors.latency_ms > 0).all() and errors.code.nunique() > 2
    # Log-normal latency: its log is about symmetric for one code.
    logs = np.log(errors.latency_ms[errors.code == "http_500"])
    assert abs(logs.mean() - logs.median()) < 0.05
    latest = pd.Timestamp(data.truth.end)
    earliest = pd.Timestamp(data.truth.start) - pd.Timedelta(days=data.truth.history_days)
    for events in (orders, errors):
        assert events.timestamp.is_monotonic_increasing
        assert events.timestamp.min() >= earliest and events.timestamp.max() < latest
    segments = data.assignments.column("segment")
    assert data.truth.segments == ("us", "de", "fr")
    assert set(segments.drop_null().to_pylist()) == {"us", "de", "fr"}
    assert 0 < segments.null_count < 0.05 * len(segments)


def test_a_seed_gives_the_same_data():
    one, two = (simulate_units(2_000, np.random.default_rng(5), end=END) for _ in range(2))
    assert one == two  # the tables' and the truth's equality


@pytest.mark.parametrize(
    "options",
    [
        {"variants": ("only",)},
        {"variants": ("a", "a")},
        {"variants": "a,"},
        {"purchase_lift": -1.0},
        {"purchase_lift": 1.5},
        {"revenue_lift": -2.0},
        {"days": 0},
    ],
)
def test_bad_options_are_one_line_errors(options):
    with pytest.raises(VibesError) as error:
        simulate_units(100, np.random.default_rng(0), end=END, **options)
    assert "\n" not in str(error.value)


SQL_TYPES = {"timestamp": "TIMESTAMPTZ", "string": "VARCHAR", "double": "DOUBLE", "int64": "BIGINT"}


def read_back(path, fmt: str, schema: pa.Schema) -> pa.Table:
    """The file as DuckDB reads it, each column of the type written, cast to ``schema``."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if fmt == "parquet":
        table = con.execute("SELECT * FROM read_parquet(?)", [str(path)]).fetch_arrow_table()
    else:
        types = {f.name: SQL_TYPES[str(f.type).split("[")[0]] for f in schema}
        reader = "read_csv" if fmt == "csv" else "read_json"
        columns = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in types.items()) + "}"
        table = con.execute(
            f"SELECT * FROM {reader}(?, columns = {columns})", [str(path)]
        ).fetch_arrow_table()
    con.close()
    return table.cast(schema)


@pytest.mark.parametrize("fmt", ["parquet", "csv", "ndjson"])
def test_written_files_read_back_as_the_tables(tmp_path, fmt):
    data = simulate_units(3_000, np.random.default_rng(2), end=END, segments="us,de")
    paths = write_unit_files(data, tmp_path / "new" / "dir", fmt)
    assert {name: path.name for name, path in paths.items()} == {
        name: f"{name}.{fmt}" for name in ("assignments", "orders", "errors")
    }
    assert sorted(p.name for p in (tmp_path / "new" / "dir").iterdir()) == sorted(
        p.name for p in paths.values()
    )  # no temporary file left
    for name, path in paths.items():
        expected = getattr(data, name)
        assert read_back(path, fmt, expected.schema).equals(expected), name
    if fmt == "ndjson":  # timestamps in ISO 8601, UTC
        first = json.loads(paths["orders"].read_text().splitlines()[0])
        assert datetime.fromisoformat(first["timestamp"]).utcoffset() == timedelta(0)


def test_an_existing_file_is_not_overwritten(tmp_path):
    data = simulate_units(500, np.random.default_rng(0), end=END)
    (tmp_path / "orders.parquet").write_text("keep me")
    with pytest.raises(VibesError) as error:
        write_unit_files(data, tmp_path)
    assert "orders.parquet" in str(error.value) and "\n" not in str(error.value)
    assert (tmp_path / "orders.parquet").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders.parquet"]  # nothing else
    # Another format's names are free; written again, they are refused too.
    paths = write_unit_files(data, tmp_path, "csv")
    before = {path: path.read_bytes() for path in paths.values()}
    with pytest.raises(VibesError):
        write_unit_files(data, tmp_path, "csv")
    assert {path: path.read_bytes() for path in paths.values()} == before
    assert pq.read_table(write_unit_files(data, tmp_path / "x")["orders"]).num_rows > 0
    with pytest.raises(VibesError):
        write_unit_files(data, tmp_path, "xlsx")


def test_importing_it_loads_no_numpy_or_pyarrow():
    probe = (
        "import sys, vibes_core.unit_data; "
        "print([m for m in ('numpy', 'pyarrow', 'pandas', 'duckdb') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
