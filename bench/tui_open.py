"""Dashboard responsiveness, watched on a real screen (`vibes tui` in tmux at 80x24):

1. opening an experiment whose fit is cached, after the background start-up (PyMC, MLflow)
   has finished: from `enter` to the MCMC posterior drawn ("from the cache") - goal < 0.3 s;
2. opening one that was never fitted: from `enter` to its exact posterior drawn - goal < 0.3 s;
3. with 1,000 experiments, while their headlines are still being computed: from typing a
   filter to the table showing the one match.

`--scale-out`: 1 and 2 with the catalog and MLflow's store in PostgreSQL, data and artifacts in
S3 (moto on loopback).
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import scale_out, vibes
from tui_launch import SESSION, open_pane, populate, screen

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
WARM_UP_SECONDS = 15  # PyMC, ArviZ and MLflow imported, MLflow's store opened


def start(home: Path, expect: str, variables: dict | None = None) -> None:
    open_pane(home, variables)
    wait_for(expect, time.perf_counter())


def keys(*names: str) -> float:
    """Send keys; the time just before they left."""
    now = time.perf_counter()
    subprocess.run(["tmux", "send-keys", "-t", SESSION, *names], check=True)
    return now


def wait_for(text: str, since: float, timeout: float = 60.0) -> float:
    while time.perf_counter() - since < timeout:
        if text in screen():
            return time.perf_counter() - since
        time.sleep(0.01)
    raise TimeoutError(f"{text!r} never appeared:\n{screen()}")


def stop() -> None:
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)


def report(what: str, times: list[float], goal: str) -> None:
    print(
        f"{what}: median of {len(times)} {statistics.median(times):.3f} s "
        f"(min {min(times):.3f}, max {max(times):.3f}); {goal}"
    )


def opening(home: Path, variables: dict | None = None) -> None:
    env = {**os.environ, "VIBES_HOME": str(home), **(variables or {})}
    if variables:
        vibes("db", "init", env=env)
    vibes("db", "demo", env=env)
    vibes("posterior", "checkout_button", env=env)  # cached from now on
    events = home / "fresh.json"
    vibes("generate", "ab-test", "-n", 1000, "-o", events, env=env)
    for i in range(ROUNDS):
        vibes(
            "experiments",
            "create",
            f"fresh_{i}",
            "--type",
            "ab-test",
            "--initial-data-file",
            events,
            env=env,
        )
    cached, exact = [], []
    for i in range(ROUNDS):
        start(home, "display name", variables)
        time.sleep(WARM_UP_SECONDS)
        cached.append(wait_for("from the cache", keys("Enter")))  # checkout_button: first row
        wait_for("display name", keys("Escape"))  # the home table's header: back home
        time.sleep(0.2)  # an escape followed at once by a key reads as alt+key
        keys("/")
        time.sleep(0.2)  # the filter takes the focus; faster keys would reach the table
        keys(*f"fresh_{i}")
        wait_for("1 of", time.perf_counter())
        keys("Enter")  # from the filter to the table
        time.sleep(0.2)
        # The exact posterior is drawn (its status line says so); the MCMC fit takes seconds more.
        exact.append(wait_for("the MCMC fit follows", keys("Enter")))
        stop()
    report("open a cached fit, after start-up", cached, "goal < 0.3 s")
    report("open an unfitted experiment, exact posterior", exact, "goal < 0.3 s")


def filtering(home: Path) -> None:
    populate(home, 1000)
    times = []
    for i in range(ROUNDS):
        start(home, "1,000 experiments")  # the headlines are being computed from here on
        keys("/")
        time.sleep(0.2)
        times.append(wait_for("1 of 1,000 experiments", keys(*f"exp_{997 - i:04d}")))
        stop()
    report(
        "1,000 experiments: filter typed to one row shown, headlines computing",
        times,
        "responsive if well under 0.5 s",
    )


def main() -> None:
    if "--scale-out" in sys.argv:
        with tempfile.TemporaryDirectory(prefix="vibes-bench-") as home, scale_out(home) as env:
            if env is not None:
                print("scale-out: PostgreSQL + S3 (moto on loopback)")
                opening(Path(home), env)
        return
    with tempfile.TemporaryDirectory(prefix="vibes-bench-", ignore_cleanup_errors=True) as home:
        opening(Path(home))
    with tempfile.TemporaryDirectory(prefix="vibes-bench-", ignore_cleanup_errors=True) as home:
        filtering(Path(home))


if __name__ == "__main__":
    main()
