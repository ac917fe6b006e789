"""The summary every type shares, built from any posterior (exact or draws): per group the
mean and HDI of the type's quantity, P(best), expected loss, and the uplift over the control;
a decision in one sentence, in the quantity's unit. Types add their own fields (``extend``).
The keys are those of vibes_core.schema."""

from typing import TYPE_CHECKING

import numpy as np

from vibes_core.errors import VibesError
from vibes_core.posterior import Estimate, describe, intervals
from vibes_core.units import PROBABILITY, percent

if TYPE_CHECKING:
    from vibes_core.types.base import ExperimentType, Stats


def compare(kind: "ExperimentType", estimate: Estimate, stats: "Stats", options: dict) -> dict:
    prob, names = options["hdi_prob"], estimate.names
    rows = describe(estimate, prob)
    single = len(names) == 1
    p_best = np.ones(1) if single else estimate.p_best()
    loss = np.zeros(1) if single else estimate.expected_loss()
    compared = not single and "control" in kind.summary_options
    c = control_index(kind, names, options.get("control")) if compared else None
    for i, row in enumerate(rows):
        row.update(stats.row(i))
        row.update(p_best=float(p_best[i]), expected_loss=float(loss[i]), control=i == c)
    if c is not None:
        for i, uplift in uplifts(kind, estimate, c, prob).items():
            rows[i].update(uplift)
    summary = {
        "quantity": kind.quantity,
        "unit": kind.unit.name,
        "control": None if c is None else names[c],
        "groups": rows,
        "warnings": no_data_warnings(kind, stats),
    }
    if single and kind.group_column:
        summary["warnings"].append(
            f"only one {kind.group_column}: there is nothing to compare it with"
        )
    summary["decision"] = decide(kind, estimate, summary, prob)
    return summary


def control_index(kind: "ExperimentType", names: list[str], chosen: str | None) -> int:
    """Where the group the others are compared with is: the one chosen, else the first."""
    chosen = chosen or names[0]
    if chosen not in names:
        noun = kind.group_column
        raise VibesError(f"--control {chosen!r} is not a {noun}; {noun}s: {', '.join(names)}")
    return names.index(chosen)


def uplifts(kind: "ExperimentType", estimate: Estimate, c: int, prob: float) -> dict[int, dict]:
    """Each other group's absolute and relative uplift over group ``c``, and P(it beats c)."""
    names, draws = estimate.names, estimate.draws()
    others = [i for i in range(len(names)) if i != c]
    difference = draws[:, others] - draws[:, [c]]
    with np.errstate(all="ignore"):  # a 0 draw of the control: named by intervals()
        relative = difference / draws[:, [c]]
    absolute = intervals(difference, prob, [f"the uplift of {names[i]}" for i in others])
    relative = intervals(
        relative,
        prob,
        [f"the uplift of {names[i]} relative to the {kind.baseline} {names[c]}" for i in others],
    )
    beats = estimate.prob_beats(c)
    return {
        i: {
            "uplift_abs": absolute[k],
            "uplift_rel": relative[k],
            "p_beats_control": float(beats[i]),
        }
        for k, i in enumerate(others)
    }


def no_data_warnings(kind: "ExperimentType", stats: "Stats") -> list[str]:
    empty = stats[kind.size] == 0
    if not kind.group_column:
        return ["no events yet: the posterior is the prior"] if empty.all() else []
    return [
        f"{kind.group_column} {name} has no events yet: its posterior is the prior"
        for name, nothing in zip(stats.names, empty, strict=True)
        if nothing
    ]


def decide(kind: "ExperimentType", estimate: Estimate, summary: dict, prob: float) -> str:
    """One sentence: who leads, how sure that is, and what choosing it may cost; for one
    group, its estimate."""
    rows, unit = summary["groups"], kind.unit
    if len(rows) == 1:
        [row] = rows
        low, high = unit.show(row["hdi_low"]), unit.show(row["hdi_high"])
        estimate_words = f"{unit.show(row['mean'])} ({PROBABILITY.show(prob)} HDI {low} to {high})"
        if kind.group_column:
            return f"Only {row['name']} has data: its {kind.quantity} is {estimate_words}"
        return f"The {kind.quantity} is {estimate_words}"
    # A group with no events is only its prior: it cannot be the one to choose.
    candidates = [i for i, row in enumerate(rows) if row[kind.size]] or range(len(rows))
    leader = max(candidates, key=lambda i: rows[i]["p_best"])
    name = rows[leader]["name"]
    cost = f"expected loss of choosing {name}: {unit.difference(rows[leader]['expected_loss'])}"
    if len(rows) == 2:
        other = 1 - leader
        chance = estimate.prob_greater(leader, other)
        return f"{name} beats {rows[other]['name']} with {percent(chance)} probability; {cost}"
    return f"{name} {kind.leads} with {percent(rows[leader]['p_best'])} probability; {cost}"
