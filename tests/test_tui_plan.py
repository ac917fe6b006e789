"""The plan screen (`vibes plan` in the dashboard): from the palette and with `P` on an open
experiment, each plan the core's (computed in a worker), mistakes said under their field."""

import pytest
from textual.widgets import Input, Select

from tests.test_learned import past  # noqa: F401  (a fixture)
from tests.test_palette import open_ab, quiet, run  # noqa: F401  (quiet: a fixture)
from tests.test_tui import drawn, settle, three, until  # noqa: F401  (three: a fixture)
from vibes_core import plan
from vibes_tui.app import VibesApp
from vibes_tui.screens.help import help_text
from vibes_tui.screens.plan import PlanScreen
from vibes_tui.widgets.plot import PlotView

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.usefixtures("home", "three", "quiet"),
]


@pytest.fixture(autouse=True)
def fewer_futures(monkeypatch):
    """200 simulated experiments a plan, not 1,000: the screen shows whatever the core gives."""
    monkeypatch.setattr(plan, "FUTURES", 200)


async def planned(app, pilot) -> PlanScreen:
    """The plan screen once its worker has answered."""
    await until(pilot, lambda: isinstance(app.screen, PlanScreen), 10)
    screen = app.screen
    await settle(app, pilot)
    await until(pilot, lambda: screen.answer is not None, 60)
    return screen


async def replan(app, pilot, screen: PlanScreen, **fields: str) -> None:
    """Type into the fields (by id), then ctrl+s; wait for the worker."""
    for name, value in fields.items():
        screen.query_one(f"#{name}", Input).value = value
    screen.answer = None
    await pilot.press("ctrl+s")
    await settle(app, pilot)


def error_of(screen: PlanScreen, name: str) -> str:
    shown = screen.query_one(f"#{name}-error")
    return "" if shown.has_class("hidden") else str(shown.render())


async def test_the_palette_plans_from_numbers_as_the_core_does():
    app = VibesApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await run(app, pilot, "Plan an experiment")
        screen = await planned(app, pilot)
        expected = plan.plan(plan.from_numbers("ab-test", 0.10, 2000.0), 0.05, 0.8)
        assert screen.answer == expected
        shown = drawn(screen.query_one("#plan-result"))
        assert "57.8k" in shown and "z-test, analysed once" in shown
        assert screen.query_one(PlotView).spec == plan.plot_spec(expected)

        await replan(app, pilot, screen, mde="10%", power="0.9", split="70,30")
        await until(pilot, lambda: screen.answer is not None, 60)
        design = plan.from_numbers("ab-test", 0.10, 2000.0, split="70,30")
        assert screen.answer == plan.plan(design, 0.10, 0.9)


async def test_mistakes_are_said_under_their_field_and_the_screen_stays():
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.open_plan()
        screen = await planned(app, pilot)
        await replan(app, pilot, screen, mde="0")
        assert "MDE 0%" in error_of(screen, "mde")
        assert "not planned" in str(screen.query_one("#plan-status").render())
        await replan(app, pilot, screen, mde="5%", power="[b]x")
        assert "Power '[b]x' is not a number" in error_of(screen, "power")
        assert error_of(screen, "mde") == ""
        screen.query_one("#source", Select).value = "revenue:mean"
        await replan(app, pilot, screen, power="80%", baseline="2.5")
        assert "needs SD of a unit" in error_of(screen, "sd")
        await replan(app, pilot, screen, sd="20")
        await until(pilot, lambda: screen.answer is not None, 60)
        assert screen.answer["type"] == "revenue, unit mean" and screen.answer["sd"] == 20
        assert isinstance(app.screen, PlanScreen)


async def test_p_on_an_experiment_plans_the_next_one_like_it():
    app = VibesApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await open_ab(app, pilot)
        await pilot.press("P")
        screen = await planned(app, pilot)
        assert screen.experiment == "ab"
        lake = app.main_lake()
        assert screen.answer == plan.plan(plan.from_experiment(lake, "ab"), 0.05, 0.8)
        assert screen.answer["source"] == "experiment" and screen.answer["name"] == "ab"
        await replan(app, pilot, screen, units_per_day="500")
        await until(pilot, lambda: screen.answer is not None, 60)
        assert screen.answer["units_per_day"] == 500
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, PlanScreen), 5)


async def test_the_palette_offers_a_plan_of_the_open_experiment():
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await open_ab(app, pilot)
        await run(app, pilot, "plan the next experiment like ab")
        screen = await planned(app, pilot)
        assert screen.experiment == "ab"


def test_the_help_says_the_key():
    from rich.console import Console

    console = Console(width=120, record=True)
    console.print(help_text())
    text = console.export_text()
    assert "plan the next experiment like this one" in text and "Plan (P" in text


async def test_a_plan_under_the_prior_learned_from_the_lake(cli, past):  # noqa: F811
    app = VibesApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.open_plan()
        screen = await planned(app, pilot)
        screen.query_one("#prior", Select).value = "learned"
        await replan(app, pilot, screen)
        status = str(screen.query_one("#plan-status").render())
        assert "no prior learned for type ab-test yet" in status
        assert cli("priors", "learn", "--type", "ab-test").code == 0
        await replan(app, pilot, screen)
        await until(pilot, lambda: screen.answer is not None, 120)
        assert screen.answer["bayesian"]["prior"] == "learned"
        assert screen.answer["learned_prior"]["experiments"] == 13  # the twelve and ab
        series = screen.query_one(PlotView).spec["series"]
        assert series[-1]["name"] == "effects drawn from the learned prior"
        assert "drawn from the prior learned from 13" in drawn(screen.query_one("#plan-result"))
