"""Families of models that types are built on: each one its statistics, priors, PyMC model and
exact posterior. A new family is a new class here (and, if it has a closed form of its own, a
``ClosedForm`` subclass in vibes_core.posterior); a type picks one by subclassing it.

- ``BetaBinomial``: a probability per group, from trials and successes.
- ``GammaPoisson``: a rate per unit of exposure per group, from event counts and exposure.
- ``LogNormalHurdle``: a value per user per group: the share of users with a value (Beta-
  Binomial) times the mean of a log-normal amount for those (Normal-Inverse-Gamma).
- ``UnitMean``: a value per user per group, on the same statistics: the mean of the values
  themselves, Normal by the central limit theorem (Normal-Inverse-Gamma), whatever their tail.

All are fitted on sufficient statistics (one row per group), never on one row per event.
The first three also have a pooled (hierarchical) model: the groups' parameters on a link scale
(log-odds, log rate) drawn from Normal(mu, tau), mu and tau estimated with the groups
(``pooled``).
"""

import math
from dataclasses import dataclass, replace
from typing import ClassVar

from vibes_core.capabilities import (
    Baseline,
    ExactPosterior,
    Plannable,
    Poolable,
    SimulatesFutures,
)
from vibes_core.stats import Stats
from vibes_core.types.base import ExperimentType, Field, Prior, Statistic
from vibes_core.units import PROBABILITY, RATE, SCALE, VALUE, Unit


# --- partial pooling, shared by the families ------------------------------------------------
def pooling_priors(scale: str, prefix: str = "", what: str = "") -> tuple[Prior, ...]:
    """The hyperpriors of one pooled parameter on a link ``scale``: mu ~ Normal(center,
    center_sd), centred where the data of all groups together is (the unit of exposure or
    value must not matter), and tau ** 2 ~ InverseGamma(tau_shape, tau_scale ** 2). Weakly
    informative: tau between 0.14 and 3 with 98% probability (groups alike within ±15% in
    odds or rate, or apart by a factor of 20), its median 0.36."""
    of = f" of {what}" if what else ""
    return (
        Prior(
            f"{prefix}center",
            math.nan,
            f"prior mean of mu, the groups' mean {scale}{of} (default: that of all groups "
            "together)",
            low=-1000.0,
            high=1000.0,
        ),
        Prior(f"{prefix}center_sd", 2.0, f"prior sd of mu, in {scale}", low=0.01, high=100.0),
        *spread_priors(f"the sd of the groups' {scale}{of}", prefix, 0.3),
    )


def spread_priors(what: str, prefix: str, scale: float) -> tuple[Prior, ...]:
    """tau ** 2 ~ InverseGamma(tau_shape, tau_scale ** 2), tau being ``what``: with shape 1,
    tau's median is 1.2 tau_scale, its 1% and 99% quantiles 0.47 and 10 tau_scale."""
    return (
        Prior(
            f"{prefix}tau_shape",
            1.0,
            f"InverseGamma prior of tau ** 2, tau {what}: shape",
            low=0.1,
            high=100.0,
        ),
        Prior(
            f"{prefix}tau_scale",
            scale,
            "the same prior's scale is tau_scale ** 2: with shape 1, tau's median is 1.2 "
            "tau_scale, its 1% and 99% quantiles 0.47 and 10 tau_scale",
            low=0.001,
            high=10.0,
        ),
    )


def pooling_fields(scale: str, typical: str, unit: Unit, prefix: str = "") -> tuple[Field, ...]:
    return (
        Field(f"{prefix}mu", f"the groups' mean {scale}", per_group=False, unit=SCALE),
        Field(
            f"{prefix}tau",
            f"the sd of the groups' {scale}: how much they differ (0: all alike)",
            per_group=False,
            unit=SCALE,
        ),
        Field(f"{prefix}typical", typical, per_group=False, unit=unit),
    )


def segmenting_priors(scale: str, prefix: str = "", what: str = "") -> tuple[Prior, ...]:
    """The priors of one parameter broken down by segment, on a link ``scale``: each
    segment's control ~ Normal(center, center_sd), each treated group's overall effect (its
    difference from the control) ~ Normal(0, effect_sd), and tau ** 2, the variance of that
    effect across segments, ~ InverseGamma(tau_shape, tau_scale ** 2). Weakly informative:
    tau between 0.05 (effects alike: within ±5% in odds or rate) and 1 (effects that differ
    by a factor of e) with 98% probability; the segments' data decide where."""
    of = f" of {what}" if what else ""
    return (
        Prior(
            f"{prefix}center",
            math.nan,
            f"prior mean of each segment's control {scale}{of} (default: that of all groups "
            "together)",
            low=-1000.0,
            high=1000.0,
        ),
        Prior(f"{prefix}center_sd", 2.0, f"prior sd of each segment's control, in {scale}"),
        Prior(
            f"{prefix}effect_sd",
            1.0,
            f"prior sd of each group's overall effect{of}: its difference from the control, "
            f"in {scale}",
            low=0.001,
            high=100.0,
        ),
        *spread_priors(f"the sd of a group's effect{of} across segments, in {scale}", prefix, 0.1),
    )


def segmenting_fields(scale: str, prefix: str = "") -> tuple[Field, ...]:
    return (
        Field(
            f"{prefix}effect",
            f"its overall difference from the control, in {scale}",
            per_group=False,
            unit=SCALE,
        ),
        Field(
            f"{prefix}tau",
            f"the sd of its effect across segments, in {scale} (0: alike)",
            per_group=False,
            unit=SCALE,
        ),
    )


def pooled(name: str, prior: dict[str, float], inverse, prefix: str = "", typical=None):
    """``name`` per group = inverse(theta), theta ~ Normal(mu, tau), inside a model's context;
    ``typical`` (default ``inverse``) of mu is the median group's quantity.

    tau is integrated out (``population``): the groups' theta are then jointly Student-t
    around mu, without the funnel between tau and them that a Normal(mu, tau) makes, centred
    or not (2 or 3 large groups: 10 to 20 divergences at target_accept 0.95; none integrated,
    at 0.9, with ESS four times higher). Its draws come afterwards (``spread_draws``)."""
    import pymc as pm

    mu = pm.Normal(f"{prefix}mu", mu=prior[f"{prefix}center"], sigma=prior[f"{prefix}center_sd"])
    theta = pm.Flat(f"{prefix}theta", dims="group")
    population(theta - mu, prior, prefix)
    pm.Deterministic(f"{prefix}typical", (typical or inverse)(mu))
    return pm.Deterministic(name, inverse(theta), dims="group")


def population(deviations, prior: dict[str, float], prefix: str) -> None:
    """The density of parameters Normal(their center, tau) each, tau ** 2 ~ InverseGamma(
    tau_shape, tau_scale ** 2) integrated out: (scale + sum of squares / 2) ** -(shape + n / 2)
    per row of ``deviations`` (each parameter minus its center, the last axis the n alike)."""
    import pymc as pm
    import pytensor.tensor as pt

    shape, scale = spread_prior(prior, prefix, deviations.shape[-1])
    squares = pt.sum(deviations**2, axis=-1)
    pm.Potential(f"{prefix}population", -pt.sum(shape * pt.log(scale + squares / 2)))


def segmented(name: str, prior: dict[str, float], inverse, control: int, shape, prefix=""):
    """``name`` per group and segment = inverse(alpha[segment] + delta[group, segment]), inside
    a model's context: alpha each segment's control, delta a group's effect in a segment (0
    for the control), delta[g, s] ~ Normal(effect[g], tau[g]) and tau[g] ** 2 ~ InverseGamma(
    tau_shape, tau_scale ** 2). ``shape``: (groups, segments).

    tau is integrated out: each group's effects are then jointly Student-t around its overall
    effect, a density without the funnel that a handful of segments makes of tau and the
    effects (four segments: 10 to 40 divergences at target_accept 0.95, centred or not). Its
    draws come afterwards (``spread_draws``)."""
    import numpy as np
    import pymc as pm
    import pytensor.tensor as pt

    groups, segments = shape
    treated = [g for g in range(groups) if g != control]
    alpha = pm.Normal(
        f"{prefix}alpha",
        mu=prior[f"{prefix}center"],
        sigma=prior[f"{prefix}center_sd"],
        dims="segment",
    )
    effect = pm.Normal(f"{prefix}effect", 0.0, prior[f"{prefix}effect_sd"], dims="treatment")
    delta = pm.Flat(f"{prefix}delta", dims=("treatment", "segment"))
    population(delta - effect[:, None], prior, prefix)
    theta = pt.zeros((groups, segments))
    theta = pt.set_subtensor(theta[np.array(treated)], delta)
    return pm.Deterministic(name, inverse(alpha[None, :] + theta), dims=("group", "segment"))


def spread_prior(prior: dict[str, float], prefix: str, size) -> tuple:
    """tau ** 2's conditional InverseGamma(shape, scale + sum of squares / 2), given ``size``
    parameters drawn around one center: its shape, and its scale before the data."""
    return prior[f"{prefix}tau_shape"] + size / 2, prior[f"{prefix}tau_scale"] ** 2


def spread_draws(variables: dict, prior: dict[str, float], rng, prefixes, spread: tuple) -> dict:
    """Draws of each integrated-out tau (``prefix`` + "tau"), one per draw of the fit, from
    its exact conditional given the parameters it spreads: joint draws then are exact
    posterior draws. Pooled: the groups' theta around mu, (chain, draw); segmented: each
    treated group's effects around its overall effect, (chain, draw, treatment)."""
    spread, center = spread
    found = {}
    for prefix in prefixes:
        deviations = variables[f"{prefix}{spread}"] - variables[f"{prefix}{center}"][..., None]
        shape, scale = spread_prior(prior, prefix, deviations.shape[-1])
        rate = scale + (deviations**2).sum(axis=-1) / 2
        found[f"{prefix}tau"] = (rate / rng.gamma(shape, 1.0, rate.shape)) ** 0.5
    return found


def share_estimate(successes, trials):
    """Each group's log-odds and its standard error, kept finite by half a success and half a
    failure."""
    import numpy as np

    share = (successes + 0.5) / (trials + 1.0)
    return np.log(share / (1 - share)), 1 / np.sqrt((trials + 1.0) * share * (1 - share))


class BetaBinomial(ExperimentType, ExactPosterior, Poolable, Plannable):
    statistics = (
        Statistic("trials", "events in the group"),
        Statistic("successes", "events that were a success"),
    )
    size = "trials"
    events = "trials"
    counts = ("n", "successes", "trials")
    priors = (
        Prior("alpha", 1.0, "Beta prior: pseudo-successes (1,1 is uniform on [0, 1])"),
        Prior("beta", 1.0, "Beta prior: pseudo-failures"),
    )
    parameter = "p"
    model_summary = "p ~ Beta(alpha, beta) per group; successes ~ Binomial(trials, p)"
    pooled_priors = pooling_priors("log-odds")
    hyperparameters = pooling_fields(
        "log-odds", "a typical group's rate: logistic(mu)", PROBABILITY
    )
    pooled_summary = (
        "logit(p) ~ Normal(mu, tau) per group; mu ~ Normal(center, center_sd), tau ** 2 ~ "
        "InverseGamma(tau_shape, tau_scale ** 2), integrated out; successes ~ Binomial(trials, p)"
    )
    segment_priors = segmenting_priors("log-odds")
    segment_hyperparameters = segmenting_fields("log-odds")
    segmented_summary = (
        "logit(p) = alpha[segment] + delta[group, segment], delta 0 for the control, "
        "delta[group, segment] ~ Normal(effect[group], tau[group]); alpha ~ Normal(center, "
        "center_sd), effect ~ Normal(0, effect_sd), tau ** 2 ~ InverseGamma(tau_shape, "
        "tau_scale ** 2); successes ~ Binomial(trials, p)"
    )

    def model(self, stats: Stats, prior: dict[str, float]):
        import pymc as pm

        with pm.Model(coords=stats.coords) as model:
            p = pm.Beta(self.parameter, alpha=prior["alpha"], beta=prior["beta"], dims="group")
            pm.Binomial(
                "successes", n=stats["trials"], p=p, observed=stats["successes"], dims="group"
            )
        return model

    def from_data(self, prior: str, stats: Stats, values: dict[str, float]) -> float:
        return float(share_estimate(stats["successes"].sum(), stats["trials"].sum())[0])

    def pooled_model(self, stats: Stats, prior: dict[str, float]):
        import pymc as pm

        with pm.Model(coords=stats.coords) as model:
            p = pooled(self.parameter, prior, pm.math.invlogit)
            pm.Binomial(
                "successes", n=stats["trials"], p=p, observed=stats["successes"], dims="group"
            )
        return model

    def segmented_model(self, cells, prior: dict[str, float]):
        import pymc as pm

        stats = cells.stats
        with pm.Model(coords=cells.coords) as model:
            shape = stats["trials"].shape
            p = segmented(self.parameter, prior, pm.math.invlogit, cells.control, shape)
            pm.Binomial(
                "successes",
                n=stats["trials"],
                p=p,
                observed=stats["successes"],
                dims=("group", "segment"),
            )
        return model

    def spread_draws(self, variables: dict, prior: dict[str, float], rng, spread: tuple) -> dict:
        return spread_draws(variables, prior, rng, ("",), spread)

    def exact(self, stats: Stats, prior: dict[str, float]):
        from vibes_core.posterior import BetaPosterior

        return BetaPosterior(
            stats.names,
            prior["alpha"] + stats["successes"],
            prior["beta"] + stats["trials"] - stats["successes"],
        )

    # --- futures, for how long to keep running (vibes_core.verdict) -------------------------
    def future_truths(self, stats, prior, rng, futures: int) -> dict:
        post = self.exact(stats, prior)
        return {"p": rng.beta(post.alpha, post.beta, (futures, len(stats.names)))}

    def future_stats(self, stats, batch: dict, truths: dict, rows, rng) -> dict:
        return {
            "trials": batch["trials"] + rows,
            "successes": batch["successes"] + rng.binomial(rows.astype(int), truths["p"]),
        }

    def future_draws(self, stats, batch: dict, prior, rng, draws: int):
        a = prior["alpha"] + batch["successes"]
        b = prior["beta"] + batch["trials"] - batch["successes"]
        return rng.beta(a[:, None, :], b[:, None, :], (a.shape[0], draws, a.shape[1]))

    # --- planning the next experiment (vibes_core.plan) -------------------------------------
    def baseline_of(self, stats, group: int) -> Baseline:
        trials = float(stats["trials"][group])
        share = float(stats["successes"][group]) / trials if trials else math.nan
        return Baseline(share, math.sqrt(share * (1 - share)) if trials else math.nan)

    def baseline_from(self, mean: float, sd: float | None) -> Baseline:
        from vibes_core.errors import InvalidOption, option

        if sd is not None:
            raise InvalidOption(
                f"{option('sd')} does not apply to a {self.quantity}: a share's sd follows from "
                "it (sqrt(p (1 - p))); leave it out"
            )
        if not (math.isfinite(mean) and 0 < mean < 1):
            raise InvalidOption(
                f"{option('baseline')} {mean:g} is not a {self.quantity}: give a share between "
                "0 and 100%, e.g. 10%"
            )
        return Baseline(mean, math.sqrt(mean * (1 - mean)))

    def planned_sd(self, baseline: Baseline, lift: float) -> float:
        from vibes_core.errors import InvalidOption, option

        share = baseline.mean * (1 + lift)
        if not 0 < share < 1:
            raise InvalidOption(
                f"{self.quantity} at {100 * baseline.mean:.3g}% changed by {100 * lift:+.3g}% "
                f"would be {100 * share:.3g}%, not a share: give a smaller {option('mde')}"
            )
        return math.sqrt(share * (1 - share))

    def planned_truths(self, baseline: Baseline, lifts, control: int, groups: int) -> dict:
        import numpy as np

        return {"p": np.clip(planned_values(baseline.mean, lifts, control, groups), 0.0, 1.0)}

    def planned_prior(self, baseline: Baseline) -> dict[str, float]:
        return {p.name: p.default for p in self.priors}


class GammaPoisson(ExperimentType, ExactPosterior, Poolable, SimulatesFutures):
    statistics = (
        Statistic("rows", "rows of counts"),
        Statistic("events", "events counted"),
        Statistic("exposure", "exposure the counts cover", limit=math.inf),
    )
    size = "exposure"
    events = "rows"
    counts = ("events/exp.", "events", "exposure")
    # Jeffreys' prior, rate^-1/2: the same whatever the unit of exposure. Gamma(1, 0.001)
    # was strong where units are small (1 event in 1e-6 units: an HDI without that rate).
    priors = (
        Prior("shape", 0.5, "Gamma prior: pseudo-events (Jeffreys: 0.5)"),
        Prior("rate", 0.0, "Gamma prior: pseudo-exposure (Jeffreys: 0)", low=0.0, high=1e100),
    )
    parameter = "rate"
    model_summary = "rate ~ Gamma(shape, rate) per group; events ~ Poisson(rate * exposure)"
    unit = RATE
    pooled_priors = pooling_priors("log rate")
    hyperparameters = pooling_fields("log rate", "a typical group's rate: exp(mu)", RATE)
    pooled_summary = (
        "log(rate) ~ Normal(mu, tau) per group; mu ~ Normal(center, center_sd), tau ** 2 ~ "
        "InverseGamma(tau_shape, tau_scale ** 2), integrated out; events ~ Poisson(rate * "
        "exposure)"
    )

    def from_data(self, prior: str, stats: Stats, values: dict[str, float]) -> float:
        return math.log((stats["events"].sum() + 0.5) / stats["exposure"].sum())

    def pooled_model(self, stats: Stats, prior: dict[str, float]):
        import pymc as pm

        with pm.Model(coords=stats.coords) as model:
            rate = pooled(self.parameter, prior, pm.math.exp)
            pm.Poisson(
                "events", mu=rate * stats["exposure"], observed=stats["events"], dims="group"
            )
        return model

    def spread_draws(self, variables: dict, prior: dict[str, float], rng, spread: tuple) -> dict:
        return spread_draws(variables, prior, rng, ("",), spread)

    def model(self, stats: Stats, prior: dict[str, float]):
        import pymc as pm

        with pm.Model(coords=stats.coords) as model:
            # The prior as a density on (0, inf): Jeffreys' (rate 0) is improper, which
            # pm.Gamma refuses; every cohort has exposure, so the posterior is proper.
            rate = pm.HalfFlat(self.parameter, dims="group")
            pm.Potential(
                "prior",
                pm.math.sum((prior["shape"] - 1) * pm.math.log(rate) - prior["rate"] * rate),
            )
            pm.Poisson(
                "events", mu=rate * stats["exposure"], observed=stats["events"], dims="group"
            )
        return model

    def has_data(self, stats: Stats, prior: dict[str, float]):
        """Events, or exposure in which the experiment's pooled rate expects one: a cohort
        seen for a millionth of a unit without events is its prior, whose tail would make it
        "highest"."""
        pooled = max(float(stats["events"].sum()), 0.5) / float(stats["exposure"].sum())
        return (stats["events"] > 0) | (stats["exposure"] * pooled >= 1)

    def exact(self, stats: Stats, prior: dict[str, float]):
        from vibes_core.posterior import GammaPosterior

        return GammaPosterior(
            stats.names, prior["shape"] + stats["events"], prior["rate"] + stats["exposure"]
        )

    def future_truths(self, stats, prior, rng, futures: int) -> dict:
        post = self.exact(stats, prior)
        return {"rate": rng.gamma(post.alpha, 1 / post.beta, (futures, len(stats.names)))}

    def future_stats(self, stats, batch: dict, truths: dict, rows, rng) -> dict:
        import numpy as np

        # Each new row covers the group's exposure per row so far (the experiment's, if none).
        overall = stats["exposure"].sum() / max(stats["rows"].sum(), 1)
        per_row = np.divide(
            stats["exposure"],
            stats["rows"],
            out=np.full(len(rows), overall),
            where=stats["rows"] > 0,
        )
        exposure = rows * per_row
        return {
            "rows": batch["rows"] + rows,
            "exposure": batch["exposure"] + exposure,
            "events": batch["events"] + rng.poisson(truths["rate"] * exposure),
        }

    def future_draws(self, stats, batch: dict, prior, rng, draws: int):
        a = prior["shape"] + batch["events"]
        b = prior["rate"] + batch["exposure"]
        return rng.gamma(a[:, None, :], 1 / b[:, None, :], (a.shape[0], draws, a.shape[1]))


class LogNormalHurdle(ExperimentType, ExactPosterior, Poolable, SimulatesFutures):
    """Value per user = p * exp(mu + variance / 2): p the share of users with a value > 0,
    and the log of those values Normal(mu, variance), with the conjugate Normal-Inverse-Gamma
    prior mu | variance ~ Normal(mu0, variance / kappa), variance ~ InverseGamma(shape, scale)
    cut at sd_max ** 2.

    The prior's mu0 is the mean log value of every buyer of the experiment unless given: the
    unit of the values (cents or dollars) must not matter, and a group with no buyer yet is
    then assumed to be like the others, with the weight of ``kappa`` (one) buyer. The cut: an
    Inverse-Gamma's tail makes E[exp(variance / 2)] infinite, so that a group with few buyers
    had a mean value per buyer of billions; a log-normal with sd 3 already has a mean 90 times
    its median, and a group's posterior is its prior's times the likelihood, so the cut
    changes nothing where the data has spoken (a warning says when the data presses on it)."""

    statistics = (
        Statistic("users", "users in the group"),
        Statistic("buyers", "users with a value > 0"),
        Statistic("sum_log", "sum of the log values of the buyers", limit=math.inf),
        Statistic("sum_log2", "sum of the squared log values of the buyers", limit=math.inf),
        # The values themselves: the fit check's observed mean, and the unit-mean model's data.
        Statistic("sum_value", "sum of the values", limit=math.inf),
        Statistic("sum_value2", "sum of the squared values", limit=math.inf),
    )
    size = "users"
    events = "users"
    counts = ("buyers/n", "buyers", "users")
    priors = (
        Prior("alpha", 1.0, "Beta prior of the share of buyers: pseudo-buyers"),
        Prior("beta", 1.0, "Beta prior of the share of buyers: pseudo-users without a value"),
        Prior(
            "mu0",
            math.nan,
            "prior mean of the log value (default: every buyer's mean)",
            low=-700.0,
            high=700.0,
        ),
        Prior("kappa", 1.0, "weight of mu0, in buyers"),
        # Mean 1, mode 0.5: log values spread as revenue's do; a thin enough tail that
        # exp(variance / 2) stays finite in every draw of a group without buyers.
        Prior("shape", 3.0, "Inverse-Gamma prior of the log values' variance: shape"),
        Prior("scale", 2.0, "Inverse-Gamma prior of the log values' variance: scale"),
        Prior(
            "sd_max",
            3.0,
            "largest sd of the log values: the variance's prior is cut there",
            low=0.1,
            high=10.0,
        ),
    )
    model_summary = (
        "p ~ Beta(alpha, beta), buyers ~ Binomial(users, p); log value of a buyer ~ "
        "Normal(mu, variance), mu ~ Normal(mu0, variance / kappa), variance ~ "
        "InverseGamma(shape, scale) up to sd_max ** 2; value per user = p * exp(mu + variance / 2)"
    )
    unit = VALUE
    target_accept = 0.95  # a group with few buyers has a funnel between mu and variance
    pooled_target_accept = 0.95
    pooled_priors = (
        *pooling_priors("log-odds", "p_", "the share of buyers"),
        *pooling_priors("mean log value", "log_"),
        *priors[4:],  # each group's variance keeps its own prior, cut at sd_max
    )
    hyperparameters = (
        *pooling_fields(
            "log-odds of buying", "a typical group's share of buyers", PROBABILITY, "p_"
        ),
        *pooling_fields(
            "mean log value", "a typical group's median value per buyer", VALUE, "log_"
        ),
    )
    pooled_summary = (
        "logit(p) ~ Normal(p_mu, p_tau) and mu ~ Normal(log_mu, log_tau) per group, each mu ~ "
        "Normal(center, center_sd) and tau ** 2 ~ InverseGamma(tau_shape, tau_scale ** 2), "
        "integrated out; "
        "buyers ~ Binomial(users, p); log value of a buyer ~ Normal(mu, variance), variance ~ "
        "InverseGamma(shape, scale) up to sd_max ** 2"
    )
    segment_priors = (
        *segmenting_priors("log-odds", "p_", "the share of buyers"),
        *segmenting_priors("mean log value", "log_"),
        *priors[4:],
    )
    segment_hyperparameters = (
        *segmenting_fields("log-odds of buying", "p_"),
        *segmenting_fields("mean log value", "log_"),
    )
    segmented_summary = (
        "logit(p) and mu each = alpha[segment] + delta[group, segment], delta 0 for the "
        "control, delta[group, segment] ~ Normal(effect[group], tau[group]), alpha ~ "
        "Normal(center, center_sd), effect ~ Normal(0, effect_sd), tau ** 2 ~ InverseGamma("
        "tau_shape, tau_scale ** 2) (p_ and log_ priors); buyers ~ Binomial(users, p); log "
        "value of a buyer ~ Normal(mu, variance), variance ~ InverseGamma(shape, scale) up to "
        "sd_max ** 2 per cell"
    )
    parts: ClassVar[tuple[str, str]] = ("conversion", "value_per_buyer")

    def from_data(self, prior: str, stats: Stats, values: dict[str, float]) -> float:
        buyers = stats["buyers"].sum()
        if prior == "p_center":
            return float(share_estimate(buyers, stats["users"].sum())[0])
        return float(stats["sum_log"].sum() / buyers) if buyers else 0.0

    def posterior_parameters(self, stats: Stats, prior: dict[str, float]) -> dict:
        """The conjugate update: Beta(a, b) for the share, NIG(m, k, s, c) for the log values."""
        import numpy as np

        n, total, squares = stats["buyers"], stats["sum_log"], stats["sum_log2"]
        mean = np.divide(total, n, out=np.zeros_like(total), where=n > 0)
        spread = np.maximum(squares - total * mean, 0.0)  # sum of (log - mean)^2
        kappa = prior["kappa"] + n
        return {
            "a": prior["alpha"] + n,
            "b": prior["beta"] + stats["users"] - n,
            "m": (prior["kappa"] * prior["mu0"] + total) / kappa,
            "k": kappa,
            "shape": prior["shape"] + n / 2,
            "scale": prior["scale"]
            + spread / 2
            + prior["kappa"] * n * (mean - prior["mu0"]) ** 2 / (2 * kappa),
        }

    def model(self, stats: Stats, prior: dict[str, float]):
        import pymc as pm

        with pm.Model(coords=stats.coords) as model:
            p = pm.Beta("p", alpha=prior["alpha"], beta=prior["beta"], dims="group")
            pm.Binomial("buyers", n=stats["users"], p=p, observed=stats["buyers"], dims="group")
            variance = self.cut_variance(prior)
            mu = pm.Normal(
                "mu", mu=prior["mu0"], sigma=pm.math.sqrt(variance / prior["kappa"]), dims="group"
            )
            self.log_values(stats, mu, variance)
        return model

    def pooled_model(self, stats: Stats, prior: dict[str, float]):
        """Both parts pooled: the share of buyers on the log-odds scale and the mean log value;
        each group's variance of the log values keeps its own (cut) prior."""
        import pymc as pm

        with pm.Model(coords=stats.coords) as model:
            p = pooled("p", prior, pm.math.invlogit, prefix="p_")
            pm.Binomial("buyers", n=stats["users"], p=p, observed=stats["buyers"], dims="group")
            variance = self.cut_variance(prior)
            # The typical group's median value per buyer: exp of its mean log value.
            mu = pooled("mu", prior, lambda x: x, prefix="log_", typical=pm.math.exp)
            self.log_values(stats, mu, variance)
        return model

    def segmented_model(self, cells, prior: dict[str, float]):
        """Both parts broken down: the share of buyers and the mean log value; each cell's
        variance of the log values keeps its own (cut) prior."""
        import pymc as pm

        stats, dims = cells.stats, ("group", "segment")
        shape, control = stats["users"].shape, cells.control
        with pm.Model(coords=cells.coords) as model:
            p = segmented("p", prior, pm.math.invlogit, control, shape, prefix="p_")
            pm.Binomial("buyers", n=stats["users"], p=p, observed=stats["buyers"], dims=dims)
            variance = self.cut_variance(prior, dims)
            mu = segmented("mu", prior, lambda x: x, control, shape, prefix="log_")
            self.log_values(stats, mu, variance)
        return model

    def spread_draws(self, variables: dict, prior: dict[str, float], rng, spread: tuple) -> dict:
        return spread_draws(variables, prior, rng, ("p_", "log_"), spread)

    def mix(self, quantity, parts, shares):
        """Value per user and the share of buyers mix linearly over segments; the value per
        buyer is their ratio."""
        mixed, found = super().mix(quantity, {"conversion": parts["conversion"]}, shares)
        return mixed, {**found, "value_per_buyer": mixed / found["conversion"]}

    def cut_variance(self, prior: dict[str, float], dims="group"):
        """Each group's variance of the log values, its prior cut at sd_max ** 2 by its
        support: the prior's parameters are constants, so the density needs no renormalizing."""
        import pymc as pm
        from pymc.distributions.transforms import Interval

        return pm.InverseGamma(
            "variance",
            alpha=prior["shape"],
            beta=prior["scale"],
            dims=dims,
            default_transform=Interval(0.0, prior["sd_max"] ** 2),
        )

    def log_values(self, stats: Stats, mu, variance) -> None:
        """The log values' Normal likelihood through their sums: sum (log - mu)^2 is
        sum_log2 - 2 mu sum_log + n mu^2."""
        import numpy as np
        import pymc as pm

        n, total, squares = stats["buyers"], stats["sum_log"], stats["sum_log2"]
        pm.Potential(
            "log_values",
            pm.math.sum(
                -n / 2 * pm.math.log(2 * np.pi * variance)
                - (squares - 2 * mu * total + n * mu**2) / (2 * variance)
            ),
        )

    def quantity_draws(self, variables):
        import numpy as np

        per_buyer = np.exp(variables["mu"] + variables["variance"] / 2)
        return variables["p"] * per_buyer, {
            "conversion": variables["p"],
            "value_per_buyer": per_buyer,
        }

    def future_truths(self, stats, prior, rng, futures: int) -> dict:
        import numpy as np

        post = self.posterior_parameters(stats, prior)
        shape = (futures, len(stats.names))
        variance = 1 / gamma_at_least(
            rng, post["shape"], post["scale"], prior["sd_max"] ** -2, shape
        )
        return {
            "p": rng.beta(post["a"], post["b"], shape),
            "variance": variance,
            "mu": rng.normal(post["m"], np.sqrt(variance / post["k"])),
        }

    def future_stats(self, stats, batch: dict, truths: dict, rows, rng) -> dict:
        """New users, their buyers, and the sums of the buyers' log values: the sum is normal,
        and the sum of squares is sum^2 / m plus variance times a chi-square with m - 1."""
        import numpy as np

        buyers = rng.binomial(rows.astype(int), truths["p"])
        sd = np.sqrt(buyers * truths["variance"])
        total = rng.normal(buyers * truths["mu"], sd)
        spread = truths["variance"] * rng.chisquare(np.maximum(buyers - 1, 1)) * (buyers > 1)
        squares = np.divide(total**2, buyers, out=np.zeros_like(total), where=buyers > 0)
        return {
            "users": batch["users"] + rows,
            "buyers": batch["buyers"] + buyers,
            "sum_log": batch["sum_log"] + total,
            "sum_log2": batch["sum_log2"] + squares + spread,
        }

    def future_draws(self, stats, batch: dict, prior, rng, draws: int):
        import numpy as np

        post = self.posterior_parameters(Stats(stats.names, batch), prior)
        shape = (batch["users"].shape[0], draws, len(stats.names))
        expand = {key: value[:, None, :] for key, value in post.items()}
        p = rng.beta(expand["a"], expand["b"], shape)
        variance = 1 / gamma_at_least(
            rng, expand["shape"], expand["scale"], prior["sd_max"] ** -2, shape
        )
        mu = rng.normal(expand["m"], np.sqrt(variance / expand["k"]))
        with np.errstate(over="ignore"):
            return p * np.exp(mu + variance / 2)

    def exact(self, stats: Stats, prior: dict[str, float]):
        """Independent draws of the closed-form posteriors: the value per user has none."""
        import numpy as np

        from vibes_core.posterior import Draws, draw_count

        post = self.posterior_parameters(stats, prior)
        rng = np.random.default_rng(0)
        shape = (draw_count(len(stats.names)), len(stats.names))
        p = rng.beta(post["a"], post["b"], shape)
        precision = gamma_at_least(rng, post["shape"], post["scale"], prior["sd_max"] ** -2, shape)
        variance = 1 / precision
        mu = rng.normal(post["m"], np.sqrt(variance / post["k"]))
        with np.errstate(over="ignore"):  # an infinite draw is named by the summary
            per_buyer = np.exp(mu + variance / 2)
        return Draws(
            stats.names,
            p * per_buyer,
            method="exact",
            parts={"conversion": p, "value_per_buyer": per_buyer},
        )

    def tail_fit(self, stats: Stats, prior: dict[str, float]) -> list["TailFit | None"]:
        """Per group, a posterior predictive check of the log-normal's tail (None with fewer
        than two buyers): the buyers' mean value against what the model implies for the mean
        of that many buyers. Whales (a few values far beyond the log-normal's tail) raise the
        mean of the values far more than they raise the fitted mean: the model then expects
        the observed mean almost never. ``prior``: the independent model's."""
        import numpy as np

        checked = np.flatnonzero(stats["buyers"] >= 2)
        found: list[TailFit | None] = [None] * len(stats.names)
        if not len(checked):
            return found
        post = {
            key: value[checked] for key, value in self.posterior_parameters(stats, prior).items()
        }
        rng = np.random.default_rng(0)
        draws = max(TAIL_BUDGET // (len(checked) * TAIL_TOP), TAIL_FLOOR)
        shape = (draws, len(checked))
        sd = gamma_at_least(rng, post["shape"], post["scale"], prior["sd_max"] ** -2, shape) ** -0.5
        buyers = stats["buyers"][checked]
        observed = stats["sum_value"][checked] / buyers
        mu = rng.normal(post["m"], sd / np.sqrt(post["k"])) - np.log(observed)  # its unit: observed
        with np.errstate(over="ignore"):  # only for a model that fits nothing
            implied = observed * np.mean(np.exp(mu + sd**2 / 2), axis=0)
        tails = predictive_tail(mu, sd, buyers.astype(int), rng)
        for i, seen, mean, tail in zip(checked, observed, implied, tails, strict=True):
            found[i] = TailFit(float(seen), float(mean), float(tail))
        return found


def gamma_at_least(rng, shape, rate, lowest: float, size: tuple[int, int]):
    """Draws of Gamma(shape, rate) (one per column) conditioned on being >= ``lowest``: those
    below are drawn again by the inverse CDF, slow but only needed for the few of them (a
    group whose data presses on the bound has many, and is warned about)."""
    import numpy as np
    from scipy import special

    draws = rng.gamma(shape, 1 / rate, size)
    low = draws < lowest
    if low.any():
        a, b = np.broadcast_to(shape, size)[low], np.broadcast_to(rate, size)[low]
        above = special.gammaincc(a, b * lowest) * rng.random(len(a))  # P(X > x) = Q(a, bx)
        with np.errstate(divide="ignore"):
            found = special.gammainccinv(a, above) / b
        draws[low] = np.where(above > 0, np.maximum(found, lowest), lowest)
    return draws


# --- the log-normal's fit check -------------------------------------------------------------
# Values simulated in all (draws x groups x TAIL_TOP) for the check's posterior predictive,
# and the fewest draws per group: 2 groups get 4,096 draws (20 ms), 1,000 get 64 (0.15 s).
TAIL_BUDGET = 2**18
TAIL_FLOOR = 64
TAIL_TOP = 32  # the largest values of a simulated sample drawn one by one; the rest summed


@dataclass(frozen=True)
class TailFit:
    """One group's buyers' mean value against the log-normal model's (``tail_fit``)."""

    observed: float  # the buyers' mean value, in the value's unit
    implied: float  # the posterior mean of a buyer's mean value, exp(mu + variance / 2)
    p_value: float  # posterior predictive P(the mean of as many buyers >= observed)


def predictive_tail(mu, sd, sizes, rng, top: int = TAIL_TOP):
    """Per column of the draws ``mu`` and ``sd`` (draws, groups), P(the mean of ``sizes``
    (per group) values LogNormal(mu, sd) >= 1), averaged over the draws. A sum of log-normals
    has no closed form, and its tail is the point: the ``top`` largest values are drawn
    exactly (the smallest of ``size`` uniforms are partial sums of exponentials over their
    total: Renyi), and the others, independent given the top-th largest and below it, sum to
    a Normal with their truncated mean and variance (a sum of many values none larger than
    the top-th: its skew is small). Given the top values, that Normal's tail probability is
    exact: averaging it, not an indicator, leaves little Monte Carlo error. A group of
    ``top`` values or fewer has them all drawn, and their mean compared."""
    import numpy as np
    from scipy import special

    drawn = np.minimum(sizes, top)  # per group
    steps = np.arange(top)
    gaps = rng.exponential(size=(*mu.shape, top)).cumsum(axis=2)
    total = np.take_along_axis(gaps, np.broadcast_to(drawn - 1, mu.shape)[..., None], axis=2)
    total += rng.gamma(sizes + 1 - drawn, size=mu.shape)[..., None]
    z = -special.ndtri(np.minimum(gaps / total, 1.0))  # the largest values' normal scores
    with np.errstate(over="ignore"):
        values = np.exp(mu[..., None] + sd[..., None] * z)
    largest = np.where(steps < drawn[:, None], values, 0.0).sum(axis=2)
    below = np.take_along_axis(z, np.broadcast_to(drawn - 1, mu.shape)[..., None], axis=2)[..., 0]
    scale = special.log_ndtr(below)  # P(a value is below the top-th largest), in logs
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        first = np.exp(mu + sd**2 / 2 + special.log_ndtr(below - sd) - scale)
        second = np.exp(2 * mu + 2 * sd**2 + special.log_ndtr(below - 2 * sd) - scale)
        others = sizes - drawn
        spread = np.sqrt(others * np.maximum(second - first**2, 0.0))
        short = (sizes - largest - others * first) / spread
    tail = np.where(others > 0, special.ndtr(-short), largest >= sizes)
    return np.nan_to_num(tail, nan=1.0).mean(axis=0)


# --- the mean of units' values: a Normal model ------------------------------------------
class NormalMean(ExperimentType, ExactPosterior, Plannable):
    """The mean of units' values per group, whatever their distribution: each unit's value ~
    Normal(value, variance) as the likelihood of the mean (by the central limit theorem, the
    mean of many units is Normal whatever the tail), fitted on the units (``size``),
    sum_value and sum_value2, with the conjugate Normal-Inverse-Gamma prior value | variance ~
    Normal(center, variance / kappa), variance ~ InverseGamma(shape, shape * sd ** 2). Its
    exact posterior (``mean_parameters``): value ~ Student-t with 2 shape degrees of freedom
    around m, scale sqrt(scale / (shape k)).

    Weak and scale-free by default: center and sd are all units' mean and sd (the unit must
    not matter), with the weight of one unit (kappa) and two (2 shape). Every free variable
    is diagnosed (variance, value)."""

    statistics = (
        Statistic("units", "exposed units"),
        Statistic("sum_value", "the sum of the units' values", math.inf),
        Statistic("sum_value2", "the sum of their squares", math.inf),
    )
    size = "units"
    events = "units"
    counts = ("mean", "sum_value", "units")
    parameter = "value"
    unit = VALUE
    priors = (
        Prior(
            "center",
            math.nan,
            "prior mean of the value per unit (default: every unit's mean)",
            low=-1e100,
            high=1e100,
        ),
        Prior("kappa", 1.0, "weight of center, in units"),
        Prior("shape", 1.0, "Inverse-Gamma prior of the values' variance: shape (2 shape units)"),
        Prior(
            "sd",
            math.nan,
            "the same prior's scale is shape * sd ** 2: the values' sd it expects (default: "
            "every unit's)",
            low=1e-100,
            high=1e100,
        ),
    )
    model_summary = (
        "the value of a unit ~ Normal(value, variance), value ~ Normal(center, variance / "
        "kappa), variance ~ InverseGamma(shape, shape * sd ** 2)"
    )

    def from_data(self, prior: str, stats: Stats, values: dict[str, float]) -> float:
        """center: every unit's mean value; sd: their sd (1 if it is 0: no scale to take)."""
        n, total = stats[self.size].sum(), stats["sum_value"].sum()
        mean = total / n if n else 0.0
        if prior == "center":
            return float(mean)
        spread = stats["sum_value2"].sum() - total * mean
        sd = math.sqrt(max(spread, 0.0) / (n - 1)) if n > 1 else 0.0
        return sd if sd > 0 else 1.0

    def mean_parameters(self, stats: Stats, prior: dict[str, float]) -> dict:
        """The conjugate update: NIG(m, k, shape, scale) of the value and the variance."""
        n, total = stats[self.size], stats["sum_value"]
        mean, spread = moments(n, total, stats["sum_value2"])
        kappa = prior["kappa"] + n
        return {
            "m": (prior["kappa"] * prior["center"] + total) / kappa,
            "k": kappa,
            "shape": prior["shape"] + n / 2,
            "scale": prior["shape"] * prior["sd"] ** 2
            + spread / 2
            + prior["kappa"] * n * (mean - prior["center"]) ** 2 / (2 * kappa),
        }

    def model(self, stats: Stats, prior: dict[str, float]):
        """The same prior and likelihood in PyMC, through the sums: sum (v - value) ** 2 is
        the spread about the mean plus n * (mean - value) ** 2."""
        import numpy as np
        import pymc as pm

        n = stats[self.size]
        mean, spread = moments(n, stats["sum_value"], stats["sum_value2"])
        with pm.Model(coords=stats.coords) as model:
            variance = pm.InverseGamma(
                "variance",
                alpha=prior["shape"],
                beta=prior["shape"] * prior["sd"] ** 2,
                dims="group",
            )
            value = pm.Normal(
                "value",
                mu=prior["center"],
                sigma=pm.math.sqrt(variance / prior["kappa"]),
                dims="group",
            )
            pm.Potential(
                "values",
                pm.math.sum(
                    -n / 2 * pm.math.log(2 * np.pi * variance)
                    - (spread + n * (mean - value) ** 2) / (2 * variance)
                ),
            )
        return model

    def exact(self, stats: Stats, prior: dict[str, float]):
        """Independent draws of the closed-form posterior of the value (Student-t)."""
        import numpy as np

        from vibes_core.posterior import Draws, draw_count

        post = self.mean_parameters(stats, prior)
        rng = np.random.default_rng(0)
        shape = (draw_count(len(stats.names)), len(stats.names))
        value = post["m"] + student_scale(post) * rng.standard_t(2 * post["shape"], shape)
        return Draws(stats.names, value, method="exact")

    # --- futures, for how long to keep running (vibes_core.verdict) -------------------------
    def future_truths(self, stats: Stats, prior: dict[str, float], rng, futures: int) -> dict:
        import numpy as np

        post = self.mean_parameters(stats, prior)
        shape = (futures, len(stats.names))
        variance = post["scale"] / rng.gamma(post["shape"], 1.0, shape)
        return {"variance": variance, "value": rng.normal(post["m"], np.sqrt(variance / post["k"]))}

    def future_stats(self, stats: Stats, batch: dict, truths: dict, rows, rng) -> dict:
        """New units and the sums of their values as the model has them: the sum Normal, the
        sum of squares sum ** 2 / m plus variance times a chi-square with m - 1 degrees of
        freedom."""
        import numpy as np

        shape = truths["value"].shape  # (futures, groups)
        total = rng.normal(rows * truths["value"], np.sqrt(rows * truths["variance"]))
        chi = rng.chisquare(np.maximum(rows - 1, 1), shape)
        spread = truths["variance"] * chi * (rows > 1)
        squares = np.divide(total**2, rows, out=np.zeros_like(total), where=rows > 0)
        return {
            self.size: batch[self.size] + rows,
            "sum_value": batch["sum_value"] + total,
            "sum_value2": batch["sum_value2"] + squares + spread,
        }

    def future_draws(self, stats: Stats, batch: dict, prior: dict[str, float], rng, draws: int):
        """Draws of each future's posterior of the value, (futures, draws, groups)."""
        import numpy as np

        post = self.mean_parameters(Stats(stats.names, batch), prior)
        shape = (batch[self.size].shape[0], draws, len(stats.names))
        expand = {key: np.asarray(value)[:, None, :] for key, value in post.items()}
        return expand["m"] + student_scale(expand) * rng.standard_t(2 * expand["shape"], shape)

    # --- planning the next experiment (vibes_core.plan) -------------------------------------
    def baseline_of(self, stats: Stats, group: int) -> Baseline:
        n = float(stats[self.size][group])
        mean, spread = moments(n, stats["sum_value"][group], stats["sum_value2"][group])
        return Baseline(float(mean), math.sqrt(spread / (n - 1)) if n > 1 else math.nan)

    def baseline_from(self, mean: float, sd: float | None) -> Baseline:
        return checked_baseline(self.quantity, mean, sd)

    def planned_sd(self, baseline: Baseline, lift: float) -> float:
        return baseline.sd  # a lift moves the mean, not the spread

    def planned_truths(self, baseline: Baseline, lifts, control: int, groups: int) -> dict:
        import numpy as np

        value = planned_values(baseline.mean, lifts, control, groups)
        return {"variance": np.full(value.shape, baseline.sd**2), "value": value}

    def planned_prior(self, baseline: Baseline) -> dict[str, float]:
        """The defaults, centred on the baseline and its sd (what ``from_data`` gives)."""
        return self.prior({"center": baseline.mean, "sd": baseline.sd}, self.planned_stats([]))


# --- the unit mean's Normal model, with the share of buyers beside it -------------------------
class UnitMean(NormalMean):
    """Value per user as the mean of the users' values themselves (0 for most): NormalMean
    on users, sum_value and sum_value2. Beside it, as the log-normal model's parts: the
    share of buyers p (Beta-Binomial, on users and buyers) and the value per buyer, value / p.

    It stays honest with whales (a few values far beyond a log-normal's tail), which the
    log-normal model averages away (LogNormalHurdle.tail_fit warns of them): unbiased, and
    its 94% HDIs cover the truth 93% of the time where a variant has 250 whales, 89% with 25,
    76% with 5 (its mean is then skewed, not yet Normal), where the log-normal's cover it
    0-2% of the time. On log-normal data its HDIs are 4% wider (bench/revenue_whales.py).

    A family on LogNormalHurdle's statistics (the same rows of ``sufficient_stats``), so that a
    type of values offers it as a likelihood beside that one (revenue: ``--likelihood mean``).
    It has an exact posterior and simulates futures; it has no pooled or segmented model.
    Every free variable is diagnosed (p, variance, value)."""

    statistics = LogNormalHurdle.statistics
    size = "users"
    events = "users"
    counts = LogNormalHurdle.counts
    priors = (
        Prior("alpha", 1.0, "Beta prior of the share of buyers: pseudo-buyers"),
        Prior("beta", 1.0, "Beta prior of the share of buyers: pseudo-users without a value"),
        *(replace(p, meaning=p.meaning.replace("unit", "user")) for p in NormalMean.priors),
    )
    model_summary = (
        "p ~ Beta(alpha, beta), buyers ~ Binomial(users, p); the value of a user (0 for "
        "most) ~ Normal(value, variance), value ~ Normal(center, variance / kappa), variance "
        "~ InverseGamma(shape, shape * sd ** 2); value per user = value, per buyer = value / p"
    )
    parts = ("conversion", "value_per_buyer")

    def posterior_parameters(self, stats: Stats, prior: dict[str, float]) -> dict:
        """The conjugate update: Beta(a, b) for the share of buyers, NIG(m, k, shape, scale)
        for the value per user and the values' variance."""
        n = stats["users"]
        return {
            "a": prior["alpha"] + stats["buyers"],
            "b": prior["beta"] + n - stats["buyers"],
            **self.mean_parameters(stats, prior),
        }

    def model(self, stats: Stats, prior: dict[str, float]):
        import pymc as pm

        with super().model(stats, prior) as model:
            p = pm.Beta("p", alpha=prior["alpha"], beta=prior["beta"], dims="group")
            pm.Binomial("buyers", n=stats["users"], p=p, observed=stats["buyers"], dims="group")
        return model

    def quantity_draws(self, variables: dict) -> tuple:
        """Value per user, and the parts: the share of buyers and the value per buyer."""
        import numpy as np

        with np.errstate(divide="ignore"):  # a share drawn as 0: named by the summary
            per_buyer = variables["value"] / variables["p"]
        return variables["value"], {"conversion": variables["p"], "value_per_buyer": per_buyer}

    def exact(self, stats: Stats, prior: dict[str, float]):
        """Independent draws of the closed-form posteriors: value per user (Student-t) and
        the share of buyers (Beta); the value per buyer, their ratio, has no closed form."""
        import numpy as np

        from vibes_core.posterior import Draws, draw_count

        post = self.posterior_parameters(stats, prior)
        rng = np.random.default_rng(0)
        shape = (draw_count(len(stats.names)), len(stats.names))
        p = rng.beta(post["a"], post["b"], shape)
        value = post["m"] + student_scale(post) * rng.standard_t(2 * post["shape"], shape)
        quantity, parts = self.quantity_draws({"value": value, "p": p})
        return Draws(stats.names, quantity, method="exact", parts=parts)

    def future_truths(self, stats: Stats, prior: dict[str, float], rng, futures: int) -> dict:
        post = self.posterior_parameters(stats, prior)
        p = rng.beta(post["a"], post["b"], (futures, len(stats.names)))
        return {"p": p, **super().future_truths(stats, prior, rng, futures)}

    def planned_truths(self, baseline: Baseline, lifts, control: int, groups: int) -> dict:
        """NormalMean's, and a share of buyers (every user: the value per user's model does not
        read it)."""
        return {"p": 1.0, **super().planned_truths(baseline, lifts, control, groups)}

    def future_stats(self, stats: Stats, batch: dict, truths: dict, rows, rng) -> dict:
        """New users, their buyers, and the sums of their values (NormalMean's)."""
        found = super().future_stats(stats, batch, truths, rows, rng)
        buyers = batch["buyers"] + rng.binomial(rows.astype(int), truths["p"])
        return {**found, "buyers": buyers}


# --- a ratio of two means over the same units --------------------------------------------
class RatioOfMeans(ExperimentType, ExactPosterior):
    """Per group, the ratio of two sums over its units (revenue per order: Σ amount / Σ
    orders), as the ratio of the two means: by the central limit theorem the means are
    jointly Normal, around the sample means with the sample covariance / n (the delta
    method's model), flat priors. Exact: independent draws of that bivariate Normal, the
    ratio of each pair (no closed form); MCMC: the same model in PyMC. A group needs two
    units and a positive denominator to be compared."""

    statistics = (
        Statistic("units", "exposed units"),
        Statistic("sum_value", "the sum of the numerators over units", math.inf),
        Statistic("sum_den", "the sum of the denominators", math.inf),
        Statistic("sum_value2", "the sum of the numerators' squares", math.inf),
        Statistic("sum_den2", "the sum of the denominators' squares", math.inf),
        Statistic("sum_cross", "the sum of numerator times denominator", math.inf),
    )
    size = "units"
    events = "units"
    counts = ("ratio", "sum_value", "sum_den")
    priors = ()
    model_summary = (
        "(mean numerator, mean denominator) ~ flat; the sample means ~ bivariate Normal around "
        "them with the sample covariance / units (sampled whitened); ratio = numerator / "
        "denominator"
    )
    unit = Unit("ratio", "")

    def has_data(self, stats: Stats, prior: dict[str, float]):
        return (stats["units"] >= 2) & (stats["sum_den"] > 0)

    def means(self, stats: Stats) -> tuple:
        """Each group's sample means (numerator, denominator) and the covariance of those
        means, (groups, 2, 2); a group without two units gets a wide one."""
        import numpy as np

        n = np.maximum(stats["units"], 1.0)
        a, b = stats["sum_value"] / n, stats["sum_den"] / n
        with np.errstate(divide="ignore", invalid="ignore"):
            spare = np.maximum(n - 1, 1.0)
            var_a = np.maximum(stats["sum_value2"] - n * a * a, 0.0) / spare / n
            var_b = np.maximum(stats["sum_den2"] - n * b * b, 0.0) / spare / n
            cov = (stats["sum_cross"] - n * a * b) / spare / n
        tiny = 1e-12 * (1.0 + np.abs(np.stack([a, b])).max())
        var_a, var_b = np.maximum(var_a, tiny), np.maximum(var_b, tiny)
        cov = np.clip(cov, -np.sqrt(var_a * var_b), np.sqrt(var_a * var_b)) * (1 - 1e-9)
        covariance = np.stack([np.stack([var_a, cov], -1), np.stack([cov, var_b], -1)], -2)
        return np.stack([a, b], -1), covariance

    def model(self, stats: Stats, prior: dict[str, float]):
        """The same posterior, whitened: with flat priors it is the bivariate Normal itself, so
        the two means are the sample means plus the covariance's Cholesky factor times two
        standard Normals (z) — which NUTS samples in a step or two, where the means' own
        correlation would make it take many."""
        import numpy as np
        import pymc as pm

        centre, covariance = self.means(stats)
        factor = np.linalg.cholesky(covariance)  # (groups, 2, 2), lower
        with pm.Model(coords={**stats.coords, "part": ["numerator", "denominator"]}) as model:
            z = pm.Normal("z", 0.0, 1.0, dims=("group", "part"))
            pm.Deterministic("numerator", centre[:, 0] + factor[:, 0, 0] * z[:, 0], dims="group")
            pm.Deterministic(
                "denominator",
                centre[:, 1] + factor[:, 1, 0] * z[:, 0] + factor[:, 1, 1] * z[:, 1],
                dims="group",
            )
        return model

    def quantity_draws(self, variables: dict) -> tuple:
        import numpy as np

        with np.errstate(divide="ignore", invalid="ignore"):
            return variables["numerator"] / variables["denominator"], {}

    def exact(self, stats: Stats, prior: dict[str, float]):
        import numpy as np

        from vibes_core.posterior import Draws, draw_count

        centre, covariance = self.means(stats)
        rng = np.random.default_rng(0)
        draws = draw_count(len(stats.names))
        factor = np.linalg.cholesky(covariance)  # (groups, 2, 2)
        z = rng.standard_normal((draws, len(stats.names), 2))
        pairs = centre + np.einsum("gij,dgj->dgi", factor, z)
        ratio, _ = self.quantity_draws({"numerator": pairs[..., 0], "denominator": pairs[..., 1]})
        return Draws(stats.names, ratio, method="exact")


class AdjustedMean(ExperimentType, ExactPosterior, Plannable):
    """The mean of units' values per group, adjusted for each unit's value of a covariate
    measured before exposure (CUPED: Deng, Xu, Kohavi and Walker, WSDM 2013): the regression
    y = value_g + slope (x - x̄) + ε, ε ~ Normal(0, variance), one slope pooled within groups
    (the OLS slope of y ~ group + x), fitted on each group's units, Σy, Σy², Σx, Σx², Σxy.
    value_g, the group's mean at the average covariate x̄ of all units, is ȳ_g - slope (x̄_g -
    x̄): what is left of a difference between groups once what their units did before is
    accounted for. Its variance shrinks by the squared within-group correlation of x and y.

    Flat priors on the values and the slope, 1/variance on the variance, so the posterior is
    the regression's: variance ~ RSS / χ²(N - G - 1), slope ~ Normal(θ, variance / Sxx),
    value_g ~ Normal(ȳ_g - slope (x̄_g - x̄), variance / n_g). Exact: independent draws of it;
    MCMC: the same likelihood in PyMC, through the sums. ``adjustable``: a covariate that
    varies within groups, and more than G + 3 units."""

    statistics = (
        Statistic("units", "exposed units"),
        Statistic("sum_value", "the sum of the units' values", math.inf),
        Statistic("sum_value2", "the sum of their squares", math.inf),
        Statistic("sum_x", "the sum of the units' covariates (before exposure)", math.inf),
        Statistic("sum_x2", "the sum of their squares", math.inf),
        Statistic("sum_xy", "the sum of covariate times value", math.inf),
    )
    size = "units"
    events = "units"
    counts = ("mean", "sum_value", "units")
    parameter = "value"
    priors = ()
    model_summary = (
        "value of a unit = value of its group + slope (covariate - its mean over all units) + "
        "Normal(0, variance) noise; flat priors on the values and the slope, 1 / variance on "
        "the variance"
    )

    @staticmethod
    def regression(values: dict) -> dict:
        """The within-group regression of y on x from the sums (arrays whose last axis is the
        groups; any axes before it, futures, are kept): each group's n, ȳ and x̄, and with
        that last axis of length 1, x̄ of all units, the pooled slope θ, Sxx and Syy within
        groups, the residual sum of squares, its degrees of freedom and the within-group
        correlation of x and y."""
        import numpy as np

        n = np.maximum(values["units"], 1.0)
        y_mean, x_mean = values["sum_value"] / n, values["sum_x"] / n

        def within(squares, mean):
            return np.maximum(squares - n * mean**2, 0.0).sum(axis=-1, keepdims=True)

        sxx, syy = within(values["sum_x2"], x_mean), within(values["sum_value2"], y_mean)
        sxy = (values["sum_xy"] - n * x_mean * y_mean).sum(axis=-1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(sxx > 0, sxy / sxx, 0.0)
            correlation = np.where((sxx > 0) & (syy > 0), sxy / np.sqrt(sxx * syy), 0.0)
        units = n.sum(axis=-1, keepdims=True)
        return {
            "n": n,
            "y_mean": y_mean,
            "x_mean": x_mean,
            "x_all": values["sum_x"].sum(axis=-1, keepdims=True) / units,
            "slope": slope,
            "sxx": sxx,
            "syy": syy,
            "rss": np.maximum(syy - slope * sxy, 0.0),
            "dof": units - n.shape[-1] - 1,
            "correlation": correlation,
        }

    @classmethod
    def adjustable(cls, stats: Stats) -> bool:
        """Whether the covariate varies within groups and there are units enough to adjust."""
        fit = cls.regression(stats.values)
        return bool(fit["sxx"][0] > 0 and fit["rss"][0] > 0 and fit["dof"][0] > 2)

    @staticmethod
    def posterior_draws(fit: dict, rng, draws: int):
        """Draws of each group's value from ``regression``'s posterior, (..., draws, groups).
        Antithetic: every draw of the standard Normals beside its negative, with the same
        variance, so that their means (the OLS estimates) are exact, not Monte Carlo's."""
        import numpy as np

        def per_draw(name):  # (..., 1 or groups) -> (..., 1, 1 or groups)
            return fit[name][..., None, :]

        lead, groups, half = fit["sxx"].shape[:-1], fit["n"].shape[-1], max(draws // 2, 1)
        variance = per_draw("rss") / rng.chisquare(per_draw("dof"), (*lead, half, 1))
        variance = np.concatenate([variance, variance], axis=-2)
        z = rng.standard_normal((*lead, half, groups + 1))
        z = np.concatenate([z, -z], axis=-2)
        slope = per_draw("slope") + np.sqrt(variance / per_draw("sxx")) * z[..., :1]
        shift = per_draw("x_mean") - per_draw("x_all")
        noise = np.sqrt(variance / per_draw("n")) * z[..., 1:]
        return per_draw("y_mean") - slope * shift + noise

    def model(self, stats: Stats, prior: dict[str, float]):
        """The regression's likelihood through the sums: per group, Σ (y - value - slope c)²
        with c = x - x̄ is Syy - 2 value Sy - 2 slope Scy + n value² + 2 value slope Sc +
        slope² Scc. Flat priors (log_sd flat is 1 / variance), started at the OLS fit."""
        import math

        import pymc as pm

        fit = {k: v[0] if v.shape == (1,) else v for k, v in self.regression(stats.values).items()}
        n, centre = fit["n"], float(fit["x_all"])
        sy, syy = stats["sum_value"], stats["sum_value2"]
        sc = stats["sum_x"] - n * centre
        scy = stats["sum_xy"] - centre * sy
        scc = stats["sum_x2"] - 2 * centre * stats["sum_x"] + n * centre**2
        shift = fit["x_mean"] - centre
        with pm.Model(coords=stats.coords) as model:
            value = pm.Flat("value", dims="group", initval=fit["y_mean"] - fit["slope"] * shift)
            slope = pm.Flat("slope", initval=float(fit["slope"]))
            log_sd = pm.Flat("log_sd", initval=0.5 * math.log(fit["rss"] / fit["dof"]))
            variance = pm.math.exp(2 * log_sd)
            squares = pm.math.sum(
                syy
                - 2 * value * sy
                - 2 * slope * scy
                + n * value**2
                + 2 * value * slope * sc
                + slope**2 * scc
            )
            units = float(n.sum())
            pm.Potential(
                "values",
                -units / 2 * pm.math.log(2 * math.pi * variance) - squares / (2 * variance),
            )
        return model

    def exact(self, stats: Stats, prior: dict[str, float]):
        import numpy as np

        from vibes_core.posterior import Draws, draw_count

        rng = np.random.default_rng(0)
        draws = self.posterior_draws(
            self.regression(stats.values), rng, draw_count(len(stats.names))
        )
        return Draws(stats.names, draws, method="exact")

    # --- futures, for how long to keep running (vibes_core.verdict) -------------------------
    def future_truths(self, stats: Stats, prior: dict[str, float], rng, futures: int) -> dict:
        """Each future's variance, slope and values from today's posterior, and the covariate
        new units bring: as today's units' (randomised: the same in every group)."""
        import numpy as np

        fit = self.regression(stats.values)
        variance = fit["rss"] / rng.chisquare(fit["dof"], (futures, 1))
        slope = fit["slope"] + np.sqrt(variance / fit["sxx"]) * rng.standard_normal((futures, 1))
        shift = fit["x_mean"] - fit["x_all"]
        noise = np.sqrt(variance / fit["n"]) * rng.standard_normal((futures, len(stats.names)))
        spread = fit["sxx"] / np.maximum(fit["dof"] + 1, 1)  # the covariate's within variance
        return {
            "variance": variance,
            "slope": slope,
            "value": fit["y_mean"] - slope * shift + noise,
            "x_all": fit["x_all"],
            "x_variance": spread,
        }

    def future_stats(self, stats: Stats, batch: dict, truths: dict, rows, rng) -> dict:
        """``rows`` new units per group: their covariates' sums (Normal, and the squares as
        NormalMean's), and their values' from the regression with noise e: Σe, Σ (x - x̄) e
        and Σe² (those two projections plus a chi-square with m - 2 degrees of freedom)."""
        import numpy as np

        m = np.asarray(rows, dtype=float)
        shape = truths["value"].shape
        some = m > 1
        x_sum = rng.normal(m * truths["x_all"], np.sqrt(m * truths["x_variance"]), shape)
        x_spread = truths["x_variance"] * rng.chisquare(np.maximum(m - 1, 1), shape) * some
        x_squares = np.divide(x_sum**2, m, out=np.zeros(shape), where=m > 0) + x_spread
        sd = np.sqrt(truths["variance"])
        e_sum = rng.normal(0.0, sd * np.sqrt(m), shape)
        e_across = rng.normal(0.0, sd * np.sqrt(x_spread), shape)  # Σ (x - x̄ of the new) e
        e_squares = np.divide(e_sum**2, m, out=np.zeros(shape), where=m > 0)
        e_squares += np.divide(e_across**2, x_spread, out=np.zeros(shape), where=x_spread > 0)
        e_squares += truths["variance"] * rng.chisquare(np.maximum(m - 2, 1), shape) * (m > 2)
        base, slope = truths["value"] - truths["slope"] * truths["x_all"], truths["slope"]
        x_e = e_across + np.divide(x_sum, m, out=np.zeros(shape), where=m > 0) * e_sum  # Σ x e
        return {
            "units": batch["units"] + m,
            "sum_value": batch["sum_value"] + m * base + slope * x_sum + e_sum,
            "sum_value2": batch["sum_value2"]
            + m * base**2
            + 2 * base * slope * x_sum
            + slope**2 * x_squares
            + 2 * (base * e_sum + slope * x_e)
            + e_squares,
            "sum_x": batch["sum_x"] + x_sum,
            "sum_x2": batch["sum_x2"] + x_squares,
            "sum_xy": batch["sum_xy"] + base * x_sum + slope * x_squares + x_e,
        }

    def future_draws(self, stats: Stats, batch: dict, prior: dict[str, float], rng, draws: int):
        """Draws of each future's posterior of the values, (futures, draws, groups)."""
        return self.posterior_draws(self.regression(batch), rng, draws)

    # --- planning the next experiment (vibes_core.plan) -------------------------------------
    def baseline_of(self, stats: Stats, group: int) -> Baseline:
        """The group's mean and sd, and the squared within-group correlation of the covariate
        and the value (pooled over the groups): the share of the variance the adjustment
        removes."""
        fit = self.regression(stats.values)
        n = float(fit["n"][group])
        mean, spread = moments(n, stats["sum_value"][group], stats["sum_value2"][group])
        sd = math.sqrt(spread / (n - 1)) if n > 1 else math.nan
        return Baseline(float(mean), sd, float(fit["correlation"][0]) ** 2)

    def baseline_from(self, mean: float, sd: float | None) -> Baseline:
        return checked_baseline(self.quantity, mean, sd)

    def planned_sd(self, baseline: Baseline, lift: float) -> float:
        """The residual sd (what the covariate leaves); a share (an adjusted proportion) stays
        one."""
        from vibes_core.errors import InvalidOption, option

        value = baseline.mean * (1 + lift)
        if self.unit.percent and not 0 < value < 1:
            raise InvalidOption(
                f"{self.quantity} at {100 * baseline.mean:.3g}% changed by {100 * lift:+.3g}% "
                f"would be {100 * value:.3g}%, not a share: give a smaller {option('mde')}"
            )
        return baseline.sd * math.sqrt(1 - baseline.reduction)

    def planned_truths(self, baseline: Baseline, lifts, control: int, groups: int) -> dict:
        """The covariate on the value's scale (mean and sd alike; only their product with the
        slope matters), its slope the correlation, the residual variance what is left."""
        import numpy as np

        value = planned_values(baseline.mean, lifts, control, groups)
        ones = np.ones((value.shape[0], 1))
        return {
            "variance": ones * baseline.sd**2 * (1 - baseline.reduction),
            "slope": ones * math.sqrt(baseline.reduction),
            "value": value,
            "x_all": baseline.mean,
            "x_variance": baseline.sd**2,
        }

    def planned_prior(self, baseline: Baseline) -> dict[str, float]:
        return {}


def moments(n, total, squares) -> tuple:
    """Each group's mean value and the sum of squares about it (0 without units)."""
    import numpy as np

    mean = np.divide(total, n, out=np.zeros_like(total, dtype=float), where=n > 0)
    return mean, np.maximum(squares - total * mean, 0.0)


def student_scale(post: dict):
    """The scale of the value per user's Student-t marginal, from NIG parameters."""
    import numpy as np

    return np.sqrt(post["scale"] / (post["shape"] * post["k"]))


# --- planning: shared by the families ---------------------------------------------------
def planned_values(baseline: float, lifts, control: int, groups: int):
    """(futures, groups): ``baseline`` for the control, times 1 + each future's lift for the
    others (``lifts``: (futures,), one for all of them, or (futures, groups - 1), each its own)."""
    import numpy as np

    lifts = np.asarray(lifts, dtype=float)
    values = np.full((len(lifts), groups), float(baseline))
    others = [group for group in range(groups) if group != control]
    values[:, others] = baseline * (1 + lifts.reshape(len(lifts), -1))
    return values


def checked_baseline(quantity: str, mean: float, sd: float | None) -> Baseline:
    """A mean's baseline given as numbers: the mean not 0 (the lift is relative to it), an sd
    above 0."""
    from vibes_core.errors import InvalidOption, option

    if not (math.isfinite(mean) and mean != 0):
        raise InvalidOption(
            f"{option('baseline')} {mean:g}: give the {quantity} of the control, not 0 (the "
            f"{option('mde')} is relative to it)"
        )
    if sd is None:
        raise InvalidOption(
            f"a {quantity} needs {option('sd')} too: the sd of one unit's value (from past data)"
        )
    if not (math.isfinite(sd) and sd > 0):
        raise InvalidOption(f"{option('sd')} {sd:g}: give the sd of one unit's value, above 0")
    return Baseline(mean, sd)
