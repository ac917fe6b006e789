"""The summary every type shares, built from any posterior (exact or draws): per group the
mean and HDI of the type's quantity, P(best), expected loss, and the uplift over the control;
the verdict (vibes_core.verdict) and a sentence that says it first, in the quantity's unit.
Types add their own fields (``extend``). The keys are those of vibes_core.schema.

Groups without data enough to compare (``kind.has_data``) are reported with their prior's
posterior, but left out of P(best), expected loss and the verdict (their ``p_best`` and
``expected_loss`` are null): a group seen for a millionth of a unit, or named only in a
--split, must neither win nor change who wins."""

from typing import TYPE_CHECKING

import numpy as np

from vibes_core import verdict
from vibes_core.effects import of_options
from vibes_core.errors import VibesError, option
from vibes_core.posterior import Draws, Estimate, describe, intervals, negated
from vibes_core.units import PROBABILITY, percent

if TYPE_CHECKING:
    from vibes_core.effects import EffectPrior
    from vibes_core.schema import Findings, GroupRow, Hyperparameter, Verdict
    from vibes_core.stats import Stats
    from vibes_core.types.base import ExperimentType

CREDIBLE = 0.95  # a comparison with the control this sure is said in the sentence
MOST_SAID = 3  # such comparisons the sentence names; with more groups, it counts the rest


def compare(
    kind: "ExperimentType", estimate: Estimate, stats: "Stats", options: dict, model=None
) -> "Findings":
    """The shared summary of ``estimate``. ``model`` (vibes_core.models): whose posterior it
    is, which adds its part (a pooled model's population) and says whether futures can be
    simulated; None: each group's own (the independent model's)."""
    prob, names = options["hdi_prob"], estimate.names
    kept = [int(i) for i in np.flatnonzero(kind.has_data(stats, options["prior"]))]
    with_control = len(names) > 1 and "control" in kind.summary_options
    c = control_index(kind, names, options.get("control")) if with_control else None
    effects = of_options(options) if c is not None else None
    default = estimate  # under the type's default prior
    if effects is not None:
        estimate = under_prior(kind, estimate, effects, c)
    rows = describe(estimate, prob)
    # A metric where lower is better (errors, latency) is compared on its negation: the best
    # group is the smallest, a loss is how much larger it is.
    better = estimate if kind.higher_is_better else negated(estimate)
    p_best, loss = compared_among(better, kept)
    for i, row in enumerate(rows):
        row.update(stats.row(i))
        row.update(p_best=p_best[i], expected_loss=loss[i], control=i == c)
    if c is not None:
        for i, uplift in uplifts(kind, estimate, c, prob, better).items():
            rows[i].update(uplift)
    if effects is not None:
        beside = relative_intervals(kind, relative_draws(default.draws(), c), names, c, prob)
        for row, uplift in zip([r for i, r in enumerate(rows) if i != c], beside, strict=True):
            row["default_uplift_rel"] = uplift
    summary = {
        "quantity": kind.quantity,
        "unit": kind.unit.name,
        "control": None if c is None else names[c],
        "groups": rows,
        "prior_source": "default" if effects is None else "learned",
        "warnings": no_data_warnings(kind, stats, kept),
    }
    if effects is not None:
        summary["learned_prior"] = options["effect_prior"]
    if len(names) == 1 and kind.group_column:
        summary["warnings"].append(
            f"only one {kind.group_column}: there is nothing to compare it with"
        )
    if model is not None:
        summary.update(model.population(kind, estimate, stats, rows, prob))
    futures = (model is None or model.simulates_futures) and verdict.can_simulate(kind, len(names))
    summary["verdict"] = judged(kind, default, stats, options, kept, c, loss, futures, effects)
    summary["decision"] = sentence(kind, summary, prob, verdict.rule_of(options), futures)
    if effects is not None:
        summary["decision"] += ". " + default_words(rows, options["effect_prior"])
    return summary


def default_words(rows: list["GroupRow"], learned: dict) -> str:
    """What the uplifts were under the default prior, beside the learned one's."""
    beside = [
        f"{row['name']} {relative_words({'uplift_rel': row['default_uplift_rel']})}"
        for row in rows
        if "default_uplift_rel" in row
    ]
    return (
        f"Uplifts are under the prior learned from {learned['experiments']} past experiments; "
        f"under the default prior: {', '.join(beside[:MOST_SAID])}"
        + (f" and {len(beside) - MOST_SAID} more" if len(beside) > MOST_SAID else "")
    )


def under_prior(kind, estimate: Estimate, effects: "EffectPrior", c: int) -> Draws:
    """The posterior under a learned prior of the effects: the default one's draws moved
    (vibes_core.effects)."""
    draws = estimate.draws()
    if (draws <= 0).any():
        raise VibesError(
            f"a learned prior is of ratios to the control, and the posterior of the "
            f"{kind.quantity} is not always positive: analyse without {option('prior')} learned"
        )
    moved = effects.shrink(draws[None], c)[0]
    return Draws(list(estimate.names), moved, method=estimate.method)


def hyperparameters(
    kind: "ExperimentType", estimate: Estimate, prob: float
) -> list["Hyperparameter"]:
    """A pooled model's hyperparameters: name, meaning, mean and HDI."""
    fields = kind.hyperparameters
    found = intervals(
        np.column_stack([estimate.hyper[f.name] for f in fields]),
        prob,
        [f"the hyperparameter {f.name}" for f in fields],
    )
    return [
        {"name": f.name, "meaning": f.meaning, **row} for f, row in zip(fields, found, strict=True)
    ]


def shrunk_from(
    kind: "ExperimentType", stats: "Stats", rows: list["GroupRow"], prob: float
) -> None:
    """Beside each group's pooled estimate, its own (the exact posterior of the independent
    model, default prior): how far pooling moved it is the shrinkage."""
    alone = describe(kind.exact(stats, kind.prior(None, stats)), prob)
    for row, own in zip(rows, alone, strict=True):
        row["unpooled"] = {key: own[key] for key in ("mean", "hdi_low", "hdi_high")}


def compared_among(estimate: Estimate, kept: list[int]) -> tuple[list, list]:
    """P(best) and expected loss of each group among those ``kept``; None for the others."""
    size = len(estimate.names)
    p_best, loss = [None] * size, [None] * size
    if len(kept) == 1:
        p_best[kept[0]], loss[kept[0]] = 1.0, 0.0
    elif kept:
        among = estimate.subset(kept) if len(kept) < size else estimate
        for i, p, cost in zip(kept, among.p_best(), among.expected_loss(), strict=True):
            p_best[i], loss[i] = float(p), float(cost)
    return p_best, loss


def judged(
    kind,
    estimate: Estimate,
    stats,
    options: dict,
    kept: list[int],
    c: int | None,
    loss: list,
    futures: bool,
    effects: "EffectPrior | None" = None,
) -> "Verdict":
    """The verdict on today's posterior (with the summary's expected losses), what it misses
    if it is to keep running, and then how many more events should settle it (if
    ``futures``: simulated). ``effects``: a learned prior, ``estimate`` being the default
    prior's posterior (vibes_core.verdict.judge)."""
    rule = verdict.rule_of(options)
    head = {
        "events_needed": None,
        "events_needed_range": None,
        "days_needed": None,
        "days_needed_range": None,
        "missing": [],
        "bayes_factor": None,
        "rule": rule.words("the control" if c is not None else None),
    }
    if len(estimate.names) == 1:
        return {
            "action": verdict.NO_DIFFERENCE,
            "choice": None,
            **head,
            "rule": "one group: nothing to compare it with",
        }
    draws = estimate.draws()[None]
    losses = np.array([np.nan if x is None else x for x in loss])
    lower = not kind.higher_is_better
    today = verdict.judge(draws, kept, c, rule, losses, lower, effects)
    action = str(today.action[0])
    found = {"action": action, "choice": None, **head, "missing": today.missing()}
    if today.comparable:
        found["bayes_factor"] = float(f"{today.bayes_factor[0]:.3g}")  # an estimate from draws
    if action == verdict.CHOOSE:
        found["choice"] = estimate.names[int(today.leader[0])]
    elif action == verdict.KEEP_RUNNING and futures:
        weights = verdict.split_weights(stats, kind, options.get("split"))
        needed = verdict.events_needed(
            kind, stats, options["prior"], kept, c, rule, weights, lower=lower, effects=effects
        )
        if needed is not None and needed[1] is not None:
            low, median, high = needed
            pace = options.get("events_per_day")
            found["events_needed"] = median
            found["events_needed_range"] = [low, high]
            found["days_needed"] = verdict.days(median, pace)
            if found["days_needed"] is not None:
                found["days_needed_range"] = [verdict.days(low, pace), verdict.days(high, pace)]
    return found


def control_index(kind: "ExperimentType", names: list[str], chosen: str | None) -> int:
    """Where the group the others are compared with is: the one chosen, else the first."""
    chosen = chosen or names[0]
    if chosen not in names:
        noun = kind.group_column
        raise VibesError(
            f"{option('control')} {chosen!r} is not a {noun}; {noun}s: {', '.join(names)}"
        )
    return names.index(chosen)


def uplifts(
    kind: "ExperimentType", estimate: Estimate, c: int, prob: float, better: Estimate
) -> dict[int, dict]:
    """Each other group's absolute and relative uplift over group ``c``, and P(it beats c)
    (``better``: the estimate where larger is better). The relative one is centred on its
    median: its mean need not exist."""
    names, draws = estimate.names, estimate.draws()
    others = [i for i in range(len(names)) if i != c]
    difference = draws[:, others] - draws[:, [c]]
    relative = relative_draws(draws, c)
    absolute = intervals(
        difference, prob, [f"the uplift of {names[i]}" for i in others], errors=True
    )
    relative = relative_intervals(kind, relative, names, c, prob)
    beats = better.prob_beats(c)
    return {
        i: {
            "uplift_abs": absolute[k],
            "uplift_rel": relative[k],
            "p_beats_control": float(beats[i]),
        }
        for k, i in enumerate(others)
    }


def relative_draws(draws: np.ndarray, c: int) -> np.ndarray:
    """Each other group's draws relative to group ``c``'s: (x - x_c) / x_c."""
    others = np.delete(draws, c, axis=1)
    with np.errstate(all="ignore"):  # a 0 draw of the control: named by intervals()
        return (others - draws[:, [c]]) / draws[:, [c]]


def relative_intervals(kind, relative, names: list[str], c: int, prob: float) -> list:
    """The intervals of each other group's ``relative`` uplift over group ``c`` (draws, one
    column per other group), centred on their medians."""
    others = [name for i, name in enumerate(names) if i != c]
    what = [f"the uplift of {name} relative to the {kind.baseline} {names[c]}" for name in others]
    return intervals(relative, prob, what, center="median", errors=True)


def no_data_warnings(kind: "ExperimentType", stats: "Stats", kept: list[int]) -> list[str]:
    if not kind.group_column:
        return [] if kept else ["no events yet: the posterior is the prior"]
    noun, empty = kind.group_column, stats[kind.size] == 0
    why = ("too little data to outweigh the prior", "no events yet")
    return [
        f"{noun} {name} has {why[bool(empty[i])]}: its posterior is the prior's, and it is "
        "left out of P(best), expected loss and the verdict"
        for i, name in enumerate(stats.names)
        if i not in kept
    ]


def sentence(
    kind: "ExperimentType", summary: "Findings", prob: float, rule: "verdict.Rule", futures: bool
) -> str:
    """The verdict first, then what is already credible, then how long to keep running."""
    rows, unit, found = summary["groups"], kind.unit, summary["verdict"]
    if len(rows) == 1:
        [row] = rows
        low, high = unit.show(row["hdi_low"]), unit.show(row["hdi_high"])
        words = f"{unit.show(row['mean'])} ({PROBABILITY.show(prob)} HDI {low} to {high})"
        if kind.group_column:
            return f"Only {row['name']} has data: its {kind.quantity} is {words}"
        return f"The {kind.quantity} is {words}"
    noun = kind.group_column
    control = next((row for row in rows if row["control"]), None)
    ranked = [row for row in rows if row["p_best"] is not None]
    if not ranked:
        return f"Keep running: no {noun} has data enough to compare yet"
    chosen = next((row for row in rows if row["name"] == found["choice"]), None)
    leader = chosen or max(ranked, key=lambda row: row["p_best"])  # the rule's, if it chose
    base = control or leader
    # The table's absolute loss, and its share of the baseline that max-loss is a share of.
    share = verdict.share_of(leader["expected_loss"] / abs(base["mean"])) if base["mean"] else "n/a"
    cost = (
        f"{unit.difference(leader['expected_loss'])} ({share} of {base['name']}'s {kind.quantity})"
    )
    said = credible(rows, control, kind)
    if chosen is not None:
        head = f"{kind.chosen.format(name=chosen['name'])}: "
        if control is not None and chosen is not control:
            head += (
                f"it beats {control['name']} with {percent(chosen['p_beats_control'])} "
                f"probability ({relative_words(chosen)})"
            )
            said = [s for s in said if not s.startswith(chosen["name"] + " ")]
        else:
            head += f"it {kind.leads} with {percent(chosen['p_best'])} probability"
        head += f"; expected loss {cost}"
    elif found["action"] == verdict.NO_DIFFERENCE:
        head = (
            f"No difference: every {noun} is within ±{100 * rule.rope:.2g}% of "
            f"{base['name']} with at least {verdict.ROPE_PROB:.0%} probability"
        )
    else:
        head = (
            f"Keep running: no {noun} can be chosen yet ({leader['name']} {kind.leads} with "
            f"{percent(leader['p_best'])} probability; "
            f"{lacking(found, cost, control, noun, rule)})"
        )
    parts = [head, *said]
    if found["action"] == verdict.KEEP_RUNNING:
        parts.append(how_long(found, futures, kind.counted))
    return ". ".join(part for part in parts if part)


def credible(rows: list["GroupRow"], control: "GroupRow | None", kind) -> list[str]:
    """What is already credible: groups that beat the control, or fall below it, with at least
    CREDIBLE probability; of many, the MOST_SAID surest (in the groups' order) and a count."""
    if control is None:
        return []
    said = []
    for row in rows:
        p = row.get("p_beats_control")
        if p is None or row["p_best"] is None:
            continue
        if p >= CREDIBLE:
            said.append(
                (
                    p,
                    f"{row['name']} beats {control['name']} with {percent(p)} probability "
                    f"({relative_words(row)})",
                )
            )
        elif p <= 1 - CREDIBLE:
            said.append(
                (
                    1 - p,
                    f"{row['name']} is below {control['name']} with {percent(1 - p)} "
                    f"probability ({relative_words(row)})",
                )
            )
    if len(said) <= MOST_SAID:
        return [words for _, words in said]
    surest = sorted(range(len(said)), key=lambda i: -said[i][0])[:MOST_SAID]
    rest = len(said) - MOST_SAID
    many = rest > 1
    return [said[i][1] for i in sorted(surest)] + [
        f"{rest} more {kind.group_column}{'s beat or fall' if many else ' beats or falls'} "
        f"below {control['name']} with at least {CREDIBLE:.0%} probability (the table has "
        f"{'them' if many else 'it'})"
    ]


def lacking(found: "Verdict", cost: str, control: "GroupRow | None", noun: str, rule) -> str:
    """Why no group can be chosen yet: the leader's expected loss (``cost``, in words) against
    the max-loss, and the evidence of a difference if it is short."""
    missing = found["missing"]
    if verdict.DATA in missing:
        if control is not None and control["p_best"] is None:
            return f"{control['name']} has no data enough to be compared with"
        return f"no other {noun} has data enough to compare it with"
    allowed = verdict.share_of(rule.max_loss)
    over = verdict.LOSS in missing
    words = f"expected loss {cost}, {'above' if over else 'within'} the {allowed} allowed"
    if verdict.EVIDENT in missing:
        about = f"of a difference from {control['name']}" if control else f"that the {noun}s differ"
        words += (
            f"{', and' if over else ', but'} the evidence {about} is "
            f"{found['bayes_factor']:.2g} to 1, short of the {verdict.EVIDENCE:g} needed"
        )
    return words


def relative_words(row: "GroupRow") -> str:
    """The relative uplift in percent, with no digit finer than its Monte Carlo error."""
    u = row["uplift_rel"]
    digits = decimals(100 * u.get("mc_error", 0.0))
    low, high, median = (signed(100 * u[key], digits) for key in ("hdi_low", "hdi_high", "median"))
    return f"{median}% [{low}, {high}]"


def signed(x: float, digits: int) -> str:
    """``x`` with its sign, to ``digits`` decimals; one that rounds to zero is 0, not -0 or +0."""
    shown = f"{x:+.{digits}f}"
    return shown[1:] if float(shown) == 0 else shown


def decimals(error: float, most: int = 2) -> int:
    """Decimal places whose last one is at least twice ``error``: no digit printed is noise."""
    if error <= 0:
        return most
    return int(min(max(np.floor(-np.log10(2 * error)), 0), most))


def how_long(found: "Verdict", simulated: bool, noun: str) -> str:
    """How many more ``noun`` (events; units, of a metric) should settle it."""
    needed, days = found["events_needed"], found["days_needed"]
    if needed is None:
        if not simulated:
            return ""
        return (
            f"No verdict is likely within {verdict.HORIZONS[-1]:g} times the {noun} so "
            "far: any difference is likely smaller than matters"
        )
    low, high = found["events_needed_range"]
    pace = f" (≈ {days:g} days at the current rate)" if days is not None else ""
    if high is None:
        spread = f" (a quarter within {low:,}; a quarter not within {verdict.HORIZONS[-1]:g}x)"
    else:
        spread = f" (a quarter within {low:,}, three quarters within {high:,})"
    return (
        f"About {needed:,} more {noun}{pace} settle it in half of the futures drawn from "
        f"today's posterior{spread if low != high else ''}"
    )
