"""Posteriors over one parameter per group (a rate or a probability), exact or from draws.

Both kinds answer the same questions, so a type's summary is written once:

- ``Conjugate``: Beta or Gamma per group, in closed form. Means are exact, HDIs come from the
  quantile function, P(best) and expected loss from one-dimensional numerical integration.
  Derived quantities (differences, ratios) use independent draws of the exact posterior.
- ``Draws``: MCMC draws, shape (draws, groups); every answer is a Monte Carlo estimate.
"""

from dataclasses import dataclass, field

import numpy as np

EXACT_DRAWS = 200_000  # for derived quantities of exact posteriors: Monte Carlo error < 0.001
GRID_POINTS = 4001  # per group, for the integrals behind P(best) and expected loss


def hdi_of_samples(samples: np.ndarray, prob: float) -> tuple[float, float]:
    """The shortest interval holding ``prob`` of the samples."""
    ordered = np.sort(samples)
    inside = int(np.floor(prob * len(ordered)))
    widths = ordered[inside:] - ordered[: len(ordered) - inside]
    start = int(np.argmin(widths))
    return float(ordered[start]), float(ordered[start + inside])


@dataclass
class Draws:
    names: list[str]
    samples: np.ndarray  # (draws, groups)
    mcse: np.ndarray | None = None  # Monte Carlo standard error of each mean
    method: str = "mcmc"

    def mean(self) -> np.ndarray:
        return self.samples.mean(axis=0)

    def hdi(self, prob: float) -> list[tuple[float, float]]:
        return [hdi_of_samples(self.samples[:, i], prob) for i in range(len(self.names))]

    def p_best(self) -> np.ndarray:
        best = self.samples.argmax(axis=1)
        return np.bincount(best, minlength=len(self.names)) / len(best)

    def expected_loss(self) -> np.ndarray:
        """E[max over groups - this group]: what choosing each group costs, on average."""
        return (self.samples.max(axis=1, keepdims=True) - self.samples).mean(axis=0)

    def draws(self) -> np.ndarray:
        return self.samples

    def prob_above(self, i: int, x: float) -> float:
        return float((self.samples[:, i] > x).mean())

    def prob_greater(self, i: int, j: int) -> float:
        return float((self.samples[:, i] > self.samples[:, j]).mean())


@dataclass
class Conjugate:
    """Independent Beta(alpha, beta) or Gamma(shape=alpha, rate=beta) posteriors per group."""

    family: str  # "beta" or "gamma"
    names: list[str]
    alpha: np.ndarray
    beta: np.ndarray
    seed: int = 0
    method: str = "exact"
    mcse: None = None
    _draws: np.ndarray | None = field(default=None, repr=False)

    def mean(self) -> np.ndarray:
        if self.family == "beta":
            return self.alpha / (self.alpha + self.beta)
        return self.alpha / self.beta

    def cdf(self, i: int, x: np.ndarray) -> np.ndarray:
        from scipy import special

        if self.family == "beta":
            return special.betainc(self.alpha[i], self.beta[i], x)
        return special.gammainc(self.alpha[i], self.beta[i] * x)

    def quantile(self, i: int, q) -> np.ndarray:
        from scipy import special

        if self.family == "beta":
            return special.betaincinv(self.alpha[i], self.beta[i], q)
        return special.gammaincinv(self.alpha[i], q) / self.beta[i]

    def log_pdf(self, i: int, x: np.ndarray) -> np.ndarray:
        from scipy import special

        a, b = self.alpha[i], self.beta[i]
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.family == "beta":
                return (a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - special.betaln(a, b)
            return a * np.log(b) + (a - 1) * np.log(x) - b * x - special.gammaln(a)

    def hdi(self, prob: float) -> list[tuple[float, float]]:
        """Shortest interval per group, searching where its lower tail starts on ever finer grids
        (the ends included, for densities that peak at a boundary)."""
        intervals = []
        for i in range(len(self.names)):
            low, high = 0.0, 1.0 - prob
            for _ in range(8):  # each round narrows the search 20-fold
                tails = np.linspace(low, high, 41)
                best = int(np.argmin(self.quantile(i, tails + prob) - self.quantile(i, tails)))
                low, high = tails[max(best - 1, 0)], tails[min(best + 1, len(tails) - 1)]
            tail = tails[best]
            intervals.append((float(self.quantile(i, tail)), float(self.quantile(i, tail + prob))))
        return intervals

    def grid(self) -> np.ndarray:
        """Points dense where any group has mass: each group's range, all but 1e-12 of it."""
        ends = [self.quantile(i, np.array([1e-12, 1 - 1e-12])) for i in range(len(self.names))]
        return np.unique(np.concatenate([np.linspace(*end, GRID_POINTS) for end in ends]))

    def p_best(self) -> np.ndarray:
        """P(group i is the largest) = integral of f_i(x) * prod_{j != i} F_j(x) dx."""
        x = self.grid()
        cdfs = np.array([self.cdf(i, x) for i in range(len(self.names))])
        result = []
        for i in range(len(self.names)):
            others = np.prod(np.delete(cdfs, i, axis=0), axis=0)
            # Integrate against dF_i, which is exact in F_i and needs no density.
            result.append(np.sum(0.5 * (others[1:] + others[:-1]) * np.diff(cdfs[i])))
        result = np.clip(np.array(result), 0, 1)
        return result / result.sum()

    def prob_above(self, i: int, x: float) -> float:
        return float(1 - self.cdf(i, np.asarray(x)))

    def prob_greater(self, i: int, j: int) -> float:
        """P(X_i > X_j) = integral of (1 - F_i) dF_j."""
        x = self.grid()
        survival, cdf = 1 - self.cdf(i, x), self.cdf(j, x)
        return float(np.clip(np.sum(0.5 * (survival[1:] + survival[:-1]) * np.diff(cdf)), 0, 1))

    def expected_loss(self) -> np.ndarray:
        """E[max] - E[X_i], with E[max] = integral of (1 - prod_j F_j(x)) dx over x >= 0."""
        x = np.concatenate([[0.0], self.grid()])
        survival = 1 - np.prod([self.cdf(i, x) for i in range(len(self.names))], axis=0)
        expected_max = np.sum(0.5 * (survival[1:] + survival[:-1]) * np.diff(x))
        return np.maximum(expected_max - self.mean(), 0.0)

    def draws(self) -> np.ndarray:
        if self._draws is None:
            rng = np.random.default_rng(self.seed)
            if self.family == "beta":
                self._draws = rng.beta(self.alpha, self.beta, (EXACT_DRAWS, len(self.names)))
            else:
                self._draws = rng.gamma(self.alpha, 1 / self.beta, (EXACT_DRAWS, len(self.names)))
        return self._draws


Posterior = Draws | Conjugate


def interval(samples: np.ndarray, prob: float) -> dict:
    """Mean and HDI of a derived quantity's draws."""
    low, high = hdi_of_samples(samples, prob)
    return {"mean": float(samples.mean()), "hdi_low": low, "hdi_high": high}


def describe(posterior: Posterior, prob: float) -> list[dict]:
    """One row per group: its name, posterior mean and HDI (and Monte Carlo error for MCMC)."""
    rows = []
    for i, ((low, high), mean) in enumerate(
        zip(posterior.hdi(prob), posterior.mean(), strict=True)
    ):
        row = {"name": posterior.names[i], "mean": float(mean), "hdi_low": low, "hdi_high": high}
        if posterior.mcse is not None:
            row["mcse"] = float(posterior.mcse[i])
        rows.append(row)
    return rows


def percent(value: float, digits: int = 1) -> str:
    """A probability in words-friendly form: never "100.0%" for something short of certain."""
    limit = 0.5 * 10 ** -(digits + 2)
    if 0 < value < limit:
        return f"<{100 * limit * 2:.{digits}f}%"
    if 1 - limit <= value < 1:
        return f">{100 - 100 * limit * 2:.{digits}f}%"
    return f"{100 * value:.{digits}f}%"
