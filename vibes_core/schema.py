"""The shape of what ``vibes posterior --json`` prints, the cache stores and the dashboard draws.

Every type's summary has these keys (README: "The summary, key by key"); a type adds its own,
declared as ``fields`` in its module. The contract test checks every type's real output
against these definitions.
"""

import functools
import types
import typing
from typing import Literal, NotRequired, TypedDict


class Interval(TypedDict):
    """A posterior mean and the HDI around it."""

    mean: float
    hdi_low: float
    hdi_high: float
    mc_error: NotRequired[float]  # of the HDI's ends, for intervals from draws (uplifts)


class Ratio(TypedDict):
    """A ratio's median (its mean need not exist) and the HDI around it."""

    median: float
    hdi_low: float
    hdi_high: float
    mc_error: NotRequired[float]  # of the HDI's ends, from BATCHES batches of the draws


class GroupRow(Interval):
    """One group (variant, arm, cohort, or the one group of a single-rate type): the mean and
    HDI of the type's quantity, and the group's sufficient statistics by their names."""

    name: str
    mcse: NotRequired[float | None]  # Monte Carlo error of the mean: MCMC only
    # Among the groups with data (null for the others): the probability that this group's
    # quantity is the largest, and E[max over groups - this group] in the quantity's unit.
    p_best: float | None
    expected_loss: float | None
    control: bool  # the group the others are compared with
    uplift_abs: NotRequired[Interval]  # this group - the control (not on the control's row)
    uplift_rel: NotRequired[Ratio]  # (this group - the control) / the control
    p_beats_control: NotRequired[float]  # P(this group > the control)
    unpooled: NotRequired[Interval]  # pooled fits: the group's own estimate (independent model)
    # In a segment of a breakdown: the uplift from the segment's data alone (exact, default
    # prior), beside its pooled uplift_rel.
    unpooled_uplift_rel: NotRequired[Ratio]
    # Under a learned prior (--prior learned): the uplift under the type's default prior,
    # beside uplift_rel under the learned one: how far the learned prior moved it.
    default_uplift_rel: NotRequired[Ratio]


class Verdict(TypedDict):
    """What to do, by the rule in vibes_core.verdict."""

    action: Literal["choose", "keep-running", "no-difference"]
    choice: str | None  # the group chosen
    # keep-running: what a choice lacks (the leader's expected loss below the max-loss, the
    # evidence of a difference; data: too few groups with data to compare); else empty
    missing: list[Literal["data", "loss", "evidence"]]
    bayes_factor: float | None  # the evidence of a difference (null: nothing to compare)
    # keep-running: more events in all until a first verdict, the median over futures
    # simulated from today's posterior, and its quartiles [Q1, Q3] (Q3 null: beyond them)
    events_needed: int | None
    events_needed_range: list[int | None] | None
    days_needed: float | None  # the same at the recent rate of events
    days_needed_range: list[float | None] | None
    rule: str  # the rule and its thresholds, in words


class Hyperparameter(Interval):
    """A pooled model's parameter of the population of groups (their mean, their spread), or
    a breakdown's of one treated group (its overall effect, its spread across segments)."""

    name: str
    group: NotRequired[str]  # breakdowns: the treated group it is of
    meaning: str


class Segment(TypedDict):
    """One segment of a breakdown (--by): its groups and verdict, as a summary's."""

    segment: str | None  # None: the events without a value of the column
    share: float  # of the experiment's traffic (events, or users), the overall's weight
    groups: list[GroupRow]
    verdict: Verdict
    decision: str
    warnings: list[str]


class Diagnostics(TypedDict):
    max_r_hat: float | None  # over every parameter of the model (None: cannot be computed)
    min_ess_bulk: float | None
    min_ess_tail: float | None
    divergences: int
    parameters: list[str]  # the model's parameters that were diagnosed
    target_accept: float
    draws: int
    tune: int
    chains: int
    sampler: str
    seconds: float


Model = Literal["independent", "pooled", "segmented"]


class Answer(TypedDict):
    """What each answer says of where its summary is from. The cache stores the rest."""

    experiment: str
    type: str
    # pooled: the hierarchical model (--pooled); segmented: the breakdown (--by)
    model: Model
    # A likelihood other than the type's default (--likelihood): its name, e.g. revenue's
    # "mean"; absent for the default.
    likelihood: NotRequired[str]
    snapshot: int  # the DuckLake snapshot the data was read at
    prior: dict[str, float]  # every prior parameter by name, defaults filled in
    hdi_prob: float  # the probability inside each HDI
    cached: bool


class LearnedPrior(TypedDict):
    """The prior of each treated group's effect (log ratio to the control) learned from past
    experiments (vibes_core.learned): none with probability 1 - pi, else mu + tau * a Normal
    or a Student-t (3 df)."""

    pi: float
    mu: float
    tau: float
    tail: Literal["normal", "student-t"]
    experiments: int  # how many past experiments it was learned from (this one left out)
    variants: int  # their treated variants
    snapshot: int  # the lake's snapshot when it was learned


class Findings(TypedDict):
    """What a posterior says, whatever it came from: the part of the summary that
    vibes_core.summary (and .segments, for a breakdown) builds, the type's fields added."""

    quantity: str  # what the groups' means are, e.g. "conversion rate"
    unit: str  # what kind of number they are: probability, rate, value (vibes_core.units)
    control: str | None  # the group the others are compared with (None: one group, or a
    # type without one, as bandits: then no row has the uplift keys)
    groups: list[GroupRow]
    # default: the type's prior (and --prior's parameters) alone; learned: each treated
    # group's effect under the prior learned from past experiments (--prior learned)
    prior_source: Literal["default", "learned"]
    learned_prior: NotRequired[LearnedPrior]
    hyperparameters: NotRequired[list[Hyperparameter]]  # pooled and segmented fits only
    by: NotRequired[str]  # segmented: the segment column; groups are then the overall ones
    segments: NotRequired[list[Segment]]  # segmented: the largest first (segments_of)
    verdict: Verdict
    decision: str  # the verdict first, then what is credible, then how long to run
    warnings: list[str]


class Summary(Answer, Findings):
    """What ``vibes posterior --json`` prints, ``vibes_core.fit()`` returns and the dashboard
    shows: an Answer's keys, then the Findings', then these."""

    method: Literal["exact", "mcmc"]
    diagnostics: Diagnostics | None  # None for an exact posterior
    plots: NotRequired[list["Plot"]]  # for the dashboard only: never cached, never printed
    traces: NotRequired[list["LinesPlot"]]


class ScorecardVerdict(TypedDict):
    """An experiment on units' verdict: its goal's, weighed by its guardrails
    (vibes_core.scorecard)."""

    action: Literal["choose", "keep-running", "no-difference", "reject"]
    choice: str | None  # the variant chosen
    blocked_by: list[str]  # reject: the guardrails the choice would harm beyond their margin
    unclear: list[str]  # guardrails neither passed nor harmed yet
    rule: str


class Adjustment(TypedDict):
    """What adjusting a metric for its pre-exposure value did (CUPED)."""

    method: Literal["cuped"]
    pre_window: str  # how long before each unit's exposure its covariate was measured
    theta: float  # the slope of the metric on its covariate, pooled within variants
    correlation: float  # of the two within variants
    # 1 - the adjusted / the unadjusted variance of the first treated variant's uplift
    variance_reduction: float


class MetricSummary(Findings):
    """One metric of a scorecard: its definition and role, then a summary's findings (each
    treated variant's row adds ``p_harm`` on a guardrail and ``status`` on every metric)."""

    name: str
    role: Literal["goal", "guardrail", "secondary"]
    kind: Literal["proportion", "count", "mean", "ratio"]
    table: str
    lower_is_better: bool
    margin: float  # a guardrail's: how much worse than the control it may get (a share)
    method: Literal["exact", "mcmc"]
    prior: dict[str, float]
    adjustment: Adjustment | None  # None: not adjusted (a ratio, --no-adjust, or no covariate)


class Scorecard(Answer):
    """What ``vibes posterior --json`` prints for an experiment on units."""

    method: Literal["exact", "mcmc"]
    control: str | None
    units: dict[str, int]  # exposed units per variant
    excluded_units: int  # units assigned to more than one variant: left out of every metric
    srm: dict | None  # the sample ratio check on units per variant
    metrics: list[MetricSummary]  # in role order: the goal, the guardrails, the secondaries
    verdict: ScorecardVerdict
    decision: str
    warnings: list[str]
    diagnostics: Diagnostics | None


def segments_of(summary: Summary) -> list[Segment] | None:
    """A breakdown's segments, the largest first; None for a summary of another model. Its
    ``model`` says which it is: ask this, not whether a key is there."""
    return summary["segments"] if summary["model"] == "segmented" else None


class Series(TypedDict):
    name: str
    x: list[float]
    y: list[float]


class DensitySeries(Series):
    hdi: list[float]  # [low, high]
    mean: NotRequired[float]  # of a quantity's density
    median: NotRequired[float]  # of a ratio's


class DensityPlot(TypedDict):
    kind: Literal["density"]
    title: str
    xlabel: str
    hdi_prob: float
    percent: bool  # the x values are shares: the axis in percent
    reference: float | None  # no difference on the x axis: 0 for an uplift, 1 for a ratio
    series: list[DensitySeries]


class BarsPlot(TypedDict):
    kind: Literal["bars"]
    title: str
    xlabel: str
    labels: list[str]
    values: list[float]


class LinesPlot(TypedDict):
    kind: Literal["lines"]
    title: str
    xlabel: str
    ylabel: str
    reference: float  # a horizontal line
    series: list[Series]


class ForestEstimate(TypedDict):
    mean: float  # a ratio's median
    hdi: list[float]  # [low, high]


class ForestRow(ForestEstimate):
    name: str
    unpooled: ForestEstimate | None  # a pooled fit's: the group's own estimate


class ForestPlot(TypedDict):
    kind: Literal["forest"]
    title: str
    xlabel: str
    hdi_prob: float
    percent: bool
    reference: float | None
    rows: list[ForestRow]  # highest first


Plot = DensityPlot | BarsPlot | LinesPlot | ForestPlot


# --- checking a summary read back (the cache) ----------------------------------------------

# What the cache stores of a summary leaves out the keys a posterior adds on each answer.
ANSWER_KEYS = tuple(Answer.__annotations__)


def mismatch(value, hint=Summary, where: str = "summary", optional=()) -> str | None:
    """The first way ``value`` (JSON) differs from ``hint`` (a TypedDict here, or a type in
    one), or None when it fits: a required key missing (but those in ``optional``), or a value
    of another type. Keys not declared pass (a type's statistics and fields). What the cache
    reads back is checked so before it is served: a damaged summary is a miss, never a crash
    in the middle of an answer."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if typing.is_typeddict(hint):
        if not isinstance(value, dict):
            return f"{where} is not an object"
        missing = [k for k in hint.__required_keys__ if k not in value and k not in optional]
        if missing:
            return f"{where} has no {missing[0]!r}"
        hints = declared(hint)
        found = (mismatch(value[k], hints[k], f"{where}.{k}") for k in hints if k in value)
        return next(filter(None, found), None)
    if origin in (typing.Union, types.UnionType):
        found = [mismatch(value, option, where, optional) for option in args]
        return None if None in found else found[0]
    if origin is typing.Literal:
        return None if value in args else f"{where} is not one of {args}"
    if origin in (list, dict):
        if not isinstance(value, origin):
            return f"{where} is not a{'n object' if origin is dict else ' list'}"
        items = value.items() if origin is dict else enumerate(value)
        found = (mismatch(item, args[-1], f"{where}[{key!r}]") for key, item in items)
        return next(filter(None, found), None)
    if hint is type(None):
        return None if value is None else f"{where} is not null"
    if hint in (float, int):
        kinds = (int, float) if hint is float else int
        ok = isinstance(value, kinds) and not isinstance(value, bool)
        return None if ok else f"{where} is not a number"
    return None if isinstance(value, hint) else f"{where} is not a {hint.__name__}"


@functools.cache
def declared(hint) -> dict:
    return typing.get_type_hints(hint)
