"""The scorecard of an experiment on units: every metric in its role analysed by its kind's
family (exact, or all of them in one PyMC model: one compile, one sampling, one cached fit),
and one verdict from the goal's and the guardrails'.

The verdict: **choose** V when the goal chooses V (its own rule, vibes_core.verdict) and on
every guardrail P(V is worse than the control by more than its margin) < HARMLESS;
**reject** (no choice; ``blocked_by`` names them) when that probability is >= HARMED on some
guardrail; **keep-running** when the goal keeps running, or chooses V and a guardrail is in
between; **no-difference** when the goal says so. Secondary metrics are reported, never in
the verdict. A goal that chooses the control ships nothing new: guardrails do not apply.
"""

import hashlib
import json
import tempfile
from dataclasses import dataclass, replace
from importlib.metadata import version
from typing import TYPE_CHECKING

from vibes_core import catalog, inference, learned, metrics, unit_stats, verdict
from vibes_core.analysis import DEFAULT_HDI_PROB
from vibes_core.cache import Cache, CacheError
from vibes_core.capabilities import Poolable, Segmentable
from vibes_core.errors import InvalidOption, NotFound, VibesError, option
from vibes_core.families import AdjustedMean
from vibes_core.inference import (
    SAMPLER,
    Fitting,
    Settings,
    diagnose,
    diagnostic_warnings,
    fit_settings,
    stable,
    strict,
    versioned,
)
from vibes_core.lake import Lake
from vibes_core.models import Data, Independent, Segmented
from vibes_core.schema import ANSWER_KEYS
from vibes_core.summary import relative_words
from vibes_core.text import printable
from vibes_core.units import percent

if TYPE_CHECKING:
    from vibes_core.types.assignments import Assignments

HARMLESS = 0.05  # a guardrail passes when P(harm beyond its margin) is below this
HARMED = 0.95  # and blocks the choice from this on
REJECT = "reject"
SCORECARD_VERSION = 1  # of the combined model and its cache key


@dataclass(frozen=True)
class Scored:
    """One metric of the scorecard: its role, its definition, and its fit."""

    role: metrics.MetricRole
    metric: metrics.Metric
    fitting: Fitting
    unadjusted: str | None = None  # why a metric with a pre-window was not adjusted

    @property
    def prefix(self) -> str:  # its variables' names in the combined model
        return f"{self.metric.name}::"

    @property
    def adjusted(self) -> bool:
        return isinstance(self.fitting.kind, AdjustedMean)


@dataclass(frozen=True)
class Reading:
    """What a scorecard is made of at one snapshot: each metric ready to fit, and what their
    summaries share. ``findings`` turns one estimate per metric into the scorecard's."""

    kind: "Assignments"
    head: dict  # the answer's own keys: experiment, type, snapshot, ...
    scored: list[Scored]
    exposed: unit_stats.Exposures
    options: dict  # the control, the split, the verdict's thresholds
    common: dict  # each metric's summary options: those, the HDI probability, the pace
    warnings: list[str]
    source: str  # the assignments table as of the snapshot (SQL)

    def findings(self, estimates) -> dict:
        summaries = [
            summarized(s, estimate, self.common)
            for s, estimate in zip(self.scored, estimates, strict=True)
        ]
        return card(summaries, self.exposed, self.options, self.warnings)


def posterior(
    kind: "Assignments",
    lake: Lake,
    experiment: catalog.Experiment,
    settings: Settings,
    how: inference.Asked,
    as_of: int | None = None,
) -> dict | None:
    """The scorecard of ``experiment`` (or, with ``settings.metric``, that metric's summary in
    the shape of any experiment's), exact or by MCMC (cached)."""
    reading = read(kind, lake, experiment, settings, as_of, how.warn)
    if settings.model != Independent():
        return one_model(reading, lake, settings, how)
    if how.exact:
        estimates = [s.fitting.kind.exact(s.fitting.stats, s.fitting.prior) for s in reading.scored]
        found = reading.findings(estimates)
        answer = {**reading.head, "cached": False, "method": "exact", **found, "diagnostics": None}
    else:
        answer = fitted(reading, lake, settings, how)
        if answer is None:
            return None
    if settings.metric is not None:
        return strict(one_metric(answer, settings.metric))
    return strict(answer)


def read(kind, lake: Lake, experiment, settings: Settings, as_of: int | None, warn) -> Reading:
    """The experiment's metrics at the snapshot asked for, each checked and ready to fit."""
    name, metric = experiment.name, settings.metric
    if settings.model != Independent() and metric is None:
        raise InvalidOption(
            f"{name} is judged on metrics, each with its own model: {model_flag(settings.model)} "
            f"is for one of them ({option('metric')} M, a proportion metric)"
        )
    if settings.prior is not None:
        raise InvalidOption(
            f"{name}'s metrics each have their kind's prior: leave out {option('prior')}"
        )
    current = lake.snapshot_id()
    if as_of is not None and not 0 <= as_of <= current:
        raise InvalidOption(f"{option('as_of')} {as_of} does not exist: the lake is at {current}")
    snapshot = current if as_of is None else as_of
    source = catalog.table_at(lake, experiment, snapshot)
    roles = experiment.metrics
    if not roles:
        raise VibesError(
            f"{name} has no metrics yet: give it some (`vibes experiments metrics {name} --goal "
            "METRIC --guardrail METRIC:5% --secondary METRIC`)"
        )
    if metric is not None and metric not in [r.metric for r in roles]:
        used = ", ".join(r.metric for r in roles)
        raise NotFound(f"{name} has no metric {metric!r}; its metrics: {used}")
    warnings = [f"{name}: {problem}" for problem in experiment.problems]
    with lake.reading(f"reading {name}"):
        exposed = unit_stats.exposures(lake.con, source)
        if not exposed.units:
            raise VibesError(f"{name} has no assignments yet: upload some")
        order = catalog.in_recorded_order(
            [{"variant": v} for v in exposed.units], "variant", experiment.groups
        )
        units = {row["variant"]: exposed.units[row["variant"]] for row in order}
        exposed = unit_stats.Exposures(units, exposed.excluded)
        defined, left_out = definitions(lake, roles)
        warnings += left_out
        if metric is not None and metric not in [m.name for _, m in defined]:
            raise VibesError(next(w for w in left_out if f" {metric} is left out" in w))
        adjust = settings.adjust and settings.model == Independent()  # see one_model
        rows = unit_stats.metric_stats(
            lake.con, source, [m for _, m in defined], exposed, snapshot, adjust
        )
    hdi_prob = settings.hdi_prob or experiment.analysis.hdi_prob or DEFAULT_HDI_PROB
    options = summary_options(settings, experiment, list(exposed.units), warn)
    if settings.effect_prior is not None:
        learned.check_model(settings.model)
        options["effect_priors"] = learned_priors(lake, name, [m for _, m in defined], warn)
    # The pace of new units: assignment rows per day lately (a repeated row is rare).
    pace = catalog.events_per_day(lake, experiment, as_of)
    head = {
        "experiment": name,
        "type": kind.name,
        "model": Independent.name,
        "snapshot": snapshot,
        "prior": {},
        "hdi_prob": hdi_prob,
    }
    return Reading(
        kind,
        head,
        [scored_metric(kind, role, m, rows[m.name]) for role, m in defined],
        exposed,
        options,
        {**options, "hdi_prob": hdi_prob, "events_per_day": pace},
        warnings,
        source,
    )


def learned_priors(lake: Lake, name: str, defined: list, warn) -> dict[str, dict]:
    """``--prior learned``: each metric's learned prior (vibes_core.learned), by name; a
    metric without one keeps its default prior, and says so; none with one is an error."""
    found, missing = {}, []
    for metric in defined:
        target = learned.Target("metric", metric.name)
        try:
            found[metric.name] = learned.for_analysis(lake, target, name, warn).options()
        except VibesError as error:
            missing.append(f"{metric.name} ({error})")
    if not found:
        raise NotFound(
            f"no metric of {name} has a learned prior: `vibes priors learn --metric M` learns one"
        )
    for why in missing:
        warn(f"the metric {why}: it has its kind's default prior")
    return found


def model_flag(model) -> str:
    return (
        f"{option('by')} {printable(model.by)}"
        if isinstance(model, Segmented)
        else option("pooled")
    )


def one_model(
    reading: Reading, lake: Lake, settings: Settings, how: inference.Asked
) -> dict | None:
    """``--metric M`` with ``--pooled`` or ``--by``: that metric alone, fitted with that model
    (MCMC, cached as any experiment's fit), in the shape of any experiment's summary."""
    model, name = settings.model, reading.head["experiment"]
    scored = next(s for s in reading.scored if s.metric.name == settings.metric)
    kind, metric = scored.fitting.kind, scored.metric
    capability = Segmentable if isinstance(model, Segmented) else Poolable
    if not isinstance(kind, capability):
        having = [s.metric.name for s in reading.scored if isinstance(s.fitting.kind, capability)]
        others = f"; of {name}'s, {', '.join(having)} can" if having else ""
        raise InvalidOption(
            f"{model_flag(model)}: the metric {metric.name} is a {kind.name}, and only proportion "
            f"metrics have that model{others}"
        )
    problem = model.problem(kind, name, how.exact)
    if problem is not None:
        raise problem
    stats, rows = scored.fitting.stats, scored.fitting.data.rows
    model.check_data(kind, name, stats)
    prior = model.prior(kind, None, stats)
    snapshot = reading.head["snapshot"]

    def segment_rows(by: str) -> list[dict]:
        if by not in kind.segment_columns:
            raise InvalidOption(
                f"{option('by')} {printable(by)}: the units of {name} are broken down by "
                f"{', '.join(kind.segment_columns)}"
            )
        with lake.reading(f"reading {name}"):
            found = unit_stats.segment_stats(lake.con, reading.source, metric, snapshot)
        if all(row["segment"] is None for row in found):
            raise InvalidOption(
                f"{name} has no segment values yet: upload assignments with a segment column "
                "to break it down"
            )
        return found

    control = reading.options.get("control")
    fitting = Fitting(kind, model, model.data(kind, stats, rows, control, segment_rows), prior)
    options = {k: v for k, v in reading.common.items() if k != "split"} | {"prior": prior}
    head = {**reading.head, "model": model.name, "prior": prior}
    keyed = f"{name} {metric.name}"  # the fit of one metric, apart from the scorecard's
    answer = inference.answer(lake, fitting, settings, options, head, how, keyed)
    if answer is None:
        return None
    if settings.adjust and metric.pre_window_hours:
        flag = f"--by {model.by}" if isinstance(model, Segmented) else "--pooled"
        answer["warnings"].append(
            f"{metric.name} is not adjusted for what units did before exposure here: "
            f"{flag} fits it as it is"
        )
    return strict({**answer, "metric": metric.name, **described(scored), "adjustment": None})


def fitted(reading: Reading, lake: Lake, settings, how: inference.Asked):
    """The MCMC scorecard: cached, else every metric fitted in one PyMC model and stored."""
    warn = how.warn
    name = reading.head["experiment"]
    key = cache_key(name, reading.scored, settings)
    cache = Cache(lake.config, warn=warn, reader=lake.con if lake.config.s3 else None)
    options = versioned(reading.common, reading.kind)
    if how.use_cache:
        try:
            hit = cache.lookup(key, name, options)
            if hit is not None:
                summary = hit.summary
                if hit.options != options:
                    summary = from_draws(cache, hit, reading)
                    cache.keep_summary(name, replace(hit, summary=summary, options=options))
                return {**reading.head, "cached": True, **summary}
        except CacheError as error:
            warn(f"{error}; fitting afresh")
    if not how.fit:
        return None
    cache.start_storing()
    try:
        return fit_all(cache, key, reading, settings, how, options)
    finally:
        cache.stop_storing()


def definitions(lake: Lake, roles) -> tuple[list, list[str]]:
    """Each role's metric, read and checked; a metric that cannot be (deleted, its table
    gone, an expression refused) is left out, and said: the others still answer."""
    found, warnings = [], []
    for role in roles:
        try:
            found.append((role, metrics.get(lake, role.metric)))
        except VibesError as error:
            warnings.append(f"the {role.role} {role.metric} is left out: {error}")
    return found, warnings


def summary_options(settings: Settings, experiment, variants: list[str], warn) -> dict:
    """The control, the split and the verdict's thresholds: given, else saved. A control or a
    split of other variants is an error when given, left out (and said) when saved."""
    saved = experiment.analysis.summary_options()
    options = {k: v for k, v in saved.items() if k in ("control", "split", "max_loss", "rope")}
    options |= settings.options
    problems = {}
    if options.get("control") not in (None, *variants):
        problems["control"] = f"{options['control']!r} is not a variant with units"
    if "split" in options and set(options["split"]) != set(variants):
        problems["split"] = f"it must weigh exactly the variants with units ({', '.join(variants)})"
    for key, why in problems.items():
        if key in settings.options:
            raise InvalidOption(f"{option(key)}: {why}")
        warn(f"{experiment.name}'s saved {key} is left out: {why}")
        options.pop(key)
    return options


def scored_metric(kind, role, metric, rows) -> Scored:
    """The metric ready to fit: adjusted for its covariate (CUPED) where its rows have one
    that can adjust it, else by its kind's family."""
    unadjusted = None
    if "sum_x" in rows[0]:
        adjusted = kind.metric_kind(metric, adjusted=True)
        stats = adjusted.stats(rows)
        if adjusted.adjustable(stats):
            fitting = Fitting(adjusted, Independent(), Data(stats, rows), {})
            return Scored(role, metric, fitting)
        unadjusted = (
            f"not adjusted: what units did in the {metric.pre_window} before exposure does not "
            "vary within variants (no events then?)"
        )
    metric_kind = kind.metric_kind(metric)
    stats = metric_kind.stats(rows)
    prior = metric_kind.prior(None, stats)
    fitting = Fitting(metric_kind, Independent(), Data(stats, rows), prior)
    return Scored(role, metric, fitting, unadjusted)


def adjustment(scored: Scored) -> dict | None:
    """What adjusting did to a metric: its covariate's slope and within-variant correlation
    with the metric, and how much smaller the variance of the control's first comparison
    became (1 - adjusted / unadjusted: the regression's, from the sums)."""
    if not scored.adjusted:
        return None
    fit = AdjustedMean.regression(scored.fitting.stats.values)
    n = fit["n"]
    slope, sxx, syy, rss, dof, correlation = (
        float(fit[key][0]) for key in ("slope", "sxx", "syy", "rss", "dof", "correlation")
    )
    first = 1.0 / n[0] + 1.0 / n[1] if len(n) > 1 else 1.0 / n[0]
    shift = (fit["x_mean"][1] - fit["x_mean"][0]) ** 2 if len(n) > 1 else 0.0
    adjusted = rss / dof * (first + shift / sxx)
    unadjusted = syy / (dof + 1) * first
    return {
        "method": "cuped",
        "pre_window": scored.metric.pre_window,
        "theta": slope,
        "correlation": correlation,
        "variance_reduction": 1.0 - adjusted / unadjusted,
    }


def summarized(scored: Scored, estimate, common: dict) -> dict:
    """One metric's summary (its kind's, as any experiment's) and where it stands."""
    fitting = scored.fitting
    learned_prior = common.get("effect_priors", {}).get(scored.metric.name)
    options = {**common, "prior": fitting.prior, "effect_prior": learned_prior}
    options = {k: v for k, v in options.items() if k not in ("split", "effect_priors")}
    found = fitting.summarize(estimate, options)
    metric, role = scored.metric, scored.role
    if found["control"] is not None:
        c = found["groups"].index(next(g for g in found["groups"] if g["control"]))
        draws = estimate.draws()
        for i, row in enumerate(found["groups"]):
            if i == c:
                continue
            row["p_harm"] = harm(draws[:, i], draws[:, c], role.margin, metric.lower_is_better)
            row["status"] = status(role.role, row)
    if scored.unadjusted:
        found["warnings"] = [scored.unadjusted, *found["warnings"]]
    found = {"adjustment": adjustment(scored), **found}
    return {**described(scored), "method": estimate.method, "prior": fitting.prior, **found}


def described(scored: Scored) -> dict:
    """A metric's summary's first keys: what it is and its role."""
    metric, role = scored.metric, scored.role
    return {
        "name": metric.name,
        "role": role.role,
        "kind": metric.kind,
        "table": metric.table,
        "lower_is_better": metric.lower_is_better,
        "margin": role.margin,
    }


def harm(variant, control, margin: float, lower_is_better: bool) -> float:
    """P(the variant is worse than the control by more than ``margin`` of the control)."""
    import numpy as np

    if lower_is_better:
        return float(np.mean(variant > control * (1 + margin)))
    return float(np.mean(variant < control * (1 - margin)))


def status(role: str, row: dict) -> str:
    """Where a treated variant stands on a metric, in a word."""
    if role == "guardrail":
        if row["p_harm"] >= HARMED:
            return "harmed"
        return "within margin" if row["p_harm"] < HARMLESS else "unclear"
    better = row["p_beats_control"]
    if better >= 1 - HARMLESS:
        return "better"
    return "worse" if better <= HARMLESS else "unclear"


def card(summaries: list[dict], exposed, options: dict, warnings: list) -> dict:
    """The scorecard's findings from each metric's summary."""
    from vibes_core.srm import srm_check

    units = exposed.units
    srm = srm_check(list(units), [float(n) for n in units.values()], options.get("split"))
    found_warnings = list(warnings)
    if exposed.excluded:
        found_warnings.append(
            f"{exposed.excluded:,} units were assigned to more than one variant: left out of "
            "every metric; check how units are assigned"
        )
    if srm and srm["flagged"]:
        found_warnings.append(
            f"sample ratio mismatch in units per variant (p = {srm['p_value']:.2g}): check how "
            "units are assigned" + ("" if srm["declared"] else ", or declare the intended --split")
        )
    for summary in summaries:
        found_warnings += [f"{summary['name']}: {w}" for w in summary["warnings"]]
    judged = judge(summaries)
    control = summaries[0]["control"] if summaries else next(iter(units))
    return {
        "control": control,
        "units": units,
        "excluded_units": exposed.excluded,
        "srm": srm,
        "metrics": summaries,
        "verdict": judged,
        "decision": decision(judged, summaries),
        "warnings": found_warnings,
    }


def judge(summaries: list[dict]) -> dict:
    goal = next((s for s in summaries if s["role"] == "goal"), None)
    rule = (
        "the goal's verdict; a choice also needs P(worse than the control by more than its "
        f"margin) < {percent(HARMLESS, 0)} on every guardrail, and is rejected at "
        f"{percent(HARMED, 0)} or more on any"
    )
    verdict_of = {"action": verdict.KEEP_RUNNING, "choice": None, "blocked_by": [], "unclear": []}
    if goal is None:
        return {**verdict_of, "rule": "the goal cannot be read: no verdict (see the warnings)"}
    action, choice = goal["verdict"]["action"], goal["verdict"]["choice"]
    if action != verdict.CHOOSE:
        return {**verdict_of, "action": action, "rule": rule}
    if choice == goal["control"]:
        return {**verdict_of, "action": action, "choice": choice, "rule": rule}
    guardrails = [s for s in summaries if s["role"] == "guardrail"]
    rows = {s["name"]: row_of(s, choice) for s in guardrails}
    blocked = [name for name, row in rows.items() if row and row["p_harm"] >= HARMED]
    unclear = [name for name, row in rows.items() if row and HARMLESS <= row["p_harm"] < HARMED]
    if blocked:
        return {
            **verdict_of,
            "action": REJECT,
            "blocked_by": blocked,
            "unclear": unclear,
            "rule": rule,
        }
    if unclear:
        return {**verdict_of, "unclear": unclear, "rule": rule}
    return {**verdict_of, "action": verdict.CHOOSE, "choice": choice, "rule": rule}


def adjusted_words(summary: dict) -> str:
    """Which metrics were adjusted for their pre-exposure values (CUPED) and how much
    variance that took away, in a line; "" when none was."""
    adjusted = [m for m in summary["metrics"] if m.get("adjustment")]
    if not adjusted:
        return ""
    windows = ", ".join(sorted({m["adjustment"]["pre_window"] for m in adjusted}))
    changes = ", ".join(
        f"{m['name']} {-100 * m['adjustment']['variance_reduction']:+.0f}%" for m in adjusted
    )
    ratios = [m["name"] for m in summary["metrics"] if m["kind"] == "ratio"]
    left = f"; not adjusted: {', '.join(ratios)} (ratios)" if ratios else ""
    return f"adjusted for the {windows} before exposure (CUPED), variance: {changes}{left}"


def row_of(summary: dict, variant: str) -> dict | None:
    return next((g for g in summary["groups"] if g["name"] == variant), None)


def uplift_words(summary: dict, variant: str) -> str:
    """``purchased +9.7% [+6.0, +13.4]``: a metric's relative uplift of ``variant``, its HDI."""
    row = row_of(summary, variant)
    if row is None or "uplift_rel" not in row:
        return f"{summary['name']} (no comparison)"
    return f"{summary['name']} {relative_words(row)}"


def share(margin: float) -> str:
    """A margin as typed: 5%, 2.5%, 100%."""
    return f"{100 * margin:g}%"


def decision(judged: dict, summaries: list[dict]) -> str:
    goal = next((s for s in summaries if s["role"] == "goal"), None)
    if goal is None:
        return "No verdict: the goal cannot be read (see the warnings)."
    action, choice = judged["action"], judged["choice"]
    guardrails = {s["name"]: s for s in summaries if s["role"] == "guardrail"}
    leader = goal["verdict"]["choice"] or leading(goal)

    def margin_words(name: str) -> str:
        margin = guardrails[name]["margin"]
        return f"their {share(margin)} margin" if margin else "no worse than the control"

    if action == verdict.CHOOSE and choice == goal["control"]:
        return f"Keep {choice}: no treatment beats it on {goal['name']}. {goal['decision']}"
    if action == verdict.CHOOSE:
        held = "; ".join(f"{n} within {margin_words(n)}" for n in guardrails) or "no guardrails"
        return f"Choose {choice}: {uplift_words(goal, choice)}; {held}."
    if action == REJECT:
        blocked = ", ".join(
            f"{uplift_words(guardrails[n], leader)} beyond {margin_words(n)}"
            for n in judged["blocked_by"]
        )
        return f"Do not ship {leader}: {uplift_words(goal, leader)}, but {blocked}."
    if action == verdict.NO_DIFFERENCE:
        return f"No difference on {goal['name']}: ship nothing new. {goal['decision']}"
    if judged["unclear"]:
        unclear = ", ".join(judged["unclear"])
        return (
            f"Keep running: {uplift_words(goal, leader)} chooses {leader}, but {unclear} "
            f"may be harmed beyond the margin; more data will tell."
        )
    return goal["decision"]


def leading(summary: dict) -> str:
    ranked = [g for g in summary["groups"] if g["p_best"] is not None]
    return (
        max(ranked, key=lambda g: g["p_best"])["name"] if ranked else summary["groups"][0]["name"]
    )


def one_metric(answer: dict, metric: str) -> dict:
    """``--metric``: that metric's summary out of the scorecard, in the shape of any
    experiment's (its own prior and method), with its name under ``metric``."""
    found = next(m for m in answer["metrics"] if m["name"] == metric)
    head = {k: v for k, v in answer.items() if k in ANSWER_KEYS}
    return {**head, "metric": metric, **found, "diagnostics": answer["diagnostics"]}


# --- MCMC: every metric in one PyMC model -----------------------------------------------------
def cache_key(name: str, scored: list[Scored], settings: Settings) -> str:
    parts = {
        "experiment": name,
        "scorecard": SCORECARD_VERSION,
        "metrics": [
            {
                "definition": s.metric.as_json(),
                "model_version": s.fitting.kind.model_version,
                "stats": stable(s.fitting.data.rows),
                "prior": stable(s.fitting.prior),
            }
            for s in scored
        ],
        "sampler": SAMPLER,
        "pymc": version("pymc"),
        **fit_settings(settings),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def combined_model(scored: list[Scored]):
    """One PyMC model of every metric: each kind's model under its metric's name."""
    import pymc as pm

    with pm.Model() as model:
        for s in scored:
            with pm.Model(name=s.metric.name):
                s.fitting.build()
    return model


def own_variables(posterior, scored: Scored):
    """The metric's variables of a combined fit, under their own names."""
    dataset = posterior.to_dataset() if hasattr(posterior, "to_dataset") else posterior
    names = [v for v in dataset.data_vars if v.startswith(scored.prefix)]
    return dataset[names].rename({v: v.split("::")[-1] for v in names})


def fit_all(cache, key: str, reading: Reading, settings, how: inference.Asked, options) -> dict:
    """Sample every metric in one model, summarize, diagnose, and store the fit."""
    scored, head = reading.scored, reading.head
    model = combined_model(scored)
    target = max(s.fitting.model.target_accept(s.fitting.kind) for s in scored)
    # inference.sample looked up now: the snapshot tests replay recorded draws through it.
    idata, seconds = inference.sample(model, settings, how.progress, target)
    parameters = [v.name for v in model.free_RVs]
    diagnostics = diagnose(idata, parameters, seconds, settings, target)
    found = reading.findings([s.fitting.draws(own_variables(idata.posterior, s)) for s in scored])
    found["warnings"] += diagnostic_warnings(diagnostics)
    result = strict({"method": "mcmc", **found, "diagnostics": diagnostics})
    inference.store_fit(
        cache,
        key,
        idata,
        how.warn,
        tags={
            "experiment": head["experiment"],
            "snapshot": head["snapshot"],
            "type": reading.kind.name,
        },
        params={
            **fit_settings(settings),
            "sampler": SAMPLER,
            "model": "scorecard",
            "metrics": ",".join(s.metric.name for s in scored),
        },
        metrics={"fit_seconds": seconds},
        summary=result,
        options=options,
    )
    return {**head, "cached": False, **result}


def from_draws(cache, hit, reading: Reading) -> dict:
    """A cached scorecard fit summarized again (other options, or newer code)."""
    import xarray as xr

    with (
        tempfile.TemporaryDirectory(prefix="vibes-cache-") as tmp,
        xr.open_dataset(
            cache.posterior_file(hit, tmp), group="posterior", engine="h5netcdf"
        ) as post,
    ):
        found = reading.findings([s.fitting.draws(own_variables(post, s)) for s in reading.scored])
    diagnostics = hit.summary["diagnostics"]
    found["warnings"] += diagnostic_warnings(diagnostics)
    return strict({"method": "mcmc", **found, "diagnostics": diagnostics})
