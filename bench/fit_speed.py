"""Posterior speed: fits on sufficient statistics against a naive per-event PyMC model.

Prints, with the sampler settings vibes uses by default (4 chains x 1000 draws, 1000 tune):
- fit time for the same ab-test with 1,000 and with 10,000,000 events (goal: within 1.5x);
- a naive baseline (fresh process, one Bernoulli observation per event, 1,000,000 events)
  against the first `vibes posterior` on the same data (goal >= 10x) and a cache hit (>= 30x);
- `vibes posterior --exact`, whole process (goal < 1 s);
- cold fit (empty pytensor cache), warm fit and cache hit, headless and in one long-lived
  process as the dashboard runs them (start-up imports done before the clock starts).

Run: python bench/fit_speed.py [--skip-baseline]
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import VIBES, vibes

BASELINE = """
import sys, time, duckdb, numpy as np
from vibes_core import catalog
start = time.perf_counter()
with catalog.open_lake() as lake:
    rows = lake.con.execute("SELECT variant, outcome FROM lake.main.million").fetchall()
variant, outcome = zip(*rows)
names, index = np.unique(np.array(variant), return_inverse=True)
import pymc as pm
with pm.Model(coords={"variant": names}):
    p = pm.Beta("p", 1, 1, dims="variant")
    pm.Bernoulli("y", p=p[index], observed=np.array(outcome, dtype=int))
    pm.sample(draws=1000, tune=1000, chains=4, cores=1, random_seed=1, nuts_sampler="pymc",
              progressbar=False, compute_convergence_checks=False)
"""

IN_PROCESS = """
import json, sys, time
from vibes_core import catalog, inference
import pymc, arviz_stats, mlflow  # the dashboard loads these in the background at start
lake = catalog.open_lake()
times = {}
for label, use_cache in (("first", False), ("second", False), ("hit", True)):
    start = time.perf_counter()
    inference.posterior(lake, sys.argv[1], use_cache=use_cache, warn=lambda message: None)
    times[label] = time.perf_counter() - start
print(json.dumps(times))
"""


def timed(args: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def median_of(runs: int, args: list[str], env: dict) -> float:
    return statistics.median(timed(args, env) for _ in range(runs))


def make_experiment(name: str, events: int, home: Path, env: dict) -> None:
    data = home / f"{name}.parquet"
    vibes("generate", "ab-test", "-n", events, "--seed", 7, "-o", data, env=env)
    vibes("experiments", "create", name, "--type", "ab-test", "--initial-data-file", data, env=env)
    data.unlink()


def run(home: Path, skip_baseline: bool) -> None:
    env = {**os.environ, "VIBES_HOME": str(home)}
    print("setting up 1,000 / 1,000,000 / 10,000,000-event ab-tests ...", flush=True)
    for name, events in (("small", 1_000), ("million", 1_000_000), ("large", 10_000_000)):
        make_experiment(name, events, home, env)
    fit = [VIBES, "posterior", "--no-cache", "--json"]
    timed([*fit, "small"], env)  # compile once, so that both sides below are warm

    small, large = median_of(3, [*fit, "small"], env), median_of(3, [*fit, "large"], env)
    print(
        f"\nfit, whole process, warm: 1k events {small:.2f} s, 10M events {large:.2f} s "
        f"-> ratio {max(small, large) / min(small, large):.2f} (goal <= 1.5)"
    )

    exact = median_of(10, [VIBES, "posterior", "million", "--exact", "--json"], env)
    print(f"--exact, whole process: median of 10 {exact:.2f} s (goal < 1 s)")

    with tempfile.TemporaryDirectory() as compiledir:
        cold_env = {**env, "PYTENSOR_FLAGS": f"compiledir={compiledir}"}
        cold = timed([*fit, "million"], cold_env)
    vibes("cache", "clear", "million", env=env)
    first = timed([VIBES, "posterior", "million", "--json"], env)
    hit = median_of(5, [VIBES, "posterior", "million", "--json"], env)
    print(
        f"headless: cold fit {cold:.2f} s (empty pytensor cache), first fit (miss, warm "
        f"compile cache) {first:.2f} s, cache hit {hit:.2f} s (median of 5)"
    )

    inside = subprocess.run(
        [sys.executable, "-c", IN_PROCESS, "million"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    times = json.loads(inside.stdout)
    print(
        f"in one process (as the dashboard): first fit {times['first']:.2f} s, warm refit "
        f"{times['second']:.2f} s, cache hit {times['hit']:.3f} s"
    )

    if skip_baseline:
        return
    print(
        "naive baseline: 1,000,000 Bernoulli observations in PyMC (takes minutes) ...", flush=True
    )
    naive = timed([sys.executable, "-c", BASELINE], env)
    print(
        f"naive baseline {naive:.1f} s; vibes first fit {first:.2f} s -> {naive / first:.0f}x "
        f"(goal >= 10x); cache hit {hit:.2f} s -> {naive / hit:.0f}x (goal >= 30x)"
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vibes-bench-") as home:
        run(Path(home), "--skip-baseline" in sys.argv)


if __name__ == "__main__":
    main()
