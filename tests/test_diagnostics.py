"""vibes_core.diagnostics against arviz_stats, an independent implementation of the same
definitions (Vehtari et al. 2021), on chains with known autocorrelation, ties, heavy tails,
chains that disagree, odd and short lengths."""

import numpy as np
import pytest
import xarray as xr

from vibes_core import diagnostics


def autoregressive(rng, chains: int, draws: int, phi: float, shift: float = 0.0) -> np.ndarray:
    noise = rng.normal(size=(chains, draws))
    x = np.empty_like(noise)
    x[:, 0] = noise[:, 0]
    for t in range(1, draws):
        x[:, t] = phi * x[:, t - 1] + noise[:, t]
    return x + shift * np.arange(chains)[:, None]


def cases():
    rng = np.random.default_rng(20261204)
    mixing = [autoregressive(rng, 4, 1000, phi) for phi in (0.95, 0.6, 0.0, -0.4, -0.8)]
    yield "autocorrelated", np.stack(mixing, axis=-1)
    yield "chains that disagree", autoregressive(rng, 4, 500, 0.3, shift=0.5)[..., None]
    yield "odd and short", rng.normal(size=(3, 101, 2))
    yield "shortest", rng.normal(size=(2, 7, 3))
    yield "one chain", autoregressive(rng, 1, 400, 0.5)[..., None]
    yield "ties", rng.poisson(2.0, size=(4, 300, 2)).astype(float)
    yield "heavy tails", rng.standard_cauchy(size=(4, 250, 2))
    yield "a constant element", np.stack([np.full((2, 50), 3.0), rng.normal(size=(2, 50))], -1)


def arviz(function: str, draws: np.ndarray, **options) -> np.ndarray:
    import arviz_stats

    array = xr.DataArray(draws, dims=("chain", "draw", "element"))
    return getattr(arviz_stats, function)(array, **options).values


@pytest.mark.parametrize("name,draws", list(cases()), ids=[name for name, _ in cases()])
def test_rhat_ess_and_mcse_match_arviz(name, draws):
    np.testing.assert_allclose(diagnostics.rhat(draws), arviz("rhat", draws), rtol=1e-10)
    np.testing.assert_allclose(
        diagnostics.ess_bulk(draws), arviz("ess", draws, method="bulk"), rtol=1e-9
    )
    np.testing.assert_allclose(
        diagnostics.ess_tail(draws), arviz("ess", draws, method="tail", prob=0.95), rtol=1e-9
    )
    np.testing.assert_allclose(diagnostics.mcse_mean(draws), arviz("mcse", draws), rtol=1e-9)


def test_the_effective_sample_size_of_an_ar1_chain_is_near_its_theory():
    """Independent of any library: for AR(1) with coefficient phi, ESS / N tends to
    (1 - phi) / (1 + phi)."""
    rng = np.random.default_rng(7)
    for phi in (0.8, 0.0, -0.5):
        draws = autoregressive(rng, 4, 20_000, phi)[..., None]
        ratio = diagnostics.ess_bulk(draws)[0] / draws[..., 0].size
        assert ratio == pytest.approx((1 - phi) / (1 + phi), rel=0.1)


def test_chains_that_disagree_have_a_large_rhat_and_agreeing_ones_about_one():
    rng = np.random.default_rng(3)
    agreeing = rng.normal(size=(4, 1000, 1))
    disagreeing = agreeing + np.arange(4)[:, None, None]
    assert diagnostics.rhat(agreeing)[0] == pytest.approx(1.0, abs=0.01)
    assert diagnostics.rhat(disagreeing)[0] > 1.5
