"""Convergence diagnostics of MCMC draws shaped (chain, draw, ...): rank-normalized split
R-hat, bulk and tail effective sample sizes, and the Monte Carlo standard error of a mean, as
defined by Vehtari, Gelman, Simpson, Carpenter and Bürkner (2021), "Rank-normalization,
folding, and localization: an improved R-hat" (Bayesian Analysis 16(2)).

ArviZ computes the same (tests/test_diagnostics.py checks these against arviz_stats); its
import costs 1.4 s of a fit that takes 6 s in all, for four short functions.
"""

import numpy as np

MIN_DRAWS = 4
# The tail ESS is the smaller of the 5% and 95% quantiles' ESS, as in the paper and Stan
# (ArviZ 1.x takes its 89% interval's ends by default).
TAIL_PROB = 0.05


def rhat(draws) -> np.ndarray:
    """The larger of the bulk R-hat (of rank-normalized split chains) and the tail R-hat (of
    the same, folded about the median); NaN below two chains of four draws."""
    return each_element(draws, rhat_of, min_chains=2)


def ess_bulk(draws) -> np.ndarray:
    return each_element(draws, lambda x: ess_of(z_scale(split(x))))


def ess_tail(draws) -> np.ndarray:
    def tail(x):
        low, high = np.quantile(x, [TAIL_PROB, 1 - TAIL_PROB])
        return min(ess_of(split(x <= low)), ess_of(split(x <= high)))

    return each_element(draws, tail)


def mcse_mean(draws) -> np.ndarray:
    return each_element(draws, lambda x: np.std(x, ddof=1) / np.sqrt(ess_of(split(x))))


def each_element(draws, statistic, min_chains: int = 1) -> np.ndarray:
    """``statistic`` of each (chain, draw) slice of ``draws``, shaped as one draw."""
    draws = np.asarray(draws, dtype=float)
    chains, count = draws.shape[:2]
    flat = draws.reshape(chains, count, -1)
    valid = chains >= min_chains and count >= MIN_DRAWS
    values = [
        statistic(flat[:, :, i]) if valid and not np.isnan(flat[:, :, i]).any() else np.nan
        for i in range(flat.shape[2])
    ]
    return np.array(values, dtype=float).reshape(draws.shape[2:])


def split(x: np.ndarray) -> np.ndarray:
    """Each chain as its first and its last half (the middle draw of an odd count left out)."""
    half = x.shape[1] // 2
    return np.vstack((x[:, :half], x[:, x.shape[1] - half :]))


def z_scale(x: np.ndarray) -> np.ndarray:
    """Normal scores of the pooled ranks (ties share their average rank), Blom's offset 3/8."""
    from scipy.special import ndtri

    return ndtri((average_ranks(x) - 0.375) / (x.size + 0.25))


def average_ranks(x: np.ndarray) -> np.ndarray:
    flat = x.ravel()
    order = np.argsort(flat, kind="stable")
    ordered = flat[order]
    starts_run = np.concatenate(([True], ordered[1:] != ordered[:-1]))
    first = np.flatnonzero(starts_run)  # 0-based position where each run of ties starts
    after = np.append(first[1:], flat.size)
    run_rank = (first + 1 + after) / 2  # the mean of ranks first+1 .. after
    ranks = np.empty(flat.size)
    ranks[order] = run_rank[np.cumsum(starts_run) - 1]
    return ranks.reshape(x.shape)


def rhat_of(x: np.ndarray) -> float:
    halves = split(x)
    folded = np.abs(halves - np.median(halves))
    with np.errstate(invalid="ignore", divide="ignore"):  # constant draws: NaN
        return max(basic_rhat(z_scale(halves)), basic_rhat(z_scale(folded)))


def basic_rhat(x: np.ndarray) -> float:
    count = x.shape[1]
    between = count * np.var(x.mean(axis=1), ddof=1)
    within = np.mean(np.var(x, axis=1, ddof=1))
    return float(np.sqrt((between / within + count - 1) / count))


def ess_of(x: np.ndarray) -> float:
    """Effective sample size of chains ``x`` (chain, draw): the draws over the integrated
    autocorrelation time, estimated with Geyer's initial monotone sequence."""
    x = np.asarray(x, dtype=float)
    chains, count = x.shape
    if np.max(x) - np.min(x) < np.finfo(float).resolution:
        return float(x.size)
    centred = x - x.mean(axis=1, keepdims=True)
    length = 1 << (2 * count - 1).bit_length()  # zero padding: no wrap-around
    spectrum = np.fft.rfft(centred, n=length, axis=1)
    autocov = np.fft.irfft(spectrum * np.conj(spectrum), n=length, axis=1)[:, :count] / count
    within = autocov[:, 0].mean() * count / (count - 1)
    pooled = within * (count - 1) / count
    if chains > 1:
        pooled += np.var(x.mean(axis=1), ddof=1)
    rho = 1 - (within - autocov.mean(axis=0)) / pooled
    rho[0] = 1.0
    if np.isnan(rho).any():
        return np.nan
    # Pairs (rho[2k], rho[2k+1]) are summed while the previous pair's sum is positive and a pair
    # is left for the truncated last term; the pair that ended the run adds its even term
    # alone when that is positive (or when the pair's sum is not negative).
    pair_sums = [rho[0] + rho[1]]
    last = 1.0
    lag = 1
    while lag < count - 3 and pair_sums[-1] > 0:
        even, odd = rho[lag + 1], rho[lag + 2]
        last = even if even > 0 or even + odd >= 0 else 0.0
        pair_sums.append(even + odd)
        lag += 2
    kept = np.minimum.accumulate(pair_sums[:-1]) if len(pair_sums) > 1 else np.zeros(0)
    tau = -1 + 2 * kept.sum() + last
    tau = max(tau, 1 / np.log10(x.size))
    return float(x.size / tau)
