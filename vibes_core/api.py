"""The public API for notebooks and scripts: everything the CLI does, from Python.

    import vibes_core as vc

    vc.create("signups", "bernoulli", frame)      # a pandas DataFrame or an Arrow table
    vc.upload("signups", more_frame)              # one more batch, one more snapshot
    vc.experiments()                              # [{name, type, events, ...}, ...]
    vc.events("signups").group_by("outcome").count().to_pandas()   # an Ibis table
    vc.fit("signups")                             # the MCMC posterior, summarized (cached)
    vc.fit("signups", exact=True)                 # the closed-form one, in milliseconds
    vc.fit("spend", likelihood="mean")            # revenue: the unit mean's model (whales)

    from vibes_core import api
    api.upload_table("orders", frame)             # an event table: unit, timestamp, any columns
    api.table_list()                              # [{name, columns, rows, last_upload}, ...]
    api.delete_table("orders")                    # refused while a metric uses it

Each call opens the lake of the current configuration (``VIBES_HOME`` etc.) and closes it,
unless given ``lake=`` from ``open_lake()``. Data goes through the same validation as a file
upload; every mistake raises a ``VibesError`` that says what to do.
"""

import contextlib
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from vibes_core import catalog, learned, metrics
from vibes_core import tables as event_tables
from vibes_core.analysis import LEARNED
from vibes_core.errors import InvalidInput, InvalidOption
from vibes_core.lake import Lake

if TYPE_CHECKING:
    from vibes_core.schema import Summary

FIT_SETTINGS = ("draws", "tune", "chains", "seed", "prior", "hdi_prob", "model", "likelihood")
FIT_SETTINGS += ("metric", "adjust")


def open_lake() -> Lake:
    """The lake, for several calls in a row (``with vc.open_lake() as lake: ...``)."""
    return catalog.open_lake()


@contextlib.contextmanager
def _lake(lake: Lake | None):
    if lake is not None:
        yield lake
        return
    with catalog.open_lake() as opened:
        yield opened


def experiments(lake: Lake | None = None) -> list[dict]:
    """Every experiment: name, display name, type, created_at, groups (in the order they are
    compared, the control first) and its number of events. A catalog row that cannot be read
    is left out with a warning (``CatalogWarning``), as `vibes experiments list` does."""
    with _lake(lake) as lake:
        listing = catalog.list_experiments(lake)
        counts = catalog.event_counts(lake)
    for line in listing.warnings:
        warnings.warn(line, CatalogWarning, stacklevel=2)
    return [{**e.as_json(), "events": counts.get(e.name, 0)} for e in listing.experiments]


class CatalogWarning(UserWarning):
    """A row of the catalog ignored, or read in part."""


def events(name: str, lake: Lake | None = None):
    """One experiment's events as an Ibis table over the lake (evaluated when you ask, e.g.
    ``.to_pandas()``). Pass ``lake=`` to keep it usable after this call: by default the lake
    stays open as long as the table is referenced."""
    import ibis

    lake = lake or catalog.open_lake()
    catalog.get(lake, name)  # a clear error for an unknown name
    return ibis.duckdb.from_connection(lake.con).sql(f"SELECT * FROM {catalog.table_sql(name)}")


def create(
    name: str,
    type_name: str,
    data,
    display_name: str | None = None,
    lake: Lake | None = None,
    control: str | None = None,
) -> dict:
    """A new experiment with ``data`` (DataFrame or Arrow table) as its first events. The
    others are compared with ``control``, by default the group of its first row."""
    with _lake(lake) as lake, _as_parquet(data) as path:
        return catalog.create(lake, name, type_name, path, display_name, control=control)


def upload(name: str, data, lake: Lake | None = None) -> dict:
    """Append ``data`` (DataFrame or Arrow table) to an experiment: one snapshot."""
    with _lake(lake) as lake, _as_parquet(data) as path:
        return catalog.upload(lake, name, path)


def upload_table(name: str, data, lake: Lake | None = None) -> dict:
    """Append ``data`` (DataFrame or Arrow table) to the event table ``name``, made by this
    upload if it is the first (its columns then fix the table's): one snapshot. ``unit``
    (strings) and ``timestamp`` are required in every row."""
    with _lake(lake) as lake, _as_parquet(data) as path:
        return event_tables.upload(lake, name, path)


def table_list(lake: Lake | None = None) -> list[dict]:
    """Every event table: name, columns (name and type), rows and last_upload. A table vibes
    would not have written is left out with a warning (``CatalogWarning``)."""
    with _lake(lake) as lake:
        listing = event_tables.list_tables(lake)
    for line in listing.warnings:
        warnings.warn(line, CatalogWarning, stacklevel=2)
    return listing.tables


def delete_table(name: str, lake: Lake | None = None) -> dict:
    """Drop the event table ``name`` (one snapshot); refused while a metric uses it."""
    with _lake(lake) as lake:
        return event_tables.delete(lake, name)


def create_metric(
    name: str,
    table: str,
    kind: str,
    *,
    value: str | None = None,
    denominator: str | None = None,
    where: str | None = None,
    window: str | None = None,
    cap: float | None = None,
    lower_is_better: bool = False,
    lake: Lake | None = None,
) -> dict:
    """Define the metric ``name`` over the event table ``table``, as `vibes metrics create`
    does: ``kind`` proportion, count, mean or ratio; ``value``, ``denominator`` and ``where``
    SQL expressions over its columns (checked: data, not code); ``window`` "7d" or "36h"."""
    given = {"value": value, "denominator": denominator, "where": where, "window": window}
    with _lake(lake) as lake:
        return metrics.create(
            lake, name, table, kind, **given, cap=cap, lower_is_better=lower_is_better
        )


def metric_list(lake: Lake | None = None) -> list[dict]:
    """Every metric's definition; one that cannot be read is left out with a warning."""
    with _lake(lake) as lake:
        listing = metrics.list_metrics(lake)
    for line in listing.warnings:
        warnings.warn(line, CatalogWarning, stacklevel=2)
    return [metric.as_json() for metric in listing.metrics]


def set_metrics(
    name: str,
    goal: str,
    guardrails: dict[str, float] | None = None,
    secondary: list[str] | tuple[str, ...] = (),
    lake: Lake | None = None,
) -> list[dict]:
    """Give the experiment on units ``name`` its metrics: the ``goal``, ``guardrails`` (metric
    -> margin, a share: {"errors": 0.05}) and ``secondary`` ones, replacing its list."""
    given = [f"{metric}:{margin!r}" for metric, margin in (guardrails or {}).items()]
    roles = metrics.roles_of(goal, given, list(secondary))
    with _lake(lake) as lake:
        catalog.save_metrics(lake, name, roles, metrics.names)
    return [role.as_json() for role in roles]


def fit(
    name: str,
    *,
    exact: bool = False,
    as_of: int | None = None,
    lake: Lake | None = None,
    **settings,
) -> "Summary":
    """The decision-ready summary, as ``vibes posterior NAME --json`` prints it (a dict, its
    keys as vibes_core.schema.Summary declares them). ``settings``: draws, tune, chains, seed,
    prior, hdi_prob, the model (``model=vibes_core.Pooled()``, or as the CLI's flags:
    ``pooled=True``, ``by="segment"``: the breakdown), the likelihood of a type that offers
    several (``likelihood="mean"`` for revenue) and the type's options (e.g. control);
    ``prior="learned"``: each treated variant's effect under the prior ``learn_prior`` keeps. An
    experiment on units answers with its scorecard (vibes_core.schema.Scorecard), or with
    ``metric="NAME"`` (and ``exact=True``) that metric's summary; ``adjust=False`` leaves its
    metrics unadjusted (CUPED is on by default)."""
    from vibes_core import inference, models

    fitting = {key: settings.pop(key) for key in FIT_SETTINGS if key in settings}
    if fitting.get("prior") == LEARNED:
        fitting.update(prior=None, effect_prior=LEARNED)
    if "pooled" in settings or "by" in settings:
        fitting["model"] = models.chosen(settings.pop("pooled", False), settings.pop("by", None))
    chosen = inference.Settings(**fitting, options=settings)
    with _lake(lake) as lake:
        return inference.posterior(lake, name, chosen, exact=exact, as_of=as_of)


def learn_prior(
    type_name: str | None = None, metric: str | None = None, lake: Lake | None = None
) -> dict:
    """Learn the prior of effects from every past experiment of ``type_name`` (or with the
    ``metric``), keep it in the lake, and return it (as ``vibes priors learn --json``)."""
    from vibes_core import learning

    if (type_name is None) == (metric is None):
        raise InvalidOption("give one of type_name and metric: what the prior is learned for")
    with _lake(lake) as lake:
        by = "type" if metric is None else "metric"
        target = learned.target_of(lake, by, type_name or metric)
        found = learning.learn(lake, target, lambda line: warnings.warn(line, CatalogWarning, 3))
    return found.as_json()


def learned_priors(lake: Lake | None = None) -> list[dict]:
    """Every prior learned; one that cannot be read is left out with a warning."""
    with _lake(lake) as lake:
        found, problems = learned.list_learned(lake)
    for line in problems:
        warnings.warn(line, CatalogWarning, stacklevel=2)
    return [item.as_json() for item in found]


@contextlib.contextmanager
def _as_parquet(data):
    """``data`` written to a Parquet file, so that it is validated exactly as a file is."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = data if isinstance(data, pa.Table) else pa.table(data)
    except (TypeError, ValueError, pa.ArrowException) as error:
        raise InvalidInput(
            f"cannot read the events as a table ({error}): pass a pandas "
            "DataFrame or a pyarrow Table"
        ) from error
    with tempfile.TemporaryDirectory(prefix="vibes-") as folder:
        path = Path(folder) / "events.parquet"
        pq.write_table(table, path)
        try:
            yield path
        except InvalidInput as error:  # about the table given, not about our temporary file
            raise InvalidInput(str(error).replace(str(path), "the table given")) from error
