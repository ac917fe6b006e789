"""CUPED on simulated experiments with known truth (numpy): what adjusting for a pre-exposure
covariate does to the variance of an uplift, to A/A intervals, to bias, and to how soon the
verdict rule chooses a true winner.

Part 1, at rho = 0, 0.3 and 0.7 (the within-variant correlation of the covariate x and the
metric y; each unit's x ~ Normal(10, 3), y = 10 + rho (x - 10) + sqrt(1 - rho^2) 3 noise):
SIMS A/A experiments of 1,000 units per variant, each analysed by vibes' own exact
posteriors on the per-variant sums, adjusted (vibes_core.families.AdjustedMean) and not (the
mean metric's NormalMean): the mean ratio of the two posterior variances of the absolute
uplift (theory: 1 - rho^2 = 1, 0.91, 0.51) with its Monte Carlo error, how often the 94% HDI
of the uplift covers 0 (the truth) for each, and the adjusted uplift's mean error in standard
errors (bias).

Part 2, at rho = 0.5: RUNS experiments of PER_DAY new units per variant a day for 28 days,
the treatment's mean 5% higher (and RUNS A/A ones), judged every day by vibes' verdict rule
(vibes_core.verdict.judge) on draws of each posterior, adjusted and not; a test ends at its
first verdict other than keep-running. Figures: how often the treatment is chosen, the
median day of that first correct choice, and the A/A rate of choosing anything.

Prints figures; no assertions. Run: python bench/cuped.py [SIMS] [--runs N] [--per-day N]
"""

import argparse
import time

import numpy as np

from vibes_core import verdict
from vibes_core.families import AdjustedMean
from vibes_core.posterior import intervals
from vibes_core.stats import Stats
from vibes_core.types.assignments import KINDS

NAMES = ["control", "treatment"]
DAYS, DRAWS, CHUNK = 28, 4000, 250
SD, CENTRE, LIFT = 3.0, 10.0, 0.05


def units_of(rng, shape, rho: float, lift: float) -> tuple[np.ndarray, np.ndarray]:
    """Covariates and values of units, shape (..., variants, units); the treatment lifted."""
    x = rng.normal(CENTRE, SD, shape)
    noise = rng.normal(0.0, SD, shape)
    y = CENTRE + rho * (x - CENTRE) + np.sqrt(1 - rho**2) * noise
    y[..., 1, :] *= 1 + lift
    return x, y


def sums(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """The per-variant sums vibes_core.unit_stats computes, over the units' axis."""
    return {
        "units": np.full(x.shape[:-1], float(x.shape[-1])),
        "sum_value": y.sum(-1),
        "sum_value2": (y * y).sum(-1),
        "sum_x": x.sum(-1),
        "sum_x2": (x * x).sum(-1),
        "sum_xy": (x * y).sum(-1),
    }


def unadjusted_draws(values: dict, rng, draws: int) -> np.ndarray:
    """The mean metric's exact posterior (NormalMean, its default prior) of each experiment,
    (experiments, draws, variants)."""
    kind = KINDS["mean"]
    flat = Stats(NAMES, {k: values[k][0] for k in ("units", "sum_value", "sum_value2")})
    prior = kind.prior(None, flat)  # weak (one unit's weight): the first experiment's is fine
    return kind.future_draws(flat, values, prior, rng, draws)


def adjusted_draws(values: dict, rng, draws: int) -> np.ndarray:
    return AdjustedMean.posterior_draws(AdjustedMean.regression(values), rng, draws)


def covers(difference: np.ndarray) -> bool:
    [row] = intervals(difference[:, None], 0.94, ["uplift"])
    return row["hdi_low"] <= 0.0 <= row["hdi_high"]


def part_one(sims: int, rng) -> None:
    print(f"part 1: {sims:,} A/A experiments per rho, 1,000 units per variant")
    for rho in (0.0, 0.3, 0.7):
        start = time.perf_counter()
        ratios, covered, errors = [], {"adjusted": 0, "unadjusted": 0}, []
        for _ in range(sims):
            values = sums(*units_of(rng, (1, 2, 1000), rho, 0.0))
            adjusted = adjusted_draws(values, rng, DRAWS)[0]
            unadjusted = unadjusted_draws(values, rng, DRAWS)[0]
            a, u = adjusted[:, 1] - adjusted[:, 0], unadjusted[:, 1] - unadjusted[:, 0]
            ratios.append(a.var() / u.var())
            covered["adjusted"] += covers(a)
            covered["unadjusted"] += covers(u)
            errors.append(a.mean() / a.std())
        ratio, error = np.mean(ratios), np.std(ratios) / np.sqrt(sims)
        shares = ", ".join(f"{k} {v / sims:.1%}" for k, v in covered.items())
        bias = np.mean(errors) * np.sqrt(sims)  # the mean error in its standard errors
        print(
            f"  rho {rho:.1f}: variance ratio {ratio:.3f} (+-{error:.3f}; theory {1 - rho**2:.2f})"
            f"; 94% HDIs cover the truth: {shares} (+-{np.sqrt(0.94 * 0.06 / sims):.1%})"
            f"; adjusted uplift's mean error {bias:+.2f} standard errors"
            f" [{time.perf_counter() - start:.0f} s]"
        )


def first_choices(runs: int, per_day: int, lift: float, rng) -> dict[str, tuple]:
    """Per analysis: the group first chosen by each test (-1: none) and its day (DAYS + 1)."""
    rule = verdict.Rule()
    found = {name: (np.full(runs, -1), np.full(runs, DAYS + 1)) for name in ("adjusted", "not")}
    for start in range(0, runs, CHUNK):
        size = min(CHUNK, runs - start)
        tests = np.arange(start, start + size)
        totals = None
        open_ = {name: np.ones(size, dtype=bool) for name in found}
        for day in range(DAYS):
            today = sums(*units_of(rng, (size, 2, per_day), 0.5, lift))
            totals = today if totals is None else {k: totals[k] + today[k] for k in today}
            for name, draw in (("adjusted", adjusted_draws), ("not", unadjusted_draws)):
                judged = verdict.judge(draw(totals, rng, DRAWS), [0, 1], 0, rule)
                ends = open_[name] & (judged.action != verdict.KEEP_RUNNING)
                chosen = ends & (judged.action == verdict.CHOOSE)
                found[name][0][tests[chosen]] = judged.leader[chosen]
                found[name][1][tests[ends]] = day + 1
                open_[name] &= ~ends
    return found


def part_two(runs: int, per_day: int, rng) -> None:
    print(f"part 2: rho 0.5, {per_day} new units per variant a day, {DAYS} daily looks")
    for label, lift in (("+5% lift", LIFT), ("A/A", 0.0)):
        start = time.perf_counter()
        found = first_choices(runs, per_day, lift, rng)
        for name, (chosen, days) in found.items():
            if lift:
                right = chosen == 1
                median = f"median day {np.median(days[right]):.0f}" if right.any() else "never"
                print(f"  {label}, {name:>8}: treatment chosen {right.mean():.1%}, {median}")
            else:
                wrong = chosen >= 0
                error = np.sqrt(max(wrong.mean(), 1 / runs) * (1 - wrong.mean()) / runs)
                print(f"  {label}, {name:>8}: anything chosen {wrong.mean():.1%} (+-{error:.1%})")
        print(f"  [{time.perf_counter() - start:.0f} s]")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sims", nargs="?", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--per-day", type=int, default=60)
    parser.add_argument("--seed", type=int, default=26)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    part_one(args.sims, rng)
    part_two(args.runs, args.per_day, rng)


if __name__ == "__main__":
    main()
