"""A posterior summary as a person reads it: a table, the decision, the diagnostics.

Compact enough for 80 columns: each cell holds an estimate with its HDI, and a column only
appears when some group has that field.
"""

import sys

from rich import box
from rich.console import Console
from rich.table import Table


def number(x: float) -> str:
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(x) >= limit:
            return f"{x / limit:.3g}{suffix}"
    return f"{x:.3g}"


def with_hdi(mean: float, low: float, high: float, show) -> str:
    # A unit such as % is said once, after the estimate.
    unit = "%" if show(mean).endswith("%") else ""
    bare = [show(x).removesuffix(unit) for x in (mean, low, high)]
    return f"{bare[0]}{unit} [{bare[1]}, {bare[2]}]"


def interval(field: str, show):
    return lambda g: with_hdi(g[field]["mean"], g[field]["hdi_low"], g[field]["hdi_high"], show)


def share(x: float) -> str:
    from vibes_core.posterior import percent

    return percent(x)


# (title, field that must be present, cell)
COLUMNS = [
    ("n", "trials", lambda g: f"{number(g['successes'])}/{number(g['trials'])}"),
    ("events/exp.", "events", lambda g: f"{number(g['events'])}/{number(g['exposure'])}"),
    ("P(best)", "p_best", lambda g: share(g["p_best"])),
    ("loss", "expected_loss", lambda g: f"{100 * g['expected_loss']:.2g}pp"),
    ("uplift", "uplift_rel", interval("uplift_rel", lambda x: f"{x:+.1%}")),
    ("rate ratio", "rate_ratio", interval("rate_ratio", number)),
    ("P(>t)", "p_above_threshold", lambda g: share(g["p_above_threshold"])),
    ("next", "allocation", lambda g: f"{g['allocation']:.0%}"),
]


def summary_table(summary: dict) -> tuple[list[str], list[list[str]], str | None]:
    """Headers, one row of cells per group, and what a * after a group's name means."""
    show = number if summary["type"] == "poisson-cohorts" else (lambda x: f"{100 * x:.3g}%")
    groups = summary["groups"]
    columns = [c for c in COLUMNS if any(c[1] in g for g in groups)]
    rows = [
        [g["name"] + ("*" if g.get("control") or g.get("reference") else ""),
         with_hdi(g["mean"], g["hdi_low"], g["hdi_high"], show),
         *(cell(g) if field in g else "" for _, field, cell in columns)]
        for g in groups
    ]  # fmt: skip
    marked = [role for role in ("control", "reference") if any(g.get(role) for g in groups)]
    return (
        ["group", "mean [HDI]", *(title for title, *_ in columns)],
        rows,
        next(iter(marked), None),
    )


def print_summary(summary: dict, console: Console | None = None) -> None:
    console = console or Console(file=sys.stdout, highlight=False)
    headers, rows, marked = summary_table(summary)
    table = Table(title=f"{summary['experiment']} ({summary['type']})", title_justify="left",
                  box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), pad_edge=False)  # fmt: skip
    table.add_column(headers[0], no_wrap=True, min_width=max(len(row[0]) for row in rows))
    for title in headers[1:]:
        table.add_column(title, justify="right", no_wrap=title not in ("uplift", "rate ratio"))
    for row in rows:
        table.add_row(*row)
    console.print(table)
    if marked:
        console.print(f"* {marked}", style="dim")
    console.print(summary["decision"], style="bold")
    console.print(footer(summary), style="dim")


def footer(summary: dict) -> str:
    where = f"snapshot {summary['snapshot']}"
    d = summary["diagnostics"]
    if d is None:
        return f"exact conjugate posterior, {where}"
    source = "from the cache" if summary["cached"] else f"fitted in {d['seconds']:.1f} s"
    return (
        f"{d['sampler']}, {d['chains']}x{d['draws']} draws: r_hat {known(d['max_r_hat'], '.3f')}, "
        f"ESS {known(d['min_ess_bulk'], '.0f')} bulk / {known(d['min_ess_tail'], '.0f')} tail, "
        f"{d['divergences']} divergences; {source}, {where}"
    )


def known(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)
