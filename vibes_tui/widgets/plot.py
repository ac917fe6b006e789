"""PlotView: draws one plot spec of vibes_core.plots (density, bars, lines or forest) with
plotext.

The spec is drawn again on every render, so a new theme or size re-colours and re-fits it.
Series take the theme's accent colours; without colour (NO_COLOR) each gets its own marker.
"""

from rich.text import Text
from textual.app import RenderResult
from textual.color import Color
from textual_plotext import PlotextPlot

from vibes_tui.widgets.data import plain

THEME_COLOURS = ("primary", "accent", "success", "error", "warning", "secondary")
TICKS = 5  # labels on a category axis, first and last included
MONO_MARKERS = ("•", "x", "+", "o", "*", "#", "~", "=")  # told apart without colour
MONO_FILLS = ("█", "░", "▒", "▓", "#", "=")  # the same, for bars
FOREST_LINES = 2  # terminal rows per group of a forest plot: the pooled and its own
FOREST_FRAME = 5  # and the title, the frame's two lines, the x ticks and the x label


class PlotView(PlotextPlot):
    """Empty until ``show(spec)``; sized by CSS (about 10-12 rows suits a density)."""

    DEFAULT_CSS = """
    PlotView {
        height: 12;
        min-height: 8;
    }
    """
    spec: dict | None = None  # what show() was last given

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self.follow_theme, init=True)

    def follow_theme(self) -> None:
        """textual-plotext's "auto" theme paints canvas and ticks in the theme's surface and
        foreground as RGB; an ANSI theme has none (black on black), so there the plot keeps the
        terminal's own colours."""
        foreground = self.app.current_theme.foreground
        ansi = foreground is not None and Color.parse(foreground).ansi is not None
        self.theme = "textual-clear" if ansi else "auto"

    def show(self, spec: dict | None) -> None:
        """Draw ``spec`` (None: nothing) in place of whatever was drawn before; a forest plot
        is as tall as its rows need (its screen scrolls)."""
        self.spec = printable_strings(spec)
        forest = spec is not None and spec["kind"] == "forest"
        self.styles.height = len(spec["rows"]) * FOREST_LINES + FOREST_FRAME if forest else None
        self.refresh(layout=True)

    def render(self) -> RenderResult:
        if self.spec is None:
            return Text("")
        plt = self.plt
        plt.clear_figure()
        plt.title(self.spec.get("title", ""))
        plt.xlabel(self.spec.get("xlabel", ""))
        draw = {
            "density": self.draw_density,
            "bars": self.draw_bars,
            "lines": self.draw_lines,
            "forest": self.draw_forest,
        }
        draw[self.spec["kind"]](self.spec)
        return super().render()

    # --- one method per kind of spec ------------------------------------------------------

    def draw_density(self, spec: dict) -> None:
        """Each series a curve, its HDI marked by lines dropped from the curve at both ends."""
        for i, series in enumerate(spec["series"]):
            colour, marker = self.colour(i), self.marker(i)
            x, y = series["x"], series["y"]
            self.plt.plot(x, y, color=colour, marker=marker, label=series["name"])
            for end in series["hdi"]:
                self.plt.plot([end, end], [0, height_at(x, y, end)], color=colour, marker=marker)
        self.plt.ylim(0, None)
        self.plt.yticks([])  # density values mean little to a reader: the shape does

    def draw_bars(self, spec: dict) -> None:
        """Horizontal bars of fractions, on a 0-100% scale, each labelled with its share; or,
        with ``series`` ({"name", "values"} each), their counts stacked upright per label."""
        if "series" in spec:
            count, positions = len(spec["series"]), list(range(len(spec["labels"])))
            self.plt.stacked_bar(
                positions,
                [series["values"] for series in spec["series"]],
                labels=[series["name"] for series in spec["series"]],
                color=[self.colour(i) for i in range(count)],
                marker=[
                    MONO_FILLS[i % len(MONO_FILLS)] if self.app.no_color else "sd"
                    for i in range(count)
                ],
            )
            # Our own ticks: plotext's choice among text labels changes with the hash seed.
            shown = sorted({round(i * (len(positions) - 1) / (TICKS - 1)) for i in range(TICKS)})
            self.plt.xticks(shown, [spec["labels"][i] for i in shown])
            return
        pairs = list(zip(spec["labels"], spec["values"], strict=True))[::-1]  # first on top
        labels = [f"{label} {100 * value:.0f}%" for label, value in pairs]
        values = [100 * value for _, value in pairs]
        self.plt.bar(
            labels, values, orientation="horizontal", width=0.4, marker="hd", color=self.colour(0)
        )
        self.plt.xlim(0, max([100.0, *values]))

    def draw_lines(self, spec: dict) -> None:
        reference = spec.get("reference")
        if reference is not None:
            self.plt.horizontal_line(reference)
        for i, series in enumerate(spec["series"]):
            self.plt.plot(
                series["x"],
                series["y"],
                color=self.colour(i),
                marker=self.marker(i),
                label=series["name"],
            )
        top = max((max(series["y"], default=0) for series in spec["series"]), default=0)
        self.plt.ylim(0, max(2 * (reference or 0), top))
        self.plt.ylabel(spec.get("ylabel", ""))

    def draw_forest(self, spec: dict) -> None:
        """Each group a row, top down: its pooled HDI as a line with its mean as a dot, and
        just below it the group's own in the second colour."""
        rows, labelled = spec["rows"], set()
        row_pairs = any(row["unpooled"] for row in rows)
        top = len(rows) * FOREST_LINES
        for i, row in enumerate(rows):
            y = top - i * FOREST_LINES
            estimates = [(row, 0, "pooled"), (row["unpooled"], 1, "own")]
            for estimate, k, label in [(e, k, lab) for e, k, lab in estimates if e]:
                at = y - k
                colour, marker = self.colour(k), self.marker(k)
                # Each in the legend once, and only when there are two to tell apart.
                named = None if label in labelled or not row_pairs else label
                labelled.add(label)
                self.plt.plot(estimate["hdi"], [at, at], color=colour, marker=marker, label=named)
                self.plt.scatter([estimate["mean"]], [at], color=colour, marker="●")
        self.plt.yticks(
            [top - i * FOREST_LINES for i in range(len(rows))], [r["name"] for r in rows]
        )
        self.plt.ylim(1, top)  # one terminal row per line: FOREST_FRAME rows around them

    # --- colours and markers ------------------------------------------------------------

    def colour(self, i: int):
        """The i-th distinct accent colour of the app theme, as plotext takes it: an ANSI
        number for ANSI themes (the terminal's own palette), else RGB."""
        theme, colours = self.app.current_theme, []
        for attribute in THEME_COLOURS:
            value = getattr(theme, attribute, None)
            if not value:
                continue
            parsed = Color.parse(value)
            colour = parsed.ansi if parsed.ansi is not None and parsed.ansi >= 0 else parsed.rgb
            if colour not in colours:
                colours.append(colour)
        return colours[i % len(colours)] if colours else "default"

    def marker(self, i: int) -> str:
        return MONO_MARKERS[i % len(MONO_MARKERS)] if self.app.no_color else "braille"


def printable_strings(value):
    """``value`` with each string in it (titles, group names in legends and labels) shown as
    it is: plotext writes control characters to the screen raw."""
    if isinstance(value, str):
        return plain(value)
    if isinstance(value, dict):
        return {key: printable_strings(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [printable_strings(item) for item in value]
    return value


def height_at(x: list[float], y: list[float], at: float) -> float:
    """The curve's height at ``at``: linear between points, its end value beyond an end (an
    HDI can start at 0 where the plotted range starts a little later)."""
    if at <= x[0]:
        return y[0]
    for x0, y0, x1, y1 in zip(x, y, x[1:], y[1:], strict=False):
        if x0 <= at <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (at - x0) / (x1 - x0)
    return y[-1]
