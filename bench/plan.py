"""How long `vibes plan` takes, and how its figures compare with independent ones.

For a few A/B tests planned from numbers (a conversion rate, its MDE, 2,000 or 20,000 units a
day): the seconds plan.plan takes (FUTURES futures, judged daily to its horizon); the z-test's
units per variant against statsmodels' NormalIndPower; the Bayesian days; P(choose) at the
frequentist days and at the Bayesian days from plan.p_choose against a direct simulation here
(each day's conversions drawn with numpy, Beta posteriors, the verdict rule), both with RUNS
futures, and their difference in standard errors; and P(choose) by the horizon at no effect
(an A/A test looked at daily: under 5% by Ville's inequality). Prints figures; no assertions.

Run: python bench/plan.py [RUNS]
"""

import math
import sys
import time

import numpy as np
from statsmodels.stats.power import NormalIndPower

from vibes_core import plan, verdict

CASES = ((0.10, 0.05, 2000.0), (0.02, 0.10, 20000.0), (0.30, 0.02, 20000.0))


def direct(p: float, lift: float, per_day: float, looks: list[int], futures: int, seed: int):
    rng = np.random.default_rng(seed)
    truth = np.array([p, p * (1 + lift)])
    trials, successes = np.zeros(2), np.zeros((futures, 2))
    settled, chose = np.zeros(futures, dtype=bool), np.zeros(futures, dtype=bool)
    curve = []
    for day in looks:
        new = np.round(np.full(2, per_day / 2 * day)) - trials
        trials += new
        successes += rng.binomial(new.astype(int), truth, (futures, 2))
        open_ = np.flatnonzero(~settled)
        a, b = 1 + successes[open_], 1 + trials - successes[open_]
        draws = rng.beta(a[:, None, :], b[:, None, :], (len(open_), verdict.FUTURE_DRAWS, 2))
        judged = verdict.judge(draws, [0, 1], 0, verdict.Rule())
        now = judged.action != verdict.KEEP_RUNNING
        chose[open_[now & (judged.action == verdict.CHOOSE) & (judged.leader == 1)]] = True
        settled[open_[now]] = True
        curve.append(chose.mean())
    return np.array(curve)


def main(runs: int) -> None:
    head = ("case", "seconds", "z-test n", "statsm.", "days", "bayes", "P@freq", "direct", "z")
    head += ("P@bayes", "direct", "z", "A/A")
    widths = (28, 8, 10, 10, 6, 7, 8, 8, 6, 8, 8, 6, 7)
    print(line(head, widths))
    for p, mde, per_day in CASES:
        design = plan.from_numbers("ab-test", p, per_day)
        start = time.perf_counter()
        answer = plan.plan(design, mde)
        seconds = time.perf_counter() - start
        q = p * (1 + mde)
        pooled = math.sqrt((p * (1 - p) + q * (1 - q)) / 2)
        reference = NormalIndPower().solve_power((q - p) / pooled, alpha=0.05, power=0.8)
        looks = list(range(1, answer["bayesian"]["horizon"] + 1))
        ours = plan.p_choose(design, np.full(runs, mde), looks, seed=1)
        theirs = direct(p, mde, per_day, looks, runs, seed=2)
        f_day = answer["frequentist"]["days"]
        b_day = answer["bayesian"]["days"] or looks[-1]
        aa = plan.p_choose(design, np.zeros(runs), looks, seed=3)[-1]
        row = [f"{100 * p:g}% +{100 * mde:g}% {per_day:,.0f}/day", f"{seconds:.2f}"]
        row += [f"{answer['frequentist']['units_per_variant']:,}", f"{reference:,.0f}"]
        row += [str(f_day), str(answer["bayesian"]["days"])]
        for day in (f_day, b_day):
            a, b = ours[day - 1], theirs[day - 1]
            se = math.sqrt(max(a * (1 - a) + b * (1 - b), 1e-9) / runs)
            row += [f"{a:.3f}", f"{b:.3f}", f"{(a - b) / se:+.1f}"]
        row.append(f"{aa:.3f}")
        print(line(row, widths))


def line(cells, widths) -> str:
    return "".join(
        f"{cell:<{w}}" if i == 0 else f"{cell:>{w}}"
        for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
