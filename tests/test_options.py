"""Analysis options saved with an experiment: set in the dashboard's panel (`o`), used by the
CLI and the dashboard alike, overridden by an option given, and never saved when invalid."""

import json

import pytest
from scipy import stats
from textual.widgets import DataTable, Input, Select

from tests.test_tui import settle, until
from vibes_core import catalog, inference
from vibes_core.analysis import Analysis
from vibes_tui.app import VibesApp
from vibes_tui.screens.inspect import InspectScreen
from vibes_tui.screens.options import OptionsScreen

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

COUNTS = {"A": (40, 400), "B": (55, 400), "C": (48, 400)}  # successes, trials


@pytest.fixture
def abc(cli, tmp_path) -> str:
    events = [
        {"variant": name, "outcome": i < successes}
        for name, (successes, trials) in COUNTS.items()
        for i in range(trials)
    ]
    path = tmp_path / "abc.json"
    path.write_text(json.dumps(events))
    made = cli("experiments", "create", "abc", "--type", "ab-test", "--initial-data-file", path)
    assert made.code == 0, made.err
    return "abc"


def mass(group: dict) -> float:
    """The Beta(1 + successes, 1 + failures) posterior's mass inside the group's HDI."""
    successes, trials = COUNTS[group["name"]]
    beta = stats.beta(1 + successes, 1 + trials - successes)
    return beta.cdf(group["hdi_high"]) - beta.cdf(group["hdi_low"])


async def open_options(app, pilot, name: str) -> OptionsScreen:
    await settle(app, pilot)
    app.open_experiment(name)
    await until(pilot, lambda: isinstance(app.screen, InspectScreen) and app.screen.summary)
    await pilot.press("o")
    await until(pilot, lambda: isinstance(app.screen, OptionsScreen))
    return app.screen


async def test_options_set_in_the_panel_are_what_the_cli_answers_with(home, abc, cli):
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await open_options(app, pilot, abc)
        panel.query_one("#control", Select).value = "B"
        panel.query_one("#hdi_prob", Input).value = "0.8"
        panel.query_one("#rope", Input).value = "0.05"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, InspectScreen))
        inspect = app.screen
        await until(pilot, lambda: inspect.summary and inspect.summary["control"] == "B")
        assert inspect.summary["hdi_prob"] == 0.8
        exact = inspect.summary["method"] == "exact"  # else the fit, if it finished first
        for group in inspect.summary["groups"]:
            assert mass(group) == pytest.approx(0.8, abs=1e-6 if exact else 0.02)
        table = inspect.query_one("#summary", DataTable)  # says which interval it shows
        assert [str(column.label) for column in table.columns.values()][1] == "mean [80% HDI]"
        await settle(app, pilot)  # its fit done: no thread of it runs on beside the CLI below
    with catalog.open_lake() as lake:
        assert catalog.get(lake, abc).analysis == Analysis(control="B", hdi_prob=0.8, rope=0.05)

    answer = cli("posterior", abc, "--exact", "--json")
    assert answer.code == 0, answer.err
    summary = answer.json()
    assert summary["control"] == "B" and summary["hdi_prob"] == 0.8
    assert "0.05" in summary["verdict"]["rule"] or "5%" in summary["verdict"]["rule"]
    assert all(mass(group) == pytest.approx(0.8, abs=1e-6) for group in summary["groups"])
    assert "saved options" in answer.err and "hdi_prob 0.8" in answer.err
    given = cli("posterior", abc, "--exact", "--json", "--hdi-prob", "0.94", "--control", "A")
    summary = given.json()  # an option given wins; the others stay saved
    assert summary["control"] == "A" and summary["hdi_prob"] == 0.94
    assert all(mass(group) == pytest.approx(0.94, abs=1e-6) for group in summary["groups"])
    listed = cli("experiments", "list").json()
    assert listed[0]["options"] == {"control": "B", "hdi_prob": 0.8, "rope": 0.05}


async def test_the_panel_shows_what_is_saved_and_resets_to_the_defaults(home, abc):
    with catalog.open_lake() as lake:
        catalog.save_analysis(lake, abc, Analysis(hdi_prob=0.9, split={"A": 2, "B": 1, "C": 1}))
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await open_options(app, pilot, abc)
        assert panel.query_one("#hdi_prob", Input).value == "0.9"
        assert panel.query_one("#split", Input).value == "A=2,B=1,C=1"
        assert not panel.query("#threshold")  # a Bernoulli option: not an ab-test's
        await pilot.press("ctrl+r", "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, InspectScreen))
        await until(pilot, lambda: app.screen.summary and app.screen.summary["hdi_prob"] == 0.94)
    with catalog.open_lake() as lake:
        assert catalog.get(lake, abc).analysis == Analysis()


BAD_OPTIONS = [  # (field, typed, what the panel says)
    ("hdi_prob", "2", "HDI probability"),
    ("split", "A=50", "at least two variants"),
    ("prior", "gamma=3", "gamma"),  # parses, but an ab-test's prior has no gamma
    ("split", "A=1,Z=1", "Z"),  # a variant the experiment does not have
]


async def test_a_bad_option_is_said_in_the_panel_and_nothing_is_saved(home, abc):
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await open_options(app, pilot, abc)
        for field, typed, said in BAD_OPTIONS:  # one dashboard, the panel opened afresh each time
            panel.query_one(f"#{field}", Input).value = typed
            await pilot.press("ctrl+s")
            status = panel.query_one("#options-status")
            await until(pilot, lambda s=status: str(s.render()) not in ("", "checking..."))
            assert said in str(status.render()) and app.screen is panel, (field, typed)
            await pilot.press("escape")
            assert isinstance(app.screen, InspectScreen)
            with catalog.open_lake() as lake:
                assert catalog.get(lake, abc).analysis == Analysis(), (field, typed)
            await pilot.press("o")
            await until(pilot, lambda: isinstance(app.screen, OptionsScreen))
            panel = app.screen
            assert panel.query_one(f"#{field}", Input).value != typed  # nothing was kept


async def test_o_opens_when_the_posterior_fails_and_says_every_problem_at_once(home, abc):
    """A prior saved by another version that this type does not have: the posterior fails,
    and `o` still opens, its groups from the catalog. Every field wrong at once is said at
    once, each after its name, and nothing is saved."""

    def damage(con) -> None:
        con.execute(f"UPDATE {catalog.METADATA} SET options = ?", ['{"prior": "gamma=3"}'])

    with catalog.open_lake() as lake:
        lake.write(damage, "as another version wrote it")
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.open_experiment(abc)
        await until(pilot, lambda: isinstance(app.screen, InspectScreen) and app.screen.is_mounted)
        screen = app.screen
        decision = screen.query_one("#decision")
        await until(pilot, lambda: screen.summary or "error" in str(decision.render()))
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, OptionsScreen))
        panel = app.screen
        options = panel.query_one("#control", Select)._options
        assert [value for _, value in options if value is not Select.NULL] == ["A", "B", "C"]
        typed = {"hdi_prob": "2", "max_loss": "7", "prior": "gamma=3", "split": "A=1,Z=1"}
        for field, value in typed.items():
            panel.query_one(f"#{field}", Input).value = value
        await pilot.press("ctrl+s")
        status = panel.query_one("#options-status")
        await until(pilot, lambda: str(status.render()) not in ("", "checking..."))
        said = str(status.render()).splitlines()
        assert len(said) == 4 and app.screen is panel
        assert said[0].startswith("HDI probability: ")
        assert said[1].startswith("Prior (name=value,... or learned): ") and "gamma" in said[1]
        assert said[2].startswith("Intended split, for the SRM check: ") and "'Z'" in said[2]
        assert said[3].startswith("Verdict: largest expected loss: ") and "7" in said[3]
        assert all(panel.query_one(f"#{field}").has_class("-invalid") for field in typed)
    with catalog.open_lake() as lake:
        assert catalog.get(lake, abc).analysis == Analysis(prior="gamma=3")  # as it was


def test_options_stored_by_another_version_or_damaged_are_ignored(home, abc, cli):
    def damage(con) -> None:
        stored = json.dumps({"hdi_prob": "lots", "control": "B", "colour": "red"})
        con.execute(f"UPDATE {catalog.METADATA} SET options = ?", [stored])

    with catalog.open_lake() as lake:
        lake.write(damage, "as another version wrote it")
        assert catalog.get(lake, abc).analysis == Analysis(control="B")
    summary = cli("posterior", abc, "--exact", "--json").json()
    assert summary["control"] == "B" and summary["hdi_prob"] == 0.94

    with catalog.open_lake() as lake:
        lake.write(lambda con: con.execute(f"UPDATE {catalog.METADATA} SET options = '{{'"), "x")
        assert catalog.get(lake, abc).analysis == Analysis()


@pytest.mark.mcmc
def test_saved_options_resummarize_the_cached_fit_and_a_new_prior_refits(home, abc):
    """A new HDI probability or control is a cache hit (the draws summarized again); a new
    prior is a different model, so a miss: it must be fitted."""
    small = inference.Settings(draws=200, tune=200, chains=2)
    with catalog.open_lake() as lake:
        fitted = inference.posterior(lake, abc, small)
        assert fitted["method"] == "mcmc" and not fitted["cached"]
        catalog.save_analysis(lake, abc, Analysis(hdi_prob=0.8, control="C"))
        again = inference.posterior(lake, abc, small, fit=False)
        assert again is not None and again["cached"]
        assert again["hdi_prob"] == 0.8 and again["control"] == "C"
        assert [g["mean"] for g in again["groups"]] == [g["mean"] for g in fitted["groups"]]
        catalog.save_analysis(lake, abc, Analysis(prior="alpha=2,beta=2"))
        assert inference.posterior(lake, abc, small, fit=False) is None
