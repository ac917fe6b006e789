"""The analysis options of one experiment (`o` on its screen): set, checked, saved in the lake.

The CLI's --control, --hdi-prob, --threshold, --prior, --split, --max-loss and --rope, for the
options the experiment's type takes. Saved with the experiment, they are what `vibes posterior`
and the dashboard use by default (see vibes_core.analysis); an empty field is the default.
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
from vibes_core.errors import VibesError
from vibes_core.types import get_type
from vibes_core.units import number
from vibes_tui.screens.base import SurvivesWorkers
from vibes_tui.widgets.data import DataText, plain
from vibes_tui.widgets.inputs import Input

# Each option: its label, and what the empty field means.
FIELDS = {
    "hdi_prob": ("HDI probability", f"default {DEFAULT_HDI_PROB}"),
    "threshold": ("Threshold: report P(rate > it)", "none"),
    "prior": ("Prior (name=value,...)", ""),  # the type's defaults, shown
    "split": ("Intended split, for the SRM check", "equal, e.g. A=50,B=50"),
    "max_loss": ("Verdict: largest expected loss", f"default {verdict.MAX_LOSS}"),
    "rope": ("Verdict: same within this share", f"default {verdict.ROPE}"),
}


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
        """The options this type takes, in the order of FIELDS (control first)."""
        takes = set(self.kind.summary_options) | {"hdi_prob", "prior", "max_loss", "rope"}
        return [key for key in ("control", *FIELDS) if key in takes]

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
                        label, empty = FIELDS[key]
                        empty = self.default_prior() if key == "prior" else empty
                        yield Label(label)
                        yield Input(
                            stored_text(saved[key]), placeholder=empty, id=key, compact=True
                        )
            yield DataText("", id="options-status")
            with Horizontal(id="options-buttons"):
                yield Button("Defaults (ctrl+r)", id="reset", compact=True)
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
        yield Footer()  # its own keys

    def default_prior(self) -> str:
        """The type's own prior, as one would type it: alpha=1,beta=1."""
        return ",".join(
            f"{p.name}={number(p.default)}" if math.isfinite(p.default) else f"{p.name}=(data)"
            for p in self.kind.priors
        )

    def on_mount(self) -> None:
        first = self.query("Input, Select").first()
        first.focus()

    def chosen(self) -> Analysis:
        """The fields as options (an empty field: not set); InvalidOption names the field."""
        values = {}
        for key in self.shown_options():
            if key == "control":
                value = self.query_one("#control", Select).value
                values[key] = None if value is Select.NULL else value
                continue
            typed = self.query_one(f"#{key}", Input).value.strip()
            try:
                values[key] = PARSERS[key](typed) if typed else None
            except (VibesError, ValueError) as error:
                raise VibesError(f"{FIELDS[key][0]}: {error}") from None
        return Analysis(**values)

    def action_reset(self) -> None:
        for field in self.query(Input):
            field.value = ""
        if self.query("#control"):
            self.query_one("#control", Select).clear()
        self.status("every option back to its default: ctrl+s saves that")

    def action_save(self) -> None:
        if self.saving:
            return
        try:
            analysis = self.chosen()
        except VibesError as error:
            self.status(str(error))
            return
        self.saving = True
        self.status("checking...")
        self.check_and_save(analysis)

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
    def check_and_save(self, analysis: Analysis) -> None:
        """The options as a posterior would meet them (a prior the type does not have, a
        split of unknown groups), then saved: nothing is saved that cannot be used."""
        from vibes_core import catalog, inference

        lake = self.app.lake()
        try:
            inference.check_analysis(lake, self.experiment, analysis)
            catalog.save_analysis(lake, self.experiment, analysis)
        except VibesError as error:
            self.app.call_from_thread(self.not_saved, str(error))
            return
        finally:
            lake.close()
        self.app.call_from_thread(self.dismiss, analysis)

    def not_saved(self, message: str) -> None:
        self.saving = False
        self.status(message)

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
