"""Every key binding, and what each screen is for: one line a key, so that a screen of 80x24
shows a dozen of them."""

from dataclasses import dataclass
from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


@dataclass(frozen=True)
class Section:
    title: str
    about: str
    keys: tuple[tuple[str, str], ...]  # (keys, what they do)


SECTIONS = (
    Section(
        "vibes",
        "Bayesian analysis of experiments. Keys work everywhere unless a screen says "
        "otherwise; the mouse works too, but nothing needs it.",
        (
            ("? F1", "this help (j k g G scroll it, escape closes it)"),
            ("ctrl+p", "command palette: every experiment and the main actions"),
            ("ctrl+t", "pick a colour theme"),
            ("q escape", "back (quit on the experiments list)"),
        ),
    ),
    Section(
        "Experiments (home)",
        "The experiments in the lake, refreshed by itself when anyone uploads. On a narrow "
        "screen the type and last upload columns make room for the display name.",
        (
            ("enter", "open the selected experiment"),
            ("↓ ↑ j k", "the next experiment, the previous"),
            ("g G home end", "the first, the last"),
            ("n", "create an experiment (from a file or generated demo events)"),
            ("u", "upload a file of events to the selected experiment"),
            ("/", "filter by name, title or type (escape clears)"),
            ("s", "sort by the next column (or click a header; ▲ ▼ show the order)"),
            ("S", "reverse the order (or click the sorted header again)"),
            ("d", "delete the selected experiment (asks first)"),
            ("r", "reload now"),
            ("y", "copy the selected row (through the terminal: works over SSH)"),
            ("m", "metrics and event tables (experiments on units)"),
        ),
    ),
    Section(
        "Experiment",
        "The exact posterior shows at once; the MCMC fit replaces it when done (or at once "
        "from the cache). Tabs: Posterior (estimates, HDIs, the decision, density plots), "
        "Diagnostics (r_hat, ESS, divergences, sampler, rank plots per chain), Data (counts "
        "per group, events over time, first rows), History (every snapshot that added events, "
        "with the result at each: enter on one shows the posterior as of then).",
        (
            ("1 2 3 4", "the Posterior, Diagnostics, Data and History tabs"),
            ("[ ]", "the previous tab, the next"),
            ("↓ ↑ j k", "scroll the tab (in History: the snapshot under the cursor)"),
            ("PgDn PgUp", "a page"),
            ("ctrl+d ctrl+u", "half a page"),
            ("g G home end", "the top, the bottom"),
            ("f", "fit again, ignoring the cache"),
            ("c", "clear this experiment's cached fits"),
            ("u", "upload more events"),
            ("p", "partial pooling on or off (a forest plot of every group)"),
            ("b", "by segment on or off (ab-test, revenue: each segment's uplift)"),
            ("l", "back to the latest data after picking a snapshot"),
            ("y", "copy the decision sentence to the clipboard"),
            ("ctrl+e", "export the summary to a file: Markdown, CSV or JSON"),
            ("o", "analysis options (control, HDI, prior, ...), saved with the experiment"),
            ("P", "plan the next experiment like this one: units and days to find a lift"),
            ("r", "refresh, when a banner says another process added events"),
            ("escape q", "back to the list"),
        ),
    ),
    Section(
        "Create (n) and Upload (u)",
        "The name is checked as you type; a file is validated against the type's schema "
        "(shown beside the form) before anything is written, and nothing is written unless "
        "all of it is valid.",
        (
            ("tab shift+tab", "the next field, the previous"),
            ("ctrl+s", "create, upload"),
            ("escape", "back, nothing written"),
            ("→", "in a path: accept the completion; again: the next match"),
            ("Browse…", "a tree of folders and data files: ↓ ↑ j k move, enter opens"),
            ("backspace -", "in Browse…: up a folder"),
        ),
    ),
    Section(
        "Scorecard (an experiment on units)",
        "A row per metric and treated variant: its role, the uplift with its HDI drawn on one "
        "scale for every row (0 at ┼), P(better) and its status (✓ ✗ ?); the decision under "
        "it. Exact: the MCMC scorecard is `vibes posterior NAME`'s.",
        (
            ("enter", "the metric's own view: posterior, diagnostics, data, history"),
            ("escape", "from a metric's view, back to the scorecard"),
            ("m", "metrics and event tables"),
            ("r", "compute it again (after uploads)"),
            ("P", "plan the next experiment like this one, on its goal metric"),
            ("y ctrl+e", "copy the decision; export the scorecard"),
        ),
    ),
    Section(
        "Plan (P on an experiment, or the palette)",
        "Units per variant and days to find a lift of the MDE: a z-test's sample size, and "
        "the days until vibes' verdict rule chooses the better variant with the power asked "
        "(a thousand experiments simulated, judged daily), its curve below. From an "
        "experiment, a metric's last 28 days or numbers.",
        (
            ("enter ctrl+s", "plan again with the fields as they are"),
            ("tab shift+tab", "the next field, the previous"),
            ("escape", "back"),
        ),
    ),
    Section(
        "Metrics (m)",
        "Every metric's definition and the experiments using it, and every event table. "
        "Expressions are checked as you type, with the CLI's rules.",
        (
            ("n", "define a metric (ctrl+s creates it; it runs once on its table first)"),
            ("d", "delete the selected metric (asks first; refused while an experiment uses it)"),
        ),
    ),
)


def help_text() -> Group:
    """The sections, each key on one line beside what it does (wrapped beside it, not under)."""
    parts = []
    for section in SECTIONS:
        keys = Table.grid(padding=(0, 2))
        keys.add_column(no_wrap=True, style="bold")
        keys.add_column()
        for key, what in section.keys:
            keys.add_row(Text(key), Text(what))  # Text: "[ ]" is a key, not markup
        parts += [Text(section.title, style="bold underline"), Text(section.about), keys, Text()]
    return Group(*parts[:-1])


class HelpText(VerticalScroll):
    BINDINGS: ClassVar = [
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
        Binding("g", "scroll_home", "Top", show=False),
        Binding("G", "scroll_end", "Bottom", show=False),
        Binding("space,ctrl+d", "page_down", "Page down", show=False),
        Binding("ctrl+u", "page_up", "Page up", show=False),
    ]


class HelpScreen(ModalScreen):
    BINDINGS: ClassVar = [Binding("escape,q,question_mark,f1", "app.pop_screen", "Close")]

    def compose(self) -> ComposeResult:
        with HelpText(id="help"):
            yield Static(help_text(), id="help-text")

    def on_mount(self) -> None:
        self.query_one(HelpText).focus()
