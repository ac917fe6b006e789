"""Experiments on units: metrics over event tables, their per-variant statistics against a
pandas computation of the same files, their posteriors against independent ones, and the
scorecard's verdict with guardrails. Through the CLI's entry point and the lake on disk."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from tests import SHORT_RUN_R_HAT
from tests.conftest import lake_state

T0 = pd.Timestamp("2026-11-01T00:00:00")


def iso(t: pd.Timestamp) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def hours(h: float) -> pd.Timedelta:
    return pd.Timedelta(hours=h)


def write_csv(path, frame: pd.DataFrame) -> str:
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].map(iso)
    out.to_csv(path, index=False)
    return str(path)


@pytest.fixture
def edge_cases(tmp_path):
    """Assignments and orders with every case a metric must get right, written as files."""
    assignments = pd.DataFrame(
        [
            ("c1", "control", T0),
            ("t1", "treatment", T0 + hours(1)),
            ("c2", "control", T0 + hours(2)),
            ("t2", "treatment", T0 + hours(3)),
            ("c3", "control", T0 + hours(4)),  # no events at all: counts, with 0
            ("t3", "treatment", T0 + hours(5)),
            ("both", "control", T0 + hours(6)),  # under two variants: left out
            ("both", "treatment", T0 + hours(7)),
            ("t1", "treatment", T0 + hours(30)),  # a repeated row: changes nothing
            ("c4", "control", T0 + hours(8)),
        ],
        columns=["unit", "variant", "timestamp"],
    )
    orders = pd.DataFrame(
        [
            ("c1", T0 + hours(1), "paid", 10.0),
            ("c1", T0 + hours(2), "paid", 30.0),
            ("c1", T0 - hours(5), "paid", 99.0),  # before exposure: never counts
            ("c1", T0 + hours(24 * 8), "paid", 7.0),  # after a 7-day window
            ("c2", T0 + hours(3), "refunded", 50.0),  # fails the where
            ("c2", T0 + hours(4), "paid", 5.0),
            ("t1", T0 + hours(2), "paid", 100.0),
            ("t1", T0 + hours(31), "paid", 20.0),  # after the repeated row: still counts
            ("t2", T0 + hours(4), "paid", 1.0),
            ("t2", T0 + hours(5), "paid", 2.0),
            ("t2", T0 + hours(6), "paid", 3.0),
            ("t3", T0 + hours(5), "paid", 8.0),  # exactly at exposure: counts
            ("t3", T0 + hours(5 + 168), "paid", 9.0),  # exactly at window end: does not
            ("both", T0 + hours(8), "paid", 500.0),  # an excluded unit's
            ("ghost", T0 + hours(8), "paid", 900.0),  # never assigned
            ("c4", T0 + hours(9), "paid", 4.0),
        ],
        columns=["unit", "timestamp", "status", "amount"],
    )
    return (
        write_csv(tmp_path / "assignments.csv", assignments),
        write_csv(tmp_path / "orders.csv", orders),
        assignments,
        orders,
    )


def expected_per_unit(assignments, orders, where, window_hours, value=None):
    """Per exposed unit (first row; those under two variants left out): its variant and the
    events of ``orders`` in [exposure, exposure + window) passing ``where``, reduced by pandas:
    count, and the sum of ``value``."""
    variants = assignments.groupby("unit")["variant"].nunique()
    kept = assignments[assignments["unit"].isin(variants[variants == 1].index)]
    first = kept.sort_values("timestamp").groupby("unit").first().reset_index()
    joined = first.merge(orders, on="unit", how="left", suffixes=("", "_event"))
    inside = (
        (joined["timestamp_event"] >= joined["timestamp"])
        & (joined["timestamp_event"] < joined["timestamp"] + hours(window_hours))
        & where(joined)
    )
    joined["n"] = inside.astype(int)
    joined["v"] = np.where(inside, joined[value] if value else 0.0, 0.0)
    return joined.groupby(["unit", "variant"])[["n", "v"]].sum().reset_index()


def by_variant(frame, column):
    return frame.groupby("variant")[column].agg(
        units="count", total="sum", squares=lambda x: float((x * x).sum())
    )


def set_up_shop(cli, assignments_file, orders_file):
    assert cli("tables", "upload", "orders", orders_file).code == 0
    created = cli(
        "experiments",
        "create",
        "shop",
        "--type",
        "assignments",
        "--initial-data-file",
        assignments_file,
    )
    assert created.code == 0, created.err
    paid = ["--where", "status = 'paid'", "--window", "7d"]
    for args in (
        ["purchased", "--kind", "proportion", *paid],
        ["orders", "--kind", "count", *paid],
        ["revenue", "--kind", "mean", "--value", "amount", *paid],
        ["aov", "--kind", "ratio", "--value", "amount", "--denominator", "1", *paid],
    ):
        made = cli("metrics", "create", args[0], "--table", "orders", *args[1:])
        assert made.code == 0, made.err


def test_per_variant_statistics_equal_a_pandas_computation_of_the_files(cli, edge_cases):
    assignments_file, orders_file, assignments, orders = edge_cases
    set_up_shop(cli, assignments_file, orders_file)
    roles = ["--goal", "purchased", "--secondary", "orders", "--secondary", "revenue"]
    assert cli("experiments", "metrics", "shop", *roles, "--secondary", "aov").code == 0
    # Unadjusted, each kind's own statistics (c1 has an order before exposure: a covariate).
    answer = cli("posterior", "shop", "--exact", "--json", "--no-adjust")
    assert answer.code == 0, answer.err
    card = answer.json()
    assert [m["adjustment"] for m in card["metrics"]] == [None] * 4
    assert card["excluded_units"] == 1 and card["units"] == {"control": 4, "treatment": 3}
    assert card["control"] == "control"
    metrics = {m["name"]: m for m in card["metrics"]}
    assert list(metrics) == ["purchased", "orders", "revenue", "aov"]

    units = expected_per_unit(
        assignments, orders, lambda j: j["status"] == "paid", 168, value="amount"
    )
    units["any"] = (units["n"] > 0).astype(float)
    for name, column, total, squares in (
        ("orders", "n", "sum_value", "sum_value2"),
        ("revenue", "v", "sum_value", "sum_value2"),
    ):
        expected = by_variant(units, column)
        for group in metrics[name]["groups"]:
            row = expected.loc[group["name"]]
            assert group["units"] == row["units"]
            assert group[total] == pytest.approx(row["total"])
            assert group[squares] == pytest.approx(row["squares"])
    bought = by_variant(units, "any")
    for group in metrics["purchased"]["groups"]:
        assert group["trials"] == bought.loc[group["name"], "units"]
        assert group["successes"] == bought.loc[group["name"], "total"]
    for group in metrics["aov"]["groups"]:
        mine = units[units["variant"] == group["name"]]
        assert group["sum_value"] == pytest.approx(mine["v"].sum())
        assert group["sum_den"] == pytest.approx(mine["n"].sum())
        assert group["sum_cross"] == pytest.approx((mine["v"] * mine["n"]).sum())
    # The hand-checked figures, lest both computations share a mistake: control c1 has 10 +
    # 30 (99 before exposure, 7 after the window), c2 5 (the refund fails the where), c4 4.
    control = next(g for g in metrics["revenue"]["groups"] if g["name"] == "control")
    assert control["sum_value"] == 49.0 and control["units"] == 4


def make_experiment(rng, units, rates, error_rates, days=14):
    """Assignments, orders and errors of ``units`` units with known per-variant rates."""
    names = list(rates)
    variant = np.array(names)[rng.integers(0, len(names), units)]
    variant[0] = names[0]
    exposure = T0 + pd.to_timedelta(rng.uniform(0, days * 24, units), unit="h")
    ids = np.array([f"u{i}" for i in range(units)])
    assignments = pd.DataFrame({"timestamp": exposure, "unit": ids, "variant": variant})
    rate = np.array([rates[v] for v in variant])
    count = rng.poisson(rate)
    order_unit = np.repeat(ids, count)
    orders = pd.DataFrame(
        {
            "unit": order_unit,
            "timestamp": np.repeat(exposure, count)
            + pd.to_timedelta(rng.uniform(0, 6 * 24, count.sum()), unit="h"),
            "status": "paid",
            "amount": rng.lognormal(3, 0.8, count.sum()).round(2),
        }
    )
    error_count = rng.poisson(np.array([error_rates[v] for v in variant]))
    errors = pd.DataFrame(
        {
            "unit": np.repeat(ids, error_count),
            "timestamp": np.repeat(exposure, error_count)
            + pd.to_timedelta(rng.uniform(0, 6 * 24, error_count.sum()), unit="h"),
            "code": "E500",
        }
    )
    return assignments, orders, errors


@pytest.fixture
def shop(cli, tmp_path):
    """A shop of 4,000 units whose treatment buys more and errs 60% more often."""
    rng = np.random.default_rng(7)
    assignments, orders, errors = make_experiment(
        rng, 4000, {"control": 0.3, "treatment": 0.45}, {"control": 0.5, "treatment": 0.8}
    )
    files = {
        name: write_csv(tmp_path / f"{name}.csv", frame)
        for name, frame in (("assignments", assignments), ("orders", orders), ("errors", errors))
    }
    set_up_shop(cli, files["assignments"], files["orders"])
    assert cli("tables", "upload", "errors", files["errors"]).code == 0
    made = cli(
        "metrics",
        "create",
        "errors",
        "--table",
        "errors",
        "--kind",
        "count",
        "--window",
        "21d",
        "--lower-is-better",
    )
    assert made.code == 0, made.err
    return assignments, orders, errors


def test_each_kind_s_posterior_agrees_with_an_independent_computation(cli, shop):
    assignments, orders, _ = shop
    roles = ["--goal", "purchased", "--secondary", "revenue", "--secondary", "aov"]
    assert cli("experiments", "metrics", "shop", *roles).code == 0
    card = cli("posterior", "shop", "--exact", "--json").json()
    metrics = {m["name"]: m for m in card["metrics"]}
    units = expected_per_unit(assignments, orders, lambda j: j["status"] == "paid", 168, "amount")
    prob = card["hdi_prob"]

    # Proportion: Beta(1 + buyers, 1 + others), its mean and HDI by scipy.
    for group in metrics["purchased"]["groups"]:
        mine = units[units["variant"] == group["name"]]
        a, b = 1 + (mine["n"] > 0).sum(), 1 + (mine["n"] == 0).sum()
        assert group["mean"] == pytest.approx(a / (a + b), rel=1e-9)
        low, high = hdi_of(sps.beta(a, b), prob)
        assert group["hdi_low"] == pytest.approx(low, abs=1e-4)
        assert group["hdi_high"] == pytest.approx(high, abs=1e-4)

    # Mean: the Normal approximation of the unit mean (what gbstats' SampleMeanStatistic
    # gives), its relative uplift by the delta method.
    summary = {}
    for name in ("control", "treatment"):
        values = units[units["variant"] == name]["v"].to_numpy()
        summary[name] = (values.mean(), values.var(ddof=1) / len(values))
    for group in metrics["revenue"]["groups"]:
        mean, variance = summary[group["name"]]
        assert group["mean"] == pytest.approx(mean, rel=2e-3)
        width = group["hdi_high"] - group["hdi_low"]
        assert width == pytest.approx(
            2 * sps.norm.ppf(0.5 + prob / 2) * math.sqrt(variance), rel=0.02
        )
    (mc, vc), (mt, vt) = summary["control"], summary["treatment"]
    lift = mt / mc - 1
    lift_sd = math.sqrt(vt / mc**2 + mt**2 * vc / mc**4)
    treated = next(g for g in metrics["revenue"]["groups"] if not g["control"])
    assert treated["uplift_rel"]["median"] == pytest.approx(lift, abs=0.05 * lift_sd + 1e-3)
    rel_width = treated["uplift_rel"]["hdi_high"] - treated["uplift_rel"]["hdi_low"]
    assert rel_width == pytest.approx(2 * 1.88 * lift_sd, rel=0.1)

    # Ratio: Σ amount / Σ orders, its sd by the delta method on the units' sums.
    for group in metrics["aov"]["groups"]:
        mine = units[units["variant"] == group["name"]]
        a, b, n = mine["v"].to_numpy(), mine["n"].to_numpy(), len(mine)
        ratio = a.mean() / b.mean()
        cov = np.cov(a, b, ddof=1) / n
        sd = math.sqrt(
            cov[0, 0] / b.mean() ** 2
            - 2 * a.mean() * cov[0, 1] / b.mean() ** 3
            + a.mean() ** 2 * cov[1, 1] / b.mean() ** 4
        )
        assert group["mean"] == pytest.approx(ratio, abs=0.02 * sd)
        width = group["hdi_high"] - group["hdi_low"]
        assert width == pytest.approx(2 * sps.norm.ppf(0.5 + prob / 2) * sd, rel=0.05)


def hdi_of(distribution, prob):
    """The narrowest interval holding ``prob`` of a unimodal distribution, by search."""
    lows = np.linspace(0, 1 - prob, 20001)
    widths = distribution.ppf(lows + prob) - distribution.ppf(lows)
    best = lows[np.argmin(widths)]
    return distribution.ppf(best), distribution.ppf(best + prob)


def test_a_harmed_guardrail_rejects_the_goal_s_choice(cli, shop):
    roles = ["--goal", "purchased", "--guardrail", "errors:5%", "--secondary", "revenue"]
    assert cli("experiments", "metrics", "shop", *roles).code == 0
    answer = cli("posterior", "shop", "--exact", "--json", "--check")
    card = json.loads(answer.out)
    goal, errors = card["metrics"][0], card["metrics"][1]
    assert goal["verdict"]["action"] == "choose" and goal["verdict"]["choice"] == "treatment"
    treated = next(g for g in errors["groups"] if not g["control"])
    assert treated["p_harm"] > 0.95 and treated["status"] == "harmed"
    assert treated["p_beats_control"] < 0.05  # more errors: worse, direction included
    assert card["verdict"]["action"] == "reject" and card["verdict"]["choice"] is None
    assert card["verdict"]["blocked_by"] == ["errors"]
    assert card["decision"].startswith("Do not ship treatment: purchased +")
    assert "but errors +" in card["decision"] and "beyond their 5% margin" in card["decision"]
    assert answer.code == 4

    # The same guardrail with room for a 100% rise passes: the goal's choice stands.
    assert (
        cli(
            "experiments", "metrics", "shop", "--goal", "purchased", "--guardrail", "errors:100%"
        ).code
        == 0
    )
    chosen = cli("posterior", "shop", "--exact", "--json", "--check")
    assert chosen.code == 0, chosen.err
    card = chosen.json()
    assert card["verdict"]["action"] == "choose" and card["verdict"]["choice"] == "treatment"
    assert card["decision"].startswith("Choose treatment: purchased +")

    table = cli("posterior", "shop", "--exact")
    assert table.code == 0 and "guardrail 100%" in table.out and "within margin" in table.out


def test_metric_expressions_are_refused_before_anything_is_written(cli, shop, home):
    before = lake_state(home)
    for where in (
        "1; DROP TABLE orders",
        "(SELECT 1) = 1",
        "read_text('/etc/passwd') = ''",
        "getenv('HOME') = ''",
        "no_such_column = 1",
    ):
        refused = cli(
            "metrics", "create", "evil", "--table", "orders", "--kind", "count", "--where", where
        )
        assert refused.code == 1 and refused.err.count("\n") == 1, refused.err
        assert refused.err.startswith("vibes: error: --where ")
    wrong = cli(
        "metrics", "create", "evil", "--table", "orders", "--kind", "mean", "--value", "status"
    )
    assert wrong.code == 1 and "must be a number" in wrong.err
    assert lake_state(home) == before


def test_a_definition_written_into_the_catalog_by_hand_is_refused_and_the_rest_answers(
    cli, shop, home
):
    from vibes_core import catalog

    roles = ["--goal", "purchased", "--guardrail", "errors", "--secondary", "revenue"]
    assert cli("experiments", "metrics", "shop", *roles).code == 0
    with catalog.open_lake() as lake:
        lake.write(
            lambda con: con.execute(
                "UPDATE lake.vibes.metrics SET definition = ? WHERE name = 'revenue'",
                [json.dumps({"kind": "mean", "value": "length(read_text('/etc/passwd'))"})],
            ),
            "tampering",
        )
    listed = cli("metrics", "list")
    assert listed.code == 0 and "revenue" not in [m["name"] for m in listed.json()]
    assert "metric 'revenue' is left out" in listed.err and "read_text" in listed.err
    answer = cli("posterior", "shop", "--exact", "--json")
    assert answer.code == 0, answer.err
    card = answer.json()
    assert [m["name"] for m in card["metrics"]] == ["purchased", "errors"]
    assert any("the secondary revenue is left out" in w for w in card["warnings"])


def test_deleting_what_is_in_use_is_refused(cli, shop):
    assert cli("experiments", "metrics", "shop", "--goal", "purchased").code == 0
    refused = cli("metrics", "delete", "purchased")
    assert refused.code == 1 and "used by the experiment(s) shop" in refused.err
    table = cli("tables", "delete", "orders")
    assert table.code == 1 and "purchased" in table.err
    assert cli("metrics", "delete", "aov").code == 0
    assert "aov" not in [m["name"] for m in cli("metrics", "list").json()]
    shown = cli("metrics", "show", "purchased").json()
    assert shown["used_by"] == ["shop"] and shown["window"] == "7d"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--guardrail", "errors"], "give the experiment's goal (--goal METRIC)"),
        (["--goal", "nothing_here"], "no metric named 'nothing_here'"),
        (["--goal", "purchased", "--secondary", "purchased"], "given twice"),
        (["--goal", "purchased", "--guardrail", "errors:lots"], "is not a margin"),
    ],
)
def test_roles_are_checked(cli, shop, args, message):
    result = cli("experiments", "metrics", "shop", *args)
    assert result.code == 1 and message in result.err and result.err.count("\n") == 1
    assert cli("experiments", "metrics", "shop").json() == []


def test_a_scorecard_without_metrics_says_how_to_give_some(cli, shop):
    result = cli("posterior", "shop", "--exact")
    assert result.code == 1 and "vibes experiments metrics shop --goal" in result.err


def test_one_metric_s_summary_is_any_experiment_s(cli, shop):
    assert (
        cli("experiments", "metrics", "shop", "--goal", "purchased", "--secondary", "revenue").code
        == 0
    )
    one = cli("posterior", "shop", "--metric", "revenue", "--exact", "--json")
    assert one.code == 0, one.err
    summary = one.json()
    assert summary["metric"] == "revenue" and summary["quantity"] == "revenue"
    assert [g["name"] for g in summary["groups"]] == ["control", "treatment"]
    shown = cli("posterior", "shop", "--metric", "revenue", "--exact")
    assert shown.code == 0 and "treatment" in shown.out
    missing = cli("posterior", "shop", "--metric", "aov", "--exact")
    assert missing.code == 1 and "has no metric 'aov'" in missing.err


@pytest.mark.mcmc
def test_the_mcmc_scorecard_agrees_with_the_exact_one_and_is_cached(cli, shop):
    roles = ["--goal", "purchased", "--guardrail", "errors:5%", "--secondary", "revenue"]
    assert cli("experiments", "metrics", "shop", *roles, "--secondary", "aov").code == 0
    exact = cli("posterior", "shop", "--exact", "--json").json()
    small = ("posterior", "shop", "--json", "--draws", "500", "--chains", "2", "--tune", "500")
    fitted = cli(*small)
    assert fitted.code == 0, fitted.err
    mcmc = fitted.json()
    assert mcmc["method"] == "mcmc" and not mcmc["cached"]
    assert mcmc["diagnostics"]["max_r_hat"] < SHORT_RUN_R_HAT
    for one, other in zip(mcmc["metrics"], exact["metrics"], strict=True):
        for a, b in zip(one["groups"], other["groups"], strict=True):
            width = b["hdi_high"] - b["hdi_low"]
            assert a["mean"] == pytest.approx(b["mean"], abs=0.1 * width)
    assert mcmc["verdict"]["action"] == exact["verdict"]["action"]
    again = cli(*small)
    assert again.json()["cached"], (fitted.err, again.err)
    assert again.json()["metrics"] == mcmc["metrics"]
    answer = cli(*small, "--hdi-prob", "0.99")
    wider = answer.json()
    assert wider["cached"] and wider["hdi_prob"] == 0.99, answer.err
    assert wider["metrics"][0]["groups"][0]["hdi_low"] < mcmc["metrics"][0]["groups"][0]["hdi_low"]


def test_the_python_api_makes_and_answers_an_experiment_on_units(home, tmp_path):
    import numpy as np

    import vibes_core as vc
    from vibes_core.unit_data import simulate_units

    data = simulate_units(2000, np.random.default_rng(3), purchase_lift=0.3)
    assert vc.upload_table("orders", data.orders)["rows"] == data.orders.num_rows
    assert [t["name"] for t in vc.table_list()] == ["orders"]
    vc.create("shop", "assignments", data.assignments)
    made = vc.create_metric("bought", "orders", "proportion", where="status = 'paid'", window="7d")
    assert made["where"] == "status = 'paid'" and made["window"] == "7d"
    with pytest.raises(vc.VibesError, match="read_text"):
        vc.create_metric("evil", "orders", "count", where="read_text('x') = ''")
    assert [m["name"] for m in vc.metric_list()] == ["bought"]
    assert vc.set_metrics("shop", goal="bought") == [
        {"metric": "bought", "role": "goal", "margin": 0.0}
    ]
    card = vc.fit("shop", exact=True)
    assert card["type"] == "assignments" and card["metrics"][0]["name"] == "bought"
    one = vc.fit("shop", exact=True, metric="bought")
    assert one["metric"] == "bought" and one["groups"] == card["metrics"][0]["groups"]


@pytest.fixture
def segmented_shop(cli, tmp_path):
    """A shop whose units come from three segments (and none); 200 of them are assigned
    again later, in another segment: a unit's segment is the one of its exposure."""
    rng = np.random.default_rng(11)
    assignments, orders, _ = make_experiment(
        rng, 3000, {"control": 0.3, "treatment": 0.45}, {"control": 0, "treatment": 0}
    )
    assignments["segment"] = rng.choice(["US", "DE", "FR", ""], len(assignments))
    again = assignments.sample(200, random_state=1).assign(segment="later")
    again["timestamp"] = again["timestamp"] + hours(1)
    assignments = pd.concat([assignments, again])
    files = {
        name: write_csv(tmp_path / f"{name}.csv", frame)
        for name, frame in (("assignments", assignments), ("orders", orders))
    }
    set_up_shop(cli, files["assignments"], files["orders"])
    assert cli("experiments", "metrics", "shop", "--goal", "purchased").code == 0
    return assignments, orders


def test_a_metric_s_statistics_by_segment_equal_a_pandas_computation(segmented_shop):
    assignments, orders = segmented_shop
    from vibes_core import catalog, metrics, unit_stats

    with catalog.open_lake() as lake:
        experiment = catalog.get(lake, "shop")
        source = catalog.table_at(lake, experiment, lake.snapshot_id())
        metric = metrics.get(lake, "purchased")
        rows = unit_stats.segment_stats(lake.con, source, metric, lake.snapshot_id())
    found = {(r["variant"], r["segment"]): (r["units"], r["sum_value"]) for r in rows}
    per_unit = expected_per_unit(
        assignments, orders, lambda j: j["status"] == "paid", 7 * 24
    ).merge(assignments.sort_values("timestamp").groupby("unit").first()["segment"], on="unit")
    per_unit["segment"] = per_unit["segment"].replace("", None)
    expected = {
        (variant, None if pd.isna(segment) else segment): (
            len(group),
            float((group["n"] > 0).sum()),
        )
        for (variant, segment), group in per_unit.groupby(["variant", "segment"], dropna=False)
    }
    assert found == expected
    assert "later" not in {segment for _, segment in found}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--pooled"], "judged on metrics, each with its own model: --pooled is for one of them"),
        (["--by", "segment"], "--by segment is for one of them (--metric M"),
        (["--metric", "revenue", "--pooled"], "revenue is a mean, and only proportion metrics"),
        (["--metric", "orders", "--by", "segment"], "; of shop's, purchased can"),
        (["--metric", "purchased", "--pooled", "--exact"], "MCMC only"),
        (["--metric", "purchased", "--by", "country"], "broken down by segment"),
    ],
)
def test_pooling_and_breakdowns_are_for_one_metric_that_has_them(cli, shop, args, words):
    roles = ["--goal", "purchased", "--secondary", "revenue", "--secondary", "orders"]
    assert cli("experiments", "metrics", "shop", *roles).code == 0
    result = cli("posterior", "shop", *args)
    assert result.code == 1 and result.out == "", result
    assert result.err.count("\n") == 1 and words in result.err, result.err


def test_a_breakdown_needs_segments(cli, shop):
    assert cli("experiments", "metrics", "shop", "--goal", "purchased").code == 0
    result = cli("posterior", "shop", "--metric", "purchased", "--by", "segment")
    assert result.code == 1 and "has no segment values yet" in result.err, result.err


@pytest.mark.mcmc
def test_a_proportion_metric_is_pooled_and_broken_down_by_segment(cli, segmented_shop):
    assignments, orders = segmented_shop
    fast = ("--draws", "500", "--tune", "500", "--chains", "2", "--json")
    by = cli("posterior", "shop", "--metric", "purchased", "--by", "segment", *fast)
    assert by.code == 0, by.err
    summary = by.json()
    assert (summary["metric"], summary["role"], summary["model"]) == (
        "purchased",
        "goal",
        "segmented",
    )
    assert summary["diagnostics"]["max_r_hat"] < SHORT_RUN_R_HAT
    assert summary["adjustment"] is None  # a breakdown fits the metric as it is, and says so
    assert any("--by segment fits it as it is" in w for w in summary["warnings"])
    assert {s["segment"] for s in summary["segments"]} == {"US", "DE", "FR", None}
    # Each variant's overall share agrees with the share of its units that bought (pandas).
    per_unit = expected_per_unit(assignments, orders, lambda j: j["status"] == "paid", 7 * 24)
    bought = per_unit.assign(bought=per_unit["n"] > 0).groupby("variant")["bought"].mean()
    for group in summary["groups"]:
        assert group["hdi_low"] <= bought[group["name"]] <= group["hdi_high"], group
    again = cli("posterior", "shop", "--metric", "purchased", "--by", "segment", *fast)
    assert again.json()["cached"] is True
    pooled = cli("posterior", "shop", "--metric", "purchased", "--pooled", *fast)
    assert pooled.code == 0, pooled.err
    assert pooled.json()["model"] == "pooled" and pooled.json()["cached"] is False
    # The scorecard's own fit is apart from these.
    scorecard = cli("posterior", "shop", *fast)
    assert (
        scorecard.json()["cached"] is False
        and scorecard.json()["metrics"][0]["name"] == "purchased"
    )


def test_cache_keys_hold_still_when_duckdb_s_sums_move_in_their_last_bits():
    """Sums of 1M units' revenue from two runs of the same query (bench/scorecard.py): a
    parallel sum adds in another order. The key's statistics, and the default prior taken
    from them (the mean's centre and sd), must not tell the runs apart."""
    from vibes_core import inference, scorecard
    from vibes_core.metrics import Metric, MetricRole
    from vibes_core.types import get_type

    runs = [
        (16160229.08999998, 5778837912.499332, 16838943.730000045, 6003869010.44777),
        (16160229.089999903, 5778837912.499368, 16838943.73000008, 6003869010.447723),
    ]
    metric, role = Metric("revenue", "orders", "mean"), MetricRole("revenue", "secondary")
    kind, settings = get_type("assignments"), inference.Settings()
    keys = set()
    for control, control2, treatment, treatment2 in runs:
        rows = [
            {"variant": "control", "units": 500_100, "sum_value": control, "sum_value2": control2},
            {
                "variant": "treatment",
                "units": 499_900,
                "sum_value": treatment,
                "sum_value2": treatment2,
            },
        ]
        scored = scorecard.scored_metric(kind, role, metric, rows)
        keys.add(
            (
                scorecard.cache_key("big", [scored], settings),
                inference.cache_key("big", scored.fitting, settings),
            )
        )
    assert len(keys) == 1


def test_the_covariate_s_sums_equal_a_pandas_computation_of_the_files(cli, edge_cases, tmp_path):
    """CUPED's covariate: each unit's same metric over [exposure - pre-window, exposure)."""
    assignments_file, _, assignments, orders = edge_cases
    before = pd.DataFrame(
        [
            ("c2", T0 + hours(2) - hours(14 * 24), "paid", 6.0),  # the pre-window's first hour
            ("c2", T0 + hours(2) - hours(14 * 24) - pd.Timedelta(1, "us"), "paid", 60.0),  # before
            ("c2", T0 + hours(1), "refunded", 70.0),  # fails the where
            ("c3", T0 + hours(3), "paid", 2000.0),  # only before exposure: y 0, x capped
            ("t2", T0 + hours(3) - pd.Timedelta(1, "us"), "paid", 3.0),  # just before exposure
            ("both", T0, "paid", 11.0),  # an excluded unit's
        ],
        columns=["unit", "timestamp", "status", "amount"],
    )
    orders = pd.concat([orders, before])
    set_up_shop(cli, assignments_file, write_csv(tmp_path / "more_orders.csv", orders))
    paid = ["--table", "orders", "--where", "status = 'paid'", "--window", "7d"]
    capped = ["--kind", "mean", "--value", "amount", "--cap", "1000", "--pre-window", "14d"]
    assert cli("metrics", "create", "capped", *paid, *capped).code == 0
    from vibes_core import catalog, metrics, unit_stats

    names = ["purchased", "orders", "capped", "aov"]
    with catalog.open_lake() as lake:
        experiment = catalog.get(lake, "shop")
        source = catalog.table_at(lake, experiment, lake.snapshot_id())
        defined = [metrics.get(lake, name) for name in names]
        exposed = unit_stats.exposures(lake.con, source)
        rows = unit_stats.metric_stats(
            lake.con, source, defined, exposed, lake.snapshot_id(), adjusted=True
        )
    assert [m.pre_window for m in defined] == ["14d", "14d", "14d", "0"]
    assert "sum_x" not in rows["aov"][0]  # ratio metrics are not adjusted

    def per_unit(lower_hours, upper_hours):
        """Each exposed unit's paid orders in [exposure + lower, exposure + upper)."""
        variants = assignments.groupby("unit")["variant"].nunique()
        kept = assignments[assignments["unit"].isin(variants[variants == 1].index)]
        first = kept.sort_values("timestamp").groupby("unit").first().reset_index()
        joined = first.merge(orders, on="unit", how="left", suffixes=("", "_event"))
        inside = (
            (joined["timestamp_event"] >= joined["timestamp"] + hours(lower_hours))
            & (joined["timestamp_event"] < joined["timestamp"] + hours(upper_hours))
            & (joined["status"] == "paid")
        )
        joined["n"] = inside.astype(int)
        joined["v"] = np.where(inside, joined["amount"], 0.0)
        return joined.groupby(["unit", "variant"])[["n", "v"]].sum().reset_index()

    y, x = per_unit(0, 168), per_unit(-14 * 24, 0)
    units = y.merge(x, on=["unit", "variant"], suffixes=("_y", "_x"))
    values = {
        "purchased": ((units["n_y"] > 0) * 1.0, (units["n_x"] > 0) * 1.0),
        "orders": (units["n_y"] * 1.0, units["n_x"] * 1.0),
        "capped": (units["v_y"].clip(upper=1000), units["v_x"].clip(upper=1000)),
    }
    for name, (yv, xv) in values.items():
        for row in rows[name]:
            mine = units["variant"] == row["variant"]
            assert row["units"] == mine.sum()
            assert row["sum_x"] == pytest.approx(xv[mine].sum()), (name, row)
            assert row["sum_x2"] == pytest.approx((xv[mine] ** 2).sum()), (name, row)
            assert row["sum_xy"] == pytest.approx((xv[mine] * yv[mine]).sum()), (name, row)
            assert row["sum_value"] == pytest.approx(yv[mine].sum()), (name, row)
    # By hand: control's covariate of orders is c1's 99 (5 hours before), c2's 6 (the
    # pre-window's first hour) and c3's 2,000, capped at 1,000 in the mean: 3 orders.
    control = {name: rows[name][0] for name in values}
    assert control["orders"]["sum_x"] == 3.0
    assert control["capped"]["sum_x"] == 99.0 + 6.0 + 1000.0


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--kind", "count", "--pre-window", "2w"], "--pre-window '2w' is not a duration"),
        (
            ["--kind", "ratio", "--value", "amount", "--denominator", "1", "--pre-window", "7d"],
            "does not apply to a ratio metric",
        ),
    ],
)
def test_a_pre_window_is_checked(cli, edge_cases, args, words):
    assignments_file, orders_file, _, _ = edge_cases
    set_up_shop(cli, assignments_file, orders_file)
    result = cli("metrics", "create", "m", "--table", "orders", *args)
    assert result.code == 1 and words in result.err, result.err
    made = cli(
        "metrics", "create", "none", "--table", "orders", "--kind", "count", "--pre-window", "0"
    )
    assert made.code == 0 and made.json()["pre_window"] == "0", made.err
