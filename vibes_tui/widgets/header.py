"""The header of every screen, with an icon the terminal can draw."""

from textual.widgets import Header as TextualHeader

from vibes_tui.terminal import plain_terminal

CONSOLE_ICON = "o"  # Textual's ⭘ is a box in the Linux console's fonts; a point, as in plots


class Header(TextualHeader):
    def __init__(self) -> None:
        super().__init__(icon=CONSOLE_ICON if plain_terminal() else None)
