"""Partial pooling (`vibes posterior --pooled`): against known truth in simulation, in the
documented shape for every type that has a pooled model, cached under its own key, and its
mistakes as one-line errors."""

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats as scipy_stats

from tests.schema_check import problems
from tests.test_contract import declared
from vibes_core import api, catalog, inference
from vibes_core.models import Pooled
from vibes_core.schema import Summary
from vibes_core.types import get_type, registry

GROUPS = 40
REPEATS = 3
FAST = inference.Settings(draws=300, tune=300, chains=2, model=Pooled())


def simulated_rates(rng) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """Events of GROUPS variants, true rates from Beta(4, 36), sizes from 20 to 2,000."""
    truth = rng.beta(4, 36, GROUPS)
    sizes = np.round(np.exp(rng.uniform(np.log(20), np.log(2000), GROUPS))).astype(int)
    names = np.repeat([f"v{i:02d}" for i in range(GROUPS)], sizes)
    outcome = rng.random(sizes.sum()) < np.repeat(truth, sizes)
    return pa.table({"variant": names, "outcome": outcome}), truth, sizes


@pytest.mark.mcmc
def test_pooling_is_closer_to_the_truth_and_its_intervals_cover_it(home):
    rng = np.random.default_rng(14)
    pooled_errors, own_errors, covered = [], [], []
    for repeat in range(REPEATS):
        events, truth, sizes = simulated_rates(rng)
        name = f"sim{repeat}"
        api.create(name, "ab-test", events)
        summary = api.fit(name, draws=500, tune=500, chains=2, pooled=True)
        assert summary["model"] == "pooled"
        rows = {row["name"]: row for row in summary["groups"]}
        for i, rate in enumerate(truth):
            row = rows[f"v{i:02d}"]
            successes = int(
                events.filter(pa.compute.equal(events["variant"], f"v{i:02d}"))["outcome"]
                .to_numpy(zero_copy_only=False)
                .sum()
            )
            # The unpooled estimate beside the pooled one: Beta(1 + s, 1 + n - s) by scipy.
            own = scipy_stats.beta(1 + successes, 1 + sizes[i] - successes)
            assert row["unpooled"]["mean"] == pytest.approx(own.mean(), rel=1e-9)
            pooled_errors.append((row["mean"] - rate) ** 2)
            own_errors.append((own.mean() - rate) ** 2)
            covered.append(row["hdi_low"] <= rate <= row["hdi_high"])
    ratio = np.mean(pooled_errors) / np.mean(own_errors)
    coverage = np.mean(covered)
    assert ratio < 0.8, f"pooled MSE / unpooled MSE = {ratio:.2f}"
    # 120 intervals: coverage 0.94 has a Monte Carlo sd of 0.022.
    assert 0.87 <= coverage <= 0.99, f"94% HDIs covered {coverage:.1%}"


POOLED = [name for name, kind in registry().items() if kind.has_pooled and kind.group_column]


@pytest.mark.mcmc
@pytest.mark.parametrize("type_name", POOLED)
def test_a_pooled_summary_has_the_documented_shape_and_is_cached_apart(home, type_name):
    kind = get_type(type_name)
    events = kind.generate(3000, np.random.default_rng(5))
    api.create("e", type_name, events)
    with catalog.open_lake() as lake:
        independent = inference.posterior(
            lake, "e", inference.Settings(draws=300, tune=300, chains=2)
        )
        pooled = inference.posterior(lake, "e", FAST)
        again = inference.posterior(lake, "e", FAST)
    assert independent["model"] == "independent" and "hyperparameters" not in independent
    assert pooled["model"] == "pooled" and not pooled["cached"]  # not the independent fit
    assert problems(pooled, Summary, extra=declared(kind)) == []
    assert list(pooled["prior"]) == [p.name for p in kind.pooled_priors]
    assert [h["name"] for h in pooled["hyperparameters"]] == [f.name for f in kind.hyperparameters]
    assert all("unpooled" in row for row in pooled["groups"])
    spreads = [f.name for f in kind.hyperparameters if f.name.endswith("tau")]
    assert spreads and set(spreads) <= set(pooled["diagnostics"]["parameters"])
    assert all(h["hdi_low"] <= h["mean"] <= h["hdi_high"] for h in pooled["hyperparameters"])
    assert again["cached"] and again["groups"] == pooled["groups"]
    if type_name == "revenue":  # both parts pooled; its typical buyer's value is in money
        found = {h["name"]: h for h in pooled["hyperparameters"]}
        per_buyer = [row["value_per_buyer"]["mean"] for row in pooled["groups"]]
        # A log-normal's median (exp of the mean log) is below its mean, not a log of it.
        assert 0.25 * min(per_buyer) < found["log_typical"]["mean"] < max(per_buyer)
        shares = [row["conversion"]["mean"] for row in pooled["groups"]]
        assert 0.5 * min(shares) < found["p_typical"]["mean"] < 2 * max(shares)


def test_pooled_mistakes_are_one_line_errors(cli, ab_test, tmp_path):
    both = cli("posterior", ab_test, "--pooled", "--exact")
    assert both.code == 1 and "--pooled is fitted with MCMC only" in both.err
    unknown = cli("posterior", ab_test, "--pooled", "--prior", "alpha=2")
    assert unknown.code == 1
    assert "not a parameter of a pooled ab-test prior" in unknown.err
    assert "center, center_sd, tau_shape, tau_scale" in unknown.err
    events = tmp_path / "b.json"
    assert cli("generate", "bernoulli", "-n", 50, "-o", events).code == 0
    assert (
        cli("experiments", "create", "b", "--type", "bernoulli", "--initial-data-file", events).code
        == 0
    )
    alone = cli("posterior", "b", "--pooled")
    assert alone.code == 1 and "one group: there is nothing to pool" in alone.err
    for result in (both, unknown, alone):
        assert len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err


def test_the_schema_describes_the_pooled_model(cli):
    described = cli("experiments", "schema", "--type", "poisson-cohorts").json()
    assert "log(rate) ~ Normal(mu, tau)" in described["pooled"]["model"]
    assert [p["name"] for p in described["pooled"]["priors"]] == [
        "center",
        "center_sd",
        "tau_shape",
        "tau_scale",
    ]
    assert {h["name"] for h in described["pooled"]["hyperparameters"]} == {"mu", "tau", "typical"}


@pytest.mark.mcmc
async def test_the_dashboard_toggles_pooling_and_draws_a_forest_of_every_group(home, monkeypatch):
    from tests.test_tui import drawn, settle, small_dashboard_fits, until
    from vibes_tui.app import VibesApp
    from vibes_tui.screens.inspect import InspectScreen
    from vibes_tui.widgets.plot import PlotView

    # The checks are of what is shown (a row and a forest row per group, tau's meaning), not
    # of the estimates: two fits of forty groups as small as test_pooled's own FAST.
    small_dashboard_fits(monkeypatch, FAST.draws, FAST.tune, FAST.chains)
    events, _, _ = simulated_rates(np.random.default_rng(3))
    api.create("many", "ab-test", events)
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, InspectScreen)
        await until(pilot, lambda: screen.summary and screen.summary["method"] == "mcmc")
        await pilot.press("p")
        await until(pilot, lambda: screen.summary and screen.summary["model"] == "pooled")
        await settle(app, pilot)
        assert "pooled" in screen.sub_title
        assert screen.query_one("#summary").row_count == GROUPS  # every group, none hidden
        [forest, *_] = screen.query_one("#plots").query(PlotView)
        assert forest.spec["kind"] == "forest" and len(forest.spec["rows"]) == GROUPS
        means = [row["mean"] for row in forest.spec["rows"]]
        assert means == sorted(means, reverse=True)
        assert forest.size.height >= 2 * GROUPS  # a row per estimate: the screen scrolls
        await pilot.press("2")
        await pilot.pause()
        diagnostics = " ".join(drawn(screen.query_one("#diagnostics-text")).split())
        assert "tau" in diagnostics and "the sd of the groups' log-odds" in diagnostics
        await pilot.press("1", "p")
        await until(pilot, lambda: screen.summary and screen.summary["model"] == "independent")


@pytest.mark.mcmc
def test_two_large_groups_pool_without_divergences(home):
    """Two groups of 50,000 users: tau barely identified, the funnel a Normal(mu, tau) makes
    of it and the groups (68 divergences at target_accept 0.95 before tau was integrated
    out); the pooled means stay where the data put them, as scipy's Beta posteriors say."""
    rng = np.random.default_rng(3)
    truth, size = np.array([0.10, 0.11]), 50_000
    outcome = rng.random(2 * size) < np.repeat(truth, size)
    api.create(
        "two", "ab-test", pa.table({"variant": np.repeat(["A", "B"], size), "outcome": outcome})
    )
    summary = api.fit("two", pooled=True)
    assert summary["diagnostics"]["divergences"] == 0
    assert summary["diagnostics"]["max_r_hat"] <= 1.01
    assert "tau" in summary["diagnostics"]["parameters"]
    for row, successes in zip(summary["groups"], outcome.reshape(2, size).sum(axis=1), strict=True):
        own = scipy_stats.beta(1 + successes, 1 + size - successes)
        assert row["mean"] == pytest.approx(own.mean(), abs=own.std())
