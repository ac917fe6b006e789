"""Planning the next experiment (`vibes plan` on a screen): the MDE, the power and the traffic
on the left; on the right the z-test's units per variant and days, the days until vibes' rule
chooses the better variant with that probability, and its curve by day.

Opened from the palette ("Plan an experiment": from a type and numbers, or a metric's event
table) or on an open experiment (`P`: the next one like it). Each plan is computed in a
worker (a second or a few: a thousand simulated experiments judged daily).
"""

import time
from typing import ClassVar

from rich.console import Group
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Label, Select, Static
from textual.worker import get_current_worker

from vibes_core.analysis import LEARNED
from vibes_core.errors import InvalidOption, VibesError, option
from vibes_tui.report import plan_renderables
from vibes_tui.screens.base import WorkerScreen
from vibes_tui.widgets.data import DataText, plain
from vibes_tui.widgets.header import Header
from vibes_tui.widgets.inputs import Input, checked_field, show_field_error
from vibes_tui.widgets.plot import PlotView
from vibes_tui.wording import field_name

METRIC = "metric:"  # a source's value: a metric's name after it; else "TYPE" or "TYPE:LIKELIHOOD"
DEFAULTS = {"baseline": "10%", "units_per_day": "2000", "mde": "5%", "power": "80%"}
PRIORS = [("the type's default", "default"), ("learned from the lake", LEARNED)]


def planned_types() -> list[tuple[str, str]]:
    """(label, value) of every type, and likelihood, that can be planned from numbers."""
    from vibes_core.plan import plannable
    from vibes_core.types import registry

    found = []
    for kind in registry().values():
        for likelihood in kind.likelihoods or (None,):
            try:
                plannable(kind.with_likelihood(likelihood))
            except VibesError:
                continue
            default = likelihood is None or likelihood == kind.likelihoods[0]
            label = kind.name if default else f"{kind.name} ({likelihood})"
            found.append((label, kind.name if default else f"{kind.name}:{likelihood}"))
    return found


def field(label: str, name: str, value: str = "", placeholder: str = "") -> ComposeResult:
    """The form's fields are compact: a narrow column beside the plan."""
    return checked_field(label, name, value, placeholder, compact=True)


class PlanScreen(WorkerScreen):
    """``experiment``: plan the next one like it (its baseline, pace and variants); None: from
    a type and numbers, or a metric."""

    DEFAULT_CSS = """
    PlanScreen #plan-form {
        width: 30;
        padding: 0 1;
        border-right: vkey $foreground 20%;
    }
    PlanScreen #plan-form Label {
        text-style: bold;
        margin-top: 1;
    }
    PlanScreen #plan-form Input, PlanScreen #plan-form Select {
        width: 100%;
    }
    PlanScreen .error {
        color: $error;
        height: auto;
    }
    PlanScreen .hidden {
        display: none;
    }
    PlanScreen #plan-view {
        padding: 0 1;
    }
    PlanScreen #plan-status {
        color: $text-muted;
        height: auto;
    }
    PlanScreen #plan-plot {
        height: 16;
    }
    PlanScreen #plan-result {
        height: auto;
        margin-bottom: 1;
    }
    """
    BINDINGS: ClassVar = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+s", "plan", "Plan"),
    ]
    FIELDS = ("baseline", "sd", "units_per_day", "mde", "power", "split")

    def __init__(self, experiment: str | None = None) -> None:
        super().__init__()
        self.experiment = experiment
        self.started = self.seconds = 0.0
        self.answer: dict | None = None  # the plan shown

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with VerticalScroll(id="plan-form"):
                if self.experiment is None:
                    yield Label("Plan from")
                    types = planned_types()
                    yield Select(
                        types, value=types[0][1], allow_blank=False, id="source", compact=True
                    )
                    yield from field("Baseline (the control's)", "baseline", DEFAULTS["baseline"])
                    yield from field("SD of a unit (not a share)", "sd", placeholder="e.g. 20")
                    units = DEFAULTS["units_per_day"]
                    yield from field("Units a day (all variants)", "units_per_day", units)
                else:
                    yield from field(
                        "Units a day (all variants)", "units_per_day", placeholder="its pace"
                    )
                yield from field("MDE (relative lift)", "mde", DEFAULTS["mde"])
                yield from field("Power", "power", DEFAULTS["power"])
                split = "its split, else even" if self.experiment else "50,50"
                yield from field("Split (the control first)", "split", placeholder=split)
                yield Label("Prior of effects")
                yield Select(PRIORS, value="default", allow_blank=False, id="prior", compact=True)
            with VerticalScroll(id="plan-view"):
                yield DataText("", id="plan-status")
                yield Static("", id="plan-result")
                yield PlotView(id="plan-plot")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = (
            f"plan the next experiment like {plain(self.experiment)}"
            if self.experiment
            else "plan an experiment"
        )
        self.query_one("#mde", Input).focus()
        if self.experiment is None:
            self.load_metrics()
        self.action_plan()

    @work(thread=True, exclusive=True, group="metrics")
    def load_metrics(self) -> None:
        """The metrics to plan on, after the types."""
        from vibes_core import metrics

        try:
            listing = self.with_lake(metrics.list_metrics)
        except VibesError:
            return  # no lake, no metrics: the types still plan
        names = [m.name for m in listing.metrics]
        if names:
            self.from_worker(self.add_metrics, names)

    def add_metrics(self, names: list[str]) -> None:
        source = self.query_one("#source", Select)
        chosen = source.value
        options = [*planned_types(), *((f"metric {plain(n)}", f"{METRIC}{n}") for n in names)]
        source.set_options(options)
        source.value = chosen

    @on(Select.Changed, "#source")
    def source_changed(self, event: Select.Changed) -> None:
        """A metric's baseline and sd come from its table, and its pace unless given."""
        metric = str(event.value).startswith(METRIC)
        for name in ("baseline", "sd"):
            self.query_one(f"#{name}", Input).disabled = metric
        units = self.query_one("#units_per_day", Input)
        units.placeholder = "from its table" if metric else ""

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.action_plan()

    # --- planning -----------------------------------------------------------------------

    def request(self) -> dict:
        """What the form says, as typed (empty: not given)."""
        found = {}
        for name in self.FIELDS:
            inputs = self.query(f"#{name}").results(Input)
            for widget in inputs:
                found[name] = None if widget.disabled else widget.value.strip() or None
        if self.experiment is None:
            found["source"] = str(self.query_one("#source", Select).value)
        found["prior"] = str(self.query_one("#prior", Select).value)
        return found

    def action_plan(self) -> None:
        for name in self.FIELDS:
            if self.query(f"#{name}-error"):
                self.show_error(name, "")
        self.started = time.perf_counter()
        self.query_one("#plan-status", DataText).update("planning: simulating 1,000 experiments…")
        self.query_one("#plan-result", Static).loading = True
        self.compute(self.request())

    @work(thread=True, exclusive=True, group="plan")
    def compute(self, given: dict) -> None:
        from vibes_core import plan as planning

        def number(name: str) -> float | None:
            text = given.get(name)
            return None if text is None else planning.parse_share(text, name)

        try:
            mde, power = number("mde"), number("power")
            if mde is None:
                raise InvalidOption(f"give the {option('mde')}, e.g. 5%")
            power = planning.POWER if power is None else power
            planning.check(mde, power)
            units, split = number("units_per_day"), given.get("split")
            source = given.get("source", "")
            if self.experiment is not None:
                design = self.with_lake(
                    lambda lake: planning.from_experiment(lake, self.experiment, units, split)
                )
            elif source.startswith(METRIC):
                name = source.removeprefix(METRIC)
                design = self.with_lake(lambda lake: planning.from_metric(lake, name, units, split))
            else:
                type_name, _, likelihood = source.partition(":")
                design = planning.from_numbers(
                    type_name, number("baseline"), units, number("sd"), split, likelihood or None
                )
            if given["prior"] == LEARNED:  # its type's, or its metric's (`vibes priors learn`)
                design = self.with_lake(lambda lake: planning.with_learned(lake, design))
            answer = planning.plan(design, mde, power)
        except VibesError as error:
            self.from_worker(self.failed, error)
            return
        if not get_current_worker().is_cancelled:
            self.from_worker(self.show, answer, design.kind.unit)

    def show(self, answer: dict, unit) -> None:
        from vibes_core.plan import plot_spec

        self.answer = answer
        result = self.query_one("#plan-result", Static)
        result.loading = False
        result.update(Group(*plan_renderables(answer, unit)))
        self.query_one("#plan-plot", PlotView).show(plot_spec(answer))
        self.seconds = time.perf_counter() - self.started  # not shown: snapshots are alike
        self.query_one("#plan-status", DataText).update("ctrl+s or enter plans again")

    def failed(self, error: VibesError) -> None:
        self.query_one("#plan-result", Static).loading = False
        message = error.words(field_name)
        field_named = next(
            (name for name in error.options if name in self.FIELDS and self.query(f"#{name}")),
            None,
        )
        if field_named is not None:
            self.show_error(field_named, message)
        self.query_one("#plan-status", DataText).update(f"not planned: {message}")

    def show_error(self, name: str, message: str) -> None:
        show_field_error(self, name, message)
