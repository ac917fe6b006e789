"""Exact posteriors with many groups: `vibes posterior NAME --exact --json`, whole process.

Prints, per experiment type and number of groups (2 is the start-up floor; 1,000 has the goal
< 2 s; 10,000 is inference.MAX_GROUPS), the wall time and the peak memory (maxrss) of the
process, and the seconds of the posterior alone (in one process, its imports done first), which
in CPU seconds, and the CPU seconds of the whole process: a busy machine disturbs them less
than the wall time. No assertions: figures to read.

Run: python bench/exact_groups.py [GROUPS ...]
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import VIBES, vibes

from vibes_core.inference import MAX_GROUPS

EVENTS_PER_GROUP = 40
REPEATS = 3
IN_PROCESS = """
import sys, time
from vibes_core import catalog, inference
import scipy.special  # imported by the first posterior: start-up, not computation
with catalog.open_lake() as lake:
    start = time.process_time()
    inference.posterior(lake, sys.argv[1], exact=True)
    print(time.process_time() - start)
"""


def events(type_name: str, groups: int, rng: np.random.Generator) -> str:
    """NDJSON with EVENTS_PER_GROUP events per group, rates spread as real variants' are."""
    names = np.repeat([f"g{i:05d}" for i in range(groups)], EVENTS_PER_GROUP)
    rates = np.repeat(rng.beta(20, 180, groups), EVENTS_PER_GROUP)
    if type_name == "poisson-cohorts":
        counts = rng.poisson(rates * 50)
        rows = (
            {"cohort": n, "events": int(c), "exposure": 5.0}
            for n, c in zip(names, counts, strict=True)
        )
    else:
        key, outcome = (
            ("arm", "reward") if type_name == "multi-armed-bandits" else ("variant", "outcome")
        )
        hits = rng.random(len(names)) < rates
        rows = ({key: n, outcome: bool(h)} for n, h in zip(names, hits, strict=True))
    return "".join(json.dumps(row) + "\n" for row in rows)


def measure(name: str, env: dict) -> tuple[float, float, int, float]:
    """Wall seconds, peak resident memory (MB), the number of groups and CPU seconds of one
    run."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [VIBES, "posterior", name, "--exact", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"vibes posterior {name} failed")
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, usage.ru_maxrss / 1024, len(json.loads(out)["groups"]), cpu


def main() -> None:
    sizes = [int(arg) for arg in sys.argv[1:]] or [2, 100, 1000, MAX_GROUPS]
    cases = [("ab-test", size) for size in sizes]
    cases += [(kind, 1000) for kind in ("multi-armed-bandits", "poisson-cohorts")]
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory(prefix="vibes-bench-") as home:
        env = {**os.environ, "VIBES_HOME": home}
        print(
            f"{'type':<20}{'groups':>7}{'median s':>10}{'min s':>7}{'cpu s':>7}{'peak MB':>9}"
            f"{'posterior cpu s':>17}"
        )
        for kind, groups in cases:
            name = f"{kind.replace('-', '_')}_{groups}"
            path = Path(home) / f"{name}.ndjson"
            path.write_text(events(kind, groups, rng))
            vibes(
                "experiments", "create", name, "--type", kind, "--initial-data-file", path, env=env
            )
            runs = [measure(name, env) for _ in range(REPEATS)]
            seconds = sorted(run[0] for run in runs)
            assert runs[0][2] == groups
            alone = subprocess.run(
                [sys.executable, "-c", IN_PROCESS, name],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            cpu, peak = min(run[3] for run in runs), max(run[1] for run in runs)
            print(
                f"{kind:<20}{groups:>7}{seconds[len(seconds) // 2]:>10.2f}{seconds[0]:>7.2f}"
                f"{cpu:>7.2f}{peak:>9.0f}{float(alone):>17.2f}"
            )


if __name__ == "__main__":
    main()
