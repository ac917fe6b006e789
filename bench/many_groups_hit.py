"""A cached `vibes posterior` of an A/B/n test with many variants, with saved options.

Saved options (here an HDI probability of 0.9, as `o` in the dashboard saves it) differ from
the options a fit was stored with, so every answer re-summarizes the cached draws. Whole
processes, the median, min and max of ROUNDS runs of:

  hit                   vibes posterior NAME --json   (no saved options: the stored summary)
  first, saved options  the first answer after saving them (the draws summarized again)
  hit, saved options    every answer after that
  exact                 vibes posterior NAME --exact --json   (the floor)

BENCH_VARIANTS (40), BENCH_DRAWS (1000 per chain, 4 chains: the default fit) and BENCH_ROUNDS
(5) change the set-up. The options are saved through the Python API, so the script measures
any version of vibes (PYTHONPATH picks the code). `python -m cProfile -s cumulative
$(which vibes) posterior NAME --json` shows where one answer's time goes.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

from common import VIBES

VARIANTS = int(os.environ.get("BENCH_VARIANTS", "40"))
DRAWS = os.environ.get("BENCH_DRAWS", "1000")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
NAME = "many"
SAVE = (
    "from vibes_core import catalog; from vibes_core.analysis import Analysis\n"
    "with catalog.open_lake() as lake:\n"
    f"    catalog.save_analysis(lake, {NAME!r}, Analysis(hdi_prob=0.9))\n"
)


def run(args: list[str], env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run([VIBES, *args], env=env, capture_output=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"vibes {' '.join(args)} failed: {done.stderr.decode()}")
    return seconds


def shown(times: list[float]) -> str:
    return f"{statistics.median(times):6.2f} s  (min {min(times):.2f}, max {max(times):.2f})"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vibes-bench-") as home:
        env = {**os.environ, "VIBES_HOME": home}
        events = os.path.join(home, "events.parquet")
        variants = ",".join(f"V{i:02d}" for i in range(VARIANTS))
        generate = ["generate", "ab-test", "-n", str(1000 * VARIANTS), "--seed", "3"]
        subprocess.run(
            [VIBES, *generate, "--variants", variants, "-o", events], env=env, check=True
        )
        create = ["experiments", "create", NAME, "--type", "ab-test"]
        subprocess.run(
            [VIBES, *create, "--initial-data-file", events],
            env=env,
            check=True,
            capture_output=True,
        )
        fit = ["posterior", NAME, "--json", "--draws", DRAWS]
        print(f"{VARIANTS} variants, {DRAWS} draws x 4 chains; fitting once...", flush=True)
        print(f"  fit                   {run(fit, env):6.2f} s", flush=True)
        rows = {"hit": [run(fit, env) for _ in range(ROUNDS)]}
        subprocess.run([sys.executable, "-c", SAVE], env=env, check=True)
        rows["first, saved options"] = [run(fit, env)]
        rows["hit, saved options"] = [run(fit, env) for _ in range(ROUNDS)]
        rows["exact"] = [run(["posterior", NAME, "--exact", "--json"], env) for _ in range(ROUNDS)]
        for label, times in rows.items():
            print(f"  {label:<21} {shown(times)}")


if __name__ == "__main__":
    main()
