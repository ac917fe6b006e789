"""Helpers for the benchmark scripts: run the installed `vibes` and time whole processes."""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

VIBES = str(Path(sys.executable).with_name("vibes"))


def vibes(*args, env=None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [VIBES, *map(str, args)],
        env={**os.environ, **(env or {})},
        check=True,
        capture_output=True,
        **kwargs,
    )


def wall(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def summary(times: list[float]) -> str:
    return f"median {statistics.median(times):.3f} s (min {min(times):.3f}, max {max(times):.3f})"
