"""Families of models that types are built on: each one its statistics, priors, PyMC model and
exact posterior. A new family is a new class here (and, if it has a closed form of its own, a
``ClosedForm`` subclass in vibes_core.posterior); a type picks one by subclassing it.

- ``BetaBinomial``: a probability per group, from trials and successes.
- ``GammaPoisson``: a rate per unit of exposure per group, from event counts and exposure.
- ``LogNormalHurdle``: a value per user per group: the share of users with a value (Beta-
  Binomial) times the mean of a log-normal amount for those (Normal-Inverse-Gamma).

All are fitted on sufficient statistics (one row per group), never on one row per event.
"""

import math
from typing import ClassVar

from vibes_core.types.base import ExperimentType, Prior, Statistic, Stats
from vibes_core.units import RATE, VALUE


class BetaBinomial(ExperimentType):
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

    def model(self, stats: Stats, prior: dict[str, float]):
        import pymc as pm

        with pm.Model(coords=stats.coords) as model:
            p = pm.Beta(self.parameter, alpha=prior["alpha"], beta=prior["beta"], dims="group")
            pm.Binomial(
                "successes", n=stats["trials"], p=p, observed=stats["successes"], dims="group"
            )
        return model

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


class GammaPoisson(ExperimentType):
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


class LogNormalHurdle(ExperimentType):
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
    parts: ClassVar[tuple[str, str]] = ("conversion", "value_per_buyer")

    def from_data(self, prior: str, stats: Stats, values: dict[str, float]) -> float:
        buyers = stats["buyers"].sum()
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
        import numpy as np
        import pymc as pm
        from pymc.distributions.transforms import Interval

        n, total, squares = stats["buyers"], stats["sum_log"], stats["sum_log2"]
        with pm.Model(coords=stats.coords) as model:
            p = pm.Beta("p", alpha=prior["alpha"], beta=prior["beta"], dims="group")
            pm.Binomial("buyers", n=stats["users"], p=p, observed=n, dims="group")
            # Cut at sd_max ** 2 by its support: the prior's parameters are constants, so the
            # density there needs no renormalizing.
            variance = pm.InverseGamma(
                "variance",
                alpha=prior["shape"],
                beta=prior["scale"],
                dims="group",
                default_transform=Interval(0.0, prior["sd_max"] ** 2),
            )
            mu = pm.Normal(
                "mu", mu=prior["mu0"], sigma=pm.math.sqrt(variance / prior["kappa"]), dims="group"
            )
            # The log values' Normal likelihood through their sums: sum (log - mu)^2 is
            # sum_log2 - 2 mu sum_log + n mu^2.
            pm.Potential(
                "log_values",
                pm.math.sum(
                    -n / 2 * pm.math.log(2 * np.pi * variance)
                    - (squares - 2 * mu * total + n * mu**2) / (2 * variance)
                ),
            )
        return model

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
