"""Drawing one plot spec of vibes_core.plots (density, bars, lines or forest) with plotext.

The dashboard's PlotView and `vibes posterior --plot` both draw through here: ``plt`` is
textual-plotext's figure or the plotext module itself (the same methods), and a ``Pen`` says
how series are told apart on that terminal. No Textual here.
"""

import math
from dataclasses import dataclass

from vibes_core.text import printable
from vibes_core.units import tick_labels

TICKS = 5  # labels on an axis, about
MONO_MARKERS = ("•", "x", "+", "o", "*", "#", "~", "=")  # told apart without colour
MONO_FILLS = ("█", "░", "▒", "▓", "#", "=")  # the same, for bars
FOREST_LINES = 2  # terminal rows per group of a forest plot: the pooled and its own
FOREST_FRAME = 5  # and the title, the frame's two lines, the x ticks and the x label
VISIBLE = 0.005  # of a curve's peak: lower than that is drawn as the axis, not as the curve


@dataclass(frozen=True)
class Pen:
    """``colours``: plotext colours, one per series in turn (empty: no colour, a marker per
    series instead); ``braille``: whether the terminal's font has braille (the Linux console's
    has not); ``muted``: the colour of reference lines."""

    colours: tuple = ()
    braille: bool = True
    muted: object = "default"

    def colour(self, i: int):
        return self.colours[i % len(self.colours)] if self.colours else "default"

    def marker(self, i: int) -> str:
        if not self.colours:
            return MONO_MARKERS[i % len(MONO_MARKERS)]
        return "braille" if self.braille else "dot"

    def fill(self, i: int) -> str:
        return "sd" if self.colours else MONO_FILLS[i % len(MONO_FILLS)]

    @property
    def point(self) -> str:
        return "●" if self.braille else "o"


def draw(plt, spec: dict, pen: Pen) -> None:
    """``spec`` on ``plt``, in place of whatever it held."""
    plt.clear_figure()
    plt.title(spec.get("title", ""))
    plt.xlabel(spec.get("xlabel", ""))
    kinds = {"density": density, "bars": bars, "lines": lines, "forest": forest}
    kinds[spec["kind"]](plt, spec, pen)


def height(spec: dict) -> int | None:
    """Terminal rows a spec needs, when it is not the default: a forest's rows."""
    return len(spec["rows"]) * FOREST_LINES + FOREST_FRAME if spec["kind"] == "forest" else None


# --- one function per kind of spec --------------------------------------------------------


def density(plt, spec: dict, pen: Pen) -> None:
    """Each series a curve down to zero at both ends, its HDI marked by lines dropped from the
    curve at both ends; a reference line (0 for an uplift, 1 for a ratio) when near."""
    ends = []
    for i, series in enumerate(spec["series"]):
        x, y = visible(series["x"], series["y"])
        ends += [x[0], x[-1]]
        colour, marker = pen.colour(i), pen.marker(i)
        plt.plot(x, y, color=colour, marker=marker, label=series["name"])
        for end in series["hdi"]:
            plt.plot([end, end], [0, height_at(x, y, end)], color=colour, marker=marker)
    x_axis(plt, spec, min(ends), max(ends), pen)
    plt.ylim(0, None)
    plt.yticks([])  # density values mean little to a reader: the shape does


def bars(plt, spec: dict, pen: Pen) -> None:
    """Horizontal bars of fractions, on a 0-100% scale, each labelled with its share; or,
    with ``series`` ({"name", "values"} each), their counts stacked upright per label."""
    if "series" in spec:
        count, positions = len(spec["series"]), list(range(len(spec["labels"])))
        plt.stacked_bar(
            positions,
            [series["values"] for series in spec["series"]],
            labels=[series["name"] for series in spec["series"]],
            color=[pen.colour(i) for i in range(count)],
            marker=[pen.fill(i) for i in range(count)],
        )
        # Our own ticks: plotext's choice among text labels changes with the hash seed.
        shown = sorted({round(i * (len(positions) - 1) / (TICKS - 1)) for i in range(TICKS)})
        plt.xticks(shown, [spec["labels"][i] for i in shown])
        totals = [
            sum(values) for values in zip(*(s["values"] for s in spec["series"]), strict=True)
        ]
        y_axis(plt, 0.0, max(totals, default=0))
        return
    pairs = list(zip(spec["labels"], spec["values"], strict=True))[::-1]  # first on top
    labels = [f"{label} {100 * value:.0f}%" for label, value in pairs]
    values = [100 * value for _, value in pairs]
    plt.bar(labels, values, orientation="horizontal", width=0.4, marker="hd", color=pen.colour(0))
    plt.xlim(0, max([100.0, *values]))


def lines(plt, spec: dict, pen: Pen) -> None:
    reference = spec.get("reference")
    if reference is not None:
        plt.horizontal_line(reference, color=pen.muted)
    for i, series in enumerate(spec["series"]):
        plt.plot(
            series["x"],
            series["y"],
            color=pen.colour(i),
            marker=pen.marker(i),
            label=series["name"],
        )
    top = max((max(series["y"], default=0) for series in spec["series"]), default=0)
    low, high = spec.get("ylim") or (0.0, max(2 * (reference or 0), top))
    y_axis(plt, low, high, spec.get("ypercent", False))
    xs = [x for series in spec["series"] for x in series["x"]]
    if xs:
        ticks, step = nice_ticks(min(xs), max(xs))
        plt.xticks(ticks, tick_labels(ticks, step))
        if spec.get("ylim"):  # a spec that fixes its axes: the x axis spans its points
            plt.xlim(min(xs), max(xs))
    plt.ylabel(spec.get("ylabel", ""))


def forest(plt, spec: dict, pen: Pen) -> None:
    """Each group a row, top down: its pooled HDI as a line with its mean as a dot, and
    just below it the group's own in the second colour."""
    rows, labelled = spec["rows"], set()
    row_pairs = any(row["unpooled"] for row in rows)
    top, ends = len(rows) * FOREST_LINES, []
    for i, row in enumerate(rows):
        y = top - i * FOREST_LINES
        estimates = [(row, 0, "pooled"), (row["unpooled"], 1, "own")]
        for estimate, k, label in [(e, k, lab) for e, k, lab in estimates if e]:
            at, colour = y - k, pen.colour(k)
            ends += estimate["hdi"]
            # Each in the legend once, and only when there are two to tell apart.
            named = None if label in labelled or not row_pairs else label
            labelled.add(label)
            plt.plot(estimate["hdi"], [at, at], color=colour, marker=pen.marker(k), label=named)
            plt.scatter([estimate["mean"]], [at], color=colour, marker=pen.point)
    plt.yticks([top - i * FOREST_LINES for i in range(len(rows))], [r["name"] for r in rows])
    plt.ylim(1, top)  # one terminal row per line: FOREST_FRAME rows around them
    if ends:
        x_axis(plt, spec, min(ends), max(ends), pen)


# --- axes -----------------------------------------------------------------------------------


def x_axis(plt, spec: dict, low: float, high: float, pen: Pen) -> None:
    """Round ticks in the quantity's unit (percent for shares and uplifts), and the reference
    line when it is near the data (a forest always shows it: it is what rows are read against)."""
    reference = spec.get("reference")
    span = (high - low) or abs(high) or 1.0
    near = reference is not None and low - span / 2 <= reference <= high + span / 2
    if reference is not None and (near or spec["kind"] == "forest"):
        low, high = min(low, reference), max(high, reference)
        plt.vertical_line(reference, color=pen.muted)
    ticks, step = nice_ticks(low, high)
    plt.xlim(low, high)
    plt.xticks(ticks, tick_labels(ticks, step, spec.get("percent", False)))


def y_axis(plt, low: float, high: float, percent: bool = False) -> None:
    """Round ticks on a y axis of counts, ratios or (``percent``) shares, written as the x
    axes' are."""
    if high > low:
        ticks, step = nice_ticks(low, high)
        plt.ylim(low, high)
        plt.yticks(ticks, tick_labels(ticks, step, percent))


def nice_ticks(low: float, high: float, count: int = TICKS) -> tuple[list[float], float]:
    """About ``count`` round values (1, 2 or 5 times a power of ten apart, so that every label
    of an axis has the decimals of its step) within [low, high], and their step."""
    span = high - low
    if not span > 0:
        return [low], 0.0
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]
    return [0.0 if abs(t) < step * 1e-9 else t for t in ticks], step


def visible(x: list[float], y: list[float]) -> tuple[list[float], list[float]]:
    """The part of a curve above a sliver of its peak, and one point beyond at each end: it
    ends on the axis instead of drawing a flat line over its neighbours' curves."""
    top = max(y, default=0)
    shown = [i for i, value in enumerate(y) if value > VISIBLE * top]
    if not shown:
        return x, y
    first, last = max(shown[0] - 1, 0), min(shown[-1] + 1, len(y) - 1)
    return x[first : last + 1], y[first : last + 1]


def height_at(x: list[float], y: list[float], at: float) -> float:
    """The curve's height at ``at``: linear between points, its end value beyond an end (an
    HDI can start at 0 where the plotted range starts a little later)."""
    if at <= x[0]:
        return y[0]
    for x0, y0, x1, y1 in zip(x, y, x[1:], y[1:], strict=False):
        if x0 <= at <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (at - x0) / (x1 - x0)
    return y[-1]


def printable_strings(value):
    """``value`` with each string in it (titles, group names in legends and labels) shown as
    it is: plotext writes control characters to the terminal raw."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {key: printable_strings(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [printable_strings(item) for item in value]
    return value


# --- an interval in a line of text (the scorecard's uplifts) ----------------------------------

BAR_CHARS = {  # the line, zero outside and inside the interval, the interval, its centre
    True: ("─", "┼", "╋", "━", "●"),
    False: ("-", "+", "#", "=", "o"),  # the Linux console's fonts: ASCII
}


def interval_bar(
    low: float, high: float, centre: float, scale: tuple[float, float], width: int, fancy=True
) -> str:
    """``[low, high]`` with ``centre`` as a line of ``width`` characters on the shared
    ``scale`` (low, high; it includes 0): ``──┼──━━━●━━──``, zero marked (``╋`` where the
    interval covers it), so that rows drawn on one scale compare by eye. ``fancy``: box
    drawing characters, else ASCII (``--+--===o==--``)."""
    line, zero, zero_inside, inside, mark = BAR_CHARS[fancy]
    start, end = scale
    if width < 3 or not end > start:
        return ""

    def at(x: float) -> int:
        return min(width - 1, max(0, round((x - start) / (end - start) * (width - 1))))

    cells = [line] * width
    a, b = at(low), at(high)
    for i in range(a, b + 1):
        cells[i] = inside
    z = at(0.0)
    cells[z] = zero_inside if a <= z <= b else zero
    cells[at(centre)] = mark
    return "".join(cells)


def shared_scale(intervals: list[tuple[float, float]]) -> tuple[float, float]:
    """One scale for every interval, zero included, with a little room at both ends."""
    lows = [low for low, _ in intervals if math.isfinite(low)]
    highs = [high for _, high in intervals if math.isfinite(high)]
    start, end = min([0.0, *lows]), max([0.0, *highs])
    room = (end - start) * 0.05 or 0.01
    return start - room, end + room
