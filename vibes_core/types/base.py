"""The contract every experiment type fulfils; a type is one module that defines ``TYPE``.

A type says, in its own module, everything the rest of the program needs: its columns and a
generator of realistic events, its sufficient statistics (one Ibis expression, named columns
per group), its priors, its PyMC model, optionally an exact posterior, its quantity and unit,
and what its summary adds to the shared one (vibes_core.summary). Nothing outside
``vibes_core/types`` names a type; the registry (``vibes_core.types.registry``) collects them.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from vibes_core.capabilities import MAX_SEGMENTS, ExactPosterior, Poolable, Segmentable
from vibes_core.errors import InvalidOption, VibesError, option
from vibes_core.names import quoted
from vibes_core.stats import Stats
from vibes_core.units import PROBABILITY, Unit

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import numpy as np
    import pyarrow as pa
    import pymc as pm

    from vibes_core.posterior import Estimate

Kind = Literal["bool", "string", "int", "float", "timestamp"]

SQL_TYPES: dict[str, str] = {
    "bool": "BOOLEAN",
    "string": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "timestamp": "TIMESTAMP",
}
# How `experiments schema` names the kinds for people writing input files.
KIND_NAMES: dict[str, str] = {
    "bool": "boolean",
    "string": "string",
    "int": "integer",
    "float": "number",
    "timestamp": "timestamp (ISO 8601, UTC unless an offset is given)",
}
# Counts per group (trials, successes, events): scipy's inverse incomplete beta function drifts
# from 1e13 on (the median off by 0.1 sd at 1e15), so larger counts are refused, not misreported.
MAX_COUNT = 1e12


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    meaning: str
    required: bool = True
    default: float | None = None  # used when the column or a value is missing
    check: Literal["non_negative", "positive"] | None = None


TIMESTAMP = Column(
    "timestamp", "timestamp", "when the event happened; missing means the upload time", False
)
# What a type's results can be broken down by (it names it in ``segment_columns``).
SEGMENT = Column(
    "segment", "string", "the user's segment (country, platform, ...); missing means none", False
)


@dataclass(frozen=True)
class Statistic:
    """A named column of the sufficient statistics, one value per group. Values above
    ``limit`` are refused (math.inf: only a sum that overflowed is)."""

    name: str
    meaning: str
    limit: float = MAX_COUNT


@dataclass(frozen=True)
class Prior:
    """One parameter of a type's prior. A parameter that counts pseudo-observations admits
    1e-6 (the vaguest priors in use, Beta(0.01, 0.01), with room to spare) to a million
    (stronger than any data-free belief, still exact in floating point): at 1e-300 every draw
    is 0 and the density a spike no float holds."""

    name: str
    default: float  # NaN: computed from the data by the type's ``from_data``
    meaning: str
    low: float = 1e-6
    high: float = 1e6


@dataclass(frozen=True)
class Field:
    """A key a type adds to its summary: to each group's row, or to the summary itself.
    ``column``: its title in the CLI's and the dashboard's table (None: not shown there);
    ``unit``: how a number or an interval in it is written; ``brief``: an interval is shown
    by its mean alone there."""

    name: str
    meaning: str
    per_group: bool = True
    column: str | None = None
    unit: Unit = PROBABILITY
    brief: bool = False


@dataclass(frozen=True)
class GenerateOption:
    name: str  # becomes --name on the command line
    kind: type
    default: Any
    help: str
    names_groups: bool = False  # its comma-separated names are the groups, the control first


SEGMENTS = GenerateOption(
    "segments", str, None, "segment names, the largest first (default: no segment column)"
)


@dataclass(frozen=True)
class Demo:
    """A demo experiment of this type (vibes db demo): its first batch, then later ones."""

    name: str
    display_name: str
    events: int
    options: dict
    later: tuple[int, ...] = ()


class ExperimentType:
    """Subclass once per module, fill in the class attributes, and set ``TYPE = Subclass()``.
    A family (vibes_core.families) fills in the statistics, priors, model and exact posterior
    that several types share."""

    name: ClassVar[str]
    description: ClassVar[str]
    columns: ClassVar[tuple[Column, ...]]  # including TIMESTAMP
    group_column: ClassVar[str | None] = None  # variant / arm / cohort
    segment_columns: ClassVar[tuple[str, ...]] = ()  # a breakdown may group by these too
    min_groups: ClassVar[int] = 1  # distinct groups the initial data must have
    generate_options: ClassVar[tuple[GenerateOption, ...]] = ()
    demos: ClassVar[tuple[Demo, ...]] = ()

    # --- statistics, priors, model ---------------------------------------------------------
    statistics: ClassVar[tuple[Statistic, ...]]
    size: ClassVar[str]  # the statistic that is 0 for a group without data
    events: ClassVar[str]  # the statistic that counts its rows (events), for how long to run
    counts: ClassVar[tuple[str, str, str]]  # a table's title, numerator and denominator
    priors: ClassVar[tuple[Prior, ...]]
    parameter: ClassVar[str] = ""  # the model variable that is the quantity (if one is)
    model_summary: ClassVar[str] = ""  # the model in one line, for `experiments schema`
    target_accept: ClassVar[float] = 0.9
    model_version: ClassVar[int] = 1  # bump when the model changes: cached fits then miss

    # --- what the numbers are ---------------------------------------------------------------
    quantity: ClassVar[str] = "parameter"  # what each group's mean is: "conversion rate"
    unit: ClassVar[Unit] = PROBABILITY
    leads: ClassVar[str] = "is best"  # said of the group with the largest quantity
    higher_is_better: ClassVar[bool] = True  # False: the best group has the smallest
    counted: ClassVar[str] = "events"  # what `events_needed` counts, in a sentence
    chosen: ClassVar[str] = "Choose {name}"  # the verdict that names one
    baseline: ClassVar[str] = "control"  # what the group the others are compared with is called
    # The options its summary takes; "control": it has one, and uplifts over it ("threshold",
    # "split", ...: what its ``extend`` reads).
    summary_options: ClassVar[tuple[str, ...]] = ()
    fields: ClassVar[tuple[Field, ...]] = ()  # what this type adds to the summary
    table_hides: ClassVar[tuple[str, ...]] = ()  # shared columns its table leaves out

    # --- likelihoods: the family of the data, when a type offers several ---------------------
    # The names it offers, its default first (empty: it has one); `--likelihood NAME`.
    likelihoods: ClassVar[tuple[str, ...]] = ()
    # The one this object analyses with when it is not its type's default (None: the default),
    # and how a title says it ("unit mean": "revenue, unit mean").
    likelihood: ClassVar[str | None] = None
    likelihood_title: ClassVar[str] = ""

    def with_likelihood(self, name: str | None) -> "ExperimentType":
        """The type object that analyses with the likelihood ``name``: this one for None or its
        own (the default's name for the default), another of ``likelihoods`` through
        ``likelihood_type``; any other name is an InvalidOption saying which there are."""
        own = self.likelihood or (self.likelihoods[0] if self.likelihoods else None)
        if name is None or name == own:
            return self
        if name not in self.likelihoods:
            if not self.likelihoods:
                raise InvalidOption(
                    f"{option('likelihood')} {quoted(name)}: {self.name} experiments have one "
                    f"likelihood; leave out {option('likelihood')}"
                )
            default, *others = self.likelihoods
            raise InvalidOption(
                f"{option('likelihood')} {quoted(name)} is not a likelihood of {self.name} "
                "experiments: "
                f"choose {default} (the default) or {', '.join(others)}"
            )
        return self.likelihood_type(name)

    def likelihood_type(self, name: str) -> "ExperimentType":
        """The type object of another of its ``likelihoods`` (a type offering several)."""
        raise NotImplementedError

    def with_which(self) -> str:
        """Said after what it has or has not, of a likelihood not the default: " with
        --likelihood mean" (in the CLI's words); else nothing."""
        return f" with {option('likelihood')} {self.likelihood}" if self.likelihood else ""

    def titled(self) -> str:
        """Its name, and its likelihood when it is not the default: "revenue, unit mean"."""
        return f"{self.name}, {self.likelihood_title}" if self.likelihood else self.name

    def for_summary(self, summary: dict) -> "ExperimentType":
        """The type object that made ``summary`` (this one; a scorecard's metric's kind)."""
        return self

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    # What it can do beyond this contract is declared (vibes_core.capabilities).
    @property
    def has_exact(self) -> bool:
        return isinstance(self, ExactPosterior)

    @property
    def has_pooled(self) -> bool:
        return isinstance(self, Poolable)

    @property
    def has_segments(self) -> bool:
        return isinstance(self, Segmentable)

    def schema(self) -> dict:
        """What `vibes experiments schema` prints: the input, the model, the output."""
        return {
            "type": self.name,
            "description": self.description,
            "columns": [
                {
                    "name": c.name,
                    "type": KIND_NAMES[c.kind],
                    "required": c.required,
                    **({"default": c.default} if c.default is not None else {}),
                    "meaning": c.meaning,
                }
                for c in self.columns
            ],
            "statistics": [{"name": s.name, "meaning": s.meaning} for s in self.statistics],
            "priors": described(self.priors),
            "model": self.model_summary,
            "pooled": {
                "model": self.pooled_summary,
                "priors": described(self.pooled_priors),
                "hyperparameters": [
                    {"name": f.name, "meaning": f.meaning} for f in self.hyperparameters
                ],
            }
            if self.has_pooled
            else None,
            "segmented": {
                "by": list(self.segment_columns),
                "max_segments": MAX_SEGMENTS,
                "model": self.segmented_summary,
                "priors": described(self.segment_priors),
                "hyperparameters": [
                    {"name": f.name, "meaning": f.meaning} for f in self.segment_hyperparameters
                ],
            }
            if self.has_segments
            else None,
            "likelihoods": [
                {
                    "name": name,
                    "default": name == self.likelihoods[0],
                    "model": kind.model_summary,
                    "priors": described(kind.priors),
                    "exact": kind.has_exact,
                    "pooled": kind.has_pooled,
                    "segmented": kind.has_segments,
                }
                for name in self.likelihoods
                for kind in [self.with_likelihood(name)]
            ],
            "quantity": self.quantity,
            "unit": self.unit.name,
            "exact": self.has_exact,
            "summary_options": list(self.summary_options),
            "fields": [
                {"name": f.name, "in": "group" if f.per_group else "summary", "meaning": f.meaning}
                for f in self.fields
            ],
        }

    def generate(
        self, n: int, rng: "np.random.Generator", end: datetime | None = None, **options: Any
    ) -> "pa.Table":
        """``n`` realistic events with true rates drawn per group; timestamps added here, over
        the two weeks before ``end`` (UTC; default now)."""
        import pyarrow as pa

        columns = self.simulate(n, rng, **options)
        named = next((o for o in self.generate_options if o.names_groups), None)
        if named is not None:  # "the control first": each group's first event in that order
            key = named.name.replace("-", "_")
            columns = first_in_order(
                columns, self.group_column, split_names(options.get(key, named.default), named.name)
            )
        return pa.table({"timestamp": spread_timestamps(n, rng, end), **columns})

    def simulate(self, n: int, rng: "np.random.Generator", **options: Any) -> dict:
        """Column name -> array of ``n`` values, everything but the timestamp."""
        raise NotImplementedError

    def sufficient_stats(self, table: "ir.Table", by: tuple[str, ...] = ()) -> "ir.Table":
        """An Ibis expression reducing any number of events to one row per group, with the
        group column (if any) and one column per statistic. ``by`` (some of
        ``segment_columns``; only asked of a type that has them): one row per group and
        value of those columns, which are kept too."""
        raise NotImplementedError

    def stats(self, rows: list[dict]) -> Stats:
        """The rows of ``sufficient_stats`` as arrays, each value checked: a sum of finite
        values can still overflow (two exposures of 1e308 make infinity)."""
        import numpy as np

        key = self.group_column
        names = [row[key] for row in rows] if key else ["all"]
        values = {}
        for statistic in self.statistics:
            value = np.array([row[statistic.name] or 0 for row in rows], dtype=float)
            bad = ~np.isfinite(value) | (value > statistic.limit)
            if bad.any():
                i = int(np.argmax(bad))
                who = f"{key} {names[i]}" if key else "the experiment"
                if math.isfinite(statistic.limit):
                    problem, fix = f"more than {statistic.limit:g}", f"split {who} into several"
                else:
                    problem, fix = "beyond floating point", "record the values in larger units"
                raise VibesError(
                    f"{who} has a total {statistic.name} of {value[i]:g}, {problem}: vibes "
                    f"cannot compute with it; {fix}"
                )
            values[statistic.name] = value
        return Stats(names, values)

    def prior(
        self,
        given: "str | dict | tuple | list | None",
        stats: Stats,
        priors: "tuple[Prior, ...] | None" = None,
        what: str | None = None,
    ) -> dict[str, float]:
        """Every prior parameter by name: the defaults, with ``given`` on top. ``given`` is
        ``name=value,...`` (some or all), all values in order (``1,1``), a dict or a tuple.
        ``priors``: whose prior, the independent model's (``priors``, the default) or another
        model's (vibes_core.models), called ``what`` ("pooled ab-test") in an error."""
        priors = self.priors if priors is None else priors
        what = what or (f"{self.name} ({self.likelihood_title})" if self.likelihood else self.name)
        values = {p.name: p.default for p in priors}
        names = list(values)
        if isinstance(given, str):
            try:
                given = parse_prior(given)
            except VibesError as error:
                raise VibesError(f"{option('prior')} {error.template}") from None
        if isinstance(given, tuple | list):
            if len(given) != len(names):
                raise VibesError(
                    f"{option('prior')}: a {what} prior has {len(names)} parameters "
                    f"({', '.join(names)}), got {len(given)} values; or give them by name"
                )
            given = dict(zip(names, given, strict=True))
        for name, value in (given or {}).items():
            if name not in values:
                raise VibesError(
                    f"{option('prior')}: {name!r} is not a parameter of a {what} prior; its "
                    f"parameters: {', '.join(names)}"
                )
            values[name] = float(value)
        for p in priors:
            value = values[p.name]
            if math.isnan(value) and math.isnan(p.default):  # follows the data's own scale,
                values[p.name] = self.from_data(p.name, stats, values)  # whatever it is
            elif not (math.isfinite(value) and p.low <= value <= p.high):
                default = f"{p.default:g}" if math.isfinite(p.default) else "(from the data)"
                raise VibesError(
                    f"{option('prior')}: {p.name} {value:g} is outside [{p.low:g}, {p.high:g}]; "
                    f"give it in that range, or leave it to its default {default}"
                )
        return values

    def from_data(self, prior: str, stats: Stats, values: dict[str, float]) -> float:
        """The default of a prior parameter that depends on the data (its default is NaN),
        given the prior's other values (given or default; those before it are final)."""
        raise NotImplementedError

    def has_data(self, stats: Stats, prior: dict[str, float]) -> "np.ndarray":
        """Which groups have data enough to be compared: the others are reported (their
        posterior is the prior's) but left out of P(best), expected loss and the verdict."""
        return stats[self.size] > 0

    def model(self, stats: Stats, prior: dict[str, float]) -> "pm.Model":
        """The PyMC model of the groups' statistics (never of one row per event)."""
        raise NotImplementedError

    def diagnosed(self, model: "pm.Model") -> list[str]:
        """The parameters whose convergence is checked: all of them, hyperparameters too."""
        return [variable.name for variable in model.free_RVs]

    def quantity_draws(self, variables: dict[str, "np.ndarray"]) -> tuple:
        """From a fit's draws of the model's variables (each (chain, draw, group)): the
        quantity's draws, and those of the type's other parts (name -> draws), same shape."""
        return variables[self.parameter], {}

    def expected_groups(self, options: dict) -> list[str]:
        """Groups the options name (e.g. a --split) that count even without events."""
        return []

    def summarize(self, estimate: "Estimate", stats: Stats, options: dict, model=None) -> dict:
        """Decision-ready numbers: the shared summary, and what this type adds to it.
        ``model`` (vibes_core.models): whose posterior it is; None, each group's own."""
        from vibes_core.summary import compare

        summary = compare(self, estimate, stats, options, model)
        self.extend(summary, estimate, stats, options)
        return summary

    def extend(self, summary: dict, estimate: "Estimate", stats: Stats, options: dict) -> None:
        """Add this type's own fields (declared in ``fields``), warnings and words."""

    def notes(self, summary: dict) -> list[str]:
        """Lines a person reads under the table (CLI and dashboard): checks the type runs."""
        return []

    def plots(self, estimate: "Estimate", stats: Stats, summary: dict, options: dict) -> list:
        """Plot specs for the dashboard (see vibes_core.plots), given the summary made from the
        same posterior: each group's posterior density (a forest plot for a pooled fit), then
        each one's relative uplift over the control."""
        from vibes_core.plots import FOREST_FROM, densities, forest, uplift_forest, uplifts

        per = f" per {self.group_column}" if self.group_column else ""
        title, axis = f"{self.quantity}{per}", self.unit.axis(self.quantity)
        prob, many = options["hdi_prob"], len(summary["groups"]) >= FOREST_FROM
        percent = self.unit.percent
        if "hyperparameters" in summary:  # pooled: each group beside its own estimate
            title = f"{title}, pooled (own estimate beside)"
            specs = [forest(summary, prob, title, axis, percent)]
        elif many:  # overlaid densities would repeat colours and hide each other
            specs = [forest(summary, prob, f"{title}, highest first", axis, percent)]
        else:
            specs = [densities(estimate, prob, title, axis, percent)]
        if summary["control"] is not None:
            uplift = uplift_forest if many else uplifts
            specs.append(uplift(estimate, summary, prob, self.group_column))
        return specs


def described(priors: tuple[Prior, ...]) -> list[dict]:
    return [
        {
            "name": p.name,
            "default": p.default if math.isfinite(p.default) else "from the data",
            "low": p.low,
            "high": p.high,
            "meaning": p.meaning,
        }
        for p in priors
    ]


def parse_prior(text: str) -> dict[str, float] | tuple[float, ...]:
    """``name=value,...`` as a dict, or ``value,...`` as a tuple."""
    parts = [part.strip() for part in text.split(",")]
    try:
        if all("=" in part for part in parts):
            pairs = [[word.strip() for word in part.split("=", 1)] for part in parts]
            if len({name for name, _ in pairs}) == len(pairs):
                return {name: float(value) for name, value in pairs}
        elif not any("=" in part for part in parts):
            return tuple(float(part) for part in parts)
    except ValueError:
        pass
    raise VibesError(
        f"{text!r} is not a prior: give its parameters as distinct name=value pairs "
        "(e.g. alpha=2,beta=8) or every value in order (e.g. 2,8)"
    )


def first_in_order(columns: dict, group: str, names: list[str]) -> dict:
    """``columns`` with one event of each group moved to the front, in the order of ``names``:
    the data's first group is then the control. The same events, in another order."""
    import numpy as np

    values = np.asarray(columns[group])
    leading = [int(np.argmax(values == name)) for name in names if (values == name).any()]
    rest = np.ones(len(values), dtype=bool)
    rest[leading] = False
    order = np.concatenate([np.array(leading, dtype=int), np.flatnonzero(rest)])
    return {name: np.asarray(column)[order] for name, column in columns.items()}


def spread_timestamps(
    n: int, rng: "np.random.Generator", end: datetime | None = None, days: int = 14
) -> "pa.Array":
    """Sorted UTC timestamps over the ``days`` before ``end``, as a data export would have
    them."""
    import numpy as np
    import pyarrow as pa

    end = np.datetime64(end or datetime.now(UTC).replace(tzinfo=None), "ms")
    offsets = np.sort(rng.uniform(0, days * 86400 * 1000, n))[::-1].astype("timedelta64[ms]")
    return pa.array(end - offsets, type=pa.timestamp("ms", tz="UTC"))


def split_names(value: str, what: str) -> list[str]:
    names = [v.strip() for v in value.split(",")]
    if len(names) < 1 or any(not v for v in names) or len(set(names)) != len(names):
        raise VibesError(
            f"{option(what.replace('-', '_'))} must be distinct non-empty names separated by "
            f"commas, got {value!r}"
        )
    return names


def probability(value: float | None, what: str) -> float | None:
    if value is not None and not 0 < value < 1:
        raise VibesError(
            f"{option(what.replace('-', '_'))} must be a probability between 0 and 1, got {value}"
        )
    return value


def segment_draws(
    n: int, rng: "np.random.Generator", segments: str, baselines: int = 1
) -> tuple["np.ndarray", "np.ndarray"]:
    """Each of ``n`` users' segment from the comma-separated ``segments``, and ``baselines``
    factors per user by which its segment's baseline differs (about ±30%, one array each).
    Segment sizes fall as 1 / rank: the first named is the largest, as a home market is."""
    import numpy as np

    names = split_names(segments, "segments")
    shares = 1 / np.arange(1, len(names) + 1)
    which = rng.choice(len(names), n, p=shares / shares.sum())
    factors = rng.lognormal(0.0, 0.3, (baselines, len(names)))
    return np.array(names)[which], factors[:, which]
