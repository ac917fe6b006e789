"""A posterior summary as a person reads it: a table, the decision, the diagnostics.

Compact enough for 80 columns: each cell holds an estimate with its HDI, and a column only
appears when some group has that field. Names are data: each string is printed as it is (a
Rich ``Text``, never markup), control characters as their escapes.
"""

import sys

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vibes_core.text import printable


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


NAME_WIDTH = 24  # at most, of the group column when the terminal is narrow


def shown(value: str, style: str = "") -> Text:
    return Text(printable(value), style=style)


def print_summary(summary: dict, console: Console | None = None) -> None:
    console = console or Console(file=sys.stdout, highlight=False, markup=False)
    headers, rows, marked = summary_table(summary)
    cells = [[shown(cell) for cell in row] for row in rows]
    table = Table(title=shown(f"{summary['experiment']} ({summary['type']})"),
                  title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0),
                  pad_edge=False)  # fmt: skip
    # Names whole when there is room; a very long one folds rather than squeezing the numbers.
    longest = max(row[0].cell_len for row in cells)
    table.add_column(headers[0], min_width=min(longest, NAME_WIDTH), overflow="fold")
    for title in headers[1:]:
        table.add_column(title, justify="right", no_wrap=title not in ("uplift", "rate ratio"))
    for row in cells:
        table.add_row(*row)
    console.print(table)
    if marked:
        console.print(shown(f"* {marked}", "dim"))
    console.print(shown(summary["decision"], "bold"))
    console.print(shown(footer(summary), "dim"))


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
