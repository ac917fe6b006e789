"""Learning a prior of effects from the lake's past experiments (vibes_core.learned keeps it):
each treated variant's effect is the log ratio of its quantity to the control's, its mean and
variance under the default prior's exact posterior; for a metric, as the scorecard reads it
(adjusted for its pre-exposure values where it is by default)."""

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from vibes_core import catalog
from vibes_core.effects import fit
from vibes_core.errors import VibesError
from vibes_core.inference import Settings
from vibes_core.lake import Lake
from vibes_core.learned import Learned, PastEffect, Target, check_enough, store
from vibes_core.scorecard import read
from vibes_core.summary import control_index
from vibes_core.types import get_type

if TYPE_CHECKING:
    from vibes_core.posterior import Estimate


def learn(lake: Lake, target: Target, warn) -> Learned:
    """Fit the prior to every past experiment's effects, keep it in the lake (one
    transaction; it replaces the one before), and return it. An experiment whose effects
    cannot be read is left out, and said."""
    snapshot = lake.snapshot_id()
    effects: list[PastEffect] = []
    for experiment in candidates(lake, target):
        try:
            if target.by == "type":
                effects += type_effects(lake, experiment, snapshot)
            else:
                effects += metric_effects(lake, experiment, target.name, snapshot)
        except VibesError as error:
            warn(f"{experiment.name} is left out: {error}")
    check_enough(target, effects)
    found = fit([e.estimate for e in effects], [e.variance for e in effects])
    now = datetime.now(UTC).replace(microsecond=0)
    learned = Learned(
        target, found.prior, found.why, snapshot, now.strftime(catalog.ISO_SECONDS), tuple(effects)
    )
    store(lake, learned)
    return learned


def candidates(lake: Lake, target: Target) -> list[catalog.Experiment]:
    experiments = catalog.list_experiments(lake).experiments
    if target.by == "type":
        return [e for e in experiments if e.type == target.name]
    return [e for e in experiments if target.name in [role.metric for role in e.metrics]]


def effects_of(name: str, estimate: "Estimate", kept: list[int], control: int) -> list[PastEffect]:
    """Each treated group's effect on the log scale, from the posterior's draws."""
    import numpy as np

    if control not in kept:
        return []
    draws = estimate.draws()
    if (draws[:, kept] <= 0).any():
        raise VibesError("its posterior is not always positive: effects are ratios")
    logs = np.log(draws)
    found = []
    for k in kept:
        if k == control:
            continue
        ratio = logs[:, k] - logs[:, control]
        found.append(PastEffect(name, estimate.names[k], float(ratio.mean()), float(ratio.var())))
    return found


def type_effects(lake: Lake, experiment: catalog.Experiment, snapshot: int) -> list[PastEffect]:
    """The effects of an experiment with a table of its own, at ``snapshot``."""
    saved = experiment.analysis
    kind = get_type(experiment.type).with_likelihood(saved.likelihood)
    rows = catalog.sufficient_stats(lake, experiment, snapshot)
    stats = kind.stats(rows)
    if len(stats.names) < 2:
        return []
    prior = kind.prior(None, stats)
    kept = [int(i) for i in kind.has_data(stats, prior).nonzero()[0]]
    control = control_index(kind, stats.names, saved.control)
    return effects_of(experiment.name, kind.exact(stats, prior), kept, control)


def metric_effects(
    lake: Lake, experiment: catalog.Experiment, metric: str, snapshot: int
) -> list[PastEffect]:
    """The effects of an experiment on units on one of its metrics (adjusted as by default),
    at ``snapshot``."""
    kind = get_type(experiment.type)
    reading = read(kind, lake, experiment, Settings(metric=metric), snapshot, lambda _: None)
    scored = next(s for s in reading.scored if s.metric.name == metric)
    fitting = scored.fitting
    stats, metric_kind = fitting.stats, fitting.kind
    if len(stats.names) < 2:
        return []
    kept = [int(i) for i in metric_kind.has_data(stats, fitting.prior).nonzero()[0]]
    control = control_index(metric_kind, stats.names, reading.options.get("control"))
    estimate = metric_kind.exact(stats, fitting.prior)
    return effects_of(experiment.name, estimate, kept, control)
