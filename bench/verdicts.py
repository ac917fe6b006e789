"""The default verdict rule, checked every day for four weeks, on simulated A/B tests.

A/A tests (both variants convert at 10%): how often the rule ever chooses a variant (it should
stay under 5%, however often it is looked at), or ever says no-difference. A true uplift of 5%
(10% against 10.5%): how often the right variant is chosen, how often the wrong one, and on
which day. Each check is the verdict vibes gives on the exact posterior (vibes_core.verdict
with the summary's expected losses), the same code as `vibes posterior`; how many more events
are needed is not asked here. Prints figures; no assertions.

Run: python bench/verdicts.py [RUNS] [USERS_PER_DAY_PER_ARM ...]
"""

import sys
import time

import numpy as np

from vibes_core import verdict
from vibes_core.types import get_type
from vibes_core.types.base import Stats

DAYS = 28
BASE = 0.10
DRAWS = 20_000  # per check: enough for the Bayes factor's and the rope's estimates


def first_verdicts(runs: int, per_day: int, lift: float, rng) -> list[tuple[str, str, int]]:
    """Per simulated test: the first verdict other than keep-running, its choice and its day
    (or keep-running on day DAYS)."""
    ab = get_type("ab-test")
    rule = verdict.Rule()
    rates = np.array([BASE, BASE * (1 + lift)])
    found = []
    for _ in range(runs):
        daily = rng.binomial(per_day, rates, (DAYS, 2)).cumsum(axis=0)
        result = (verdict.KEEP_RUNNING, "", DAYS)
        for day in range(DAYS):
            trials = np.full(2, per_day * (day + 1), dtype=float)
            stats = Stats(["A", "B"], {"trials": trials, "successes": daily[day].astype(float)})
            posterior = ab.exact(stats, ab.prior(None, stats))
            posterior.seed = int(rng.integers(1 << 31))
            draws = np.random.default_rng(posterior.seed).beta(
                posterior.alpha, posterior.beta, (DRAWS, 2)
            )
            judged = verdict.judge(draws[None], [0, 1], 0, rule, posterior.expected_loss())
            action = str(judged.action[0])
            if action != verdict.KEEP_RUNNING:
                choice = "AB"[int(judged.leader[0])] if action == verdict.CHOOSE else ""
                result = (action, choice, day + 1)
                break
        found.append(result)
    return found


def time_of_events_needed(repeats: int = 7) -> str:
    """Seconds of a whole exact summary that keeps running (its events_needed simulated), and
    of its verdict alone, for an A/B/n test of three variants."""
    ab = get_type("ab-test")
    stats = Stats(
        ["control", "red", "green"],
        {
            "trials": np.array([10_000.0, 5000.0, 200.0]),
            "successes": np.array([1000.0, 575.0, 28.0]),
        },
    )
    prior = ab.prior(None, stats)
    options = {"hdi_prob": 0.94, "prior": prior, "events_per_day": 2000.0}
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        summary = ab.summarize(ab.exact(stats, prior), stats, options)
        seconds.append(time.perf_counter() - start)
    found = summary["verdict"]
    return (
        f"a 3-variant exact summary that keeps running (events needed "
        f"{found['events_needed']:,}): median {np.median(seconds):.3f} s of {repeats} "
        f"(min {min(seconds):.3f}, max {max(seconds):.3f})"
    )


def share(found, action, choice=None) -> float:
    return np.mean([a == action and (choice is None or c == choice) for a, c, _ in found])


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    traffic = [int(x) for x in sys.argv[2:]] or [1000, 5000]
    rng = np.random.default_rng(2026)
    print(
        f"{runs} simulated tests per row, checked daily for {DAYS} days; base rate {BASE:.0%};"
        f" rule: {verdict.Rule().words('the control')}"
    )
    print(time_of_events_needed())
    for per_day in traffic:
        start = time.perf_counter()
        aa = first_verdicts(runs, per_day, 0.0, rng)
        chose = share(aa, verdict.CHOOSE)
        error = np.sqrt(chose * (1 - chose) / runs)
        same = share(aa, verdict.NO_DIFFERENCE)
        print(
            f"A/A, {per_day:,}/day/arm: ever chose a variant {chose:.1%} (± {error:.1%}), of "
            f"which B {share(aa, verdict.CHOOSE, 'B'):.1%}; said no-difference {same:.1%}; "
            f"{time.perf_counter() - start:.0f} s"
        )
        start = time.perf_counter()
        lifted = first_verdicts(runs, per_day, 0.05, rng)
        right = [day for a, c, day in lifted if a == verdict.CHOOSE and c == "B"]
        days = f"median day {np.median(right):.0f}" if right else "never"
        print(
            f"+5% uplift, {per_day:,}/day/arm: chose B {len(right) / runs:.1%} ({days}), "
            f"chose A {share(lifted, verdict.CHOOSE, 'A'):.1%}, no-difference "
            f"{share(lifted, verdict.NO_DIFFERENCE):.1%}, still running "
            f"{share(lifted, verdict.KEEP_RUNNING):.1%}; "
            f"{time.perf_counter() - start:.0f} s"
        )


if __name__ == "__main__":
    main()
