"""Verdicts: what to do with a comparison, by an explicit rule, and how much longer to run.

The rule, for the groups with data (``has_data``), the control being the baseline (for a type
without a control, the leader):

1. **no-difference** when every group is within ``rope`` (relative) of the baseline with
   probability at least ROPE_PROB;
2. **choose** the leader (the group most often best) when choosing it risks little — its
   expected loss is below ``max_loss`` times the baseline's mean — and the data favour a
   difference between it and the runner-up EVIDENCE to 1 over none (a Bayes factor: the log
   ratio is Normal(0, tau^2) against exactly 0, averaged over the widths TAUS so that a small
   effect and a large one are both weighed fairly, on the posterior's mean and variance of
   that log ratio). Under no difference each such Bayes factor, and so their average, is a
   martingale: by Ville's inequality it ever reaches EVIDENCE with probability at most
   1 / EVIDENCE, however often it is looked at. An A/A test checked every day chooses a
   variant in at most 5% of cases (bench/verdicts.py measures it);
3. otherwise **keep-running**, with ``events_needed``: the fewest more events (at the current
   split) after which at least SETTLED of FUTURES simulated futures reach another verdict.
   Each future draws the groups' true values from the posterior once, then data at each
   horizon (cumulative, so that a future's verdicts are consistent), and judges the posterior
   it would give, from FUTURE_DRAWS draws of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where it is used: the CLI reads this module's defaults
    import numpy as np

CHOOSE, NO_DIFFERENCE, KEEP_RUNNING = "choose", "no-difference", "keep-running"
MAX_LOSS = 0.0025  # of the baseline's mean: GrowthBook's default risk threshold
ROPE = 0.01  # relative: +-1% of the baseline is "the same"
ROPE_PROB = 0.95
EVIDENCE = 20.0
# Widths of a difference on the log scale, from 1% to a factor of e: a single width makes an
# effect far from it look like no effect (20/20 against 4/20 would need hundreds of events).
TAUS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
FUTURES = 200
FUTURE_DRAWS = 300
SETTLED = 0.5
HORIZONS = (0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32)  # more events, as multiples of those so far
MIN_EVENTS = 100  # the first horizon is at least this many more events
MAX_FUTURE_GROUPS = 10  # beyond, simulating futures costs too much: events_needed is None


@dataclass(frozen=True)
class Rule:
    max_loss: float = MAX_LOSS
    rope: float = ROPE

    def words(self, baseline: str) -> str:
        return (
            f"choose the leader when its expected loss is below {100 * self.max_loss:.3g}% of "
            f"{baseline}'s mean and a Bayes factor of at least {EVIDENCE:g} favours a "
            f"difference from the runner-up; no difference when every group is within "
            f"±{100 * self.rope:.3g}% of {baseline} with {ROPE_PROB:.0%} probability; else keep "
            f"running (events needed: {SETTLED:.0%} of {FUTURES} simulated futures settled)"
        )


def rule_of(options: dict) -> Rule:
    return Rule(options.get("max_loss", MAX_LOSS), options.get("rope", ROPE))


@dataclass(frozen=True)
class Judged:
    """Verdicts of F posteriors (futures, or the one of today)."""

    action: np.ndarray  # (F,) of CHOOSE, NO_DIFFERENCE, KEEP_RUNNING
    leader: np.ndarray  # (F,) group index
    loss: np.ndarray  # (F,) the leader's expected loss
    bayes_factor: np.ndarray  # (F,) leader against the runner-up


def judge(
    draws: np.ndarray,
    kept: list[int],
    control: int | None,
    rule: Rule,
    loss: np.ndarray | None = None,
) -> Judged:
    """``draws``: (F, D, groups) of F posteriors; ``kept``: the groups with data; ``loss``:
    each group's expected loss if known more precisely than from the draws (today's)."""
    import numpy as np

    futures = draws.shape[0]
    if len(kept) < 2 or (control is not None and control not in kept):
        empty = np.zeros(futures)
        return Judged(
            np.full(futures, KEEP_RUNNING), np.full(futures, kept[0] if kept else 0), empty, empty
        )
    x = draws[:, :, kept]  # (F, D, K)
    rows = np.arange(futures)
    best = x.argmax(axis=2)  # (F, D)
    wins = np.stack([(best == k).mean(axis=1) for k in range(len(kept))], axis=1)  # (F, K)
    lead = wins.argmax(axis=1)  # position in kept
    top = x.max(axis=2)
    if loss is None:
        lead_loss = (top - x[rows, :, lead]).mean(axis=1)
    else:
        lead_loss = np.asarray(loss)[np.asarray(kept)[lead]]
    means = x.mean(axis=1)  # (F, K)
    base = np.full(futures, kept.index(control)) if control is not None else lead
    base_mean = np.abs(means[rows, base])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = x / x[rows, :, base][:, :, None]
        inside = (np.abs(ratio - 1) < rule.rope).mean(axis=1)  # (F, K)
    inside[rows, base] = 1.0
    same = (inside >= ROPE_PROB).all(axis=1)
    runner = np.where(np.arange(len(kept))[None, :] == lead[:, None], -np.inf, means).argmax(1)
    factor = bayes_factor(x[rows, :, lead], x[rows, :, runner])
    chosen = (lead_loss < rule.max_loss * base_mean) & (factor >= EVIDENCE)
    action = np.where(same, NO_DIFFERENCE, np.where(chosen, CHOOSE, KEEP_RUNNING))
    return Judged(action, np.asarray(kept)[lead], lead_loss, factor)


def bayes_factor(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per row of draws (F, D): the Bayes factor of log(a/b) ~ Normal(0, tau^2) against
    log(a/b) = 0, on the posterior's mean m and variance v of log(a/b),
    sqrt(v / (v + tau^2)) * exp(m^2 tau^2 / (2 v (v + tau^2))), averaged over TAUS."""
    import numpy as np

    tiny = np.finfo(float).tiny
    log_ratio = np.log(np.maximum(a, tiny)) - np.log(np.maximum(b, tiny))
    m, v = log_ratio.mean(axis=1), np.maximum(log_ratio.var(axis=1), 1e-300)
    factors = []
    for tau in TAUS:
        exponent = np.minimum(m**2 * tau**2 / (2 * v * (v + tau**2)), 700.0)
        factors.append(np.sqrt(v / (v + tau**2)) * np.exp(exponent))
    return np.mean(factors, axis=0)


def events_needed(
    kind,
    stats,
    prior: dict,
    kept: list[int],
    control: int | None,
    rule: Rule,
    weights: np.ndarray,
    seed: int = 0,
) -> int | None:
    """More events in all (split by ``weights``) after which a verdict other than
    keep-running is likely (see the module's docstring), or None if none is within the last
    horizon or the type cannot simulate its future."""
    import numpy as np

    if not can_simulate(kind, len(stats.names)):
        return None
    rng = np.random.default_rng(seed)
    truths = kind.future_truths(stats, prior, rng, FUTURES)
    batch = {
        key: np.broadcast_to(value, (FUTURES, len(value))).astype(float)
        for key, value in stats.values.items()
    }
    kept_then = sorted(set(kept) | {i for i, w in enumerate(weights) if w > 0})
    so_far, added = float(stats[kind.events].sum()), 0.0
    for multiple in HORIZONS:
        target = max(multiple * so_far, MIN_EVENTS)
        rows = np.round((target - added) * weights)
        added = target
        batch = kind.future_stats(stats, batch, truths, rows, rng)
        draws = kind.future_draws(stats, batch, prior, rng, FUTURE_DRAWS)
        settled = (judge(draws, kept_then, control, rule).action != KEEP_RUNNING).mean()
        if settled >= SETTLED:
            return int(float(f"{target:.2g}"))  # two significant digits: it is an estimate
    return None


def can_simulate(kind, groups: int) -> bool:
    """Whether the type can simulate its future data (MCMC-only types cannot), for so many
    groups."""
    return hasattr(kind, "future_truths") and groups <= MAX_FUTURE_GROUPS


def days(events: int | None, per_day: float | None) -> float | None:
    if events is None or not per_day:
        return None
    return float(f"{events / per_day:.2g}")


def split_weights(stats, kind, split: dict | None) -> np.ndarray:
    """Each group's share of the next events: the intended --split, else the observed one."""
    import numpy as np

    if split:
        weights = np.array([split.get(name, 0.0) for name in stats.names], dtype=float)
    else:
        weights = np.asarray(stats[kind.events], dtype=float)
    total = weights.sum()
    return weights / total if total > 0 else np.full(len(weights), 1 / len(weights))


def share_of(x: float) -> str:
    """A share of the baseline's mean in words: 0.25%, 4%, <0.01%."""
    if not math.isfinite(x):
        return "n/a"
    return f"{100 * x:.2g}%" if x >= 1e-4 else "<0.01%"
