"""How often the verdict comes within events_needed and its quartiles, on simulated A/B tests
whose truth is known.

Each test runs DAY days at USERS users per day per variant; if the verdict then is to keep
running, vibes' events_needed (vibes_core.verdict.events_needed, as `vibes posterior` calls it:
the median and quartiles of more events until a first verdict, over futures drawn from today's
posterior) is compared with what happens: the same truth goes on, the verdict is checked every
day (verdict.judge on DRAWS draws of the exact posterior), up to the last horizon (32 times the
events so far). Were the futures calibrated, the verdict would come within the first quartile
in 25% of the tests, within the median in 50%, within the third quartile in 75%.

Truths: A/A (both convert at 10%: the futures, drawn from a posterior that holds differences,
settle sooner than a truth of none), a fixed +5%, and lifts drawn as the ab-test type's demo
draws them (lognormal, sd 0.15: what its futures' prior-to-posterior reasoning assumes best).
Prints figures; no assertions.

Run: python bench/events_needed.py [RUNS]
"""

import sys
import time

import numpy as np

from vibes_core import verdict
from vibes_core.types import get_type
from vibes_core.types.base import Stats

BASE = 0.10
USERS = 1000  # per day per variant
DAY = 14
DRAWS = 4000
CHUNK = 32  # days judged at once


def one_test(lift: float, rng) -> tuple[tuple, float | None] | None:
    """(events_needed's quartiles, the more events until the verdict or None if none came
    within the last horizon) of one test; None if it had settled by DAY."""
    ab = get_type("ab-test")
    rule = verdict.Rule()
    rates = np.array([BASE, BASE * lift])
    successes = rng.binomial(USERS * DAY, rates).astype(float)
    trials = np.full(2, USERS * DAY, dtype=float)
    stats = Stats(["A", "B"], {"trials": trials, "successes": successes})
    prior = ab.prior(None, stats)
    today = ab.exact(stats, prior)
    judged = verdict.judge(today.draws()[None], [0, 1], 0, rule, today.expected_loss())
    if judged.action[0] != verdict.KEEP_RUNNING:
        return None
    weights = verdict.split_weights(stats, ab, None)
    needed = verdict.events_needed(ab, stats, prior, [0, 1], 0, rule, weights)
    days = int(verdict.HORIZONS[-1] * DAY)
    later = successes + rng.binomial(USERS, rates, (days, 2)).cumsum(axis=0)
    for start in range(0, days, CHUNK):
        block = later[start : start + CHUNK]
        n = USERS * (DAY + np.arange(start + 1, start + 1 + len(block)))[:, None]
        alpha, beta = prior["alpha"] + block, prior["beta"] + n - block
        draws = rng.beta(alpha[:, None, :], beta[:, None, :], (len(block), DRAWS, 2))
        settled = verdict.judge(draws, [0, 1], 0, rule).action != verdict.KEEP_RUNNING
        if settled.any():
            return needed, float(2 * USERS * (start + 1 + settled.argmax()))
    return needed, None


def report(name: str, runs: int, lifts, rng) -> None:
    start = time.perf_counter()
    found = [one_test(lift, rng) for lift in lifts]
    kept = [f for f in found if f is not None]
    within = {q: [] for q in ("Q1", "median", "Q3")}
    for (low, median, high), actual in kept:
        for key, bound in zip(within, (low, median, high), strict=True):
            # A quartile beyond the last horizon (None) is met by any verdict, or by none.
            within[key].append(actual is not None and (bound is None or actual <= bound))
    medians = [needed[1] for needed, _ in kept if needed[1] is not None]
    actual = [a if a is not None else np.inf for _, a in kept]
    shares = ", ".join(
        f"within {key} {np.mean(hits):.0%} (± {np.std(hits) / np.sqrt(len(hits)):.0%})"
        for key, hits in within.items()
    )
    print(
        f"{name}: {len(kept)} of {runs} still running on day {DAY}; the verdict came {shares}; "
        f"median events_needed {np.median(medians):,.0f} ({len(kept) - len(medians)} none), "
        f"median actual {np.median(actual):,.0f}; {time.perf_counter() - start:.0f} s"
    )


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    rng = np.random.default_rng(23)
    print(
        f"{runs} tests per row, {USERS:,} users/day/variant, events_needed asked on day {DAY}, "
        f"then checked daily; calibrated: 25%, 50%, 75%"
    )
    report("A/A", runs, np.ones(runs), rng)
    report("+5%", runs, np.full(runs, 1.05), rng)
    report("lifts ~ lognormal(0, 0.15)", runs, rng.lognormal(0.0, 0.15, runs), rng)


if __name__ == "__main__":
    main()
