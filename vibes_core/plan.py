"""Planning the next experiment: how many units per variant, and how many days, until a treated
variant that is better by the minimum detectable effect (MDE, relative to the control's
baseline) is found, two ways:

- **frequentist**: the sample size of a two-sided z-test at ALPHA with the power asked, each
  treated variant against the control (no correction for several: each comparison has that
  power), n_control = (z(1 - ALPHA / 2) + z(power))^2 (sd_c^2 + sd_t^2 / r) / delta^2, r the
  treated variant's share over the control's (statsmodels' ``NormalIndPower`` to 0.1%);
- **Bayesian**: the assurance of vibes' own verdict rule (vibes_core.verdict): the share of
  FUTURES simulated experiments whose first verdict other than keep-running is *choose* a
  treated variant, by each day (looked at every day, as a team would; from MAX_LOOKS days on,
  every few days). The futures' true values are fixed (the control's at the baseline, each
  treated variant's at the baseline times 1 + its future's lift: ``Plannable.planned_truths``),
  the data drawn day by day as ``events_needed`` draws them (``future_stats``), and each
  day's posterior judged from FUTURE_DRAWS draws (``future_draws``, ``judge``). Each future
  may have its own lift (``p_choose(design, lifts, looks)``, ``plan(..., lifts=...)``): a lift
  drawn from a prior of effects is one line, ``plan(design, mde, lifts=np.expm1(log_ratios))``.

A plan starts from a baseline (``capabilities.Baseline``: the control's mean, the sd of one
unit's value, CUPED's expected variance reduction) and the traffic (units per day, all
variants together, split by ``weights``), taken from an experiment (``from_experiment``: its
control's statistics and its pace), a metric's event table (``from_metric``: the last
METRIC_DAYS days as if an experiment had exposed each unit at its first event of them), or
numbers (``from_numbers``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import TYPE_CHECKING

from vibes_core import verdict
from vibes_core.capabilities import Baseline, Plannable, Scorecard
from vibes_core.effects import EffectPrior, of_options
from vibes_core.errors import InvalidOption, VibesError, option
from vibes_core.learned import Target
from vibes_core.names import quoted

if TYPE_CHECKING:
    import numpy as np

    from vibes_core.lake import Lake
    from vibes_core.stats import Stats
    from vibes_core.types.base import ExperimentType

ALPHA = 0.05  # two-sided
POWER = 0.8
MAX_MDE = 10.0  # +1,000%: beyond, a plan is a typo
MIN_MDE = 1e-4  # 0.01%
FUTURES = 1000  # P(choose) to about ±1.3 points at 80%
HORIZON_FACTOR = 4  # the Bayesian curve runs to 4 times the frequentist days,
MIN_HORIZON, MAX_HORIZON = 28, 365  # at least four weeks, at most a year
MAX_LOOKS = 400  # days judged: every day up to this many, else every few days
METRIC_DAYS = 28  # a metric's table is read over its last four weeks
MIN_UNITS = 50  # a baseline from fewer units is refused
MAX_UNITS_PER_DAY = 1e12
VARIANTS = ("control", "treatment")  # a plan from numbers without names in its split


@dataclass(frozen=True)
class Design:
    """An experiment to plan: its type object (``Plannable``), baseline, variants (the
    control's index), the share of traffic each gets (``weights``, summing to 1), the units
    per day of all of them, the prior its futures are analysed with, the verdict's rule, and
    where the numbers come from (``source``: experiment, metric or numbers; ``name``)."""

    kind: ExperimentType
    baseline: Baseline
    names: tuple[str, ...]
    weights: tuple[float, ...]
    units_per_day: float
    control: int = 0
    rule: verdict.Rule = field(default_factory=verdict.Rule)
    source: str = "numbers"
    name: str | None = None
    target: Target | None = None  # whose learned prior of effects applies (``with_learned``)
    learned: dict | None = None  # that prior, as summaries carry it (``effect_prior``)

    @property
    def prior(self) -> dict[str, float]:
        return self.kind.planned_prior(self.baseline)

    @property
    def effects(self) -> EffectPrior | None:
        return of_options({"effect_prior": self.learned})

    def lift(self, mde: float) -> float:
        """The MDE as a signed lift: better is lower for a quantity whose best is lowest."""
        return mde if self.kind.higher_is_better else -mde


# --- the frequentist sample size ------------------------------------------------------------
def sample_size(design: Design, mde: float, power: float = POWER, alpha: float = ALPHA) -> dict:
    """Units per variant and days of a two-sided z-test of each treated variant against the
    control, at ``alpha`` with ``power``, when it is better by ``mde`` (relative)."""
    check(mde, power)
    kind, b, c = design.kind, design.baseline, design.control
    lift = design.lift(mde)
    sd_c, sd_t = kind.planned_sd(b, 0.0), kind.planned_sd(b, lift)
    delta = abs(b.mean * lift)
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    w = design.weights
    control_units = max(
        z**2 * (sd_c**2 + sd_t**2 / (w[i] / w[c])) / delta**2 for i in treated(design)
    )
    total = control_units / w[c]
    units = {name: math.ceil(total * share) for name, share in zip(design.names, w, strict=True)}
    return {
        "units_per_variant": max(units.values()),
        "units": units,
        "days": math.ceil(total / design.units_per_day),
    }


def power_by_day(design: Design, mde: float, days, alpha: float = ALPHA) -> list[float]:
    """The power of that test analysed once on each of ``days`` (the weakest comparison's)."""
    kind, b, c, w = design.kind, design.baseline, design.control, design.weights
    lift = design.lift(mde)
    sd_c, sd_t = kind.planned_sd(b, 0.0), kind.planned_sd(b, lift)
    z = NormalDist().inv_cdf(1 - alpha / 2)
    found = []
    for day in days:
        n = design.units_per_day * day
        se = max(math.sqrt(sd_c**2 / (n * w[c]) + sd_t**2 / (n * w[i])) for i in treated(design))
        shift = abs(b.mean * lift) / se
        found.append(NormalDist().cdf(shift - z) + NormalDist().cdf(-shift - z))
    return found


def treated(design: Design) -> list[int]:
    return [i for i in range(len(design.names)) if i != design.control]


# --- the Bayesian assurance -----------------------------------------------------------------
def p_choose(
    design: Design,
    lifts: np.ndarray,
    looks,
    seed: int = 0,
    draws: int = verdict.FUTURE_DRAWS,
) -> np.ndarray:
    """P(the rule's first verdict other than keep-running is *choose* a treated variant) by
    each day of ``looks`` (increasing), over ``len(lifts)`` futures, each with its own true
    relative lift of every treated variant (0: no effect). Every day of ``looks`` is judged."""
    return choices(design, lifts, looks, seed, draws)[0]


def choices(
    design: Design, lifts: np.ndarray, looks, seed: int = 0, draws: int = verdict.FUTURE_DRAWS
) -> tuple[np.ndarray, np.ndarray]:
    """``p_choose``, and beside it P(the variant chosen is not truly better than the control).
    ``lifts``: (futures,), one lift of every treated variant, or (futures, treated), each its
    own."""
    import numpy as np

    kind, names = design.kind, list(design.names)
    rng = np.random.default_rng(seed)
    lifts = np.asarray(lifts, dtype=float)
    futures, groups = len(lifts), len(names)
    truths = kind.planned_truths(design.baseline, lifts, design.control, groups)
    start = kind.planned_stats(names)
    batch = {key: np.zeros((futures, groups)) for key in start.values}
    prior, weights = design.prior, np.asarray(design.weights)
    kept, lower = list(range(groups)), not kind.higher_is_better
    # Whether each group is truly better than the control, in each future.
    better = np.zeros((futures, groups), dtype=bool)
    better[:, treated(design)] = (lifts.reshape(futures, -1) * design.lift(1.0)) > 0
    settled = np.zeros(futures, dtype=bool)
    chose, chose_worse = np.zeros(futures, dtype=bool), np.zeros(futures, dtype=bool)
    added = np.zeros(groups)
    curve, worse = [], []
    for day in looks:
        if settled.all():  # no verdict changes any more
            curve.append(curve[-1])
            worse.append(worse[-1])
            continue
        target = np.round(design.units_per_day * day * weights)
        batch = kind.future_stats(start, batch, truths, target - added, rng)
        added = target
        open_ = np.flatnonzero(~settled)  # a settled future's first verdict is said
        judged = verdict.judge(
            kind.future_draws(start, {k: v[open_] for k, v in batch.items()}, prior, rng, draws),
            kept,
            design.control,
            design.rule,
            lower=lower,
            effects=design.effects,
        )
        now = judged.action != verdict.KEEP_RUNNING
        chosen = now & (judged.action == verdict.CHOOSE) & (judged.leader != design.control)
        chose[open_[chosen]] = True
        chose_worse[open_[chosen & ~better[open_, judged.leader]]] = True
        settled[open_[now]] = True
        curve.append(float(chose.mean()))
        worse.append(float(chose_worse.mean()))
    return np.array(curve), np.array(worse)


def looks_until(horizon: int) -> list[int]:
    """The days judged: every day up to MAX_LOOKS, else every few days, the last the horizon."""
    step = max(1, math.ceil(horizon / MAX_LOOKS))
    days = list(range(step, horizon + 1, step))
    return days if days[-1] == horizon else [*days, horizon]


def horizon_of(frequentist_days: int) -> int:
    return int(min(max(HORIZON_FACTOR * frequentist_days, MIN_HORIZON), MAX_HORIZON))


# --- the plan -------------------------------------------------------------------------------
def plan(
    design: Design,
    mde: float,
    power: float = POWER,
    futures: int | None = None,
    seed: int = 0,
    horizon: int | None = None,
    lifts: np.ndarray | None = None,
) -> dict:
    """The frequentist and the Bayesian answers, the inputs they came from, and the curve of
    P(choose) by day (JSON-ready: no NaN). ``lifts``: each simulated experiment's own true
    relative lift (signed: the better direction is the quantity's), e.g. drawn from a prior
    of effects, ``np.expm1(log_ratios)``; None: every one's is the MDE. The frequentist answer
    is the MDE's either way."""
    import numpy as np

    if lifts is None:
        lifts = np.full(futures or FUTURES, design.lift(mde))
    lifts = np.asarray(lifts, dtype=float)
    futures = len(lifts)
    frequentist = sample_size(design, mde, power)
    horizon = horizon or horizon_of(frequentist["days"])
    days = looks_until(horizon)
    curve = p_choose(design, lifts, days, seed)
    reached = next((d for d, p in zip(days, curve, strict=True) if p >= power), None)
    units = (
        None
        if reached is None
        else {
            name: math.ceil(design.units_per_day * reached * share)
            for name, share in zip(design.names, design.weights, strict=True)
        }
    )
    b = design.baseline
    bayesian = {
        "units_per_variant": None if units is None else max(units.values()),
        "units": units,
        "days": reached,
        "horizon": horizon,
        "futures": futures,
        "lifts": "mde" if bool(np.all(lifts == design.lift(mde))) else "drawn",
        "prior": "default" if design.learned is None else "learned",
        "rule": {
            "max_loss": design.rule.max_loss,
            "rope": design.rule.rope,
            "evidence": verdict.EVIDENCE,
        },
        "curve": [{"day": d, "p_choose": float(p)} for d, p in zip(days, curve, strict=True)],
    }
    if design.learned is not None:
        bayesian["drawn"] = drawn(design, days, futures, seed)
    return {
        "source": design.source,
        "name": design.name,
        "type": design.kind.titled(),
        "quantity": design.kind.quantity,
        "unit": design.kind.unit.name,
        "higher_is_better": design.kind.higher_is_better,
        "baseline": b.mean,
        "sd": b.sd,
        "variance_reduction": b.reduction,
        "mde": mde,
        "alpha": ALPHA,
        "power": power,
        "control": design.names[design.control],
        "split": dict(zip(design.names, design.weights, strict=True)),
        "units_per_day": design.units_per_day,
        "frequentist": frequentist,
        "bayesian": bayesian,
        "learned_prior": design.learned,
        "frequentist_power": [
            {"day": d, "power": p}
            for d, p in zip(days, power_by_day(design, mde, days), strict=True)
        ],
    }


def drawn(design: Design, days: list[int], futures: int, seed: int) -> dict:
    """Under the learned prior, futures whose true effects are drawn from it (each treated
    variant its own): P(the rule chooses a treated variant) by day, and P(the variant chosen is
    not better than the control), what choosing costs when most changes do nothing."""
    import numpy as np

    rng = np.random.default_rng(seed + 1)
    futures = futures // 2  # most never settle: each is judged every day to the horizon
    effects = design.effects.draw_effects(rng, futures * (len(design.names) - 1))
    lifts = np.expm1(effects).reshape(futures, -1)
    chosen, worse = choices(design, lifts, days, seed)
    return {
        "futures": futures,
        "p_better": float(np.mean((lifts * design.lift(1.0) > 0).any(axis=1))),
        "curve": [
            {"day": d, "p_choose": float(p), "p_choose_not_better": float(w)}
            for d, p, w in zip(days, chosen, worse, strict=True)
        ],
    }


def with_learned(lake: Lake, design: Design) -> Design:
    """``design`` analysed under its type's (or metric's) learned prior, and planned also for
    effects drawn from it (``drawn``)."""
    from dataclasses import replace

    from vibes_core import learned

    if design.target is None:
        raise InvalidOption(f"{option('prior')} learned: this plan has no type or metric")
    found = learned.get(lake, learned.target_of(lake, design.target.by, design.target.name))
    return replace(design, learned=found.options())


def plot_spec(answer: dict) -> dict:
    """P(choose) against days, beside the power of the frequentist test analysed that day
    (and under a learned prior, P(choose) when effects are drawn from it)."""
    curve, fixed = answer["bayesian"]["curve"], answer["frequentist_power"]
    drawn = answer["bayesian"].get("drawn")
    beside = (
        []
        if drawn is None
        else [
            {
                "name": "effects drawn from the learned prior",
                "x": [p["day"] for p in drawn["curve"]],
                "y": [p["p_choose"] for p in drawn["curve"]],
            }
        ]
    )
    return {
        "kind": "lines",
        "title": f"P(choose a treated variant) by day, its true lift {100 * answer['mde']:.3g}%",
        "xlabel": "days",
        "ylabel": "probability",
        "reference": answer["power"],
        "ylim": [0.0, 1.0],
        "ypercent": True,
        "series": [
            {
                "name": "vibes' rule, looked at daily",
                "x": [p["day"] for p in curve],
                "y": [p["p_choose"] for p in curve],
            },
            {
                "name": "z-test, analysed that day once",
                "x": [p["day"] for p in fixed],
                "y": [p["power"] for p in fixed],
            },
            *beside,
        ],
    }


# --- checks ---------------------------------------------------------------------------------
def check(mde: float, power: float) -> None:
    if not (isinstance(mde, int | float) and math.isfinite(mde) and MIN_MDE <= mde <= MAX_MDE):
        raise InvalidOption(
            f"{option('mde')} {shown_share(mde)}: give the smallest relative lift worth finding, "
            f"between {100 * MIN_MDE:g}% and {100 * MAX_MDE:,.0f}%, e.g. 5%"
        )
    if not (isinstance(power, int | float) and ALPHA / 2 < power < 1):
        raise InvalidOption(
            f"{option('power')} {power:g}: give a probability between {ALPHA / 2:g} and 1 "
            "(exclusive), e.g. 0.8"
        )


def shown_share(x) -> str:
    return f"{100 * x:g}%" if isinstance(x, int | float) and math.isfinite(x) else str(x)


def parse_share(text: str, what: str) -> float:
    """``5%`` or ``0.05`` (a share), checked as a number; the range is the caller's."""
    raw = str(text).strip()
    scale = 100.0 if raw.endswith("%") else 1.0
    try:
        value = float(raw.removesuffix("%")) / scale
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InvalidOption(f"{option(what)} {quoted(raw)} is not a number: give e.g. 5% or 0.05")
    return value


def plannable(kind: ExperimentType) -> ExperimentType:
    """``kind``, if a plan can be made of it; else a VibesError saying what can be planned."""
    from vibes_core.types import registry

    if isinstance(kind, Plannable) and "control" in kind.summary_options:
        return kind
    what = f"{kind.titled()} experiments"
    if isinstance(kind, Scorecard):
        raise InvalidOption(
            f"{what} are judged on metrics: plan one with {option('metric')} M (from its event "
            "table), or name such an experiment to plan its goal"
        )
    others = [
        name
        for name in kind.likelihoods
        if isinstance(kind.with_likelihood(name), Plannable) and "control" in kind.summary_options
    ]
    if others:
        raise InvalidOption(
            f"{what} with the likelihood {kind.likelihood or kind.likelihoods[0]} cannot be "
            f"planned: plan them with {option('likelihood')} {others[0]}"
        )
    can = []
    for k in registry().values():
        planned = [
            n
            for n in (k.likelihoods or (None,))
            if isinstance(k.with_likelihood(n), Plannable) and "control" in k.summary_options
        ]
        if planned:
            default = planned[0] in (None, k.likelihoods[0] if k.likelihoods else None)
            said = "" if default else f" ({option('likelihood')} {planned[0]})"
            can.append(f"{k.name}{said}")
    why = (
        "they have no control to compare a treated variant with"
        if "control" not in kind.summary_options
        else "vibes cannot simulate them from a baseline"
    )
    raise InvalidOption(
        f"{what} cannot be planned: {why}; vibes plans {', '.join(can)} experiments and the "
        f"metrics of experiments on units ({option('metric')})"
    )


def checked_baseline(baseline: Baseline, where: str, units: float) -> Baseline:
    """A baseline read from data: from units enough, with a spread."""
    if units < MIN_UNITS:
        raise VibesError(
            f"{where} has {units:,.0f} units; a plan needs at least {MIN_UNITS} to take a "
            f"baseline from: wait for more data, or give {option('type')} with "
            f"{option('baseline')}"
        )
    if not (math.isfinite(baseline.mean) and baseline.mean != 0):
        raise VibesError(
            f"{where} has a baseline of 0: no relative lift can be planned on it; give "
            f"{option('type')} with {option('baseline')}"
        )
    if not (math.isfinite(baseline.sd) and baseline.sd > 0):
        raise VibesError(
            f"{where}: every unit has the same value, so nothing says how much they vary; give "
            f"{option('type')} with {option('baseline')} and {option('sd')}"
        )
    return baseline


def checked_pace(units_per_day: float | None, where: str) -> float:
    if units_per_day is None:
        raise VibesError(
            f"{where} has no pace yet (its data spans less than an hour): give "
            f"{option('units_per_day')}"
        )
    if not (math.isfinite(units_per_day) and 0 < units_per_day <= MAX_UNITS_PER_DAY):
        raise InvalidOption(
            f"{option('units_per_day')} {units_per_day:g}: give the units a day of all variants "
            f"together, above 0 (at most {MAX_UNITS_PER_DAY:g})"
        )
    return float(units_per_day)


def split_of(text: str | dict | None, names: list[str] | None) -> tuple[list[str], list[float]]:
    """The variants and their shares: ``50,50`` (weights, the control first; the experiment's
    variants, else control and treatment...), ``A=50,B=50`` (vibes posterior's --split; an
    experiment's own variants), or None (an even split)."""
    from vibes_core.analysis import split

    if text is None:
        names = names or list(VARIANTS)
        return names, [1 / len(names)] * len(names)
    if isinstance(text, str) and "=" not in text:
        try:
            weights = [float(part) for part in text.split(",")]
        except ValueError:
            weights = []
        if len(weights) < 2 or not all(math.isfinite(w) and w > 0 for w in weights):
            raise InvalidOption(
                f"{option('split')} {quoted(text)}: give two or more weights above 0, the "
                "control's first, as in 50,50 (or A=50,B=50)"
            )
        if names is not None and len(names) != len(weights):
            raise InvalidOption(
                f"{option('split')} {quoted(text)} weighs {len(weights)} variants, and there "
                f"are {len(names)} ({', '.join(names)}): give a weight to each, in that order"
            )
        if names is None:
            treatments = (
                [VARIANTS[1]]
                if len(weights) == 2
                else [f"{VARIANTS[1]}{i}" for i in range(1, len(weights))]
            )
            names = [VARIANTS[0], *treatments]
        given = dict(zip(names, weights, strict=True))
    else:
        given = split(text)
        if names is not None and set(given) != set(names):
            raise InvalidOption(
                f"{option('split')}: it must weigh exactly the variants ({', '.join(names)})"
            )
        names = names or list(given)
    if min(given.values()) < 1e-3 * max(given.values()):
        raise InvalidOption(
            f"{option('split')}: the smallest weight must be at least 0.1% of the largest"
        )
    total = sum(given.values())
    return list(names), [given[name] / total for name in names]


# --- where a design comes from --------------------------------------------------------------
def from_numbers(
    type_name: str,
    baseline: float | None,
    units_per_day: float | None,
    sd: float | None = None,
    split: str | dict | None = None,
    likelihood: str | None = None,
) -> Design:
    """A plan of a ``type_name`` experiment from numbers alone."""
    from vibes_core.types import get_type

    kind = plannable(get_type(type_name).with_likelihood(likelihood))
    if baseline is None:
        raise InvalidOption(
            f"a plan from numbers needs {option('baseline')}: the control's {kind.quantity} "
            "(or name an experiment, or a metric with --metric)"
        )
    if units_per_day is None:
        raise InvalidOption(
            f"a plan from numbers needs {option('units_per_day')}: the units a day of all "
            "variants together"
        )
    names, weights = split_of(split, None)
    return Design(
        kind,
        kind.baseline_from(float(baseline), sd),
        tuple(names),
        tuple(weights),
        checked_pace(units_per_day, "the plan"),
        target=Target("type", type_name),
    )


def from_experiment(
    lake: Lake,
    name: str,
    units_per_day: float | None = None,
    split: str | dict | None = None,
    likelihood: str | None = None,
) -> Design:
    """A plan of the next experiment like ``name``: its control's baseline, its pace (events a
    day lately), its variants, its saved split, control and verdict thresholds. An experiment
    on units: its goal metric's (adjusted, where CUPED applies)."""
    from vibes_core import catalog
    from vibes_core.types import get_type

    experiment = catalog.get(lake, name)
    kind = get_type(experiment.type)
    saved = experiment.analysis.summary_options()
    target = Target("type", experiment.type)
    if isinstance(kind, Scorecard):
        kind, stats, control, pace, options, goal = goal_of(lake, kind, experiment)
        saved = {**saved, **options}
        where = f"{name}'s goal {kind.quantity}"
        target = Target("metric", goal)
    else:
        kind = kind.with_likelihood(likelihood or experiment.analysis.likelihood)
        kind = plannable(kind)
        stats = kind.stats(catalog.sufficient_stats(lake, experiment))
        if not stats.names:
            raise VibesError(f"{name} has no events yet: upload some, or give {option('type')}")
        control = control_of(stats, saved.get("control"))
        pace = catalog.events_per_day(lake, experiment)
        where = f"{name}'s {kind.baseline} {stats.names[control]}"
    kind = plannable(kind)
    baseline = kind.baseline_of(stats, control)
    checked_baseline(baseline, where, float(stats[kind.size][control]))
    names, weights = split_of(split or saved.get("split"), list(stats.names))
    return Design(
        kind,
        baseline,
        tuple(names),
        tuple(weights),
        checked_pace(units_per_day or pace, name),
        control,
        verdict.rule_of(saved),
        "experiment",
        name,
        target,
    )


def control_of(stats: Stats, chosen: str | None) -> int:
    return stats.names.index(chosen) if chosen in stats.names else 0


def goal_of(lake: Lake, kind, experiment) -> tuple:
    """An experiment on units' goal metric (its first metric without one): its type object,
    statistics, control, the experiment's pace, its summary options and the metric's name."""
    from vibes_core import scorecard
    from vibes_core.inference import Settings

    reading = scorecard.read(kind, lake, experiment, Settings(), None, lambda _: None)
    scored = next((s for s in reading.scored if s.role.role == "goal"), reading.scored[0])
    stats = scored.fitting.stats
    control = control_of(stats, reading.options.get("control"))
    pace = reading.common["events_per_day"]
    return scored.fitting.kind, stats, control, pace, reading.options, scored.metric.name


def from_metric(
    lake: Lake,
    metric_name: str,
    units_per_day: float | None = None,
    split: str | dict | None = None,
) -> Design:
    """A plan of an experiment on units judged on the metric ``metric_name``, not started yet:
    its event table over its last METRIC_DAYS days read as if an experiment had exposed each
    unit at its first event of them (its window complete: units first seen in the metric's
    window before the last event are left out). Units per day: those units over the days they
    were first seen in; baseline and sd: their values of the metric; CUPED's expected
    reduction: the squared correlation of their values with the metric over its pre-window
    before that first event, where the metric is adjusted."""
    from vibes_core import metrics, unit_stats
    from vibes_core.types import registry

    metric = metrics.get(lake, metric_name)
    hours = METRIC_DAYS * 24 - (metric.window_hours or 0)
    if hours < 24:
        raise VibesError(
            f"metric {metric_name}'s window ({metric.window}) leaves less than a day of the last "
            f"{METRIC_DAYS} days to expose units in: give {option('type')} with "
            f"{option('baseline')}"
        )
    scoring = next(k for k in registry().values() if isinstance(k, Scorecard))
    snapshot = lake.snapshot_id()
    table = f"{metrics.event_table(metric.table)} AT (VERSION => {int(snapshot)})"
    latest = f"(SELECT max(timestamp) FROM {table})"
    source = (
        f"(SELECT unit, 'all' AS variant, min(timestamp) AS timestamp FROM {table} "
        f"WHERE timestamp >= {latest} - INTERVAL {METRIC_DAYS * 24} HOUR GROUP BY unit "
        f"HAVING min(timestamp) < {latest} - INTERVAL {metric.window_hours or 0} HOUR)"
    )
    adjust = bool(metric.pre_window_hours)
    with lake.reading(f"reading {metric.table}"):
        exposed = unit_stats.exposures(lake.con, source)
        units = float(sum(exposed.units.values()))
        rows = (
            unit_stats.metric_stats(lake.con, source, [metric], exposed, snapshot, adjust)[
                metric.name
            ]
            if units
            else []
        )
    where = f"metric {metric_name}'s table {metric.table} (its last {METRIC_DAYS} days)"
    kind = scoring.metric_kind(metric)
    if rows and adjust:
        adjusted = scoring.metric_kind(metric, adjusted=True)
        if adjusted.adjustable(adjusted.stats(rows)):
            kind = adjusted
    kind = plannable(kind)
    if not rows:
        checked_baseline(Baseline(math.nan, math.nan), where, 0)
    stats = kind.stats(rows)
    baseline = checked_baseline(kind.baseline_of(stats, 0), where, units)
    names, weights = split_of(split, None)
    return Design(
        kind,
        baseline,
        tuple(names),
        tuple(weights),
        checked_pace(units_per_day or units / (hours / 24), where),
        source="metric",
        name=metric_name,
        target=Target("metric", metric_name),
    )
