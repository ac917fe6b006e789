"""Breakdowns by a segment column (``vibes posterior NAME --by segment``): in each segment,
every group's estimate and uplift over the control, each treated group's effect partially
pooled across segments (``ExperimentType.segmented_model``); overall, each group's quantity
averaged over the segments weighted by their traffic (every group's events in the segment),
so that the overall answer is the experiment's, not a segment's.

Events without a value of the column are a segment of their own, named None ("(none)")."""

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from vibes_core.capabilities import MAX_SEGMENTS
from vibes_core.errors import InvalidOption, VibesError, option
from vibes_core.posterior import Draws, describe, intervals
from vibes_core.stats import Cells, Stats, label
from vibes_core.summary import control_index, relative_intervals
from vibes_core.text import printable

if TYPE_CHECKING:
    from vibes_core.schema import (
        Findings,
        ForestPlot,
        ForestRow,
        GroupRow,
        Hyperparameter,
        Ratio,
        Segment,
    )

SAMPLING_SHARE = 0.9  # of a breakdown's progress: sampling; the segments' summaries, the rest


def cells_of(kind, rows: list[dict], groups: list[str], control: str | None, by: str) -> Cells:
    """``catalog.segment_stats`` rows as cells, groups in the order of ``groups`` (every
    group of the experiment), segments the largest first (the one named None last); at most
    MAX_SEGMENTS of them."""
    count = len({row["segment"] for row in rows})
    if count > MAX_SEGMENTS:
        raise InvalidOption(
            f"{option('by')} {printable(by)} has {count:,} values, and a breakdown takes at most "
            f"{MAX_SEGMENTS:,} segments: merge the rare ones into one (e.g. other) in the data, "
            "or break down by a column with fewer values"
        )
    flat = kind.stats(rows)  # each value checked, one per row
    traffic: dict[str | None, float] = {}
    for row, size in zip(rows, flat[kind.size], strict=True):
        traffic[row["segment"]] = traffic.get(row["segment"], 0.0) + size
    segments = sorted(traffic, key=lambda s: (s is None, -traffic[s], s or ""))
    shape = (len(groups), len(segments))
    group_at = {name: i for i, name in enumerate(groups)}
    segment_at = {segment: j for j, segment in enumerate(segments)}
    where = (
        [group_at[name] for name in flat.names],
        [segment_at[row["segment"]] for row in rows],
    )
    grid = {}
    for name, values in flat.values.items():
        grid[name] = np.zeros(shape)
        grid[name][where] = values
    if len(groups) < 2:
        raise VibesError(
            f"a breakdown compares {kind.group_column}s within each segment, and there is one: "
            f"leave out {option('by')}"
        )
    return Cells(Stats(groups, grid), segments, control_index(kind, groups, control))


@dataclass(frozen=True)
class SegmentDraws:
    """A segmented fit's draws: the quantity and its parts, each (chain, draw, group,
    segment), and each hyperparameter (chain, draw, treated group)."""

    quantity: np.ndarray
    parts: dict[str, np.ndarray]
    hyper: dict[str, np.ndarray]

    @classmethod
    def of(cls, kind, posterior) -> "SegmentDraws":
        variables = {name: posterior[name].values for name in posterior.data_vars}
        quantity, parts = kind.quantity_draws(variables)
        hyper = {f.name: variables[f.name] for f in kind.segment_hyperparameters}
        return cls(quantity, parts, hyper)

    def flat(self, values: np.ndarray) -> np.ndarray:
        return values.reshape(-1, *values.shape[2:])


def summarize(
    kind,
    draws: SegmentDraws,
    cells: Cells,
    options: dict,
    model,
    progress: Callable[[float], None] | None = None,
) -> "Findings":
    """The overall summary (the keys of an unsegmented one, from the traffic-weighted mix of
    the segments), the hyperparameters per treated group, and per segment its groups, their
    uplift beside the segment's own (its data alone), its verdict and its sentence.
    ``progress``: given the fraction of segments summarized, after each."""
    by = model.by
    summary = kind.summarize(overall(kind, draws, cells), cells.totals(), options, model)
    summary["by"] = by
    summary["hyperparameters"] = hyperparameters(kind, draws, cells, options["hdi_prob"])
    summary["segments"] = []
    shares = cells.shares(kind)
    for j, share in enumerate(shares):
        summary["segments"].append(segment_summary(kind, draws, cells, j, share, options, model))
        if progress is not None:
            progress((j + 1) / len(shares))
    summary["decision"] += ". " + by_segment(summary, kind.group_column, by)
    return summary


def stages(kind, progress: bool | Callable[[float], None], cells: Cells, by: str) -> tuple:
    """A breakdown's ``progress`` (as inference.posterior takes it) for its two slow stages:
    sampling, then each segment's summary. A function is given the fraction of the whole
    (sampling its first SAMPLING_SHARE); True, for a terminal, says on stderr what comes, then
    PyMC shows its bar, then the segments summarized are counted."""
    if callable(progress):

        def summarizing(done: float) -> None:
            progress(SAMPLING_SHARE + (1 - SAMPLING_SHARE) * done)

        return (lambda done: progress(SAMPLING_SHARE * done)), summarizing
    if not progress:
        return False, None
    count = len(cells.segments)
    size = f"{len(cells.groups)} {kind.group_column}s x {count} segments by {printable(by)}"
    print(f"vibes: a breakdown of {size}: compiling the model, then sampling", file=sys.stderr)

    def counted(done: float) -> None:
        end = "\n" if done >= 1 else ""
        shown = f"\rvibes: summarized {round(done * count)} of {count} segments"
        print(shown, end=end, file=sys.stderr, flush=True)

    return True, counted


def overall(kind, draws: SegmentDraws, cells: Cells) -> Draws:
    """Each group's quantity over the whole experiment: the segments mixed by their traffic."""
    from vibes_core.diagnostics import mcse_mean

    quantity, parts = kind.mix(draws.quantity, draws.parts, cells.shares(kind))
    mcse = mcse_mean(quantity)
    return Draws(
        cells.groups,
        draws.flat(quantity),
        mcse=mcse,
        parts={k: draws.flat(v) for k, v in parts.items()},
    )


def segment_summary(
    kind, draws: SegmentDraws, cells: Cells, j: int, share, options: dict, model
) -> "Segment":
    prob, stats = options["hdi_prob"], cells.segment(j)
    estimate = Draws(
        cells.groups,
        draws.flat(draws.quantity[..., j]),
        parts={k: draws.flat(v[..., j]) for k, v in draws.parts.items()},
    )
    found = kind.summarize(estimate, stats, options, model)
    own = kind.exact(stats, kind.prior(None, stats))  # the segment's data alone
    own_uplift = relative_uplifts(kind, own, cells.control, prob)
    for i, (row, alone) in enumerate(zip(found["groups"], describe(own, prob), strict=True)):
        row["unpooled"] = {key: alone[key] for key in ("mean", "hdi_low", "hdi_high")}
        if i in own_uplift:
            row["unpooled_uplift_rel"] = own_uplift[i]
    return {
        "segment": cells.segments[j],
        "share": float(share),
        "groups": found["groups"],
        "verdict": found["verdict"],
        "decision": found["decision"],
        "warnings": found["warnings"],
    }


def relative_uplifts(kind, estimate, c: int, prob: float) -> dict[int, "Ratio"]:
    """Each other group's relative uplift over group ``c``, as summary.uplifts computes it,
    without the absolute uplift and P(beats) that a segment's own estimate does not show:
    computing them took 45% of each segment's summary."""
    draws = estimate.draws()
    others = [i for i in range(len(estimate.names)) if i != c]
    with np.errstate(all="ignore"):  # a 0 draw of the control: named by intervals()
        relative = (draws[:, others] - draws[:, [c]]) / draws[:, [c]]
    found = relative_intervals(kind, relative, estimate.names, c, prob)
    return dict(zip(others, found, strict=True))


def hyperparameters(kind, draws: SegmentDraws, cells: Cells, prob: float) -> list["Hyperparameter"]:
    """Each treated group's overall effect and its spread across segments (link scale)."""
    treated = [name for i, name in enumerate(cells.groups) if i != cells.control]
    found = []
    for field in kind.segment_hyperparameters:
        values = draws.flat(draws.hyper[field.name])
        rows = intervals(values, prob, [f"{field.name} of {name}" for name in treated])
        found += [
            {"name": field.name, "group": name, "meaning": field.meaning, **row}
            for name, row in zip(treated, rows, strict=True)
        ]
    return found


def by_segment(summary: "Findings", noun: str, by: str) -> str:
    """The segments' verdicts in one sentence: which choose what, which keep running."""
    said: dict[str, list[str]] = {}
    for segment in summary["segments"]:
        verdict, name = segment["verdict"], segment["segment"]
        words = verdict["action"].replace("-", " ")  # keep running, no difference
        action = f"choose {verdict['choice']}" if verdict["choice"] else words
        said.setdefault(action, []).append(label(name))
    total = len(summary["segments"])
    if len(said) == 1:
        [action] = said
        return f"By {by} (each {noun}'s effect pooled across them): {action} in all {total}"
    parts = [
        f"{action} in {len(names)} of {total} ({', '.join(names[:MAX_NAMED])}"
        + (f", +{len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else "")
        + ")"
        for action, names in said.items()
    ]
    return f"By {by} (each {noun}'s effect pooled across them): " + "; ".join(parts)


MAX_NAMED = 4  # segments named per verdict in the sentence; the table has all


def plots(kind, summary: "Findings", options: dict) -> list["ForestPlot"]:
    """A forest plot per treated group: its relative uplift over the control overall, then in
    each segment (its own, the segment's data alone, beside), in the order of the summary's
    segments (the largest share first), which the breakdown's table has too."""
    from vibes_core.plots import forest_spec

    control, specs = summary["control"], []
    for group in summary["groups"]:
        if group["control"]:
            continue
        rows = []
        for segment in summary["segments"]:
            name = label(segment["segment"])
            row = next(g for g in segment["groups"] if g["name"] == group["name"])
            rows.append(uplift_row(name, row, row["unpooled_uplift_rel"]))
        rows.insert(0, uplift_row("overall", group, None))
        title = f"uplift of {group['name']} over {control} per {summary['by']}, pooled (own beside)"
        axis = f"({group['name']} - {control}) / {control}"
        prob = options["hdi_prob"]
        specs.append(forest_spec(title, axis, prob, rows, percent=True, reference=0.0))
    return specs


def uplift_row(name: str, group: "GroupRow", own: "Ratio | None") -> "ForestRow":
    uplift = group["uplift_rel"]
    return {
        "name": name,
        "mean": uplift["median"],
        "hdi": [uplift["hdi_low"], uplift["hdi_high"]],
        "unpooled": None
        if own is None
        else {"mean": own["median"], "hdi": [own["hdi_low"], own["hdi_high"]]},
    }
