"""Revenue with whales: the log-normal model (before) against the unit mean's Normal model
(after), on simulated A/A tests with known truth.

The whale scenario: 5% of users buy; a buyer spends LogNormal(log 40, 1) (a typical buyer 40);
0.5% of buyers spend 100 times that. The well-behaved one: the same without whales. Each run is
an A/A test of two variants of USERS users each, drawn alike; each model's exact posterior
(its default prior: the code `vibes posterior --exact` runs, and `--likelihood mean` for the
unit mean's) gives, per variant:

- bias: its posterior mean of the value per user over the truth, minus 1;
- coverage: how often its 94% HDI holds the true value per user (nominal 94%);
- A/A false calls: how often P(B beats A) is beyond 95/5 (nominal 10%);
- HDI width: the mean width of its 94% HDI, relative to the log-normal model's;
- warned: how often the log-normal model's fit check warns of the variant (revenue's
  summary warning, vibes_core.types.revenue.TAIL_ALARM).

A hundred experiments go through one call as 200 groups (each its own posterior; 20,000
exact draws each). ± is one Monte Carlo standard error. No assertions: figures to read
(tests/test_revenue_whales.py asserts).

Run: python bench/revenue_whales.py [RUNS] [USERS ...]
"""

import math
import sys
import time

import numpy as np

from vibes_core.types import get_type
from vibes_core.types.base import Stats
from vibes_core.types.revenue import TAIL_ALARM

SHARE, TYPICAL, SD, WHALES, FACTOR = 0.05, 40.0, 1.0, 0.005, 100.0
PROB = 0.94
PER_CALL = 100  # experiments (200 groups) per exact posterior
REVENUE = get_type("revenue")
MEAN = REVENUE.with_likelihood("mean")


def simulated(users: int, experiments: int, whales: float, rng) -> Stats:
    """Two variants per experiment, their statistics from each buyer's value (non-buyers add
    nothing to any sum)."""
    columns = {name: [] for name in ("users", "buyers", "sum_log", "sum_log2")}
    columns |= {"sum_value": [], "sum_value2": []}
    for _ in range(2 * experiments):
        buyers = rng.binomial(users, SHARE)
        values = rng.lognormal(math.log(TYPICAL), SD, buyers)
        values *= np.where(rng.random(buyers) < whales, FACTOR, 1.0)
        logs = np.log(values)
        found = (users, buyers, logs.sum(), (logs**2).sum(), values.sum(), (values**2).sum())
        for column, value in zip(columns.values(), found, strict=True):
            column.append(float(value))
    names = [f"{i // 2}{'AB'[i % 2]}" for i in range(2 * experiments)]
    return Stats(names, {name: np.array(column) for name, column in columns.items()})


def measured(estimate, truth: float) -> dict[str, np.ndarray]:
    """Per variant: relative error of the mean, covered, HDI width; per experiment: P(B > A)."""
    hdis = np.array(estimate.hdi(PROB))
    samples = estimate.draws()
    return {
        "error": estimate.mean() / truth - 1,
        "covered": (hdis[:, 0] <= truth) & (truth <= hdis[:, 1]),
        "width": hdis[:, 1] - hdis[:, 0],
        "beats": (samples[:, 1::2] > samples[:, 0::2]).mean(axis=0),
    }


def scenario(users: int, runs: int, whales: float, rng) -> dict[str, dict[str, np.ndarray]]:
    truth = SHARE * TYPICAL * math.exp(SD**2 / 2) * (1 + whales * (FACTOR - 1))
    found = {"log-normal": [], "unit mean": [], "warned": []}
    for start in range(0, runs, PER_CALL):
        stats = simulated(users, min(PER_CALL, runs - start), whales, rng)
        prior = REVENUE.prior(None, stats)
        found["log-normal"].append(measured(REVENUE.exact(stats, prior), truth))
        found["unit mean"].append(measured(MEAN.exact(stats, MEAN.prior(None, stats)), truth))
        fits = REVENUE.tail_fit(stats, prior)
        found["warned"].append(np.array([fit.p_value < TAIL_ALARM for fit in fits]))
    warned = np.concatenate(found.pop("warned"))
    joined = {
        model: {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
        for model, parts in found.items()
    }
    joined["log-normal"]["warned"] = warned
    return joined


def share(flags: np.ndarray) -> str:
    p = flags.mean()
    return f"{100 * p:5.1f}% ±{100 * math.sqrt(p * (1 - p) / len(flags)):.1f}"


def row(data: str, users: int, model: str, found: dict, width: float) -> str:
    error = found["error"]
    bias = f"{100 * error.mean():+6.1f}% ±{100 * error.std() / math.sqrt(len(error)):.1f}"
    false = (found["beats"] > 0.95) | (found["beats"] < 0.05)
    warned = share(found["warned"]) if "warned" in found else ""
    return (
        f"{data:11}{users:>10,}  {model:11}{bias:>14}{share(found['covered']):>14}"
        f"{share(false):>14}{width:>9.2f}{warned:>14}"
    )


def main() -> None:
    if {"-h", "--help"} & set(sys.argv[1:]):
        print(__doc__)
        return
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    sizes = [int(x) for x in sys.argv[2:]] or [20_000, 100_000, 1_000_000]
    rng = np.random.default_rng(2026)
    print(
        f"A/A tests of 2 variants, {runs:,} per line; {SHARE:.0%} of users buy, a buyer "
        f"spends LogNormal(log {TYPICAL:g}, {SD:g}); whales: {WHALES:.1%} of buyers spend "
        f"{FACTOR:g} times that. Exact posteriors, default priors, {PROB:.0%} HDIs."
    )
    print(
        f"{'data':11}{'users/var.':>10}  {'model':11}{'bias':>14}{'coverage':>14}"
        f"{'A/A false':>14}{'width':>9}{'warned':>14}"
    )
    start = time.perf_counter()
    for data, whales in (("whales", WHALES), ("log-normal", 0.0)):
        for users in sizes:
            found = scenario(users, runs, whales, rng)
            base = found["log-normal"]["width"].mean()
            for model, values in found.items():
                print(row(data, users, model, values, values["width"].mean() / base))
    print(
        f"nominal: bias 0, coverage {PROB:.0%}, A/A false calls 10%; width relative to the "
        f"log-normal model's; warned: the fit check's warnings per variant "
        f"({time.perf_counter() - start:.0f} s)"
    )


if __name__ == "__main__":
    main()
