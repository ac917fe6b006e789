"""Verdicts: what to do with a comparison, by an explicit rule, and how much longer to run.

The rule, for the groups with data (``has_data``), the control being the baseline (for a type
without a control, the leader):

1. **no-difference** when every group is within ``rope`` (relative) of the baseline with
   probability at least ROPE_PROB;
2. **choose** the leader (the group most often best) when choosing it risks little — its
   expected loss is below ``max_loss`` times the baseline's mean — and the data favour a
   difference EVIDENCE to 1 over none. The evidence is against the control: the mean of the
   Bayes factors of each other group against it. A type without a control has none to be
   against: each group is weighed against the others together (their mean, draw by draw), and
   the mean taken of those. Not the leader against the runner-up: two equally good leaders
   would then never be chosen, though either costs less than ``max_loss``; and not the
   leader's alone: the data pick the leader, and the largest of several Bayes factors is no
   martingale, while their mean is.
   Each Bayes factor is of the log ratio being Normal(0, tau^2) against exactly 0, on the
   posterior's mean and variance of that log ratio, averaged over the spreads TAUS: sqrt(tau)
   uniform between sqrt(0.5%) and sqrt(20%), where product changes' effects are, with more
   weight on the larger ones than a log-uniform spread would give (an effect is seen when its
   estimate is about three standard errors, larger than the effect while data are few).
   Under no difference at all each Bayes factor, and so their mean, is a martingale: by
   Ville's inequality the mean ever reaches EVIDENCE with probability at most 1 / EVIDENCE,
   however often it is looked at. An A/A(/A) test checked every day chooses a variant in at
   most 5% of cases (bench/verdicts.py measures it, and the power beside a tuned mSPRT's);
3. otherwise **keep-running**, saying which of the two conditions is ``missing``, with
   ``events_needed``: the median number of more events (at the current split) until a first
   verdict other than keep-running, over FUTURES futures simulated from today's posterior, and
   its quartiles (``events_needed_range``). Each future draws the groups' true values from the
   posterior once, then data at each horizon (cumulative, so that a future's verdicts are
   consistent), and judges the posterior it would give, from FUTURE_DRAWS draws of it; between
   horizons the share of futures settled is interpolated on the log scale. It is what today's
   posterior expects, not a promise: if the groups truly do not differ, a verdict comes later
   than in most futures, which mostly hold some difference (bench/events_needed.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vibes_core.capabilities import SimulatesFutures

if TYPE_CHECKING:  # numpy is imported where it is used: the CLI reads this module's defaults
    import numpy as np

    from vibes_core.effects import EffectPrior

CHOOSE, NO_DIFFERENCE, KEEP_RUNNING = "choose", "no-difference", "keep-running"
LOSS, EVIDENT, DATA = "loss", "evidence", "data"  # what a keep-running verdict is missing
MAX_LOSS = 0.0025  # of the baseline's mean: GrowthBook's default risk threshold
ROPE = 0.01  # relative: +-1% of the baseline is "the same"
ROPE_PROB = 0.95
EVIDENCE = 20.0
# Spreads of a difference on the log scale, equally weighted: sqrt(tau) evenly between
# sqrt(0.005) and sqrt(0.2) (midpoints of 12 steps: 0.75% to 19%). A single spread makes an
# effect far from it look like no effect; a wider range spends weight where no effect is.
TAU_RANGE, TAU_STEPS = (0.005, 0.2), 12
TAUS = tuple(
    (math.sqrt(TAU_RANGE[0]) + (math.sqrt(TAU_RANGE[1]) - math.sqrt(TAU_RANGE[0])) * step) ** 2
    for step in ((i + 0.5) / TAU_STEPS for i in range(TAU_STEPS))
)
OLD_TAUS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)  # before: log-uniform from 1% to e (bench)
FUTURES = 200
FUTURE_DRAWS = 300
QUANTILES = (0.25, 0.5, 0.75)  # of more events until a verdict: events_needed and its range
HORIZONS = (0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32)  # more events, as multiples of those so far
MIN_EVENTS = 100  # the first horizon is at least this many more events
MAX_FUTURE_GROUPS = 10  # beyond, simulating futures costs too much: events_needed is None


@dataclass(frozen=True)
class Rule:
    max_loss: float = MAX_LOSS
    rope: float = ROPE

    def words(self, control: str | None) -> str:
        """The rule in one sentence; ``control``: the baseline's name for it ("the control"),
        None for a type without one."""
        base = control or "the leader"
        against = f"from {control}" if control else "among the groups"
        return (
            f"choose the leader when its expected loss is below {100 * self.max_loss:.3g}% of "
            f"{base}'s mean and a Bayes factor of at least {EVIDENCE:g} favours a difference "
            f"{against}; no difference when every group is within ±{100 * self.rope:.3g}% of "
            f"{base} with {ROPE_PROB:.0%} probability; else keep running (events needed: the "
            f"median of {FUTURES} simulated futures, and its quartiles)"
        )


def rule_of(options: dict) -> Rule:
    return Rule(options.get("max_loss", MAX_LOSS), options.get("rope", ROPE))


@dataclass(frozen=True)
class Judged:
    """Verdicts of F posteriors (futures, or the one of today)."""

    action: np.ndarray  # (F,) of CHOOSE, NO_DIFFERENCE, KEEP_RUNNING
    leader: np.ndarray  # (F,) group index
    loss: np.ndarray  # (F,) the leader's expected loss
    bayes_factor: np.ndarray  # (F,) the evidence of a difference (see the module's docstring)
    cheap: np.ndarray  # (F,) whether the leader's expected loss is below max_loss
    comparable: bool = True  # False: too few groups with data (or not the control) to judge

    def missing(self, f: int = 0) -> list[str]:
        """What future ``f``'s keep-running verdict lacks for a choice: data, loss, evidence."""
        if self.action[f] != KEEP_RUNNING:
            return []
        if not self.comparable:
            return [DATA]
        short = {LOSS: not self.cheap[f], EVIDENT: self.bayes_factor[f] < EVIDENCE}
        return [condition for condition, missed in short.items() if missed]


def judge(
    draws: np.ndarray,
    kept: list[int],
    control: int | None,
    rule: Rule,
    loss: np.ndarray | None = None,
    lower: bool = False,
    effects: EffectPrior | None = None,
) -> Judged:
    """``draws``: (F, D, groups) of F posteriors; ``kept``: the groups with data; ``loss``:
    each group's expected loss if known more precisely than from the draws (today's);
    ``lower``: the best group is the one with the smallest quantity; ``effects``: a learned
    prior of the effects (vibes_core.effects), with ``draws`` under the default prior: its
    slab is the Bayes factor's alternative, and the draws are moved to it."""
    import numpy as np

    from vibes_core.posterior import shared_wins

    futures = draws.shape[0]
    if len(kept) < 2 or (control is not None and control not in kept):
        empty, no = np.zeros(futures), np.zeros(futures, dtype=bool)
        leader = np.full(futures, kept[0] if kept else 0)
        return Judged(np.full(futures, KEEP_RUNNING), leader, empty, empty, no, False)
    x = draws[:, :, kept]  # (F, D, K)
    c = kept.index(control) if control is not None else None
    if effects is None:
        factor = evidence(x, c)
    else:
        factor, x = effects.evidence(x, c), effects.shrink(x, c)
    rows = np.arange(futures)
    signed = -x if lower else x  # larger is better
    wins = shared_wins(signed, axis=2).mean(axis=1)  # (F, K)
    lead = wins.argmax(axis=1)  # position in kept
    top = signed.max(axis=2)
    if loss is None:
        lead_loss = (top - signed[rows, :, lead]).mean(axis=1)
    else:
        lead_loss = np.asarray(loss)[np.asarray(kept)[lead]]
    means = x.mean(axis=1)  # (F, K)
    base = np.full(futures, c) if c is not None else lead
    base_mean = np.abs(means[rows, base])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = x / x[rows, :, base][:, :, None]
        inside = (np.abs(ratio - 1) < rule.rope).mean(axis=1)  # (F, K)
    inside[rows, base] = 1.0
    same = (inside >= ROPE_PROB).all(axis=1)
    cheap = lead_loss < rule.max_loss * base_mean
    chosen = cheap & (factor >= EVIDENCE)
    action = np.where(same, NO_DIFFERENCE, np.where(chosen, CHOOSE, KEEP_RUNNING))
    return Judged(action, np.asarray(kept)[lead], lead_loss, factor, cheap)


def evidence(x: np.ndarray, control: int | None) -> np.ndarray:
    """(F,) from draws (F, D, K): the mean Bayes factor of each group against the control
    (position ``control``), or with none, of each group against the others' mean."""
    import numpy as np

    tiny = np.finfo(float).tiny
    logs = np.log(np.maximum(x, tiny))
    if control is not None:
        log_ratio = np.delete(logs, control, axis=2) - logs[:, :, [control]]
    else:
        others = (x.sum(axis=2, keepdims=True) - x) / (x.shape[2] - 1)
        log_ratio = logs - np.log(np.maximum(others, tiny))
    return bayes_factor(log_ratio.mean(axis=1), log_ratio.var(axis=1)).mean(axis=1)


def bayes_factor(m: np.ndarray, v: np.ndarray, taus: tuple[float, ...] = TAUS) -> np.ndarray:
    """The Bayes factor of a log ratio ~ Normal(0, tau^2) against a log ratio of 0, from the
    posterior's mean ``m`` and variance ``v`` of it (any shape),
    sqrt(v / (v + tau^2)) * exp(m^2 tau^2 / (2 v (v + tau^2))), averaged over ``taus``."""
    import numpy as np

    v = np.maximum(v, 1e-300)
    factors = 0.0
    for tau in taus:
        exponent = np.minimum(m**2 * tau**2 / (2 * v * (v + tau**2)), 700.0)
        factors = factors + np.sqrt(v / (v + tau**2)) * np.exp(exponent)
    return factors / len(taus)


def events_needed(
    kind,
    stats,
    prior: dict,
    kept: list[int],
    control: int | None,
    rule: Rule,
    weights: np.ndarray,
    seed: int = 0,
    lower: bool = False,
    effects: EffectPrior | None = None,
) -> tuple[int | None, ...] | None:
    """The QUANTILES of more events in all (split by ``weights``) until a first verdict
    other than keep-running, over futures simulated from today's posterior (see the module's
    docstring), judged under ``effects`` if given (see ``judge``): each None if beyond the
    last horizon; None if the type cannot simulate its future."""
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
    settled = np.zeros(FUTURES, dtype=bool)
    reached: list[tuple[float, float]] = []  # (more events, share of futures settled by then)
    for multiple in HORIZONS:
        target = max(multiple * so_far, MIN_EVENTS)
        rows = np.round((target - added) * weights)
        added = target
        batch = kind.future_stats(stats, batch, truths, rows, rng)
        draws = kind.future_draws(stats, batch, prior, rng, FUTURE_DRAWS)
        judged = judge(draws, kept_then, control, rule, lower=lower, effects=effects)
        settled |= judged.action != KEEP_RUNNING
        reached.append((target, float(settled.mean())))
        if reached[-1][1] >= QUANTILES[-1]:
            break
    return tuple(quantile(reached, q) for q in QUANTILES)


def quantile(reached: list[tuple[float, float]], q: float) -> int | None:
    """The more events by which a share ``q`` of futures has settled, interpolated on the log
    scale between the horizons around it; two significant digits: it is an estimate."""
    for i, (events, share) in enumerate(reached):
        if share >= q:
            if i > 0 and share > reached[i - 1][1]:
                before, earlier = reached[i - 1]
                step = (q - earlier) / (share - earlier)
                events = before * (events / before) ** step
            return int(float(f"{events:.2g}"))
    return None


def can_simulate(kind, groups: int) -> bool:
    """Whether the type can simulate its future data (it declares so), for so many groups."""
    return isinstance(kind, SimulatesFutures) and groups <= MAX_FUTURE_GROUPS


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
