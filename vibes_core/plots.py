"""Plots of a posterior as plain data: the core decides what to draw, a UI only draws it.

Every function returns a spec, a JSON-ready dict of lists of floats (~150 points a series):

- ``{"kind": "density", "title", "xlabel", "hdi_prob", "percent", "reference",
  "series": [{"name", "x", "y", "hdi": [lo, hi], "mean" (or "median", of a ratio)}]}`` -
  posterior densities;
- ``{"kind": "bars", "title", "xlabel", "labels", "values"}`` - one bar per label;
- ``{"kind": "lines", "title", "xlabel", "ylabel", "reference",
  "series": [{"name", "x", "y"}]}`` - curves, with a horizontal line at ``reference`` (and
  optionally ``"ylim": [low, high]``, the x axis then spanning the points, and
  ``"ypercent"``: the y values are shares);
- ``{"kind": "forest", "title", "xlabel", "hdi_prob", "percent", "reference",
  "rows": [{"name", "mean", "hdi", "unpooled": {"mean", "hdi"}}]}`` - one row per group,
  sorted by mean (highest first; a breakdown's segments in the summary's order, the largest
  share first, as its table has them): the pooled estimate with its HDI and, beside it, the
  group's own.

``percent``: the x values are shares, shown as percentages on the axis; ``reference``: where
no difference lies on the x axis (0 for an uplift, 1 for a ratio; None for a quantity).
"""

import numpy as np

from vibes_core.posterior import ClosedForm, Draws, Estimate, interval

TAIL = 0.0005  # a density plot spans each series' central 99.9%
POINTS = 150  # per density plot, shared among its series
MIN_POINTS = 30  # per series, however many there are
KDE_BINS = 1000  # draws are binned before smoothing: cost grows with bins, not draws
RANK_BINS = 20
MAX_SERIES = 12  # per density plot; more groups: the highest means
FOREST_FROM = 7  # groups from which a forest plot (a row each) replaces overlaid densities
MAX_ROWS = 60  # per forest plot (two terminal lines a row): more groups, the highest


def densities(
    posterior: Estimate,
    prob: float,
    title: str = "posterior density",
    xlabel: str = "",
    percent: bool = False,
) -> dict:
    """Each group's posterior density with its HDI and mean: exact for a conjugate posterior,
    a kernel density estimate for draws."""
    means, hdis = posterior.mean(), posterior.hdi(prob)
    groups = shown(means)
    if isinstance(posterior, ClosedForm):
        # Half the points evenly spaced in probability, where each density has its mass; each
        # point's height the mass of the cell around it over the cell's width, so that a
        # density infinite at 0 (a rate without events, shape < 1) is drawn finite, and every
        # curve's area is its mass on the axis.
        half = max(POINTS // (2 * len(groups)), MIN_POINTS // 2)
        x = grid([posterior.quantile(i, np.array([TAIL, 1 - TAIL])) for i in groups], half)
        probabilities = np.linspace(TAIL, 1 - TAIL, half)
        x = np.unique(np.concatenate([x, *(posterior.quantile(i, probabilities) for i in groups)]))
        edges = np.concatenate([x[:1], (x[1:] + x[:-1]) / 2, x[-1:]])
        ys = [finite(np.diff(posterior.cdf(i, edges)) / np.diff(edges)) for i in groups]
    else:
        columns = [posterior.samples[:, i] for i in groups]
        x = grid([np.quantile(column, [TAIL, 1 - TAIL]) for column in columns])
        ys = [sample_density(column, x) for column in columns]
    series = [
        {
            "name": posterior.names[i],
            "x": x.tolist(),
            "y": y.tolist(),
            "hdi": list(hdis[i]),
            "mean": float(means[i]),
        }
        for i, y in zip(groups, ys, strict=True)
    ]
    return density_spec(of_many(title, len(groups), len(means)), xlabel, prob, series, percent)


def derived_densities(
    samples: dict[str, np.ndarray],
    prob: float,
    title: str,
    xlabel: str,
    reference: float,
    percent: bool = False,
) -> dict:
    """The density of ratios computed from draws (a relative uplift, a rate ratio), one per
    name, with the same median and HDI as ``posterior.interval`` gives for them (a ratio's
    mean need not exist); ``reference`` is the value of no difference."""
    names = list(samples)
    picked = [names[i] for i in shown(np.array([np.median(samples[name]) for name in names]))]
    x = grid([np.quantile(samples[name], [TAIL, 1 - TAIL]) for name in picked])
    series = []
    for name in picked:
        values = samples[name]
        summary = interval(values, prob, center="median")
        series.append(
            {
                "name": name,
                "x": x.tolist(),
                "y": sample_density(values, x).tolist(),
                "hdi": [summary["hdi_low"], summary["hdi_high"]],
                "median": summary["median"],
            }
        )
    title = of_many(title, len(picked), len(names))
    return density_spec(title, xlabel, prob, series, percent, reference)


def uplifts(estimate: Estimate, summary: dict, prob: float, noun: str) -> dict:
    """Each group's relative uplift over the control, with the same arithmetic as the
    summary's ``uplift_rel`` so that the HDIs agree to the last digit."""
    names, draws = estimate.names, estimate.draws()
    c = names.index(summary["control"])
    with np.errstate(all="ignore"):  # the summary refused those
        relative = {
            name: (draws[:, i] - draws[:, c]) / draws[:, c]
            for i, name in enumerate(names)
            if i != c
        }
    title, axis = f"relative uplift over {names[c]}", f"({noun} - {names[c]}) / {names[c]}"
    return derived_densities(relative, prob, title, axis, reference=0.0, percent=True)


def uplift_forest(estimate: Estimate, summary: dict, prob: float, noun: str) -> dict:
    """Each group's relative uplift over the control as a forest plot, highest first: the
    summary's own medians and HDIs."""
    control = summary["control"]
    rows = [
        {
            "name": group["name"],
            "mean": group["uplift_rel"]["median"],
            "hdi": [group["uplift_rel"]["hdi_low"], group["uplift_rel"]["hdi_high"]],
            "unpooled": None,
        }
        for group in summary["groups"]
        if "uplift_rel" in group
    ]
    rows.sort(key=lambda row: -row["mean"])
    axis = f"({noun} - {control}) / {control}"
    title = f"relative uplift over {control}, highest first"
    return forest_spec(title, axis, prob, rows, percent=True, reference=0.0)


def shown(means: np.ndarray) -> list[int]:
    """Which series a plot shows: all, or with many the MAX_SERIES highest means, in order (no
    one reads more curves in a terminal, and each costs its points)."""
    if len(means) <= MAX_SERIES:
        return list(range(len(means)))
    return sorted(np.argsort(-means, kind="stable")[:MAX_SERIES].tolist())


def of_many(title: str, shown: int, total: int) -> str:
    return title if shown == total else f"{title} (the {shown} highest of {total:,})"


def density_spec(
    title: str,
    xlabel: str,
    prob: float,
    series: list[dict],
    percent: bool = False,
    reference: float | None = None,
) -> dict:
    return {
        "kind": "density",
        "title": title,
        "xlabel": xlabel,
        "hdi_prob": prob,
        "percent": percent,
        "reference": reference,
        "series": series,
    }


def bars(title: str, labels: list[str], values: list[float], xlabel: str = "") -> dict:
    return {
        "kind": "bars",
        "title": title,
        "xlabel": xlabel,
        "labels": list(labels),
        "values": [float(v) for v in values],
    }


def traces(draws: Draws, chains: int) -> list[dict]:
    """One rank plot per group: where each chain's draws rank among all draws, in 20 bins,
    relative to an even spread. Chains that sample the same distribution all stay near 1; a
    chain stuck apart piles up at one end. Reads better than a trace at terminal resolution."""
    total = len(draws.samples)
    per_chain = total // chains
    edges = np.linspace(0, total, RANK_BINS + 1)
    centers = ((edges[:-1] + edges[1:]) / 2 / total).tolist()
    even = per_chain / RANK_BINS
    specs = []
    for g, name in enumerate(draws.names):
        ranks = np.argsort(np.argsort(draws.samples[:, g], kind="stable"))
        # The samples are chain-major: chain c holds rows c*per_chain to (c+1)*per_chain.
        per = ranks[: chains * per_chain].reshape(chains, per_chain)
        series = [
            {
                "name": f"chain {c}",
                "x": centers,
                "y": (np.histogram(chain, edges)[0] / even).tolist(),
            }
            for c, chain in enumerate(per)
        ]
        specs.append(
            {
                "kind": "lines",
                "title": f"rank plot of {name} (flat near 1 = chains agree)",
                "xlabel": "rank among all draws (fraction)",
                "ylabel": "draws / even share",
                "reference": 1.0,
                "series": series,
            }
        )
    return specs


def grid(ranges: list, each: int | None = None) -> np.ndarray:
    """One x axis for all series, its points spread over each series' own range: a narrow
    density next to wide ones still gets enough points to show its peak."""
    each = each or max(POINTS // len(ranges), MIN_POINTS)
    return np.unique(np.concatenate([np.linspace(low, high, each) for low, high in ranges]))


def sample_density(samples: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Gaussian kernel density estimate at ``x`` with Silverman's bandwidth, from the draws
    binned finely first (200,000 exact draws cost no more than 4,000 MCMC ones)."""
    q25, q75 = np.quantile(samples, [0.25, 0.75])
    spread = min(samples.std(), (q75 - q25) / 1.34) or samples.std()
    bandwidth = 0.9 * spread * len(samples) ** -0.2
    if not bandwidth > 0:  # every draw equal: no density to speak of
        return np.zeros_like(x)
    low, high = np.quantile(samples, [TAIL, 1 - TAIL])
    counts, edges = np.histogram(
        samples, KDE_BINS, range=(low - 4 * bandwidth, high + 4 * bandwidth)
    )
    centers = (edges[:-1] + edges[1:]) / 2
    kernel = np.exp(-0.5 * ((x[:, None] - centers[None, :]) / bandwidth) ** 2)
    return kernel @ counts / (len(samples) * bandwidth * np.sqrt(2 * np.pi))


def finite(values: np.ndarray) -> np.ndarray:
    """JSON has no inf or NaN (a density can be infinite at a boundary)."""
    return np.where(np.isfinite(values), values, 0.0)


def forest(summary: dict, prob: float, title: str, xlabel: str, percent: bool = False) -> dict:
    """A summary's groups, one row each, highest mean first (with a pooled fit's own estimate
    beside each), where densities would pile up."""
    rows = [
        {
            "name": group["name"],
            "mean": group["mean"],
            "hdi": [group["hdi_low"], group["hdi_high"]],
            "unpooled": {
                "mean": group["unpooled"]["mean"],
                "hdi": [group["unpooled"]["hdi_low"], group["unpooled"]["hdi_high"]],
            }
            if "unpooled" in group
            else None,
        }
        for group in sorted(summary["groups"], key=lambda group: -group["mean"])
    ]
    return forest_spec(title, xlabel, prob, rows, percent)


def forest_spec(
    title: str,
    xlabel: str,
    prob: float,
    rows: list[dict],
    percent: bool = False,
    reference: float | None = None,
) -> dict:
    """At most MAX_ROWS of ``rows`` (the first: they come highest first); the view scrolls."""
    shown = rows[:MAX_ROWS]
    return {
        "kind": "forest",
        "title": of_many(title, len(shown), len(rows)),
        "xlabel": xlabel,
        "hdi_prob": prob,
        "percent": percent,
        "reference": reference,
        "rows": shown,
    }
