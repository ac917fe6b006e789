"""Headless answers, whole processes: what a shell loop, a cron job or a CI gate pays.

For each set-up - embedded (SQLite catalog, local Parquet, MLflow in SQLite) and scale-out
(DuckLake catalog and MLflow's store in PostgreSQL on 127.0.0.1, data and artifacts on S3:
moto on loopback) - the median, min and max wall time of ROUNDS runs of:

  hit         vibes posterior NAME --json            (its fit cached)
  hit, no copy  the same without this machine's copy of the summary (another machine's fit)
  exact       vibes posterior NAME --exact --json    (the floor a hit is measured against)
  miss        vibes posterior NAME --json --seed N   (a new seed: a new key; warm compile cache)
  list        vibes experiments list
  cache list  vibes cache list NAME
  allocate    vibes bandit allocate BANDIT            (its fit cached)

and the ratio hit / exact from the same run. `python -X importtime` shows where a run's
import time goes; `--profile` prints a cProfile of one hit and one miss instead.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import VIBES
from common import scale_out as services

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
EVENTS = 2000


def run(args: list[str], env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run([VIBES, *args], env=env, capture_output=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 3):  # 3: --check's keep-running
        raise SystemExit(f"vibes {' '.join(args)} failed: {done.stderr.decode()}")
    return seconds


def shown(times: list[float]) -> str:
    return f"{statistics.median(times):6.2f} s  (min {min(times):.2f}, max {max(times):.2f})"


def prepare(env: dict, home: str) -> None:
    events = os.path.join(home, "events.json")
    arms = os.path.join(home, "arms.json")
    subprocess.run([VIBES, "db", "init"], env=env, check=True, capture_output=True)
    subprocess.run(
        [VIBES, "generate", "ab-test", "-n", str(EVENTS), "-o", events], env=env, check=True
    )
    subprocess.run(
        [VIBES, "generate", "multi-armed-bandits", "-n", str(EVENTS), "-o", arms],
        env=env,
        check=True,
    )
    for name, kind, path in (("ab", "ab-test", events), ("arms", "multi-armed-bandits", arms)):
        subprocess.run(
            [VIBES, "experiments", "create", name, "--type", kind, "--initial-data-file", path],
            env=env,
            check=True,
            capture_output=True,
        )
    # The fits the hits find, and a first miss that fills pytensor's compile cache.
    run(["posterior", "ab", "--json"], env)
    run(["bandit", "allocate", "arms"], env)


def measure(title: str, env: dict) -> None:
    seeds = iter(range(1000, 2000))
    rows = {
        "hit": ["posterior", "ab", "--json"],
        "exact": ["posterior", "ab", "--exact", "--json"],
        "list": ["experiments", "list"],
        "cache list": ["cache", "list", "ab"],
        "allocate": ["bandit", "allocate", "arms"],
    }
    times: dict[str, list[float]] = {name: [] for name in [*rows, "hit, no copy", "miss"]}
    copies = Path(env["VIBES_HOME"]) / "fits" / "ab"  # not the bandit's: allocate keeps its copy
    for _ in range(ROUNDS):  # interleaved: drift of the machine hits every row alike
        for name, args in rows.items():
            times[name].append(run(args, env))
        shutil.rmtree(copies, ignore_errors=True)  # as on a machine that did not fit it
        times["hit, no copy"].append(run(rows["hit"], env))
        times["miss"].append(run(["posterior", "ab", "--json", "--seed", str(next(seeds))], env))
    print(f"{title} (median of {ROUNDS}):")
    for name, values in times.items():
        print(f"  {name:<13} {shown(values)}")
    ratio = statistics.median(times["hit"]) / statistics.median(times["exact"])
    print(f"  hit / exact   {ratio:6.2f}x")


def profile(env: dict) -> None:
    for args in (["posterior", "ab", "--json"], ["posterior", "ab", "--json", "--seed", "7"]):
        print(f"--- vibes {' '.join(args)}: the 40 costliest calls, by cumulative time")
        done = subprocess.run(
            [sys.executable, "-m", "cProfile", "-s", "cumtime", VIBES, *args],
            env=env,
            capture_output=True,
            text=True,
        )
        print("\n".join(done.stdout.split("\n")[:60]))


def embedded() -> None:
    with tempfile.TemporaryDirectory(prefix="vibes-bench-") as home:
        env = {**os.environ, "VIBES_HOME": home}
        for name in ("VIBES_CATALOG_URL", "VIBES_DATA_PATH", "MLFLOW_TRACKING_URI"):
            env.pop(name, None)
        prepare(env, home)
        if "--profile" in sys.argv:
            profile(env)
            return
        measure("embedded", env)


def scale_out() -> None:
    with tempfile.TemporaryDirectory(prefix="vibes-bench-") as home, services(home) as variables:
        if variables is not None:
            env = {**os.environ, **variables}
            prepare(env, home)
            measure("scale-out: PostgreSQL + S3 (moto on loopback)", env)


if __name__ == "__main__":
    embedded()
    if "--profile" not in sys.argv and "--embedded" not in sys.argv:
        scale_out()
