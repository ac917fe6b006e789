"""Event files in and out: JSON array, NDJSON, CSV and Parquet, from a path or stdin.

Input is staged in DuckDB (streamed from disk, never held in Python) into a temporary table
of raw values (``load``), checked column by column against a ``Schema`` — an experiment type,
or an event table's columns (vibes_core.tables) — (``validate``), and only then inserted into
the lake in one transaction. Every problem is reported as the first offending record.

DuckDB never sees a user's path: its readers expand glob characters (``* ? [ ] {``) in any
path, so the file is opened here and handed over as ``/dev/fd/N``, a path that names exactly
the file opened (Linux reopens it, with its own offset, so Parquet can seek).
"""

import csv
import gzip
import os
import re
import shutil
import stat
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

import duckdb

from vibes_core.errors import InvalidInput, VibesError, first_line
from vibes_core.lake import quote_ident, sql_literal
from vibes_core.text import CONTROL_SQL, has_control, printable
from vibes_core.types.base import SQL_TYPES, Column

FORMATS = ("json", "ndjson", "csv", "parquet")
EXTENSIONS = {".ndjson": "ndjson", ".jsonl": "ndjson", ".csv": "csv", ".parquet": "parquet"}
STAGED = "vibes_staged"
# Position of an event in the input, from 1: row_number() OVER () with an empty OVER is
# DuckDB's streaming window, an operator that is not parallel (its pipeline runs on one thread
# and reads the file from its start to its end), so the numbers follow the file's order for
# every format and size. Messages name records by it; the groups' order is read from it.
RECORD = "_vibes_record"
CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
BOM = b"\xef\xbb\xbf"  # UTF-8's byte order mark, which some Windows tools write first
HEADER_LIMIT = 64 << 10  # longest CSV header line read
# JSON value types each kind accepts, so that "yes" or "1" is not taken for a boolean.
JSON_TYPES = {
    "bool": ("BOOLEAN",),
    "string": ("VARCHAR",),
    "int": ("BIGINT", "UBIGINT"),
    "float": ("BIGINT", "UBIGINT", "DOUBLE"),
    "timestamp": ("VARCHAR",),
}
# Parquet column types (as DuckDB names them) each kind accepts, and how to say so.
INTEGERS = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
)
PARQUET_TYPES = {
    "bool": (("BOOLEAN",), "a BOOLEAN column"),
    "string": (("VARCHAR",), "a string (VARCHAR) column"),
    "int": (INTEGERS, "an integer column"),
    "float": ((*INTEGERS, "FLOAT", "DOUBLE", "DECIMAL"), "a numeric column"),
    "timestamp": (
        (
            "TIMESTAMP",
            "TIMESTAMP WITH TIME ZONE",
            "TIMESTAMP_NS",
            "TIMESTAMP_MS",
            "TIMESTAMP_S",
            "DATE",
            "VARCHAR",
        ),
        "a TIMESTAMP, DATE or ISO 8601 string column",
    ),
}
EXPECTED = {
    "bool": "true or false",
    "string": "a non-empty string",
    "int": "a whole number",
    "float": "a finite number",
    "timestamp": "an ISO 8601 timestamp such as 2026-11-26T09:30:00Z "
    "(years 1-9999, an offset within ±14:00)",
}
CHECKS = {"non_negative": ">= 0", "positive": "> 0"}  # SQL, and the words in messages
# ISO 8601 as people write it: a date, optionally a time (T or space) with optional fraction of
# a second and Z or an offset within ±14:00 (none means UTC). DuckDB's own cast also takes
# 'infinity', 'epoch', time zone names and offsets of any size: a value must match this too.
YEAR = "(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
OFFSET = "(Z|[+-](0[0-9]|1[0-3])(:?[0-5][0-9])?|[+-]14(:?00)?)"
ISO_8601 = (
    f"{YEAR}-[0-9]{{2}}-[0-9]{{2}}"
    f"([T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]+)?{OFFSET}?)?"
)
FIRST_MOMENT, LAST_MOMENT = "TIMESTAMP '0001-01-01'", "TIMESTAMP '9999-12-31 23:59:59.999999'"


class Schema(Protocol):
    """What the events are checked against: their columns (each with its kind and whether a
    value is required), and the column that names their groups, if any. An experiment type
    is one; an event table's columns (vibes_core.tables.TableSchema) are another."""

    @property
    def name(self) -> str: ...

    @property
    def columns(self) -> tuple[Column, ...]: ...

    @property
    def group_column(self) -> str | None: ...

    @property
    def min_groups(self) -> int: ...

    @property
    def segment_columns(self) -> tuple[str, ...]: ...

    def column(self, name: str) -> Column: ...


# Called once the input's columns are known (before any value is read where the format names
# them first: CSV's header, Parquet's schema): their names, in the input's order, and for
# Parquet their DuckDB types. It raises InvalidInput for columns that do not fit.
ColumnsCheck = Callable[["Source", list[str], dict[str, str]], None]


@dataclass(frozen=True)
class Source:
    file: BinaryIO  # opened here; DuckDB reads it through ``path``
    format: str
    label: str  # how to name it in messages, control characters escaped
    bom: bool = False

    @property
    def path(self) -> str:
        return f"/dev/fd/{self.file.fileno()}"


@contextmanager
def open_source(path: str | Path | None, stdin: BinaryIO | None = None) -> Iterator[Source]:
    """The input, opened: ``path`` as one file, or ``None``/``-`` for stdin spooled to a
    temporary file. gzip-compressed input is decompressed to a temporary file first."""
    with ExitStack() as stack:
        if path is not None and str(path) != "-":
            path = Path(path).expanduser()
            label, name = printable(str(path)), path.name
            file = stack.enter_context(open_file(path, label))
        else:
            stdin = stdin or sys.stdin.buffer
            if stdin.isatty():
                raise InvalidInput("no input: give a file, or pipe events into stdin")
            label, name = "stdin", ""
            file = stack.enter_context(spool(stdin, label))
        if file.read(2) == GZIP_MAGIC:
            file.seek(0)
            with gzip.GzipFile(fileobj=file) as unzipped:
                file = stack.enter_context(spool(unzipped, label))
            name = name[:-3] if name.lower().endswith(".gz") else ""
        yield detect_format(file, name, label)


def open_file(path: Path, label: str) -> BinaryIO:
    """``path`` opened for reading if it is a regular file; otherwise one line saying what it is."""
    where = f"cannot read '{label}'"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # without it a FIFO blocks right here
    except FileNotFoundError:
        raise InvalidInput(f"{where}: no such file; check the path") from None
    except PermissionError:
        raise InvalidInput(
            f"{where}: permission denied; make it readable (chmod) or run as a user who may read it"
        ) from None
    except OSError as error:
        raise InvalidInput(f"{where}: {str(error.strerror).lower()}; check the path") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise InvalidInput(f"{where}: it is a directory; give a file in it")
        if stat.S_ISFIFO(mode):
            raise InvalidInput(
                f"{where}: it is a named pipe; pipe it into stdin instead (< '{label}')"
            )
        raise InvalidInput(f"{where}: it is a device or socket, not a regular file; give a file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def spool(stream: BinaryIO, label: str) -> BinaryIO:
    """A private temporary file (already unlinked) holding what ``stream`` reads."""
    out = tempfile.TemporaryFile(prefix="vibes-")  # noqa: SIM115 (the caller closes it)
    try:
        shutil.copyfileobj(stream, out, CHUNK)
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        out.close()
        raise InvalidInput(
            f"{label} is gzip-compressed but cannot be decompressed ({first_line(error)}); "
            "is it cut short? check the file"
        ) from error
    except OSError as error:
        out.close()
        raise VibesError(
            f"cannot copy {label} to a temporary file in {tempfile.gettempdir()}: "
            f"{str(error.strerror).lower()}; free some space there or set TMPDIR"
        ) from error
    out.seek(0)
    return out


def detect_format(file: BinaryIO, name: str, label: str) -> Source:
    """By extension where it is unambiguous, otherwise by the first bytes."""
    file.seek(0)
    head = file.read(4096)
    bom = head.startswith(BOM)
    head = head.removeprefix(BOM)
    if not head.strip():
        raise InvalidInput(f"{label}: the input is empty; it needs at least one event")
    fmt = "parquet" if head.startswith(b"PAR1") else EXTENSIONS.get(Path(name).suffix.lower())
    if fmt is None:
        first = head.lstrip()[:1]
        fmt = "json" if first == b"[" else "ndjson" if first == b"{" else "csv"
    if fmt == "json":
        check_array_closed(file, label)
    return Source(file, fmt, label, bom)


def check_array_closed(file: BinaryIO, label: str) -> None:
    """DuckDB reads a JSON array cut short as if it were whole; a cut file must not load."""
    file.seek(max(0, file.seek(0, os.SEEK_END) - 64))
    tail = file.read().rstrip()
    if not tail.endswith(b"]"):
        raise InvalidInput(
            f"{label} is not valid JSON: the array does not end with ']' (is the file cut short?)"
        )


@dataclass(frozen=True)
class Loaded:
    """The input as raw values in the temporary table ``STAGED``, not yet checked: one row per
    record, numbered by ``RECORD``; the values in a column ``json`` (JSON formats) or in a
    column each (as text for CSV, as typed for Parquet)."""

    source: Source
    columns: list[str]  # CSV's header or Parquet's columns in order; JSON: every key of any record
    rows: int
    types: dict[str, str] = field(default_factory=dict)  # Parquet: column -> its DuckDB type

    @property
    def is_json(self) -> bool:
        return self.source.format in ("json", "ndjson")


@dataclass
class Staged:
    """Validated events in a temporary DuckDB table, ready to insert."""

    schema: Schema
    parsed: dict[str, str]  # column -> SQL expression over the staged table
    rows: int

    def insert_sql(self, table: str, skip: frozenset[str] = frozenset()) -> str:
        """The insert of every column but ``skip`` (optional ones the table lacks)."""
        columns = [c for c in self.schema.columns if c.name not in skip]
        names = ", ".join(quote_ident(c.name) for c in columns)
        values = ", ".join(self.parsed[c.name] for c in columns)
        return f"INSERT INTO {table} ({names}) SELECT {values} FROM {STAGED}"

    def parameters(self, now: datetime) -> list:
        """What ``insert_sql`` binds: the upload time, for an optional timestamp left out."""
        optional = any(c.kind == "timestamp" and not c.required for c in self.schema.columns)
        return [now] if optional else []

    def has_values(self, con: duckdb.DuckDBPyConnection, column: str) -> bool:
        """Whether any staged event has a value of ``column`` (not a timestamp: its default
        is a parameter)."""
        sql = f"SELECT bool_or({self.parsed[column]} IS NOT NULL) FROM {STAGED}"
        return bool(con.execute(sql).fetchone()[0])


@contextmanager
def staged_events(
    con: duckdb.DuckDBPyConnection,
    path: str | Path | None,
    experiment_type: Schema,
    *,
    initial: bool = False,
    stdin: BinaryIO | None = None,
) -> Iterator[Staged]:
    """Validated events from ``path`` (stdin when None), staged until the block ends."""
    with staging(con, path, stdin) as source:
        yield stage(con, source, experiment_type, initial=initial)


@contextmanager
def staging(
    con: duckdb.DuckDBPyConnection, path: str | Path | None, stdin: BinaryIO | None = None
) -> Iterator[Source]:
    """The input opened (``open_source``); whatever is staged from it is dropped at the end."""
    with open_source(path, stdin) as source:
        try:
            yield source
        finally:
            con.execute(f"DROP TABLE IF EXISTS {STAGED}")


def preview(
    con: duckdb.DuckDBPyConnection,
    path: str | Path,
    experiment_type: Schema,
    rows: int = 10,
) -> dict:
    """The events an upload of ``path`` would add: their count, their groups (in the order
    they first appear) and the first ``rows``, parsed.

    Validated exactly as an upload is (through ``staged_events``); a bad file raises
    ``InvalidInput`` with the same message. A missing timestamp shows as the current time.
    """
    names = [c.name for c in experiment_type.columns]
    with staged_events(con, path, experiment_type) as staged:
        values = ", ".join(staged.parsed[name] for name in names)
        now = datetime.now(UTC).replace(tzinfo=None)  # the one parameter, as in insert_sql
        head = con.execute(
            f"SELECT {values} FROM {STAGED} ORDER BY {RECORD} LIMIT {int(rows)}",
            staged.parameters(now),
        ).fetchall()
        groups = groups_in_order(con, staged)
    columns, head = without_empty(names, head, experiment_type.segment_columns)
    return {
        "rows": staged.rows,
        "groups": groups,
        "columns": columns,
        "head": [[json_value(value) for value in row] for row in head],
    }


def without_empty(columns: list[str], rows: list, optional) -> tuple[list[str], list[list]]:
    """``columns`` and ``rows`` without the ``optional`` columns no row has a value of: data
    without segments shows as it did before segments existed."""
    kept = [
        i
        for i, name in enumerate(columns)
        if name not in optional or any(row[i] is not None for row in rows)
    ]
    return [columns[i] for i in kept], [[row[i] for i in kept] for row in rows]


def json_value(value):
    """A value read from DuckDB as JSON has it: timestamps (naive ones are UTC) in ISO 8601."""
    if isinstance(value, datetime):
        return value.isoformat() + ("Z" if value.tzinfo is None else "")
    return value


def stage(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    experiment_type: Schema,
    *,
    initial: bool = False,
) -> Staged:
    """Read ``source`` into a temporary table and check every value; raise on the first bad one."""

    def check(source: Source, present: list[str], types: dict[str, str]) -> None:
        check_columns(set(present), experiment_type, source)
        check_parquet_types(types, experiment_type, source)

    return validate(con, load(con, source, check), experiment_type, initial=initial)


def load(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    check: ColumnsCheck,
    *,
    csv_example: str = "variant,outcome",
    json_example: str = '{"outcome": true}',
) -> Loaded:
    """Read ``source`` into the temporary table ``STAGED`` as raw values, with ``check`` run
    on its columns as soon as they are known; no value is checked yet (see ``validate``).
    The examples show, in messages, what a header line and an event look like."""
    is_json = source.format in ("json", "ndjson")
    types: dict[str, str] = {}
    try:
        if source.format == "csv":
            columns = csv_header(source, csv_example)
            check(source, columns, types)
            check_no_blank_lines(source)
            relation = read_csv(source, columns)
        elif source.format == "parquet":
            relation = f"read_parquet({sql_literal(source.path)})"
            described = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
            types = {row[0]: row[1] for row in described}
            columns = list(types)
            check(source, columns, types)
        else:
            relation = read_json(source)
        numbered = f"SELECT row_number() OVER () AS {RECORD}, * FROM {relation}"
        if source.format == "parquet" and "file_row_number" not in types:
            # The reader numbers the rows itself, in parallel: half the time of the above.
            numbered = (
                f"SELECT file_row_number + 1 AS {RECORD}, * EXCLUDE (file_row_number) "
                f"FROM read_parquet({sql_literal(source.path)}, file_row_number = true)"
            )
        con.execute(f"CREATE OR REPLACE TEMP TABLE {STAGED} AS {numbered}")
    except duckdb.Error as error:
        raise InvalidInput(not_valid(source, error)) from error
    rows = con.execute(f"SELECT count(*) FROM {STAGED}").fetchone()[0]
    if rows == 0:
        raise InvalidInput(f"{source.label}: the input has no events; it needs at least one")
    if is_json:
        columns = sorted(json_keys(con, source, json_example))
        check(source, columns, types)
        check_keys_once(con, source, set(columns))
    return Loaded(source, columns, rows, types)


def validate(
    con: duckdb.DuckDBPyConnection, loaded: Loaded, schema: Schema, *, initial: bool = False
) -> Staged:
    """Check every staged value against ``schema`` (whose columns the input has: ``load``'s
    check said so); raise on the first bad one. ``initial``: the groups must be enough."""
    present = set(loaded.columns)
    parsed, problems = {}, {}
    for column in schema.columns:
        typed = loaded.types.get(column.name, "VARCHAR") != "VARCHAR"
        if typed:  # a Parquet column of its own type: checked and inserted as it is, not as text
            raw = quote_ident(column.name)
            value = typed_sql(column, raw, loaded.types[column.name])
            problem, shown = typed_problem_sql(column, raw, value), f"CAST({raw} AS VARCHAR)"
        else:
            raw = raw_sql(column, loaded.is_json, present)
            value = parse_sql(column, raw)
            problem, shown = problem_sql(column, raw, value, loaded.is_json), raw
        problems[column.name] = (problem, shown)
        parsed[column.name] = value if column.required else with_default(column, value)
    report_first_problem(con, problems, schema, loaded.source, loaded.is_json)
    if initial:
        check_groups(con, schema, parsed)
    return Staged(schema, parsed, loaded.rows)


def not_valid(source: Source, error: duckdb.Error) -> str:
    """DuckDB's complaint about a file, in one line; a CSV row of the wrong width by its line."""
    message = str(error)
    line = re.search(r"CSV Error on Line: (\d+)", message)
    width = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
    if line and width:
        return (
            f"{source.label} is not valid CSV: line {line[1]} has {width[2]} values and the "
            f"header {width[1]}; every line after the header is one event; fix it and retry"
        )
    return f"{source.label} is not valid {source.format.upper()}: {printable(first_line(error))}"


def csv_header(source: Source, example: str = "variant,outcome") -> list[str]:
    """The column names on line 1. DuckDB's sniffer would look for a header further down and
    silently skip every line above it: here line 1 is the header, always."""
    source.file.seek(len(BOM) if source.bom else 0)
    head = source.file.read(HEADER_LIMIT)
    line, *rest = re.split(rb"\r\n|\r|\n", head, maxsplit=1)
    where = f"{source.label}, line 1"
    example = f"the first line must name the columns, e.g. {example}"
    if not rest and len(head) == HEADER_LIMIT:
        raise InvalidInput(f"{where} is longer than {HEADER_LIMIT >> 10} KiB; {example}")
    if not line.strip():
        raise InvalidInput(f"{where} is blank; {example}")
    try:
        names = next(csv.reader([line.decode()]))
    except (UnicodeDecodeError, csv.Error) as error:
        raise InvalidInput(f"{where}: {printable(str(error))}; {example}") from error
    twice = [name for i, name in enumerate(names) if name in names[:i]]
    if twice:
        raise InvalidInput(
            f"{where}: the header names column '{printable(twice[0])}' twice; keep one and retry"
        )
    return names


def check_no_blank_lines(source: Source) -> None:
    """DuckDB skips blank lines without a word: one with more lines after it is refused here,
    by its number (blank lines at the very end hide nothing)."""
    source.file.seek(0)
    head = source.file.read(4096)
    newline = b"\r" if b"\r" in head and b"\n" not in head else b"\n"  # old Mac files end in \r
    found = first_blank_line(source.file, newline)
    if found is None:
        return
    line, end = found
    source.file.seek(end)
    while chunk := source.file.read(CHUNK):
        if chunk.strip(b"\r\n"):
            raise InvalidInput(
                f"{source.label}, line {line} is blank; every line after the header is one "
                "event: remove it and retry"
            )


def first_blank_line(file: BinaryIO, newline: bytes) -> tuple[int, int] | None:
    """The number of the first blank line outside quoted fields, and the offset after it.

    A position is inside a quoted field when an odd number of quotes precede it (a quote
    written inside a field is doubled, so it counts twice). Read in chunks: bytes.count and
    a regular expression keep it at disk speed."""
    blank = re.compile(rb"\r\r" if newline == b"\r" else rb"\n\r?\n")
    file.seek(0)
    offset = lines = quotes = 0  # where ``window`` starts in the file, and what precedes it
    carry = b""  # the end of the last read: a blank line may straddle two
    while chunk := file.read(CHUNK):
        window = carry + chunk
        for match in blank.finditer(window):
            if match.end() <= len(carry):
                continue  # seen in the last read
            if (quotes + window.count(b'"', 0, match.start())) % 2 == 0:
                return lines + window.count(newline, 0, match.start() + 1) + 1, offset + match.end()
        carry = window[-2:]
        done = len(window) - len(carry)
        lines += window.count(newline, 0, done)
        quotes += window.count(b'"', 0, done)
        offset += done
    return None


def check_parquet_types(types: dict[str, str], experiment_type: Schema, source: Source) -> None:
    """Casting a list, a struct or bytes to text would make names such as '[A]': the column's
    type must fit its kind before any value is read (``types``: Parquet's, {} for others)."""
    for column in experiment_type.columns:
        found = types.get(column.name)
        accepted, what = PARQUET_TYPES[column.kind]
        if found is not None and found.split("(")[0] not in accepted:
            raise InvalidInput(
                f"{source.label}, column {column.name!r}: expected {what}, got a "
                f"{printable(found)} column; fix the input and retry"
            )


def raw_sql(column: Column, is_json: bool, present: set[str]) -> str:
    """SQL for a column's value as text, NULL where the record has none."""
    if is_json:
        return f"(json ->> {sql_literal('$.' + column.name)})"
    return f"CAST({quote_ident(column.name)} AS VARCHAR)" if column.name in present else "NULL"


def problem_sql(column: Column, raw: str, value: str, is_json: bool) -> str:
    """SQL that is true for a record whose value of ``column`` is unacceptable."""
    invalid = [f"{value} IS NULL"]
    if column.kind == "string":  # they would reach a terminal as commands
        invalid.append(f"regexp_matches({raw}, {sql_literal(CONTROL_SQL)})")
    if column.kind == "timestamp":
        # Spaces around as trim() drops them: without a trim() the match is 2.5 times as fast.
        invalid.append(f"NOT regexp_full_match({raw}, {sql_literal(f' *{ISO_8601} *')})")
        # An offset (at most 14 hours) can carry only the first or the last day out of range.
        # Only those days are compared: the comparison costs as much as the cast, and a CASE
        # (unlike AND here) evaluates it only where the test holds.
        edge = f"contains({raw}, '0001-01-01') OR contains({raw}, '9999-12-31')"
        out = f"{value} NOT BETWEEN {FIRST_MOMENT} AND {LAST_MOMENT}"
        invalid.append(f"CASE WHEN {edge} THEN {out} ELSE false END")
    if column.check:
        invalid.append(f"NOT ({value} {CHECKS[column.check]})")
    if is_json:  # the JSON type must fit too: "1" is no number and "true" no boolean
        allowed = ", ".join(sql_literal(t) for t in (*JSON_TYPES[column.kind], "NULL"))
        invalid.append(f"json_type(json, {sql_literal('$.' + column.name)}) NOT IN ({allowed})")
    problem = f"({raw} IS NOT NULL AND ({' OR '.join(invalid)}))"
    return f"({problem} OR {raw} IS NULL)" if column.required else problem


def typed_sql(column: Column, raw: str, duck_type: str) -> str:
    """SQL for the value of a typed (Parquet) column as its kind stores it, NULL where it has
    none (check_parquet_types said the type fits the kind): integers out of BIGINT's range,
    NaN and infinities, and times that are no TIMESTAMP become NULL, which is a problem."""
    match column.kind:
        case "bool":
            return raw
        case "int":
            return f"try_cast({raw} AS BIGINT)"
        case "float":
            number = f"try_cast({raw} AS DOUBLE)"
            return f"CASE WHEN isfinite({number}) THEN {number} END"
        case "timestamp" if duck_type == "DATE":
            moment = f"try_cast({raw} AS TIMESTAMP)"
            return f"CASE WHEN isfinite({moment}) THEN {moment} END"
        case "timestamp":  # in UTC, through microseconds: a cast of a zoned time goes through
            # a calendar per value (25 times as slow); an infinity has none (NULL)
            return f"make_timestamp(epoch_us({raw}))"
    raise AssertionError(column.kind)  # strings are VARCHAR, read as text


def typed_problem_sql(column: Column, raw: str, value: str) -> str:
    """SQL that is true for a record whose typed value of ``column`` is unacceptable."""
    invalid = [f"{value} IS NULL"]
    if column.kind == "timestamp":
        invalid.append(f"{value} NOT BETWEEN {FIRST_MOMENT} AND {LAST_MOMENT}")
    if column.check:
        invalid.append(f"NOT ({value} {CHECKS[column.check]})")
    problem = f"({raw} IS NOT NULL AND ({' OR '.join(invalid)}))"
    return f"({problem} OR {raw} IS NULL)" if column.required else problem


def with_default(column: Column, value: str) -> str:
    # A missing timestamp is the upload time, bound as the insert's one parameter; a missing
    # value of a column without a default (a segment) is none: NULL, not the text 'None'.
    if column.kind != "timestamp" and column.default is None:
        return value
    default = "?" if column.kind == "timestamp" else sql_literal(str(column.default))
    return f"coalesce({value}, CAST({default} AS {SQL_TYPES[column.kind]}))"


def read_json(source: Source) -> str:
    # DuckDB refuses a BOM in newline-delimited JSON, not in the same values read unstructured.
    layouts = {"json": "array", "ndjson": "unstructured" if source.bom else "newline_delimited"}
    return (
        f"read_json_objects({sql_literal(source.path)}, "
        f"format={sql_literal(layouts[source.format])})"
    )


def read_csv(source: Source, header: list[str]) -> str:
    """The dialect pinned, nothing sniffed: line 1 is the header, every other line one record
    of as many values (a wrong width is an error with its line number, never skipped)."""
    columns = ", ".join(f"{sql_literal(name)}: 'VARCHAR'" for name in header)
    return (
        f"read_csv({sql_literal(source.path)}, columns={{{columns}}}, auto_detect=false, "
        "header=true, skip=0, delim=',', quote='\"', escape='\"', strict_mode=true, "
        "null_padding=false, ignore_errors=false)"
    )


def json_keys(
    con: duckdb.DuckDBPyConnection, source: Source, example: str = '{"outcome": true}'
) -> set[str]:
    not_object = con.execute(
        f"SELECT {RECORD} FROM {STAGED} WHERE json_type(json) <> 'OBJECT' ORDER BY {RECORD} LIMIT 1"
    ).fetchone()
    if not_object:
        raise InvalidInput(
            f"{source.label}, record {not_object[0]}: each event must be a JSON object "
            f"such as {example}"
        )
    rows = con.execute(f"SELECT DISTINCT unnest(json_keys(json)) FROM {STAGED}").fetchall()
    return {key for (key,) in rows}


def check_keys_once(con: duckdb.DuckDBPyConnection, source: Source, present: set[str]) -> None:
    """DuckDB keeps the first of two values of a key silently: a key twice is refused. An
    object has one when it has more keys than distinct ones (each is one of ``present``; this
    is 4 times as fast as list_distinct)."""
    distinct = " + ".join(f"list_contains(keys, {sql_literal(key)})::INT" for key in present)
    record = con.execute(
        f"SELECT min({RECORD}) FILTER (WHERE len(keys) > {distinct}) "
        f"FROM (SELECT {RECORD}, json_keys(json) AS keys FROM {STAGED})"
    ).fetchone()[0]
    if record:
        keys = con.execute(
            f"SELECT json_keys(json) FROM {STAGED} WHERE {RECORD} = {int(record)}"
        ).fetchone()[0]
        twice = next(key for i, key in enumerate(keys) if key in keys[:i])
        raise InvalidInput(
            f"{source.label}, record {record}: key '{printable(twice)}' appears twice in the "
            "object; keep one and retry"
        )


def check_columns(present: set[str], experiment_type: Schema, source: Source) -> None:
    known = {c.name for c in experiment_type.columns}
    hint = f"see `vibes experiments schema --type {experiment_type.name}`"
    unknown = sorted(present - known)
    if unknown:
        shown = ", ".join(f"'{printable(name[:40])}'" for name in unknown[:5])
        raise InvalidInput(
            f"{source.label}: unknown column(s) {shown} for type {experiment_type.name} "
            f"(expected {', '.join(sorted(known))}); {hint}"
        )
    missing = sorted(
        c.name for c in experiment_type.columns if c.required and c.name not in present
    )
    if missing:
        raise InvalidInput(
            f"{source.label}: missing required column(s) {', '.join(missing)}; {hint}"
        )


def parse_sql(column: Column, raw: str) -> str:
    """SQL turning the raw text of a value into its typed value, NULL when it is not one."""
    match column.kind:
        case "bool":
            return (
                f"CASE lower(trim({raw})) WHEN 'true' THEN true WHEN '1' THEN true "
                f"WHEN 'false' THEN false WHEN '0' THEN false END"
            )
        case "string":
            return f"nullif(trim({raw}), '')"
        case "int":
            return (
                f"CASE WHEN regexp_full_match(trim({raw}), '[+-]?[0-9]+') "
                f"THEN try_cast(trim({raw}) AS BIGINT) END"
            )
        case "float":
            number = f"try_cast(trim({raw}) AS DOUBLE)"
            return f"CASE WHEN isfinite({number}) THEN {number} END"
        case "timestamp":  # in UTC; problem_sql checks the format first
            return f"CAST(try_cast(trim({raw}) AS TIMESTAMPTZ) AS TIMESTAMP)"
    raise AssertionError(column.kind)


def report_first_problem(con, problems, experiment_type, source, is_json) -> None:
    firsts = ", ".join(f"min({RECORD}) FILTER (WHERE {bad})" for bad, _ in problems.values())
    records = con.execute(f"SELECT {firsts} FROM {STAGED}").fetchone()
    found = [(record, name) for record, name in zip(records, problems, strict=True) if record]
    if not found:
        return
    record, name = min(found)
    column = experiment_type.column(name)
    raw = problems[name][1]
    shown = f"json -> {sql_literal('$.' + name)}" if is_json else raw
    text, value = con.execute(
        f"SELECT {raw}, {shown} FROM {STAGED} WHERE {RECORD} = ?", [record]
    ).fetchone()
    where = f"{source.label}, record {record}, column {name!r}"
    if column.kind == "string" and text is not None and has_control(text):
        raise InvalidInput(
            f"{where}: control characters are not allowed, got '{printable(text)[:60]}'; "
            "fix the input and retry"
        )
    expected = EXPECTED[column.kind] + (f" {CHECKS[column.check]}" if column.check else "")
    if value is None or value == "null":
        raise InvalidInput(f"{where}: a value is required ({expected}); fix the input and retry")
    shown_value = printable(value if is_json else repr(value))
    raise InvalidInput(
        f"{where}: expected {expected}, got {shown_value[:60]}; fix the input and retry"
    )


def groups_in_order(con: duckdb.DuckDBPyConnection, staged: Staged) -> list[str]:
    """The staged events' distinct groups (as they will be stored), in the order they first
    appear in the input; [] for a type without groups."""
    group = staged.schema.group_column
    if not group:
        return []
    rows = con.execute(
        f"SELECT {staged.parsed[group]}, min({RECORD}) FROM {STAGED} GROUP BY 1 ORDER BY 2"
    ).fetchall()
    return [name for name, _ in rows]


def check_groups(con, experiment_type: Schema, parsed: dict[str, str]) -> None:
    group = experiment_type.group_column
    if not group or experiment_type.min_groups <= 1:
        return
    found = con.execute(f"SELECT count(DISTINCT {parsed[group]}) FROM {STAGED}").fetchone()[0]
    if found < experiment_type.min_groups:
        raise InvalidInput(
            f"type {experiment_type.name} needs at least {experiment_type.min_groups} "
            f"distinct values of {group!r} in its initial data, found {found}"
        )


def write_events(table, fmt: str, output: Path | None) -> None:
    """Write an Arrow table of events as ``fmt`` to ``output`` (stdout when None)."""
    if fmt not in FORMATS:
        raise VibesError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if output is None:
        # DuckDB would reopen /dev/stdout and truncate a redirected file: go through a file.
        with tempfile.TemporaryDirectory(prefix="vibes-") as tmp:
            spooled = Path(tmp) / f"events.{fmt}"
            write_events(table, fmt, spooled)
            with spooled.open("rb") as f:
                shutil.copyfileobj(f, sys.stdout.buffer, 1 << 20)
            sys.stdout.buffer.flush()
        return
    con = duckdb.connect(config={"autoload_known_extensions": False})
    con.execute("SET TimeZone = 'UTC'")
    con.register("events", table)
    options = {
        "json": "FORMAT json, ARRAY true",
        "ndjson": "FORMAT json",
        "csv": "FORMAT csv, HEADER true",
        "parquet": "FORMAT parquet",
    }[fmt]
    try:
        con.execute(f"COPY events TO {sql_literal(str(output))} ({options})")
    except duckdb.IOException as error:
        raise VibesError(f"cannot write {output}: {first_line(error)}") from error
    finally:
        con.close()


def format_for(output: Path | None, requested: str | None) -> str:
    if requested:
        return requested
    if output is None:
        return "json"
    return EXTENSIONS.get(output.suffix.lower(), "json")
