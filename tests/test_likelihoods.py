"""A likelihood chosen per analysis (`--likelihood`): revenue's unit mean beside its default
log-normal. Through the CLI's entry point, the API and the lake on disk; the numbers against
scipy's Student-t of the Normal-Inverse-Gamma update, written here from the textbook."""

import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats as distributions
from textual.widgets import Input, Select

from tests import SHORT_RUN_R_HAT
from tests.test_tui import settle, until
from vibes_core import api, catalog
from vibes_core.analysis import Analysis
from vibes_tui.app import VibesApp
from vibes_tui.screens.options import OptionsScreen

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# 5% of users buy, a typical buyer spends 40 (log-normal, sd 1 of the logs), and 0.5% of
# buyers spend 100 times as much: whales, which the log-normal's tail does not fit.
SHARE, TYPICAL, WHALES, FACTOR = 0.05, 40.0, 0.005, 100.0
USERS = 30_000  # per variant
EXACT_DRAWS = 200_000  # per group, of the exact posterior (two groups)
MEAN_PRIOR = ["alpha", "beta", "center", "kappa", "shape", "sd"]


def spent(rng, users: int) -> np.ndarray:
    bought = rng.random(users) < SHARE
    values = rng.lognormal(math.log(TYPICAL), 1.0, users)
    return np.where(bought, values * np.where(rng.random(users) < WHALES, FACTOR, 1.0), 0.0)


@pytest.fixture
def whales(cli, tmp_path) -> dict[str, np.ndarray]:
    """A revenue experiment `w`: variants A (the control: first) and B, each user's value."""
    rng = np.random.default_rng(11)
    values = {"A": spent(rng, USERS), "B": spent(rng, USERS)}
    path = tmp_path / "whales.parquet"
    table = pa.table(
        {
            "variant": np.repeat(list(values), USERS),
            "value": np.concatenate(list(values.values())),
        }
    )
    pq.write_table(table, path)
    made = cli("experiments", "create", "w", "--type", "revenue", "--initial-data-file", path)
    assert made.code == 0, made.err
    return values


def student_t(values: np.ndarray, everyone: np.ndarray):
    """The value per user's marginal posterior under the Normal model of each user's value,
    with the documented default prior: Normal-Inverse-Gamma(mu0 = every user's mean, kappa0 =
    1, a0 = 1, b0 = a0 * (every user's sd) ** 2). Student-t with 2 a_n degrees of freedom,
    location mu_n, scale sqrt(b_n / (a_n kappa_n)) (Murphy 2007, "Conjugate Bayesian analysis
    of the Gaussian distribution", section 6)."""
    mu0, kappa0, a0 = everyone.mean(), 1.0, 1.0
    b0 = a0 * everyone.var(ddof=1)
    n, xbar = len(values), values.mean()
    kappa_n = kappa0 + n
    mu_n = (kappa0 * mu0 + n * xbar) / kappa_n
    a_n = a0 + n / 2
    b_n = b0 + 0.5 * np.sum((values - xbar) ** 2) + kappa0 * n * (xbar - mu0) ** 2 / (2 * kappa_n)
    return distributions.t(2 * a_n, loc=mu_n, scale=math.sqrt(b_n / (a_n * kappa_n)))


def answer(cli, *args) -> dict:
    result = cli("posterior", "w", *args, "--json")
    assert result.code == 0, result.err
    return result.json()


def test_the_unit_means_exact_posterior_is_the_student_t_of_the_values(cli, whales):
    everyone = np.concatenate(list(whales.values()))
    summary = answer(cli, "--exact", "--likelihood", "mean")
    assert summary["likelihood"] == "mean" and summary["type"] == "revenue"
    assert list(summary["prior"]) == MEAN_PRIOR
    assert summary["prior"]["center"] == pytest.approx(everyone.mean(), rel=1e-9)
    assert summary["prior"]["sd"] == pytest.approx(everyone.std(ddof=1), rel=1e-9)
    for row in summary["groups"]:
        values = whales[row["name"]]
        t = student_t(values, everyone)
        # Its mean is the users' mean value (up to one user's weight of prior), within the
        # Monte Carlo error of 200,000 exact draws.
        assert abs(row["mean"] - values.mean()) <= 0.02 * t.std()
        assert row["mean"] == pytest.approx(t.mean(), abs=5 * t.std() / math.sqrt(EXACT_DRAWS))
        # Symmetric and unimodal: the HDI is the central interval.
        assert [row["hdi_low"], row["hdi_high"]] == pytest.approx(
            t.ppf([0.03, 0.97]), abs=0.02 * t.std()
        )
        buyers = int((values > 0).sum())
        assert row["buyers"] == buyers and row["users"] == USERS
        share = distributions.beta(1 + buyers, 1 + USERS - buyers)
        assert row["conversion"]["mean"] == pytest.approx(share.mean(), abs=5 * share.std() / 400)
    # Nothing said of the log-normal's tail or its sd_max: this model has neither.
    assert not [w for w in summary["warnings"] if "log-normal" in w or "sd_max" in w]

    # The default likelihood of the same data: lower than the users' mean, and it says so,
    # naming the flag that stays honest.
    default = answer(cli, "--exact")
    assert "likelihood" not in default and "center" not in default["prior"]
    for row in default["groups"]:
        assert row["mean"] < 0.9 * whales[row["name"]].mean()
    said = [w for w in default["warnings"] if "log-normal model implies" in w]
    assert said and all("--likelihood mean (the mean of the values" in w for w in said)

    titles = {
        likelihood: cli("posterior", "w", "--exact", "--format", "markdown", *args).out
        for likelihood, args in (("mean", ["--likelihood", "mean"]), ("default", []))
    }
    assert titles["mean"].startswith("**w** (revenue, unit mean)")
    assert titles["default"].startswith("**w** (revenue)")
    assert "(revenue, unit mean)" in cli("posterior", "w", "--exact", "--likelihood", "mean").out
    # The API, the same answer.
    assert api.fit("w", exact=True, likelihood="mean")["groups"] == summary["groups"]


def test_a_saved_likelihood_is_what_every_answer_uses_until_one_is_given(cli, whales):
    saved = cli("experiments", "options", "w", "--likelihood", "mean")
    assert saved.code == 0 and saved.json() == {"likelihood": "mean"}, saved.err
    with catalog.open_lake() as lake:
        assert catalog.get(lake, "w").analysis == Analysis(likelihood="mean")

    result = cli("posterior", "w", "--exact", "--json")
    assert result.code == 0 and "saved options" in result.err and "likelihood mean" in result.err
    summary = result.json()
    assert summary["likelihood"] == "mean" and list(summary["prior"]) == MEAN_PRIOR
    given = answer(cli, "--exact", "--likelihood", "mean")
    assert summary["groups"] == given["groups"]
    assert api.fit("w", exact=True)["likelihood"] == "mean"

    default = answer(cli, "--exact", "--likelihood", "log-normal")  # given: it wins
    assert "likelihood" not in default and "sd_max" in default["prior"]
    assert "likelihood" not in api.fit("w", exact=True, likelihood="log-normal")

    # A prior is checked against the saved likelihood's parameters.
    prior = cli("experiments", "options", "w", "--prior", "kappa=2,sd=50")
    assert prior.code == 0, prior.err
    assert answer(cli, "--exact")["prior"]["sd"] == 50
    wrong = cli("experiments", "options", "w", "--prior", "sd_max=5")
    assert wrong.code == 1 and wrong.err.count("\n") == 1
    assert "'sd_max' is not a parameter of a revenue (unit mean) prior" in wrong.err
    # Another likelihood is checked with the prior saved: give one of its own with it.
    switch = cli("experiments", "options", "w", "--likelihood", "log-normal")
    assert switch.code == 1 and switch.err.count("\n") == 1 and "'sd'" in switch.err
    kept = {"prior": "kappa=2,sd=50", "likelihood": "mean"}
    assert cli("experiments", "options", "w").json() == kept
    both = cli("experiments", "options", "w", "--likelihood", "log-normal", "--prior", "kappa=2")
    assert both.code == 0, both.err
    switched = answer(cli, "--exact")
    assert "likelihood" not in switched and switched["prior"]["kappa"] == 2


def test_a_saved_likelihood_the_type_does_not_offer_is_left_out_with_a_warning(cli, whales):
    with catalog.open_lake() as lake:  # as another version of vibes (or a plugin) saved it
        catalog.save_analysis(lake, "w", Analysis(likelihood="median"))
    result = cli("posterior", "w", "--exact", "--json")
    assert result.code == 0, result.err
    assert "likelihood" not in result.json()
    [warning] = [line for line in result.err.splitlines() if "saved likelihood" in line]
    assert "w's saved likelihood is left out" in warning and "log-normal (the default)" in warning


def test_a_likelihood_not_offered_is_one_line_and_nothing_is_saved(cli, whales, ab_test):
    cases = [
        ("w", "median", "is not a likelihood of revenue experiments: choose log-normal"),
        (ab_test, "mean", "ab-test experiments have one likelihood; leave out --likelihood"),
    ]
    for name, likelihood, said in cases:
        for command in (["experiments", "options", name], ["posterior", name, "--exact"]):
            result = cli(*command, "--likelihood", likelihood)
            assert result.code == 1 and result.out == "", (command, result.err)
            assert result.err.count("\n") == 1 and said in result.err, result.err
        assert cli("experiments", "options", name).json() == {}
    for flags, said in (
        (["--pooled"], "no pooled model with --likelihood mean: leave out --pooled"),
        (["--by", "segment"], "no breakdown model with --likelihood mean: leave out --by"),
    ):
        result = cli("posterior", "w", "--likelihood", "mean", *flags)
        assert result.code == 1 and result.out == "" and result.err.count("\n") == 1
        assert said in result.err, result.err
    both = cli("posterior", "w", "--likelihood", "mean", "--pooled", "--exact")
    assert both.code == 1 and both.err.count("\n") == 1


def test_posterior_help_names_the_types_that_offer_several(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # one line an option
    shown = " ".join(cli("posterior", "--help").out.replace("│", " ").split())
    assert "--likelihood" in shown and "revenue: log-normal (the default), mean" in shown


def composed(app) -> bool:
    return isinstance(app.screen, OptionsScreen) and bool(app.screen.query("#prior"))


async def test_the_options_panel_offers_a_likelihood_only_where_there_are_several(
    home, whales, ab_test
):
    """The panel pushed over the list (no fit is started): revenue's has the choice, and its
    prior's defaults follow it; an ab-test's has none."""
    app = VibesApp()
    closed = []
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(app, pilot)
        app.push_screen(OptionsScreen(ab_test, "ab-test", ["A", "B"], Analysis()), closed.append)
        await until(pilot, lambda: composed(app))
        assert not app.screen.query("#likelihood")
        await pilot.press("escape")
        await settle(app, pilot)

        app.push_screen(OptionsScreen("w", "revenue", ["A", "B"], Analysis()), closed.append)
        await until(pilot, lambda: composed(app))
        panel = app.screen
        prior = panel.query_one("#prior", Input)
        assert "sd_max=" in prior.placeholder and "center" not in prior.placeholder
        panel.query_one("#likelihood", Select).value = "mean"
        await until(pilot, lambda: "center=(data)" in prior.placeholder)
        assert "sd_max" not in prior.placeholder
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(closed) == 2)
        await settle(app, pilot)
    assert closed == [None, Analysis(likelihood="mean")]
    with catalog.open_lake() as lake:
        assert catalog.get(lake, "w").analysis == Analysis(likelihood="mean")


@pytest.mark.mcmc
def test_the_unit_means_mcmc_agrees_with_its_exact_posterior_and_is_cached_apart(cli, whales):
    fast = ["--draws", "500", "--tune", "500", "--chains", "2"]
    log_normal = answer(cli, *fast)
    assert log_normal["cached"] is False and "likelihood" not in log_normal
    # A cached log-normal fit is not the unit mean's: a miss, then a hit of its own.
    fitted = answer(cli, *fast, "--likelihood", "mean")
    assert fitted["cached"] is False and fitted["method"] == "mcmc"
    assert fitted["likelihood"] == "mean" and list(fitted["prior"]) == MEAN_PRIOR
    diagnostics = fitted["diagnostics"]
    assert sorted(diagnostics["parameters"]) == ["p", "value", "variance"]  # every free one
    assert diagnostics["divergences"] == 0 and diagnostics["max_r_hat"] < SHORT_RUN_R_HAT
    exact = answer(cli, "--exact", "--likelihood", "mean")
    for row, closed in zip(fitted["groups"], exact["groups"], strict=True):
        width = closed["hdi_high"] - closed["hdi_low"]
        error = math.hypot(row["mcse"], width / 3.76 / math.sqrt(EXACT_DRAWS))
        assert abs(row["mean"] - closed["mean"]) <= 4 * error, (row, closed)
        assert row["hdi_low"] == pytest.approx(closed["hdi_low"], abs=0.1 * width)
        assert row["hdi_high"] == pytest.approx(closed["hdi_high"], abs=0.1 * width)
        assert row["p_best"] == pytest.approx(closed["p_best"], abs=0.05)
    again = answer(cli, *fast, "--likelihood", "mean")
    assert again["cached"] is True and again["groups"] == fitted["groups"]
    default = answer(cli, *fast)
    assert default["cached"] is True and default["groups"] == log_normal["groups"]
