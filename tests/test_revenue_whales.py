"""Revenue with whales (a few buyers who spend 100 times the typical value): the log-normal
model's fit check, and the unit mean's Normal model that stays honest with them. Each answer is
checked against scipy, a numpy Monte Carlo or a simulation with known truth."""

import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats as distributions

from vibes_core.types import get_type
from vibes_core.types.base import Stats
from vibes_core.types.revenue import TAIL_ALARM
from vibes_core.units import number

REVENUE = get_type("revenue")
MEAN = REVENUE.with_likelihood("mean")  # the unit mean's Normal model (families.UnitMean)
# The whale scenario: 5% of users buy, a typical buyer spends 40 (log-normal, sd 1 of the
# logs), and 0.5% of buyers spend 100 times as much.
SHARE, TYPICAL, SD, WHALES, FACTOR = 0.05, 40.0, 1.0, 0.005, 100.0
TRUTH = SHARE * TYPICAL * math.exp(SD**2 / 2) * (1 + WHALES * (FACTOR - 1))  # value per user


def buyer_values(rng, buyers: int, whales: float = WHALES, sd: float = SD) -> np.ndarray:
    values = rng.lognormal(math.log(TYPICAL), sd, buyers)
    return values * np.where(rng.random(buyers) < whales, FACTOR, 1.0)


def user_values(rng, users: int, whales: float = WHALES) -> np.ndarray:
    bought = rng.random(users) < SHARE
    return np.where(bought, buyer_values(rng, users, whales), 0.0)


def stats_of(groups: list[tuple[int, np.ndarray]]) -> Stats:
    """The revenue statistics of groups given as (users, the buyers' values), from numpy."""
    columns = {name: [] for name in ("users", "buyers", "sum_log", "sum_log2")}
    columns |= {"sum_value": [], "sum_value2": []}
    for users, values in groups:
        logs = np.log(values)
        found = (users, len(values), logs.sum(), (logs**2).sum(), values.sum(), (values**2).sum())
        for column, value in zip(columns.values(), found, strict=True):
            column.append(float(value))
    names = [f"g{i}" for i in range(len(groups))]
    return Stats(names, {name: np.array(column) for name, column in columns.items()})


def of_users(values: list[np.ndarray]) -> Stats:
    return stats_of([(len(v), v[v > 0]) for v in values])


def mean_prior(stats: Stats) -> dict[str, float]:
    """The unit-mean model's default prior, its data-given parameters from the data."""
    return MEAN.prior(None, stats)


def student_t(values: np.ndarray, prior: dict[str, float]):
    """The value per user's marginal posterior by the textbook Normal-Inverse-Gamma update of
    the raw values: Student-t with 2a degrees of freedom, centre m, scale sqrt(b / (a k))."""
    n, mean = len(values), values.mean()
    k = prior["kappa"] + n
    m = (prior["kappa"] * prior["center"] + values.sum()) / k
    a = prior["shape"] + n / 2
    b = (
        prior["shape"] * prior["sd"] ** 2
        + ((values - mean) ** 2).sum() / 2
        + prior["kappa"] * n * (mean - prior["center"]) ** 2 / (2 * k)
    )
    return distributions.t(2 * a, loc=m, scale=math.sqrt(b / (a * k)))


def test_the_unit_mean_models_exact_posterior_is_the_student_t_of_its_update():
    rng = np.random.default_rng(2)
    raw = [user_values(rng, 3000), user_values(rng, 8000)]
    stats = of_users(raw)
    prior = mean_prior(stats)
    everyone = np.concatenate(raw)
    assert prior["center"] == pytest.approx(everyone.mean(), rel=1e-12)
    assert prior["sd"] == pytest.approx(everyone.std(ddof=1), rel=1e-9)
    exact = MEAN.exact(stats, prior)
    draws = len(exact.samples)
    hdis = exact.hdi(0.94)
    for i, values in enumerate(raw):
        t = student_t(values, prior)
        own = exact.samples[:, i]
        assert own.mean() == pytest.approx(t.mean(), abs=5 * t.std() / math.sqrt(draws))
        assert own.std() == pytest.approx(t.std(), rel=0.01)
        # Symmetric and unimodal: its HDI is the central interval.
        assert hdis[i] == pytest.approx(t.ppf([0.03, 0.97]), abs=0.03 * t.std())
        buyers = (values > 0).sum()
        share = distributions.beta(prior["alpha"] + buyers, prior["beta"] + len(values) - buyers)
        conversion = exact.parts["conversion"][:, i]
        assert conversion.mean() == pytest.approx(share.mean(), abs=5 * share.std() / 400)
        # The value per buyer, value / share: a numpy Monte Carlo of the two independent draws.
        reference = t.rvs(draws, random_state=rng) / share.rvs(draws, random_state=rng)
        per_buyer = exact.parts["value_per_buyer"][:, i]
        assert per_buyer.mean() == pytest.approx(reference.mean(), abs=6 * reference.std() / 400)
        assert per_buyer.std() == pytest.approx(reference.std(), rel=0.02)


@pytest.mark.mcmc
def test_the_unit_mean_models_pymc_fit_agrees_with_its_exact_posterior():
    import arviz as az
    import pymc as pm

    rng = np.random.default_rng(4)
    raw = [user_values(rng, 2000), user_values(rng, 6000)]
    stats = of_users(raw)
    prior = mean_prior(stats)
    with MEAN.model(stats, prior):
        idata = pm.sample(
            draws=1000, tune=1000, chains=2, cores=1, random_seed=1, progressbar=False
        )
    assert int(idata.sample_stats["diverging"].sum()) == 0
    posterior = idata.posterior
    variables = {name: posterior[name].values for name in ("value", "p")}
    quantity, parts = MEAN.quantity_draws(variables)
    errors = az.mcse(posterior)["value"].values
    for i, values in enumerate(raw):
        t = student_t(values, prior)
        fitted = quantity[..., i].ravel()
        assert abs(fitted.mean() - t.mean()) < 5 * errors[i] + 0.02 * t.std()
        assert fitted.std() == pytest.approx(t.std(), rel=0.1)
        assert parts["value_per_buyer"][..., i].mean() == pytest.approx(
            t.mean() / (values > 0).mean(), rel=0.05
        )


def test_with_whales_the_unit_mean_models_hdis_cover_the_truth_and_the_log_normals_do_not():
    """A million users per variant (250 whales expected): the unit mean's HDIs cover the true
    value per user about 94% of the time, and its mean is unbiased; the log-normal model's
    is 28% low, and its HDIs (a tenth as wide as that) almost never cover it. Forty
    experiments a call, as groups: each is its own posterior."""
    rng = np.random.default_rng(9)
    users, per_call, calls = 1_000_000, 40, 5
    covered, means = 0, []
    for call in range(calls):
        stats = stats_of(
            [(users, buyer_values(rng, rng.binomial(users, SHARE))) for _ in range(per_call)]
        )
        unit_mean = MEAN.exact(stats, mean_prior(stats))
        covered += sum(low <= TRUTH <= high for low, high in unit_mean.hdi(0.94))
        means += list(unit_mean.mean())
        if call == 0:
            log_normal = REVENUE.exact(stats, REVENUE.prior(None, stats))
            missed = sum(not low <= TRUTH <= high for low, high in log_normal.hdi(0.94))
            assert missed >= 0.9 * per_call
            assert log_normal.mean().mean() / TRUTH < 0.8
    runs = per_call * calls
    error = math.sqrt(0.94 * 0.06 / runs)
    assert abs(covered / runs - 0.94) <= 3 * error, covered / runs
    assert np.mean(means) / TRUTH == pytest.approx(1.0, abs=0.01)


def test_the_fit_checks_tail_probability_is_that_of_a_brute_force_simulation():
    """P(the mean of n log-normal values >= x): every value drawn (numpy), against the top 32
    drawn and the rest as a Normal sum; below 32 values, all of them drawn in both."""
    from vibes_core.families import predictive_tail

    rng = np.random.default_rng(8)
    cases = [(10, 1.0, 2.0), (33, 2.0, 3.0), (300, 1.5, 1.5), (2000, 1.0, 1.07)]
    sizes = np.array([size for size, _, _ in cases])
    sd = np.array([sd for _, sd, _ in cases])
    mu = -(sd**2) / 2 - np.log([x for _, _, x in cases])  # values of mean 1 / x: is it >= 1?
    found = predictive_tail(np.tile(mu, (40_000, 1)), np.tile(sd, (40_000, 1)), sizes, rng)
    for (size, spread, x), p in zip(cases, found, strict=True):
        means = rng.lognormal(-(spread**2) / 2, spread, (20_000_000 // size, size)).mean(axis=1)
        brute = (means >= x).mean()
        assert 0.005 < brute < 0.05  # a tail, not the bulk
        assert p == pytest.approx(brute, abs=5 * math.sqrt(brute / len(means)) + 0.1 * brute)


def test_the_fit_check_is_quiet_on_log_normal_data_and_fires_with_whales():
    """P < TAIL_ALARM: on log-normal data (sd of the logs 0.5 to 2, 5 to 3,000 buyers) in
    few checks of 2,000; with whales among 2,000 buyers, in most variants."""
    rng = np.random.default_rng(12)
    alarms = checks = 0
    for _ in range(200):
        groups = []
        for _ in range(10):
            buyers, sd = rng.choice([5, 30, 300, 3000]), rng.choice([0.5, 1.0, 1.5, 2.0])
            groups.append((20 * buyers, buyer_values(rng, buyers, whales=0.0, sd=sd)))
        stats = stats_of(groups)
        fits = REVENUE.tail_fit(stats, REVENUE.prior(None, stats))
        alarms += sum(fit.p_value < TAIL_ALARM for fit in fits)
        checks += len(fits)
    assert alarms <= 0.005 * checks, alarms

    fired = 0
    for _ in range(50):
        stats = stats_of([(40_000, buyer_values(rng, 2000)) for _ in range(2)])
        fits = REVENUE.tail_fit(stats, REVENUE.prior(None, stats))
        fired += sum(fit.p_value < TAIL_ALARM for fit in fits)
        for fit, total, buyers in zip(fits, stats["sum_value"], stats["buyers"], strict=True):
            assert fit.observed == pytest.approx(total / buyers)
    assert fired >= 0.85 * 100, fired


def test_the_summary_warns_of_whales_in_one_line_and_not_of_log_normal_data(cli, tmp_path):
    rng = np.random.default_rng(1)
    values = user_values(rng, 80_000)
    variants = np.where(rng.random(len(values)) < 0.5, "A", "B")
    path = tmp_path / "whales.parquet"
    pq.write_table(pa.table({"variant": variants, "value": values}), path)
    assert cli("experiments", "create", "w", "--type", "revenue", "--initial-data-file", path)
    for args in ([], ["--json"]):
        result = cli("posterior", "w", "--exact", *args)
        assert result.code == 0, result.err
        lines = [line for line in result.err.splitlines() if "log-normal model" in line]
        assert len(lines) == 2  # both variants have whales enough
        for name in "AB":
            spent = values[(variants == name) & (values > 0)]
            said = f"variant {name}: its buyers' mean value is {number(spent.mean())}, where"
            [line] = [line for line in lines if said in line]
            assert "value per user is then likely too low" in line
            assert "--likelihood mean (the mean of the values themselves) stays honest" in line
    assert any("log-normal model" in w for w in result.json()["warnings"])

    generated = tmp_path / "revenue.parquet"
    made = cli("generate", "revenue", "-n", 40_000, "--seed", 5, "-o", generated)
    assert made.code == 0, made.err
    created = cli(
        "experiments", "create", "g", "--type", "revenue", "--initial-data-file", generated
    )
    assert created.code == 0, created.err
    quiet = cli("posterior", "g", "--exact")
    assert quiet.code == 0 and "log-normal model" not in quiet.err


def test_the_unit_mean_models_futures_start_from_its_posterior():
    """No new users: each future's posterior is today's (scipy's Student-t); a million more
    users: each future's posterior gathers around its truth, as closely as the truth's
    variance says; ten more: their sums are those of ten Normal values of the truth."""
    rng = np.random.default_rng(6)
    raw = [user_values(rng, 4000), user_values(rng, 4000)]
    stats = of_users(raw)
    prior = mean_prior(stats)
    batch = {
        key: np.broadcast_to(value, (50, 2)).astype(float) for key, value in stats.values.items()
    }
    today = MEAN.future_draws(stats, batch, prior, rng, 4000)
    for i, values in enumerate(raw):
        t = student_t(values, prior)
        assert today[..., i].mean() == pytest.approx(t.mean(), abs=0.02 * t.std())
        assert today[..., i].std() == pytest.approx(t.std(), rel=0.02)
    truths = MEAN.future_truths(stats, prior, rng, 50)
    later = MEAN.future_stats(stats, batch, truths, np.full(2, 1e6), rng)
    draws = MEAN.future_draws(stats, later, prior, rng, 400)
    spread = np.sqrt(truths["variance"] / later["users"])  # each future's sd of the mean
    assert (np.abs(draws.mean(axis=1) - truths["value"]) < 5 * spread).all()
    assert (later["users"] == 1e6 + 4000).all()
    # Ten more users per future: their values' squared deviations about their own mean, over
    # the truth's variance, are chi-square with 9 degrees of freedom in every future.
    batch = {key: np.zeros((2000, 2)) for key in stats.values}
    truths = MEAN.future_truths(stats, prior, rng, 2000)
    ten = MEAN.future_stats(stats, batch, truths, np.full(2, 10.0), rng)
    deviations = (ten["sum_value2"] - ten["sum_value"] ** 2 / 10) / truths["variance"]
    for i in range(2):
        assert distributions.kstest(deviations[:, i], distributions.chi2(9).cdf).pvalue > 1e-3
