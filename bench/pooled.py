"""Partial pooling on 40 groups: how long a pooled fit takes, whether it converges, and what
pooling buys, on simulated data with known truth.

- Fit time, whole `vibes posterior NAME --pooled --no-cache --json` process (pytensor's
  compile cache warm after the first), and in one long-lived process as the dashboard runs it
  (imports done before the clock starts). Goal: under 10 s headless, r_hat <= 1.01, 0
  divergences.
- Over REPEATS simulations of 40 true rates from Beta(4, 36) with groups of 20 to 2,000
  users: the pooled means' mean squared error against the truth over the unpooled one's, and
  how often the 94% HDIs cover the true rates (with its Monte Carlo error).

- A breakdown by segment (`--by segment`): 20,000 events of two variants in six countries,
  fit time in the warm process and as a whole process, with its diagnostics.

Run: python bench/pooled.py [REPEATS]
"""

import json
import os
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa
from common import VIBES, summary, vibes, wall

GROUPS = 40


def simulated(rng) -> tuple[pa.Table, np.ndarray]:
    truth = rng.beta(4, 36, GROUPS)
    sizes = np.round(np.exp(rng.uniform(np.log(20), np.log(2000), GROUPS))).astype(int)
    names = np.repeat([f"v{i:02d}" for i in range(GROUPS)], sizes)
    outcome = rng.random(sizes.sum()) < np.repeat(truth, sizes)
    return pa.table({"variant": names, "outcome": outcome}), truth


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    home = tempfile.mkdtemp(prefix="vibes-bench-pooled-")
    os.environ["VIBES_HOME"] = home
    from vibes_core import api, catalog, inference
    from vibes_core.models import Pooled

    rng = np.random.default_rng(2026)
    pooled_errors, own_errors, covered, fits = [], [], [], []
    for repeat in range(repeats):
        events, truth = simulated(rng)
        name = f"sim{repeat}"
        api.create(name, "ab-test", events)
        start = time.perf_counter()
        with catalog.open_lake() as lake:
            found = inference.posterior(
                lake, name, inference.Settings(model=Pooled()), use_cache=False
            )
        fits.append(time.perf_counter() - start)
        d = found["diagnostics"]
        print(
            f"simulation {repeat}: fit {fits[-1]:.1f} s in this process, r_hat "
            f"{d['max_r_hat']:.4f}, ESS bulk {d['min_ess_bulk']:.0f}, {d['divergences']} "
            "divergences",
            flush=True,
        )
        rows = {row["name"]: row for row in found["groups"]}
        for i, rate in enumerate(truth):
            row = rows[f"v{i:02d}"]
            pooled_errors.append((row["mean"] - rate) ** 2)
            own_errors.append((row["unpooled"]["mean"] - rate) ** 2)
            covered.append(row["hdi_low"] <= rate <= row["hdi_high"])
    coverage = np.mean(covered)
    error = np.sqrt(coverage * (1 - coverage) / len(covered))
    print(
        f"{repeats} simulations x {GROUPS} groups: MSE pooled / unpooled "
        f"{np.mean(pooled_errors) / np.mean(own_errors):.2f}; 94% HDIs cover "
        f"{coverage:.1%} (± {error:.1%}) of the true rates"
    )
    print(f"warm process (as the dashboard): {summary(fits)}")
    command = [VIBES, "posterior", "sim0", "--pooled", "--no-cache", "--json"]
    walls = [wall(command, dict(os.environ)) for _ in range(5)]
    out = json.loads(vibes(*command[1:]).stdout)
    print(
        f"whole process, {GROUPS} groups pooled: {summary(walls)}; r_hat "
        f"{out['diagnostics']['max_r_hat']:.4f}, {out['diagnostics']['divergences']} divergences"
    )

    segments(api, catalog, inference)


def segments(api, catalog, inference) -> None:
    from vibes_core.models import Segmented
    from vibes_core.types import get_type

    events = get_type("ab-test").generate(
        20_000, np.random.default_rng(7), variants="A,B", segments="US,DE,FR,UK,JP,BR"
    )
    api.create("countries", "ab-test", events)
    fits = []
    for _ in range(3):
        start = time.perf_counter()
        with catalog.open_lake() as lake:
            found = inference.posterior(
                lake, "countries", inference.Settings(model=Segmented("segment")), use_cache=False
            )
        fits.append(time.perf_counter() - start)
    command = [VIBES, "posterior", "countries", "--by", "segment", "--no-cache", "--json"]
    walls = [wall(command, dict(os.environ)) for _ in range(5)]
    d = found["diagnostics"]
    print(
        f"by segment, 2 variants x 6 segments: warm process {summary(fits)}; whole process "
        f"{summary(walls)}; r_hat {d['max_r_hat']:.4f}, {d['divergences']} divergences"
    )


if __name__ == "__main__":
    main()
