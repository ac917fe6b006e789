"""Verdicts on constructed data, through the CLI: a clear winner, a tie with a million events
per arm, a small leader, a control without conversions, groups with no data; and the edge
cases of what a person reads (ratios' medians, many arms' floors, labels, scale-free priors)."""

import json

import numpy as np
import pytest
from scipy import stats

from tests.test_inference import binomial_rows, events_file
from vibes_core.summary import decimals, relative_words
from vibes_core.units import percent


def create(cli, tmp_path, kind: str, rows: list[dict], name: str = "e") -> None:
    made = cli(
        "experiments",
        "create",
        name,
        "--type",
        kind,
        "--initial-data-file",
        events_file(tmp_path, rows, f"{name}.ndjson"),
    )
    assert made.code == 0, made.err


def counted(groups: dict) -> list[dict]:
    """ab-test events from (successes, trials) per variant, a day apart at most (so that the
    experiment has a pace), the first variant's first."""
    rows = binomial_rows("variant", "outcome", groups)
    for i, row in enumerate(rows):
        row["timestamp"] = f"2026-11-{1 + i * 7 // len(rows):02d}T12:00:00Z"
    return rows


def posterior(cli, *args: str) -> tuple[dict, str, int]:
    result = cli("posterior", "e", "--exact", "--json", *args)
    assert result.code in (0, 3), result.err
    return result.json(), result.err, result.code


def test_a_clear_winner_is_chosen_and_check_exits_0(cli, tmp_path):
    create(cli, tmp_path, "ab-test", counted({"A": (1000, 10_000), "B": (1300, 10_000)}))
    summary, _, code = posterior(cli, "--check")
    assert code == 0
    assert summary["verdict"]["action"] == "choose" and summary["verdict"]["choice"] == "B"
    assert summary["verdict"]["events_needed"] is None
    b = summary["groups"][1]
    assert summary["decision"].startswith(
        f"Choose B: it beats A with >99.9% probability ({relative_words(b)})"
    )
    assert 0.29 < b["uplift_rel"]["median"] < 0.31 and b["uplift_rel"]["mc_error"] < 0.01


def test_a_tie_with_a_million_events_per_arm_is_no_difference(cli, tmp_path):
    path = tmp_path / "tie.csv"
    with path.open("w") as out:  # 2 million events, written quickly
        out.write("variant,outcome\n")
        for variant in "AB":
            out.write(f"{variant},true\n" * 100_000 + f"{variant},false\n" * 900_000)
    assert (
        cli("experiments", "create", "e", "--type", "ab-test", "--initial-data-file", path).code
        == 0
    )
    summary, _, code = posterior(cli, "--check")
    assert summary["verdict"]["action"] == "no-difference" and code == 0
    assert summary["decision"].startswith("No difference: every variant is within ±1% of A")
    # Tighter than the data can tell: keep running.
    tighter, _, code = posterior(cli, "--check", "--rope", "0.001")
    assert tighter["verdict"]["action"] == "keep-running" and code == 3


def test_a_small_leader_keeps_it_running_and_says_what_is_credible(cli, tmp_path):
    """The hold-out's case: a large control, a mid-sized variant that credibly beats it, a
    200-user variant that leads on luck."""
    create(
        cli,
        tmp_path,
        "ab-test",
        counted({"control": (1000, 10_000), "red": (575, 5000), "green": (28, 200)}),
    )
    summary, _, code = posterior(cli, "--check")
    found = summary["verdict"]
    assert code == 3 and found["action"] == "keep-running" and found["choice"] is None
    assert summary["control"] == "control"
    assert found["events_needed"] > 0 and found["days_needed"] > 0
    decision = summary["decision"]
    assert decision.startswith("Keep running: no variant can be chosen yet (green is best")
    red = next(g for g in summary["groups"] if g["name"] == "red")
    assert red["p_beats_control"] > 0.99
    credible = f"red beats control with {percent(red['p_beats_control'])} probability"
    assert f"{credible} ({relative_words(red)})" in decision
    # What the futures say, not a promise: their median, between their quartiles.
    low, high = found["events_needed_range"]
    assert low <= found["events_needed"] and (high is None or found["events_needed"] <= high)
    days_low, _ = found["days_needed_range"]
    assert days_low <= found["days_needed"]
    assert (
        f"About {found['events_needed']:,} more events (≈ {found['days_needed']:g} days at the "
        "current rate) settle it in half of the futures drawn from today's posterior (a quarter "
        f"within {low:,}, "
    ) in decision
    assert "rule" in found and "Bayes factor" in found["rule"]
    # Both conditions of a choice are short, and the sentence says so.
    assert found["missing"] == ["loss", "evidence"] and found["bayes_factor"] < 20
    assert "above the 0.25% allowed, and the evidence of a difference from control is" in decision


def test_events_needed_are_in_the_right_range_for_a_known_effect(cli, tmp_path):
    """With a true +15% the verdict should come after about as many events as simulation of
    the same truth needs: the estimate is within a factor of three of it."""
    rng = np.random.default_rng(4)
    rates = {"A": 0.10, "B": 0.115}
    rows = [
        {"variant": v, "outcome": bool(o)} for v, p in rates.items() for o in rng.random(2000) < p
    ]
    create(cli, tmp_path, "ab-test", rows)
    summary, _, _ = posterior(cli)
    if summary["verdict"]["action"] != "keep-running":
        pytest.skip("this draw already settled")
    needed = summary["verdict"]["events_needed"]
    assert needed is not None
    more = [
        {"variant": v, "outcome": bool(o)}
        for v, p in rates.items()
        for o in rng.random(needed // 2) < p
    ]
    assert cli("events", "upload", "e", "-f", events_file(tmp_path, more, "more.ndjson")).code == 0
    later, _, _ = posterior(cli)
    # Not a promise for one future, but not far off either: settled, or close to it.
    assert later["verdict"]["action"] != "keep-running" or (
        later["verdict"]["events_needed"] < 3 * needed
    )


def test_groups_without_data_are_reported_but_neither_win_nor_distort(cli, tmp_path):
    create(cli, tmp_path, "ab-test", counted({"A": (100, 1000), "B": (120, 1000)}))
    alone, _, _ = posterior(cli)
    with_c, err, _ = posterior(cli, "--split", "A=1,B=1,C=1")
    c = next(g for g in with_c["groups"] if g["name"] == "C")
    assert c["trials"] == 0 and c["p_best"] is None and c["expected_loss"] is None
    assert "variant C has no events yet" in err and "left out of P(best)" in err
    for before, after in zip(alone["groups"], with_c["groups"], strict=False):
        assert after["p_best"] == pytest.approx(before["p_best"], abs=1e-9)
        assert after["expected_loss"] == pytest.approx(before["expected_loss"], rel=1e-9)


def test_a_cohort_seen_for_a_millionth_of_a_unit_is_not_the_highest(cli, tmp_path):
    rows = [
        {"cohort": "a", "events": 30, "exposure": 10.0},
        {"cohort": "b", "events": 45, "exposure": 10.0},
        {"cohort": "c", "events": 0, "exposure": 1e-6},
    ]
    create(cli, tmp_path, "poisson-cohorts", rows)
    summary, err, _ = posterior(cli)
    c = next(g for g in summary["groups"] if g["name"] == "c")
    assert c["p_best"] is None and "cohort c has too little data" in err
    b = next(g for g in summary["groups"] if g["name"] == "b")
    assert b["p_best"] > 0.9 and summary["decision"].split(" ")[0] != "c"


def test_one_event_in_a_millionth_of_a_unit_is_a_rate_of_about_a_million(cli, tmp_path):
    """Jeffreys' prior is the same in every unit of exposure: the HDI holds the rate seen."""
    rows = [
        {"cohort": "a", "events": 1, "exposure": 1e-6},
        {"cohort": "b", "events": 3, "exposure": 2e-6},
    ]
    create(cli, tmp_path, "poisson-cohorts", rows)
    summary, _, _ = posterior(cli)
    for group, seen in zip(summary["groups"], (1e6, 1.5e6), strict=True):
        assert group["hdi_low"] < seen < group["hdi_high"]
    assert summary["prior"] == {"shape": 0.5, "rate": 0.0}


def test_a_ratio_over_a_control_without_conversions_is_its_median(cli, tmp_path):
    """E[1/p] is infinite when the control may have no conversions: the uplift is centred on
    its median, which exists, and is that of the exact Beta posteriors (by quadrature here)."""
    create(cli, tmp_path, "ab-test", counted({"A": (0, 200), "B": (5, 200)}))
    summary, _, _ = posterior(cli)
    b = summary["groups"][1]
    a_post, b_post = stats.beta(1, 201), stats.beta(6, 196)
    # P(B / A - 1 <= m) = 1/2 at the median m: P(B <= (1 + m) A), integrated over A.
    x = np.linspace(0, a_post.ppf(1 - 1e-12), 200_001)
    cdf = lambda m: np.trapezoid(b_post.cdf((1 + m) * x) * a_post.pdf(x), x)  # noqa: E731
    median = b["uplift_rel"]["median"]
    assert cdf(median * 0.97) < 0.5 < cdf(median * 1.03)
    assert "mean" not in b["uplift_rel"]


def test_many_arms_keep_thompson_sampling_above_the_floors(cli, tmp_path):
    counts = {f"arm{i:03d}": (5, 100) for i in range(120)} | {"star": (40, 100)}
    create(cli, tmp_path, "multi-armed-bandits", binomial_rows("arm", "reward", counts))
    shares = cli("bandit", "allocate", "e", "--exact").json()
    floors = sorted(shares.values())[:-1]
    assert sum(floors) <= 0.2 + 1e-9 and shares["star"] >= 0.8 - 1e-9
    assert sum(shares.values()) == pytest.approx(1)


def test_labels_keep_their_digits(cli, tmp_path):
    create(cli, tmp_path, "bernoulli", binomial_rows(None, "outcome", {None: (5, 100_000)}))
    shown = cli("posterior", "e", "--exact", "--hdi-prob", "0.999")
    decision = [line for line in shown.out.splitlines() if line.startswith("The success rate")]
    assert decision and "99.9% HDI" in decision[0] and "<0.1%" not in decision[0]
    assert "0.00" in decision[0]  # 5 in 100,000 is 0.005%, not "<0.1%"
    again = cli("posterior", "e", "--exact", "--hdi-prob", "0.975").out
    assert "97.5% HDI" in again


def test_srm_is_a_line_under_the_table_and_never_p_0(cli, tmp_path, monkeypatch):
    """Against a declared split, a mismatch is an alarm; without one, equal shares were only
    assumed: the summary says so, and how to declare the real split."""
    monkeypatch.setenv("COLUMNS", "300")  # each line whole
    create(cli, tmp_path, "ab-test", counted({"A": (100, 1000), "B": (300, 3000)}))
    shown = cli("posterior", "e", "--exact")
    note = [line for line in shown.out.splitlines() if line.startswith("sample ratio check")]
    assert note == [
        "sample ratio check against equal shares (no split declared): p < 1e-16, they "
        "differ: declare the split if meant to"
    ]
    assert "sample ratio mismatch" not in shown.err and "MISMATCH" not in shown.out
    assert "no split was declared, so equal shares were assumed" in shown.err
    assert "declare the intended split (--split A=WEIGHT,B=WEIGHT" in shown.err
    summary = json.loads(cli("posterior", "e", "--exact", "--json").out)
    srm = summary["srm"]
    assert srm["flagged"] and srm["p_value"] < 1e-16 and srm["declared"] is False
    fine = cli("posterior", "e", "--exact", "--split", "A=1,B=3").out
    assert "sample ratio check against the intended split: p = 1, no mismatch" in fine
    declared = cli("posterior", "e", "--exact", "--split", "A=1,B=1")
    assert "against the intended split: p < 1e-16, MISMATCH" in declared.out
    assert "sample ratio mismatch: the observed split differs" in declared.err


def test_max_loss_and_rope_are_checked_and_apply_to_every_type(cli, tmp_path):
    create(
        cli,
        tmp_path,
        "poisson-cohorts",
        [
            {"cohort": "a", "events": 30, "exposure": 10.0},
            {"cohort": "b", "events": 32, "exposure": 10.0},
        ],
    )
    strict, _, _ = posterior(cli, "--max-loss", "0.5", "--rope", "0.9")
    assert strict["verdict"]["action"] == "no-difference"
    assert "±90%" in strict["verdict"]["rule"] and "below 50%" in strict["verdict"]["rule"]
    bad = cli("posterior", "e", "--exact", "--max-loss", "-1")
    assert bad.code == 2 and bad.err.count("\n") == 1


def test_no_printed_digit_of_an_uplift_is_finer_than_its_monte_carlo_error():
    """The batch estimate of the error is checked against the spread over seeds, and the
    digits printed follow it."""
    from vibes_core.types import get_type
    from vibes_core.types.base import Stats

    ab = get_type("ab-test")
    counts = {"trials": np.array([1480.0, 1520.0]), "successes": np.array([161.0, 189.0])}
    stats = Stats(["A", "B"], counts)
    prior = ab.prior(None, stats)
    lows, errors = [], []
    for seed in range(12):
        exact = ab.exact(stats, prior)
        exact.seed = seed
        uplift = ab.summarize(exact, stats, {"hdi_prob": 0.94, "prior": prior})["groups"][1]
        lows.append(uplift["uplift_rel"]["hdi_low"])
        errors.append(uplift["uplift_rel"]["mc_error"])
    spread = np.std(lows, ddof=1)
    assert 0.4 * spread < np.mean(errors) < 2.5 * spread  # batch means: the right size
    digits = decimals(100 * np.mean(errors))
    assert 10.0**-digits >= 2 * 100 * np.mean(errors)  # the last digit printed is not noise
    assert decimals(0.004) == 2 and decimals(0.04) == 1 and decimals(0.4) == 0


def big_file(tmp_path, group: str, outcome: str, counts: dict) -> str:
    """A CSV of (successes, trials) per group, written quickly."""
    path = tmp_path / "big.csv"
    with path.open("w") as out:
        out.write(f"{group},{outcome}\n")
        for name, (successes, trials) in counts.items():
            out.write(f"{name},true\n" * successes + f"{name},false\n" * (trials - successes))
    return str(path)


def expected_loss(counts: dict, draws: int = 400_000) -> dict[str, float]:
    """E[max over groups - group], by Monte Carlo from the Beta(1 + s, 1 + n - s) posteriors."""
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.beta(1 + s, 1 + n - s, draws) for s, n in counts.values()])
    return dict(zip(counts, (x.max(axis=1)[:, None] - x).mean(axis=0), strict=True))


@pytest.mark.parametrize(
    ("kind", "group", "outcome"),
    [("ab-test", "variant", "outcome"), ("multi-armed-bandits", "arm", "reward")],
)
def test_two_equally_good_treatments_are_chosen(cli, tmp_path, kind, group, outcome):
    """10% / 12% / 12% at 700,000 each: either 12% costs less than the max-loss, and both
    differ from the 10%. The evidence is against the baseline (a control, or for bandits the
    other arms together), not against the equal twin: one of them is chosen."""
    counts = {"A": (70_000, 700_000), "B": (84_000, 700_000), "C": (84_000, 700_000)}
    path = big_file(tmp_path, group, outcome, counts)
    made = cli("experiments", "create", "e", "--type", kind, "--initial-data-file", path)
    assert made.code == 0, made.err
    summary, _, code = posterior(cli, "--check")
    found = summary["verdict"]
    assert found["action"] == "choose" and code == 0 and found["missing"] == []
    assert found["choice"] in ("B", "C") and found["bayes_factor"] >= 20
    loss = expected_loss(counts)[found["choice"]]  # the twin's: about 0.22% of A's 10%
    base = 0.10 if kind == "ab-test" else 0.12  # the control, else the leader
    assert 0.0015 * base < loss < 0.0025 * base
    assert summary["decision"].startswith(f"Choose {found['choice']}: it ")


def test_keep_running_says_the_evidence_is_what_is_missing(cli, tmp_path):
    """B leads A by 5% on 20,000 each: its expected loss is within the max-loss, but the data
    do not yet favour a difference 20 to 1. The Bayes factor is checked against one computed
    from the exact moments of the log Beta posteriors (digamma, trigamma)."""
    from scipy.special import digamma, polygamma

    from vibes_core.verdict import TAUS

    counts = {"A": (2000, 20_000), "B": (2100, 20_000)}
    create(cli, tmp_path, "ab-test", counted(counts))
    summary, _, code = posterior(cli, "--check")
    found = summary["verdict"]
    assert code == 3 and found["action"] == "keep-running" and found["missing"] == ["evidence"]
    (a, n_a), (b, n_b) = counts.values()
    m = digamma(1 + b) - digamma(2 + n_b) - digamma(1 + a) + digamma(2 + n_a)
    v = sum(polygamma(1, 1 + s) - polygamma(1, 2 + n) for s, n in counts.values())
    factor = np.mean(
        [np.sqrt(v / (v + t**2)) * np.exp(m**2 * t**2 / (2 * v * (v + t**2))) for t in TAUS]
    )
    assert found["bayes_factor"] == pytest.approx(factor, rel=0.05) and factor < 20
    assert expected_loss(counts)["B"] < 0.0025 * 0.1
    assert (
        "within the 0.25% allowed, but the evidence of a difference from A is "
        f"{found['bayes_factor']:.2g} to 1, short of the 20 needed"
    ) in summary["decision"]


def test_the_count_of_more_credible_variants_agrees_with_its_verb(cli, tmp_path):
    """Beyond the three surest, the rest are counted: one variant beats, two variants beat."""
    four = {"control": (1000, 10_000)} | {f"v{i}": (1300, 10_000) for i in range(4)}
    create(cli, tmp_path, "ab-test", counted(four))
    decision = posterior(cli)[0]["decision"]
    assert "1 more variant beats or falls below control with at least 95%" in decision
    assert "(the table has it)" in decision
    five = four | {"v4": (1300, 10_000)}
    create(cli, tmp_path, "ab-test", counted(five), name="f")
    decision = cli("posterior", "f", "--exact", "--json").json()["decision"]
    assert "2 more variants beat or fall below control with at least 95%" in decision


@pytest.mark.mcmc
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_cached_fit_answers_with_todays_verdict_without_sampling_again(cli, home, tmp_path):
    """A fit cached by an older vibes (its summary of another verdict, its options without
    this code's version) is summarized again from its stored draws: today's verdict, no new
    fit, and a copy on this machine then holds it."""
    create(cli, tmp_path, "ab-test", counted({"A": (100, 1000), "B": (160, 1000)}))
    small = ("--draws", "200", "--tune", "200", "--chains", "2", "--json")
    first = cli("posterior", "e", *small).json()
    assert first["cached"] is False and first["verdict"]["action"] == "choose"
    [copy] = (home / "fits" / "e").glob("*.json")
    [artifact] = home.glob("mlartifacts/**/summary.json")
    for path in (copy, artifact):  # as an older version would have written them
        stored = json.loads(path.read_text())
        stored["options"].pop("summary_version", None)
        stored["summary"]["verdict"] |= {"action": "keep-running", "choice": None}
        stored["summary"]["decision"] = "Keep running: the words of an older rule"
        path.write_text(json.dumps(stored))

    again = cli("posterior", "e", *small).json()
    assert again["cached"] is True and again["diagnostics"] == first["diagnostics"]
    assert again["verdict"] == first["verdict"] and again["decision"] == first["decision"]
    assert len(cli("cache", "list", "e").json()) == 1  # no new fit
    kept = [json.loads(path.read_text()) for path in (home / "fits" / "e").glob("*.json")]
    assert any(
        copy["summary"]["verdict"] == first["verdict"] and "summary_version" in copy["options"]
        for copy in kept
    )
    assert cli("posterior", "e", *small).json()["verdict"] == first["verdict"]
