"""Posteriors of one quantity per group (a rate, a probability, a value per user), exact or
from draws.

Every kind answers the same questions, so the summary is written once (vibes_core.summary):

- ``ClosedForm``: an independent posterior per group in closed form, one subclass per family
  (``BetaPosterior``, ``GammaPosterior``). Means are exact, HDIs come from the quantile
  function, P(best) and expected loss from one-dimensional numerical integration. Derived
  quantities (differences, ratios) use independent draws of the exact posterior.
- ``Draws``: draws of shape (draws, groups), from MCMC or independent draws of a closed-form
  posterior without a closed form for the quantity; every answer is a Monte Carlo estimate.
"""

from dataclasses import dataclass, field

import numpy as np

from vibes_core.errors import VibesError, option

# Derived quantities of exact posteriors (uplifts, ratios) come from independent draws: 200,000
# per group (Monte Carlo error of a mean 0.002 sd), fewer with many groups so that draws x
# groups stays within DRAW_BUDGET (32 MB, 0.4 s; 1,000 groups get 4,000 each: error 0.016 sd).
EXACT_DRAWS = 200_000
DRAW_BUDGET = 4_000_000
MIN_DRAWS = 1_000  # the floor, from 4,000 groups on: error 0.03 sd
# The integrals behind P(best), P(beats) and expected loss: GRID_POINTS per group while groups
# x points stays within CDF_BUDGET evaluations of a CDF (about 0.3 s), else fewer, never fewer
# than MIN_GRID in all. Up to 7 groups get all of them: error < 1e-8 against quadrature; 1,000
# groups share 1,000 points: error < 1e-5 against a grid 40 times finer.
GRID_POINTS = 20_001
CDF_BUDGET = 1_000_000
MIN_GRID = 400
MIN_PAIR_GRID = 100  # per group, for P(beats): its grids are uniform, so Richardson works well
TAIL = 1e-12  # the mass of a group left out of its range, on either side
BATCHES = 10  # for the Monte Carlo error of an interval from draws (batch means)
TINY = np.finfo(float).tiny
HDI_ROUNDS = 40  # golden-section steps: the bracket shrinks to 0.618^40 = 4e-9 of its width


@dataclass
class Draws:
    names: list[str]
    samples: np.ndarray  # (draws, groups) of the quantity
    mcse: np.ndarray | None = None  # Monte Carlo standard error of each mean
    method: str = "mcmc"
    parts: dict[str, np.ndarray] = field(default_factory=dict)  # the type's other quantities
    hyper: dict[str, np.ndarray] = field(default_factory=dict)  # a pooled model's, (draws,)

    def mean(self) -> np.ndarray:
        return self.samples.mean(axis=0)

    def hdi(self, prob: float) -> list[tuple[float, float]]:
        found = intervals(self.samples, prob, self.names)
        return [(row["hdi_low"], row["hdi_high"]) for row in found]

    def p_best(self) -> np.ndarray:
        """Groups tied for best in a draw share it: under a learned prior a treated group
        equals its control where it has no effect."""
        return shared_wins(self.samples, axis=1).mean(axis=0)

    def expected_loss(self) -> np.ndarray:
        """E[max over groups - this group]: what choosing each group costs, on average."""
        return (self.samples.max(axis=1, keepdims=True) - self.samples).mean(axis=0)

    def draws(self) -> np.ndarray:
        return self.samples

    def prob_above(self, i: int, x: float) -> float:
        return float((self.samples[:, i] > x).mean())

    def prob_greater(self, i: int, j: int) -> float:
        return float((self.samples[:, i] > self.samples[:, j]).mean())

    def prob_beats(self, j: int) -> np.ndarray:
        """P(X_i > X_j) for every group i."""
        return (self.samples > self.samples[:, [j]]).mean(axis=0)

    def subset(self, kept: list[int]) -> "Draws":
        """The same posterior of only the groups ``kept``."""
        return Draws(
            [self.names[i] for i in kept],
            self.samples[:, kept],
            None if self.mcse is None else self.mcse[kept],
            self.method,
            {key: value[:, kept] for key, value in self.parts.items()},
            self.hyper,
        )


def shared_wins(samples: np.ndarray, axis: int) -> np.ndarray:
    """1 where a group is the largest along ``axis``, 1/n where n groups tie for it."""
    top = samples == samples.max(axis=axis, keepdims=True)
    return top / top.sum(axis=axis, keepdims=True)


def negated(estimate: "Draws | ClosedForm") -> Draws:
    """The posterior of minus the quantity, as draws: for a quantity where lower is better."""
    return Draws(list(estimate.names), -estimate.draws(), method=estimate.method)


@dataclass
class ClosedForm:
    """Independent posteriors per group of one two-parameter family, in closed form; a
    subclass says which (its CDF, quantile function, mean and a sampler).

    Every computation is vectorized over groups, with its cost bounded for any number of them:
    CDF evaluations per integral by CDF_BUDGET, draws by DRAW_BUDGET (see their comments)."""

    names: list[str]
    alpha: np.ndarray
    beta: np.ndarray
    seed: int = 0
    method: str = "exact"
    mcse: None = None
    parts: dict = field(default_factory=dict)
    hyper: dict = field(default_factory=dict)  # never pooled
    _draws: np.ndarray | None = field(default=None, repr=False)
    _max_grid: tuple | None = field(default=None, repr=False)

    # --- the family ---------------------------------------------------------------------
    def mean(self) -> np.ndarray:
        raise NotImplementedError

    def _cdf(self, alpha, beta, x):
        """The CDF at ``x``, broadcasting parameters against points."""
        raise NotImplementedError

    def _quantile(self, alpha, beta, q):
        raise NotImplementedError

    def _sample(self, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
        raise NotImplementedError

    # --- what every family answers the same way -----------------------------------------
    def cdf(self, i: int, x: np.ndarray) -> np.ndarray:
        return self._cdf(self.alpha[i], self.beta[i], x)

    def quantile(self, i: int, q) -> np.ndarray:
        return self._quantile(self.alpha[i], self.beta[i], q)

    def subset(self, kept: list[int]) -> "ClosedForm":
        """The same posterior of only the groups ``kept``."""
        return type(self)(
            [self.names[i] for i in kept], self.alpha[kept], self.beta[kept], self.seed, self.method
        )

    def hdi(self, prob: float) -> list[tuple[float, float]]:
        """Shortest interval per group: golden-section search, for all groups at once, of where
        its lower tail starts (the ends compared too, for densities that peak at a boundary)."""
        a, b = self.alpha, self.beta

        def width(tail):
            with np.errstate(invalid="ignore"):
                found = self._quantile(a, b, np.minimum(tail + prob, 1.0)) - self._quantile(
                    a, b, tail
                )
            return np.where(np.isfinite(found), found, np.inf)

        golden = (np.sqrt(5) - 1) / 2
        low, high = np.zeros(len(a)), np.full(len(a), 1 - prob)
        c, d = high - golden * (high - low), low + golden * (high - low)
        width_c, width_d = width(c), width(d)
        for _ in range(HDI_ROUNDS):
            left = width_c <= width_d  # the minimum is in [low, d], else in [c, high]
            low, high = np.where(left, low, c), np.where(left, d, high)
            fresh = np.where(left, high - golden * (high - low), low + golden * (high - low))
            width_fresh = width(fresh)
            c, d = np.where(left, fresh, d), np.where(left, c, fresh)
            width_c, width_d = (
                np.where(left, width_fresh, width_d),
                np.where(left, width_c, width_fresh),
            )
        tails = np.stack([np.zeros(len(a)), c, d, np.full(len(a), 1 - prob)])
        best = tails[
            np.argmin(np.stack([width(tail) for tail in tails]), axis=0), np.arange(len(a))
        ]
        lows, highs = self._quantile(a, b, best), self._quantile(a, b, np.minimum(best + prob, 1.0))
        return [(float(low), float(high)) for low, high in zip(lows, highs, strict=True)]

    def ends(self) -> tuple[np.ndarray, np.ndarray]:
        """Each group's range: all but TAIL of its mass on either side."""
        ends = self._quantile(self.alpha[:, None], self.beta[:, None], np.array([TAIL, 1 - TAIL]))
        return ends[:, 0], ends[:, 1]

    def max_grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Points where the largest group's value lies, and every group's CDF there, shape
        (groups, points). From where P(max < x) = TAIL to the highest group's upper end: below,
        no group can be best but with probability TAIL. Each group puts GRID_POINTS there, as
        long as groups x points stays within CDF_BUDGET; with many groups the union is thinned
        evenly in rank, so points stay densest where the groups' ranges crowd."""
        if self._max_grid is None:
            lo, hi = self.ends()
            bottom, top = self._lowest_max(lo.max(), hi.max()), hi.max()
            size = len(self.names)
            most = max(CDF_BUDGET // size, MIN_GRID)
            steps = np.linspace(0.0, 1.0, min(GRID_POINTS, max(8, 4 * most // size)))
            starts = np.maximum(lo, bottom)
            inside = hi > starts
            spread = starts[inside, None] + (hi - starts)[inside, None] * steps
            x = np.unique(np.concatenate([[bottom, top], spread.ravel()]))
            if len(x) > most:
                x = np.unique(x[np.linspace(0, len(x) - 1, most).round().astype(int)])
            cdfs = np.ones((size, len(x)))
            below = x[None, :] < hi[:, None]  # above its range a group's CDF is 1
            shape = cdfs.shape
            cdfs[below] = self._cdf(
                np.broadcast_to(self.alpha[:, None], shape)[below],
                np.broadcast_to(self.beta[:, None], shape)[below],
                np.broadcast_to(x, shape)[below],
            )
            self._max_grid = x, cdfs
        return self._max_grid

    def _lowest_max(self, low: float, high: float) -> float:
        """Where P(all groups below x) = TAIL, by bisection between ``low`` (where it is at
        most TAIL) and ``high``."""
        target = np.log(TAIL)
        for _ in range(60):
            middle = 0.5 * (low + high)
            cdfs = self._cdf(self.alpha, self.beta, middle)
            if np.sum(np.log(np.maximum(cdfs, TINY))) <= target:
                low = middle
            else:
                high = middle
        return low

    def p_best(self) -> np.ndarray:
        """P(group i is the largest) = integral of prod_{j != i} F_j(x) dF_i(x): against dF_i,
        which is exact in F_i and needs no density; the product of the others as the product of
        all divided by F_i, in logs (every F_i is at least TAIL on the grid)."""
        _, cdfs = self.max_grid()
        logs = np.log(np.maximum(cdfs, TINY))
        result = np.clip(trapezoid(np.exp(logs.sum(axis=0) - logs), cdfs), 0, 1)
        return result / result.sum()

    def prob_above(self, i: int, x: float) -> float:
        return float(1 - self.cdf(i, np.asarray(x)))

    def prob_greater(self, i: int, j: int) -> float:
        return float(self._greater(np.array([i]), j)[0])

    def prob_beats(self, j: int) -> np.ndarray:
        """P(X_i > X_j) for every group i."""
        return self._greater(np.arange(len(self.names)), j)

    def _greater(self, rows: np.ndarray, j: int) -> np.ndarray:
        """P(X_i > X_j) for i in ``rows``: E_i[F_j(X_i)] or E_j[1 - F_i(X_j)], integrated over
        the narrower of the two, on whose scale the other's CDF is smooth."""
        lo, hi = self.ends()
        steps = np.linspace(
            0.0, 1.0, min(GRID_POINTS, max(MIN_PAIR_GRID, CDF_BUDGET // (3 * len(rows))))
        )
        a, b = self.alpha[rows, None], self.beta[rows, None]
        at_i = lo[rows, None] + (hi - lo)[rows, None] * steps  # (rows, points)
        at_j = lo[j] + (hi[j] - lo[j]) * steps  # (points,)
        over_i = trapezoid(self._cdf(self.alpha[j], self.beta[j], at_i), self._cdf(a, b, at_i))
        over_j = trapezoid(1 - self._cdf(a, b, at_j), self._cdf(self.alpha[j], self.beta[j], at_j))
        narrower = (hi - lo)[rows] <= hi[j] - lo[j]
        return np.clip(np.where(narrower, over_i, over_j), 0, 1)

    def expected_loss(self) -> np.ndarray:
        """E[max] - E[X_i], with E[max] = integral of (1 - prod_j F_j(x)) dx over x >= 0: the
        integrand is 1 up to the grid's bottom (but for TAIL)."""
        x, cdfs = self.max_grid()
        below = np.exp(np.log(np.maximum(cdfs, TINY)).sum(axis=0))
        expected_max = x[0] + trapezoid(1 - below, x)
        return np.maximum(expected_max - self.mean(), 0.0)

    def draws(self) -> np.ndarray:
        if self._draws is None:
            rng = np.random.default_rng(self.seed)
            self._draws = self._sample(rng, (draw_count(len(self.names)), len(self.names)))
        return self._draws


class BetaPosterior(ClosedForm):
    """Beta(alpha, beta) per group: a probability."""

    def mean(self) -> np.ndarray:
        return self.alpha / (self.alpha + self.beta)

    def _cdf(self, alpha, beta, x):
        from scipy import special

        return special.betainc(alpha, beta, x)

    def _quantile(self, alpha, beta, q):
        from scipy import special

        return special.betaincinv(alpha, beta, q)

    def _sample(self, rng, shape):
        return rng.beta(self.alpha, self.beta, shape)


class GammaPosterior(ClosedForm):
    """Gamma(shape=alpha, rate=beta) per group: a rate."""

    def mean(self) -> np.ndarray:
        return self.alpha / self.beta

    def _cdf(self, alpha, beta, x):
        from scipy import special

        with np.errstate(over="ignore"):  # beta * x = inf far out: the CDF there is 1
            return special.gammainc(alpha, beta * x)

    def _quantile(self, alpha, beta, q):
        from scipy import special

        return special.gammaincinv(alpha, q) / beta

    def _sample(self, rng, shape):
        return rng.gamma(self.alpha, 1 / self.beta, shape)


def draw_count(groups: int) -> int:
    """How many independent draws per group an exact posterior's derived quantities get."""
    return min(EXACT_DRAWS, max(MIN_DRAWS, DRAW_BUDGET // groups))


def trapezoid(values: np.ndarray, cdfs: np.ndarray) -> np.ndarray:
    """The integral of ``values`` dF along the last axis, F given at the same points: the
    trapezoidal rule's error falls as the square of the spacing, so the rule on every point and
    on every other one extrapolate to a far better answer (Richardson) at no cost in CDFs."""

    def rule(v, f):
        return np.sum(0.5 * (v[..., 1:] + v[..., :-1]) * np.diff(f, axis=-1), axis=-1)

    every_other = np.unique(np.r_[0 : values.shape[-1] : 2, values.shape[-1] - 1])
    fine, coarse = rule(values, cdfs), rule(values[..., every_other], cdfs[..., every_other])
    return fine + (fine - coarse) / 3


Estimate = Draws | ClosedForm


def interval(
    samples: np.ndarray, prob: float, what: str = "a derived quantity", center: str = "mean"
) -> dict:
    """Mean (or median) and HDI of a derived quantity's draws (``what``, for the error if one
    is not a finite number)."""
    return intervals(samples[:, None], prob, [what], center)[0]


def intervals(
    samples: np.ndarray, prob: float, whats: list[str], center: str = "mean", errors: bool = False
) -> list[dict]:
    """``interval`` of each column of ``samples`` (draws, quantities), all sorted at once.
    ``center="median"`` for ratios, whose mean may not exist (E[1/p] is infinite when p's
    posterior has mass near 0): the median does, and exact and MCMC draws agree on it.
    ``errors``: each with ``mc_error``, the Monte Carlo error of its HDI's ends (the larger),
    from the spread of BATCHES batches of the draws (which also holds for MCMC's chains)."""
    finite = np.isfinite(samples).all(axis=0)
    if not finite.all():
        raise VibesError(
            f"{whats[int(np.argmin(finite))]} cannot be computed: in some posterior draws it is "
            "not a finite number (the baseline's draw is 0, its data too few for so small a "
            f"prior); choose another {option('control')}, or a {option('prior')} whose "
            "parameters are at least 1"
        )
    ordered = np.sort(samples, axis=0)
    inside = int(np.floor(prob * len(ordered)))
    start = np.argmin(ordered[inside:] - ordered[: len(ordered) - inside], axis=0)
    columns = np.arange(samples.shape[1])
    lows, highs = ordered[start, columns], ordered[start + inside, columns]
    # Column by column: the same summation order whatever the other columns (plots compare).
    if center == "median":  # from the sorted draws, as numpy's median takes it
        n = len(ordered)
        centers = 0.5 * (ordered[(n - 1) // 2] + ordered[n // 2])
    else:
        centers = [samples[:, column].mean() for column in columns]
    found = [
        {center: float(value), "hdi_low": float(low), "hdi_high": float(high)}
        for value, low, high in zip(centers, lows, highs, strict=True)
    ]
    if errors:
        for row, error in zip(found, hdi_errors(samples, prob), strict=True):
            row["mc_error"] = float(error)
    return found


def hdi_errors(samples: np.ndarray, prob: float) -> np.ndarray:
    """The Monte Carlo error of each column's HDI ends: the spread of the ends over BATCHES
    consecutive batches of the draws, over the square root of BATCHES (batch means)."""
    size = len(samples) // BATCHES
    batches = np.sort(samples[: size * BATCHES].reshape(BATCHES, size, -1), axis=1)
    inside = int(np.floor(prob * size))
    start = np.argmin(batches[:, inside:] - batches[:, : size - inside], axis=1)  # (B, cols)
    rows, cols = np.arange(BATCHES)[:, None], np.arange(samples.shape[1])[None, :]
    ends = np.stack([batches[rows, start, cols], batches[rows, start + inside, cols]])
    scale = np.abs(ends).max(axis=(0, 1))  # ends of 1e300: their squares would overflow
    scale = np.where(scale > 0, scale, 1.0)
    return (ends / scale).std(axis=1, ddof=1).max(axis=0) * scale / np.sqrt(BATCHES)


def describe(posterior: Estimate, prob: float) -> list[dict]:
    """One row per group: its name, posterior mean and HDI (and Monte Carlo error for MCMC)."""
    rows = []
    for i, ((low, high), mean) in enumerate(
        zip(posterior.hdi(prob), posterior.mean(), strict=True)
    ):
        row = {"name": posterior.names[i], "mean": float(mean), "hdi_low": low, "hdi_high": high}
        if posterior.mcse is not None:  # none for constant draws: JSON has no NaN
            row["mcse"] = float(posterior.mcse[i]) if np.isfinite(posterior.mcse[i]) else None
        rows.append(row)
    return rows
