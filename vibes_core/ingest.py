"""Event files in and out: JSON array, NDJSON, CSV and Parquet, from a path or stdin.

Input is staged in DuckDB (streamed from disk, never held in Python) into a temporary table
of raw values, checked column by column against the experiment type, and only then inserted
into the lake in one transaction. Every problem is reported as the first offending record.
"""

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import duckdb

from vibes_core.errors import InvalidInput, VibesError, first_line
from vibes_core.lake import quote_ident, sql_literal
from vibes_core.types.base import SQL_TYPES, Column, ExperimentType

FORMATS = ("json", "ndjson", "csv", "parquet")
EXTENSIONS = {".ndjson": "ndjson", ".jsonl": "ndjson", ".csv": "csv", ".parquet": "parquet"}
STAGED = "vibes_staged"
RECORD = "_vibes_record"  # position of an event in the input, from 1
# JSON value types each kind accepts, so that "yes" or "1" is not taken for a boolean.
JSON_TYPES = {
    "bool": ("BOOLEAN",),
    "string": ("VARCHAR",),
    "int": ("BIGINT", "UBIGINT"),
    "float": ("BIGINT", "UBIGINT", "DOUBLE"),
    "timestamp": ("VARCHAR",),
}
EXPECTED = {
    "bool": "true or false",
    "string": "a non-empty string",
    "int": "a whole number",
    "float": "a finite number",
    "timestamp": "an ISO 8601 timestamp such as 2026-11-26T09:30:00Z",
}
CHECKS = {"non_negative": ">= 0", "positive": "> 0"}  # SQL, and the words in messages


@dataclass(frozen=True)
class Source:
    path: Path
    format: str
    label: str  # how to name it in messages


@contextmanager
def open_source(path: str | Path | None, stdin: BinaryIO | None = None) -> Iterator[Source]:
    """A readable file for ``path``; ``None`` or ``-`` spools stdin to a temporary file."""
    if path is not None and str(path) != "-":
        path = Path(path).expanduser()
        if not path.is_file():
            raise InvalidInput(f"cannot read {str(path)!r}: no such file; check the path")
        yield Source(path, detect_format(path), str(path))
        return
    stdin = stdin or sys.stdin.buffer
    if stdin.isatty():
        raise InvalidInput("no input: give a file, or pipe events into stdin")
    with tempfile.TemporaryDirectory(prefix="vibes-") as tmp:
        spooled = Path(tmp) / "stdin"
        with spooled.open("wb") as out:
            shutil.copyfileobj(stdin, out, 1 << 20)
        yield Source(spooled, detect_format(spooled), "stdin")


def detect_format(path: Path) -> str:
    """By extension where it is unambiguous, otherwise by the first bytes."""
    with path.open("rb") as f:
        head = f.read(4096)
    if not head.strip():
        raise InvalidInput(f"{path.name}: the input is empty; it needs at least one event")
    if head.startswith(b"PAR1"):
        return "parquet"
    by_extension = EXTENSIONS.get(path.suffix.lower())
    if by_extension:
        return by_extension
    first = head.lstrip()[:1]
    if first == b"[":
        check_array_closed(path)
        return "json"
    if first == b"{":
        return "ndjson"
    return "csv"


def check_array_closed(path: Path) -> None:
    """DuckDB reads a JSON array cut short as if it were whole; a cut file must not load."""
    with path.open("rb") as f:
        f.seek(max(0, path.stat().st_size - 64))
        tail = f.read().rstrip()
    if not tail.endswith(b"]"):
        raise InvalidInput(
            f"{path.name} is not valid JSON: the array does not end with ']' "
            "(is the file cut short?)"
        )


@dataclass
class Staged:
    """Validated events in a temporary DuckDB table, ready to insert."""

    experiment_type: ExperimentType
    parsed: dict[str, str]  # column -> SQL expression over the staged table
    rows: int

    def insert_sql(self, table: str) -> str:
        names = ", ".join(quote_ident(c.name) for c in self.experiment_type.columns)
        values = ", ".join(self.parsed[c.name] for c in self.experiment_type.columns)
        return f"INSERT INTO {table} ({names}) SELECT {values} FROM {STAGED}"


@contextmanager
def staged_events(
    con: duckdb.DuckDBPyConnection,
    path: str | Path | None,
    experiment_type: ExperimentType,
    *,
    initial: bool = False,
    stdin: BinaryIO | None = None,
) -> Iterator[Staged]:
    """Validated events from ``path`` (stdin when None), staged until the block ends."""
    with open_source(path, stdin) as source:
        try:
            yield stage(con, source, experiment_type, initial=initial)
        finally:
            con.execute(f"DROP TABLE IF EXISTS {STAGED}")


def preview(
    con: duckdb.DuckDBPyConnection,
    path: str | Path,
    experiment_type: ExperimentType,
    rows: int = 10,
) -> dict:
    """The events an upload of ``path`` would add: their count and the first ``rows``, parsed.

    Validated exactly as an upload is (through ``staged_events``); a bad file raises
    ``InvalidInput`` with the same message. A missing timestamp shows as the current time.
    """
    names = [c.name for c in experiment_type.columns]
    with staged_events(con, path, experiment_type) as staged:
        values = ", ".join(staged.parsed[name] for name in names)
        now = datetime.now(UTC).replace(tzinfo=None)  # the one parameter, as in insert_sql
        head = con.execute(
            f"SELECT {values} FROM {STAGED} ORDER BY {RECORD} LIMIT {int(rows)}", [now]
        ).fetchall()
    return {
        "rows": staged.rows,
        "columns": names,
        "head": [[json_value(value) for value in row] for row in head],
    }


def json_value(value):
    """A value read from DuckDB as JSON has it: timestamps (naive ones are UTC) in ISO 8601."""
    if isinstance(value, datetime):
        return value.isoformat() + ("Z" if value.tzinfo is None else "")
    return value


def stage(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    experiment_type: ExperimentType,
    *,
    initial: bool = False,
) -> Staged:
    """Read ``source`` into a temporary table and check every value; raise on the first bad one."""
    reader = READERS[source.format]
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {STAGED} AS "
            f"SELECT row_number() OVER () AS {RECORD}, * FROM {reader(source.path)}"
        )
    except duckdb.Error as error:
        raise InvalidInput(
            f"{source.label} is not valid {source.format.upper()}: {first_line(error)}"
        ) from error
    rows = con.execute(f"SELECT count(*) FROM {STAGED}").fetchone()[0]
    if rows == 0:
        raise InvalidInput(f"{source.label}: the input has no events; it needs at least one")

    is_json = source.format in ("json", "ndjson")
    present = json_keys(con, source) if is_json else staged_columns(con)
    check_columns(present, experiment_type, source)

    parsed, problems = {}, {}
    for column in experiment_type.columns:
        raw = raw_sql(column, is_json, present)
        value = parse_sql(column, raw)
        problems[column.name] = (problem_sql(column, raw, value, is_json), raw)
        parsed[column.name] = value if column.required else with_default(column, value)
    report_first_problem(con, problems, experiment_type, source, is_json)
    if initial:
        check_groups(con, experiment_type, parsed)
    return Staged(experiment_type, parsed, rows)


def raw_sql(column: Column, is_json: bool, present: set[str]) -> str:
    """SQL for a column's value as text, NULL where the record has none."""
    if is_json:
        return f"(json ->> {sql_literal('$.' + column.name)})"
    return f"CAST({quote_ident(column.name)} AS VARCHAR)" if column.name in present else "NULL"


def problem_sql(column: Column, raw: str, value: str, is_json: bool) -> str:
    """SQL that is true for a record whose value of ``column`` is unacceptable."""
    invalid = [f"{value} IS NULL"]
    if column.check:
        invalid.append(f"NOT ({value} {CHECKS[column.check]})")
    if is_json:  # the JSON type must fit too: "1" is no number and "true" no boolean
        allowed = ", ".join(sql_literal(t) for t in (*JSON_TYPES[column.kind], "NULL"))
        invalid.append(f"json_type(json, {sql_literal('$.' + column.name)}) NOT IN ({allowed})")
    problem = f"({raw} IS NOT NULL AND ({' OR '.join(invalid)}))"
    return f"({problem} OR {raw} IS NULL)" if column.required else problem


def with_default(column: Column, value: str) -> str:
    # A missing timestamp is the upload time, bound as the insert's one parameter.
    default = "?" if column.kind == "timestamp" else sql_literal(str(column.default))
    return f"coalesce({value}, CAST({default} AS {SQL_TYPES[column.kind]}))"


def read_json(path: Path, fmt: str) -> str:
    layout = "array" if fmt == "json" else "newline_delimited"
    return f"read_json_objects({sql_literal(str(path))}, format={sql_literal(layout)})"


READERS = {
    "json": lambda path: read_json(path, "json"),
    "ndjson": lambda path: read_json(path, "ndjson"),
    "csv": lambda path: (
        f"read_csv({sql_literal(str(path))}, header=true, all_varchar=true, strict_mode=true, "
        "delim=',', quote='\"', escape='\"')"
    ),
    "parquet": lambda path: f"read_parquet({sql_literal(str(path))})",
}


def json_keys(con: duckdb.DuckDBPyConnection, source: Source) -> set[str]:
    not_object = con.execute(
        f"SELECT {RECORD} FROM {STAGED} WHERE json_type(json) <> 'OBJECT' ORDER BY {RECORD} LIMIT 1"
    ).fetchone()
    if not_object:
        raise InvalidInput(
            f"{source.label}, record {not_object[0]}: each event must be a JSON object "
            'such as {"outcome": true}'
        )
    rows = con.execute(f"SELECT DISTINCT unnest(json_keys(json)) FROM {STAGED}").fetchall()
    return {key for (key,) in rows}


def staged_columns(con: duckdb.DuckDBPyConnection) -> set[str]:
    names = [row[0] for row in con.execute(f"DESCRIBE {STAGED}").fetchall()]
    return set(names) - {RECORD}


def check_columns(present: set[str], experiment_type: ExperimentType, source: Source) -> None:
    known = {c.name for c in experiment_type.columns}
    hint = f"see `vibes experiments schema --type {experiment_type.name}`"
    unknown = sorted(present - known)
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:5])
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
        case "timestamp":
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
    value = con.execute(f"SELECT {shown} FROM {STAGED} WHERE {RECORD} = ?", [record]).fetchone()[0]
    expected = EXPECTED[column.kind] + (f" {CHECKS[column.check]}" if column.check else "")
    where = f"{source.label}, record {record}, column {name!r}"
    if value is None or value == "null":
        raise InvalidInput(f"{where}: a value is required ({expected}); fix the input and retry")
    shown_value = value if is_json else repr(value)
    raise InvalidInput(
        f"{where}: expected {expected}, got {shown_value[:60]}; fix the input and retry"
    )


def check_groups(con, experiment_type: ExperimentType, parsed: dict[str, str]) -> None:
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
