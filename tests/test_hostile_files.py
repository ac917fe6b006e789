"""Hostile and unlucky input files: every path is one file, every line of a CSV is accounted
for, and what a file holds is data. A refusal is one line, exit 1, and leaves the lake as it was;
what is accepted lands exactly."""

import ctypes
import gzip
import json
import os
import subprocess
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import VIBES, Result, lake_state
from vibes_core.ingest import CHUNK
from vibes_core.text import has_control

AB = ("events", "upload", "ab")
ROWS = "variant,outcome\nA,true\nB,false\n"


def refused(result: Result, *words: str) -> None:
    assert result.code == 1, result
    assert result.out == ""
    assert result.err.count("\n") == 1 and result.err.startswith("vibes: error: "), result.err
    assert not has_control(result.err.rstrip("\n")), result.err  # shown escaped, never raw
    for word in words:
        assert word in result.err, (word, result.err)


def added(result: Result) -> int:
    assert result.code == 0, result.err
    return result.json()["events_added"]


def events(cli, limit: int = 1000) -> list[dict]:
    shown = cli("db", "inspect", "--table-name", "ab", "--limit", str(limit))
    return shown.json()["head"]


# --- 1. a path is one file, never a glob pattern ---------------------------------------------


def write_events(path, variants: str) -> None:
    """One event per letter of ``variants``, as CSV or Parquet by the extension."""
    columns = {"variant": list(variants), "outcome": [True] * len(variants)}
    if path.suffix == ".parquet":
        path.write_bytes(parquet_bytes(columns))
    else:
        path.write_text("variant,outcome\n" + "".join(f"{v},true\n" for v in variants))


@pytest.mark.parametrize("pattern", ["data[1].csv", "data?.csv", "data*.csv", "data[1].parquet"])
def test_a_path_is_one_file_never_a_glob_pattern(cli, home, ab_test, tmp_path, pattern):
    literal = tmp_path / pattern
    for other in ("data1", "data2"):
        write_events(literal.with_name(other + literal.suffix), "AB")
    write_events(literal, "A")
    assert added(cli(*AB, "-f", literal)) == 1
    literal.unlink()
    before = lake_state(home)
    refused(cli(*AB, "-f", literal), "no such file")
    assert lake_state(home) == before


def test_files_read_one_after_another_are_never_mixed_up(cli, ab_test, tmp_path):
    """A guard: each file is read as /dev/fd/N, and N comes again for the next file in the same
    process (the dashboard's); equal size and time must not let a cache answer for it."""
    first, second = tmp_path / "x.parquet", tmp_path / "y.parquet"
    write_events(first, "XX")
    write_events(second, "YY")
    os.utime(second, ns=(first.stat().st_atime_ns, first.stat().st_mtime_ns))
    assert first.stat().st_size == second.stat().st_size
    for path in (first, second, first):
        assert added(cli(*AB, "-f", path)) == 2
    variants = [e["variant"] for e in events(cli)]
    assert (variants.count("X"), variants.count("Y")) == (4, 2)


def test_stdin_is_read_whatever_the_temporary_directory_is_called(
    cli, ab_test, tmp_path, monkeypatch
):
    """A guard: the spool of stdin is never handed to DuckDB by its path either."""
    spool = tmp_path / "tmp[x]*{y}"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    for data in (
        ROWS,
        '{"variant": "A", "outcome": true}\n',
        parquet_bytes({"variant": ["A"], "outcome": [True]}),
    ):
        assert added(cli(*AB, stdin=data)) == (2 if data == ROWS else 1)


# --- 2. not a regular file, or not readable ---------------------------------------------------


def test_a_directory_a_pipe_or_a_device_is_one_line(cli, home, ab_test, tmp_path):
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    before = lake_state(home)
    refused(cli(*AB, "-f", tmp_path), "is a directory")
    refused(cli(*AB, "-f", fifo), "is a named pipe", "pipe it into stdin instead")
    refused(cli(*AB, "-f", "/dev/zero"), "not a regular file")
    refused(cli(*AB, "-f", tmp_path / "missing.json"), "no such file")
    (tmp_path / "dangling.json").symlink_to(tmp_path / "gone.json")
    refused(cli(*AB, "-f", tmp_path / "dangling.json"), "no such file")
    refused(cli(*AB, "-f", tmp_path / "ev\x1b]0;title\x07.json"), "no such file", "\\x1b")
    assert lake_state(home) == before


PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2


def without_permission_override() -> None:
    """Run in the child: drop the capabilities that let root read any file, so that file
    permissions apply to it as to any user (the tests may run as root)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_a_file_without_read_permission_is_one_line(home, ab_test, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text(ROWS)
    secret.chmod(0)
    before = lake_state(home)
    try:
        proc = subprocess.run(
            [VIBES, *AB, "-f", str(secret)],
            capture_output=True,
            timeout=300,
            preexec_fn=without_permission_override if os.geteuid() == 0 else None,
        )
    except subprocess.SubprocessError:
        pytest.skip("root here cannot drop CAP_DAC_OVERRIDE, so it reads any file")
    refused(
        Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode()),
        "permission denied",
        "secret.csv",
    )
    assert lake_state(home) == before


# --- 3. gzip and byte order marks -------------------------------------------------------------

BOM = b"\xef\xbb\xbf"
JSON_ARRAY = b'[{"variant": "A", "outcome": true}, {"variant": "B", "outcome": false}]'
NDJSON = b'{"variant": "A", "outcome": true}\n{"variant": "B", "outcome": false}\n'


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("bom.json", BOM + JSON_ARRAY),
        ("bom.ndjson", BOM + NDJSON),
        ("bom.csv", BOM + ROWS.encode()),
        ("bom-array", BOM + JSON_ARRAY),
        ("bom-lines", BOM + NDJSON),
        ("bom-csv", BOM + ROWS.encode()),
        ("events.json.gz", gzip.compress(JSON_ARRAY)),
        ("events.csv.gz", gzip.compress(ROWS.encode())),
        ("events.gz", gzip.compress(NDJSON)),
        ("bom.ndjson.gz", gzip.compress(BOM + NDJSON)),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_bom_and_gzip_inputs_are_read(cli, ab_test, tmp_path, name, data):
    (tmp_path / name).write_bytes(data)
    assert added(cli(*AB, "-f", tmp_path / name)) == 2
    assert added(cli(*AB, stdin=data)) == 2


def test_a_damaged_gzip_file_is_one_line(cli, home, ab_test, tmp_path):
    before = lake_state(home)
    refused(cli(*AB, stdin=gzip.compress(NDJSON * 100)[:-30]), "gzip")
    refused(cli(*AB, stdin=b"\x1f\x8b\x08\x00garbage"), "gzip")
    assert lake_state(home) == before


# --- 4. a CSV never silently loses a line ------------------------------------------------------

CSV_LOSSES = [
    (
        "a second header",
        ROWS + "A,true\nvariant,outcome,timestamp\nA,true,2024-01-01T00:00:00Z\n"
        "B,false,2024-01-02T00:00:00Z\n",
        "line 5",
    ),
    (
        "leading junk",
        "exported by some tool\n\nvariant,outcome\nA,true\nB,false\n",
        "'exported by some tool'",
    ),
    ("a blank line", ROWS + "\nA,true\n", "line 4"),
    ("a blank CRLF line", ROWS.replace("\n", "\r\n") + "\r\nA,true\r\n", "line 4"),
    ("a short row", ROWS + "A\nB,false\n", "line 4"),
    ("a long row", ROWS + "A,true,x\n", "line 4"),
    ("a duplicated header column", "variant,outcome,variant\nA,true,B\n", "'variant' twice"),
    ("an unclosed quote", ROWS + '"A,true\nB,false\n', "not valid CSV"),
]


@pytest.mark.parametrize(
    ("data", "words"), [c[1:] for c in CSV_LOSSES], ids=[c[0] for c in CSV_LOSSES]
)
def test_a_csv_line_is_the_header_a_record_or_an_error(cli, home, ab_test, tmp_path, data, words):
    (tmp_path / "events.csv").write_text(data)
    before = lake_state(home)
    refused(cli(*AB, "-f", tmp_path / "events.csv"), words)
    refused(cli(*AB, stdin=data), words)
    assert lake_state(home) == before


def test_csv_quoting_and_line_ends_that_are_legitimate(cli, home, ab_test):
    data = 'outcome,variant\r\ntrue,"A, ""quoted"""\r\nfalse,"B"\r\n1,C'  # no final newline
    assert added(cli(*AB, stdin=data)) == 3
    assert {e["variant"] for e in events(cli)} >= {'A, "quoted"', "B", "C"}
    assert added(cli(*AB, stdin=ROWS + "\n\n")) == 2  # blank lines at the very end hide nothing
    # A quoted newline is part of its field (and then refused as a control character), and a
    # blank line inside quotes is no blank line.
    before = lake_state(home)
    refused(cli(*AB, stdin='variant,outcome\n"A\n\nB",true\n'), "record 1", "'A\\n\\nB'")
    assert lake_state(home) == before


def test_blank_lines_are_found_across_reads_and_only_outside_quotes(cli, home, ab_test):
    """A blank line (or a quoted field) that straddles the end of one read of the file."""
    header = "variant,outcome\n"
    rows, left = divmod(CHUNK - 1 - len(header), len("A,true\n"))
    head = header + "A,true\n" * (rows - 1) + "A" * (left + 1) + ",true\n"
    assert len(head) == CHUNK - 1  # the last newline of the first read, the next one starts
    before = lake_state(home)
    refused(cli(*AB, stdin=head + "\nB,false\n"), f"line {rows + 2} is blank")
    quoted = header + "A,true\n" * (rows - 1) + '"' + "A" * (left + 5) + "\n"
    assert len(quoted) == CHUNK - 1
    refused(cli(*AB, stdin=quoted + '\nB",true\n'), f"record {rows}", "A\\n\\nB'")
    assert lake_state(home) == before


# --- 5. timestamps are ISO 8601 ----------------------------------------------------------------

BAD_TIMES = [
    "infinity",
    "-infinity",
    "epoch",
    "2024-01-01T00:00:00 EST",
    "2024-01-01T00:00:00+25:00",
    "2024-01-01T00:00:00+14:30",
    "0000-01-01",
    "-0001-01-01",
    "10000-01-01",
    "2024-01-01T00:00:00+05:30:10",
    "2024-02-30",
    "2024-01-01T24:00:00",
    "01/02/2024",
    "2024-1-1",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:00:00-05:00",
    "today",
]


@pytest.mark.parametrize("value", BAD_TIMES)
def test_timestamps_that_are_not_iso_8601_are_refused(cli, home, ab_test, value):
    before = lake_state(home)
    line = json.dumps({"variant": "A", "outcome": True, "timestamp": value})
    refused(
        cli(*AB, stdin=f'{{"variant": "B", "outcome": true}}\n{line}\n'),
        "record 2",
        "column 'timestamp'",
        "ISO 8601",
        value,
    )
    refused(cli(*AB, stdin=f"variant,outcome,timestamp\nA,true,{value}\n"), "record 1", value)
    refused(
        cli(*AB, stdin=parquet_bytes({"variant": ["A"], "outcome": [True], "timestamp": [value]})),
        value,
    )
    assert lake_state(home) == before


GOOD_TIMES = [
    ("2024-03-01T10:00:00Z", "2024-03-01T10:00:00Z"),
    ("2024-03-01T10:00:00+05:30", "2024-03-01T04:30:00Z"),
    ("2024-03-01T10:00:00+0530", "2024-03-01T04:30:00Z"),
    ("2024-03-01T10:00:00-05", "2024-03-01T15:00:00Z"),
    ("2024-03-01T10:00:00+14:00", "2024-02-29T20:00:00Z"),
    ("2024-03-01 10:00:00.250", "2024-03-01T10:00:00.250000Z"),
    ("2024-03-01", "2024-03-01T00:00:00Z"),
    ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
    ("9999-12-31T23:59:59.999999", "9999-12-31T23:59:59.999999Z"),
]


def test_iso_8601_timestamps_are_read_as_utc(cli, ab_test):
    lines = [
        json.dumps({"variant": "Z", "outcome": True, "timestamp": value}) for value, _ in GOOD_TIMES
    ]
    assert added(cli(*AB, stdin="\n".join(lines))) == len(GOOD_TIMES)
    stored = sorted(e["timestamp"] for e in events(cli) if e["variant"] == "Z")
    assert stored == sorted(utc for _, utc in GOOD_TIMES)


def test_parquet_timestamps_out_of_range_are_refused(cli, home, ab_test):
    before = lake_state(home)
    micros = {"year 10000": 253402300800 * 10**6, "year 0": -62167219200 * 10**6 - 1}
    for label, value in micros.items():
        table = pa.table(
            {
                "variant": ["A"],
                "outcome": [True],
                "timestamp": pa.array([value], pa.timestamp("us", tz="UTC")),
            }
        )
        refused(cli(*AB, stdin=parquet_bytes(table)), "column 'timestamp'", "ISO 8601"), label
    assert lake_state(home) == before


# --- 6. duplicate keys in a JSON object --------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        '{"variant": "A", "outcome": true}\n{"outcome": true, "outcome": false, "variant": "A"}\n',
        '[{"variant": "A", "outcome": true}, {"outcome": true, "variant": "A", "outcome": false}]',
    ],
)
def test_a_json_object_with_a_key_twice_is_refused(cli, home, ab_test, data):
    before = lake_state(home)
    refused(cli(*AB, stdin=data), "record 2", "'outcome'", "twice")
    assert lake_state(home) == before


# --- 7. Parquet columns of the wrong type ------------------------------------------------------


def parquet_bytes(columns) -> bytes:
    table = columns if isinstance(columns, pa.Table) else pa.table(columns)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


WRONG_TYPES = [
    ("list", {"variant": [["A"]], "outcome": [True]}, "'variant'", "VARCHAR[]"),
    ("struct", {"variant": [{"x": "A"}], "outcome": [True]}, "'variant'", "STRUCT"),
    (
        "map",
        {"variant": pa.array([[("x", "A")]], pa.map_(pa.string(), pa.string())), "outcome": [True]},
        "'variant'",
        "MAP",
    ),
    ("binary", {"variant": [b"A"], "outcome": [True]}, "'variant'", "BLOB"),
    ("int for a string", {"variant": [1], "outcome": [True]}, "'variant'", "BIGINT"),
    ("string for a bool", {"variant": ["A"], "outcome": ["true"]}, "'outcome'", "VARCHAR"),
    ("int for a bool", {"variant": ["A"], "outcome": [1]}, "'outcome'", "BIGINT"),
    (
        "bool for a timestamp",
        {"variant": ["A"], "outcome": [True], "timestamp": [True]},
        "'timestamp'",
        "BOOLEAN",
    ),
]


@pytest.mark.parametrize(
    ("columns", "column", "kind"), [c[1:] for c in WRONG_TYPES], ids=[c[0] for c in WRONG_TYPES]
)
def test_parquet_columns_of_the_wrong_type_are_refused(cli, home, ab_test, columns, column, kind):
    before = lake_state(home)
    refused(cli(*AB, stdin=parquet_bytes(columns)), column, kind, "expected")
    assert lake_state(home) == before


def test_parquet_numbers_must_fit_their_column(cli, home):
    data = parquet_bytes({"cohort": ["a", "b"], "events": [1.0, 2.0], "exposure": [1, 2]})
    created = ("experiments", "create", "p", "--type", "poisson-cohorts")
    refused(cli(*created, stdin=data), "'events'", "DOUBLE", "expected")
    ints = parquet_bytes(
        {
            "cohort": ["a", "b"],
            "events": pa.array([1, 2], pa.int32()),
            "exposure": pa.array([1, 2], pa.int16()),
        }
    )
    assert cli(*created, stdin=ints).code == 0


TYPED_VALUES = [  # a Parquet column is checked as its own type, never read back as text
    ("nan", {"exposure": [1.0, float("nan")]}, "'exposure'", "finite number"),
    ("infinity", {"exposure": [1.0, float("-inf")]}, "'exposure'", "finite number"),
    ("not positive", {"exposure": [1.0, 0.0]}, "'exposure'", "> 0"),
    ("negative", {"events": [1, -3]}, "'events'", ">= 0"),
    ("beyond BIGINT", {"events": pa.array([1, 2**64 - 1], pa.uint64())}, "'events'", "whole"),
    ("missing", {"events": [1, None]}, "'events'", "a value is required"),
]


@pytest.mark.parametrize(
    ("columns", "column", "words"), [c[1:] for c in TYPED_VALUES], ids=[c[0] for c in TYPED_VALUES]
)
def test_typed_parquet_values_are_checked_by_record(cli, home, columns, column, words):
    table = {"cohort": ["a", "b"], "events": [1, 2], "exposure": [1.0, 2.0], **columns}
    assert cli("db", "init").code == 0
    before = lake_state(home)
    created = ("experiments", "create", "p", "--type", "poisson-cohorts")
    refused(cli(*created, stdin=parquet_bytes(table)), "record 2", column, words)
    assert lake_state(home) == before


def test_parquet_times_of_every_type_are_the_same_instants(cli, ab_test):
    """DATE, TIMESTAMP at any precision and TIMESTAMP WITH TIME ZONE are stored in UTC."""
    instant = 1_700_000_000  # 2023-11-14T22:13:20Z
    times = {
        "date": pa.array([instant // 86400], pa.date32()),
        "seconds": pa.array([instant], pa.timestamp("s")),
        "nanoseconds": pa.array([instant * 10**9 + 250_000_000], pa.timestamp("ns")),
        "zoned": pa.array([instant * 10**6], pa.timestamp("us", tz="America/New_York")),
    }
    for variant, column in times.items():
        table = pa.table({"variant": [variant], "outcome": [True], "timestamp": column})
        assert added(cli(*AB, stdin=parquet_bytes(table))) == 1
    stored = {e["variant"]: e["timestamp"] for e in events(cli)}
    assert stored["date"] == "2023-11-14T00:00:00Z"
    assert stored["seconds"] == stored["zoned"] == "2023-11-14T22:13:20Z"
    assert stored["nanoseconds"] == "2023-11-14T22:13:20.250000Z"


def test_what_generate_writes_as_parquet_is_accepted(cli, ab_test, tmp_path):
    path = tmp_path / "more.parquet"
    assert cli("generate", "ab-test", "-n", "50", "--format", "parquet", "-o", path).code == 0
    assert added(cli(*AB, "-f", path)) == 50


# --- 8. control characters in strings and display names ---------------------------------------

CONTROLS = {
    "ESC": "\x1b]0;pwned\x07",
    "BEL": "A\x07",
    "NUL": "A\x00B",
    "DEL": "A\x7f",
    "C1": "A\x9b31m",
    "bidi override": "A\u202eB",
    "tab": "A\tB",
}


@pytest.mark.parametrize("value", CONTROLS.values(), ids=CONTROLS.keys())
def test_control_characters_in_strings_are_refused(cli, home, ab_test, value):
    before = lake_state(home)
    good = '{"variant": "A", "outcome": true}\n'
    shown = value.encode("unicode_escape").decode()[:6]  # e.g. \x1b]0
    refused(
        cli(*AB, stdin=good + json.dumps({"variant": value, "outcome": True})),
        "record 2",
        "column 'variant'",
        "control character",
        shown,
    )
    refused(cli(*AB, stdin=f"variant,outcome\n{value},true\n".encode()), "record 1", shown)
    refused(cli(*AB, stdin=parquet_bytes({"variant": [value], "outcome": [True]})), shown)
    assert lake_state(home) == before


DISPLAY_NAMES = [
    ("escape", "Test \x1b[31mred", "control character"),
    ("empty", "", "empty"),
    ("blank", "   ", "empty"),
    ("bidi", "abc\u202edef", "\\u202e"),
    ("too long", "x" * 201, "200 characters"),
]


@pytest.mark.parametrize(
    ("display", "words"), [c[1:] for c in DISPLAY_NAMES], ids=[c[0] for c in DISPLAY_NAMES]
)
def test_a_display_name_with_control_characters_blank_or_too_long_is_refused(
    cli, home, ab_test, display, words
):
    before = lake_state(home)
    refused(
        cli(
            "experiments",
            "create",
            "new",
            "--type",
            "ab-test",
            "--display-name",
            display,
            stdin=ROWS,
        ),
        "display name",
        words,
    )
    assert lake_state(home) == before


def test_display_names_with_brackets_and_unicode_are_kept(cli, ab_test):
    for name, display in [("a1", "Homepage [test] — 🎉 [/b]"), ("a2", "y" * 200)]:
        created = cli(
            "experiments",
            "create",
            name,
            "--type",
            "ab-test",
            "--display-name",
            display,
            stdin=ROWS,
        )
        assert created.code == 0, created.err
        assert created.json()["display_name"] == display
