"""The two conjugate families the types are built on, each as PyMC model and closed form.

Beta-Binomial: a probability per group, from trials and successes (bernoulli, ab-test, bandits).
Gamma-Poisson: a rate per unit of exposure per group, from event counts and summed exposure.
Both are fitted on sufficient statistics (one row per group), never on one row per event.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from vibes_core.errors import VibesError
from vibes_core.types.base import ExperimentType

if TYPE_CHECKING:
    import numpy as np

    from vibes_core.posterior import Conjugate


@dataclass(frozen=True)
class Groups:
    """Sufficient statistics in model form: per group, how many draws of what."""

    names: list[str]
    size: "np.ndarray"  # trials, or exposure
    count: "np.ndarray"  # successes, or events

    @property
    def empty(self) -> "np.ndarray":
        return self.size == 0


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


class BetaBinomial(ExperimentType):
    family: ClassVar[str] = "beta"
    parameter: ClassVar[str] = "p"
    prior_names: ClassVar[tuple[str, str]] = ("alpha", "beta")
    default_prior: ClassVar[tuple[float, float]] = (1.0, 1.0)  # uniform on [0, 1]

    def groups(self, stats: list[dict]) -> Groups:
        import numpy as np

        key = self.group_column
        return Groups(
            names=[row[key] for row in stats] if key else ["all"],
            size=np.array([row["trials"] for row in stats], dtype=float),
            count=np.array([row["successes"] for row in stats], dtype=float),
        )

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

        return Groups(
            names=[row[self.group_column] for row in stats],
            size=np.array([row["exposure"] for row in stats], dtype=float),
            count=np.array([row["events"] for row in stats], dtype=float),
        )

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
