"""Event tables: events of units (orders, errors, page views) that metrics are computed from.

An event table is a DuckLake table ``lake.events.NAME``: a ``unit`` (string) and a
``timestamp`` (ISO 8601, UTC) in every event, and any other columns of booleans, integers,
numbers or strings, where a value may be missing. Its first upload makes it, and fixes its
columns and their kinds (``detect``): Parquet's types, JSON's values, and in a CSV whole numbers
int, other numbers float, true/false bool, anything else string. Every later upload has the
same columns, exactly, and its values are checked against their kinds before anything is
written. Files are read, and values checked, by vibes_core.ingest, as for experiments.

No metadata of its own: the columns are the table's, the rows DuckLake's statistics, the last
upload its snapshot log. The catalog is input (written by hand, or by another version): a
table whose name or columns vibes would not have written is left out of the list, and said.
Experiments and event tables share one namespace of names.
"""

import re
from dataclasses import dataclass
from typing import ClassVar

import duckdb

from vibes_core import catalog, ingest
from vibes_core.errors import AlreadyExists, InvalidInput, InvalidName, NotFound, VibesError
from vibes_core.lake import ALIAS, EVENTS_SCHEMA, Lake, quote_ident, sql_literal
from vibes_core.names import is_name, quoted, shown
from vibes_core.text import printable
from vibes_core.types.base import SQL_TYPES, Column

SCHEMA = EVENTS_SCHEMA
COLUMN_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
RESERVED = "_vibes"  # ingest's own columns (its record numbers) start with it
MAX_COLUMNS = 100
UNIT = Column("unit", "string", "the unit (user, account, ...) the event is of")
TIMESTAMP = Column("timestamp", "timestamp", "when it happened (ISO 8601, UTC)")
REQUIRED = (UNIT, TIMESTAMP)
KINDS = ("bool", "int", "float", "string")  # of the other columns
# The kind of each column type vibes writes, as DuckLake's metadata names them.
LAKE_TYPES = {"boolean": "bool", "int64": "int", "float64": "float", "varchar": "string"}
LAKE_TYPES["timestamp"] = "timestamp"
# The kind a Parquet column of each type becomes (its type as DuckDB names it, unparametrised).
PARQUET_KINDS = {
    "BOOLEAN": "bool",
    **dict.fromkeys(ingest.INTEGERS, "int"),
    "FLOAT": "float",
    "DOUBLE": "float",
    "DECIMAL": "float",
    "VARCHAR": "string",
}
PARQUET_ALLOWED = (
    "BOOLEAN, integers, FLOAT, DOUBLE, DECIMAL or VARCHAR (and `timestamp` a TIMESTAMP, "
    "DATE or ISO 8601 string)"
)
# A number as CSV writes one: a whole number is an int, any other a float. Not 'nan', 'inf'.
NUMBER = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?"
WHOLE = r"[+-]?[0-9]+"
CSV_EXAMPLE = "unit,timestamp,amount"
JSON_EXAMPLE = '{"unit": "u1", "timestamp": "2026-11-26T09:30:00Z", "amount": 9.5}'
SHOWN_COLUMNS = 5  # unknown or missing columns named in a message
SHOWN_METRICS = 10


class InUse(VibesError):
    """An event table that metrics still use."""


@dataclass(frozen=True)
class TableSchema:
    """An event table's columns: ``unit`` and ``timestamp`` first (values required), then the
    others in the order its first upload had them (values optional). It is an
    ``ingest.Schema``: the events of an upload are checked against it."""

    name: str
    columns: tuple[Column, ...]
    group_column: ClassVar[str | None] = None
    min_groups: ClassVar[int] = 1
    segment_columns: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def of(cls, name: str, kinds: dict[str, str]) -> "TableSchema":
        """The schema of ``unit``, ``timestamp`` and the columns of ``kinds`` (column -> kind,
        in order; ``unit`` and ``timestamp`` in it are left where REQUIRED puts them)."""
        others = tuple(
            Column(column, kind, "", required=False)
            for column, kind in kinds.items()
            if column not in (UNIT.name, TIMESTAMP.name)
        )
        return cls(name, (*REQUIRED, *others))

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def as_json(self) -> list[dict]:
        return [{"name": c.name, "type": c.kind} for c in self.columns]

    def create_sql(self) -> str:
        columns = ", ".join(f"{quote_ident(c.name)} {SQL_TYPES[c.kind]}" for c in self.columns)
        return f"CREATE TABLE {table_sql(self.name)} ({columns})"


@dataclass(frozen=True)
class Listing:
    """The event tables of the lake, and a line for each one left out."""

    tables: list[dict]
    warnings: list[str]


class Unreadable(Exception):
    """A table in the events schema that vibes would not have written (its message says why)."""


def table_sql(name: str) -> str:
    return f"{ALIAS}.{SCHEMA}.{quote_ident(name)}"


def validate_table_name(name: str) -> str:
    """The rule of experiments' names (vibes_core.names), worded for a table."""
    if not is_name(name):
        raise InvalidName(
            f"invalid table name {quoted(name)}: use 1-63 lowercase letters, digits and "
            "underscores, starting with a letter (e.g. orders)"
        )
    return name


def not_found(name: str) -> NotFound:
    return NotFound(f"no event table named {name!r}; `vibes tables list` shows them")


# --- reading the catalog -------------------------------------------------------------------


def lake_columns(lake: Lake, name: str | None = None) -> dict[str, list[tuple[str, str]]]:
    """The live tables of the events schema (only ``name``, if given) and their top-level
    columns in order, with DuckLake's type names; read from the catalog's metadata alone."""
    meta = lake.metadata_schema
    only = f"WHERE t.table_name = {catalog.name_literal(name)} " if name else ""
    rows = lake.con.execute(
        f"SELECT t.table_name, c.column_name, c.column_type "
        f"FROM {catalog.live_tables(lake, SCHEMA)} t "
        f"LEFT JOIN {meta}.ducklake_column c ON c.table_id = t.table_id "
        f"AND c.end_snapshot IS NULL AND c.parent_column IS NULL "
        f"{only}ORDER BY t.table_name, c.column_order"
    ).fetchall()
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in rows:
        columns = tables.setdefault(table, [])
        if column is not None:
            columns.append((column, kind))
    return tables


def schema_of(name: str, columns: list[tuple[str, str]]) -> TableSchema:
    """The schema of the table ``name`` from its columns as DuckLake types them; Unreadable
    when vibes would not have written it."""
    kinds: dict[str, str] = {}
    for column, lake_type in columns:
        if not COLUMN_NAME.fullmatch(column) or column.startswith(RESERVED):
            raise Unreadable(f"its column {quoted(column)} is not a valid column name")
        kind = LAKE_TYPES.get(lake_type)
        if kind is None or (kind == "timestamp") != (column == TIMESTAMP.name):
            raise Unreadable(f"its column {column} is of type {quoted(lake_type)}")
        kinds[column] = kind
    for required in REQUIRED:
        if kinds.get(required.name) != required.kind:
            raise Unreadable(f"it has no {required.name} column of type {required.kind}")
    if len(kinds) > MAX_COLUMNS:
        raise Unreadable(f"it has {len(kinds)} columns (at most {MAX_COLUMNS})")
    return TableSchema.of(name, kinds)


def existing_schema(lake: Lake, name: str) -> TableSchema | None:
    """The event table ``name``'s schema, None when there is none; a table vibes would not
    have written is an error saying what is wrong with it."""
    found = lake_columns(lake, name).get(name)
    if found is None:
        return None
    try:
        return schema_of(name, found)
    except Unreadable as problem:
        raise InvalidInput(
            f"the event table {name} was not written by vibes: {problem}; "
            f"`vibes tables delete {name}` drops it"
        ) from None


def list_tables(lake: Lake) -> Listing:
    """Every event table, by name: its columns and their kinds, rows and last upload. One
    that vibes would not have written (a name or a column that breaks the rules) is left out,
    and said, and never hides the others."""
    counts = catalog.event_counts(lake, SCHEMA)
    uploads = catalog.last_uploads(lake, SCHEMA)
    tables, warnings = [], []
    for name, columns in sorted(lake_columns(lake).items()):
        if not is_name(name):
            warnings.append(f"event table {quoted(name)} is not a valid name: ignored")
            continue
        try:
            schema = schema_of(name, columns)
        except Unreadable as problem:
            warnings.append(
                f"event table {name} was not written by vibes ({problem}): ignored "
                f"(`vibes tables delete {name}` drops it)"
            )
            continue
        tables.append(
            {
                "name": name,
                "columns": schema.as_json(),
                "rows": counts.get(name, 0),
                "last_upload": uploads.get(name),
            }
        )
    return Listing(tables, warnings)


# --- uploading -------------------------------------------------------------------------------


def upload(lake: Lake, name: str, source, stdin=None) -> dict:
    """Append the events of ``source`` (a path; None or "-" for stdin) to the event table
    ``name``, made by this upload if it is the first: one snapshot, or nothing at all if
    anything is wrong."""
    validate_table_name(name)
    refuse_experiment(lake, name)
    existing = existing_schema(lake, name)
    with ingest.staging(lake.con, source, stdin) as opened:
        if existing is None:
            staged = stage_first(lake.con, opened, name)
        else:
            staged = stage_into(lake.con, opened, existing)
        schema = staged.schema

        def work(con) -> tuple[int, bool]:
            # The catalog's metadata is read before the lake in this transaction: a table
            # another process makes meanwhile is then in its snapshot, or a conflict on commit.
            current = existing_schema(lake, name)
            refuse_experiment(lake, name)
            if existing is not None and current != existing:
                raise NotFound(
                    f"the event table {name} was deleted or changed while uploading; nothing "
                    "was added: upload again"
                )
            created = current is None
            if created:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {ALIAS}.{SCHEMA}")
                con.execute(schema.create_sql())
            elif current != schema:
                raise AlreadyExists(
                    f"the event table {name} was made by another upload meanwhile, with other "
                    "columns; nothing was added: upload again to check against them"
                )
            con.execute(staged.insert_sql(table_sql(name)))
            rows = con.execute(f"SELECT count(*) FROM {table_sql(name)}").fetchone()[0]
            return rows, created

        rows, created = lake.write(work, f"uploading to the event table {name}")
    return {
        "table": name,
        "events_added": staged.rows,
        "rows": rows,
        "snapshot": lake.last_commit(),
        "created": created,
    }


def refuse_experiment(lake: Lake, name: str) -> None:
    if catalog.exists(lake.con, name):
        raise AlreadyExists(
            f"{name!r} is the name of an experiment, and experiments and event tables share "
            "names: pick another name for the table"
        )


def stage_into(con, source: ingest.Source, table: TableSchema) -> ingest.Staged:
    """The events of ``source`` staged and checked against the columns of ``table``."""

    def check(source, present: list[str], types: dict[str, str]) -> None:
        same_columns(present, table, source)
        ingest.check_parquet_types(types, table, source)

    loaded = ingest.load(con, source, check, csv_example=CSV_EXAMPLE, json_example=JSON_EXAMPLE)
    return ingest.validate(con, loaded, table)


def stage_first(con, source: ingest.Source, name: str) -> ingest.Staged:
    """The events of the first upload to ``name`` staged and checked against the columns and
    kinds they have (``detect``)."""

    def check(source, present: list[str], types: dict[str, str]) -> None:
        check_new_columns(present, source)
        ingest.check_parquet_types(types, TableSchema(name, REQUIRED), source)
        for column, found in types.items():
            parquet_kind(column, found, source)

    loaded = ingest.load(con, source, check, csv_example=CSV_EXAMPLE, json_example=JSON_EXAMPLE)
    return ingest.validate(con, loaded, detect(con, loaded, name))


def same_columns(present: list[str], table: TableSchema, source: ingest.Source) -> None:
    """A later upload has the columns of the first, exactly: one unknown is a typo, one missing
    an export that changed."""
    known = table.names
    unknown = [c for c in present if c not in known]
    if unknown:
        raise InvalidInput(
            f"{source.label}: unknown column(s) {listed(unknown)} for the event table "
            f"{table.name} (its columns: {listed(known, 10)}); every upload has the columns of "
            "the first, exactly: leave them out"
        )
    missing_required(present, source)
    missing = [c for c in known if c not in present]
    if missing:
        raise InvalidInput(
            f"{source.label}: missing column(s) {listed(missing)} of the event table "
            f"{table.name}; every upload has the columns of the first, exactly (a value may be "
            "missing: an empty CSV cell, a JSON null)"
        )


def listed(names: list[str], limit: int = SHOWN_COLUMNS) -> str:
    """The first ``limit`` of ``names`` for a message, each quoted (escaped, cut), and how many
    more there are."""
    shown = ", ".join(quoted(name) for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_new_columns(present: list[str], source: ingest.Source) -> None:
    """The columns of a first upload: at most MAX_COLUMNS, each name one a metric expression
    can refer to, ``unit`` and ``timestamp`` among them."""
    if len(present) > MAX_COLUMNS:
        raise InvalidInput(
            f"{source.label} has {len(present)} columns; an event table has at most "
            f"{MAX_COLUMNS}: leave some out"
        )
    for column in present:
        if column.startswith(RESERVED):
            raise InvalidInput(
                f"{source.label}: column names starting with {RESERVED} are vibes' own; "
                f"rename {quoted(column)}"
            )
        if not COLUMN_NAME.fullmatch(column):
            raise InvalidInput(
                f"{source.label}: {quoted(column)} is not a valid column name (metric "
                "expressions refer to columns by name): rename it to 1-63 lowercase letters, "
                "digits and underscores, not starting with a digit"
            )
    missing_required(present, source)


def missing_required(present: list[str], source: ingest.Source) -> None:
    missing = [c.name for c in REQUIRED if c.name not in present]
    if missing:
        raise InvalidInput(
            f"{source.label}: missing required column(s) {', '.join(missing)}; every event of "
            "an event table has a unit (a string: who) and a timestamp (ISO 8601: when)"
        )


def parquet_kind(column: str, found: str, source: ingest.Source) -> str | None:
    """The kind a Parquet column of type ``found`` becomes (None for ``unit`` and
    ``timestamp``, whose kinds are fixed; ingest checks their types); one line if none."""
    if column in (UNIT.name, TIMESTAMP.name):
        return None
    kind = PARQUET_KINDS.get(found.split("(")[0])
    if kind is None:
        times = found.startswith(("TIMESTAMP", "DATE", "TIME"))
        why = " (only `timestamp` holds times: write others as ISO 8601 strings)" if times else ""
        raise InvalidInput(
            f"{source.label}, column {column!r}: a {printable(found)[:60]} column cannot be in "
            f"an event table{why}; its columns are {PARQUET_ALLOWED}: convert it or leave it out"
        )
    return kind


# --- a first upload: the kinds of its columns ----------------------------------------------


def detect(con, loaded: ingest.Loaded, name: str) -> TableSchema:
    """The schema a first upload makes: its columns (``unit`` and ``timestamp`` first, the
    others in the order the input has them) and their kinds. Parquet's types say them; JSON's
    values (the first value's type; numbers are float if any is not whole); a CSV's values
    (all true/false: bool, all whole numbers: int, all numbers: float, else string). A column
    without any value has no kind to tell: an error. The values are checked after, as in any
    upload (a JSON string in a bool column, its record)."""
    source = loaded.source
    others = [c for c in loaded.columns if c not in (UNIT.name, TIMESTAMP.name)]
    if source.format == "parquet":
        kinds = {c: parquet_kind(c, loaded.types[c], source) for c in others}
    elif loaded.is_json:
        kinds, others = json_kinds(con, loaded, others)
    else:
        kinds = csv_kinds(con, loaded, others)
    return TableSchema.of(name, {column: kinds[column] for column in others})


def no_values(source: ingest.Source, column: str) -> InvalidInput:
    return InvalidInput(
        f"{source.label}, column {column!r}: no event has a value of it, so its type cannot be "
        "told; give it at least one value in this first upload, or leave it out"
    )


def json_kinds(con, loaded: ingest.Loaded, others: list[str]) -> tuple[dict[str, str], list[str]]:
    """Each column's kind from the JSON type of its first value, and the columns in the order
    they first appear (by record, then by place in it)."""
    record = ingest.RECORD
    # Each key's JSON type, computed once: SQL NULL where a record lacks the key, 'NULL' where
    # its value is null.
    typed = ", ".join(
        f"json_type(json, {sql_literal(f'$.{column}')}) AS t{i}"  # a valid name: a plain path
        for i, column in enumerate(others)
    )
    parts = []
    for i in range(len(others)):
        parts += [
            f"min({record}) FILTER (WHERE t{i} IS NOT NULL)",
            f"min({record}) FILTER (WHERE t{i} <> 'NULL')",
            f"arg_min(t{i}, {record}) FILTER (WHERE t{i} <> 'NULL')",
            f"bool_or(t{i} = 'DOUBLE')",
        ]
    found = con.execute(
        f"SELECT {', '.join(parts) or 'NULL'} "
        f"FROM (SELECT {record}{', ' if typed else ''}{typed} FROM {ingest.STAGED})"
    ).fetchone()
    kinds, first_in = {}, {}
    for i, column in enumerate(others):
        appears, valued, json_type, fraction = found[4 * i : 4 * i + 4]
        first_in[column] = appears
        if valued is None:
            raise no_values(loaded.source, column)
        if json_type == "BOOLEAN":
            kinds[column] = "bool"
        elif json_type in ("BIGINT", "UBIGINT", "DOUBLE"):
            kinds[column] = "float" if fraction else "int"
        elif json_type == "VARCHAR":
            kinds[column] = "string"
        else:
            what = "an array" if json_type == "ARRAY" else "an object"
            raise InvalidInput(
                f"{loaded.source.label}, record {valued}, column {column!r}: {what} is not a "
                "value of an event table; give true or false, a number or a string"
            )
    records = sorted(set(first_in.values()))
    keys = dict(
        con.execute(
            f"SELECT {record}, json_keys(json) FROM {ingest.STAGED} "
            f"WHERE {record} IN ({', '.join(str(int(r)) for r in records) or 'NULL'})"
        ).fetchall()
    )
    order = sorted(others, key=lambda c: (first_in[c], keys[first_in[c]].index(c)))
    return kinds, order


def csv_kinds(con, loaded: ingest.Loaded, others: list[str]) -> dict[str, str]:
    """Each column's kind from all its values: true/false, whole numbers, numbers, or text."""
    parts = []
    for column in others:
        value = f"nullif(trim({quote_ident(column)}), '')"
        some = f"FILTER (WHERE {value} IS NOT NULL)"
        parts += [
            f"count({value})",
            f"bool_and(lower({value}) IN ('true', 'false')) {some}",
            f"bool_and(regexp_full_match({value}, {sql_literal(WHOLE)}) AND "
            f"try_cast({value} AS BIGINT) IS NOT NULL) {some}",
            f"bool_and(regexp_full_match({value}, {sql_literal(NUMBER)})) {some}",
        ]
    found = con.execute(f"SELECT {', '.join(parts) or 'NULL'} FROM {ingest.STAGED}").fetchone()
    kinds = {}
    for i, column in enumerate(others):
        values, booleans, whole, numbers = found[4 * i : 4 * i + 4]
        if not values:
            raise no_values(loaded.source, column)
        kinds[column] = "bool" if booleans else "int" if whole else "float" if numbers else "string"
    return kinds


# --- deleting -------------------------------------------------------------------------------


def delete(lake: Lake, name: str) -> dict:
    """Drop the event table ``name`` in one transaction, unless a metric uses it."""
    validate_table_name(name)

    def work(con) -> int:
        if name not in lake_columns(lake, name):
            if catalog.exists(con, name):
                raise NotFound(
                    f"{name} is an experiment, not an event table: `vibes experiments delete "
                    f"{name}` deletes it"
                )
            raise not_found(name)
        users = metrics_using(lake, name)
        if users:
            named = ", ".join(shown(user) for user in users[:SHOWN_METRICS])
            if len(users) > SHOWN_METRICS:
                named += f" and {len(users) - SHOWN_METRICS} more"
            them = "them" if len(users) > 1 else "it"
            raise InUse(
                f"{name} is used by the metric{'s' if len(users) > 1 else ''} {named}: "
                f"delete {them} first (vibes metrics delete NAME)"
            )
        rows = con.execute(f"SELECT count(*) FROM {table_sql(name)}").fetchone()[0]
        con.execute(f"DROP TABLE {table_sql(name)}")
        return rows

    rows = lake.write(work, f"deleting the event table {name}")
    return {"table": name, "rows": rows, "snapshot": lake.last_commit()}


METRICS_SCHEMA, METRICS_TABLE = catalog.META_SCHEMA, "metrics"


def metrics_using(lake: Lake, name: str) -> list[str]:
    """The names of the metrics (``lake.vibes.metrics``: name, table_name, ...) defined on the
    event table ``name``, sorted; none while that table does not exist."""
    exists = lake.con.execute(
        f"SELECT count(*) FROM {catalog.live_tables(lake, METRICS_SCHEMA)} "
        f"WHERE table_name = {sql_literal(METRICS_TABLE)}"
    ).fetchone()[0]
    if not exists:
        return []
    metrics = f"{ALIAS}.{METRICS_SCHEMA}.{METRICS_TABLE}"
    try:
        rows = lake.con.execute(
            f"SELECT DISTINCT CAST(name AS VARCHAR) FROM {metrics} "
            f"WHERE table_name = {catalog.name_literal(name)} ORDER BY 1"
        ).fetchall()
    except duckdb.BinderException as error:
        raise VibesError(
            f"cannot tell which metrics use {name}: {metrics} lacks the columns name and "
            "table_name (made by another version?); nothing was deleted"
        ) from error
    return [str(user) for (user,) in rows]
