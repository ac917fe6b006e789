"""The analysis options of one experiment (`o` on its screen): set, checked, saved in the lake.

The CLI's --control, --hdi-prob, --threshold, --likelihood, --prior, --split, --max-loss and
--rope, for the options the experiment's type takes (a likelihood where it offers several).
Saved with the experiment, they are what `vibes posterior` and the dashboard use by default
(see vibes_core.analysis); an empty field is the default.

Saving checks every field at once and says every problem, each after its field's name: each
value as its parser reads it, then against the experiment's data as a posterior would
(inference.unfit_options: a control or split of other groups, a prior the type does not take,
with the likelihood chosen).
No posterior is computed to check them: that took seconds, and the experiment's screen
computes the one to show right after.
"""

import math
from dataclasses import asdict
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, Select

from vibes_core import verdict
from vibes_core.analysis import DEFAULT_HDI_PROB, PARSERS, Analysis
from vibes_core.errors import VibesError, worded
from vibes_core.types import get_type
from vibes_core.units import number
from vibes_tui.screens.base import SurvivesWorkers
from vibes_tui.widgets.data import DataText, plain
from vibes_tui.widgets.inputs import Input
from vibes_tui.wording import field_name

# Each option typed: its label, and what the empty field means.
FIELDS = {
    "hdi_prob": ("HDI probability", f"default {DEFAULT_HDI_PROB}"),
    "threshold": ("Threshold: report P(rate > it)", "none"),
    # The likelihood's defaults shown; "learned": effects under the prior learned from the lake.
    "prior": ("Prior (name=value,... or learned)", ""),
    "split": ("Intended split, for the SRM check", "equal, e.g. A=50,B=50"),
    "max_loss": ("Verdict: largest expected loss", f"default {verdict.MAX_LOSS}"),
    "rope": ("Verdict: same within this share", f"default {verdict.ROPE}"),
}
# Each option chosen from a list: its label (the control's names the type's group column).
CHOICES = {"control": "Compared with", "likelihood": "Likelihood (the data's family)"}
ORDER = ("control", "hdi_prob", "threshold", "likelihood", "prior", "split", "max_loss", "rope")


class OptionsScreen(SurvivesWorkers, ModalScreen[Analysis | None]):
    """Dismissed with the options saved, or None when cancelled."""

    DEFAULT_CSS = """
    OptionsScreen {
        align: center middle;
    }
    OptionsScreen > Vertical {
        width: 72;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    OptionsScreen VerticalScroll {
        height: auto;
        max-height: 1fr;
    }
    OptionsScreen .row {
        height: auto;
    }
    OptionsScreen .row {
        margin-top: 1;
    }
    OptionsScreen .row Label {
        width: 34;
        padding: 0 1 0 0;
    }
    OptionsScreen .row Input, OptionsScreen .row Select {
        width: 1fr;
    }
    OptionsScreen #options-status {
        color: $error;
        height: auto;
    }
    OptionsScreen .row .-invalid {
        border: tall $error;
    }
    OptionsScreen #options-buttons {
        height: auto;
        align-horizontal: right;
    }
    OptionsScreen #options-buttons Button {
        margin-left: 2;
    }
    """
    BINDINGS: ClassVar = [
        Binding("escape", "dismiss(None)", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
        Binding("ctrl+r", "reset", "Defaults"),
    ]

    def __init__(self, name: str, type_name: str, groups: list[str], saved: Analysis) -> None:
        super().__init__()
        self.experiment, self.kind = name, get_type(type_name)
        self.groups, self.saved = groups, saved
        self.saving = False

    def shown_options(self) -> list[str]:
        """The options this type takes, in the order of ORDER (control first); the likelihood
        where it offers several."""
        takes = set(self.kind.summary_options) | {"hdi_prob", "prior", "max_loss", "rope"}
        if len(self.kind.likelihoods) > 1:
            takes.add("likelihood")
        return [key for key in ORDER if key in takes]

    def compose(self) -> ComposeResult:
        saved = asdict(self.saved)
        with Vertical():
            yield Label(f"Analysis options of {plain(self.experiment)}", markup=False)
            with VerticalScroll():
                for key in self.shown_options():
                    with Horizontal(classes="row"):
                        if key == "control":
                            yield Label(f"Compared with ({self.kind.group_column})")
                            control = saved["control"]
                            yield Select(
                                [(plain(group), group) for group in self.groups],
                                prompt="the first (default)",
                                value=control if control in self.groups else Select.NULL,
                                id="control",
                                compact=True,
                            )
                            continue
                        if key == "likelihood":
                            yield Label(CHOICES[key])
                            default, *others = self.kind.likelihoods
                            yield Select(
                                [(name, name) for name in others],
                                prompt=f"{default} (default)",
                                value=saved[key] if saved[key] in others else Select.NULL,
                                id="likelihood",
                                compact=True,
                            )
                            continue
                        label, empty = FIELDS[key]
                        empty = self.default_prior(saved["likelihood"]) if key == "prior" else empty
                        yield Label(label)
                        yield Input(
                            stored_text(saved[key]), placeholder=empty, id=key, compact=True
                        )
            yield DataText("", id="options-status")
            with Horizontal(id="options-buttons"):
                yield Button("Defaults (ctrl+r)", id="reset", compact=True)
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
        yield Footer()  # its own keys

    def likelihood_kind(self, likelihood: str | None):
        """The type object of ``likelihood`` (None, or one it does not offer: the default)."""
        known = likelihood is None or likelihood in self.kind.likelihoods
        return self.kind.with_likelihood(likelihood if known else None)

    def default_prior(self, likelihood: str | None = None) -> str:
        """The prior of the type with that likelihood, as one would type it: alpha=1,beta=1."""
        return ",".join(
            f"{p.name}={number(p.default)}" if math.isfinite(p.default) else f"{p.name}=(data)"
            for p in self.likelihood_kind(likelihood).priors
        )

    @on(Select.Changed, "#likelihood")
    def likelihood_changed(self, event: Select.Changed) -> None:
        """Another likelihood has another prior: its defaults shown in the prior's field."""
        likelihood = None if event.value is Select.NULL else event.value
        self.query_one("#prior", Input).placeholder = self.default_prior(likelihood)

    def on_mount(self) -> None:
        first = self.query("Input, Select").first()
        first.focus()

    def chosen(self) -> tuple[Analysis, dict[str, str]]:
        """The fields as options (an empty field: not set), and what is wrong with each field
        that cannot be read, by its key (such a field is left unset in the options)."""
        values, problems = {}, {}
        for key in self.shown_options():
            if key in CHOICES:
                value = self.query_one(f"#{key}", Select).value
                values[key] = None if value is Select.NULL else value
                continue
            typed = self.query_one(f"#{key}", Input).value.strip()
            try:
                values[key] = PARSERS[key](typed) if typed else None
            except VibesError as error:
                problems[key] = error.words(field_name)
            except ValueError as error:
                problems[key] = str(error)
        return Analysis(**values), problems

    def action_reset(self) -> None:
        for field in self.query(Input):
            field.value = ""
        for key in CHOICES:
            if self.query(f"#{key}"):
                self.query_one(f"#{key}", Select).clear()
        self.status("every option back to its default: ctrl+s saves that")

    def action_save(self) -> None:
        if self.saving:
            return
        analysis, unreadable = self.chosen()
        self.saving = True
        self.status("checking...")
        self.check_and_save(analysis, unreadable)

    @on(Button.Pressed, "#save")
    def save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#reset")
    def reset_pressed(self) -> None:
        self.action_reset()

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.action_save()

    @work(thread=True, exclusive=True, group="save-options")
    def check_and_save(self, analysis: Analysis, unreadable: dict[str, str]) -> None:
        """The options read against the experiment, then saved if no field has a problem
        (``unreadable``: those that could not be read): every problem is said at once, and
        nothing is saved that a posterior would refuse."""
        from vibes_core import catalog, inference

        lake = self.app.lake()
        try:
            kind = self.kind.with_likelihood(analysis.likelihood)  # one it offers: chosen
            experiment = catalog.get(lake, self.experiment)
            data = kind.stats(catalog.sufficient_stats(lake, experiment))
            options = analysis.summary_options()
            unfit = inference.unfit_options(kind, data, options, analysis.prior)
            problems = {key: worded(why, field_name) for key, why in unfit.items()}
            problems = {
                key: problems.get(key) or unreadable.get(key) for key in self.shown_options()
            }
            problems = {key: message for key, message in problems.items() if message}
            if not problems:
                catalog.save_analysis(lake, self.experiment, analysis)
        except VibesError as error:
            self.app.call_from_thread(self.not_saved, {"": error.words(field_name)})
            return
        finally:
            lake.close()
        if problems:
            self.app.call_from_thread(self.not_saved, problems)
        else:
            self.app.call_from_thread(self.dismiss, analysis)

    def not_saved(self, problems: dict[str, str]) -> None:
        self.saving = False
        self.show_problems(problems)

    def show_problems(self, problems: dict[str, str]) -> None:
        """Every problem, one line each after its field's name; those fields marked."""
        for key in self.shown_options():
            self.query_one(f"#{key}").set_class(key in problems, "-invalid")
        self.status(
            "\n".join(
                f"{FIELDS[key][0] if key in FIELDS else CHOICES[key]}: {message}"
                if key
                else message
                for key, message in problems.items()
            )
        )

    def status(self, text: str) -> None:
        if self.is_attached:
            self.query_one("#options-status", DataText).update(text)


def stored_text(value) -> str:
    """A saved option as it is typed: 0.9, A=50,B=50."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return ",".join(f"{name}={weight:g}" for name, weight in value.items())
    return str(value)
