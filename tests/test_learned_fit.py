"""Priors of effects learned from past experiments (vibes_core.effects), checked against
simulated lakes whose true distribution of effects is known: the estimates of its
parameters, the predictions of held-out experiments, and the posteriors under it."""

import numpy as np
import pytest
from scipy.stats import norm

from vibes_core.effects import NORMAL, STUDENT_T, EffectPrior, fit
from vibes_core.posterior import intervals
from vibes_core.verdict import TAUS

TRUTH = EffectPrior(pi=0.3, mu=0.01, tau=0.05)


def past_estimates(rng, n: int, truth: EffectPrior = TRUTH):
    """``n`` experiments' true effects and estimates: standard errors between 1% and 4%, as of
    A/B tests with tens to hundreds of thousands of units per variant."""
    se = np.exp(rng.uniform(np.log(0.01), np.log(0.04), n))
    effects = truth.draw_effects(rng, n)
    return effects, effects + se * rng.standard_normal(n), se**2


def test_fifty_lakes_recover_the_share_and_spread_of_effects_without_bias():
    found = []
    for lake in range(50):
        _, estimates, variances = past_estimates(np.random.default_rng(lake), 200)
        found.append(fit(estimates, variances).prior)
    assert abs(np.mean([p.pi for p in found]) - TRUTH.pi) < 0.05
    assert abs(np.mean([p.tau for p in found]) / TRUTH.tau - 1) < 0.15
    assert abs(np.mean([p.mu for p in found]) - TRUTH.mu) < 0.01
    assert sum(p.tail == NORMAL for p in found) >= 45  # a Normal slab is seen as Normal


def test_a_heavy_tail_is_taken_when_past_effects_have_one():
    """With a thousand past experiments (a large team's year), as Bing's were."""
    heavy = EffectPrior(pi=0.5, mu=0.0, tau=0.03, tail=STUDENT_T)
    tails = []
    for lake in range(10):
        _, estimates, variances = past_estimates(np.random.default_rng(100 + lake), 1000, heavy)
        found = fit(estimates, variances)
        tails.append(found.prior.tail)
        if found.prior.tail == STUDENT_T:
            assert "heavy tail" in found.why
    assert tails.count(STUDENT_T) >= 9


def default_log_predictive(y, variance):
    """What vibes assumes of an effect without a learned prior: the verdict's alternative,
    Normal(0, tau^2) averaged over its spreads TAUS."""
    densities = [norm.pdf(y, 0, np.sqrt(variance + tau**2)) for tau in TAUS]
    return np.log(np.mean(densities, axis=0))


def test_held_out_experiments_are_predicted_better_than_by_the_default():
    rng = np.random.default_rng(7)
    _, estimates, variances = past_estimates(rng, 200)
    folds = np.arange(200) % 10
    learned_total, default_total = 0.0, 0.0
    for fold in range(10):
        out = folds == fold
        prior = fit(estimates[~out], variances[~out]).prior
        spike = np.log1p(-prior.pi) + norm.logpdf(estimates[out], 0, np.sqrt(variances[out]))
        slab = np.log(prior.pi) + prior.log_slab(estimates[out], variances[out])
        learned_total += np.logaddexp(spike, slab).sum()
        default_total += default_log_predictive(estimates[out], variances[out]).sum()
    assert learned_total > default_total + 20


def shrunk_log_ratios(
    prior: EffectPrior, estimate: float, variance: float, rng, draws=4000, futures=1
):
    """Draws of a control and a treatment whose log ratio has the default posterior
    N(estimate, variance), moved to ``prior`` by the product's code: their log ratio (of
    ``futures`` such posteriors at once, the way futures are judged, all together)."""
    control = rng.gamma(400.0, 1 / 4000, (futures, draws))  # a conversion rate near 10%
    normal = rng.standard_normal((futures, draws))
    treated = control * np.exp(estimate + np.sqrt(variance) * normal)
    moved = prior.shrink(np.stack([control, treated], axis=2), control=0)
    return np.log(moved[:, :, 1] / moved[:, :, 0]).ravel()


def test_posteriors_under_the_learned_prior_are_closer_to_the_truth_and_calibrated():
    rng = np.random.default_rng(11)
    _, estimates, variances = past_estimates(rng, 200)
    prior = fit(estimates, variances).prior
    truths, new_estimates, new_variances = past_estimates(rng, 1000)  # the same population
    means, covered = [], []
    for truth, estimate, variance in zip(truths, new_estimates, new_variances, strict=True):
        ratios = shrunk_log_ratios(prior, estimate, variance, rng)
        means.append(ratios.mean())
        [hdi] = intervals(ratios[:, None], 0.94, ["the log ratio"])
        covered.append(hdi["hdi_low"] <= truth <= hdi["hdi_high"])
    means = np.array(means)
    small = np.abs(truths) < 0.02  # the effects of most changes: none, or a couple of percent
    learned_error = np.mean((means[small] - truths[small]) ** 2)
    default_error = np.mean((new_estimates[small] - truths[small]) ** 2)  # the flat prior's
    assert learned_error < 0.8 * default_error
    assert 0.92 <= np.mean(covered) <= 0.96


@pytest.mark.parametrize("futures", [1, 20])  # by rank; sampled, as futures are
@pytest.mark.parametrize("prior", [TRUTH, EffectPrior(0.6, -0.02, 0.04, STUDENT_T)])
def test_the_moved_draws_follow_the_posterior_computed_by_quadrature(prior, futures):
    """The learned posterior of an effect given its estimate, by numerical integration of
    prior x likelihood on a grid (scipy), against the product's moved draws."""
    from scipy.stats import t

    estimate, variance = 0.03, 0.015**2
    grid = np.linspace(-0.5, 0.5, 200_001)
    slab = (
        norm.pdf(grid, prior.mu, prior.tau)
        if prior.tail == NORMAL
        else t.pdf((grid - prior.mu) / prior.tau, 3) / prior.tau
    )
    likelihood = norm.pdf(estimate, grid, np.sqrt(variance))
    slab_mass = prior.pi * np.trapezoid(slab * likelihood, grid)
    spike_mass = (1 - prior.pi) * norm.pdf(estimate, 0, np.sqrt(variance))
    p_zero = spike_mass / (spike_mass + slab_mass)
    slab_mean = np.trapezoid(grid * slab * likelihood, grid) / np.trapezoid(slab * likelihood, grid)
    rng = np.random.default_rng(3)
    ratios = shrunk_log_ratios(prior, estimate, variance, rng, 40_000 // futures, futures)
    assert abs(np.mean(ratios == 0) - p_zero) < 0.01
    assert abs(ratios.mean() - (1 - p_zero) * slab_mean) < 5e-4
    # The Bayes factor of the slab against no effect: their marginal densities' ratio (a t
    # slab is a mixture of 32 Normals: its density is within a percent).
    expected = (slab_mass / prior.pi) / (spike_mass / (1 - prior.pi))
    assert prior.bayes_factor(estimate, variance) == pytest.approx(expected, rel=0.01)
