"""Per-variant statistics of metrics over units, computed in DuckDB.

A unit's exposure is its first assignment row; a unit assigned to more than one variant is
left out of everything (and counted). For each event table, one query joins the exposed
units to the table's events after their exposure, reduces them per unit with one filtered
aggregate per metric (``FILTER (WHERE ...)``: every metric over the table in one pass), and
each variant's units to sums. Nothing per unit leaves the database.

Each metric's rows carry ``units`` (n) and its kind's sums: ``sum_value`` and
``sum_value2`` (Σy, Σy²) for proportion, count and mean; ``sum_value``, ``sum_den``,
``sum_value2``, ``sum_den2``, ``sum_cross`` for a ratio (Σa, Σb, Σa², Σb², Σab). Units
without events count, with 0.
"""

from dataclasses import dataclass

from vibes_core.metrics import Metric, event_table

# Names of the join's own columns: the metrics' expressions only ever see their table's.
# A unit's segment (for a breakdown) is the one of its exposure, its first row.
ASSIGNED = (
    "SELECT unit AS _unit, min(variant) AS _variant, min(timestamp) AS _exposure{segment} "
    "FROM {source} GROUP BY unit HAVING count(DISTINCT variant) = 1"
)
SEGMENT = ", arg_min_null(segment, timestamp) AS _segment"  # arg_min skips NULLs


@dataclass(frozen=True)
class Exposures:
    """Units per variant (those left out not among them) and how many were left out."""

    units: dict[str, int]
    excluded: int


def exposures(con, source: str) -> Exposures:
    """The exposed units of the assignments table ``source`` (SQL: a name, maybe AT ...)."""
    rows = con.execute(
        f"SELECT variant, count(*) FILTER (WHERE variants = 1), count(*) FILTER (WHERE variants > "
        f"1) FROM (SELECT unit, min(variant) AS variant, count(DISTINCT variant) AS variants "
        f"FROM {source} GROUP BY unit) GROUP BY ALL ORDER BY 1"
    ).fetchall()
    return Exposures({v: n for v, n, _ in rows if n}, sum(x for _, _, x in rows))


def per_unit_sql(metric: Metric, i: int, adjusted: bool = False) -> tuple[list[str], list[str]]:
    """The per-event columns the metric needs (over its table's columns), and its per-unit
    values (over the join), named by its position ``i``: ``_y`` (and a ratio's ``_d``) from
    the events in its window after exposure; with ``adjusted``, ``_x`` from those in its
    pre-window before exposure (the covariate)."""
    where = f"({metric.where.sql})" if metric.where else "true"
    after = "_time >= _exposure"
    if metric.window is not None:
        after += f" AND _time < _exposure + INTERVAL {int(metric.window_hours)} HOUR"
    events = [f"coalesce({where}, false) AS _pass{i}"]
    if metric.kind in ("mean", "ratio"):
        events.append(f"CAST(({metric.value.sql}) AS DOUBLE) AS _value{i}")
    units = [f"{reduced(metric, i, f'_pass{i} AND {after}')} AS _y{i}"]
    if metric.kind == "ratio":
        events.append(f"CAST(({metric.denominator.sql}) AS DOUBLE) AS _den{i}")
        units.append(f"coalesce(sum(_den{i}) FILTER (WHERE _pass{i} AND {after}), 0) AS _d{i}")
    if adjusted and metric.pre_window_hours:
        hours = metric.pre_window_hours
        before = f"_time < _exposure AND _time >= _exposure - INTERVAL {hours} HOUR"
        units.append(f"{reduced(metric, i, f'_pass{i} AND {before}')} AS _x{i}")
    return events, units


def reduced(metric: Metric, i: int, passes: str) -> str:
    """A unit's events that pass, reduced to the number the metric's kind takes."""
    if metric.kind in ("proportion", "count"):
        return f"count(*) FILTER (WHERE {passes})"
    return f"coalesce(sum(_value{i}) FILTER (WHERE {passes}), 0)"


def per_variant_sql(metric: Metric, i: int, adjusted: bool = False) -> list[str]:
    """The metric's sums over a variant's units with events (the others add 0)."""
    y = per_unit_value(metric, f"_y{i}")
    sums = [f"sum({y}) AS sum_value_{i}", f"sum(({y}) * ({y})) AS sum_value2_{i}"]
    if metric.kind == "ratio":
        d = f"_d{i}"
        sums += [
            f"sum({d}) AS sum_den_{i}",
            f"sum({d} * {d}) AS sum_den2_{i}",
            f"sum(({y}) * {d}) AS sum_cross_{i}",
        ]
    if adjusted and metric.pre_window_hours:
        x = per_unit_value(metric, f"_x{i}")
        sums += [
            f"sum({x}) AS sum_x_{i}",
            f"sum(({x}) * ({x})) AS sum_x2_{i}",
            f"sum(({x}) * ({y})) AS sum_xy_{i}",
        ]
    return sums


def per_unit_value(metric: Metric, reduced_column: str) -> str:
    """A unit's value of the metric from its reduced events: a proportion's 1 or 0, a
    mean's sum capped."""
    if metric.kind == "proportion":
        return f"CAST({reduced_column} > 0 AS DOUBLE)"
    if metric.cap is not None:
        return f"least({reduced_column}, {float(metric.cap)!r})"
    return reduced_column


def table_query(
    source: str,
    table: str,
    metrics: list[Metric],
    snapshot: int,
    by_segment: bool = False,
    adjusted: bool = False,
) -> str:
    """One pass over the event table ``table`` (as of ``snapshot``) for all of ``metrics``
    (each over it): a row per variant, or per variant and segment (``_segment``); with
    ``adjusted``, each metric's covariate sums too (those with a pre-window)."""
    keys = "_variant, _segment" if by_segment else "_variant"
    events, units, sums = [], [], []
    for i, metric in enumerate(metrics):
        columns, values = per_unit_sql(metric, i, adjusted)
        events += columns
        units += values
        sums += per_variant_sql(metric, i, adjusted)
    windows = [m.window_hours for m in metrics]
    bound = ""
    if None not in windows:  # no event later than the longest window can count
        bound = f" AND _time < _exposure + INTERVAL {int(max(windows))} HOUR"
    earliest = max(m.pre_window_hours for m in metrics) if adjusted else 0
    since = f" - INTERVAL {earliest} HOUR" if earliest else ""  # the longest pre-window
    return (
        f"WITH assigned AS ({assigned_sql(source, by_segment)}), "
        f"events AS (SELECT unit AS _event_unit, timestamp AS _time, {', '.join(events)} "
        f"FROM {event_table(table)} AT (VERSION => {int(snapshot)})), "
        f"units AS (SELECT {keys}, {', '.join(units)} FROM assigned JOIN events "
        f"ON _event_unit = _unit AND _time >= _exposure{since}{bound} GROUP BY _unit, {keys}) "
        f"SELECT {keys}, {', '.join(sums)} FROM units GROUP BY {keys}"
    )


def assigned_sql(source: str, by_segment: bool = False) -> str:
    return ASSIGNED.format(source=source, segment=SEGMENT if by_segment else "")


STATISTICS = {
    "proportion": ("sum_value", "sum_value2"),
    "count": ("sum_value", "sum_value2"),
    "mean": ("sum_value", "sum_value2"),
    "ratio": ("sum_value", "sum_value2", "sum_den", "sum_den2", "sum_cross"),
}
COVARIATE = ("sum_x", "sum_x2", "sum_xy")  # of the pre-exposure value x with itself and y


def statistics(metric: Metric, adjusted: bool) -> tuple[str, ...]:
    """The sums of the metric's rows."""
    covariate = COVARIATE if adjusted and metric.pre_window_hours else ()
    return STATISTICS[metric.kind] + covariate


def segment_stats(con, source: str, metric: Metric, snapshot: int) -> list[dict]:
    """The metric's rows per variant and segment (under ``segment``; None for units assigned
    without one): every exposed unit counted in its exposure's segment."""
    units = con.execute(
        f"SELECT _variant, _segment, count(*) FROM ({assigned_sql(source, True)}) "
        "GROUP BY ALL ORDER BY 1, 2 NULLS LAST"
    ).fetchall()
    result = con.execute(table_query(source, metric.table, [metric], snapshot, by_segment=True))
    columns = [d[0] for d in result.description]
    sums = {(row[0], row[1]): dict(zip(columns, row, strict=True)) for row in result.fetchall()}
    return [
        {**sums_row(metric, 0, variant, n, sums.get((variant, segment), {})), "segment": segment}
        for variant, segment, n in units
    ]


def sums_row(
    metric: Metric, i: int, variant: str, units: int, found: dict, adjusted: bool = False
) -> dict:
    """A row of the metric (the ``i``-th of its query): its sums as ``found`` (0 where no
    unit had an event)."""
    names = statistics(metric, adjusted)
    sums = {name: float(found.get(f"{name}_{i}") or 0.0) for name in names}
    return {"variant": variant, "units": units, **sums}


def metric_stats(
    con,
    source: str,
    metrics: list[Metric],
    exposed: Exposures,
    snapshot: int,
    adjusted: bool = False,
) -> dict[str, list[dict]]:
    """Each metric's rows, one per variant with exposed units (in ``exposed``'s order):
    ``variant``, ``units`` and its sums, from the event tables as of ``snapshot``; with
    ``adjusted``, its covariate's sums too (``COVARIATE``, where it has a pre-window). One
    query per event table."""
    by_table: dict[str, list[Metric]] = {}
    for metric in metrics:
        by_table.setdefault(metric.table, []).append(metric)
    found: dict[str, list[dict]] = {}
    for table, over in by_table.items():
        result = con.execute(table_query(source, table, over, snapshot, adjusted=adjusted))
        columns = [d[0] for d in result.description]
        sums = {row[0]: dict(zip(columns, row, strict=True)) for row in result.fetchall()}
        for i, metric in enumerate(over):
            found[metric.name] = [
                sums_row(metric, i, variant, n, sums.get(variant, {}), adjusted)
                for variant, n in exposed.units.items()
            ]
    return found
