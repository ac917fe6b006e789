"""The verdict rule, checked every day for four weeks on simulated A/B tests, beside the rule it
replaced and an mSPRT tuned to the effect simulated.

Rows: A/A tests (every variant converts at 10%; with two variants, and with three): how often
a variant is ever chosen, which should stay under 5% however often the test is looked at. A
true uplift of 5% (10% against 10.5%): how often B is chosen (the power), and on which day
(the median of those runs). Columns, on the same simulated tests:

- the old rule: the mixture TAUS from 1% to e (verdict.OLD_TAUS), the evidence the leader's
  against the runner-up;
- the new rule, vibes' default (vibes_core.verdict.judge);
- the mSPRT of Johari, Koomen, Pekelis and Walsh ("Peeking at A/B tests", KDD 2017): a
  normal-mixture SPRT on the difference of the two conversion rates, mixing N(0, tau^2) with
  tau the true difference (0.5 points: tuned to this bench), rejecting when the mixture
  likelihood ratio reaches 1/alpha = 20; written here in numpy, independently of vibes. It
  compares two groups: no figure for three.

Each check of the rules is verdict.judge on DRAWS draws of each exact posterior (the default
prior), its expected losses from the same draws: `vibes posterior` judges 200,000 draws with
exact losses, so these figures differ from its by Monte Carlo error only. After the table,
the Monte Carlo errors: of each share (binomial), and of the new rule's power minus the
mSPRT's (paired: the same tests). Prints figures; no assertions.

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
LIFT = 0.05
DRAWS = 4000  # per check: the Bayes factor's z to 0.02, the rope's probabilities to 0.004
CHUNK = 200  # tests judged at once
ALPHA = 0.05
OLD, NEW, MSPRT = "old rule", "new rule", "mSPRT (tuned)"


def first_choices(runs: int, per_day: int, rates: list[float], rng) -> dict[str, np.ndarray]:
    """Per rule, per simulated test: (the group first chosen, or -1 if none; its day, or
    DAYS + 1). A rule's first verdict other than keep-running ends its test (no-difference
    included: then nothing is chosen)."""
    ab = get_type("ab-test")
    arms = len(rates)
    names = [chr(ord("A") + k) for k in range(arms)]
    prior = ab.prior(None, Stats(names, {"trials": np.ones(arms), "successes": np.ones(arms)}))
    rule = verdict.Rule()
    found = {name: (np.full(runs, -1), np.full(runs, DAYS + 1)) for name in (OLD, NEW, MSPRT)}
    for start in range(0, runs, CHUNK):
        tests = np.arange(start, min(start + CHUNK, runs))
        size = len(tests)
        successes = rng.binomial(per_day, rates, (DAYS, size, arms)).cumsum(axis=0)
        open_ = {name: np.ones(size, dtype=bool) for name in found}
        for day in range(DAYS):
            trials = per_day * (day + 1)
            alpha = prior["alpha"] + successes[day]  # (size, arms)
            beta = prior["beta"] + trials - successes[day]
            draws = rng.beta(alpha[:, None, :], beta[:, None, :], (size, DRAWS, arms))
            judged = verdict.judge(draws, list(range(arms)), 0, rule)
            actions = {NEW: judged.action, OLD: old_rule(draws, judged)}
            if arms == 2:
                actions[MSPRT] = msprt(successes[day], trials)
            for name, action in actions.items():
                ends = open_[name] & (action != verdict.KEEP_RUNNING)
                chosen = ends & (action == verdict.CHOOSE)
                leader = judged.leader if name != MSPRT else msprt_leader(successes[day])
                found[name][0][tests[chosen]] = leader[chosen]
                found[name][1][tests[ends]] = day + 1
                open_[name] &= ~ends
    return found


def old_rule(draws: np.ndarray, judged: verdict.Judged) -> np.ndarray:
    """The rule before: the same rope and loss, the evidence the leader's against the
    runner-up (the other group with the highest mean), averaged over OLD_TAUS."""
    rows = np.arange(draws.shape[0])
    means = draws.mean(axis=1)
    means[rows, judged.leader] = -np.inf
    runner = means.argmax(axis=1)
    log_ratio = np.log(draws[rows, :, judged.leader]) - np.log(draws[rows, :, runner])
    factor = verdict.bayes_factor(log_ratio.mean(axis=1), log_ratio.var(axis=1), verdict.OLD_TAUS)
    chosen = judged.cheap & (factor >= verdict.EVIDENCE)
    same = judged.action == verdict.NO_DIFFERENCE
    return np.where(
        same, verdict.NO_DIFFERENCE, np.where(chosen, verdict.CHOOSE, verdict.KEEP_RUNNING)
    )


def msprt(successes: np.ndarray, trials: int) -> np.ndarray:
    """JKPW's mSPRT of B - A = 0 on (tests, 2) successes of ``trials`` each: the difference of
    the observed rates, its variance from them, a N(0, tau^2) mixture with tau = the true
    difference; reject (choose) at a likelihood ratio of 1 / ALPHA."""
    rates = successes / trials
    difference = rates[:, 1] - rates[:, 0]
    variance = np.maximum((rates * (1 - rates)).sum(axis=1), 1e-12) / trials
    tau2 = (BASE * LIFT) ** 2
    log_ratio = 0.5 * np.log(variance / (variance + tau2)) + tau2 * difference**2 / (
        2 * variance * (variance + tau2)
    )
    return np.where(log_ratio >= np.log(1 / ALPHA), verdict.CHOOSE, verdict.KEEP_RUNNING)


def msprt_leader(successes: np.ndarray) -> np.ndarray:
    return (successes[:, 1] > successes[:, 0]).astype(int)


def time_of_events_needed(repeats: int = 7) -> str:
    """Seconds of a whole exact summary that keeps running (its events_needed simulated), for
    an A/B/n test of three variants."""
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
    low, high = found["events_needed_range"]
    return (
        f"a 3-variant exact summary that keeps running (events needed {found['events_needed']:,}"
        f", quartiles {low:,} to {high:,}): median {np.median(seconds):.3f} s of {repeats} "
        f"(min {min(seconds):.3f}, max {max(seconds):.3f})"
    )


def share(found, group: int | None = None) -> tuple[float, float]:
    """The share of tests in which ``group`` (any, if None) was chosen, and its binomial
    Monte Carlo error."""
    chosen, _ = found
    hits = chosen >= 0 if group is None else chosen == group
    p = hits.mean()
    return p, np.sqrt(p * (1 - p) / len(chosen))


def cell(found, group: int | None = None, days: bool = False) -> str:
    p, error = share(found, group)
    text = f"{p:.1%} ± {error:.1%}"
    if days:
        chosen, day = found
        right = day[chosen == group]
        text += f", day {np.median(right):.0f}" if len(right) else ", -"
    return text


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
    traffic = [int(x) for x in sys.argv[2:]] or [1000, 5000]
    rng = np.random.default_rng(2026)
    print(
        f"{runs} simulated tests per row, checked daily for {DAYS} days; base rate {BASE:.0%}; "
        f"{DRAWS:,} draws per check"
    )
    print(f"new rule: {verdict.Rule().words('the control')}")
    print(f"new TAUS: {', '.join(f'{t:.3g}' for t in verdict.TAUS)}")
    print(time_of_events_needed())
    columns = (OLD, NEW, MSPRT)
    rows, paired = [], []
    for per_day in traffic:
        start = time.perf_counter()
        aa = first_choices(runs, per_day, [BASE, BASE], rng)
        lifted = first_choices(runs, per_day, [BASE, BASE * (1 + LIFT)], rng)
        aaa = first_choices(runs, per_day, [BASE, BASE, BASE], rng)
        label = f"{per_day:,}/day/arm"
        rows.append((f"A/A, {label}: ever chose a variant", [cell(aa[c]) for c in columns]))
        rows.append(
            (
                f"+{LIFT:.0%}, {label}: chose B (median day)",
                [cell(lifted[c], 1, days=True) for c in columns],
            )
        )
        rows.append(
            (f"A/A/A, {label}: ever chose a variant", [cell(aaa[c]) for c in (OLD, NEW)] + ["-"])
        )
        wrong = [f"{share(lifted[c], 0)[0]:.1%}" for c in columns]
        rows.append((f"+{LIFT:.0%}, {label}: chose A (wrong)", wrong))
        new_b = lifted[NEW][0] == 1
        tuned_b = lifted[MSPRT][0] == 1
        difference = new_b.astype(float) - tuned_b
        paired.append(
            f"{label}: new rule's power minus the mSPRT's {difference.mean():+.1%} "
            f"(paired error {difference.std(ddof=1) / np.sqrt(runs):.1%}); "
            f"{time.perf_counter() - start:.0f} s"
        )
    width = max(len(label) for label, _ in rows)
    widths = [max(len(c), *(len(r[1][i]) for r in rows)) for i, c in enumerate(columns)]
    print()
    print(" | ".join([" " * width, *(c.ljust(w) for c, w in zip(columns, widths, strict=True))]))
    for label, cells in rows:
        print(
            " | ".join(
                [label.ljust(width), *(x.ljust(w) for x, w in zip(cells, widths, strict=True))]
            )
        )
    print()
    for line in paired:
        print(line)


if __name__ == "__main__":
    main()
