"""Every key binding, and what each screen is for."""

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# vibes

Bayesian analysis of experiments. Keys work everywhere unless a screen says otherwise;
the mouse works too, but nothing needs it.

| key | what it does |
|---|---|
| `?` / `F1` | this help |
| `ctrl+p` | command palette |
| `q` / `escape` | back (quit on the experiments list) |

## Experiments (home)

The experiments in the lake, refreshed by itself when anyone uploads.

| key | what it does |
|---|---|
| `enter` | open the selected experiment |
| `/` | filter by name, title or type (`escape` clears) |
| `s` | sort by the next column (or click a header) |
| `d` | delete the selected experiment (asks first) |
| `r` | reload now |

## Experiment

The exact posterior shows at once; the MCMC fit replaces it when done (or at once from the
cache). Tabs: *Posterior* (estimates, HDIs, the decision), *Diagnostics* (r_hat, ESS,
divergences, sampler), *Data* (first rows, counts per group).

| key | what it does |
|---|---|
| `1` `2` `3` | the Posterior, Diagnostics and Data tabs |
| `f` | fit again, ignoring the cache |
| `c` | clear this experiment's cached fits |
| `escape` / `q` | back to the list |
"""


class HelpScreen(ModalScreen):
    BINDINGS: ClassVar = [Binding("escape,q,question_mark,f1", "app.pop_screen", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(HELP)
