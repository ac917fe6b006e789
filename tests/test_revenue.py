"""Revenue per user: checked against a Monte Carlo written here from the raw values, against
bayesian-testing's DeltaLognormal test on the same data and priors, and against known truth."""

import math

import numpy as np
import pyarrow.parquet as pq
import pytest

from vibes_core.types import get_type
from vibes_core.types.base import Stats

REVENUE = get_type("revenue")
DRAWS = 1_000_000


@pytest.fixture
def experiment(cli, tmp_path) -> list[dict]:
    """A revenue experiment `r` of three variants, and its raw rows."""
    path = tmp_path / "revenue.parquet"
    made = cli("generate", "revenue", "-n", 6000, "--seed", 11, "--variants", "A,B,C", "-o", path)
    assert made.code == 0, made.err
    assert (
        cli("experiments", "create", "r", "--type", "revenue", "--initial-data-file", path).code
        == 0
    )
    return pq.read_table(path).to_pylist()


def by_variant(rows: list[dict]) -> dict[str, np.ndarray]:
    return {v: np.array([r["value"] for r in rows if r["variant"] == v]) for v in "ABC"}


def independent_draws(values: np.ndarray, prior: dict, rng) -> np.ndarray:
    """Value per user from the raw values: Beta for the share of buyers, and for their log
    values mu | var ~ Normal(m, var / k), var ~ InvGamma(a, b) cut at sd_max^2, by the textbook
    update."""
    logs = np.log(values[values > 0])
    n = len(logs)
    share = rng.beta(prior["alpha"] + n, prior["beta"] + len(values) - n, DRAWS)
    k = prior["kappa"] + n
    m = (prior["kappa"] * prior["mu0"] + n * logs.mean()) / k
    a = prior["shape"] + n / 2
    b = (
        prior["scale"]
        + 0.5 * ((logs - logs.mean()) ** 2).sum()
        + prior["kappa"] * n * (logs.mean() - prior["mu0"]) ** 2 / (2 * k)
    )
    variance = b / rng.gamma(a, 1.0, 2 * DRAWS)
    variance = variance[variance <= prior["sd_max"] ** 2][:DRAWS]  # the prior's cut, by rejection
    mu = rng.normal(m, np.sqrt(variance / k))
    return share * np.exp(mu + variance / 2)


def test_the_exact_posterior_matches_a_monte_carlo_of_a_million_draws(cli, experiment):
    summary = cli("posterior", "r", "--exact", "--json").json()
    rng = np.random.default_rng(3)
    draws = np.column_stack(
        [
            independent_draws(values, summary["prior"], rng)
            for values in by_variant(experiment).values()
        ]
    )
    p_best = np.bincount(draws.argmax(axis=1), minlength=3) / DRAWS
    loss = (draws.max(axis=1, keepdims=True) - draws).mean(axis=0)
    for i, group in enumerate(summary["groups"]):
        sd = draws[:, i].std()
        assert group["mean"] == pytest.approx(draws[:, i].mean(), abs=5 * sd / math.sqrt(2e5))
        assert group["p_best"] == pytest.approx(p_best[i], abs=0.005)
        assert group["expected_loss"] == pytest.approx(loss[i], rel=0.05, abs=1e-3 * sd)
        low, high = np.quantile(draws[:, i], [0.03, 0.97])  # the HDI is no wider than the ETI
        assert group["hdi_high"] - group["hdi_low"] <= (high - low) * 1.01
    assert summary["prior"]["mu0"] == pytest.approx(
        np.mean([math.log(r["value"]) for r in experiment if r["value"] > 0])
    )


def test_p_best_and_loss_agree_with_bayesian_testings_delta_lognormal(cli, experiment):
    from bayesian_testing.experiments import DeltaLognormalDataTest

    summary = cli("posterior", "r", "--exact", "--json").json()
    prior = summary["prior"]
    reference = DeltaLognormalDataTest()
    for name, values in by_variant(experiment).items():
        logs = np.log(values[values > 0])
        reference.add_variant_data_agg(
            name,
            totals=len(values),
            positives=len(logs),
            sum_values=float(values.sum()),
            sum_logs=float(logs.sum()),
            sum_logs_2=float((logs**2).sum()),
            a_prior_beta=prior["alpha"],
            b_prior_beta=prior["beta"],
            m_prior=prior["mu0"],
            a_prior_ig=prior["shape"],
            b_prior_ig=prior["scale"],
            w_prior=prior["kappa"],
        )
    p_best, loss, _ = reference.eval_simulation(sim_count=1_000_000, seed=1)
    for group in summary["groups"]:
        assert group["p_best"] == pytest.approx(p_best[group["name"]], abs=0.005)
        assert group["expected_loss"] == pytest.approx(loss[group["name"]], rel=0.05, abs=1e-3)


def test_94_percent_hdis_cover_the_true_value_per_user_about_94_percent_of_the_time():
    rng = np.random.default_rng(7)
    share, mu, sigma, users, runs = 0.05, math.log(40), 1.0, 4000, 300
    truth = share * math.exp(mu + sigma**2 / 2)
    covered = 0
    for _ in range(runs):
        values = np.where(rng.random(users) < share, rng.lognormal(mu, sigma, users), 0.0)
        logs = np.log(values[values > 0])
        stats = Stats(
            ["A"],
            {
                "users": np.array([users], float),
                "buyers": np.array([len(logs)], float),
                "sum_log": np.array([logs.sum()]),
                "sum_log2": np.array([(logs**2).sum()]),
            },
        )
        [(low, high)] = REVENUE.exact(stats, REVENUE.prior(None, stats)).hdi(0.94)
        covered += low <= truth <= high
    error = math.sqrt(0.94 * 0.06 / runs)
    assert abs(covered / runs - 0.94) <= 3 * error, covered / runs


def test_generated_revenue_looks_like_revenue():
    table = REVENUE.generate(20_000, np.random.default_rng(1), variants="A,B")
    values = np.array(table.column("value").to_pylist())
    assert (values >= 0).all() and 0.005 < (values > 0).mean() < 0.2  # most users spend nothing
    spent = values[values > 0]
    assert spent.mean() > 1.3 * np.median(spent)  # a long right tail
    assert np.percentile(spent, 99) > 5 * np.median(spent)


def test_the_decision_and_table_speak_in_the_values_unit(cli, experiment):
    result = cli("posterior", "r", "--exact")
    assert result.code == 0, result.err
    decision = [line for line in result.out.splitlines() if "expected loss" in line]
    assert decision and "per user" in " ".join(result.out.split())
    summary = cli("posterior", "r", "--exact", "--json").json()
    for group in summary["groups"]:
        assert group["mean"] == pytest.approx(
            group["conversion"]["mean"] * group["value_per_buyer"]["mean"], rel=0.05
        )
        if not group["control"]:
            assert group["uplift_abs"]["hdi_low"] < group["uplift_abs"]["mean"]


def test_a_variant_without_buyers_is_named_and_still_answers(cli, tmp_path):
    path = tmp_path / "few.ndjson"
    path.write_text(
        "".join(f'{{"variant": "A", "value": {v}}}\n' for v in [0, 12.5, 30, 0, 8])
        + "".join('{"variant": "B", "value": 0}\n' for _ in range(5))
    )
    assert (
        cli("experiments", "create", "r", "--type", "revenue", "--initial-data-file", path).code
        == 0
    )
    result = cli("posterior", "r", "--exact", "--json")
    assert result.code == 0, result.err
    assert "variant B has 0 buyer(s)" in result.err
    b = result.json()["groups"][1]
    assert b["buyers"] == 0 and math.isfinite(b["mean"]) and b["hdi_low"] >= 0


def test_log_values_spread_beyond_the_priors_bound_are_warned_about(cli, tmp_path):
    rng = np.random.default_rng(5)
    values = np.where(rng.random(4000) < 0.1, rng.lognormal(3.0, 2.8, 4000), 0.0)
    path = tmp_path / "whales.ndjson"
    path.write_text(
        "".join(f'{{"variant": "{"AB"[i % 2]}", "value": {v}}}\n' for i, v in enumerate(values))
    )
    assert (
        cli("experiments", "create", "r", "--type", "revenue", "--initial-data-file", path).code
        == 0
    )
    cut = cli("posterior", "r", "--exact", "--json")
    assert cut.code == 0 and "near the prior's sd_max of 3" in cut.err
    assert "--prior sd_max=" in cut.err
    wider = cli("posterior", "r", "--exact", "--json", "--prior", "sd_max=8")
    assert wider.code == 0 and "sd_max" not in wider.err
    # Held down by the bound, then free: the value per buyer grows with the spread allowed.
    for held, free in zip(cut.json()["groups"], wider.json()["groups"], strict=True):
        assert held["value_per_buyer"]["mean"] < free["value_per_buyer"]["mean"]


@pytest.mark.parametrize(("shape", "rate"), [(5.0, 50.0), (3.0, 2.0), (500.0, 50_000.0)])
def test_gamma_draws_above_a_bound_follow_the_truncated_gamma(shape, rate):
    from scipy import stats

    from vibes_core.families import gamma_at_least

    lowest = 0.2
    draws = gamma_at_least(
        np.random.default_rng(1), np.array([shape]), np.array([rate]), lowest, (200_000, 1)
    ).ravel()
    assert draws.min() >= lowest
    gamma = stats.gamma(shape, scale=1 / rate)
    if gamma.sf(lowest) > 0:
        expected = gamma.expect(lambda x: x, lb=lowest) / gamma.sf(lowest)
        assert draws.mean() == pytest.approx(expected, rel=0.005)
    else:  # all of its mass below the bound, as far as floats go: the bound itself
        assert draws.max() == pytest.approx(lowest, rel=1e-6)
