"""The scorecard's rule, checked every day for four weeks on simulated experiments on units with
5 metrics: how often it chooses or rejects a variant that changes nothing (A/A), whether it
catches a guardrail harmed by 20%, and its power when nothing is harmed.

Each simulated experiment has two variants of PER_DAY new units a day, each unit with:

- purchased (goal, proportion): bought or not, 10%;
- errors (guardrail, count, lower is better, margin 5%): Poisson(0.3) errors;
- latency (guardrail, mean, lower is better, margin 5%): a Gamma(2, 150) ms mean latency;
- revenue (secondary, mean): what it spent, log-normal for those who bought;
- aov (secondary, ratio): revenue per order, orders 1 + Poisson(0.3) for those who bought.

Scenarios: A/A (the treatment identical); "harmed": purchases +10% but errors +20% (the
guardrail beyond its 5% margin); "better": purchases +10%, nothing harmed. A unit's outcome is
known on its day of exposure (every window complete): the rule, not the windows, is tested.

Every day each metric's per-variant statistics (the rows vibes_core.unit_stats makes) go
through vibes' own code: the metric kind's statistics, default prior and exact posterior
(vibes_core.types.assignments), the goal's verdict (vibes_core.verdict.judge on its draws),
each guardrail's P(harm beyond its margin) (vibes_core.scorecard.harm) and the scorecard's
rule (vibes_core.scorecard.judge). Many experiments share one call of each: their variants
are the groups of one posterior (each metric's default prior, weak — one unit's weight — is
then set by all of them together; at 1,000+ units a variant that changes nothing visible).
A test ends at its first verdict other than keep-running, as a user who acts on it would.

Figures: the share of experiments whose first verdict is choose (of which variant), reject
and no-difference, their binomial standard errors, and the median day of the verdict.
Goals (issue 25): A/A wrong choose < 5% and reject < 5%; the harmed guardrail caught (the
treatment not chosen). Prints figures; no assertions.

Run: python bench/scorecard_aa.py [RUNS] [--per-day N] [--seed S]
"""

import argparse
import time

import numpy as np

from vibes_core import scorecard, verdict
from vibes_core.metrics import Metric, MetricRole
from vibes_core.types.assignments import KINDS

DAYS = 28
CHUNK = 500  # experiments judged at once: 1,000 groups, 4,000 exact draws each (DRAW_BUDGET)
VARIANTS = ("control", "treatment")
METRICS = (
    (Metric("purchased", "orders", "proportion"), MetricRole("purchased", "goal")),
    (
        Metric("errors", "errors", "count", lower_is_better=True),
        MetricRole("errors", "guardrail", 0.05),
    ),
    (
        Metric("latency", "requests", "mean", lower_is_better=True),
        MetricRole("latency", "guardrail", 0.05),
    ),
    (Metric("revenue", "orders", "mean"), MetricRole("revenue", "secondary")),
    (Metric("aov", "orders", "ratio"), MetricRole("aov", "secondary")),
)
SCENARIOS = {  # the treatment's multipliers: of P(purchase), of the error rate
    "A/A": (1.0, 1.0),
    "harmed": (1.10, 1.20),
    "better": (1.10, 1.0),
}


def day_of_units(rng, shape, buy: float, errors: float) -> dict[str, dict[str, np.ndarray]]:
    """One day's sums per (experiment, variant) of each metric's per-unit values."""
    units = shape[-1]
    bought = rng.random(shape) < buy
    orders = np.where(bought, 1 + rng.poisson(0.3, shape), 0)
    spent = np.where(bought, orders * rng.lognormal(3.5, 0.8, shape), 0.0)
    values = {
        "purchased": bought.astype(float),
        "errors": rng.poisson(errors, shape).astype(float),
        "latency": rng.gamma(2.0, 150.0, shape),
        "revenue": spent,
    }
    sums = {
        name: {"sum_value": v.sum(-1), "sum_value2": (v * v).sum(-1)} for name, v in values.items()
    }
    sums["aov"] = {
        "sum_value": spent.sum(-1),
        "sum_value2": (spent * spent).sum(-1),
        "sum_den": orders.sum(-1).astype(float),
        "sum_den2": (orders * orders).sum(-1).astype(float),
        "sum_cross": (spent * orders).sum(-1),
    }
    for found in sums.values():
        found["units"] = np.full(shape[:-1], float(units))
    return sums


def rows_of(totals: dict[str, np.ndarray]) -> list[dict]:
    """unit_stats' rows of one metric, one per (experiment, variant): the groups of one fit."""
    size = totals["units"].shape[0]
    return [
        {"variant": f"{e}:{VARIANTS[v]}", **{k: float(a[e, v]) for k, a in totals.items()}}
        for e in range(size)
        for v in range(2)
    ]


def draws_of(metric: Metric, totals: dict[str, np.ndarray]) -> np.ndarray:
    """(experiments, draws, 2) of the metric's exact posterior, by vibes' own kind."""
    kind = KINDS[metric.kind].for_metric(metric)
    stats = kind.stats(rows_of(totals))
    samples = kind.exact(stats, kind.prior(None, stats)).draws()  # (draws, 2 x experiments)
    draws, groups = samples.shape
    return samples.reshape(draws, groups // 2, 2).transpose(1, 0, 2)


def first_verdicts(runs: int, per_day: int, scenario: str, rng) -> tuple[list, np.ndarray]:
    """Per experiment: its first verdict other than keep-running ((action, choice), or
    (keep-running, None) after DAYS days), and the day it came (DAYS + 1 if none)."""
    buy, errors = SCENARIOS[scenario]
    found, days = [], []
    for start in range(0, runs, CHUNK):
        size = min(CHUNK, runs - start)
        verdicts = [(verdict.KEEP_RUNNING, None)] * size
        ended = np.full(size, DAYS + 1)
        totals = None
        for day in range(DAYS):
            shape = (size, 2, per_day)
            control = day_of_units(rng, shape, 0.10, 0.3)
            treated = day_of_units(rng, shape, 0.10 * buy, 0.3 * errors)
            today = {
                name: {
                    k: np.where([True, False], control[name][k], treated[name][k])
                    for k in control[name]
                }
                for name in control
            }
            if totals is None:
                totals = today
            else:
                totals = {
                    name: {k: totals[name][k] + today[name][k] for k in today[name]}
                    for name in today
                }
            open_ = np.flatnonzero(ended > DAYS)
            if not len(open_):
                break
            judged = judge_day({n: {k: a[open_] for k, a in t.items()} for n, t in totals.items()})
            for i, result in zip(open_, judged, strict=True):
                if result[0] != verdict.KEEP_RUNNING:
                    verdicts[i], ended[i] = result, day + 1
        found += verdicts
        days.append(ended)
    return found, np.concatenate(days)


def judge_day(totals: dict[str, dict[str, np.ndarray]]) -> list[tuple[str, str | None]]:
    """The scorecard's verdict of each experiment on today's totals."""
    rule = verdict.Rule()
    draws = {metric.name: draws_of(metric, totals[metric.name]) for metric, _ in METRICS}
    goal_metric, _ = METRICS[0]
    goal = verdict.judge(draws[goal_metric.name], [0, 1], 0, rule)
    results = []
    for e in range(len(goal.action)):
        chosen = goal.action[e] == verdict.CHOOSE
        summaries = [
            {
                "role": "goal",
                "name": goal_metric.name,
                "control": VARIANTS[0],
                "verdict": {
                    "action": goal.action[e],
                    "choice": VARIANTS[goal.leader[e]] if chosen else None,
                },
                "groups": [],
            }
        ]
        for metric, role in METRICS[1:]:
            if role.role != "guardrail":
                continue  # secondaries are fitted and reported, never in the verdict
            d = draws[metric.name][e]
            p_harm = scorecard.harm(d[:, 1], d[:, 0], role.margin, metric.lower_is_better)
            summaries.append(
                {
                    "role": "guardrail",
                    "name": metric.name,
                    "groups": [{"name": VARIANTS[1], "p_harm": p_harm}],
                }
            )
        judged = scorecard.judge(summaries)
        results.append((judged["action"], judged["choice"]))
    return results


def line(label: str, verdicts: list, days: np.ndarray) -> str:
    runs = len(verdicts)
    counts = {}
    for action, choice in verdicts:
        key = f"{action} {choice}" if choice else action
        counts[key] = counts.get(key, 0) + 1
    parts = []
    for key in sorted(counts):
        share = counts[key] / runs
        error = np.sqrt(share * (1 - share) / runs)
        parts.append(f"{key} {share:.1%} (±{error:.1%})")
    decided = days[days <= DAYS]
    median = f"median day {np.median(decided):.0f}" if len(decided) else "no verdicts"
    return f"{label:<8} {runs} runs: " + "; ".join(parts) + f"; {median}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="?", type=int, default=1000)
    parser.add_argument("--per-day", type=int, default=1000, help="new units per variant a day")
    parser.add_argument("--seed", type=int, default=25)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"{DAYS} daily looks, {args.per_day:,} new units per variant a day, 5 metrics")
    for scenario in SCENARIOS:
        start = time.perf_counter()
        verdicts, days = first_verdicts(args.runs, args.per_day, scenario, rng)
        print(line(scenario, verdicts, days) + f" [{time.perf_counter() - start:.0f} s]")


if __name__ == "__main__":
    main()
