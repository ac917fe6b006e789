"""Metrics adjusted for what units did before exposure (CUPED): the adjusted uplifts against
statsmodels' OLS of y ~ variant + (x - x̄) on the same units, computed by pandas from the
files; the summary's `adjustment`; `--no-adjust`; a covariate without variance."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from tests import SHORT_RUN_R_HAT
from tests.test_scorecard import T0, hours, write_csv

PRE_DAYS = 14


def orders_around(rng, units: int, lifts: dict[str, float]):
    """Units assigned over 10 days; each orders at a rate of its own (a Gamma draw) both in
    the 14 days before its exposure and in the 7 after (the treated variants' rates times
    their lift), amounts log-normal: what it did before predicts what it does after."""
    names = list(lifts)
    variant = np.array(names)[rng.integers(0, len(names), units)]
    variant[: len(names)] = names  # every variant present, the control first
    exposure = T0 + pd.to_timedelta(rng.uniform(0, 240, units), unit="h")
    ids = np.array([f"u{i}" for i in range(units)])
    rate = rng.gamma(0.8, 0.5, units)
    before = rng.poisson(rate * 2)
    after = rng.poisson(rate * np.array([lifts[v] for v in variant]))
    rows = []
    for count, lower, upper in ((before, -PRE_DAYS * 24, 0), (after, 0, 7 * 24)):
        unit = np.repeat(ids, count)
        offset = rng.uniform(lower, upper, count.sum())
        rows.append(
            pd.DataFrame(
                {
                    "unit": unit,
                    "timestamp": np.repeat(exposure, count) + pd.to_timedelta(offset, unit="h"),
                    "status": "paid",
                    "amount": rng.lognormal(3, 0.6, count.sum()).round(2),
                }
            )
        )
    assignments = pd.DataFrame({"timestamp": exposure, "unit": ids, "variant": variant})
    return assignments, pd.concat(rows, ignore_index=True)


def per_unit(assignments, orders, lower_hours, upper_hours):
    """Each unit's paid orders in [exposure + lower, exposure + upper): count and amount."""
    joined = assignments.merge(orders, on="unit", how="left", suffixes=("", "_event"))
    inside = (joined["timestamp_event"] >= joined["timestamp"] + hours(lower_hours)) & (
        joined["timestamp_event"] < joined["timestamp"] + hours(upper_hours)
    )
    joined["n"] = inside.astype(int)
    joined["v"] = np.where(inside, joined["amount"], 0.0)
    return joined.groupby(["unit", "variant"])[["n", "v"]].sum().reset_index()


def set_up(cli, tmp_path, assignments, orders) -> None:
    """The event table orders and the experiment shop on the assignments, from files."""
    files = [
        write_csv(tmp_path / f"{name}.csv", frame)
        for name, frame in (("assignments", assignments), ("orders", orders))
    ]
    assert cli("tables", "upload", "orders", files[1]).code == 0
    created = ("experiments", "create", "shop", "--type", "assignments")
    assert cli(*created, "--initial-data-file", files[0]).code == 0


@pytest.fixture
def three_variants(cli, tmp_path):
    rng = np.random.default_rng(26)
    assignments, orders = orders_around(rng, 6000, {"control": 1.0, "b": 1.08, "c": 0.97})
    set_up(cli, tmp_path, assignments, orders)
    paid = ["--table", "orders", "--where", "status = 'paid'", "--window", "7d"]
    for args in (["orders", "--kind", "count"], ["spend", "--kind", "mean", "--value", "amount"]):
        made = cli("metrics", "create", args[0], *paid, *args[1:])
        assert made.code == 0, made.err
    roles = ("experiments", "metrics", "shop", "--goal", "orders", "--secondary", "spend")
    assert cli(*roles).code == 0
    return assignments, orders


def test_adjusted_uplifts_equal_statsmodels_ols_with_a_dummy_per_variant(cli, three_variants):
    assignments, orders = three_variants
    answer = cli("posterior", "shop", "--exact", "--json")
    assert answer.code == 0, answer.err
    metrics = {m["name"]: m for m in answer.json()["metrics"]}
    y = per_unit(assignments, orders, 0, 7 * 24)
    x = per_unit(assignments, orders, -PRE_DAYS * 24, 0)
    units = y.merge(x, on=["unit", "variant"], suffixes=("_y", "_x"))
    for name, column in (("orders", "n"), ("spend", "v")):
        outcome, covariate = units[f"{column}_y"], units[f"{column}_x"]
        design = pd.DataFrame(
            {
                "const": 1.0,
                "b": (units["variant"] == "b") * 1.0,
                "c": (units["variant"] == "c") * 1.0,
                "x": covariate - covariate.mean(),
            }
        )
        ols = sm.OLS(outcome, design).fit()
        summary = metrics[name]
        groups = {g["name"]: g for g in summary["groups"]}
        for variant in ("b", "c"):
            uplift = groups[variant]["uplift_abs"]
            assert uplift["mean"] == pytest.approx(ols.params[variant], abs=1e-6), name
            # A 94% HDI of a near-Normal posterior is 2 x 1.881 of its standard deviations.
            sd = (uplift["hdi_high"] - uplift["hdi_low"]) / (2 * 1.8808)
            assert sd == pytest.approx(ols.bse[variant], rel=0.01), name
        # The adjustment said: the slope, the within-variant correlation, less variance.
        adjustment = summary["adjustment"]
        assert adjustment["method"] == "cuped" and adjustment["pre_window"] == "14d"
        assert adjustment["theta"] == pytest.approx(ols.params["x"], rel=1e-9)
        within = units.assign(
            y=outcome - outcome.groupby(units["variant"]).transform("mean"),
            x=covariate - covariate.groupby(units["variant"]).transform("mean"),
        )
        correlation = np.corrcoef(within["x"], within["y"])[0, 1]
        assert adjustment["correlation"] == pytest.approx(correlation, rel=1e-9)
        unadjusted = sm.OLS(outcome, design.drop(columns="x")).fit().bse["b"] ** 2
        reduction = 1 - ols.bse["b"] ** 2 / unadjusted
        assert adjustment["variance_reduction"] == pytest.approx(reduction, abs=0.01)
        assert adjustment["variance_reduction"] > 0.05  # the units' own rates carry over
    shown = cli("posterior", "shop", "--exact")
    assert "adjusted for the 14d before exposure (CUPED), variance: orders -" in shown.out


def test_no_adjust_answers_with_each_kind_s_own_model(cli, three_variants, ab_test):
    plain = cli("posterior", "shop", "--exact", "--json", "--no-adjust")
    assert plain.code == 0, plain.err
    metrics = plain.json()["metrics"]
    assert [m["adjustment"] for m in metrics] == [None, None]
    assert "sum_x" not in metrics[0]["groups"][0]
    assert "CUPED" not in cli("posterior", "shop", "--exact", "--no-adjust").out
    one = cli("posterior", "shop", "--exact", "--json", "--metric", "spend")
    assert one.json()["adjustment"]["method"] == "cuped"
    refused = cli("posterior", ab_test, "--exact", "--no-adjust")
    assert refused.code == 1 and "--no-adjust is for experiments on units" in refused.err


def test_a_covariate_without_variance_adjusts_nothing_and_says_why(cli, tmp_path):
    rng = np.random.default_rng(3)
    assignments, orders = orders_around(rng, 1000, {"control": 1.0, "treatment": 1.1})
    exposed = orders.merge(assignments[["unit", "timestamp"]], on="unit", suffixes=("", "_at"))
    after = exposed[exposed["timestamp"] >= exposed["timestamp_at"]][orders.columns]
    set_up(cli, tmp_path, assignments, after)
    assert cli("metrics", "create", "orders", "--table", "orders", "--kind", "count").code == 0
    assert cli("experiments", "metrics", "shop", "--goal", "orders").code == 0
    answer = cli("posterior", "shop", "--exact", "--json").json()
    [metric] = answer["metrics"]
    assert metric["adjustment"] is None and "sum_x" not in metric["groups"][0]
    assert any("orders: not adjusted" in w and "14d" in w for w in answer["warnings"])


@pytest.mark.mcmc
def test_the_adjusted_mcmc_fit_agrees_with_the_exact_one(cli, three_variants):
    exact = cli("posterior", "shop", "--exact", "--json").json()
    fast = ("--draws", "500", "--tune", "500", "--chains", "2", "--json")
    fitted = cli("posterior", "shop", *fast)
    assert fitted.code == 0, fitted.err
    mcmc = fitted.json()
    assert mcmc["diagnostics"]["max_r_hat"] < SHORT_RUN_R_HAT
    assert mcmc["diagnostics"]["divergences"] == 0
    for one, other in zip(mcmc["metrics"], exact["metrics"], strict=True):
        assert one["adjustment"] == pytest.approx(other["adjustment"], rel=1e-9)  # sums' last bits
        for a, b in zip(one["groups"], other["groups"], strict=True):
            assert abs(a["mean"] - b["mean"]) <= 4 * a["mcse"], (one["name"], a, b)
            width = b["hdi_high"] - b["hdi_low"]
            assert a["hdi_high"] - a["hdi_low"] == pytest.approx(width, rel=0.15)


def test_future_units_sums_have_the_distribution_of_units_drawn_one_by_one():
    """How long to keep running simulates new units' sums at once (their covariates Normal,
    their values from the regression): each sum's mean and spread, and Σxy's correlation with
    Σx², as numpy's units drawn one by one (x ~ Normal, y = base + slope x + Normal noise)."""
    from vibes_core.families import AdjustedMean
    from vibes_core.stats import Stats

    futures, m = 20_000, 40
    truths = {
        "variance": np.full((futures, 1), 4.0),
        "slope": np.full((futures, 1), 0.7),
        "value": np.full((futures, 2), [3.0, 3.5]),
        "x_all": np.array([2.0]),
        "x_variance": np.array([1.5]),
    }
    zeros = {name: np.zeros((futures, 2)) for name in ("units", "sum_value", "sum_value2")}
    zeros |= {name: np.zeros((futures, 2)) for name in ("sum_x", "sum_x2", "sum_xy")}
    stats = Stats(["a", "b"], {name: np.ones(2) for name in zeros})
    rng = np.random.default_rng(1)
    fast = AdjustedMean().future_stats(stats, zeros, truths, np.array([m, m]), rng)
    x = rng.normal(2.0, np.sqrt(1.5), (futures, 2, m))
    base = np.array([3.0, 3.5])[:, None] - 0.7 * 2.0
    y = base + 0.7 * x + rng.normal(0, 2.0, (futures, 2, m))
    slow = {
        "sum_value": y.sum(-1),
        "sum_value2": (y * y).sum(-1),
        "sum_x": x.sum(-1),
        "sum_x2": (x * x).sum(-1),
        "sum_xy": (x * y).sum(-1),
    }
    assert (fast["units"] == m).all()
    for name, values in slow.items():
        for group in (0, 1):
            mine, theirs = fast[name][:, group], values[:, group]
            error = theirs.std() / np.sqrt(futures)
            assert abs(mine.mean() - theirs.mean()) < 4 * np.sqrt(2) * error, name
            assert mine.std() == pytest.approx(theirs.std(), rel=0.04), name
    together = np.corrcoef(fast["sum_xy"][:, 0], fast["sum_x2"][:, 0])[0, 1]
    assert together == pytest.approx(
        np.corrcoef(slow["sum_xy"][:, 0], slow["sum_x2"][:, 0])[0, 1], abs=0.03
    )
