"""Metrics: definitions kept in the lake (``vibes.metrics``), reusable by any experiment on
units, and the roles an experiment gives them (goal, guardrails, secondaries).

A metric reduces each exposed unit's events in ``[exposure, exposure + window)`` of one event
table that pass ``where`` to one number (its kind: proportion, count, mean; a ratio to two),
then each variant's units to a few sums (vibes_core.unit_stats). Its expressions are data:
checked by vibes_core.expressions when created and again whenever read back, since a shared
catalog is written by others.
"""

import json
import math
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal, get_args

from vibes_core.errors import AlreadyExists, InvalidOption, NotFound, VibesError, option
from vibes_core.expressions import Expression, checked
from vibes_core.lake import ALIAS, EVENTS_SCHEMA, Lake, quote_ident
from vibes_core.names import is_name, quoted, shown, validate_name

Kind = Literal["proportion", "count", "mean", "ratio"]
KINDS: tuple[str, ...] = get_args(Kind)
Role = Literal["goal", "guardrail", "secondary"]
ROLES: tuple[str, ...] = get_args(Role)
METRICS = f"{ALIAS}.vibes.metrics"
MAX_WINDOW_HOURS = 3650 * 24
DURATION = re.compile(r"([1-9][0-9]{0,5})([dh])")
HOURS = {"d": 24, "h": 1}
# Which expressions each kind takes: the value summed per unit, and a ratio's denominator.
TAKES = {
    "proportion": (),
    "count": (),
    "mean": ("value", "cap"),
    "ratio": ("value", "denominator"),
}
NEEDS = {"mean": ("value",), "ratio": ("value", "denominator")}
# The covariate of CUPED: the same metric over the weeks before each unit's exposure. On by
# default; ratio metrics are not adjusted.
DEFAULT_PRE_WINDOW = "14d"
NO_PRE_WINDOW = "0"
ADJUSTED_KINDS = ("proportion", "count", "mean")


@dataclass(frozen=True)
class Metric:
    name: str
    table: str
    kind: Kind
    value: Expression | None = None
    denominator: Expression | None = None
    where: Expression | None = None
    window: str | None = None  # "7d", "36h"; None: everything after exposure
    cap: float | None = None  # a mean's per-unit sum is capped at it (whales)
    lower_is_better: bool = False
    created_at: str = ""
    pre_window: str = NO_PRE_WINDOW  # before exposure: the covariate's ("14d"), or none

    @property
    def window_hours(self) -> int | None:
        return None if self.window is None else parse_window(self.window)

    @property
    def pre_window_hours(self) -> int:
        """Hours before exposure whose events make the covariate; 0: not adjusted."""
        if self.pre_window == NO_PRE_WINDOW:
            return 0
        return parse_window(self.pre_window, "pre_window")

    def definition(self) -> dict:
        """What is stored (the expressions as written) and shown."""
        return {
            "kind": self.kind,
            "value": text_of(self.value),
            "denominator": text_of(self.denominator),
            "where": text_of(self.where),
            "window": self.window,
            "cap": self.cap,
            "lower_is_better": self.lower_is_better,
            "pre_window": self.pre_window,
        }

    def as_json(self) -> dict:
        return {"name": self.name, "table": self.table, **self.definition()}


def text_of(expression: Expression | None) -> str | None:
    return None if expression is None else expression.text


@dataclass(frozen=True)
class MetricRole:
    """A metric as an experiment uses it. ``margin``: how much worse (a share of the control's
    mean) a guardrail may get and still pass; 0 for the others."""

    metric: str
    role: Role
    margin: float = 0.0

    def as_json(self) -> dict:
        return {"metric": self.metric, "role": self.role, "margin": self.margin}


@dataclass(frozen=True)
class Listing:
    metrics: list[Metric]
    warnings: list[str]


def parse_window(text: str, flag: str = "window") -> int:
    """Hours in a duration: ``7d`` (168 hours: fixed lengths, in UTC) or ``36h``."""
    found = DURATION.fullmatch(text.strip()) if isinstance(text, str) else None
    hours = int(found[1]) * HOURS[found[2]] if found else 0
    if not found or hours > MAX_WINDOW_HOURS:
        raise InvalidOption(
            f"{option(flag)} {quoted(text)} is not a duration: give whole days or hours, "
            f"e.g. 7d or 36h, at most {MAX_WINDOW_HOURS // 24}d"
            + (", or 0 for none" if flag == "pre_window" else "")
        )
    return hours


def checked_pre_window(kind: str, given) -> str:
    """The pre-window of a new metric of ``kind`` (``given``: as typed, None when not)."""
    if kind not in ADJUSTED_KINDS:
        if given not in (None, NO_PRE_WINDOW):
            raise InvalidOption(
                f"{option('pre_window')} does not apply to a {kind} metric (ratio metrics are "
                "not adjusted for what units did before exposure): leave it out"
            )
        return NO_PRE_WINDOW
    if given is None:
        return DEFAULT_PRE_WINDOW
    if not isinstance(given, str):
        given = shown(given)  # a number from Python: refused as any other text would be
    if given.strip() != NO_PRE_WINDOW:
        parse_window(given, "pre_window")
    return given.strip()


def event_table(name: str) -> str:
    return f"{ALIAS}.{EVENTS_SCHEMA}.{quote_ident(name)}"


def table_columns(con, table: str) -> dict[str, str] | None:
    """The event table's columns and their DuckDB types; None when there is no such table."""
    if not is_name(table):
        return None
    found = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? "
        "AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [ALIAS, EVENTS_SCHEMA, table],
    ).fetchall()
    return dict(found) or None


NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL")


def build(name: str, table: str, kind: str, columns: dict[str, str], **given) -> Metric:
    """A metric from its parts as typed (or stored), every one checked; its expressions
    against the table's ``columns``."""
    validate_name(name)
    if kind not in KINDS:
        raise InvalidOption(
            f"{option('kind')} {quoted(kind)} is not a kind of metric: choose one of "
            f"{', '.join(KINDS)}"
        )
    for part in ("value", "denominator", "cap"):
        if given.get(part) is not None and part not in TAKES[kind]:
            takers = [k for k, parts in TAKES.items() if part in parts]
            raise InvalidOption(
                f"{option(part)} does not apply to a {kind} metric (only to {' and '.join(takers)}"
                f" metrics): leave it out"
            )
    for part in NEEDS.get(kind, ()):
        if given.get(part) is None:
            raise InvalidOption(f"a {kind} metric needs {option(part)}: give an expression")
    parts = {
        part: checked(given[part], columns, part)
        for part in ("value", "denominator", "where")
        if given.get(part) is not None
    }
    window = given.get("window")
    if window is not None:
        parse_window(window)
    cap = given.get("cap")
    if cap is not None and not (isinstance(cap, int | float) and math.isfinite(cap) and cap > 0):
        raise InvalidOption(f"{option('cap')} must be a positive number, got {shown(cap)}")
    lower = given.get("lower_is_better", False)
    if not isinstance(lower, bool):
        raise InvalidOption("lower_is_better must be true or false")
    return Metric(
        name,
        table,
        kind,
        window=window,
        cap=None if cap is None else float(cap),
        lower_is_better=lower,
        created_at=given.get("created_at", ""),
        pre_window=checked_pre_window(kind, given.get("pre_window")),
        **parts,
    )


def check_types(con, metric: Metric) -> None:
    """Run the metric's expressions once on its table (no rows): a column of the wrong type,
    or a string where a number belongs, is caught when the metric is written."""
    source = event_table(metric.table)
    wanted = {"value": "a number", "denominator": "a number", "where": "true or false"}
    for part, expression in (
        ("value", metric.value),
        ("denominator", metric.denominator),
        ("where", metric.where),
    ):
        if expression is None:
            continue
        try:
            kind = con.execute(f"SELECT ({expression.sql}) FROM {source} LIMIT 0").description[0][1]
        except Exception as error:  # duckdb.Error: its binder's complaint, in one line
            said = str(error).strip().splitlines()[0]
            raise InvalidOption(
                f"{option(part)} {quoted(expression.text)} does not run on {metric.table}: "
                f"{shown(said, 160)}"
            ) from None
        type_name = str(kind).upper()
        fits = type_name == "BOOLEAN" if part == "where" else type_name.startswith(NUMERIC)
        if part != "where" and type_name == "BOOLEAN":
            fits = True  # true counts 1
        if not fits and type_name != '"NULL"':
            raise InvalidOption(
                f"{option(part)} {quoted(expression.text)} is {type_name.lower()} on "
                f"{metric.table}; it must be {wanted[part]}"
            )


def create_table_sql() -> list[str]:
    return [
        f"CREATE SCHEMA IF NOT EXISTS {ALIAS}.vibes",
        f"CREATE TABLE IF NOT EXISTS {METRICS} (name VARCHAR NOT NULL, table_name VARCHAR "
        "NOT NULL, definition VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL)",
    ]


def has_table(con, table: str = "metrics") -> bool:
    """Whether the lake has vibes' table ``table`` (metrics; learned priors) yet."""
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'vibes' "
        "AND table_name = ?",
        [ALIAS, table],
    )
    return found.fetchone()[0] > 0


def create(lake: Lake, name: str, table: str, kind: str, **given) -> dict:
    """Define a metric over the event table ``table``; one transaction."""
    validate_name(name)
    columns = table_columns(lake.con, table)
    if columns is None:
        raise NotFound(
            f"no event table named {quoted(table)}: `vibes tables upload {shown(table)} FILE` "
            "makes one (`vibes tables list` shows them)"
        )
    metric = build(name, table, kind, columns, **given)
    check_types(lake.con, metric)
    now = datetime.now(UTC).replace(tzinfo=None)

    def work(con) -> None:
        for sql in create_table_sql():
            con.execute(sql)
        if con.execute(f"SELECT count(*) FROM {METRICS} WHERE name = ?", [name]).fetchone()[0]:
            raise AlreadyExists(
                f"a metric named {name!r} already exists: pick another name, or delete it first"
            )
        if table_columns(con, table) is None:
            raise NotFound(f"the event table {table} was deleted meanwhile; nothing was written")
        con.execute(
            f"INSERT INTO {METRICS} VALUES (?, ?, ?, ?)",
            [name, table, json.dumps(metric.definition()), now],
        )

    lake.write(work, f"creating the metric {name}")
    return {**get(lake, name).as_json(), "snapshot": lake.last_commit()}


COLUMNS = "name, table_name, definition, strftime(created_at, '%Y-%m-%dT%H:%M:%SZ')"


def metric_of(con, row: tuple, columns: dict | None = None) -> Metric:
    """A metric from its stored row, checked as if typed (a VibesError says what is wrong):
    rows are input, and an expression written by hand gets the same refusal as on create."""
    name, table, definition, created_at = row
    validate_name(name)
    try:
        stored = json.loads(definition)
    except (ValueError, RecursionError, TypeError):
        stored = None
    if not isinstance(stored, dict) or not isinstance(stored.get("kind"), str):
        raise VibesError(f"the metric {name}'s definition is not readable")
    if columns is None:
        columns = table_columns(con, table)
    if columns is None:
        raise NotFound(f"the metric {name}'s event table {quoted(table)} is missing")
    # A definition from before pre-windows has none written: it gets the default.
    keys = ("value", "denominator", "where", "window", "cap", "pre_window")
    parts = {key: stored.get(key) for key in keys}
    for key in ("value", "denominator", "where", "window", "pre_window"):
        if parts[key] is not None and not isinstance(parts[key], str):
            raise VibesError(f"the metric {name}'s {key} is not text")
    lower = stored.get("lower_is_better", False)
    return build(
        name,
        table,
        stored["kind"],
        columns,
        lower_is_better=lower,
        created_at=created_at,
        **parts,
    )


def list_metrics(lake: Lake) -> Listing:
    """Every metric by name; one whose row cannot be read is left out, and said."""
    if not has_table(lake.con):
        return Listing([], [])
    rows = lake.con.execute(f"SELECT {COLUMNS} FROM {METRICS} ORDER BY name").fetchall()
    found, warnings, seen = [], [], set()
    for row in rows:
        if row[0] in seen:
            warnings.append(f"metric {shown(row[0])} appears more than once: one is listed")
            continue
        try:
            found.append(metric_of(lake.con, row))
            seen.add(row[0])
        except VibesError as error:
            warnings.append(f"metric {quoted(row[0])} is left out: {error}")
    return Listing(found, warnings)


def names(con) -> set[str]:
    """The metrics defined, by name (their rows unchecked)."""
    if not has_table(con):
        return set()
    return {name for (name,) in con.execute(f"SELECT name FROM {METRICS}").fetchall()}


def get(lake: Lake, name: str) -> Metric:
    validate_name(name)
    row = None
    if has_table(lake.con):
        row = lake.con.execute(f"SELECT {COLUMNS} FROM {METRICS} WHERE name = ?", [name]).fetchone()
    if row is None:
        raise NotFound(f"no metric named {name!r}; `vibes metrics list` shows them")
    return metric_of(lake.con, row)


def delete(lake: Lake, name: str, users) -> dict:
    """Delete a metric's definition; refused while an experiment uses it (``users(con,
    name)``: the experiments that do, read in the same transaction)."""
    validate_name(name)

    def work(con) -> None:
        if (
            not has_table(con)
            or not con.execute(f"SELECT count(*) FROM {METRICS} WHERE name = ?", [name]).fetchone()[
                0
            ]
        ):
            raise NotFound(f"no metric named {name!r}; `vibes metrics list` shows them")
        using = users(con, name)
        if using:
            raise VibesError(
                f"{name} is used by the experiment(s) {', '.join(using)}: change their metrics "
                f"first (`vibes experiments metrics {using[0]} ...`)"
            )
        con.execute(f"DELETE FROM {METRICS} WHERE name = ?", [name])

    lake.write(work, f"deleting the metric {name}")
    return {"metric": name, "snapshot": lake.last_commit()}


# --- roles ----------------------------------------------------------------------------------
def parse_margin(text: str) -> float:
    """A guardrail's margin: ``5%`` or ``0.05``, from 0 up to 100%."""
    body = text.strip()
    scale = 100.0 if body.endswith("%") else 1.0
    try:
        margin = float(body.rstrip("%")) / scale
    except ValueError:
        margin = math.nan
    if not (math.isfinite(margin) and 0 <= margin <= 1):
        raise InvalidOption(
            f"{quoted(text)} is not a margin: give how much worse the guardrail may get, as a "
            "share of the control's value (5% or 0.05)"
        )
    return margin


def roles_of(
    goal: str | None, guardrails: list[str], secondaries: list[str]
) -> tuple[MetricRole, ...]:
    """The roles as given: one goal, then the guardrails (``NAME[:MARGIN]``), then the
    secondaries; each metric once."""
    if goal is None:
        raise InvalidOption(
            f"give the experiment's goal ({option('goal')} METRIC): the metric its verdict is on"
        )
    roles = [MetricRole(goal, "goal")]
    for given in guardrails:
        name, _, margin = given.partition(":")
        roles.append(MetricRole(name, "guardrail", parse_margin(margin) if margin else 0.0))
    roles += [MetricRole(name, "secondary") for name in secondaries]
    seen = set()
    for role in roles:
        validate_name(role.metric)
        if role.metric in seen:
            raise InvalidOption(f"the metric {role.metric} is given twice: give each one role")
        seen.add(role.metric)
    return tuple(roles)


def roles_from_json(stored: str | None) -> tuple[tuple[MetricRole, ...], list[str]]:
    """An experiment's stored roles, and a line for each left out (a catalog row is input)."""
    if not stored:
        return (), []
    try:
        data = json.loads(stored)
    except (ValueError, RecursionError):
        return (), ["its metrics are not JSON: left out"]
    if not isinstance(data, list):
        return (), ["its metrics are not a list: left out"]
    roles, problems = [], []
    for item in data:
        try:
            metric, role = item["metric"], item["role"]
            margin = float(item.get("margin", 0.0))
            if not (is_name(metric) and role in ROLES and 0 <= margin <= 1):
                raise ValueError
            roles.append(MetricRole(metric, role, margin if role == "guardrail" else 0.0))
        except (KeyError, TypeError, ValueError):
            problems.append(f"a metric role {shown(json.dumps(item))} is not readable: left out")
    goals = [r for r in roles if r.role == "goal"]
    if len(goals) > 1:
        problems.append("it names more than one goal: the first is its goal")
        first = goals[0]
        roles = [
            r if r.role != "goal" or r is first else replace(r, role="secondary") for r in roles
        ]
    return tuple(roles), problems
