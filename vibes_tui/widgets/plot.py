"""PlotView: draws one plot spec of vibes_core.plots (density, bars, lines or forest) with
plotext.

The spec is drawn again on every render, so a new theme or size re-colours and re-fits it.
Series take the theme's accent colours; without colour (NO_COLOR) each gets its own marker
(see vibes_tui.drawing, which the CLI's --plot shares).
"""

from rich.text import Text
from textual.app import RenderResult
from textual.color import Color
from textual_plotext import PlotextPlot

from vibes_tui.drawing import Pen, draw, height, printable_strings
from vibes_tui.terminal import plain_terminal

THEME_COLOURS = ("primary", "accent", "success", "error", "warning", "secondary")


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
        foreground as RGB; an ANSI theme has none (black on black), and an 8-colour console
        turns the canvas into a grey band, so there the plot keeps the terminal's own colours."""
        foreground = self.app.current_theme.foreground
        ansi = foreground is not None and Color.parse(foreground).ansi is not None
        self.theme = "textual-clear" if ansi or plain_terminal() else "auto"

    def show(self, spec: dict | None) -> None:
        """Draw ``spec`` (None: nothing) in place of whatever was drawn before; a forest plot
        is as tall as its rows need (its screen scrolls)."""
        self.spec = printable_strings(spec)
        self.styles.height = None if spec is None else height(spec)
        self.refresh(layout=True)

    def render(self) -> RenderResult:
        if self.spec is None:
            return Text("")
        draw(self.plt, self.spec, self.pen())
        return super().render()

    def pen(self) -> Pen:
        """The app theme's distinct accent colours, as plotext takes them: ANSI numbers for
        ANSI themes (the terminal's own palette), else RGB; none without colour."""
        if self.app.no_color:
            return Pen(braille=not plain_terminal())
        theme, colours = self.app.current_theme, []
        for attribute in THEME_COLOURS:
            value = getattr(theme, attribute, None)
            if not value:
                continue
            parsed = Color.parse(value)
            colour = parsed.ansi if parsed.ansi is not None and parsed.ansi >= 0 else parsed.rgb
            if colour not in colours:
                colours.append(colour)
        return Pen(tuple(colours), braille=not plain_terminal(), muted=self.muted())

    def muted(self):
        """Reference lines: the text colour half-way to the background (the terminal's own
        colour in an ANSI theme or on an 8-colour terminal)."""
        variables = self.app.theme_variables
        foreground = Color.parse(variables["foreground"])
        if foreground.ansi is not None or plain_terminal():
            return "default"
        return foreground.blend(Color.parse(variables["background"]), 0.5).rgb
