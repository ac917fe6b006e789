"""`vibes plan`: the frequentist sample size against statsmodels' NormalIndPower, the Bayesian
assurance against the verdict rule run on data simulated here with numpy (and its own
posteriors), the baseline and pace read from an experiment and from a metric's event table
against pandas, and every mistake in one line. Through the CLI's entry point and the core."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from tests.test_cuped import orders_around, set_up
from tests.test_scorecard import hours
from vibes_core import plan, verdict
from vibes_core.capabilities import Baseline
from vibes_core.types import get_type

Z_TEST = NormalIndPower()


def strict_json(text: str):
    def refuse(constant):
        raise AssertionError(f"{constant} in JSON")

    return json.loads(text, parse_constant=refuse)


def design(type_name="ab-test", baseline=0.1, units_per_day=2000.0, sd=None, split=None, **kw):
    return plan.from_numbers(type_name, baseline, units_per_day, sd, split, **kw)


# --- the frequentist sample size ------------------------------------------------------------
@pytest.mark.parametrize(
    ("p", "mde", "power", "split"),
    [
        (0.10, 0.05, 0.8, None),
        (0.02, 0.10, 0.9, None),
        (0.50, 0.02, 0.8, "70,30"),
        (0.30, 0.20, 0.95, "20,80"),
    ],
)
def test_a_share_needs_what_statsmodels_normal_ind_power_says(p, mde, power, split):
    found = design(baseline=p, split=split)
    size = plan.sample_size(found, mde, power)
    w_c, w_t = found.weights
    ratio = w_t / w_c
    q = p * (1 + mde)
    # NormalIndPower's effect size: the difference over the sd that makes its n the z-test's
    # with each group's own variance, p (1 - p) and q (1 - q).
    pooled = math.sqrt((p * (1 - p) + q * (1 - q) / ratio) / (1 + 1 / ratio))
    expected = Z_TEST.solve_power((q - p) / pooled, alpha=0.05, power=power, ratio=ratio)
    control = size["units"][found.names[0]]
    assert control == pytest.approx(expected, rel=0.01)
    assert size["units"][found.names[1]] == pytest.approx(expected * ratio, rel=0.01)
    assert size["units_per_variant"] == max(size["units"].values())
    assert size["days"] == math.ceil(control / w_c / 2000)
    if split is None:  # and Cohen's h, the arcsine effect size, agrees as closely
        h = proportion_effectsize(q, p)
        assert control == pytest.approx(Z_TEST.solve_power(h, alpha=0.05, power=power), rel=0.01)


@pytest.mark.parametrize("reduction", [None, 0.0, 0.3])
def test_a_mean_needs_what_statsmodels_says_and_cuped_shrinks_it_by_its_reduction(reduction):
    from vibes_core.types.assignments import ADJUSTED

    kind = get_type("revenue").with_likelihood("mean") if reduction is None else ADJUSTED
    reduction = reduction or 0.0
    found = plan.Design(kind, Baseline(2.5, 20.0, reduction), ("A", "B"), (0.5, 0.5), 1000.0)
    size = plan.sample_size(found, 0.05)
    effect = 2.5 * 0.05 / (20.0 * math.sqrt(1 - reduction))
    expected = Z_TEST.solve_power(effect, alpha=0.05, power=0.8)
    assert size["units_per_variant"] == pytest.approx(expected, rel=0.01)


# --- the Bayesian assurance -----------------------------------------------------------------
class FirstVerdicts:
    """Futures judged look by look, by the rule (under ``effects``, a learned prior, if given),
    each one's first verdict other than keep-running kept: P(it chose the treated variant) by
    each look, and P(it chose it though it is not better, ``better`` False)."""

    def __init__(self, futures: int, effects=None, better=None):
        self.effects, self.better = effects, better
        self.settled, self.chose, self.worse = (np.zeros(futures, dtype=bool) for _ in range(3))
        self.curve, self.worse_curve = [], []

    def look(self, draws) -> None:
        judged = verdict.judge(draws, [0, 1], 0, verdict.Rule(), effects=self.effects)
        first = ~self.settled & (judged.action != verdict.KEEP_RUNNING)
        picked = first & (judged.action == verdict.CHOOSE) & (judged.leader == 1)
        self.chose |= picked
        if self.better is not None:
            self.worse |= picked & ~self.better
        self.settled |= first
        self.curve.append(self.chose.mean())
        self.worse_curve.append(self.worse.mean())


def direct_shares(p, lifts, per_day, looks, seed, effects=None) -> FirstVerdicts:
    """The rule's first verdicts by each look, from data drawn here: each day's conversions per
    variant (the treated one's rate p * (1 + its future's lift)), Beta(1 + s, 1 + n - s)
    posteriors."""
    rng = np.random.default_rng(seed)
    lifts = np.asarray(lifts, dtype=float)
    futures = len(lifts)
    truth = p * np.stack([np.ones(futures), 1 + lifts], axis=1)
    trials, successes = 0, np.zeros((futures, 2))
    verdicts, previous = FirstVerdicts(futures, effects, lifts > 0), 0
    for day in looks:
        new = int(per_day / 2 * (day - previous))
        previous, trials = day, trials + new
        successes += rng.binomial(new, truth)
        a, b = 1 + successes, 1 + trials - successes
        verdicts.look(rng.beta(a[:, None, :], b[:, None, :], (futures, verdict.FUTURE_DRAWS, 2)))
    return verdicts


def test_p_choose_equals_the_rule_on_data_simulated_here():
    looks, futures = list(range(1, 31)), 1500
    found = plan.p_choose(design(baseline=0.1, units_per_day=4000), np.full(futures, 0.1), looks)
    direct = np.array(direct_shares(0.1, np.full(futures, 0.1), 4000, looks, seed=7).curve)
    error = np.sqrt(np.maximum(direct * (1 - direct), 1e-3) * 2 / futures)
    assert np.all(np.abs(found - direct) < 4 * error), np.c_[looks, found, direct]
    assert direct[-1] > 0.5  # a curve that rises, not two zeros agreeing


def direct_means(mean, sd, lift, per_day, looks, futures, seed):
    """The same for a mean: each unit's value Normal, drawn one by one here; the posterior
    Normal-Inverse-Gamma with the prior centred on the baseline (kappa 1, shape 1, sd)."""
    from scipy import stats as sps

    rng = np.random.default_rng(seed)
    truth = np.array([mean, mean * (1 + lift)])
    n = np.zeros(2)
    total, squares = np.zeros((futures, 2)), np.zeros((futures, 2))
    verdicts, previous = FirstVerdicts(futures), 0
    for day in looks:
        new = int(per_day / 2 * (day - previous))
        previous = day
        values = rng.normal(truth, sd, (futures, new, 2))
        n += new
        total += values.sum(axis=1)
        squares += (values**2).sum(axis=1)
        m = total / n
        kappa = 1 + n
        center = (mean + total) / kappa
        shape = np.broadcast_to(1 + n / 2, (futures, 2))
        scale = sd**2 + (squares - n * m**2) / 2 + n * (m - mean) ** 2 / (2 * kappa)
        t = sps.t.rvs(
            2 * shape[:, None, :], size=(futures, verdict.FUTURE_DRAWS, 2), random_state=rng
        )
        verdicts.look(center[:, None, :] + np.sqrt(scale / (shape * kappa))[:, None, :] * t)
    return np.array(verdicts.curve)


def test_p_choose_of_a_mean_equals_the_rule_on_values_drawn_one_by_one():
    looks, futures = [2, 4, 6, 8, 10, 12, 14], 600
    found = plan.p_choose(
        design("revenue", 10.0, 200.0, sd=8.0, likelihood="mean"), np.full(futures, 0.1), looks
    )
    direct = direct_means(10.0, 8.0, 0.1, 200.0, looks, futures, seed=3)
    error = np.sqrt(np.maximum(direct * (1 - direct), 1e-3) * 2 / futures)
    assert np.all(np.abs(found - direct) < 4 * error), np.c_[looks, found, direct]
    assert direct[-1] > 0.5


def test_without_an_effect_the_rule_rarely_chooses_and_lifts_mix_per_future():
    """At a true lift of 0 the rule, looked at daily for 60 days, chooses the treated variant
    in under 5% of futures (Ville); futures with their own lifts, half 0 and half 10%, choose as
    the average of the two."""
    looks, futures = list(range(1, 61)), 1000
    found = design(baseline=0.1, units_per_day=4000)
    none = plan.p_choose(found, np.zeros(futures), looks, seed=1)
    assert none[-1] < 0.05
    some = plan.p_choose(found, np.full(futures, 0.1), looks, seed=2)
    mixed = plan.p_choose(found, np.repeat([0.0, 0.1], futures // 2), looks, seed=3)
    assert np.all(np.abs(mixed - (none + some) / 2) < 4 * np.sqrt(0.25 / futures))


# --- through the CLI ------------------------------------------------------------------------
def test_plan_from_numbers_as_json(cli):
    done = cli(
        "plan", "--type", "ab-test", "--baseline", "10%", "--units-per-day", "2000", "--mde", "5%",
        "--json",
    )  # fmt: skip
    assert done.code == 0, done.err
    answer = strict_json(done.out)
    assert answer["source"] == "numbers" and answer["type"] == "ab-test"
    assert (answer["baseline"], answer["mde"], answer["power"]) == (0.1, 0.05, 0.8)
    assert answer["sd"] == pytest.approx(0.3)
    assert answer["split"] == {"control": 0.5, "treatment": 0.5}
    assert answer["units_per_day"] == 2000
    frequentist, bayesian = answer["frequentist"], answer["bayesian"]
    pooled = math.sqrt((0.1 * 0.9 + 0.105 * 0.895) / 2)
    expected = Z_TEST.solve_power(0.005 / pooled, alpha=0.05, power=0.8)
    assert frequentist["units_per_variant"] == pytest.approx(expected, rel=0.01)
    assert frequentist["days"] == math.ceil(2 * frequentist["units_per_variant"] / 2000)
    curve = bayesian["curve"]
    assert [p["day"] for p in curve] == list(range(1, bayesian["horizon"] + 1))
    assert bayesian["horizon"] == min(max(4 * frequentist["days"], 28), 365)
    first = next(p["day"] for p in curve if p["p_choose"] >= 0.8)
    assert bayesian["days"] == first
    assert bayesian["units_per_variant"] == math.ceil(2000 * first / 2)
    shares = [p["p_choose"] for p in curve]
    assert shares == sorted(shares)  # by each day: it never falls


def test_plan_prints_a_table_and_plots_only_on_a_terminal(cli):
    done = cli(
        "plan", "--type", "revenue", "--likelihood", "mean", "--baseline", "2.5", "--sd", "20",
        "--units-per-day", "5000", "--mde", "10%", "--plot",
    )  # fmt: skip
    assert done.code == 0, done.err
    assert "z-test, analysed once" in done.out and "vibes' rule, daily looks" in done.out
    assert "2.5 -> 2.75 (+10%)" in done.out
    assert "--plot draws only on a terminal" in done.err


def test_the_curve_is_drawn(capsys):
    from vibes_tui import report

    found = plan.plan(design(units_per_day=20000), 0.05, futures=200)
    report.print_plots([plan.plot_spec(found)], 80, colour=False)
    drawn = capsys.readouterr().out
    assert "P(choose a treated variant) by day" in drawn and "100%" in drawn


def test_plan_like_an_experiment_reads_its_control_and_its_pace(cli, tmp_path):
    rng = np.random.default_rng(5)
    n = 3000
    start = pd.Timestamp("2026-11-01")
    events = pd.DataFrame(
        {
            "timestamp": start + pd.to_timedelta(np.sort(rng.uniform(0, 10 * 24, n)), unit="h"),
            "variant": rng.choice(["ctl", "new"], n),
            "outcome": rng.random(n) < 0.2,
        }
    )
    path = tmp_path / "events.csv"
    events.assign(timestamp=events["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_csv(
        path, index=False
    )
    made = cli("experiments", "create", "ex", "--type", "ab-test", "--initial-data-file", path)
    assert made.code == 0, made.err
    done = cli("plan", "ex", "--mde", "10%", "--split", "60,40", "--json")
    assert done.code == 0, done.err
    answer = strict_json(done.out)
    control = events[events["variant"] == events["variant"].iloc[0]]
    assert answer["control"] == events["variant"].iloc[0]
    assert answer["baseline"] == pytest.approx(control["outcome"].mean(), rel=1e-12)
    last = events["timestamp"].max()
    recent = (events["timestamp"] >= last - pd.Timedelta(days=7)).sum()
    assert answer["units_per_day"] == pytest.approx(recent / 7, rel=1e-9)
    assert list(answer["split"].values()) == pytest.approx([0.6, 0.4])
    assert answer["source"] == "experiment" and answer["name"] == "ex"


def test_plan_on_a_metric_reads_its_last_four_weeks(cli, tmp_path):
    rng = np.random.default_rng(11)
    assignments, orders = orders_around(rng, 2500, {"control": 1.0, "treatment": 1.05})
    set_up(cli, tmp_path, assignments, orders)
    paid = ["--table", "orders", "--where", "status = 'paid'", "--window", "7d"]
    assert cli("metrics", "create", "orders", *paid, "--kind", "count").code == 0
    done = cli("plan", "--metric", "orders", "--mde", "5%", "--json")
    assert done.code == 0, done.err
    answer = strict_json(done.out)
    # The units first seen in the last 28 days (before their 7-day window ends), and their
    # paid orders in the week after, and in the 14 days before (CUPED's covariate).
    last = orders["timestamp"].max()
    recent = orders[orders["timestamp"] >= last - pd.Timedelta(days=28)]
    first = recent.groupby("unit")["timestamp"].min()
    first = first[first < last - pd.Timedelta(days=7)]
    joined = orders[orders["status"] == "paid"].merge(
        first.rename("exposure"), left_on="unit", right_index=True
    )
    after = joined[
        (joined["timestamp"] >= joined["exposure"])
        & (joined["timestamp"] < joined["exposure"] + hours(7 * 24))
    ]
    before = joined[
        (joined["timestamp"] < joined["exposure"])
        & (joined["timestamp"] >= joined["exposure"] - hours(14 * 24))
    ]
    y = after.groupby("unit").size().reindex(first.index, fill_value=0)
    x = before.groupby("unit").size().reindex(first.index, fill_value=0)
    assert answer["units_per_day"] == pytest.approx(len(first) / 21, rel=1e-9)
    assert answer["baseline"] == pytest.approx(y.mean(), rel=1e-9)
    assert answer["sd"] == pytest.approx(y.std(ddof=1), rel=1e-9)
    assert answer["variance_reduction"] == pytest.approx(np.corrcoef(x, y)[0, 1] ** 2, rel=1e-6)
    assert answer["source"] == "metric" and answer["type"] == "adjusted"
    # Adjusted, it needs the share of units that CUPED leaves.
    effect = y.mean() * 0.05 / (y.std(ddof=1) * math.sqrt(1 - answer["variance_reduction"]))
    expected = Z_TEST.solve_power(effect, alpha=0.05, power=0.8)
    assert answer["frequentist"]["units_per_variant"] == pytest.approx(expected, rel=0.01)
    # The experiment on the same assignments plans its goal the same way, from its own data.
    roles = cli("experiments", "metrics", "shop", "--goal", "orders")
    assert roles.code == 0, roles.err
    like = cli("plan", "shop", "--mde", "5%", "--json")
    assert like.code == 0, like.err
    assert strict_json(like.out)["source"] == "experiment"
    assert strict_json(like.out)["type"] == "adjusted"


NUMBERS = ("plan", "--units-per-day", "2000", "--baseline", "10%")
BAD = [
    ("no source", ("plan", "--mde", "5%"), 2, "give one of"),
    ("two sources", ("plan", "x", "--type", "ab-test", "--mde", "5%"), 2, "give one of"),
    ("no mde", (*NUMBERS, "--type", "ab-test"), 2, "missing --mde"),
    ("mde 0", (*NUMBERS, "--type", "ab-test", "--mde", "0"), 1, "--mde 0%"),
    ("mde negative", (*NUMBERS, "--type", "ab-test", "--mde", "-5%"), 1, "--mde -5%"),
    ("mde absurd", (*NUMBERS, "--type", "ab-test", "--mde", "5000%"), 1, "--mde 5000%"),
    ("mde no number", (*NUMBERS, "--type", "ab-test", "--mde", "lots"), 1, "not a number"),
    ("mde past 100%", (*NUMBERS, "--type", "ab-test", "--mde", "950%"), 1, "not a share"),
    ("power 1", (*NUMBERS, "--type", "ab-test", "--mde", "5%", "--power", "1"), 1, "--power 1"),
    ("power 0", (*NUMBERS, "--type", "ab-test", "--mde", "5%", "--power", "0"), 1, "--power 0"),
    ("unknown type", (*NUMBERS, "--type", "nope", "--mde", "5%"), 1, "unknown experiment type"),
    ("bandits", (*NUMBERS, "--type", "multi-armed-bandits", "--mde", "5%"), 1, "no control"),
    ("cohorts", (*NUMBERS, "--type", "poisson-cohorts", "--mde", "5%"), 1, "cannot be planned"),
    ("units", (*NUMBERS, "--type", "assignments", "--mde", "5%"), 1, "--metric"),
    ("log-normal", (*NUMBERS, "--type", "revenue", "--mde", "5%"), 1, "--likelihood mean"),
    (
        "mean without sd",
        (*NUMBERS, "--type", "revenue", "--likelihood", "mean", "--mde", "5%"),
        1,
        "needs --sd",
    ),
    ("sd of a share", (*NUMBERS, "--type", "ab-test", "--sd", "2", "--mde", "5%"), 1, "--sd"),
    (
        "missing baseline",
        ("plan", "--type", "ab-test", "--units-per-day", "9", "--mde", "5%"),
        1,
        "needs --baseline",
    ),
    (
        "share above 1",
        ("plan", "--type", "ab-test", "--baseline", "1.5", "--units-per-day", "9", "--mde", "5%"),
        1,
        "not a conversion rate",
    ),
    (
        "no traffic",
        ("plan", "--type", "ab-test", "--baseline", "0.1", "--units-per-day", "0", "--mde", "5%"),
        1,
        "--units-per-day 0",
    ),
    ("bad split", (*NUMBERS, "--type", "ab-test", "--mde", "5%", "--split", "50"), 1, "--split"),
    ("unknown experiment", ("plan", "nope", "--mde", "5%"), 1, "no experiment named"),
    ("unknown metric", ("plan", "--metric", "nope", "--mde", "5%"), 1, "no metric named"),
    ("baseline with a name", ("plan", "x", "--baseline", "3", "--mde", "5%"), 2, "--baseline"),
    (
        "plot and json",
        (*NUMBERS, "--type", "ab-test", "--mde", "5%", "--plot", "--json"),
        2,
        "--plot",
    ),
]


@pytest.mark.parametrize(("argv", "code", "words"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_every_mistake_is_one_line(cli, argv, code, words):
    done = cli(*argv)
    assert (done.code, done.out) == (code, "")
    assert len(done.err.strip().splitlines()) == 1, done.err
    assert words in done.err and "Traceback" not in done.err


def test_an_experiment_without_a_control_or_data_enough_is_refused(cli, ab_test, tmp_path):
    initial = tmp_path / "arms.json"
    assert cli("generate", "multi-armed-bandits", "-n", "300", "-o", initial).code == 0
    made = ("experiments", "create", "arms", "--type", "multi-armed-bandits")
    assert cli(*made, "--initial-data-file", initial).code == 0
    refused = cli("plan", "arms", "--mde", "5%")
    assert refused.code == 1 and "no control" in refused.err
    few = [{"variant": v, "outcome": i % 3 == 0} for i in range(40) for v in ("A", "B")]
    path = tmp_path / "few.json"
    path.write_text(json.dumps(few))
    assert (
        cli("experiments", "create", "few", "--type", "ab-test", "--initial-data-file", path).code
        == 0
    )
    short = cli("plan", "few", "--mde", "5%")
    assert short.code == 1 and "at least 50" in short.err and len(short.err.splitlines()) == 1


def test_under_a_learned_prior_p_choose_equals_the_rule_on_data_simulated_here():
    """Futures whose true lifts are drawn from a learned prior, judged under it: the plan's
    P(choose) and P(choose one no better) against data and Beta posteriors drawn here, judged
    by the same rule under the same prior."""
    from dataclasses import replace

    from vibes_core.effects import EffectPrior

    prior = EffectPrior(pi=0.5, mu=0.0, tau=0.1)
    learned = {"pi": 0.5, "mu": 0.0, "tau": 0.1, "tail": "normal"}
    planned = replace(design(baseline=0.1, units_per_day=4000), learned=learned)
    looks, futures = list(range(1, 22, 3)), 1200
    lifts = np.expm1(prior.draw_effects(np.random.default_rng(5), futures))
    found, found_worse = plan.choices(planned, lifts, looks)
    direct = direct_shares(0.1, lifts, 4000, looks, seed=8, effects=prior)
    direct, direct_worse = np.array(direct.curve), np.array(direct.worse_curve)
    error = np.sqrt(np.maximum(direct * (1 - direct), 1e-3) * 2 / futures)
    assert np.all(np.abs(found - direct) < 4 * error), np.c_[looks, found, direct]
    assert np.all(np.abs(found_worse - direct_worse) < 0.01), np.c_[found_worse, direct_worse]
    assert direct[-1] > 0.1  # a curve that rises


def test_a_plan_under_the_learned_prior(cli, tmp_path):
    from tests.test_learned import ab_test

    rng = np.random.default_rng(4)
    for i, effect in enumerate([0.0] * 6 + [0.05, -0.04, 0.08, 0.02, 0.1]):
        ab_test(cli, tmp_path, f"past_{i}", effect, rng, n=5000)
    args = ["plan", "--type", "ab-test", "--baseline", "10%", "--units-per-day", "20000"]
    refused = cli(*args, "--mde", "5%", "--prior", "learned")
    assert refused.code == 1 and "`vibes priors learn --type ab-test`" in refused.err
    assert cli("priors", "learn", "--type", "ab-test").code == 0
    answer = cli(*args, "--mde", "5%", "--prior", "learned", "--json")
    assert answer.code == 0, answer.err
    found = answer.json()
    assert found["learned_prior"]["experiments"] == 11 and found["bayesian"]["prior"] == "learned"
    drawn = found["bayesian"]["drawn"]
    assert 0 < drawn["p_better"] < 1
    chosen = [point["p_choose"] for point in drawn["curve"]]
    assert chosen == sorted(chosen)
    assert all(p["p_choose_not_better"] <= p["p_choose"] for p in drawn["curve"])
    words = cli(*args, "--mde", "5%", "--prior", "learned")
    assert "(learned prior)" in words.out and "drawn from the prior learned from 11" in words.out
    assert cli(*args, "--mde", "5%", "--prior", "flat").code == 2


def test_a_plan_takes_lifts_drawn_per_future():
    """As a prior of effects would give them (log ratios, most 0): the curve is theirs, the
    z-test's answer the MDE's; the answer says which."""
    rng = np.random.default_rng(4)
    effects = np.where(rng.random(400) < 0.5, 0.0, rng.normal(0.0, 0.1, 400))
    found = design(baseline=0.1, units_per_day=20000)
    drawn = plan.plan(found, 0.05, lifts=np.expm1(effects), horizon=30)
    fixed = plan.plan(found, 0.05, futures=400, horizon=30)
    assert drawn["frequentist"] == fixed["frequentist"]
    assert (drawn["bayesian"]["lifts"], fixed["bayesian"]["lifts"]) == ("drawn", "mde")
    expected = plan.p_choose(found, np.expm1(effects), list(range(1, 31)))
    assert [p["p_choose"] for p in drawn["bayesian"]["curve"]] == list(expected)


def test_names_from_data_are_shown_as_they_are(cli, piped):
    done = cli("plan", piped, "--mde", "20%", "--units-per-day", "1000")
    assert done.code == 0, done.err
    assert "B|[b]x 50%" in done.out


def test_a_type_that_declares_plannable_without_its_methods_is_refused_when_loaded():
    from vibes_core.capabilities import Plannable, missing
    from vibes_core.types.base import ExperimentType

    class Half(ExperimentType, Plannable):
        name = "half"

    lacking = missing(Half())
    assert any(entry.startswith("Plannable: baseline_of, baseline_from") for entry in lacking)
