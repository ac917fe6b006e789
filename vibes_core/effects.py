"""What effects are usually like: a prior on each treated group's effect, the log ratio of its
quantity to the control's, learned from past experiments (vibes_core.learned).

The prior is a spike and a slab: no effect at all with probability 1 - pi, else an effect
drawn from a slab centred on mu with scale tau, Normal or, when past effects ask for it,
Student-t with TAIL_DF degrees of freedom (Bing's effects are fat-tailed). The t is a scale
mixture of Normals, written as MIXTURE_POINTS Normals of equal weight, so that everything
below is a sum of Gaussians: the marginal likelihood of an estimate, the Bayes factor of a
difference, and the posterior of an effect given its estimate.

An experiment's estimate of an effect is the mean m and variance v of the log ratio under the
type's default prior (its likelihood, nearly: that prior is wide); the learned prior's
posterior of the effect follows from those in closed form. Draws of the default posterior are
moved to it by their ranks (``shrink``): each draw keeps its place in its distribution, and
its joint spread with the control's draw.
"""

import functools
import math
from dataclasses import dataclass

import numpy as np

TAIL_DF = 3
MIXTURE_POINTS = 32
# The heavier tail is taken when it raises the log-likelihood of the past estimates by more
# than this (both slabs have three parameters: a likelihood ratio above e^2, about 7.4).
TAIL_GAIN = 2.0
TAU_SCALE = 0.25  # of the penalty on tau (``best``): effects of a product change are below ~50%
NORMAL, STUDENT_T = "normal", "student-t"
TAILS = (NORMAL, STUDENT_T)
LOG_2PI = math.log(2 * math.pi)
TINY = np.finfo(float).tiny


def log_sum_exp(a: np.ndarray) -> np.ndarray:
    """log(sum(exp(a))) over the last axis, without overflow (scipy's costs 5x more here)."""
    top = a.max(axis=-1, keepdims=True)
    return (top + np.log(np.exp(a - top).sum(axis=-1, keepdims=True)))[..., 0]


def log_normal(x, variance):
    """log N(x; 0, variance), elementwise."""
    return -0.5 * (LOG_2PI + np.log(variance) + x**2 / variance)


@functools.cache  # read on every evaluation of a likelihood
def scale_mixture(tail: str) -> tuple[np.ndarray, np.ndarray]:
    """The slab as Normals of variances tau^2 * scales, with log weights: one for a Normal;
    for a Student-t, the precisions' Gamma(df/2, df/2) quantiles at equal steps."""
    if tail == NORMAL:
        return np.ones(1), np.zeros(1)
    from scipy.stats import gamma

    steps = (np.arange(MIXTURE_POINTS) + 0.5) / MIXTURE_POINTS
    precisions = gamma.ppf(steps, TAIL_DF / 2, scale=2 / TAIL_DF)
    return 1 / precisions, np.full(MIXTURE_POINTS, -math.log(MIXTURE_POINTS))


@dataclass(frozen=True)
class EffectPrior:
    """No effect with probability 1 - pi, else mu + tau * (a Normal or a Student-t)."""

    pi: float
    mu: float
    tau: float
    tail: str = NORMAL

    def slab_terms(self, m, v) -> np.ndarray:
        """For estimates (m, v) (arrays of one shape S): the log of each slab component's
        weight times its marginal density of m, shape S + (K,)."""
        scales, log_weights = scale_mixture(self.tail)
        m, v = np.asarray(m, float)[..., None], np.asarray(v, float)[..., None]
        return log_weights + log_normal(m - self.mu, v + self.tau**2 * scales)

    def log_slab(self, m, v) -> np.ndarray:
        """log of the slab's marginal density of the estimate m with variance v."""
        terms = self.slab_terms(m, v)
        return log_sum_exp(terms)

    def log_likelihood(self, m, v) -> float:
        """The marginal log-likelihood of independent estimates (m, v) under this prior."""
        spike = math.log1p(-self.pi) + log_normal(np.asarray(m, float), v)
        slab = math.log(self.pi) + self.log_slab(m, v)
        return float(np.logaddexp(spike, slab).sum())

    def bayes_factor(self, m, v) -> np.ndarray:
        """The evidence of an effect from the slab against none, from the estimate's mean m and
        variance v (any shape): the slab's marginal density of m over the spike's."""
        v = np.maximum(v, 1e-300)
        log_factor = self.log_slab(m, v) - log_normal(np.asarray(m, float), v)
        return np.exp(np.minimum(log_factor, 700.0))

    def posterior_parts(self, m, v) -> tuple[np.ndarray, ...]:
        """The posterior of an effect given its estimate (m, v arrays of one shape S): P(no
        effect), shape S, and each slab component's weight, mean and sd, shapes S + (K,)."""
        m, v = np.asarray(m, float), np.asarray(v, float)
        terms = self.slab_terms(m, v)
        scales, _ = scale_mixture(self.tail)
        slab_variance = self.tau**2 * scales
        variance = 1 / (1 / v[..., None] + 1 / slab_variance)
        means = variance * (m[..., None] / v[..., None] + self.mu / slab_variance)
        log_slab = log_sum_exp(terms)
        odds = math.log(self.pi) + log_slab - math.log1p(-self.pi) - log_normal(m, v)
        spike = 1 / (1 + np.exp(np.minimum(odds, 700.0)))  # P(no effect | the estimate)
        return spike, np.exp(terms - log_slab[..., None]), means, np.sqrt(variance)

    def quantiles(self, m: float, v: float, u: np.ndarray) -> np.ndarray:
        """The posterior's quantiles at probabilities u, given the estimate (m, v)."""
        from scipy.special import ndtr

        spike, weights, means, sds = self.posterior_parts(m, v)
        spike = float(spike)
        low, high = float((means - 9 * sds).min()), float((means + 9 * sds).max())
        near = (means[:, None] + sds[:, None] * np.linspace(-6, 6, 41)).ravel()
        grid = np.unique(np.concatenate([np.linspace(min(low, 0), max(high, 0), 600), near, [0]]))
        below = ndtr((grid[:, None] - means) / sds) @ weights * (1 - spike)
        zero = int(np.searchsorted(grid, 0.0))
        cdf = np.concatenate([below[:zero], [below[zero]], below[zero:] + spike])
        at = np.concatenate([grid[:zero], [0.0], grid[zero:]])
        return np.interp(u, cdf, at)

    def sampled(self, m: np.ndarray, v: np.ndarray, draws: int) -> np.ndarray:
        """(F, draws): draws of the posteriors given F estimates (m, v), each its own (no
        draw kept at its rank: for many futures at once, where that costs too much)."""
        rng = np.random.default_rng(0)  # the same futures judge alike
        spike, weights, means, sds = self.posterior_parts(m, v)
        # Which part each draw is from: 0, no effect; j > 0, the slab's component j - 1.
        shares = np.concatenate([spike[:, None], (1 - spike)[:, None] * weights], axis=1)
        edges = np.cumsum(shares, axis=1)[:, None, :-1]
        part = (rng.random((len(m), draws))[:, :, None] >= edges).sum(axis=2)
        component = np.maximum(part - 1, 0)
        center = np.take_along_axis(means, component, axis=1)
        spread = np.take_along_axis(sds, component, axis=1)
        values = center + spread * rng.standard_normal((len(m), draws))
        return np.where(part == 0, 0.0, values)

    def shrink(self, x: np.ndarray, control: int) -> np.ndarray:
        """Draws (F, D, K) of F posteriors under the default prior, moved to this prior: each
        group's log ratio to ``control`` goes to the learned posterior's quantile of its rank
        (for one posterior; for several, futures, draws of the learned posterior instead)."""
        logs = np.log(np.maximum(x, TINY))  # a future's draw of a mean may be <= 0
        moved = x.copy()
        futures, draws, groups = x.shape
        u = (np.arange(draws) + 0.5) / draws
        for k in range(groups):
            if k == control:
                continue
            ratio = logs[:, :, k] - logs[:, :, control]
            if futures > 1:
                shrunk = self.sampled(ratio.mean(axis=1), ratio.var(axis=1), draws)
            else:
                shrunk = np.empty((1, draws))
                m, v = float(ratio.mean()), float(ratio.var())
                shrunk[0, np.argsort(ratio[0])] = self.quantiles(m, v, u)
            moved[:, :, k] = x[:, :, control] * np.exp(shrunk)
        return moved

    def evidence(self, x: np.ndarray, control: int) -> np.ndarray:
        """(F,): the mean over treated groups of the Bayes factor of their log ratio to the
        control, from draws (F, D, K) under the default prior."""
        logs = np.log(np.maximum(x, TINY))  # a future's draw of a mean may be <= 0
        ratio = np.delete(logs, control, axis=2) - logs[:, :, [control]]
        return self.bayes_factor(ratio.mean(axis=1), ratio.var(axis=1)).mean(axis=1)

    def draw_effects(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n effects (log ratios) drawn from the prior: 0 where there is none."""
        spread = rng.standard_normal(n) if self.tail == NORMAL else rng.standard_t(TAIL_DF, n)
        return np.where(rng.random(n) < self.pi, self.mu + self.tau * spread, 0.0)

    def words(self) -> str:
        slab = "Normal" if self.tail == NORMAL else f"Student-t ({TAIL_DF} df)"
        return (
            f"an effect in {100 * self.pi:.0f}% of variants, {slab} around "
            f"{100 * math.expm1(self.mu):+.2g}% with scale {100 * self.tau:.2g}% (log ratio)"
        )


def of_options(options: dict) -> EffectPrior | None:
    """The learned prior a summary's options carry (``effect_prior``), or None."""
    given = options.get("effect_prior")
    if not given:
        return None
    return EffectPrior(given["pi"], given["mu"], given["tau"], given["tail"])


@dataclass(frozen=True)
class Fit:
    """The prior that makes past estimates likeliest, and why its tail is what it is."""

    prior: EffectPrior
    log_likelihood: float
    why: str


def fit(m: np.ndarray, v: np.ndarray) -> Fit:
    """The spike-and-slab prior of largest marginal likelihood for estimates with means m and
    variances v: the Normal slab, or the Student-t where that fits better by TAIL_GAIN."""
    normal, normal_ll = best(m, v, NORMAL)
    heavy, heavy_ll = best(m, v, STUDENT_T)
    gain = heavy_ll - normal_ll
    if gain > TAIL_GAIN:
        why = (
            f"a Student-t slab ({TAIL_DF} df) fits the past effects better than a Normal one by "
            f"{gain:.1f} in log-likelihood (more than {TAIL_GAIN:g} needed): they have a heavy tail"
        )
        return Fit(heavy, heavy_ll, why)
    why = (
        f"a Normal slab: a Student-t one ({TAIL_DF} df) fits the past effects by only "
        f"{gain:+.1f} in log-likelihood (more than {TAIL_GAIN:g} needed)"
    )
    return Fit(normal, normal_ll, why)


def best(m: np.ndarray, v: np.ndarray, tail: str) -> tuple[EffectPrior, float]:
    """The maximum of the marginal likelihood over (pi, mu, tau), from several starts."""
    from scipy.optimize import minimize
    from scipy.special import expit

    m, v = np.asarray(m, float), np.asarray(v, float)
    spread = max(float(np.std(m)), float(np.sqrt(np.median(v))), 1e-3)

    def prior_of(theta) -> EffectPrior:
        return EffectPrior(float(expit(theta[0])), float(theta[1]), float(np.exp(theta[2])), tail)

    def minus(theta) -> float:
        # log pi + log(1 - pi) + log tau - tau / TAU_SCALE: Beta(2, 2) on pi and a Gamma(2)
        # on tau (Chung et al. 2013). They keep a fit to few estimates off the edges where
        # its likelihood is flat (pi = 1, tau = 0: every effect the same; pi = 0, tau huge:
        # one outlier is the slab); from a hundred estimates on, they hardly matter.
        tau = math.exp(theta[2])
        penalty = theta[0] + 2 * math.log(expit(-theta[0])) + theta[2] - tau / TAU_SCALE
        return -prior_of(theta).log_likelihood(m, v) - penalty

    bounds = [(-10, 10), (-5, 5), (math.log(1e-4), math.log(5))]
    found = []
    for share in (0.2, 0.7):
        for scale in (0.5, 2.0):
            start = [math.log(share / (1 - share)), 0.0, math.log(scale * spread)]
            result = minimize(minus, start, method="L-BFGS-B", bounds=bounds)
            found.append((result.fun, result.x))
    value, theta = min(found, key=lambda pair: pair[0])
    return prior_of(theta), -float(value)
