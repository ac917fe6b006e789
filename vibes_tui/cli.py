"""The ``vibes`` command: headless subcommands for pipelines, and the dashboard.

Data for machines goes to stdout as JSON; messages go to stderr. Nothing heavy is imported
here: each command imports what it needs, so ``vibes --help`` starts fast.
"""

import errno
import inspect
import json
import math
import os
import shutil
import sys
import threading
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vibes_core import verdict
from vibes_core.analysis import LEARNED
from vibes_core.capabilities import Scorecard
from vibes_core.config import mask
from vibes_core.errors import VibesError, first_line
from vibes_core.types import registry
from vibes_core.units import counted
from vibes_tui.wording import flag

if TYPE_CHECKING:
    from vibes_core.schema import Summary

app = typer.Typer(
    name="vibes",
    help="Bayesian analysis of experiments on a DuckLake lakehouse.",
    no_args_is_help=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The lake itself: initialize it, list and inspect its tables.")
experiments_app = typer.Typer(help="Create, list, describe and delete experiments.")
events_app = typer.Typer(help="Add events to an experiment.")
generate_app = typer.Typer(help="Write realistic synthetic events for an experiment type.")
app.add_typer(db_app, name="db")
app.add_typer(experiments_app, name="experiments")
app.add_typer(events_app, name="events")
app.add_typer(generate_app, name="generate")

TYPE_NAMES = list(registry())


def plain(text: str) -> str:
    """A type's words (a plugin's, maybe) as Typer's help shows them: text, never Rich markup."""
    if "[" not in text:  # nothing to escape, and rich.markup takes a tenth of a second to import
        return text
    from rich.markup import escape

    return escape(text)


def type_names() -> list[str]:
    """Shell completion of --type (Typer keeps those that start with what was typed)."""
    return TYPE_NAMES


def experiment_names() -> list[str]:
    """Shell completion of an experiment's name (Typer keeps those that start with what was
    typed): the names in the lake's catalog, read as `vibes experiments list` reads them (same
    config) but never creating the lake. Quiet: no lake, a bad config or any other failure
    completes nothing. A name with a control character (which no version let in) is left out:
    it would reach the terminal raw."""
    try:
        from vibes_core import catalog
        from vibes_core.config import load_config
        from vibes_core.lake import Lake
        from vibes_core.text import has_control

        config = load_config()
        if config.sqlite_file and not config.sqlite_file.exists():
            return []  # no lake yet: nothing to complete, and nothing is created
        with Lake(config, create=False) as lake:
            listing = catalog.list_experiments(lake)
            return [e.name for e in listing.experiments if not has_control(e.name)]
    except Exception:
        return []


# An experiment type, as --type NAME (completed from the registry).
TypeName = Annotated[
    str,
    typer.Option(
        "--type",
        help=f"one of: {', '.join(TYPE_NAMES)}",
        show_default=False,
        autocompletion=type_names,
    ),
]


class Shown(StrEnum):
    """How a posterior is printed."""

    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


class Format(StrEnum):
    json = "json"
    ndjson = "ndjson"
    csv = "csv"
    parquet = "parquet"


def emit(data: Any) -> None:
    """Machine-readable output: strict JSON on stdout (no NaN or Infinity, which strict parsers
    refuse; the core never computes them, and this refuses to print one if it slipped through)."""
    try:
        text = json.dumps(data, indent=2, default=str, allow_nan=False)
    except ValueError:
        raise VibesError(
            "the answer holds a number JSON cannot represent (NaN or infinity), so nothing was "
            "printed; please report it with the command that led to it"
        ) from None
    print(text)


def say(message: str) -> None:
    """Human-readable output: stderr. Messages quote names from data: control characters
    are shown as escapes, never written to the terminal raw."""
    from vibes_core.text import printable

    print("\n".join(map(printable, message.split("\n"))), file=sys.stderr)


class Usage(Exception):
    """A command used wrongly: one line on stderr and exit code 2."""


def one_name(positional: str | None, option: str | None) -> str:
    if positional and option and positional != option:
        raise Usage(f"two names given: {positional!r} and --name {option!r}")
    name = positional or option
    if not name:
        raise Usage("missing the experiment name: give it as NAME or --name NAME")
    return name


def show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"vibes {version('vibes')}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=show_version, is_eager=True, help="Print it.")
    ] = False,
) -> None:
    """With no command: the dashboard on a terminal, this help otherwise."""
    if ctx.invoked_subcommand is None:
        if sys.stdin.isatty() and sys.stdout.isatty():
            ctx.invoke(tui)
        else:
            typer.echo(ctx.get_help())


@app.command()
def tui() -> None:
    """Open the full-screen dashboard."""
    from vibes_tui.dashboard import dashboard

    raise typer.Exit(dashboard())


# --- db --------------------------------------------------------------------------------


@db_app.command("init")
def db_init() -> None:
    """Create the lake and its experiments table; does nothing if they exist."""
    from vibes_core import catalog
    from vibes_core.lake import Lake

    with Lake(create=True) as lake:
        created = catalog.init(lake)
        emit(
            {
                "catalog": mask(lake.config.catalog_url),
                "data_path": mask(lake.config.data_path),
                "created": created,
                "snapshot": lake.snapshot_id(),
            }
        )


@db_app.command("demo")
def db_demo() -> None:
    """Create a few demo experiments (one of each type) to try the dashboard on."""
    from vibes_core import catalog, demo

    with catalog.open_lake() as lake:
        emit({"created": demo.seed(lake), "snapshot": lake.snapshot_id()})


@db_app.command("list-tables")
def db_list_tables() -> None:
    """Every table in the lake with its row count."""
    from vibes_core import catalog

    with catalog.open_lake() as lake:
        emit(catalog.list_tables(lake))


@db_app.command("inspect")
def db_inspect(
    table_name: Annotated[str, typer.Option(help="table, e.g. ab_test_1 or vibes.experiments")],
    limit: Annotated[int, typer.Option(min=0, help="how many first rows to show")] = 5,
) -> None:
    """A table's schema, row count and first rows."""
    from vibes_core import catalog

    with catalog.open_lake() as lake:
        emit(catalog.inspect_table(lake, table_name, limit))


# --- experiments -----------------------------------------------------------------------


@experiments_app.command("create")
def experiments_create(
    name_arg: Annotated[str | None, typer.Argument(metavar="NAME", show_default=False)] = None,
    name: Annotated[str | None, typer.Option("--name", help="the experiment's name")] = None,
    type_name: TypeName = ...,
    display_name: Annotated[str | None, typer.Option(help="a readable title")] = None,
    initial_data_file: Annotated[
        str | None, typer.Option(help="JSON, NDJSON, CSV or Parquet file; default: stdin")
    ] = None,
    control: Annotated[
        str | None,
        typer.Option(
            "--control",
            "--reference",
            help="the group the others are compared with: the control variant, the reference "
            "cohort ("
            + ", ".join(k.name for k in registry().values() if "control" in k.summary_options)
            + "; default: the first in the initial data)",
        ),
    ] = None,
) -> None:
    """Create an experiment with its initial events."""
    from vibes_core import catalog

    name = one_name(name_arg, name)
    with catalog.open_lake() as lake:
        result = catalog.create(
            lake, name, type_name, initial_data_file, display_name, control=control
        )
    say(f"created {name} with {counted(result['events'], 'event')}")
    emit(result)


@experiments_app.command("list")
def experiments_list() -> None:
    """Every experiment as a JSON array: name, display_name, type, created_at, groups (the
    control first), options (its saved analysis options), events, last_upload."""
    from vibes_core import catalog

    with catalog.open_lake() as lake:
        listing = catalog.list_experiments(lake)
        counts = catalog.event_counts(lake)
        uploads = catalog.last_uploads(lake)
    for warning in listing.warnings:
        say(f"vibes: warning: {warning}")
    emit(
        [
            {**e.as_json(), "events": counts.get(e.name, 0), "last_upload": uploads.get(e.name)}
            for e in listing.experiments
        ]
    )


@experiments_app.command("schema")
def experiments_schema(
    type_name: TypeName,
) -> None:
    """An experiment type: its columns, statistics, prior parameters and summary fields."""
    from vibes_core.types import get_type

    emit(get_type(type_name).schema())


# The name of an experiment that exists, as NAME or --name NAME (completed from the lake).
ExistingName = Annotated[
    str | None,
    typer.Argument(metavar="NAME", show_default=False, autocompletion=experiment_names),
]
ExistingNameOption = Annotated[
    str | None,
    typer.Option("--name", help="the experiment's name", autocompletion=experiment_names),
]


@experiments_app.command("delete")
def experiments_delete(
    name_arg: ExistingName = None,
    name: ExistingNameOption = None,
) -> None:
    """Drop an experiment's table and its metadata row (earlier snapshots keep the data)."""
    from vibes_core import catalog

    name = one_name(name_arg, name)
    with catalog.open_lake() as lake:
        result = catalog.delete(lake, name)
    say(f"deleted {name} ({counted(result['events'], 'event')})")
    emit(result)


# --- events ----------------------------------------------------------------------------


@events_app.command("upload")
def events_upload(
    name_arg: ExistingName = None,
    name: ExistingNameOption = None,
    file: Annotated[
        str | None,
        typer.Option("--file", "-f", help="JSON, NDJSON, CSV or Parquet; default: stdin"),
    ] = None,
) -> None:
    """Append a batch of events: all of them in one snapshot, or none if any is bad."""
    from vibes_core import catalog

    name = one_name(name_arg, name)
    with catalog.open_lake() as lake:
        result = catalog.upload(lake, name, file)
    added = counted(result["events_added"], "event")
    say(f"uploaded {added} to {name} ({result['events']:,} in all)")
    emit(result)


# --- tables: event tables of units, that metrics are computed from --------------------------

tables_app = typer.Typer(
    help="Event tables: events of units (orders, errors, page views) that metrics read."
)
app.add_typer(tables_app, name="tables")


def table_names() -> list[str]:
    """Shell completion of an event table's name, as ``experiment_names`` completes
    experiments': the lake's event tables, never creating the lake; quiet on any failure."""
    try:
        from vibes_core import tables
        from vibes_core.config import load_config
        from vibes_core.lake import Lake

        config = load_config()
        if config.sqlite_file and not config.sqlite_file.exists():
            return []
        with Lake(config, create=False) as lake:
            return [table["name"] for table in tables.list_tables(lake).tables]
    except Exception:
        return []


TableName = Annotated[
    str,
    typer.Argument(
        metavar="NAME", help="the event table", show_default=False, autocompletion=table_names
    ),
]


@tables_app.command("upload")
def tables_upload(
    name: TableName,
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE", help="JSON, NDJSON, CSV or Parquet (gzipped or not); - for stdin"
        ),
    ] = "-",
) -> None:
    """Append events to an event table, made by its first upload: every event needs a unit
    and a timestamp; the first upload fixes the other columns and their types, and every
    later one has the same columns. All of it in one snapshot, or none if any event is bad."""
    from vibes_core import catalog, tables

    with catalog.open_lake() as lake:
        result = tables.upload(lake, name, file)
    added = counted(result["events_added"], "event")
    made = "created it with" if result["created"] else "uploaded"
    say(f"{name}: {made} {added} ({result['rows']:,} in all)")
    emit(result)


@tables_app.command("list")
def tables_list() -> None:
    """Every event table as a JSON array: name, columns (name and type: bool, int, float,
    string, timestamp), rows, last_upload."""
    from vibes_core import catalog, tables

    with catalog.open_lake() as lake:
        listing = tables.list_tables(lake)
    for warning in listing.warnings:
        say(f"vibes: warning: {warning}")
    emit(listing.tables)


@tables_app.command("delete")
def tables_delete(name: TableName) -> None:
    """Drop an event table (earlier snapshots keep the data); refused while a metric uses it."""
    from vibes_core import catalog, tables

    with catalog.open_lake() as lake:
        result = tables.delete(lake, name)
    say(f"deleted the event table {name} ({counted(result['rows'], 'event')})")
    emit(result)


# --- generate --------------------------------------------------------------------------


def add_generate_command(experiment_type) -> None:
    def generate(
        num_events: int, seed: int | None, output: Path | None, format: Format | None, **options
    ) -> None:
        import numpy as np

        from vibes_core.ingest import format_for, write_events

        table = experiment_type.generate(num_events, np.random.default_rng(seed), **options)
        write_events(table, format_for(output, format and format.value), output)

    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [
        inspect.Parameter(
            "num_events",
            keyword,
            annotation=int,
            default=typer.Option(
                ..., "--num-events", "-n", min=1, help="how many events", show_default=False
            ),
        ),
        inspect.Parameter(
            "seed",
            keyword,
            annotation=int | None,
            default=typer.Option(None, help="random seed, for the same data every time"),
        ),
        inspect.Parameter(
            "output",
            keyword,
            annotation=Path | None,
            default=typer.Option(None, "--output", "-o", help="file to write; default: stdout"),
        ),
        inspect.Parameter(
            "format",
            keyword,
            annotation=Format | None,
            default=typer.Option(None, help="default: from the output's extension, else json"),
        ),
    ]
    for option in experiment_type.generate_options:
        annotation = option.kind if option.default is not None else option.kind | None
        parameters.append(
            inspect.Parameter(
                option.name.replace("-", "_"),
                keyword,
                annotation=annotation,
                default=typer.Option(option.default, f"--{option.name}", help=plain(option.help)),
            )
        )
    generate.__signature__ = inspect.Signature(parameters)
    generate_app.command(experiment_type.name, help=plain(experiment_type.description))(generate)


def add_units_generate_command(experiment_type) -> None:
    """An experiment on units is a set of files: its assignments and event tables."""

    def generate(
        units: Annotated[int, typer.Option("--units", min=2, help="how many units")],
        output_dir: Annotated[
            Path, typer.Option("--output-dir", help="the folder to write the files into")
        ],
        seed: Annotated[int | None, typer.Option(help="random seed, for the same data")] = None,
        format: Annotated[Format, typer.Option(help="the files' format")] = Format.parquet,
        lift: Annotated[
            float, typer.Option(help="the treatment's true relative lift of purchases")
        ] = 0.05,
        error_lift: Annotated[
            float, typer.Option(help="the treatment's true relative change of errors")
        ] = 0.0,
    ) -> None:
        """Write assignments, orders and errors (with a history before exposure and a known
        lift) to try experiments on units with."""
        import numpy as np

        from vibes_core.unit_data import simulate_units, write_unit_files

        rng = np.random.default_rng(seed)
        data = simulate_units(
            units, rng, purchase_lift=lift, revenue_lift=lift, error_lift=error_lift
        )
        written = write_unit_files(data, output_dir, format.value)
        say(f"wrote {', '.join(str(path) for path in written.values())}")
        emit({name: str(path) for name, path in written.items()})

    generate_app.command(experiment_type.name, help=plain(experiment_type.description))(generate)


for _type in registry().values():
    if isinstance(_type, Scorecard):
        add_units_generate_command(_type)
    else:
        add_generate_command(_type)


# --- posterior, bandit, cache ----------------------------------------------------------


def parse_split(value: str | None) -> dict[str, float] | None:
    from vibes_core.analysis import split

    if value is None:
        return None
    try:
        return split(value)
    except VibesError as error:
        raise typer.BadParameter(str(error)) from None


def check_probability(value: float | None) -> float | None:
    if value is not None and not 0 < value < 1:
        raise typer.BadParameter(f"{value} is not between 0 and 1")
    return value


Draws = Annotated[int, typer.Option(min=10, max=1_000_000, help="draws per chain")]
Tune = Annotated[int, typer.Option(min=0, max=1_000_000, help="tuning steps per chain")]
Chains = Annotated[int, typer.Option(min=1, max=64, help="independent chains")]
Seed = Annotated[int, typer.Option(help="random seed of the sampler")]
NoCache = Annotated[bool, typer.Option("--no-cache", help="fit afresh (the fit is then cached)")]
Exact = Annotated[bool, typer.Option("--exact", help="closed form only: no sampling")]
AsOf = Annotated[int | None, typer.Option(min=0, help="use the data as of this DuckLake snapshot")]


KEEP_RUNNING_EXIT = 3  # `vibes posterior --check`: not decided yet
REJECT_EXIT = 4  # `vibes posterior --check`: the goal's choice harms a guardrail


def prior_help() -> str:
    """The prior parameters and defaults of each type, from the registry."""
    from vibes_core.units import number

    by_prior: dict[str, list[str]] = {}
    for kind in registry().values():
        shown = ", ".join(
            f"{p.name}={number(p.default) if math.isfinite(p.default) else 'from the data'}"
            for p in kind.priors
        )
        by_prior.setdefault(shown, []).append(kind.name)
    defaults = "; ".join(f"{', '.join(names)}: {shown}" for shown, names in by_prior.items())
    return (
        "the prior: name=value,... for some or all of its parameters, or all values in order "
        f"(see `vibes experiments schema`). Defaults: {defaults}. Or {LEARNED}: each treated "
        "variant's effect under the prior learned from past experiments (`vibes priors learn`)"
    )


def applies_to(option: str) -> str:
    """Which types take a summary option, from the registry."""
    return ", ".join(k.name for k in registry().values() if option in k.summary_options)


def check_prior(value: str | None) -> str | None:
    """The prior's syntax; its parameters' names, number and range depend on the type."""
    from vibes_core.types.base import parse_prior

    if value is not None and value != LEARNED:
        try:
            parse_prior(value)
        except VibesError as error:
            raise typer.BadParameter(str(error)) from None
    return value


Prior = Annotated[str | None, typer.Option(help=prior_help(), callback=check_prior)]


def likelihood_help() -> str:
    """The types that offer several likelihoods, and theirs (the default first), from the
    registry."""
    offered = "; ".join(
        f"{kind.name}: {kind.likelihoods[0]} (the default), {', '.join(kind.likelihoods[1:])}"
        for kind in registry().values()
        if len(kind.likelihoods) > 1
    )
    return (
        "the likelihood, the family of the data, for a type that offers several "
        f"({offered or 'none does'}; `vibes experiments schema` describes each)"
    )


Likelihood = Annotated[str | None, typer.Option(help=likelihood_help(), show_default=False)]
# The analysis options (vibes_core.analysis): for one answer (`posterior`), or saved with the
# experiment (`experiments options`).
HdiProb = Annotated[
    float | None,
    typer.Option(min=0.5, max=0.999, help="probability inside each HDI  [default: 0.94]"),
]
Threshold = Annotated[
    float | None,
    typer.Option(help=f"report P(quantity > threshold) ({applies_to('threshold')})"),
]
Control = Annotated[
    str | None,
    typer.Option(
        "--control",
        "--reference",
        help="the group the others are compared with: the control variant, the reference "
        f"cohort ({applies_to('control')}; default: the first)",
    ),
]
Split = Annotated[
    str | None,
    typer.Option(help=f"intended split for the SRM check, e.g. A=50,B=50 ({applies_to('split')})"),
]
MaxLoss = Annotated[
    float | None,
    typer.Option(
        min=0.0,
        max=1.0,
        help="verdict: choose only when the expected loss is below this share of the "
        f"control's mean [default: {verdict.MAX_LOSS}]",
    ),
]
Rope = Annotated[
    float | None,
    typer.Option(
        min=0.0,
        max=1.0,
        help="verdict: groups within this share of the control are the same "
        f"[default: {verdict.ROPE}]",
    ),
]


def given_options(threshold, control, split, max_loss, rope) -> dict:
    """The summary options given on the command line, checked and parsed."""
    options = {
        "threshold": check_probability(threshold),
        "control": control,
        "split": parse_split(split),
        "max_loss": max_loss,
        "rope": rope,
    }
    return {key: value for key, value in options.items() if value is not None}


def fit(
    name: str, exact: bool, as_of: int | None, no_cache: bool, settings, plots: bool = False
) -> "Summary":
    from concurrent.futures import ThreadPoolExecutor

    from vibes_core import catalog

    # DuckDB opens the lake (native code, GIL released) while Python imports what every
    # summary needs: on two cores the two overlap.
    with ThreadPoolExecutor(1) as pool:
        opening = pool.submit(catalog.open_lake)
        import scipy.special  # noqa: F401

        from vibes_core import inference
    with opening.result() as lake:
        experiment = catalog.get(lake, name)
        saved = experiment.analysis.as_json()
        if saved:
            shown = ", ".join(f"{key} {value}" for key, value in saved.items())
            say(f"vibes: note: {name}'s saved options (an option given overrides): {shown}")
        return inference.posterior(
            lake,
            experiment,
            settings,
            exact=exact,
            as_of=as_of,
            use_cache=not no_cache,
            progress=sys.stderr.isatty(),
            plots=plots,
        )


# --- metrics: definitions over event tables, and the roles experiments give them ----------
metrics_app = typer.Typer(help="Metrics over event tables, for experiments on units.")
app.add_typer(metrics_app, name="metrics")


def metric_names() -> list[str]:
    """Completion: the metrics defined (none if the lake cannot be read)."""
    try:
        from vibes_core import catalog, metrics

        with catalog.open_lake() as lake:
            return [m.name for m in metrics.list_metrics(lake).metrics]
    except Exception:
        return []


MetricName = Annotated[
    str, typer.Argument(help="the metric", show_default=False, autocompletion=metric_names)
]


@metrics_app.command("create")
def metrics_create(
    name: Annotated[str, typer.Argument(help="the metric's name", show_default=False)],
    table: Annotated[
        str, typer.Option("--table", help="the event table it reads", show_default=False)
    ],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="proportion (units with an event), count (events per unit), mean (a value "
            "summed per unit) or ratio (sum of --value over sum of --denominator)",
            show_default=False,
        ),
    ],
    value: Annotated[
        str | None,
        typer.Option("--value", help="mean, ratio: the value summed per unit, an expression"),
    ] = None,
    denominator: Annotated[
        str | None, typer.Option("--denominator", help="ratio: the denominator, an expression")
    ] = None,
    where: Annotated[
        str | None,
        typer.Option("--where", help="which events count, a condition (e.g. \"status = 'paid'\")"),
    ] = None,
    window: Annotated[
        str | None,
        typer.Option(
            "--window",
            help="how long after a unit's exposure its events count: 7d, 36h (default: all)",
        ),
    ] = None,
    cap: Annotated[
        float | None, typer.Option("--cap", help="mean: each unit's sum capped at this (whales)")
    ] = None,
    lower_is_better: Annotated[
        bool,
        typer.Option("--lower-is-better", help="smaller is better (errors, latency, refunds)"),
    ] = False,
    pre_window: Annotated[
        str | None,
        typer.Option(
            "--pre-window",
            help="how long before exposure the same metric is the covariate that reduces its "
            "variance (CUPED): 28d, 0 for none (default: 14d; ratio metrics: none)",
        ),
    ] = None,
) -> None:
    """Define a metric; its expressions are checked, and run once on the table."""
    from vibes_core import catalog, metrics

    with catalog.open_lake() as lake:
        result = metrics.create(
            lake,
            name,
            table,
            kind,
            value=value,
            denominator=denominator,
            where=where,
            window=window,
            cap=cap,
            lower_is_better=lower_is_better,
            pre_window=pre_window,
        )
    say(f"created the metric {name} ({kind} over {table})")
    emit(result)


@metrics_app.command("list")
def metrics_list() -> None:
    """Every metric, and the experiments that use it."""
    from vibes_core import catalog, metrics

    with catalog.open_lake() as lake:
        found = metrics.list_metrics(lake)
        used = {m.name: catalog.experiments_using(lake.con, m.name) for m in found.metrics}
    for warning in found.warnings:
        say(f"vibes: warning: {warning}")
    emit([{**m.as_json(), "used_by": used[m.name]} for m in found.metrics])


@metrics_app.command("show")
def metrics_show(name: MetricName) -> None:
    """One metric's definition, and the experiments that use it."""
    from vibes_core import catalog, metrics

    with catalog.open_lake() as lake:
        metric = metrics.get(lake, name)
        emit({**metric.as_json(), "used_by": catalog.experiments_using(lake.con, name)})


@metrics_app.command("delete")
def metrics_delete(name: MetricName) -> None:
    """Delete a metric's definition (refused while an experiment uses it)."""
    from vibes_core import catalog, metrics

    with catalog.open_lake() as lake:
        result = metrics.delete(lake, name, catalog.experiments_using)
    say(f"deleted the metric {name}")
    emit(result)


# --- priors: what effects are usually like, learned from the lake's past experiments ------
priors_app = typer.Typer(help="Priors of effects learned from the lake's past experiments.")
app.add_typer(priors_app, name="priors")
AsJson = Annotated[bool, typer.Option("--json", help="JSON on stdout instead of words")]
PriorType = Annotated[
    str | None,
    typer.Option(
        "--type",
        help="the experiments of this type",
        autocompletion=type_names,
        show_default=False,
    ),
]
PriorMetric = Annotated[
    str | None,
    typer.Option(
        "--metric",
        help="the experiments on units with this metric",
        autocompletion=metric_names,
        show_default=False,
    ),
]


def learned_target(lake, type_name: str | None, metric: str | None):
    from vibes_core import learned

    if (type_name is None) == (metric is None):
        raise Usage("give one of --type T and --metric M: what the prior is learned for")
    return learned.target_of(lake, "type" if metric is None else "metric", type_name or metric)


def print_learned(found: dict) -> None:
    """A learned prior in words, on stdout."""
    from vibes_core.effects import EffectPrior
    from vibes_core.text import printable

    target = "type" if "type" in found else "metric"
    prior = EffectPrior(found["pi"], found["mu"], found["tau"], found["tail"])
    lines = [
        f"{target} {found[target]}: learned at snapshot {found['snapshot']} "
        f"({found['learned_at']}) from {found['experiments']} experiments, "
        f"{found['variants']} treated variants",
        f"  {prior.words()}",
        f"  pi {found['pi']:.3g}, mu {found['mu']:.3g}, tau {found['tau']:.3g}, "
        f"tail {found['tail']}: {found['why']}",
        f"  from: {', '.join(found['learned_from'])}",
    ]
    print("\n".join(printable(line) for line in lines))


@priors_app.command("learn")
def priors_learn(
    type_name: PriorType = None, metric: PriorMetric = None, as_json: AsJson = False
) -> None:
    """Fit the distribution of effects to past experiments' estimates, and keep it in the lake
    (it replaces the one learned before)."""
    from vibes_core import catalog, learning

    with catalog.open_lake() as lake:
        target = learned_target(lake, type_name, metric)
        found = learning.learn(lake, target, lambda line: say(f"vibes: warning: {line}"))
    say(f"learned a prior for {target.by} {target.name} from {len(found.experiments)} experiments")
    show_learned([found.as_json()], as_json)


def show_learned(found: list[dict], as_json: bool, one: bool = True) -> None:
    """Learned priors on stdout: JSON (one object, or a list), or in words."""
    if as_json:
        emit(found[0] if one else found)
        return
    for item in found:
        print_learned(item)


@priors_app.command("list")
def priors_list(as_json: AsJson = False) -> None:
    """Every learned prior."""
    from vibes_core import catalog, learned

    with catalog.open_lake() as lake:
        found, warnings = learned.list_learned(lake)
    for warning in warnings:
        say(f"vibes: warning: {warning}")
    if not found and not as_json:
        say("no prior learned yet: `vibes priors learn --type T` (or --metric M) learns one")
    show_learned([item.as_json() for item in found], as_json, one=False)


@priors_app.command("show")
def priors_show(
    type_name: PriorType = None, metric: PriorMetric = None, as_json: AsJson = False
) -> None:
    """The prior learned for a type or a metric, and the experiments it was learned from."""
    from vibes_core import catalog, learned

    with catalog.open_lake() as lake:
        found = learned.get(lake, learned_target(lake, type_name, metric)).as_json()
    show_learned([found], as_json)


@experiments_app.command("metrics")
def experiments_metrics(
    name: Annotated[
        str,
        typer.Argument(help="the experiment", show_default=False, autocompletion=experiment_names),
    ],
    goal: Annotated[
        str | None, typer.Option("--goal", help="the metric its verdict is on (one)")
    ] = None,
    guardrail: Annotated[
        list[str] | None,
        typer.Option(
            "--guardrail",
            help="a metric that must not get worse: NAME or NAME:MARGIN (5% may be lost); "
            "repeat for several",
        ),
    ] = None,
    secondary: Annotated[
        list[str] | None,
        typer.Option("--secondary", help="a metric reported beside, never in the verdict"),
    ] = None,
) -> None:
    """The metrics of an experiment on units in their roles (JSON); given roles replace them."""
    from vibes_core import catalog, metrics
    from vibes_core.capabilities import Scorecard
    from vibes_core.types import get_type

    with catalog.open_lake() as lake:
        experiment = catalog.get(lake, name)
        if not isinstance(get_type(experiment.type), Scorecard):
            raise VibesError(
                f"{name} is a {experiment.type} experiment: metrics are for experiments on "
                "units (--type assignments)"
            )
        if goal is not None or guardrail or secondary:
            roles = metrics.roles_of(goal, guardrail or [], secondary or [])
            catalog.save_metrics(lake, name, roles, metrics.names)
            experiment = catalog.get(lake, name)
            say(f"{name} is judged on {', '.join(r.metric for r in roles)}")
    for problem in experiment.problems:
        say(f"vibes: warning: {name}: {problem}")
    emit([role.as_json() for role in experiment.metrics])


@app.command()
def posterior(
    name: Annotated[
        str,
        typer.Argument(help="the experiment", show_default=False, autocompletion=experiment_names),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="the same as --format json")] = False,
    shown: Annotated[
        Shown | None,
        typer.Option(
            "--format",
            help="table (for people), json (everything), csv (one row per group, and per "
            "segment with --by) or markdown (the table and the decision, for a pull request "
            "or a chat)  [default: table]",
            show_default=False,
        ),
    ] = None,
    draws: Draws = 1000,
    tune: Tune = 1000,
    chains: Chains = 4,
    seed: Seed = 1,
    no_cache: NoCache = False,
    exact: Exact = False,
    pooled: Annotated[
        bool,
        typer.Option(
            "--pooled",
            help="partial pooling: each group's estimate borrows strength from the others "
            "(the type's hierarchical model, MCMC only; --prior then sets its hyperpriors)",
        ),
    ] = False,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="break the result down by a segment column: each segment's uplift, each "
            "variant's effect partially pooled across segments, and the overall effect "
            "(ab-test, revenue; MCMC only; --prior then sets its priors)",
        ),
    ] = None,
    as_of_version: AsOf = None,
    prior: Prior = None,
    likelihood: Likelihood = None,
    hdi_prob: HdiProb = None,
    threshold: Threshold = None,
    control: Control = None,
    split: Split = None,
    max_loss: MaxLoss = None,
    rope: Rope = None,
    plot: Annotated[
        bool,
        typer.Option(
            "--plot",
            help="draw the plots below the table (densities, or a row per group from seven "
            "groups) when stdout is a terminal",
        ),
    ] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help=f"exit {KEEP_RUNNING_EXIT} when the verdict is keep-running, {REJECT_EXIT} when "
            "it is reject (0 for choose or no-difference): a gate for CI jobs and crons",
        ),
    ] = False,
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric",
            help="an experiment on units: that metric's summary alone (with --exact)",
            autocompletion=metric_names,
        ),
    ] = None,
    no_adjust: Annotated[
        bool,
        typer.Option(
            "--no-adjust",
            help="an experiment on units: leave its metrics unadjusted for what units did "
            "before exposure (CUPED is on by default)",
        ),
    ] = False,
) -> None:
    """The posterior of an experiment: estimates, HDIs, the verdict in one sentence."""
    from vibes_core.inference import Settings
    from vibes_core.models import chosen

    if as_json and shown not in (None, Shown.json):
        raise typer.BadParameter(f"--json and --format {shown} ask for two formats: give one")
    shown = Shown.json if as_json else shown or Shown.table
    if plot and shown != Shown.table:
        raise typer.BadParameter(f"--plot draws below the table, not --format {shown}: give one")
    plot = plot and terminal_for_plots()

    settings = Settings(
        draws=draws,
        tune=tune,
        chains=chains,
        seed=seed,
        prior=None if prior == LEARNED else prior,
        effect_prior=LEARNED if prior == LEARNED else None,
        model=chosen(pooled, by),
        likelihood=likelihood,
        hdi_prob=hdi_prob,
        options=given_options(threshold, control, split, max_loss, rope),
        metric=metric,
        adjust=not no_adjust,
    )
    summary = fit(name, exact, as_of_version, no_cache, settings, plots=plot)
    for warning in summary["warnings"]:
        say(f"vibes: warning: {warning}")
    if shown == Shown.json:
        emit(summary)
    else:
        from vibes_tui import report

        printer = {
            Shown.table: report.print_summary,
            Shown.csv: report.print_csv,
            Shown.markdown: report.print_markdown,
        }
        printer[shown](summary)
        if plot and summary.get("plots"):
            width = shutil.get_terminal_size().columns
            report.print_plots(summary["plots"], width, colour="NO_COLOR" not in os.environ)
    exits = {verdict.KEEP_RUNNING: KEEP_RUNNING_EXIT, "reject": REJECT_EXIT}
    if check and summary["verdict"]["action"] in exits:
        raise typer.Exit(exits[summary["verdict"]["action"]])


@app.command()
def plan(
    name: Annotated[
        str | None,
        typer.Argument(
            help="an experiment: plan the next one like it (its control's baseline and sd, its "
            "pace, variants and split; an experiment on units: its goal metric)",
            show_default=False,
            autocompletion=experiment_names,
        ),
    ] = None,
    mde: Annotated[
        str | None,
        typer.Option(
            help="the minimum detectable effect: the smallest lift worth finding, relative to "
            "the control's baseline (5% or 0.05)",
            show_default=False,
        ),
    ] = None,
    power: Annotated[str, typer.Option(help="the probability of finding it (0.8 or 80%)")] = "0.8",
    split: Annotated[
        str | None,
        typer.Option(
            help="the traffic's split, the control's first: 50,50 or A=50,B=50 (default: the "
            "experiment's saved split, else even)",
            show_default=False,
        ),
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric",
            help="plan an experiment on units judged on this metric, from its event table's "
            "last 28 days (units a day, baseline, sd, CUPED's expected reduction)",
            autocompletion=metric_names,
            show_default=False,
        ),
    ] = None,
    type_name: Annotated[
        str | None,
        typer.Option(
            "--type",
            help=f"plan from numbers alone (--baseline, --units-per-day): {', '.join(TYPE_NAMES)}",
            autocompletion=type_names,
            show_default=False,
        ),
    ] = None,
    likelihood: Likelihood = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            help="with --type: the control's quantity (10% for a conversion rate, 2.5 for a "
            "value per user)",
            show_default=False,
        ),
    ] = None,
    sd: Annotated[
        float | None,
        typer.Option(
            help="with --type, for a quantity that is not a share: the sd of one unit's value",
            show_default=False,
        ),
    ] = None,
    units_per_day: Annotated[
        float | None,
        typer.Option(
            help="units a day of all variants together (required with --type; else it "
            "replaces the pace read from the data)",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the answer as JSON")] = False,
    plot: Annotated[
        bool,
        typer.Option(
            "--plot",
            help="draw P(choose) against days below the table when stdout is a terminal",
        ),
    ] = False,
    prior: Annotated[
        str | None,
        typer.Option(
            "--prior",
            help=f"{LEARNED}: analysed under the prior of effects learned for its type or metric "
            "(`vibes priors learn`), and planned also for effects drawn from it",
            show_default=False,
        ),
    ] = None,
) -> None:
    """How many units per variant and days an experiment needs to find a lift of --mde: a
    z-test's sample size, and P(vibes' verdict rule chooses the better variant) by each day."""
    from vibes_core import plan as planning

    sources = [given for given in (name, metric, type_name) if given is not None]
    if len(sources) != 1:
        raise Usage(
            "give one of: an experiment's NAME, --metric M (an experiment on units not started "
            "yet) or --type T with --baseline and --units-per-day (numbers alone)"
        )
    if type_name is None and (baseline is not None or sd is not None):
        raise Usage("--baseline and --sd are for a plan from numbers (--type): the data gives them")
    if metric is not None and likelihood is not None:
        raise Usage("--likelihood does not apply to a metric: its kind decides")
    if mde is None:
        raise Usage("missing --mde: the smallest relative lift worth finding, e.g. --mde 5%")
    if as_json and plot:
        raise Usage("--plot draws below the table, not with --json: give one")
    if prior not in (None, LEARNED):
        raise Usage(f"--prior of a plan is {LEARNED} (or left out: the type's default)")
    effect = planning.parse_share(mde, "mde")
    chance = planning.parse_share(power, "power")
    planning.check(effect, chance)
    if type_name is not None:
        level = None if baseline is None else planning.parse_share(baseline, "baseline")
        design = planning.from_numbers(type_name, level, units_per_day, sd, split, likelihood)
    if type_name is None or prior is not None:
        from vibes_core import catalog

        with catalog.open_lake() as lake:
            if metric is not None:
                design = planning.from_metric(lake, metric, units_per_day, split)
            elif name is not None:
                design = planning.from_experiment(lake, name, units_per_day, split, likelihood)
            if prior is not None:
                design = planning.with_learned(lake, design)
    answer = planning.plan(design, effect, chance)
    if as_json:
        emit(answer)
        return
    from vibes_tui import report

    report.print_plan(answer, design.kind.unit)
    if plot and terminal_for_plots():
        width = shutil.get_terminal_size().columns
        colour = "NO_COLOR" not in os.environ
        report.print_plots([planning.plot_spec(answer)], width, colour=colour)


@experiments_app.command("options")
def experiments_options(
    name: Annotated[
        str,
        typer.Argument(help="the experiment", show_default=False, autocompletion=experiment_names),
    ],
    reset: Annotated[
        bool,
        typer.Option(
            "--reset", help="clear the saved options (with options given: save only those)"
        ),
    ] = False,
    prior: Prior = None,
    likelihood: Likelihood = None,
    hdi_prob: HdiProb = None,
    threshold: Threshold = None,
    control: Control = None,
    split: Split = None,
    max_loss: MaxLoss = None,
    rope: Rope = None,
) -> None:
    """The analysis options saved with an experiment, as JSON. Options given are checked as
    a posterior would meet them and saved (the others saved stay, unless --reset): `vibes
    posterior`, the dashboard and notebooks then answer with them, as set with `o` there."""
    from vibes_core import catalog
    from vibes_core.analysis import Analysis

    options = given_options(threshold, control, split, max_loss, rope)
    given = Analysis(prior=prior, likelihood=likelihood, hdi_prob=hdi_prob, **options)
    with catalog.open_lake() as lake:
        experiment = catalog.get(lake, name)
        if not reset and not given.as_json():
            for problem in experiment.problems:
                say(f"vibes: warning: {name}: {problem}")
            emit(experiment.analysis.as_json())
            return
        saved = given if reset else given.over(experiment.analysis)
        if given.as_json():  # its answer says what of the row was left out
            from dataclasses import replace

            from vibes_core import inference

            # Checked with the likelihood they will be used with; a likelihood given, with the
            # prior it will be used with.
            prior = saved.prior if given.likelihood else given.prior
            checked = replace(given, likelihood=saved.likelihood, prior=prior)
            inference.check_analysis(lake, experiment, checked)
        catalog.save_analysis(lake, name, saved)
    shown = ", ".join(f"{key} {value}" for key, value in saved.as_json().items())
    say(f"saved the options of {name}: {shown}" if shown else f"cleared the options of {name}")
    emit(saved.as_json())


def terminal_for_plots() -> bool:
    """Plots are drawn for a person at a terminal; in a pipe they would be noise."""
    if sys.stdout.isatty():
        return True
    say("vibes: note: --plot draws only on a terminal, and stdout is not one: no plots")
    return False


bandit_app = typer.Typer(help="Multi-armed bandits: what to do next.")
app.add_typer(bandit_app, name="bandit")


@bandit_app.command("allocate")
def bandit_allocate(
    name: Annotated[
        str,
        typer.Argument(help="a multi-armed-bandits experiment", autocompletion=experiment_names),
    ],
    draws: Draws = 1000,
    tune: Tune = 1000,
    chains: Chains = 4,
    seed: Seed = 1,
    no_cache: NoCache = False,
    exact: Exact = False,
) -> None:
    """Traffic shares for the next batch: Thompson sampling with a floor (JSON: arm -> share)."""
    from vibes_core.errors import VibesError
    from vibes_core.inference import Settings

    summary = fit(
        name, exact, None, no_cache, Settings(draws=draws, tune=tune, chains=chains, seed=seed)
    )
    if "allocation" not in summary:
        raise VibesError(f"{name} is a {summary['type']} experiment, which allocates no traffic")
    for warning in summary["warnings"]:
        say(f"vibes: warning: {warning}")
    emit(summary["allocation"])


cache_app = typer.Typer(help="The MLflow cache of fitted posteriors.")
app.add_typer(cache_app, name="cache")


@cache_app.command("list")
def cache_list(
    name: Annotated[
        str | None,
        typer.Argument(help="only this experiment's fits", autocompletion=experiment_names),
    ] = None,
) -> None:
    """Cached fits: key, experiment, snapshot, when, seconds each hit saves."""
    from vibes_core.cache import Cache, CacheError
    from vibes_core.config import load_config

    try:
        emit(Cache(load_config()).entries(validated(name) if name else None))
    except CacheError as error:
        raise VibesError(str(error)) from error


@cache_app.command("clear")
def cache_clear(
    name: Annotated[str, typer.Argument(help="the experiment", autocompletion=experiment_names)],
) -> None:
    """Delete every cached fit of one experiment; others keep theirs."""
    from vibes_core.cache import Cache, CacheError
    from vibes_core.config import load_config

    try:
        deleted = Cache(load_config()).clear(validated(name))
    except CacheError as error:
        raise VibesError(str(error)) from error
    say(f"deleted {deleted} cached fit(s) of {name}")
    emit({"experiment": name, "deleted": deleted})


config_app = typer.Typer(help="Where the lake and the cache live, and whether they answer.")
app.add_typer(config_app, name="config")


@config_app.command("show")
def config_show() -> None:
    """The effective settings, where each comes from, every secret masked."""
    from vibes_core.config import KEYS, config_file, load_config, mask, shown

    config = load_config()
    settings = {
        key: {"value": shown(key, config.settings[key][0]), "source": config.settings[key][1]}
        for key in KEYS
        if key in config.settings
    }
    emit(
        {
            "config_file": str(config.file or config_file(os.environ)),
            "config_file_found": config.file is not None,
            "settings": settings,
            "effective": {
                "home": mask(str(config.home)),
                "catalog": mask(config.catalog_url),
                "data_path": mask(config.data_path),
                "mlflow_tracking_uri": mask(config.mlflow_tracking_uri),
                "mlflow_artifact_location": config.mlflow_artifact_location
                and mask(config.mlflow_artifact_location),
            },
        }
    )


@config_app.command("check")
def config_check() -> None:
    """Connect to each service (catalog, data, MLflow, its artifacts): OK or what is wrong.
    Exits 1 if any fails."""
    from vibes_core.check import check
    from vibes_core.config import load_config

    results = check(load_config())
    for result in results:
        verdict = "NOTE" if result["note"] else "OK  " if result["ok"] else "FAIL"
        say(f"{result['service']:<17} {verdict} {result['detail']}")
    emit(results)
    if not all(result["ok"] for result in results):
        raise typer.Exit(1)


def validated(name: str) -> str:
    from vibes_core.catalog import validate_name

    return validate_name(name)


# --- entry point -----------------------------------------------------------------------


INTERRUPTED_EXIT = 130  # 128 + SIGINT, as shells report it


def interrupted() -> int:
    from vibes_core.config import COMMITTED

    if COMMITTED.is_set():  # Ctrl-C came after the write: it is in the lake, whole
        say("vibes: interrupted after its write had been committed (nothing is missing)")
    else:
        say("vibes: interrupted (a write not yet committed was rolled back)")
    return INTERRUPTED_EXIT


def on_ctrl_c(signum, frame) -> None:
    """Note Ctrl-C where the lake looks before committing (DuckDB may swallow the
    KeyboardInterrupt of a query it runs, and go on), then interrupt as Python does, unless a
    commit is being noted (it raises when that is done)."""
    from vibes_core.config import HOLDING, INTERRUPTED

    INTERRUPTED.set()
    if not HOLDING.is_set():
        raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every error becomes one line on stderr and an exit code (1, or 2 for usage,
    130 for Ctrl-C)."""
    import signal

    from vibes_core.config import COMMITTED, INTERRUPTED

    INTERRUPTED.clear()
    COMMITTED.clear()
    if threading.current_thread() is not threading.main_thread():  # signals are the main's
        return run(argv)
    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        return run(argv)
    finally:
        signal.signal(signal.SIGINT, previous)


def run(argv: list[str] | None) -> int:
    from vibes_core.config import INTERRUPTED

    command = typer.main.get_command(app)
    try:
        # Without standalone mode, click returns the code of a typer.Exit instead of raising.
        code = command.main(args=argv, prog_name="vibes", standalone_mode=False)
        sys.stdout.flush()  # a full disk or a closed pipe shows here, not at exit
        if INTERRUPTED.is_set():  # Typer turns Ctrl-C into exit code 130, silently
            return interrupted()
        if isinstance(code, int):
            return code
    except typer.Exit as done:
        return done.exit_code
    except Usage as error:
        say(f"vibes: usage error: {error}")
        return 2
    except typer.TyperException as error:  # click's errors, usage ones with exit code 2
        code, message = getattr(error, "exit_code", 1), first_line(error)
        if hasattr(error, "format_message"):
            message = error.format_message()
        if code == 2:
            ctx = getattr(error, "ctx", None)
            hint = f"; see `{ctx.command_path} --help`" if ctx else ""
            say(f"vibes: usage error: {message.rstrip('.')}{hint}")
        else:
            say(f"vibes: error: {message}")
        return code
    except (typer.Abort, KeyboardInterrupt):
        return interrupted()
    except VibesError as error:
        if INTERRUPTED.is_set():  # e.g. a query DuckDB interrupted, reported as bad input
            return interrupted()
        say(f"vibes: error: {mask(error.words(flag))}")  # the core's words, with our flags
        return 1
    except BrokenPipeError:
        # The reader of our stdout went away (e.g. `| head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:
        if error.errno not in FILE_FAULTS:
            return unexpected(error)
        # A file or our output that cannot be written: the disk is full, read-only or not ours.
        say(
            f"vibes: error: {error.filename or 'the output'}: {error.strerror}; "
            f"{FILE_FAULTS[error.errno]}"
        )
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second try at exit
        return 1
    except Exception as error:
        if INTERRUPTED.is_set():  # DuckDB's own InterruptException, for one
            return interrupted()
        return unexpected(error)
    return 0


# Faults of the machine, not of vibes, in writing a file -> what to do.
FILE_FAULTS = {
    errno.ENOSPC: "free some space and try again",
    errno.EDQUOT: "free some space and try again",
    errno.EFBIG: "the file size limit (ulimit -f) is reached",
    errno.EROFS: "the file system is read-only: write somewhere else",
    errno.EACCES: "check the permissions of the file and its directory",
    errno.EPERM: "check the permissions of the file and its directory",
}


def unexpected(error: Exception) -> int:
    if os.environ.get("VIBES_DEBUG"):
        raise error
    detail = mask(first_line(error))
    say(f"vibes: unexpected error: {detail} (set VIBES_DEBUG=1 to see where; please report it)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
