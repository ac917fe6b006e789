"""Experiments: the metadata table ``vibes.experiments`` and one lake table per experiment.

Creating an experiment (table, metadata row and initial events), uploading a batch and deleting
an experiment are each one transaction, so one DuckLake snapshot: all of it or none of it.
"""

import contextlib
import functools
import hashlib
import inspect
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import duckdb

from vibes_core import ingest
from vibes_core.analysis import Analysis
from vibes_core.config import mask, private_dir
from vibes_core.errors import (
    AlreadyExists,
    ConfigError,
    InvalidName,
    InvalidOption,
    NotFound,
    option,
)
from vibes_core.lake import ALIAS, EVENTS_SCHEMA, Lake, quote_ident, sql_literal
from vibes_core.metrics import MetricRole, roles_from_json
from vibes_core.names import is_name, quoted, validate_name
from vibes_core.text import has_control, printable
from vibes_core.types import get_type, registry
from vibes_core.types.base import SQL_TYPES

IBIS_TYPES = {
    "bool": "boolean",
    "string": "string",
    "int": "int64",
    "float": "float64",
    "timestamp": "timestamp",
}
META_SCHEMA = "vibes"
METADATA = f"{ALIAS}.{META_SCHEMA}.experiments"
EXPERIMENT_SCHEMA = "main"
ISO_SECONDS = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class Experiment:
    name: str
    display_name: str
    type: str
    created_at: str  # ISO 8601, UTC
    # The groups in the order they are compared, the control first: as they first appeared in
    # the initial data (or --control first), then each upload's new ones. None when not
    # recorded: a type without groups, or an experiment made by an older vibes (its groups are
    # compared in alphabetical order).
    groups: tuple[str, ...] | None = None
    # Its saved analysis options (see vibes_core.analysis).
    analysis: Analysis = field(default_factory=Analysis)
    # An experiment on units: its metrics in their roles (vibes_core.metrics), in role order.
    metrics: tuple[MetricRole, ...] = ()
    # What of its row could not be read and was left out (a saved option, the groups' order),
    # one line each: said where it is used, never fatal.
    problems: tuple[str, ...] = field(default=(), compare=False)

    @property
    def table(self) -> str:
        return table_sql(self.name)

    def as_json(self) -> dict:
        """Its fields as JSON has them (the groups a list, the options those set)."""
        left_out = ("analysis", "problems", "metrics")
        fields = {key: value for key, value in asdict(self).items() if key not in left_out}
        groups = None if self.groups is None else list(self.groups)
        found = {**fields, "groups": groups, "options": self.analysis.as_json()}
        if self.metrics:
            found["metrics"] = [role.as_json() for role in self.metrics]
        return found


@dataclass(frozen=True)
class Listing:
    """The experiments of the catalog, and a line for each row ignored or read in part."""

    experiments: list[Experiment]
    warnings: list[str]


def table_sql(name: str) -> str:
    return f"{ALIAS}.{EXPERIMENT_SCHEMA}.{quote_ident(name)}"


def open_lake(config=None) -> Lake:
    """The lake, ready for experiments: created on first use when it is the embedded default;
    the experiments table of an older version gains the columns it lacks."""
    lake = Lake(config)
    try:
        state = metadata_state(lake)
        if state == "missing":
            if not lake.config.auto_init:
                raise ConfigError(
                    f"the lake at {mask(lake.config.catalog_url)} has no experiments table: "
                    "run `vibes db init`"
                )
            init(lake)
        elif state == "old":
            upgrade(lake)
    except BaseException:
        lake.close()
        raise
    return lake


def metadata_state(lake: Lake) -> str:
    """The experiments table's state: "missing", "old" (made by an older version: without
    the groups' order or the analysis options) or "current". One direct probe: listing
    duckdb_tables() would load every table's metadata."""
    try:
        lake.con.execute(f"SELECT groups, options, metrics FROM {METADATA} LIMIT 0")
    except duckdb.CatalogException:
        return "missing"
    except duckdb.BinderException:
        return "old"
    return "current"


def is_initialized(lake: Lake) -> bool:
    return metadata_state(lake) != "missing"


def add_missing_columns(con) -> None:
    # A no-op (and no snapshot) when the column is there: several processes may upgrade the
    # same lake at once, and the ones that lose the race rerun this and find it done.
    con.execute(f"ALTER TABLE {METADATA} ADD COLUMN IF NOT EXISTS groups VARCHAR")
    con.execute(f"ALTER TABLE {METADATA} ADD COLUMN IF NOT EXISTS options VARCHAR")
    con.execute(f"ALTER TABLE {METADATA} ADD COLUMN IF NOT EXISTS metrics VARCHAR")


def upgrade(lake: Lake) -> None:
    """Add the groups' order and the analysis options to an older version's experiments
    table (NULL: the order unknown, so alphabetical; no options saved): one transaction."""
    lake.write(add_missing_columns, "adding the newer columns to the experiments table")


def init(lake: Lake) -> bool:
    """Create the metadata table if it is missing (or add the columns an older version's
    lacks); True when this call created it."""
    state = metadata_state(lake)
    if state == "old":
        upgrade(lake)
    if state != "missing":
        return False

    def create(con) -> bool:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {ALIAS}.{META_SCHEMA}")
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {METADATA} ("
            "name VARCHAR NOT NULL, display_name VARCHAR NOT NULL, type VARCHAR NOT NULL, "
            "created_at TIMESTAMP NOT NULL, groups VARCHAR, options VARCHAR, metrics VARCHAR)"
        )
        add_missing_columns(con)  # in case an older version created it meanwhile
        return True

    return lake.write(create, "creating the experiments table")


# The columns of an Experiment, as read from the metadata table.
EXPERIMENT_COLUMNS = (
    "name, display_name, type, strftime(created_at, '%Y-%m-%dT%H:%M:%S.%fZ'), groups, options, "
    "metrics"
)


def experiment_of(row: tuple) -> Experiment:
    """An experiment from its row. A row is input (a shared catalog is written by others):
    a name that breaks the rule raises InvalidName; groups or options that cannot be read are
    left out, and said in its ``problems``."""
    name, display_name, type_name, created_at, groups, options, stored_roles = row
    validate_name(name)
    order = parse_groups(groups)
    analysis, dropped = parse_analysis(options)
    reset = f"`vibes experiments options {name} --reset` clears the saved options"
    problems = [f"{problem}; {reset}" for problem in dropped]
    roles, unread = roles_from_json(stored_roles)
    problems += unread
    if groups is not None and order is None:
        problems.append(
            "its recorded order of groups is not a list of names: compared in alphabetical order"
        )
    return Experiment(
        name, display_name, type_name, created_at, order, analysis, roles, tuple(problems)
    )


def parse_analysis(stored: str | None) -> tuple[Analysis, list[str]]:
    """The saved options, and a line for each one left out."""
    if not stored:
        return Analysis(), []
    try:
        data = json.loads(stored)
    except (ValueError, RecursionError):  # RecursionError: deeply nested
        return Analysis(), ["its saved options are not JSON: left out"]
    return Analysis.from_json(data)


def save_analysis(lake: Lake, name: str, analysis: Analysis) -> None:
    """Remember ``analysis`` as the experiment's options (all unset: none saved)."""
    saved = json.dumps(analysis.as_json()) if analysis.as_json() else None

    def work(con) -> None:
        if not exists(con, name):
            raise NotFound(f"no experiment named {name!r}; `vibes experiments list` shows them")
        con.execute(f"UPDATE {METADATA} SET options = ? WHERE name = ?", [saved, name])

    lake.write(work, f"saving the analysis options of {name}")


def save_metrics(lake: Lake, name: str, roles: tuple[MetricRole, ...], known) -> None:
    """Give the experiment on units ``name`` these metrics in their roles (replacing its
    list); ``known(con)``: the metrics defined, read in the same transaction."""
    saved = json.dumps([role.as_json() for role in roles])

    def work(con) -> None:
        if not exists(con, name):
            raise NotFound(f"no experiment named {name!r}; `vibes experiments list` shows them")
        defined = known(con)
        for role in roles:
            if role.metric not in defined:
                raise NotFound(
                    f"no metric named {role.metric!r}; `vibes metrics list` shows them, "
                    "`vibes metrics create` makes one"
                )
        con.execute(f"UPDATE {METADATA} SET metrics = ? WHERE name = ?", [saved, name])

    lake.write(work, f"saving the metrics of {name}")


def experiments_using(con, metric: str) -> list[str]:
    """The experiments that give ``metric`` a role, by name."""
    rows = con.execute(f"SELECT name, metrics FROM {METADATA} WHERE metrics IS NOT NULL")
    return sorted(
        name
        for name, stored in rows.fetchall()
        if any(role.metric == metric for role in roles_from_json(stored)[0])
    )


def parse_groups(stored: str | None) -> tuple[str, ...] | None:
    """The recorded order (a JSON array of names); None when there is none, or when what is
    stored is not one (then the groups are compared alphabetically, as for an older lake)."""
    if stored is None:
        return None
    try:
        groups = json.loads(stored)
    except (ValueError, RecursionError):  # RecursionError: deeply nested
        return None
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        return None
    return tuple(groups)


def list_experiments(lake: Lake) -> Listing:
    """Every experiment, by name. One bad row never hides the others: a row whose name breaks
    the rule, whose table is missing or that repeats a name is ignored, and said; one of a
    type this vibes does not know (a plugin not loaded) is listed, and said."""
    sql = f"SELECT {EXPERIMENT_COLUMNS} FROM {METADATA} ORDER BY name"
    rows = lake.con.execute(sql).fetchall()
    tables = experiment_tables(lake)
    present = {name for (name,) in lake.con.execute(f"SELECT table_name FROM {tables}").fetchall()}
    experiments, warnings, seen = [], [], set()
    for row in rows:
        name, type_name = row[0], row[2]
        if not is_name(name):
            warnings.append(f"experiment row {quoted(name)} is not a valid name: ignored")
            continue
        if name not in present:
            warnings.append(
                f"experiment row {name} has no table in the lake: ignored "
                f"(`vibes experiments delete {name}` removes the row)"
            )
            continue
        if name in seen:
            warnings.append(f"experiment row {name} appears more than once: one is listed")
            continue
        seen.add(name)
        experiment = experiment_of(row)
        if type_name not in registry():
            warnings.append(
                f"experiment {name} is of type {quoted(type_name)}, which this vibes does not "
                "know (a plugin not loaded?): listed, but it cannot be analysed"
            )
        warnings += [f"experiment {name}: {problem}" for problem in experiment.problems]
        experiments.append(experiment)
    return Listing(experiments, warnings)


def live_tables(lake: Lake, schema: str) -> str:
    """A subquery of the catalog: the live tables of the lake's ``schema`` (one of ours, a
    constant) as (table_id, table_name, begin_snapshot), read from DuckLake's metadata without
    touching any table."""
    meta = lake.metadata_schema
    return (
        f"(SELECT table_id, table_name, t.begin_snapshot FROM {meta}.ducklake_table t "
        f"JOIN {meta}.ducklake_schema s USING (schema_id) "
        f"WHERE t.end_snapshot IS NULL AND s.end_snapshot IS NULL "
        f"AND schema_name = {sql_literal(schema)})"
    )


def experiment_tables(lake: Lake) -> str:
    """The live experiment tables (``live_tables`` of the experiments' schema)."""
    return live_tables(lake, EXPERIMENT_SCHEMA)


def event_counts(lake: Lake, schema: str = EXPERIMENT_SCHEMA) -> dict[str, int]:
    """Events per table of ``schema`` (the experiments' by default), from the catalog's
    statistics: no table is scanned."""
    rows = lake.con.execute(
        f"SELECT t.table_name, coalesce(s.record_count, 0) FROM {live_tables(lake, schema)} t "
        f"LEFT JOIN {lake.metadata_schema}.ducklake_table_stats s USING (table_id)"
    ).fetchall()
    return dict(rows)


def last_uploads(lake: Lake, schema: str = EXPERIMENT_SCHEMA) -> dict[str, str]:
    """When each table of ``schema`` (the experiments' by default) last got events (ISO 8601,
    UTC), from the snapshot log alone. A small insert is kept in the catalog itself (DuckLake's
    data inlining), and logged as an inlined insert rather than an insert into the table."""
    inserted = (
        "list_concat(coalesce(changes['tables_inserted_into'], []), "
        "coalesce(changes['inlined_insert'], []))"
    )
    rows = lake.con.execute(
        f"SELECT t.table_name, strftime(max(timezone('UTC', s.snapshot_time)), '{ISO_SECONDS}') "
        f"FROM (SELECT snapshot_time, unnest({inserted})::BIGINT AS id "
        f"      FROM ducklake_snapshots('{ALIAS}')) s "
        f"JOIN {live_tables(lake, schema)} t ON t.table_id = s.id GROUP BY 1"
    ).fetchall()
    return dict(rows)


def is_event_table(lake: Lake, name: str) -> bool:
    """Whether ``name`` is an event table's (experiments and event tables share names)."""
    found = f"SELECT count(*) FROM {live_tables(lake, EVENTS_SCHEMA)} WHERE table_name = "
    return lake.con.execute(found + name_literal(name)).fetchone()[0] > 0


def history(lake: Lake, experiment: Experiment) -> list[dict]:
    """Every snapshot that added events to the experiment: when, how many, and the total."""
    name = experiment.name
    created = created_snapshot(lake, experiment)
    rows = lake.con.execute(
        f"SELECT c.snapshot_id, strftime(timezone('UTC', s.snapshot_time), '{ISO_SECONDS}'), "
        f"count(*) FROM ducklake_table_changes('{ALIAS}', '{EXPERIMENT_SCHEMA}', "
        f"{name_literal(name)}, {int(created)}, {lake.snapshot_id()}) c "
        f"JOIN ducklake_snapshots('{ALIAS}') s USING (snapshot_id) "
        f"WHERE c.change_type = 'insert' GROUP BY ALL ORDER BY 1"
    ).fetchall()
    total, snapshots = 0, []
    for snapshot, time, added in rows:
        total += added
        snapshots.append({"snapshot": snapshot, "time": time, "added": added, "events": total})
    return snapshots


def events_over_time(lake: Lake, experiment: Experiment, as_of: int | None = None) -> dict:
    """Events per day (per hour when they span two days or less), per group if the type has
    groups: {"unit": "day", "groups": {group: {period: count}}}."""
    group = get_type(experiment.type).group_column
    source = table_at(lake, experiment, as_of)
    span = lake.con.execute(
        f"SELECT date_diff('hour', min(timestamp), max(timestamp)) FROM {source}"
    ).fetchone()[0]
    unit = "hour" if span is not None and span <= 48 else "day"
    label = "%Y-%m-%d %H:00" if unit == "hour" else "%Y-%m-%d"
    by = quote_ident(group) if group else "'all'"
    rows = lake.con.execute(
        f"SELECT {by}, strftime(date_trunc('{unit}', timestamp), '{label}'), count(*) "
        f"FROM {source} GROUP BY ALL ORDER BY 2, 1"
    ).fetchall()
    groups: dict[str, dict[str, int]] = {}
    for key, period, count in rows:
        groups.setdefault(str(key), {})[period] = count
    return {"unit": unit, "groups": groups}


def created_snapshot(lake: Lake, experiment: Experiment) -> int:
    """The snapshot that created the experiment's table (the one now of its name)."""
    name = experiment.name
    row = lake.con.execute(
        f"SELECT begin_snapshot FROM {experiment_tables(lake)} "
        f"WHERE table_name = {name_literal(name)}"
    ).fetchone()
    if row is None:
        raise NotFound(f"no experiment named {name!r}; `vibes experiments list` shows them")
    return int(row[0])


def table_at(lake: Lake, experiment: Experiment, as_of: int | None) -> str:
    """The experiment's table, now or as of snapshot ``as_of``. ``AT (VERSION => n)`` finds a
    table by name, so before this experiment was created it would read an earlier one of the
    same name, deleted since: a snapshot before its creation is an error instead."""
    name = experiment.name
    if as_of is None:
        return table_sql(name)
    created, current = created_snapshot(lake, experiment), lake.snapshot_id()
    if as_of < created:
        raise NotFound(
            f"{name} did not exist at snapshot {as_of}: it was created at snapshot {created}; "
            f"ask for {created} or later"
        )
    if as_of > current:
        raise NotFound(f"snapshot {as_of} does not exist yet: the lake is at {current}")
    return f"{table_sql(name)} AT (VERSION => {int(as_of)})"


def get(lake: Lake, name: str) -> Experiment:
    validate_name(name)
    row = lake.con.execute(
        f"SELECT {EXPERIMENT_COLUMNS} FROM {METADATA} WHERE name = {name_literal(name)}"
    ).fetchone()
    if row is None:
        raise NotFound(f"no experiment named {name!r}; `vibes experiments list` shows them")
    return experiment_of(row)


def found(lake: Lake, experiment: Experiment | str) -> Experiment:
    """The experiment itself, looked up in the catalog when given by name (``get``): for the
    entry points that take either. Everything below them is handed the Experiment."""
    return experiment if isinstance(experiment, Experiment) else get(lake, experiment)


def exists(con, name: str) -> bool:
    found = con.execute(f"SELECT count(*) FROM {METADATA} WHERE name = {name_literal(name)}")
    return found.fetchone()[0] > 0


def still_there(con, experiment: Experiment) -> bool:
    """The same experiment is in the lake (in this transaction's snapshot): not deleted, and
    not deleted then created again under its name."""
    found = con.execute(
        f"SELECT count(*) FROM {METADATA} WHERE name = {name_literal(experiment.name)} "
        f"AND type = {sql_literal(experiment.type)} AND strftime(created_at, "
        f"'%Y-%m-%dT%H:%M:%S.%fZ') = {sql_literal(experiment.created_at)}"
    )
    return found.fetchone()[0] > 0


def name_literal(name: str) -> str:
    """A validated name as a SQL literal. Only names are inlined (they match NAME_PATTERN):
    binding a parameter makes DuckDB import pandas, 0.3 s and 100 MB for a lookup."""
    return f"'{validate_name(name)}'"


def count_events(con, name: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table_sql(name)}").fetchone()[0]


def events_added_since(lake: Lake, experiment: Experiment, snapshot: int) -> int:
    """The events uploaded to the experiment after ``snapshot``, by any process."""
    then = f"SELECT count(*) FROM {table_at(lake, experiment, snapshot)}"
    return count_events(lake.con, experiment.name) - lake.con.execute(then).fetchone()[0]


DISPLAY_NAME_LIMIT = 200  # characters; documented in the README


def display_name_for(name: str, display_name: str | None) -> str:
    """The title to store: ``name`` when none is given. Shown in terminals, so no control
    characters; never blank; at most DISPLAY_NAME_LIMIT characters."""
    if display_name is None:
        return name
    title = display_name.strip()
    if not title:
        raise InvalidName(
            "the display name is empty: give a readable title, or leave it out to use the name"
        )
    if has_control(title):
        raise InvalidName(
            f"the display name '{printable(title)[:80]}' contains a control character: "
            "remove it and retry"
        )
    if len(title) > DISPLAY_NAME_LIMIT:
        raise InvalidName(
            f"the display name is {len(title)} characters long: shorten it to "
            f"{DISPLAY_NAME_LIMIT} characters or fewer"
        )
    return title


def create(
    lake: Lake,
    name: str,
    type_name: str,
    source: str | Path | None,
    display_name: str | None = None,
    stdin=None,
    control: str | None = None,
) -> dict:
    """Create an experiment with its initial events (``source`` None means stdin). Its groups
    are recorded in the order they first appear in them, ``control`` (if given) first."""
    validate_name(name)
    display_name = display_name_for(name, display_name)
    experiment_type = get_type(type_name)
    if control is not None:
        takes_control(experiment_type)
    if exists(lake.con, name):
        raise AlreadyExists(taken(name))
    if is_event_table(lake, name):
        raise AlreadyExists(an_event_table(name))
    with ingest.staged_events(
        lake.con, source, experiment_type, initial=True, stdin=stdin
    ) as staged:
        groups = None
        if experiment_type.group_column:
            groups = control_first(
                experiment_type, ingest.groups_in_order(lake.con, staged), control
            )
            groups = json.dumps(groups)
        now = datetime.now(UTC).replace(tzinfo=None)
        columns = ", ".join(
            f"{quote_ident(c.name)} {SQL_TYPES[c.kind]}" for c in experiment_type.columns
        )

        def work(con) -> None:
            if is_event_table(lake, name):  # the catalog's metadata first: see tables.upload
                raise AlreadyExists(an_event_table(name))
            if exists(con, name):
                raise AlreadyExists(taken(name))
            con.execute(f"CREATE TABLE {table_sql(name)} ({columns})")
            con.execute(
                f"INSERT INTO {METADATA} (name, display_name, type, created_at, groups) "
                "VALUES (?, ?, ?, ?, ?)",
                [name, display_name, experiment_type.name, now, groups],
            )
            con.execute(staged.insert_sql(table_sql(name)), staged.parameters(now))

        lake.write(work, f"creating {name}")
    return {**get(lake, name).as_json(), "events": staged.rows, "snapshot": lake.last_commit()}


def taken(name: str) -> str:
    return f"an experiment named {name!r} already exists: pick another name or upload to it"


def an_event_table(name: str) -> str:
    return (
        f"{name!r} is the name of an event table (`vibes tables list`), and experiments and "
        "event tables share names: pick another name"
    )


def takes_control(experiment_type) -> None:
    """``--control`` is for types that compare their groups with one of them."""
    if "control" in experiment_type.summary_options:
        return
    group = experiment_type.group_column
    why = f"its {group}s have no control" if group else "its events have no groups"
    raise InvalidOption(
        f"{option('control')} does not apply to a {experiment_type.name} experiment ({why}): "
        "leave it out"
    )


SHOWN_GROUPS = 10  # in a message


def control_first(experiment_type, groups: list[str], control: str | None) -> list[str]:
    """``groups`` (in order of first appearance) with ``control``, if given, moved first."""
    if control is None:
        return groups
    if control not in groups:
        noun = experiment_type.group_column
        shown = ", ".join(groups[:SHOWN_GROUPS]) + (", ..." if len(groups) > SHOWN_GROUPS else "")
        raise InvalidOption(
            f"{option('control')} {control!r} is not a {noun} of the initial data ({noun}s: "
            f"{shown}); give one of them, or leave {option('control')} out for the first"
        )
    return [control, *(group for group in groups if group != control)]


def append_groups(con, name: str, batch: list[str]) -> None:
    """Record the groups of ``batch`` (in its order of first appearance) that are new, after
    the known ones, in the transaction under way. An experiment without a record (made by an
    older version) gets none: a partial one would put the new groups before the old ones."""
    stored = con.execute(f"SELECT groups FROM {METADATA} WHERE name = {name_literal(name)}")
    known = parse_groups(stored.fetchone()[0])
    if known is None:
        return
    recorded = set(known)
    new = [group for group in batch if group not in recorded]
    if new:
        con.execute(
            f"UPDATE {METADATA} SET groups = ? WHERE name = ?", [json.dumps([*known, *new]), name]
        )


def upload(lake: Lake, name: str, source: str | Path | None, stdin=None) -> dict:
    """Append a batch of events; one snapshot, or nothing at all if anything is wrong."""
    experiment = get(lake, name)
    with ingest.staged_events(lake.con, source, get_type(experiment.type), stdin=stdin) as staged:
        batch = ingest.groups_in_order(lake.con, staged)
        now = datetime.now(UTC).replace(tzinfo=None)

        def work(con) -> int:
            # Another process may have deleted it (or made another of the same name) meanwhile.
            if not still_there(con, experiment):
                raise NotFound(f"{name} was deleted while uploading; nothing was added")
            # A table made by an older vibes lacks the optional columns added since (segment):
            # the first batch with values of one adds it, in this same transaction.
            present = table_columns(con, experiment.table)
            lacking = [c for c in staged.schema.columns if c.name not in present]
            added = [c for c in lacking if staged.has_values(con, c.name)]
            for column in added:
                con.execute(
                    f"ALTER TABLE {experiment.table} ADD COLUMN {quote_ident(column.name)} "
                    f"{SQL_TYPES[column.kind]}"
                )
            skipped = frozenset(c.name for c in lacking if c not in added)
            con.execute(staged.insert_sql(experiment.table, skipped), staged.parameters(now))
            if batch:
                append_groups(con, name, batch)
            return count_events(con, name)

        events = lake.write(work, f"uploading to {name}")
    return {
        "experiment": name,
        "events_added": staged.rows,
        "events": events,
        "snapshot": lake.last_commit(),
    }


def table_columns(con, table: str) -> set[str]:
    """The columns ``table`` (SQL: a name, maybe ``AT (VERSION => n)``) has."""
    return {d[0] for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description}


def delete(lake: Lake, name: str) -> dict:
    """Drop the experiment's table and its metadata row together (a row whose table is
    missing, which the list ignores, goes alone)."""
    experiment = get(lake, name)

    def work(con) -> int:
        if not exists(con, name):
            raise NotFound(f"no experiment named {name!r}; it was deleted meanwhile")
        found = f"SELECT count(*) FROM {experiment_tables(lake)} WHERE table_name = "
        if not con.execute(found + name_literal(name)).fetchone()[0]:
            con.execute(f"DELETE FROM {METADATA} WHERE name = ?", [name])
            return 0
        events = count_events(con, name)
        con.execute(f"DROP TABLE {experiment.table}")
        con.execute(f"DELETE FROM {METADATA} WHERE name = ?", [name])
        return events

    events = lake.write(work, f"deleting {name}")
    return {"experiment": name, "events": events, "snapshot": lake.last_commit()}


def list_tables(lake: Lake) -> list[dict]:
    """Every table in the lake (experiments in ``main``, metadata in ``vibes``) with its rows."""
    names = lake.con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? "
        "ORDER BY schema_name <> ?, schema_name, table_name",
        [ALIAS, EXPERIMENT_SCHEMA],
    ).fetchall()
    return [
        {"table": qualified(schema, table), "rows": row_count(lake, schema, table)}
        for schema, table in names
    ]


def qualified(schema: str, table: str) -> str:
    return table if schema == EXPERIMENT_SCHEMA else f"{schema}.{table}"


def row_count(lake: Lake, schema: str, table: str) -> int:
    sql = f"SELECT count(*) FROM {ALIAS}.{quote_ident(schema)}.{quote_ident(table)}"
    with lake.reading(f"reading {qualified(schema, table)}"):
        return lake.con.execute(sql).fetchone()[0]


def inspect_table(lake: Lake, name: str, limit: int = 5) -> dict:
    """Schema, row count and the first ``limit`` rows of one table, as plain JSON values."""
    schema, _, table = name.rpartition(".")
    found = lake.con.execute(
        "SELECT count(*) FROM duckdb_tables() "
        "WHERE database_name = ? AND schema_name = ? AND table_name = ?",
        [ALIAS, schema or EXPERIMENT_SCHEMA, table],
    ).fetchone()[0]
    if not found:
        raise NotFound(f"no table named {name!r}; `vibes db list-tables` shows them")
    relation = lake.con.sql(
        f"SELECT * FROM {ALIAS}.{quote_ident(schema or EXPERIMENT_SCHEMA)}.{quote_ident(table)}"
    )
    head = relation.limit(limit)
    with lake.reading(f"reading {name}"):
        rows = head.fetchall()
    return {
        "table": name,
        "columns": [
            {"name": column, "type": str(kind)}
            for column, kind in zip(relation.columns, relation.types, strict=True)
        ],
        "rows": row_count(lake, schema or EXPERIMENT_SCHEMA, table),
        "head": [dict(zip(head.columns, map(ingest.json_value, row), strict=True)) for row in rows],
    }


def latest_events(lake: Lake, experiment: Experiment, limit: int, as_of: int | None = None) -> dict:
    """The ``limit`` latest events of an experiment (now or at snapshot ``as_of``), newest
    first; ties broken by every column, so the same data always shows the same rows."""
    kind = get_type(experiment.type)
    source = table_at(lake, experiment, as_of)
    with lake.reading(f"reading {experiment.name}"):
        result = lake.con.execute(f"SELECT * FROM {source} ORDER BY ALL DESC LIMIT {int(limit)}")
        fetched = result.fetchall()
    columns = [d[0] for d in result.description]
    columns, rows = ingest.without_empty(columns, fetched, kind.segment_columns)
    return {"columns": columns, "rows": [list(map(ingest.json_value, row)) for row in rows]}


@functools.cache
def stats_sql(experiment_type, home: Path, by: tuple[str, ...] = ()) -> str:
    """The type's Ibis expression compiled to DuckDB SQL over a table named ``events``; with
    ``by`` (some of its ``segment_columns``), one row per group and value of those columns.

    The SQL runs on our own connection, and is kept on disk per version of the type's module
    and of Ibis: importing Ibis and compiling takes 0.4 s, the query itself milliseconds.
    And in memory: hashing the module and asking for Ibis's version take a tenth of a second.
    """
    module = Path(inspect.getfile(type(experiment_type)))
    digest = hashlib.sha256(module.read_bytes() + version("ibis-framework").encode()).hexdigest()
    breakdown = "".join(f"-by-{column}" for column in by)  # segment columns: plain names
    memo = home / "cache" / f"stats-{experiment_type.name}{breakdown}-{digest[:16]}.sql"
    if memo.exists():
        return memo.read_text()
    import ibis

    schema = {c.name: IBIS_TYPES[c.kind] for c in experiment_type.columns}
    events = ibis.table(schema, name="events")
    # Asked with ``by`` only when given: a type without segment columns need not take it.
    expression = experiment_type.sufficient_stats(events, *([by] if by else []))
    sql = ibis.to_sql(expression, dialect="duckdb")
    # A file of its own per writer (threads of one process too), then an atomic rename: a
    # reader sees all of it or none. A full or read-only home only costs compiling again.
    with contextlib.suppress(OSError):
        private_dir(memo.parent, home)
        handle, partial = tempfile.mkstemp(dir=memo.parent, prefix=memo.name, suffix=".tmp")
        try:
            with os.fdopen(handle, "w") as out:
                out.write(sql)
            os.replace(partial, memo)
        finally:
            Path(partial).unlink(missing_ok=True)
    return sql


def sufficient_stats(lake: Lake, experiment: Experiment, as_of: int | None = None) -> list[dict]:
    """The few rows a model is fitted on, one per group, now or at snapshot ``as_of``: in the
    experiment's recorded order (the control first), so everything downstream shows them so."""
    kind = get_type(experiment.type)
    query = stats_sql(kind, lake.config.home)
    source = table_at(lake, experiment, as_of)
    with lake.reading(f"reading {experiment.name}"):
        result = lake.con.execute(f"WITH events AS (SELECT * FROM {source}) {query}")
    columns = [d[0] for d in result.description]
    rows = [dict(zip(columns, row, strict=True)) for row in result.fetchall()]
    return in_recorded_order(rows, kind.group_column, experiment.groups)


def segment_stats(
    lake: Lake, experiment: Experiment, by: str, as_of: int | None = None
) -> list[dict]:
    """``sufficient_stats`` broken down by the segment column ``by``: one row per group and
    value of it, under the key "segment" (None for the events without one). Groups in the
    recorded order, and within each, its values alphabetically, None last."""
    name = experiment.name
    kind = get_type(experiment.type)
    if by not in kind.segment_columns:
        an = f"{'an' if kind.name[0] in 'aeiou' else 'a'} {kind.name} experiment"
        if not kind.segment_columns:
            raise InvalidOption(
                f"{option('by')} {printable(by)}: {an} cannot be broken down (it has no segment "
                "column)"
            )
        raise InvalidOption(
            f"{option('by')} {printable(by)} is not a segment column of {an}; it can be broken "
            "down by: "
            f"{', '.join(kind.segment_columns)}"
        )
    source = table_at(lake, experiment, as_of)
    rows = []
    with lake.reading(f"reading {name}"):
        if by in table_columns(lake.con, source):  # an older vibes' table may lack it
            query = stats_sql(kind, lake.config.home, (by,))
            result = lake.con.execute(f"WITH events AS (SELECT * FROM {source}) {query}")
            columns = ["segment" if d[0] == by else d[0] for d in result.description]
            rows = [dict(zip(columns, row, strict=True)) for row in result.fetchall()]
    if all(row["segment"] is None for row in rows):
        raise InvalidOption(
            f"{name} has no {by} values yet: upload events with a {by} column to break it down"
        )
    return in_recorded_order(rows, kind.group_column, experiment.groups)


def in_recorded_order(rows: list[dict], column: str | None, groups) -> list[dict]:
    """``rows`` (one per group, in the type's own order: alphabetical) in the order of
    ``groups``; groups it does not hold (none, for an older version's experiment) after them,
    still in the type's order."""
    if not column or not groups:
        return rows
    rank = {group: i for i, group in enumerate(groups)}
    return sorted(rows, key=lambda row: rank.get(row[column], len(rank)))  # stable


RECENT_DAYS = 7  # the pace of an experiment: its events over its last week of data


def events_per_day(lake: Lake, experiment: Experiment, as_of: int | None = None) -> float | None:
    """Events per day lately: over the last RECENT_DAYS before its latest event, or over all
    its events if they span less (None if they span less than an hour: no pace to speak of).
    One query, nothing bound: a bound timestamp makes DuckDB import pandas (a third of a
    second)."""
    source = table_at(lake, experiment, as_of)
    with lake.reading(f"reading {experiment.name}"):
        recent, seconds = lake.con.execute(
            f"SELECT count(*) FILTER (WHERE timestamp >= latest - INTERVAL {RECENT_DAYS} DAY), "
            f"any_value(date_diff('second', first, latest)) FROM {source}, "
            f"(SELECT max(timestamp) AS latest, min(timestamp) AS first FROM {source})"
        ).fetchone()
    if seconds is None or seconds < 3600:
        return None
    return recent / min(seconds / 86400, RECENT_DAYS)
