"""A radio button that says whether it is chosen without colour.

Textual's draws ● in every button of a set and tells the chosen one by its colour alone, which
`NO_COLOR` and the Linux console's eight colours lose: every button then looks chosen.
"""

from textual.widgets import RadioButton

from vibes_tui.terminal import plain_terminal

MARKS = {False: "○", True: "●"}  # not chosen, chosen
PLAIN_MARKS = {False: " ", True: "*"}  # the Linux console's font has neither circle


class Choice(RadioButton):
    @property
    def BUTTON_INNER(self) -> str:  # the name Textual's ToggleButton draws
        return (PLAIN_MARKS if plain_terminal() else MARKS)[self.value]
