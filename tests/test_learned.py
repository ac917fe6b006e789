"""`vibes priors learn|list|show` and `vibes posterior --prior learned`, through the CLI on a
lake on disk: what is learned from which experiments, what is kept, what an answer under it
says, and every refusal."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from tests.conftest import lake_state
from tests.test_scorecard import make_experiment, write_csv
from vibes_core import catalog
from vibes_core.lake import ALIAS

TRUE_EFFECTS = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.08, -0.05, 0.12, 0.04, 0.06, 0.1]


def ab_test(cli, tmp_path, name: str, effect: float, rng, n: int = 20_000, base: float = 0.1):
    """An ab-test of ``n`` units per variant whose treatment's rate is ``base`` * e^effect."""
    outcomes = {"A": rng.random(n) < base, "B": rng.random(n) < base * np.exp(effect)}
    frame = pd.concat(
        [pd.DataFrame({"variant": v, "outcome": o}) for v, o in outcomes.items()],
        ignore_index=True,
    )
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    made = cli("experiments", "create", name, "--type", "ab-test", "--initial-data-file", path)
    assert made.code == 0, made.err


@pytest.fixture
def past(cli, tmp_path):
    """Twelve past ab-tests with known effects, and a bandit (no control: never learned from)."""
    rng = np.random.default_rng(5)
    for i, effect in enumerate(TRUE_EFFECTS):
        ab_test(cli, tmp_path, f"past_{i}", effect, rng)
    bandit = tmp_path / "bandit.json"
    assert cli("generate", "multi-armed-bandits", "-n", "300", "-o", bandit).code == 0
    made = cli(
        "experiments",
        "create",
        "arms",
        "--type",
        "multi-armed-bandits",
        "--initial-data-file",
        bandit,
    )
    assert made.code == 0, made.err


def test_a_prior_is_learned_from_every_experiment_of_the_type_and_kept(cli, past, home):
    before = lake_state(home)
    learned = cli("priors", "learn", "--type", "ab-test", "--json")
    assert learned.code == 0, learned.err
    found = learned.json()
    assert found["experiments"] == 12 and found["variants"] == 12
    assert found["learned_from"] == sorted(f"past_{i}" for i in range(12))
    assert found["snapshot"] == before[0]
    assert 0 < found["pi"] < 1 and found["tau"] > 0 and found["tail"] in ("normal", "student-t")
    assert abs(found["mu"]) < 0.1
    assert lake_state(home)[0] == before[0] + 1  # kept in one transaction
    assert cli("priors", "show", "--type", "ab-test", "--json").json() == found
    assert cli("priors", "list", "--json").json() == [found]
    words = cli("priors", "show", "--type", "ab-test")
    assert "type ab-test: learned at snapshot" in words.out and "past_11" in words.out
    # Learned again, it replaces the one before.
    assert cli("priors", "learn", "--type", "ab-test").code == 0
    assert len(cli("priors", "list", "--json").json()) == 1


def log_ratio_draws(successes_a, successes_b, n, rng, draws=400_000):
    """The default (uniform) prior's exact posterior of log(p_B / p_A), by numpy's Beta draws."""
    a = rng.beta(1 + successes_a, 1 + n - successes_a, draws)
    b = rng.beta(1 + successes_b, 1 + n - successes_b, draws)
    return np.log(b / a)


def test_an_answer_under_the_learned_prior_leaves_itself_out_and_says_so(cli, past):
    assert cli("priors", "learn", "--type", "ab-test").code == 0
    default = cli("posterior", "past_8", "--exact", "--json").json()
    answer = cli("posterior", "past_8", "--prior", "learned", "--exact", "--json")
    assert answer.code == 0, answer.err
    assert "included past_8: refitted without it, from 11 other experiments" in answer.err
    summary = answer.json()
    assert default["prior_source"] == "default" and "learned_prior" not in default
    assert summary["prior_source"] == "learned"
    learned = summary["learned_prior"]
    assert learned["experiments"] == 11 and learned["variants"] == 11
    treated = summary["groups"][1]
    assert treated["default_uplift_rel"] == pytest.approx(
        default["groups"][1]["uplift_rel"], abs=0.003
    )
    # Shrunk towards what effects usually are: the learned median is nearer the learned mean
    # effect than the default one is, and its interval is narrower.
    shrunk, alone = treated["uplift_rel"], treated["default_uplift_rel"]
    center = np.expm1(learned["mu"])
    assert abs(shrunk["median"] - center) < abs(alone["median"] - center)
    assert shrunk["hdi_high"] - shrunk["hdi_low"] < alone["hdi_high"] - alone["hdi_low"]
    assert "Uplifts are under the prior learned from 11 past experiments" in summary["decision"]
    # The verdict's Bayes factor is the learned slab's against no effect, computed here from
    # the default posterior's mean and variance of the log ratio (numpy's Beta draws).
    a, b = (g["successes"] for g in summary["groups"])
    ratio = log_ratio_draws(a, b, 20_000, np.random.default_rng(1))
    m, v = ratio.mean(), ratio.var()
    assert learned["tail"] == "normal"
    expected = norm.pdf(m, learned["mu"], np.sqrt(v + learned["tau"] ** 2)) / norm.pdf(
        m, 0, np.sqrt(v)
    )
    assert summary["verdict"]["bayes_factor"] == pytest.approx(expected, rel=0.02)
    table = cli("posterior", "past_8", "--prior", "learned", "--exact")
    assert "default prior" in table.out and "prior learned from 11 past experiments" in table.out


def test_an_experiment_not_learned_from_uses_the_stored_prior_as_it_is(cli, past, tmp_path):
    stored = cli("priors", "learn", "--type", "ab-test", "--json").json()
    ab_test(cli, tmp_path, "new_one", 0.03, np.random.default_rng(9))
    answer = cli("posterior", "new_one", "--prior", "learned", "--exact", "--json")
    assert answer.code == 0 and "refitted" not in answer.err
    used = answer.json()["learned_prior"]
    assert {k: used[k] for k in ("pi", "mu", "tau", "experiments")} == {
        k: stored[k] for k in ("pi", "mu", "tau", "experiments")
    }


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--type", "multi-armed-bandits"], 1, "have no control"),
        (
            ["--type", "revenue"],
            1,
            "at least 10 past experiments with a control and data; the lake has 0",
        ),
        (["--type", "no-such-type"], 1, "no experiment type named 'no-such-type'"),
        (["--type", "assignments"], 1, "learn a prior for one of them (--metric M)"),
        (["--metric", "nothing"], 1, "no metric named 'nothing'"),
        (["--type", "ab-test", "--metric", "x"], 2, "give one of --type T and --metric M"),
        ([], 2, "give one of --type T and --metric M"),
    ],
)
def test_what_cannot_be_learned_is_refused_in_one_line(cli, past, home, args, code, words):
    before = lake_state(home)
    refused = cli("priors", "learn", *args)
    assert refused.code == code and words in refused.err
    assert len(refused.err.strip().splitlines()) == 1
    assert lake_state(home) == before


def test_fewer_than_ten_experiments_are_refused_and_nothing_is_kept(cli, tmp_path, home):
    rng = np.random.default_rng(2)
    for i in range(9):
        ab_test(cli, tmp_path, f"few_{i}", 0.0, rng, n=2000)
    before = lake_state(home)
    refused = cli("priors", "learn", "--type", "ab-test")
    assert refused.code == 1 and "the lake has 9" in refused.err
    assert lake_state(home) == before
    asked = cli("posterior", "few_0", "--prior", "learned", "--exact")
    assert asked.code == 1
    assert "no prior learned for type ab-test yet: `vibes priors learn --type ab-test`" in asked.err


def test_a_learned_prior_is_for_each_variant_s_own_model(cli, past):
    assert cli("priors", "learn", "--type", "ab-test").code == 0
    refused = cli("posterior", "past_0", "--prior", "learned", "--pooled")
    assert refused.code == 1 and "does not go with a pooled model" in refused.err
    refused = cli("posterior", "arms", "--prior", "learned", "--exact")
    assert refused.code == 1 and "have no control" in refused.err


def test_a_stored_prior_written_by_hand_is_refused_and_the_others_still_read(cli, past, home):
    assert cli("priors", "learn", "--type", "ab-test").code == 0
    with catalog.open_lake() as lake:
        lake.con.execute(
            f"INSERT INTO {ALIAS}.vibes.priors VALUES ('type:bernoulli', now()::TIMESTAMP, 1, "
            """'{"pi": 2, "mu": 0, "tau": 0.1, "tail": "normal", "why": ""}', '[]')"""
        )
        lake.con.execute(
            f'UPDATE {ALIAS}.vibes.priors SET effects = \'[["../x", "B", 0.1, 0.01]]\' '
            "WHERE target = 'type:ab-test'"
        )
        for key, effects in (("type:[b]x", "[]"), ("metric:orders", '[[1, "B", 0.1, 0.01]]')):
            lake.con.execute(
                f"INSERT INTO {ALIAS}.vibes.priors VALUES (?, now()::TIMESTAMP, 1, ?, ?)",
                [key, '{"pi": 0.5, "mu": 0, "tau": 0.1, "tail": "normal", "why": ""}', effects],
            )
    listed = cli("priors", "list", "--json")
    assert listed.code == 0 and listed.json() == []
    assert "the prior learned for type bernoulli is not valid: learn it again" in listed.err
    assert "the prior learned for type ab-test is not valid" in listed.err
    assert "a learned prior is for 'type:[b]x', neither a type nor a metric" in listed.err
    assert "the prior learned for metric orders is not valid" in listed.err
    asked = cli("posterior", "past_0", "--prior", "learned", "--exact")
    assert asked.code == 1 and "is not valid: learn it again" in asked.err


def test_a_metric_s_prior_is_learned_from_the_experiments_on_units_that_have_it(cli, tmp_path):
    rng = np.random.default_rng(3)
    orders = []
    for i in range(11):
        lift = 1.0 if i % 2 else 1.15
        assignments, bought, _ = make_experiment(
            rng, 800, {"control": 0.5, "treatment": 0.5 * lift}, {"control": 0.1, "treatment": 0.1}
        )
        assignments["unit"] = f"e{i}_" + assignments["unit"]
        bought["unit"] = f"e{i}_" + bought["unit"]
        orders.append(bought)
        path = write_csv(tmp_path / f"assign_{i}.csv", assignments)
        made = cli(
            "experiments",
            "create",
            f"shop_{i}",
            "--type",
            "assignments",
            "--initial-data-file",
            path,
        )
        assert made.code == 0, made.err
    assert (
        cli("tables", "upload", "orders", write_csv(tmp_path / "o.csv", pd.concat(orders))).code
        == 0
    )
    made = cli("metrics", "create", "orders", "--table", "orders", "--kind", "count")
    assert made.code == 0, made.err
    for i in range(11):
        assert cli("experiments", "metrics", f"shop_{i}", "--goal", "orders").code == 0
    learned = cli("priors", "learn", "--metric", "orders", "--json")
    assert learned.code == 0, learned.err
    assert learned.json()["metric"] == "orders" and learned.json()["experiments"] == 11
    card = cli("posterior", "shop_0", "--prior", "learned", "--exact", "--json")
    assert card.code == 0, card.err
    [metric] = card.json()["metrics"]
    assert metric["prior_source"] == "learned" and metric["learned_prior"]["experiments"] == 10
    assert "default_uplift_rel" in metric["groups"][1]


def test_the_python_api_learns_a_prior_and_answers_under_it(past):
    import vibes_core as vc

    found = vc.learn_prior("ab-test")
    assert found["experiments"] == 12 and vc.learned_priors() == [found]
    summary = vc.fit("past_3", prior="learned", exact=True)
    assert summary["prior_source"] == "learned" and summary["learned_prior"]["experiments"] == 11
    with pytest.raises(vc.VibesError, match="give one of type_name and metric"):
        vc.learn_prior()


async def test_learned_is_a_prior_the_options_panel_saves_and_every_answer_then_uses(
    cli, past, home
):
    from textual.widgets import DataTable, Input

    from tests.test_options import open_options
    from tests.test_tui import settle, until
    from vibes_tui.app import VibesApp
    from vibes_tui.screens.inspect import InspectScreen

    assert cli("priors", "learn", "--type", "ab-test").code == 0
    app = VibesApp()
    async with app.run_test(size=(120, 40)) as pilot:
        panel = await open_options(app, pilot, "past_8")
        panel.query_one("#prior", Input).value = "learned"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, InspectScreen))
        inspect = app.screen
        await until(pilot, lambda: inspect.summary and inspect.summary["prior_source"] == "learned")
        table = inspect.query_one("#summary", DataTable)
        assert "default prior" in [str(column.label) for column in table.columns.values()]
        await settle(app, pilot)
    answer = cli("posterior", "past_8", "--exact", "--json")
    assert answer.code == 0 and answer.json()["learned_prior"]["experiments"] == 11
    refused = cli("experiments", "options", "arms", "--prior", "learned")
    assert refused.code == 1 and "multi-armed-bandits has none" in refused.err


@pytest.mark.mcmc
def test_mcmc_answers_under_the_learned_prior_from_the_same_cached_fit(cli, past):
    """The learned prior moves the default prior's draws: a cached fit is summarized again
    under it, never refitted, and agrees with the exact answer under it."""
    assert cli("priors", "learn", "--type", "ab-test").code == 0
    short = ["--draws", "500", "--tune", "500", "--chains", "2", "--json"]
    default = cli("posterior", "past_8", *short)
    assert default.code == 0, default.err
    learned = cli("posterior", "past_8", *short, "--prior", "learned")
    assert learned.code == 0, learned.err
    summary, exact = (
        learned.json(),
        cli("posterior", "past_8", "--exact", "--json", "--prior", "learned").json(),
    )
    assert summary["cached"] and summary["method"] == "mcmc"
    assert summary["prior_source"] == "learned"
    mcmc_uplift, exact_uplift = summary["groups"][1]["uplift_rel"], exact["groups"][1]["uplift_rel"]
    assert mcmc_uplift["median"] == pytest.approx(exact_uplift["median"], abs=0.01)
    assert summary["groups"][1]["default_uplift_rel"] == pytest.approx(
        default.json()["groups"][1]["uplift_rel"], abs=1e-12
    )
