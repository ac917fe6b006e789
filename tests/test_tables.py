"""Event tables through the CLI's entry point and the lake on disk: a first upload of each
format fixes the columns and their types, later ones append the same columns, every refusal is
one line, exit 1, and leaves the lake as it was; experiments and event tables share names."""

import gzip
import io
import json
from datetime import datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import Result, lake_state
from vibes_core.config import load_config
from vibes_core.lake import Lake
from vibes_core.text import has_control

UPLOAD = ("tables", "upload")
ORDERS_CSV = (
    "unit,timestamp,paid,items,amount,sku,coupon\n"
    "u1,2026-01-01T10:00:00Z,true,2,9.5,A-1,\n"
    "u2,2026-01-02 11:30:00+02:00,False,1,10,B-2,WELCOME\n"
    "u1,2026-01-03,TRUE,0,-0.25,A-1,\n"
)
ORDERS_ROWS = [
    ("u1", datetime(2026, 1, 1, 10), True, 2, 9.5, "A-1", None),
    ("u1", datetime(2026, 1, 3), True, 0, -0.25, "A-1", None),
    ("u2", datetime(2026, 1, 2, 9, 30), False, 1, 10.0, "B-2", "WELCOME"),
]
ORDERS_COLUMNS = [
    ("unit", "string"),
    ("timestamp", "timestamp"),
    ("paid", "bool"),
    ("items", "int"),
    ("amount", "float"),
    ("sku", "string"),
    ("coupon", "string"),
]


def refused(result: Result, *words: str) -> None:
    assert result.code == 1, result
    assert result.out == ""
    assert result.err.count("\n") == 1 and result.err.startswith("vibes: error: "), result.err
    assert not has_control(result.err.rstrip("\n")), result.err
    for word in words:
        assert word in result.err, (word, result.err)


def uploaded(result: Result) -> dict:
    assert result.code == 0, result.err
    return result.json()


def stored(home, name: str = "orders") -> list[tuple]:
    """The table's rows as DuckDB reads them from the lake on disk, sorted."""
    with Lake(load_config({"VIBES_HOME": str(home)}), create=False) as lake:
        return lake.con.execute(f"SELECT * FROM lake.events.{name} ORDER BY ALL").fetchall()


def listed(cli) -> dict[str, dict]:
    result = cli("tables", "list")
    assert result.code == 0, result.err
    return {table["name"]: table for table in result.json()}


def columns(cli, name: str = "orders") -> list[tuple[str, str]]:
    return [(c["name"], c["type"]) for c in listed(cli)[name]["columns"]]


def parquet_bytes(columns) -> bytes:
    table = columns if isinstance(columns, pa.Table) else pa.table(columns)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def in_the_lake(home, sql: str) -> None:
    """Write to the lake by hand (another version, or a person), in one transaction."""
    with Lake(load_config({"VIBES_HOME": str(home)}), create=False) as lake:
        lake.write(lambda con: con.execute(sql), "writing by hand")


@pytest.fixture
def lake(cli):
    assert cli("db", "init").code == 0


@pytest.fixture
def orders(cli, home, tmp_path) -> str:
    """The event table `orders`, made by a first upload of ORDERS_CSV."""
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS_CSV)
    assert uploaded(cli(*UPLOAD, "orders", path))["created"]
    return "orders"


# --- a first upload fixes the columns and their types ----------------------------------------


def test_a_first_csv_upload_fixes_the_types_from_the_values(cli, home, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(ORDERS_CSV)
    result = uploaded(cli(*UPLOAD, "orders", path))
    assert {k: result[k] for k in ("table", "events_added", "rows", "created")} == {
        "table": "orders",
        "events_added": 3,
        "rows": 3,
        "created": True,
    }
    assert result["snapshot"] == lake_state(home)[0]
    assert columns(cli) == ORDERS_COLUMNS
    assert stored(home) == ORDERS_ROWS
    table = listed(cli)["orders"]
    assert table["rows"] == 3 and table["last_upload"].endswith("Z")


def test_a_first_ndjson_upload_fixes_the_types_from_the_json_values(cli, home):
    events = [
        {"unit": "u1", "timestamp": "2026-01-01T00:00:00Z", "paid": True, "items": 2, "amount": 3},
        {"timestamp": "2026-01-02", "unit": "u2", "amount": 2.5, "sku": "x", "paid": None},
        {"unit": "u3", "timestamp": "2026-01-03", "items": None, "sku": None, "note": "1"},
    ]
    ndjson = "".join(json.dumps(event) + "\n" for event in events)
    assert uploaded(cli(*UPLOAD, "orders", "-", stdin=ndjson))["events_added"] == 3
    # unit and timestamp first, the others in the order they first appear; numbers are float
    # if any is not whole, a string of digits is a string.
    assert columns(cli) == [
        ("unit", "string"),
        ("timestamp", "timestamp"),
        ("paid", "bool"),
        ("items", "int"),
        ("amount", "float"),
        ("sku", "string"),
        ("note", "string"),
    ]
    assert stored(home) == [
        ("u1", datetime(2026, 1, 1), True, 2, 3.0, None, None),
        ("u2", datetime(2026, 1, 2), None, None, 2.5, "x", None),
        ("u3", datetime(2026, 1, 3), None, None, None, None, "1"),
    ]


def test_a_first_json_array_upload_fixes_the_types(cli, home, tmp_path):
    path = tmp_path / "errors.json"
    path.write_text(
        json.dumps(
            [
                {"unit": "a", "timestamp": "2026-02-01T08:00:00+01:00", "code": 500, "fatal": True},
                {"unit": "b", "timestamp": "2026-02-01T09:00:00Z", "code": 404, "fatal": False},
            ]
        )
    )
    assert uploaded(cli(*UPLOAD, "errors", path))["created"]
    assert columns(cli, "errors") == [
        ("unit", "string"),
        ("timestamp", "timestamp"),
        ("code", "int"),
        ("fatal", "bool"),
    ]
    assert stored(home, "errors") == [
        ("a", datetime(2026, 2, 1, 7), 500, True),
        ("b", datetime(2026, 2, 1, 9), 404, False),
    ]


def test_a_parquet_column_named_as_the_reader_s_row_number_is_data(cli, home, tmp_path):
    """The reader numbers rows in a column of that name: a file that has one is read another
    way, its values kept, a bad value still named by its record."""
    table = {"unit": ["u1", "u2", "u3"], "timestamp": ["2026-01-01"] * 3}
    path = tmp_path / "rows.parquet"
    path.write_bytes(parquet_bytes(pa.table({**table, "file_row_number": [7, 8, 9]})))
    assert uploaded(cli(*UPLOAD, "rows", path))["events_added"] == 3
    assert [row[2] for row in stored(home, "rows")] == [7, 8, 9]
    path.write_bytes(parquet_bytes(pa.table({**table, "file_row_number": [1.0, 2.0, 3.0]})))
    refused = cli(*UPLOAD, "rows", path)
    assert refused.code == 1 and "'file_row_number'" in refused.err, refused.err
    bad = pa.table({**table, "file_row_number": [1, 2, 3], "unit": ["u1", "u2", "\x1b[2J"]})
    path.write_bytes(parquet_bytes(bad))
    refused = cli(*UPLOAD, "rows", path)
    assert refused.code == 1 and "record 3" in refused.err, refused.err


def test_a_first_parquet_upload_takes_its_types(cli, home, tmp_path):
    table = pa.table(
        {
            "unit": ["u1", "u2"],
            "timestamp": pa.array([0, 3_600_000_000], pa.timestamp("us", tz="UTC")),
            "paid": [True, None],
            "small": pa.array([1, 2], pa.int16()),
            "count": pa.array([10, None], pa.int64()),
            "ratio": pa.array([0.5, 1.5], pa.float32()),
            "amount": pa.array([1.25, 2.0], pa.float64()),
            "price": pa.array([Decimal("9.99"), Decimal("1.00")], pa.decimal128(10, 2)),
            "sku": ["x", None],
        }
    )
    path = tmp_path / "orders.parquet"
    path.write_bytes(parquet_bytes(table))
    assert uploaded(cli(*UPLOAD, "orders", path))["events_added"] == 2
    assert columns(cli) == [
        ("unit", "string"),
        ("timestamp", "timestamp"),
        ("paid", "bool"),
        ("small", "int"),
        ("count", "int"),
        ("ratio", "float"),
        ("amount", "float"),
        ("price", "float"),
        ("sku", "string"),
    ]
    assert stored(home) == [
        ("u1", datetime(1970, 1, 1), True, 1, 10, 0.5, 1.25, 9.99, "x"),
        ("u2", datetime(1970, 1, 1, 1), None, 2, None, 1.5, 2.0, 1.0, None),
    ]


def test_csv_columns_of_numbers_that_are_not_all_whole_are_float_and_mixed_are_strings(cli, home):
    data = "unit,timestamp,a,b,c,d\nu,2026-01-01,1,1,1,nan\nv,2026-01-01,2.5,1e3,yes,1\n"
    assert uploaded(cli(*UPLOAD, "t", stdin=data))["created"]
    assert columns(cli, "t")[2:] == [
        ("a", "float"),
        ("b", "float"),
        ("c", "string"),
        ("d", "string"),
    ]
    assert stored(home, "t") == [
        ("u", datetime(2026, 1, 1), 1.0, 1.0, "1", "nan"),
        ("v", datetime(2026, 1, 1), 2.5, 1000.0, "yes", "1"),
    ]


# --- later uploads append the same columns ---------------------------------------------------


def test_later_uploads_append_in_a_snapshot_each(cli, home, orders):
    first = lake_state(home)[0]
    more = "unit,timestamp,paid,items,amount,sku,coupon\nu9,2026-01-09,false,5,1.5,C,\n"
    result = uploaded(cli(*UPLOAD, "orders", stdin=more))
    assert (result["events_added"], result["rows"], result["created"]) == (1, 4, False)
    assert result["snapshot"] == first + 1 == lake_state(home)[0]
    # Any format, and the columns in any order.
    event = {"coupon": None, "sku": "D", "amount": 2, "items": 1, "paid": True}
    event |= {"unit": "u8", "timestamp": "2026-01-08T00:00:00Z"}
    assert uploaded(cli(*UPLOAD, "orders", stdin=json.dumps([event])))["rows"] == 5
    assert stored(home) == sorted(
        [
            *ORDERS_ROWS,
            ("u9", datetime(2026, 1, 9), False, 5, 1.5, "C", None),
            ("u8", datetime(2026, 1, 8), True, 1, 2.0, "D", None),
        ]
    )
    assert listed(cli)["orders"]["rows"] == 5


def test_an_int_fits_a_float_column(cli, home, orders):
    parquet = {
        "unit": ["u5"],
        "timestamp": ["2026-01-05T00:00:00Z"],
        "paid": [True],
        "items": pa.array([3], pa.int32()),
        "amount": pa.array([7], pa.int64()),
        "sku": ["E"],
        "coupon": pa.array([None], pa.string()),
    }
    assert uploaded(cli(*UPLOAD, "orders", stdin=parquet_bytes(parquet)))["rows"] == 4
    assert ("u5", datetime(2026, 1, 5), True, 3, 7.0, "E", None) in stored(home)
    assert columns(cli) == ORDERS_COLUMNS


HEADER = "unit,timestamp,paid,items,amount,sku,coupon\n"
ROW = {"unit": "u", "timestamp": "2026-01-01", "paid": True, "items": 1, "amount": 1.0}
ROW |= {"sku": "A", "coupon": None}
PARQUET_ROW = {
    "unit": ["u"],
    "timestamp": ["2026-01-01"],
    "paid": [True],
    "items": [1],
    "amount": ["1.5"],  # a string for a float
    "sku": ["A"],
    "coupon": pa.array([None], pa.string()),
}
LATER_REFUSALS = [
    ("an extra column", HEADER.strip() + ",colour\nu,2026-01-01,true,1,1,A,,red\n", "'colour'"),
    (
        "a missing column",
        "unit,timestamp,paid,items,amount,sku\nu,2026-01-01,true,1,1,A\n",
        "missing column(s) 'coupon'",
    ),
    ("a json key never given", '{"unit": "u", "timestamp": "2026-01-01"}', "missing column(s)"),
    (
        "a null timestamp",
        json.dumps({**ROW, "timestamp": None}),
        "column 'timestamp': a value is required",
    ),
    (
        "no timestamp column",
        HEADER.replace("timestamp,", "") + "u,true,1,1,A,\n",
        "missing required column(s) timestamp",
    ),
    ("a float for an int", HEADER + "u,2026-01-01,true,1.5,1,A,\n", "whole number"),
    ("text for a float", HEADER + "u,2026-01-01,true,1,much,A,\n", "'much'"),
    ("a json string for a bool", json.dumps({**ROW, "paid": "true"}), "true or false"),
    ("a json number for a string", json.dumps({**ROW, "sku": 7}), "non-empty string"),
    ("a parquet string for a float", parquet_bytes(PARQUET_ROW), "'amount'"),
]


@pytest.mark.parametrize(
    ("data", "words"), [c[1:] for c in LATER_REFUSALS], ids=[c[0] for c in LATER_REFUSALS]
)
def test_a_later_upload_of_other_columns_or_types_is_refused(cli, home, orders, data, words):
    before = lake_state(home)
    refused(cli(*UPLOAD, "orders", stdin=data), words)
    assert lake_state(home) == before
    assert columns(cli) == ORDERS_COLUMNS


# --- every value is checked; a refusal names the record and column -----------------------------


def test_a_bad_value_names_its_record_and_column(cli, home, orders):
    lines = [
        {
            "unit": f"u{i}",
            "timestamp": "2026-01-01",
            "paid": True,
            "items": i,
            "amount": 1,
            "sku": "A",
            "coupon": None,
        }
        for i in range(1, 6)
    ]
    lines[3]["items"] = "four"
    data = "".join(json.dumps(line) + "\n" for line in lines)
    before = lake_state(home)
    refused(cli(*UPLOAD, "orders", stdin=data), "record 4", "column 'items'", '"four"')
    refused(
        cli(*UPLOAD, "orders", stdin=HEADER + "u,2026-01-01,true,1,1,A,\nu,soon,true,1,1,A,\n"),
        "record 2",
        "column 'timestamp'",
        "ISO 8601",
    )
    assert lake_state(home) == before


@pytest.mark.parametrize(
    "value", ["\x1b]0;pwned\x07", "A\u202eB", "A\tB"], ids=["esc", "bidi", "tab"]
)
def test_control_characters_in_strings_are_refused(cli, home, orders, value):
    shown = value.encode("unicode_escape").decode()[:6]
    before = lake_state(home)
    row = {"unit": "u", "timestamp": "2026-01-01", "paid": True, "items": 1, "amount": 1.0}
    refused(
        cli(*UPLOAD, "orders", stdin=json.dumps({**row, "sku": value, "coupon": None})),
        "record 1",
        "column 'sku'",
        "control character",
        shown,
    )
    refused(
        cli(
            *UPLOAD, "orders", stdin=json.dumps({**row, "unit": value, "sku": "A", "coupon": None})
        ),
        "column 'unit'",
        shown,
    )
    assert lake_state(home) == before
    # And in a first upload.
    refused(cli(*UPLOAD, "fresh", stdin=f'unit,timestamp\n"{value}",2026-01-01\n'), shown)
    assert lake_state(home) == before


EVENT = '{"unit": "u", "timestamp": "2026-01-01"'
FIRST_REFUSALS = [
    ("no unit column", "timestamp,amount\n2026-01-01,1\n", "missing required column(s) unit"),
    ("no timestamp column", '{"unit": "u", "amount": 1}', "missing required column(s) timestamp"),
    (
        "a null unit",
        '{"unit": null, "timestamp": "2026-01-01"}',
        "column 'unit': a value is required",
    ),
    ("an empty unit", "unit,timestamp\n,2026-01-01\n", "column 'unit': a value is required"),
    (
        "a missing timestamp",
        '{"unit": "u", "timestamp": "2026-01-01"}\n{"unit": "v"}',
        "record 2, column 'timestamp': a value is required",
    ),
    ("a number for a unit", '{"unit": 42, "timestamp": "2026-01-01"}', "non-empty string"),
    (
        "a capital letter",
        "unit,timestamp,Amount\nu,2026-01-01,1\n",
        "'Amount' is not a valid column name",
    ),
    (
        "a dash",
        '{"unit": "u", "timestamp": "2026-01-01", "order-id": 1}',
        "'order-id' is not a valid column name",
    ),
    ("a leading digit", "unit,timestamp,2x\nu,2026-01-01,1\n", "rename it"),
    ("a control character", '{"unit": "u", "timestamp": "2026-01-01", "a\\u001b": 1}', "\\x1b"),
    ("vibes' own", "unit,timestamp,_vibes_record\nu,2026-01-01,1\n", "rename '_vibes_record'"),
    (
        "too many columns",
        "unit,timestamp,"
        + ",".join(f"c{i}" for i in range(99))
        + "\n"
        + "u,2026-01-01"
        + ",1" * 99
        + "\n",
        "has 101 columns",
    ),
    (
        "a column without values",
        "unit,timestamp,coupon\nu,2026-01-01,\n",
        "column 'coupon': no event has a value",
    ),
    (
        "json nulls only",
        '{"unit": "u", "timestamp": "2026-01-01", "x": null}',
        "column 'x': no event has a value",
    ),
    (
        "a json array",
        '{"unit": "u", "timestamp": "2026-01-01", "tags": [1]}',
        "record 1, column 'tags': an array",
    ),
    (
        "a json object",
        EVENT + ', "x": null}\n' + EVENT + ', "x": {"a": 1}}',
        "record 2, column 'x': an object",
    ),
    (
        "a bool then a string",
        EVENT + ', "x": true}\n' + EVENT + ', "x": "no"}',
        "record 2, column 'x': expected true or false",
    ),
    ("not objects", "[1, 2]", '{"unit": "u1"'),
    ("a csv without a header", "\nu,2026-01-01\n", "e.g. unit,timestamp"),
    ("empty", "", "empty"),
    ("a bad table name", None, "invalid table name 'Orders'"),
]


@pytest.mark.parametrize(
    ("data", "words"), [c[1:] for c in FIRST_REFUSALS], ids=[c[0] for c in FIRST_REFUSALS]
)
def test_a_first_upload_that_breaks_a_rule_is_refused(cli, home, lake, data, words):
    before = lake_state(home)
    if data is None:
        result = cli(*UPLOAD, "Orders", stdin="unit,timestamp\nu,2026-01-01\n")
    else:
        result = cli(*UPLOAD, "orders", stdin=data)
    refused(result, words)
    assert lake_state(home) == before
    assert listed(cli) == {}


PARQUET_REFUSALS = [
    ("a list", {"tags": [["a"]]}, "VARCHAR[]"),
    ("a struct", {"where": [{"x": 1}]}, "STRUCT"),
    ("bytes", {"blob": [b"x"]}, "BLOB"),
    (
        "a time not named timestamp",
        {"shipped": pa.array([0], pa.timestamp("us"))},
        "only `timestamp` holds times",
    ),
    ("an int unit", {"unit": [1]}, "'unit'"),
]


@pytest.mark.parametrize(
    ("extra", "words"), [c[1:] for c in PARQUET_REFUSALS], ids=[c[0] for c in PARQUET_REFUSALS]
)
def test_parquet_columns_of_other_types_are_refused_naming_the_types_allowed(
    cli, home, lake, extra, words
):
    before = lake_state(home)
    data = parquet_bytes({"unit": ["u"], "timestamp": ["2026-01-01T00:00:00Z"], **extra})
    refused(
        cli(*UPLOAD, "orders", stdin=data),
        words,
        "expected" if "unit" in extra else "BOOLEAN, integers",
    )
    assert lake_state(home) == before


# --- experiments and event tables share names ------------------------------------------------


def test_experiments_and_event_tables_share_one_namespace(cli, home, orders):
    two = '{"variant": "A", "outcome": true}\n{"variant": "B", "outcome": false}\n'
    assert cli("experiments", "create", "ab", "--type", "ab-test", stdin=two).code == 0
    before = lake_state(home)
    refused(
        cli(*UPLOAD, "ab", stdin="unit,timestamp\nu,2026-01-01\n"),
        "'ab' is the name of an experiment",
    )
    refused(
        cli("experiments", "create", "orders", "--type", "ab-test", stdin=two),
        "'orders' is the name of an event table",
    )
    refused(cli("tables", "delete", "ab"), "ab is an experiment", "vibes experiments delete ab")
    assert lake_state(home) == before
    assert set(listed(cli)) == {"orders"}
    # Once deleted, the name is free for the other kind.
    assert cli("tables", "delete", "orders").code == 0
    assert cli("experiments", "create", "orders", "--type", "ab-test", stdin=two).code == 0


# --- delete ---------------------------------------------------------------------------------


def test_delete_drops_the_table_in_one_snapshot(cli, home, orders):
    before = lake_state(home)
    result = cli("tables", "delete", "orders")
    assert result.code == 0, result.err
    assert result.json() == {"table": "orders", "rows": 3, "snapshot": before[0] + 1}
    assert "deleted the event table orders (3 events)" in result.err
    snapshot, tables = lake_state(home)
    assert snapshot == before[0] + 1 and "events.orders" not in tables
    assert listed(cli) == {}
    refused(cli("tables", "delete", "orders"), "no event table named 'orders'")
    refused(cli("tables", "delete", "No"), "invalid table name")
    # A new first upload makes it again, with the columns it now has.
    assert uploaded(cli(*UPLOAD, "orders", stdin="unit,timestamp\nu,2026-01-01\n"))["created"]
    assert columns(cli) == [("unit", "string"), ("timestamp", "timestamp")]


METRICS = (
    "CREATE TABLE lake.vibes.metrics (name VARCHAR, table_name VARCHAR, definition VARCHAR, "
    "created_at TIMESTAMP)"
)


def test_delete_is_refused_while_a_metric_uses_the_table(cli, home, orders):
    assert uploaded(cli(*UPLOAD, "errors", stdin="unit,timestamp\nu,2026-01-01\n"))["created"]
    in_the_lake(home, METRICS)
    in_the_lake(
        home,
        "INSERT INTO lake.vibes.metrics VALUES "
        "('revenue', 'orders', '{}', TIMESTAMP '2026-01-01'), "
        "('purchased', 'orders', '{}', TIMESTAMP '2026-01-01'), "
        "('crashes', 'errors', '{}', TIMESTAMP '2026-01-01')",
    )
    before = lake_state(home)
    refused(
        cli("tables", "delete", "orders"),
        "orders is used by the metrics purchased, revenue: delete them first "
        "(vibes metrics delete NAME)",
    )
    refused(cli("tables", "delete", "errors"), "used by the metric crashes: delete it first")
    assert lake_state(home) == before
    # Without a metric using it, it goes.
    in_the_lake(home, "DELETE FROM lake.vibes.metrics WHERE table_name = 'errors'")
    assert cli("tables", "delete", "errors").code == 0
    assert set(listed(cli)) == {"orders"}


def test_no_metrics_table_means_no_metric_uses_anything(cli, home, orders):
    assert cli("tables", "delete", "orders").code == 0


# --- the catalog is input ----------------------------------------------------------------------


def test_a_table_vibes_would_not_write_is_left_out_with_a_warning(cli, home, orders):
    in_the_lake(
        home, "CREATE TABLE lake.events.nested (unit VARCHAR, timestamp TIMESTAMP, x INT[])"
    )
    in_the_lake(home, "CREATE TABLE lake.events.no_unit (timestamp TIMESTAMP, amount DOUBLE)")
    in_the_lake(home, 'CREATE TABLE lake.events."Bad Name" (unit VARCHAR, timestamp TIMESTAMP)')
    in_the_lake(
        home, 'CREATE TABLE lake.events.caps (unit VARCHAR, timestamp TIMESTAMP, "X" BIGINT)'
    )
    result = cli("tables", "list")
    assert result.code == 0, result.err
    assert [table["name"] for table in result.json()] == ["orders"]
    warnings = result.err.splitlines()
    assert len(warnings) == 4 and all(w.startswith("vibes: warning: event table") for w in warnings)
    assert "'Bad Name' is not a valid name" in result.err
    assert "nested was not written by vibes (its column x is of type 'list')" in result.err
    assert "no_unit was not written by vibes (it has no unit column" in result.err
    before = lake_state(home)
    refused(
        cli(*UPLOAD, "nested", stdin="unit,timestamp,x\nu,2026-01-01,1\n"), "not written by vibes"
    )
    assert lake_state(home) == before
    assert cli("tables", "delete", "nested").code == 0


# --- input: one file, or stdin -----------------------------------------------------------------


def test_a_glob_looking_path_is_one_file(cli, home, lake, tmp_path):
    for other in ("data1.csv", "data2.csv"):
        (tmp_path / other).write_text("unit,timestamp\nx,2026-01-01\ny,2026-01-01\n")
    literal = tmp_path / "data[1].csv"
    literal.write_text("unit,timestamp\nz,2026-01-01\n")
    assert uploaded(cli(*UPLOAD, "t", literal))["events_added"] == 1
    assert stored(home, "t") == [("z", datetime(2026, 1, 1))]
    literal.unlink()
    before = lake_state(home)
    refused(cli(*UPLOAD, "t", tmp_path / "data*.csv"), "no such file")
    refused(cli(*UPLOAD, "t", tmp_path), "is a directory")
    assert lake_state(home) == before


def test_stdin_is_read_when_the_file_is_dash_or_left_out(cli, home, lake):
    data = b"unit,timestamp\nu,2026-01-01\n"
    assert uploaded(cli(*UPLOAD, "t", "-", stdin=data))["rows"] == 1
    assert uploaded(cli(*UPLOAD, "t", stdin=gzip.compress(b"\xef\xbb\xbf" + data)))["rows"] == 2


def test_the_python_api(home, orders):
    import warnings

    from vibes_core import api

    batch = pa.table(
        {
            "unit": ["u7"],
            "timestamp": pa.array([datetime(2026, 1, 7)], pa.timestamp("us")),
            "paid": [False],
            "items": [4],
            "amount": [0.5],
            "sku": ["F"],
            "coupon": pa.array([None], pa.string()),
        }
    )
    assert api.upload_table("orders", batch)["rows"] == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (table,) = api.table_list()
    assert (table["name"], table["rows"]) == ("orders", 4)
    assert api.delete_table("orders")["rows"] == 4
    assert api.table_list() == []


def test_table_names_complete(cli, home, orders):
    from vibes_tui.cli import table_names

    assert table_names() == ["orders"]


# --- another process meanwhile ----------------------------------------------------------------


def upload_meanwhile(monkeypatch, step: str, action) -> None:
    """Make ``action`` (another process's write) happen once, after this upload's ``step``
    (tables.stage_first or tables.stage_into) and before its transaction."""
    from vibes_core import tables

    real = getattr(tables, step)

    def racing(*args):
        staged = real(*args)
        monkeypatch.setattr(tables, step, real)
        action()
        return staged

    monkeypatch.setattr(tables, step, racing)


def another_upload(name: str, data: str):
    from vibes_core import catalog, tables

    def action():
        with catalog.open_lake() as other:
            tables.upload(other, name, None, stdin=io.BytesIO(data.encode()))

    return action


def test_a_first_upload_appends_to_the_same_table_made_meanwhile(home, lake, monkeypatch):
    from vibes_core import catalog, tables

    upload_meanwhile(
        monkeypatch, "stage_first", another_upload("t", "unit,timestamp\na,2026-01-01\n")
    )
    with catalog.open_lake() as mine:
        result = tables.upload(mine, "t", None, stdin=io.BytesIO(b"unit,timestamp\nb,2026-01-02\n"))
    assert (result["created"], result["events_added"], result["rows"]) == (False, 1, 2)
    assert stored(home, "t") == [("a", datetime(2026, 1, 1)), ("b", datetime(2026, 1, 2))]


def test_a_first_upload_is_refused_when_another_made_the_table_with_other_columns(
    home, lake, monkeypatch
):
    from vibes_core import catalog, tables
    from vibes_core.errors import AlreadyExists

    upload_meanwhile(
        monkeypatch, "stage_first", another_upload("t", "unit,timestamp,x\na,2026-01-01,1\n")
    )
    with catalog.open_lake() as mine, pytest.raises(AlreadyExists, match="other columns"):
        tables.upload(mine, "t", None, stdin=io.BytesIO(b"unit,timestamp\nb,2026-01-02\n"))
    assert stored(home, "t") == [("a", datetime(2026, 1, 1), 1)]


def test_an_upload_to_a_table_deleted_meanwhile_adds_nothing(home, orders, monkeypatch):
    from vibes_core import catalog, tables
    from vibes_core.errors import NotFound

    def delete():
        with catalog.open_lake() as other:
            tables.delete(other, "orders")

    upload_meanwhile(monkeypatch, "stage_into", delete)
    with catalog.open_lake() as mine, pytest.raises(NotFound, match="deleted or changed"):
        tables.upload(mine, "orders", None, stdin=io.BytesIO(ORDERS_CSV.encode()))
    assert "events.orders" not in lake_state(home)[1]
