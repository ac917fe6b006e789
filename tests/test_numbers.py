"""Numbers: strict JSON always, overflow refused in one line, and exact posteriors that scale
to the group limit, checked against independent computations (scipy quadrature, numpy Monte
Carlo), never against the code's own earlier output."""

import json

import numpy as np
import pytest
from scipy import integrate, stats

from tests.conftest import lake_state
from tests.test_inference import binomial_rows, events_file
from vibes_core import catalog, inference, plots
from vibes_core.posterior import BetaPosterior


def strict(text: str):
    """JSON as a strict parser reads it: NaN, Infinity and -Infinity are errors."""

    def refuse(constant: str):
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def one_line_error(result, *words: str) -> None:
    assert result.code == 1, (result.out, result.err)
    assert result.out == ""
    [line] = result.err.strip().splitlines()
    assert line.startswith("vibes: error: ") and "unexpected" not in line, line
    for word in words:
        assert word in line, line


def create(cli, tmp_path, type_name: str, rows: list[dict], name: str = "e") -> None:
    created = cli(
        "experiments",
        "create",
        name,
        "--type",
        type_name,
        "--initial-data-file",
        events_file(tmp_path, rows, f"{name}.ndjson"),
    )
    assert created.code == 0, created.err


def exact(cli, *args: str):
    return cli("posterior", "e", "--exact", "--json", *args)


# --- overflow: refused in one line, naming the number, the lake unchanged --------------------


def test_exposures_summing_to_infinity_are_refused_naming_the_cohort(cli, home, tmp_path):
    """Each exposure is finite; two uploads of 1e308 each in one cohort are not."""
    create(
        cli,
        tmp_path,
        "poisson-cohorts",
        [{"cohort": "a", "events": 1, "exposure": 1e308}, {"cohort": "b", "events": 3}],
    )
    more = events_file(tmp_path, [{"cohort": "a", "events": 1, "exposure": 1e308}], "more.ndjson")
    assert cli("events", "upload", "--name", "e", "-f", more).code == 0
    before = lake_state(home)
    for args in (("--exact",), ("--draws", "10", "--tune", "10", "--chains", "1")):
        one_line_error(cli("posterior", "e", "--json", *args), "cohort a", "exposure", "inf")
    assert lake_state(home) == before


def test_counts_beyond_the_documented_limit_are_refused_naming_the_cohort(cli, tmp_path):
    rows = [{"cohort": "a", "events": 9_000_000_000_000_000_000, "exposure": 1.0}] * 2
    create(cli, tmp_path, "poisson-cohorts", [*rows, {"cohort": "b", "events": 2}])
    one_line_error(exact(cli), "cohort a", "events", "1e+12")


def test_large_counts_within_the_limit_answer_in_strict_json(cli, tmp_path):
    rows = [
        {"cohort": c, "events": 400_000_000_000, "exposure": x}
        for c, x in [("a", 1e9), ("b", 1.000001e9)]
    ]
    create(cli, tmp_path, "poisson-cohorts", rows)
    result = exact(cli)
    assert result.code == 0, result.err
    a, b = strict(result.out)["groups"]
    assert a["mean"] == pytest.approx(400.0, rel=1e-9)
    # Gamma(4e11, 1e9) is normal to many digits: P(a best) from the normal approximation
    sd = np.sqrt(4e11) / np.array([1e9, 1.000001e9])
    truth = stats.norm.cdf((a["mean"] - b["mean"]) / np.hypot(*sd))
    assert a["p_best"] == pytest.approx(truth, abs=1e-4)
    assert b["rate_ratio"]["median"] == pytest.approx(1 / 1.000001, rel=1e-6)


@pytest.mark.parametrize("prior", ["1e300,1e300", "1e-300,1", "1e7,1", "1e-7,1"])
@pytest.mark.parametrize(
    "type_name", ["bernoulli", "ab-test", "multi-armed-bandits", "poisson-cohorts"]
)
def test_priors_outside_the_bounds_are_refused_in_one_line(cli, tmp_path, type_name, prior):
    rows = {
        "bernoulli": [{"outcome": True}, {"outcome": False}],
        "ab-test": [{"variant": v, "outcome": o} for v in "AB" for o in (True, False)],
        "multi-armed-bandits": [{"arm": a, "reward": True} for a in "xy"],
        "poisson-cohorts": [{"cohort": c, "events": 2} for c in "pq"],
    }[type_name]
    create(cli, tmp_path, type_name, rows)
    one_line_error(exact(cli, "--prior", prior), "--prior", "outside [1e-06, 1e+06]")
    one_line_error(cli("posterior", "e", "--prior", prior, "--draws", "10"), "--prior")


EXTREME_DATA = {
    "ab-test, a control without conversions": (
        "ab-test",
        binomial_rows("variant", "outcome", {"A": (0, 200), "B": (5, 200), "C": (200, 200)}),
    ),
    "bandits, an arm always paying": (
        "multi-armed-bandits",
        binomial_rows("arm", "reward", {"x": (0, 50), "y": (50, 50)}),
    ),
    "bernoulli, all failures": ("bernoulli", binomial_rows(None, "outcome", {None: (0, 500)})),
    "poisson, a reference cohort without events": (
        "poisson-cohorts",
        [{"cohort": "a", "events": 0, "exposure": 1e6}, {"cohort": "b", "events": 7}],
    ),
    "poisson, exposures 1e-300 and 1e300": (
        "poisson-cohorts",
        [
            {"cohort": "a", "events": 5, "exposure": 1e-300},
            {"cohort": "b", "events": 5, "exposure": 1e300},
        ],
    ),
}


@pytest.mark.parametrize("prior", [None, "1e-6,1e-6", "1e-6,1e6", "1e6,1e-6", "1e6,1e6"])
@pytest.mark.parametrize("dataset", list(EXTREME_DATA))
def test_extreme_priors_and_data_answer_in_strict_json_or_one_line(cli, tmp_path, dataset, prior):
    """Within the bounds, every answer is strict JSON, or a one-line error naming what cannot be
    computed (a relative uplift over a control whose draws are all 0 has no value)."""
    type_name, rows = EXTREME_DATA[dataset]
    create(cli, tmp_path, type_name, rows)
    args = ("--prior", prior) if prior else ()
    result = exact(cli, *args)
    if result.code == 0:
        summary = strict(result.out)
        for group in summary["groups"]:
            assert group["hdi_low"] <= group["mean"] <= group["hdi_high"] or (
                group["hdi_low"] <= group["hdi_high"]
            )
            if group.get("p_best") is not None:
                assert 0 <= group["p_best"] <= 1
        if "allocation" in summary:
            assert sum(summary["allocation"].values()) == pytest.approx(1)
    else:
        one_line_error(
            result,
            "cannot be computed",
            "relative to the control A" if type_name == "ab-test" else "to the reference a",
        )


def test_a_control_whose_draws_are_0_names_the_uplift_and_what_to_do(cli, tmp_path):
    rows = binomial_rows("variant", "outcome", {"A": (0, 100), "B": (5, 100)})
    create(cli, tmp_path, "ab-test", rows)
    one_line_error(
        exact(cli, "--prior", "1e-6,1"),
        "uplift of B relative to the control A",
        "--control",
        "--prior",
    )
    assert exact(cli, "--prior", "1e-6,1", "--control", "B").code == 0  # B has conversions


def test_a_reference_cohort_with_zero_rate_draws_names_the_ratio(cli, tmp_path):
    create(
        cli,
        tmp_path,
        "poisson-cohorts",
        [{"cohort": "a", "events": 0, "exposure": 10.0}, {"cohort": "b", "events": 4}],
    )
    one_line_error(exact(cli, "--prior", "1e-6,1"), "uplift of b relative to the reference a")


def test_split_weights_that_overflow_give_strict_json_or_a_usage_error(cli, tmp_path):
    create(
        cli,
        tmp_path,
        "ab-test",
        binomial_rows("variant", "outcome", {"A": (5, 100), "B": (7, 120)}),
    )
    result = exact(cli, "--split", "A=1e308,B=1e308")  # their sum is infinite
    assert result.code == 0, result.err
    srm = strict(result.out)["srm"]
    assert srm["expected_split"] == {"A": 0.5, "B": 0.5}
    assert srm["chi2"] == pytest.approx(stats.chisquare([100, 120]).statistic)
    tiny = exact(cli, "--split", "A=1,B=1e-320")  # expected count 0: chi-square infinite
    assert tiny.code == 2 and "1e-9 of the largest" in tiny.err and tiny.out == ""


def test_every_json_command_prints_strict_json(cli, tmp_path):
    rows = binomial_rows("arm", "reward", {"x": (0, 10), "y": (10, 10)})
    create(cli, tmp_path, "multi-armed-bandits", rows)
    for args in (
        ("posterior", "e", "--exact", "--json"),
        ("bandit", "allocate", "e", "--exact"),
        ("experiments", "list"),
        ("db", "list-tables"),
    ):
        result = cli(*args)
        assert result.code == 0, result.err
        strict(result.out)


@pytest.mark.mcmc
def test_the_cached_summary_is_strict_json_too(cli, home, tmp_path):
    """A fit whose draws are constant has no Monte Carlo error to speak of (arviz says NaN): the
    answer and the summary the cache stores say null, never NaN."""
    create(cli, tmp_path, "bernoulli", binomial_rows(None, "outcome", {None: (3, 30)}))
    result = cli("posterior", "e", "--json", "--draws", "20", "--tune", "20", "--chains", "1")
    assert result.code == 0, result.err
    strict(result.out)
    [stored] = list((home / "mlartifacts").rglob("summary.json"))
    strict(stored.read_text())


# --- the exact engine: accurate for few groups, scaling to the limit ------------------------


def quad_p_best(alpha, beta, i) -> float:
    """P(i is largest) by adaptive quadrature of f_i * prod_{j != i} F_j, with scipy.stats."""
    dists = [stats.beta(a, b) for a, b in zip(alpha, beta, strict=True)]
    lo, hi = dists[i].ppf([1e-15, 1 - 1e-15])

    def integrand(x):
        others = np.prod([d.cdf(x) for j, d in enumerate(dists) if j != i])
        return dists[i].pdf(x) * others

    return integrate.quad(integrand, lo, hi, epsabs=1e-13, epsrel=1e-11, limit=500)[0]


def test_few_groups_match_quadrature_to_1e8():
    alpha, beta = np.array([51.0, 61.0, 45.0, 3.0]), np.array([451.0, 441.0, 400.0, 20.0])
    posterior = BetaPosterior(list("abcd"), alpha, beta)
    truth = np.array([quad_p_best(alpha, beta, i) for i in range(4)])
    assert posterior.p_best() == pytest.approx(truth, abs=1e-8)
    dists = [stats.beta(a, b) for a, b in zip(alpha, beta, strict=True)]
    # E[max] = integral of 1 - prod F over [0, 1]
    expected_max = integrate.quad(
        lambda x: 1 - np.prod([d.cdf(x) for d in dists]),
        0,
        1,
        epsabs=1e-13,
        limit=500,
        points=[0.1, 0.15],
    )[0]
    assert posterior.expected_loss() == pytest.approx(
        expected_max - alpha / (alpha + beta), abs=1e-8
    )
    beats = integrate.quad(
        lambda x: dists[1].sf(x) * dists[0].pdf(x), 0, 1, epsabs=1e-13, limit=500
    )[0]
    assert posterior.prob_beats(0)[1] == pytest.approx(beats, abs=1e-8)


@pytest.fixture
def thousand_variants(cli, tmp_path) -> dict:
    """1,000 variants of unequal traffic (20 to 300 users) and rates around 10%."""
    rng = np.random.default_rng(7)
    trials = rng.integers(20, 300, 1000)
    rates = rng.beta(20, 180, 1000)
    counts = {
        f"v{i:04d}": (int(rng.binomial(n, r)), int(n))
        for i, (n, r) in enumerate(zip(trials, rates, strict=True))
    }
    create(cli, tmp_path, "ab-test", binomial_rows("variant", "outcome", counts))
    result = exact(cli, "--control", "v0000")
    assert result.code == 0, result.err
    return strict(result.out)


def test_1000_groups_agree_with_numpy_monte_carlo(thousand_variants):
    groups = thousand_variants["groups"]
    assert len(groups) == 1000
    alpha = np.array([1.0 + g["successes"] for g in groups])
    beta = np.array([1.0 + g["trials"] - g["successes"] for g in groups])
    draws, chunk = 100_000, 5_000
    rng = np.random.default_rng(2024)
    wins, max_sum, beats = np.zeros(1000), 0.0, np.zeros(1000)
    for _ in range(draws // chunk):
        x = rng.beta(alpha, beta, (chunk, 1000))
        wins += np.bincount(x.argmax(axis=1), minlength=1000)
        max_sum += x.max(axis=1).sum()
        beats += (x > x[:, [0]]).sum(axis=0)
    p_best = np.array([g["p_best"] for g in groups])
    mc = wins / draws
    # 5 standard errors of the Monte Carlo estimate, plus the integration error allowed
    assert np.abs(p_best - mc).max() > 0  # a real comparison, not two copies
    assert np.all(np.abs(p_best - mc) <= 5 * np.sqrt(mc * (1 - mc) / draws) + 2e-4)
    loss = np.array([g["expected_loss"] for g in groups])
    assert loss == pytest.approx(max_sum / draws - alpha / (alpha + beta), abs=2e-4)
    p_beats = np.array([g["p_beats_control"] for g in groups[1:]])
    mc_beats = beats[1:] / draws
    assert np.all(
        np.abs(p_beats - mc_beats) <= 5 * np.sqrt(mc_beats * (1 - mc_beats) / draws) + 2e-4
    )
    # The uplift comes from fewer draws per group with 1,000 groups (posterior.DRAW_BUDGET):
    # its mean within 5 of their standard errors of the exact difference of means.
    mean = alpha / (alpha + beta)
    sd = np.sqrt(alpha * beta / ((alpha + beta) ** 2 * (alpha + beta + 1)))
    uplift = np.array([g["uplift_abs"]["mean"] for g in groups[1:]])
    error = np.sqrt(sd[1:] ** 2 + sd[0] ** 2) / np.sqrt(4000)
    assert np.all(np.abs(uplift - (mean[1:] - mean[0])) <= 5 * error)
    for g, a, b in zip(groups[:50], alpha, beta, strict=False):  # HDIs: the scipy distribution
        assert stats.beta(a, b).cdf(g["hdi_high"]) - stats.beta(a, b).cdf(g["hdi_low"]) == (
            pytest.approx(0.94, abs=1e-6)
        )


def test_1000_groups_plots_stay_small(thousand_variants):
    with catalog.open_lake() as lake:
        summary = inference.posterior(
            lake, "e", inference.Settings(options={"control": "v0000"}), exact=True, plots=True
        )
    rates, uplifts = summary["plots"]
    for spec in (rates, uplifts):  # forest plots: a row per group, the highest 60
        assert len(spec["rows"]) == plots.MAX_ROWS and "the 60 highest of" in spec["title"]
    json.dumps(summary["plots"], allow_nan=False)
    top = sorted(summary["groups"], key=lambda g: -g["mean"])[: plots.MAX_ROWS]
    assert [row["name"] for row in rates["rows"]] == [g["name"] for g in top]


def test_more_groups_than_the_limit_are_refused_in_one_line(cli, tmp_path):
    rows = [{"arm": f"a{i}", "reward": i % 2 == 0} for i in range(inference.MAX_GROUPS + 1)]
    create(cli, tmp_path, "multi-armed-bandits", rows)
    one_line_error(exact(cli), "10,001 arms", "at most 10,000")


@pytest.mark.mcmc
def test_mcmc_with_50_groups_answers(cli, tmp_path):
    counts = {f"c{i:02d}": (i % 7, 20 + i) for i in range(50)}
    create(cli, tmp_path, "ab-test", binomial_rows("variant", "outcome", counts))
    result = cli("posterior", "e", "--json", "--draws", "30", "--tune", "30", "--chains", "2")
    assert result.code == 0, result.err
    summary = strict(result.out)
    assert len(summary["groups"]) == 50 and summary["method"] == "mcmc"
    with catalog.open_lake() as lake:
        plotted = inference.posterior(
            lake, "e", inference.Settings(draws=30, tune=30, chains=2), plots=True
        )
    assert plotted["cached"] and len(plotted["traces"]) == 50
    json.dumps(plotted["plots"], allow_nan=False)
