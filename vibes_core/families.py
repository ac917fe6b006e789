"""The two conjugate families the types are built on, each as PyMC model and closed form.

Beta-Binomial: a probability per group, from trials and successes (bernoulli, ab-test, bandits).
Gamma-Poisson: a rate per unit of exposure per group, from event counts and summed exposure.
Both are fitted on sufficient statistics (one row per group), never on one row per event.
"""

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from vibes_core.errors import VibesError
from vibes_core.types.base import ExperimentType

if TYPE_CHECKING:
    import numpy as np

    from vibes_core.posterior import Conjugate


# A prior parameter counts pseudo-observations (Beta: successes and failures; Gamma: events and
# exposure). Up to a million is stronger than any data-free belief and still exact in floating
# point; down to 1e-6 admits the vaguest priors in use (Gamma(0.001, 0.001), Beta(0.01, 0.01))
# with room to spare, while at 1e-300 every draw is 0 and the density a spike no float holds.
PRIOR_BOUNDS = (1e-6, 1e6)
# Counts per group (trials, successes, events): scipy's inverse incomplete beta function drifts
# from 1e13 on (the median off by 0.1 sd at 1e15), so larger counts are refused, not misreported.
MAX_COUNT = 1e12


@dataclass(frozen=True)
class Groups:
    """Sufficient statistics in model form: per group, how many draws of what."""

    names: list[str]
    size: "np.ndarray"  # trials, or exposure
    count: "np.ndarray"  # successes, or events

    @property
    def empty(self) -> "np.ndarray":
        return self.size == 0


def checked(groups: Groups, noun: str, size: str, count: str, size_limit: float) -> Groups:
    """``groups`` if every statistic can be computed with, else a VibesError naming the group:
    a sum of finite values can still overflow (two exposures of 1e308 make infinity)."""
    import numpy as np

    for values, what, limit in ((groups.size, size, size_limit), (groups.count, count, MAX_COUNT)):
        bad = ~np.isfinite(values) | (values > limit)
        if bad.any():
            i = int(np.argmax(bad))
            name = f"{noun} {groups.names[i]}" if noun else "the experiment"
            if math.isfinite(limit):
                problem, fix = f"more than {limit:g}", f"split {name} into several"
            else:
                problem, fix = "beyond floating point", f"record {what} in larger units"
            raise VibesError(
                f"{name} has a total {what} of {values[i]:g}, {problem}: vibes cannot compute "
                f"with it; {fix}"
            )
    return groups


def baseline(names: list[str], chosen: str | None, option: str, noun: str) -> int:
    """Where the group the others are compared with is: the one chosen, else the first."""
    chosen = chosen or names[0]
    if chosen not in names:
        raise VibesError(f"--{option} {chosen!r} is not a {noun}; {noun}s: {', '.join(names)}")
    return names.index(chosen)


def no_data_warnings(groups: Groups, noun: str) -> list[str]:
    return [
        f"{noun} {name} has no events yet: its posterior is the prior"
        for name, empty in zip(groups.names, groups.empty, strict=True)
        if empty
    ]


def check_prior(kind: ExperimentType, prior: tuple[float, float]) -> tuple[float, float]:
    """``prior`` if both parameters are within PRIOR_BOUNDS, else a VibesError naming one."""
    low, high = PRIOR_BOUNDS
    for name, value in zip(kind.prior_names, prior, strict=True):
        if not (math.isfinite(value) and low <= value <= high):
            raise VibesError(
                f"--prior: {name} {value:g} is outside [{low:g}, {high:g}]; give each parameter "
                f"in that range, e.g. the default {','.join(f'{v:g}' for v in kind.default_prior)}"
            )
    return prior


class BetaBinomial(ExperimentType):
    family: ClassVar[str] = "beta"
    parameter: ClassVar[str] = "p"
    prior_names: ClassVar[tuple[str, str]] = ("alpha", "beta")
    default_prior: ClassVar[tuple[float, float]] = (1.0, 1.0)  # uniform on [0, 1]

    def groups(self, stats: list[dict]) -> Groups:
        import numpy as np

        key = self.group_column
        groups = Groups(
            names=[row[key] for row in stats] if key else ["all"],
            size=np.array([row["trials"] for row in stats], dtype=float),
            count=np.array([row["successes"] for row in stats], dtype=float),
        )
        return checked(groups, key or "", "trials", "successes", MAX_COUNT)

    def model(self, groups: Groups, prior: tuple[float, float]):
        import pymc as pm

        with pm.Model(coords={"group": groups.names}) as model:
            p = pm.Beta(self.parameter, alpha=prior[0], beta=prior[1], dims="group")
            pm.Binomial("successes", n=groups.size, p=p, observed=groups.count, dims="group")
        return model

    def exact(self, groups: Groups, prior: tuple[float, float]) -> "Conjugate":
        from vibes_core.posterior import Conjugate

        alpha, beta = prior
        return Conjugate(
            "beta", groups.names, alpha + groups.count, beta + groups.size - groups.count
        )


class GammaPoisson(ExperimentType):
    family: ClassVar[str] = "gamma"
    parameter: ClassVar[str] = "rate"
    prior_names: ClassVar[tuple[str, str]] = ("shape", "rate")
    # Mean 1000 per unit of exposure, sd 1000: weak for any plausible rate.
    default_prior: ClassVar[tuple[float, float]] = (1.0, 0.001)

    def groups(self, stats: list[dict]) -> Groups:
        import numpy as np

        groups = Groups(
            names=[row[self.group_column] for row in stats],
            size=np.array([row["exposure"] for row in stats], dtype=float),
            count=np.array([row["events"] for row in stats], dtype=float),
        )
        return checked(groups, self.group_column, "exposure", "events", math.inf)

    def model(self, groups: Groups, prior: tuple[float, float]):
        import pymc as pm

        with pm.Model(coords={"group": groups.names}) as model:
            rate = pm.Gamma(self.parameter, alpha=prior[0], beta=prior[1], dims="group")
            pm.Poisson("events", mu=rate * groups.size, observed=groups.count, dims="group")
        return model

    def exact(self, groups: Groups, prior: tuple[float, float]) -> "Conjugate":
        from vibes_core.posterior import Conjugate

        shape, rate = prior
        return Conjugate("gamma", groups.names, shape + groups.count, rate + groups.size)
