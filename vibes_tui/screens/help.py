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
| `ctrl+p` | command palette: every experiment and the main actions |
| `ctrl+t` | pick a colour theme |
| `q` / `escape` | back (quit on the experiments list) |

## Experiments (home)

The experiments in the lake, refreshed by itself when anyone uploads.

| key | what it does |
|---|---|
| `enter` | open the selected experiment |
| `n` | create an experiment (from a file or generated demo events) |
| `u` | upload a file of events to the selected experiment |
| `/` | filter by name, title or type (`escape` clears) |
| `s` | sort by the next column (or click a header) |
| `d` | delete the selected experiment (asks first) |
| `r` | reload now |
| `y` | copy the selected row to the clipboard (through the terminal: works over SSH) |

## Experiment

The exact posterior shows at once; the MCMC fit replaces it when done (or at once from the
cache). Tabs: *Posterior* (estimates, HDIs, the decision, density plots), *Diagnostics*
(r_hat, ESS, divergences, sampler, rank plots per chain), *Data* (counts per group, events
over time, first rows), *History* (every snapshot that added events, with the result at
each: `enter` on one shows the posterior as of then).

| key | what it does |
|---|---|
| `1` `2` `3` `4` | the Posterior, Diagnostics, Data and History tabs |
| `[` `]` | the previous tab, the next |
| `↓` `↑` `j` `k` | scroll the tab (in History: the snapshot under the cursor) |
| `PgDn` `PgUp` `ctrl+d` `ctrl+u` | a page, half a page |
| `g` `G` (`home` `end`) | the top, the bottom |
| `f` | fit again, ignoring the cache |
| `c` | clear this experiment's cached fits |
| `u` | upload more events |
| `p` | partial pooling on or off (a forest plot of every group) |
| `b` | by segment on or off (ab-test, revenue: a forest plot of each segment's uplift) |
| `l` | back to the latest data after picking a snapshot |
| `y` | copy the decision sentence to the clipboard |
| `ctrl+e` | export the summary to a file: Markdown, CSV or JSON |
| `o` | analysis options (control, HDI probability, prior, ...), saved with the experiment |
| `r` | refresh, when a banner says another process added events |
| `escape` / `q` | back to the list |

## Create (`n`) and Upload (`u`)

Forms: `tab` moves between fields, `ctrl+s` submits, `escape` goes back. The name is checked
as you type; a file is validated against the type's schema (shown beside the form) before
anything is written, and nothing is written unless all of it is valid. In a path field `→`
accepts the completion, and pressed again steps through the other matches; in *Browse…*,
`backspace` or `-` goes up a folder.
"""


class HelpScreen(ModalScreen):
    BINDINGS: ClassVar = [Binding("escape,q,question_mark,f1", "app.pop_screen", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(HELP)
