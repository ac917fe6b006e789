"""Posteriors: MCMC agrees with the closed form, the closed form is right, summaries decide."""

import json

import numpy as np
import pytest

from vibes_core import catalog, inference
from vibes_core.posterior import BetaPosterior, Draws, GammaPosterior
from vibes_core.types import get_type
from vibes_core.types.base import Stats


def events_file(tmp_path, rows: list[dict], name: str = "events.ndjson"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def binomial_rows(group_key: str | None, outcome: str, counts: dict) -> list[dict]:
    """`counts`: group -> (successes, trials), as individual events."""
    rows = []
    for group, (successes, trials) in counts.items():
        base = {group_key: group} if group_key else {}
        rows += [{**base, outcome: i < successes} for i in range(trials)]
    return rows


DATASETS = {
    "ab-test, 3 variants, very unequal sizes": (
        "ab-test",
        binomial_rows("variant", "outcome", {"A": (1000, 10000), "B": (9, 50), "C": (61, 500)}),
    ),
    "ab-test, 4 close variants": (
        "ab-test",
        binomial_rows(
            "variant",
            "outcome",
            {"a": (50, 1000), "b": (55, 1000), "c": (48, 900), "d": (60, 1100)},
        ),
    ),
    "bandits, 3 arms": (
        "multi-armed-bandits",
        binomial_rows("arm", "reward", {"x": (30, 300), "y": (4, 20), "z": (120, 1000)}),
    ),
    "bernoulli, few trials": ("bernoulli", binomial_rows(None, "outcome", {None: (3, 40)})),
    "poisson, 3 cohorts": (
        "poisson-cohorts",
        [
            {"cohort": c, "events": e, "exposure": x}
            for c, e, x in [("p", 3, 10.0), ("q", 40, 100.0), ("r", 0, 5.0)]
            for _ in range(4)
        ],
    ),
}


@pytest.mark.mcmc
@pytest.mark.parametrize("dataset", list(DATASETS))
def test_mcmc_agrees_with_the_exact_posterior(home, tmp_path, dataset):
    type_name, rows = DATASETS[dataset]
    with catalog.open_lake() as lake:
        catalog.create(lake, "e", type_name, events_file(tmp_path, rows))
        exact = inference.posterior(lake, "e", exact=True)
        mcmc = inference.posterior(lake, "e", use_cache=False, warn=pytest.fail)
    assert exact["method"] == "exact" and mcmc["method"] == "mcmc"
    assert mcmc["diagnostics"]["max_r_hat"] <= 1.01 and mcmc["diagnostics"]["divergences"] == 0
    for fitted, truth in zip(mcmc["groups"], exact["groups"], strict=True):
        assert fitted["name"] == truth["name"]
        assert abs(fitted["mean"] - truth["mean"]) <= 3 * fitted["mcse"], fitted
        # An HDI's end from 4,000 draws is off by about 2% of its width (more in a skewed
        # tail): within 5%, or 0.01.
        close = max(0.01, 0.05 * (truth["hdi_high"] - truth["hdi_low"]))
        assert fitted["hdi_low"] == pytest.approx(truth["hdi_low"], abs=close)
        assert fitted["hdi_high"] == pytest.approx(truth["hdi_high"], abs=close)
        if "p_best" in truth:
            assert fitted["p_best"] == pytest.approx(truth["p_best"], abs=0.02)
    assert mcmc["decision"].split(" ")[0] == exact["decision"].split(" ")[0]


def test_exact_p_best_matches_the_closed_form_for_two_betas():
    """P(B > A) for Beta posteriors has a finite-sum formula (Evan Miller); compare with it."""
    from scipy.special import betaln

    a1, b1, a2, b2 = 51, 451, 61, 441
    closed = sum(
        np.exp(betaln(a1 + i, b1 + b2) - np.log(b2 + i) - betaln(1 + i, b2) - betaln(a1, b1))
        for i in range(a2)
    )
    posterior = BetaPosterior(["A", "B"], np.array([a1, a2], float), np.array([b1, b2], float))
    assert posterior.p_best()[1] == pytest.approx(closed, abs=1e-6)
    assert posterior.prob_greater(1, 0) == pytest.approx(closed, abs=1e-6)


@pytest.mark.parametrize("family", [BetaPosterior, GammaPosterior])
def test_exact_hdi_is_the_shortest_interval_with_its_mass(family):
    from scipy import stats

    alpha, beta = np.array([3.0, 40.0, 1.0]), np.array([9.0, 60.0, 0.5])
    posterior = family(["x", "y", "z"], alpha, beta)
    beta_family = family is BetaPosterior
    for i, (low, high) in enumerate(posterior.hdi(0.94)):
        dist = (
            stats.beta(alpha[i], beta[i])
            if beta_family
            else stats.gamma(alpha[i], scale=1 / beta[i])
        )
        assert dist.cdf(high) - dist.cdf(low) == pytest.approx(0.94, abs=1e-6)
        if low > 1e-9 and (not beta_family or high < 1 - 1e-9):  # interior: equal densities
            assert dist.pdf(low) == pytest.approx(dist.pdf(high), rel=1e-3)


def test_exact_expected_loss_and_p_best_match_monte_carlo():
    posterior = GammaPosterior(
        ["a", "b", "c"], np.array([5.0, 30.0, 12.0]), np.array([2.0, 10.0, 5.0])
    )
    sampled = Draws(posterior.names, posterior.draws())
    assert posterior.expected_loss() == pytest.approx(sampled.expected_loss(), abs=0.01)
    assert posterior.p_best() == pytest.approx(sampled.p_best(), abs=0.005)
    assert posterior.mean() == pytest.approx(sampled.mean(), rel=0.01)


def test_bernoulli_without_events_is_the_prior_with_a_warning():
    bernoulli = get_type("bernoulli")
    stats = bernoulli.stats([{"trials": 0, "successes": 0}])
    prior = bernoulli.prior(None, stats)
    options = {"hdi_prob": 0.94, "prior": prior}
    summary = bernoulli.summarize(bernoulli.exact(stats, prior), stats, options)
    [row] = summary["groups"]
    assert row["mean"] == pytest.approx(0.5)
    assert row["hdi_high"] - row["hdi_low"] == pytest.approx(0.94)  # uniform: any such interval
    assert summary["warnings"] == ["no events yet: the posterior is the prior"]


def test_ab_test_with_a_single_variant_answers_with_a_warning():
    ab = get_type("ab-test")
    stats = Stats(["A"], {"trials": np.array([100.0]), "successes": np.array([7.0])})
    prior = ab.prior(None, stats)
    summary = ab.summarize(ab.exact(stats, prior), stats, {"hdi_prob": 0.94, "prior": prior})
    assert summary["groups"][0]["p_best"] == pytest.approx(1.0)
    assert summary["control"] is None and "uplift_rel" not in summary["groups"][0]
    assert "only one variant" in summary["warnings"][0]
    assert summary["decision"].startswith("Only A has data: its conversion rate is 7.")


def test_zero_trial_variant_from_the_split_is_its_prior_and_never_the_choice(cli, tmp_path):
    rows = binomial_rows("variant", "outcome", {"A": (10, 100), "B": (12, 100)})
    cli(
        "experiments",
        "create",
        "e",
        "--type",
        "ab-test",
        "--initial-data-file",
        events_file(tmp_path, rows),
    )
    result = cli("posterior", "e", "--exact", "--json", "--split", "A=1,B=1,C=1")
    assert result.code == 0, result.err
    summary = result.json()
    c = next(g for g in summary["groups"] if g["name"] == "C")
    assert c["trials"] == 0 and c["mean"] == pytest.approx(0.5)
    assert "variant C has no events yet" in result.err
    assert summary["srm"]["flagged"] and "sample ratio mismatch" in result.err
    assert not summary["decision"].startswith("C ")


def test_srm_check_flags_a_broken_split(cli, tmp_path):
    rows = binomial_rows("variant", "outcome", {"A": (50, 1000), "B": (40, 700)})
    cli(
        "experiments",
        "create",
        "e",
        "--type",
        "ab-test",
        "--initial-data-file",
        events_file(tmp_path, rows),
    )
    equal = cli("posterior", "e", "--exact", "--json").json()["srm"]
    assert equal["flagged"] and equal["p_value"] < 0.001
    intended = cli("posterior", "e", "--exact", "--json", "--split", "A=10,B=7").json()["srm"]
    assert not intended["flagged"] and intended["p_value"] > 0.5


def test_poisson_cohort_with_no_events(cli, tmp_path):
    rows = [{"cohort": "a", "events": 5, "exposure": 2.0}, {"cohort": "b", "events": 0}]
    cli(
        "experiments",
        "create",
        "e",
        "--type",
        "poisson-cohorts",
        "--initial-data-file",
        events_file(tmp_path, rows),
    )
    result = cli("posterior", "e", "--exact", "--json", "--reference", "b")
    assert result.code == 0, result.err
    summary = result.json()
    b = next(g for g in summary["groups"] if g["name"] == "b")
    assert b["events"] == 0 and b["hdi_low"] == 0.0 and b["control"] is True
    assert summary["control"] == "b"
    assert "cohort b has no events yet" in result.err
    a = next(g for g in summary["groups"] if g["name"] == "a")
    assert a["rate_ratio"]["median"] > 1


def test_bandit_allocation_is_thompson_with_a_floor(cli, tmp_path):
    rows = binomial_rows("arm", "reward", {"a": (5, 100), "b": (30, 100), "c": (10, 100)})
    cli(
        "experiments",
        "create",
        "e",
        "--type",
        "multi-armed-bandits",
        "--initial-data-file",
        events_file(tmp_path, rows),
    )
    shares = cli("bandit", "allocate", "e", "--exact").json()
    assert sum(shares.values()) == pytest.approx(1.0)
    assert min(shares.values()) == pytest.approx(0.01)  # a and c are hopeless: the floor
    assert max(shares, key=shares.get) == "b"
    summary = cli("posterior", "e", "--exact", "--json").json()
    assert summary["allocation"] == shares and summary["floor"] == 0.01


def test_bernoulli_threshold(cli, tmp_path):
    rows = binomial_rows(None, "outcome", {None: (30, 100)})
    cli(
        "experiments",
        "create",
        "e",
        "--type",
        "bernoulli",
        "--initial-data-file",
        events_file(tmp_path, rows),
    )
    summary = cli("posterior", "e", "--exact", "--json", "--threshold", "0.2").json()
    from scipy import stats

    assert summary["groups"][0]["p_above_threshold"] == pytest.approx(stats.beta(31, 71).sf(0.2))
    assert "P(rate > 20.0%)" in summary["decision"]
