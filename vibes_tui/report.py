"""A posterior summary as a person reads it: a table, the decision, the diagnostics.

Compact enough for 80 columns: each cell holds an estimate with its HDI, a column only
appears when some group has that field, and every number is written by its unit
(vibes_core.units). Names are data: each string is printed as it is (a Rich ``Text``, never
markup), control characters as their escapes.
"""

import re
import sys

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vibes_core.schema import GroupRow, MetricSummary, Scorecard, Summary, Verdict, segments_of
from vibes_core.summary import relative_words
from vibes_core.text import printable
from vibes_core.types import summary_type
from vibes_core.units import hdi, number, percent, seconds


def cell(value, shown_in, brief: bool = False) -> str:
    """A number, or an interval ({mean or median, hdi_low, hdi_high}) in a unit."""
    if isinstance(value, dict):
        center = value.get("mean", value.get("median"))
        if brief:
            return shown_in.show(center)
        return shown_in.interval(center, value["hdi_low"], value["hdi_high"])
    return shown_in.show(value)


def summary_table(summary: Summary) -> tuple[list[str], list[list[str]], str | None]:
    """Headers, one row of cells per group, and what a * after a group's name means."""
    kind = summary_type(summary)
    quantity = kind.unit
    groups = summary["groups"]
    title, numerator, denominator = kind.counts
    columns = [(title, lambda g: f"{number(g[numerator])}/{number(g[denominator])}")]
    if len(groups) > 1:
        columns += [
            ("P(best)", lambda g: "-" if g["p_best"] is None else percent(g["p_best"])),
            (
                "loss",
                lambda g: (
                    "-"
                    if g["expected_loss"] is None
                    else quantity.difference(g["expected_loss"], brief=True)
                ),
            ),
        ]
    if any("unpooled" in g for g in groups):  # beside the pooled mean: the shrinkage
        columns.append(("own", lambda g: quantity.show(g["unpooled"]["mean"])))
    if any("uplift_rel" in g for g in groups):
        columns.append(("uplift", lambda g: uplift(g) if "uplift_rel" in g else ""))
    if any("default_uplift_rel" in g for g in groups):  # beside the learned prior's: shrinkage
        columns.append(("default prior", default_uplift))
    for field in kind.fields:
        if field.per_group and field.column and any(field.name in g for g in groups):
            columns.append((field.column, own(field)))
    columns = [column for column in columns if column[0] not in kind.table_hides]
    rows = [
        [
            g["name"] + ("*" if g["control"] else ""),
            quantity.interval(g["mean"], g["hdi_low"], g["hdi_high"]),
            *(show(g) for _, show in columns),
        ]
        for g in groups
    ]
    marked = kind.baseline if summary["control"] is not None else None
    estimate = f"mean [{hdi(summary['hdi_prob'])}]"
    return ["group", estimate, *(title for title, _ in columns)], rows, marked


def uplift(group: GroupRow) -> str:
    """The relative uplift: +12.3% [+2.1, +25.0] (the HDI in percent too), no digit finer
    than its Monte Carlo error."""
    return relative_words(group)


def default_uplift(group: GroupRow) -> str:
    """The relative uplift under the type's default prior, beside a learned prior's."""
    if "default_uplift_rel" not in group:
        return ""
    return relative_words({"uplift_rel": group["default_uplift_rel"]})


def own(field):
    def show(group: GroupRow) -> str:
        return cell(group[field.name], field.unit, field.brief) if field.name in group else ""

    return show


NAME_WIDTH = 24  # at most, of the group column when the terminal is narrow
# Long intervals fold rather than squeeze the numbers.
WRAPPED = ("uplift", "default prior", "rate ratio")


def shown(value: str, style: str = "") -> Text:
    return Text(printable(value), style=style)


def print_summary(summary: Summary, console: Console | None = None) -> None:
    console = console or Console(file=sys.stdout, highlight=False, markup=False)
    if is_scorecard(summary):
        return print_scorecard(summary, console)
    headers, rows, marked = summary_table(summary)
    cells = [[shown(text) for text in row] for row in rows]
    table = Table(
        title=shown(f"{summary['experiment']} ({model_name(summary)})"),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1, 0, 0),
        pad_edge=False,
    )
    # Names whole when there is room; a very long one folds rather than squeezing the numbers.
    longest = max(row[0].cell_len for row in cells)
    table.add_column(headers[0], min_width=min(longest, NAME_WIDTH), overflow="fold")
    for title in headers[1:]:
        table.add_column(title, justify="right", no_wrap=title not in WRAPPED)
    for row in cells:
        table.add_row(*row)
    console.print(table)
    if marked:
        console.print(shown(f"* {marked}", "dim"))
    for note in summary_type(summary).notes(summary):
        console.print(shown(note, "dim"))
    if segments_of(summary) is not None:
        console.print(shown(spreads(summary), "dim"))
        console.print(segments_table(summary))
    elif summary.get("hyperparameters"):
        console.print(shown(hyperparameters(summary), "dim"))
    if summary.get("learned_prior"):
        console.print(shown(learned_words(summary["learned_prior"]), "dim"))
    console.print(shown(summary["decision"], "bold"))
    console.print(shown(footer(summary), "dim"))


def learned_words(learned: dict) -> str:
    """The learned prior an answer was given under, in words."""
    from vibes_core.effects import EffectPrior

    prior = EffectPrior(learned["pi"], learned["mu"], learned["tau"], learned["tail"])
    return (
        f"uplift under the prior learned from {learned['experiments']} past experiments "
        f"(snapshot {learned['snapshot']}): {prior.words()}"
    )


def print_csv(summary: Summary, file=None) -> None:
    """One row per group (and per segment and group, with --by): every estimate as a plain
    number, uplifts as their median and HDI, the statistics by their names."""
    import csv

    if is_scorecard(summary):
        return print_scorecard_csv(summary, file)
    from vibes_core.stats import label

    statistics = [s.name for s in summary_type(summary).statistics]
    header = ["segment", "group", "control", "mean", "hdi_low", "hdi_high", "p_best"]
    header += ["expected_loss", "uplift_rel", "uplift_rel_low", "uplift_rel_high"]
    header += ["p_beats_control", *statistics]
    segments = segments_of(summary)
    writer = csv.writer(file or sys.stdout, lineterminator="\n")
    writer.writerow(header if segments is not None else header[1:])
    parts = [("", summary["groups"])]  # the whole experiment first
    for segment in segments or []:
        name = label(segment["segment"])
        parts.append((name, segment["groups"]))
    for segment, groups in parts:
        for g in groups:
            uplift = g.get("uplift_rel", {})
            row = [g["name"], g["control"], g["mean"], g["hdi_low"], g["hdi_high"]]
            row += [g["p_best"], g["expected_loss"]]
            row += [uplift.get(key) for key in ("median", "hdi_low", "hdi_high")]
            row += [g.get("p_beats_control"), *(g[name] for name in statistics)]
            cells = ["" if value is None else value for value in row]
            cells = [segment, *cells] if segments is not None else cells
            writer.writerow([inert(cell) if isinstance(cell, str) else cell for cell in cells])


# What makes a spreadsheet read a cell as a formula (=HYPERLINK(...), -2+3, @SUM(...)): OWASP's
# list of first characters, and a space before one, which some spreadsheets skip.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def inert(text: str) -> str:
    """A text cell (a name) that a spreadsheet shows as it is: one that would start a formula
    gets a leading ' (OWASP's advice), which spreadsheets take as "this is text". Numbers are
    never passed here: they stay numbers, negative ones included."""
    return "'" + text if text.lstrip(" ").startswith(FORMULA_STARTS) else text


def print_markdown(summary: Summary, file=None) -> None:
    """The table as a person reads it, as a Markdown table, then the decision and the
    footer: ready to paste into a pull request or a chat. All text is escaped (``markdown``):
    names render as they read, never as links, HTML, emphasis or blocks."""
    headers, rows, marked = (
        (*scorecard_table(summary), None) if is_scorecard(summary) else summary_table(summary)
    )

    def line(cells) -> str:
        return "| " + " | ".join(markdown(c) for c in cells) + " |"

    title = f"**{markdown(summary['experiment'])}** ({markdown(title_of(summary))})"
    out = [title, "", line(headers), "|" + "---|" * len(headers), *map(line, rows), ""]
    if marked:
        out += [f"\\* {markdown(marked)}", ""]
    if is_scorecard(summary):
        from vibes_core.scorecard import adjusted_words

        if adjusted := adjusted_words(summary):
            out += [f"_{markdown(adjusted)}_", ""]
    decision = markdown(summary["decision"], line_start=True)  # it may begin with a name
    out += [decision, "", f"_{markdown(footer(summary))}_"]
    print("\n".join(out), file=file or sys.stdout)


# What CommonMark and GitHub's Markdown read as syntax inside a line: emphasis, strikethrough,
# code, math, links and images, HTML tags and autolinks, entities, table cells; what links a
# bare address (a scheme's ":" before text, "." before a letter as in www.x or evil.com, "@"
# of an e-mail or a mention, "#" of an issue). A backslash before ASCII punctuation makes it
# text (CommonMark). "]", ">" and "(" mean nothing once "[" and "<" are escaped.
INLINE = r"[\\`*_~\[|@#$]|<(?=[A-Za-z/!?])|&(?=[#A-Za-z])|:(?=\S)|\.(?=[^\W\d_])"
MARKDOWN = re.compile(INLINE)
# At the start of a line, also what starts a block: a quote, a list item, a heading's underline.
MARKDOWN_LINE = re.compile(rf"{INLINE}|^[ ]*(?:[->+=]|\d+(?=[.)]))")


def markdown(text: str, line_start: bool = False) -> str:
    """``text`` (control characters as their escapes) as Markdown that renders as it reads,
    inside a line or, with ``line_start``, at its start."""

    def escaped(found: re.Match) -> str:
        syntax = found.group()
        if syntax[-1].isdigit():  # "1." or "1)" would start a numbered list: escape the "."
            return syntax + "\\"
        return syntax[:-1] + "\\" + syntax[-1]  # leading spaces kept

    return (MARKDOWN_LINE if line_start else MARKDOWN).sub(escaped, printable(text))


def formatted(summary: Summary, shown: str) -> str:
    """What `vibes posterior --format SHOWN` prints for ``summary``, as one string: json (strict,
    as cli.emit writes it), csv or markdown. A file written from it equals the command's stdout."""
    if shown == "json":
        import json

        return json.dumps(summary, indent=2, default=str, allow_nan=False) + "\n"
    import io

    out = io.StringIO()
    {"csv": print_csv, "markdown": print_markdown}[shown](summary, out)
    return out.getvalue()


def title_of(summary) -> str:
    """What a table's title says beside the experiment's name."""
    return "scorecard" if is_scorecard(summary) else model_name(summary)


def model_name(summary: Summary) -> str:
    """The type, its likelihood when not the default and its model when not the plain one:
    "revenue", "revenue, unit mean", "ab-test, pooled", "revenue, by segment"."""
    from vibes_core.models import of_summary

    title = of_summary(summary).title()
    named = summary_type(summary).titled()
    return f"{named}, {title}" if title else named


def segment_rows(summary: Summary) -> tuple[list[str], list[list[str]]]:
    """The breakdown as a table, for the CLI and the dashboard alike: one row per segment and
    treated group, in the summary's order of segments (the largest share first, as the forest
    plots draw them): its uplift over the control (each group's effect pooled across
    segments), the segment's own (its data alone), P(beats the control) and its verdict."""
    from vibes_core.stats import label

    kind = summary_type(summary)
    headers = [summary["by"], "share", kind.group_column, f"uplift [{hdi(summary['hdi_prob'])}]"]
    headers += ["own", f"P(>{summary['control']})"[:12], "verdict"]
    rows = []
    for segment in segments_of(summary) or []:
        name = label(segment["segment"])
        treated = [group for group in segment["groups"] if not group["control"]]
        for i, group in enumerate(treated):
            rows.append(
                [
                    name if i == 0 else "",
                    percent(segment["share"]) if i == 0 else "",
                    group["name"],
                    uplift(group),
                    f"{100 * group['unpooled_uplift_rel']['median']:+.0f}%",
                    percent(group["p_beats_control"]),
                    verdict_words(segment["verdict"]) if i == 0 else "",
                ]
            )
    return headers, rows


def segments_table(summary: Summary) -> Table:
    """The breakdown's rows (segment_rows) as a Rich table for the terminal."""
    headers, rows = segment_rows(summary)
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), pad_edge=False)
    table.add_column(headers[0], max_width=NAME_WIDTH, overflow="fold")
    table.add_column(headers[1], justify="right")
    table.add_column(headers[2], max_width=16, overflow="fold")
    for i, title in enumerate(headers[3:6]):
        table.add_column(title, justify="right", no_wrap=i != 0)
    table.add_column(headers[6], overflow="fold")
    for row in rows:
        table.add_row(*map(shown, row))
    return table


def verdict_conditions(summary: Summary, max_loss: float | None = None) -> str | None:
    """The verdict's two conditions for choosing the leader, each with where it stands: its
    expected loss (as a share of the baseline's mean) against the max-loss, and the evidence
    of a difference (a Bayes factor) against the one needed, each met unless the verdict's
    ``missing`` names it. ``max_loss``: the one to show (the saved option; None: the
    default). None when there is nothing to choose between."""
    from vibes_core import verdict as rule

    found = summary["verdict"]
    ranked = [g for g in summary["groups"] if g["p_best"] is not None]
    if len(ranked) < 2 or found["action"] == rule.NO_DIFFERENCE:
        return None
    leader = max(ranked, key=lambda g: g["p_best"])
    base = next((g for g in summary["groups"] if g["control"]), leader)
    missing = found["missing"]
    parts = []
    limit = max_loss if max_loss is not None else rule.MAX_LOSS
    loss = leader["expected_loss"]
    if loss is not None and base["mean"]:
        share = loss / abs(base["mean"])
        met = rule.LOSS not in missing
        said = f"loss {rule.share_of(share)} of {base['name']} (≤ {100 * limit:.3g}%"
        parts.append(f"{said}: {'met' if met else 'missing'})")
    evidence = found["bayes_factor"]
    if evidence is not None:
        met = rule.EVIDENT not in missing
        said = f"evidence {evidence:.2g} to 1 (≥ {rule.EVIDENCE:g}"  # as the sentence says it
        parts.append(f"{said}: {'met' if met else 'missing'})")
    return f"to choose {leader['name']}: " + ", ".join(parts) if parts else None


def verdict_words(verdict: Verdict) -> str:
    if verdict["choice"] is not None:
        return f"choose {verdict['choice']}"
    return verdict["action"].replace("-", " ")


def spreads(summary: Summary) -> str:
    """Each treated group's effect and its spread across segments, on the model's scale."""
    by_group: dict[str, list[str]] = {}
    rows = hyperparameter_rows(summary)
    for h, (_, value, _) in zip(summary["hyperparameters"], rows, strict=True):
        by_group.setdefault(h["group"], []).append(f"{h['name']} {value}")
    said = "; ".join(f"{group}: {', '.join(values)}" for group, values in by_group.items())
    return f"pooled across {summary['by']}s (own: each {summary['by']} alone): {said}"


def hyperparameters(summary: Summary) -> str:
    """A pooled fit's population in one line, each in its unit: mu, tau, the typical group."""
    shown = [f"{name} {value}" for name, value, _ in hyperparameter_rows(summary)]
    return "pooled over groups (own: each one alone): " + ", ".join(shown)


def hyperparameter_rows(summary: Summary) -> list[tuple[str, str, str]]:
    """A pooled or segmented fit's hyperparameters: name (with the group it is of, if any),
    estimate and HDI in its unit, and meaning."""
    from vibes_core.models import of_summary

    fields = of_summary(summary).hyperparameter_fields(summary_type(summary))
    units = {f.name: f.unit for f in fields}
    return [
        (
            f"{h['name']}[{h['group']}]" if "group" in h else h["name"],
            cell(h, units[h["name"]]),
            h["meaning"],
        )
        for h in summary.get("hyperparameters", [])
    ]


def footer(summary: Summary, where: str | None = None) -> str:
    """How the posterior was found, in one line; ``where``: the words for the data it is of
    (by default "snapshot N", the lake's snapshot it was read at)."""
    where = f"snapshot {summary['snapshot']}" if where is None else where
    d = summary["diagnostics"]
    if d is None:
        return ", ".join(filter(None, ["exact posterior", where]))
    source = "from the cache" if summary["cached"] else f"fitted in {fit_seconds(summary)}"
    return (
        f"{d['sampler']}, {d['chains']}x{d['draws']} draws: r_hat {known(d['max_r_hat'], '.3f')}, "
        f"ESS {known(d['min_ess_bulk'], '.0f')} bulk / {known(d['min_ess_tail'], '.0f')} tail, "
        f"{d['divergences']} divergences; " + ", ".join(filter(None, [source, where]))
    )


def fit_seconds(summary: Summary) -> str:
    """How long the MCMC fit took, written once, one way (the footer, the diagnostics)."""
    return seconds(summary["diagnostics"]["seconds"])


def known(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


PLOT_COLOURS = ("blue+", "orange+", "green+", "red+", "magenta+", "cyan+")
PLOT_ROWS = 15  # a density's height on the terminal; a forest is as tall as its rows need


def print_plots(specs: list[dict], width: int, colour: bool, file=None) -> None:
    """Each plot spec drawn with plotext, ``width`` columns wide, the terminal's own colours
    behind the series."""
    import plotext as plt

    from vibes_tui.drawing import Pen, draw, height, printable_strings
    from vibes_tui.terminal import plain_terminal

    braille = not plain_terminal()
    pen = Pen(PLOT_COLOURS, braille, muted="gray") if colour else Pen(braille=braille)
    for spec in specs:
        spec = printable_strings(spec)
        draw(plt, spec, pen)
        plt.theme("clear")
        plt.plotsize(width, height(spec) or PLOT_ROWS)
        drawn = plt.build()
        print(drawn if colour else plt.uncolorize(drawn), file=file or sys.stdout)


# --- the scorecard of an experiment on units --------------------------------------------------
def is_scorecard(summary) -> bool:
    return "metrics" in summary


def metric_type(summary: "Scorecard", metric: "MetricSummary"):
    """The type object a scorecard's metric was analysed with (its unit, its direction)."""
    return summary_type({**summary, "metric": metric["name"], **metric})


SCORECARD_HEADERS = ["role", "metric", "variant", "control", "value", "uplift", "P(better)"]
SCORECARD_HEADERS += ["status"]


def scorecard_entries(summary: "Scorecard") -> list[tuple["MetricSummary", GroupRow]]:
    """The scorecard's rows as (metric, treated group), in the table's order: the CLI's table
    and the dashboard's rows are these, one each."""
    return [
        (metric, group)
        for metric in summary["metrics"]
        for group in metric["groups"]
        if not group["control"]
    ]


def scorecard_table(summary: "Scorecard") -> tuple[list[str], list[list[str]]]:
    """A row per metric and treated variant (scorecard_entries): role, metric, the variant,
    the control's and its means, its relative uplift with the HDI, P(better) and where it
    stands."""
    rows = []
    for metric, group in scorecard_entries(summary):
        unit = metric_type(summary, metric).unit
        control = next((g for g in metric["groups"] if g["control"]), None)
        role = metric["role"] + (f" {100 * metric['margin']:g}%" if metric["margin"] else "")
        name = metric["name"] + (" ↓" if metric["lower_is_better"] else "")
        rows.append(
            [
                role,
                name,
                group["name"],
                unit.show(control["mean"]) if control else "-",
                unit.show(group["mean"]),
                uplift(group) if "uplift_rel" in group else "-",
                percent(group["p_beats_control"]) if "p_beats_control" in group else "-",
                group.get("status", "-"),
            ]
        )
    return SCORECARD_HEADERS, rows


STATUS_STYLES = {"harmed": "red", "worse": "red", "better": "green", "within margin": "green"}


def print_scorecard(summary: "Scorecard", console: Console) -> None:
    headers, rows = scorecard_table(summary)
    treated = [name for name in summary["units"] if name != summary["control"]]
    compared = f"{treated[0]} vs {summary['control']}" if len(treated) == 1 else "scorecard"
    if len(treated) == 1:  # the title says which: room for the numbers
        headers, rows = [h for h in headers if h != "variant"], [r[:2] + r[3:] for r in rows]
    table = Table(
        title=shown(f"{summary['experiment']} ({compared})"),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1, 0, 0),
        pad_edge=False,
    )
    for title in headers:
        numbers = title in ("control", "value", "P(better)")
        table.add_column(
            title,
            justify="right" if numbers else "left",
            overflow="fold",
            no_wrap=title in ("role", "uplift", "P(better)", "status"),
        )
    for row in rows:
        table.add_row(
            *(shown(text) for text in row[:-1]), shown(row[-1], STATUS_STYLES.get(row[-1], ""))
        )
    console.print(table)
    units = ", ".join(f"{name} {n:,}" for name, n in summary["units"].items())
    console.print(
        shown("↓ lower is better; uplifts relative to the control, HDIs in brackets", "dim")
    )
    console.print(shown(f"units: {units}; {summary['excluded_units']:,} left out", "dim"))
    from vibes_core.scorecard import adjusted_words

    if adjusted := adjusted_words(summary):
        console.print(shown(adjusted, "dim"))
    console.print(shown(summary["decision"], "bold"))
    console.print(shown(footer(summary), "dim"))


def print_scorecard_csv(summary: "Scorecard", file=None) -> None:
    """One row per metric and group, every estimate a plain number."""
    import csv

    header = ["metric", "role", "kind", "group", "control", "mean", "hdi_low", "hdi_high"]
    header += ["uplift_rel", "uplift_rel_low", "uplift_rel_high", "p_beats_control", "p_harm"]
    header += ["status"]
    writer = csv.writer(file or sys.stdout, lineterminator="\n")
    writer.writerow(header)
    for metric in summary["metrics"]:
        for g in metric["groups"]:
            rel = g.get("uplift_rel") or {}
            writer.writerow(
                [
                    inert(metric["name"]),
                    metric["role"],
                    metric["kind"],
                    inert(g["name"]),
                    g["control"],
                    g["mean"],
                    g["hdi_low"],
                    g["hdi_high"],
                    rel.get("median", ""),
                    rel.get("hdi_low", ""),
                    rel.get("hdi_high", ""),
                    g.get("p_beats_control", ""),
                    g.get("p_harm", ""),
                    g.get("status", ""),
                ]
            )


# --- a plan of the next experiment (vibes_core.plan) ------------------------------------------
PLAN_DAYS = (7, 14, 28, 56, 91)  # the curve's days the table shows (those within its horizon)


def plan_lines(answer: dict, unit) -> tuple[str, list[list[str]], list[str]]:
    """A plan as a person reads it: a title, rows (how, units per variant, days) and notes
    under them. ``unit``: the quantity's (vibes_core.units)."""
    mde, power = answer["mde"], answer["power"]
    sign = 1 if answer["higher_is_better"] else -1
    lifted = answer["baseline"] * (1 + sign * mde)
    where = {"experiment": "like ", "metric": "on the metric ", "numbers": ""}[answer["source"]]
    named = f"{where}{answer['name']}" if answer["name"] else "from numbers"
    title = (
        f"Plan {named} ({answer['type']}): {unit.show(answer['baseline'])} -> "
        f"{unit.show(lifted)} ({100 * sign * mde:+.3g}%), power {percent(power, 0)}"
    )
    frequentist, bayesian = answer["frequentist"], answer["bayesian"]
    rule = bayesian["rule"]
    rows = [
        [
            "z-test, analysed once",
            number(frequentist["units_per_variant"]),
            f"{frequentist['days']:,}",
        ],
        [
            "vibes' rule, daily looks"
            + (" (learned prior)" if bayesian["prior"] == "learned" else ""),
            "-" if bayesian["days"] is None else number(bayesian["units_per_variant"]),
            f"> {bayesian['horizon']:,}" if bayesian["days"] is None else f"{bayesian['days']:,}",
        ],
    ]
    split = " / ".join(f"{name} {100 * share:.3g}%" for name, share in answer["split"].items())
    notes = [
        f"z-test two-sided at {percent(answer['alpha'], 0)}; the rule: loss < "
        f"{100 * rule['max_loss']:.3g}%, evidence {rule['evidence']:g} to 1",
        f"{number(answer['units_per_day'])} units a day ({split}); baseline "
        f"{unit.show(answer['baseline'])}, sd of a unit {number(answer['sd'])}"
        + (
            f", CUPED removes {percent(answer['variance_reduction'], 0)} of its variance"
            if answer["variance_reduction"] > 0
            else ""
        ),
    ]
    by_day = days_said(bayesian["curve"], "p_choose")
    if by_day:
        notes.append(
            f"P(the rule chooses the better variant) by day {by_day} "
            f"({bayesian['futures']:,} simulated experiments)"
        )
    if "drawn" in bayesian:
        drawn, learned = bayesian["drawn"], answer["learned_prior"]
        notes.append(
            f"With effects drawn from the prior learned from {learned['experiments']} past "
            f"experiments (a treated variant better in {percent(drawn['p_better'], 0)} of "
            f"{drawn['futures']:,}): P(choose) by day {days_said(drawn['curve'], 'p_choose')}; "
            f"P(choose one no better) {days_said(drawn['curve'], 'p_choose_not_better')}"
        )
    return title, rows, notes


def days_said(curve: list[dict], key: str) -> str:
    """A curve's ``key`` on the days of PLAN_DAYS it reaches: "7: 3%, 14: 7%" (each day's, the
    last day judged by then)."""
    by_day = {
        day: next(point[key] for point in reversed(curve) if point["day"] <= day)
        for day in PLAN_DAYS
        if curve[0]["day"] <= day <= curve[-1]["day"]
    }
    return ", ".join(f"{day}: {percent(p, 0)}" for day, p in by_day.items())


def plan_renderables(answer: dict, unit) -> list:
    """The plan's title, its table and the notes under it, as Rich renderables (every string
    a ``Text``: names are data)."""
    title, rows, notes = plan_lines(answer, unit)
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), pad_edge=False)
    table.add_column("", no_wrap=True)
    table.add_column("per variant", justify="right")
    table.add_column("days", justify="right")
    for row in rows:
        table.add_row(*(shown(text) for text in row))
    return [shown(title), table, *(shown(note, "dim") for note in notes)]


def print_plan(answer: dict, unit, console: Console | None = None) -> None:
    console = console or Console(file=sys.stdout, highlight=False, markup=False)
    for renderable in plan_renderables(answer, unit):
        console.print(renderable)
