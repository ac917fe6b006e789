"""Dashboard launch: from starting `vibes tui` in a terminal to the experiments table drawn.

Runs the real command in a tmux pane at 80x24 and watches the screen (capture-pane every few
milliseconds) until the status line counts the experiments. Goal: under 1.0 s with 50.
Also times the same with 1,000 experiments, where the table must stay responsive.
`--scale-out`: 50 experiments with the catalog in PostgreSQL and the data in S3 (moto).
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import VIBES, scale_out, vibes

SESSION = "vibes-bench"


def screen() -> str:
    return subprocess.run(
        ["tmux", "capture-pane", "-p", "-t", SESSION], capture_output=True, text=True
    ).stdout


def open_pane(home: Path, variables: dict | None) -> None:
    """`vibes tui` in a new 80x24 tmux pane, with VIBES_HOME and the set-up's variables."""
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    settings = {"VIBES_HOME": str(home), **(variables or {})}
    assignments = [arg for key, value in settings.items() for arg in ("-e", f"{key}={value}")]
    command = ["tmux", "new-session", "-d", "-s", SESSION, "-x", "80", "-y", "24"]
    subprocess.run([*command, *assignments, f"{VIBES} tui"], check=True)


def launch(
    home: Path, expect: str, timeout: float = 30.0, quit: bool = False, variables=None
) -> float:
    """Seconds until ``expect`` is on the screen; with ``quit``, then ctrl+q at once and the
    seconds until the process has gone (PyMC is still importing then)."""
    start = time.perf_counter()
    open_pane(home, variables)
    try:
        while time.perf_counter() - start < timeout:
            if expect in screen():
                return quit_time() if quit else time.perf_counter() - start
            time.sleep(0.005)
        raise TimeoutError(f"{expect!r} never appeared:\n{screen()}")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)


def quit_time() -> float:
    start = time.perf_counter()
    subprocess.run(["tmux", "send-keys", "-t", SESSION, "C-q"], check=True)
    while (
        subprocess.run(["tmux", "has-session", "-t", SESSION], capture_output=True).returncode == 0
    ):
        time.sleep(0.005)
    return time.perf_counter() - start


def populate(home: Path, count: int, variables: dict | None = None) -> None:
    """`count` small experiments, written through the library in one process (fast)."""
    env = {**os.environ, "VIBES_HOME": str(home), **(variables or {})}
    if variables:
        vibes("db", "init", env=env)
    events = home / "events.json"
    vibes("generate", "ab-test", "-n", 100, "-o", events, env=env)
    script = (
        "import sys\nfrom vibes_core import catalog\n"
        "with catalog.open_lake() as lake:\n"
        f"    for i in range({count}):\n"
        f"        catalog.create(lake, f'exp_{{i:04d}}', 'ab-test', {str(events)!r})\n"
    )
    subprocess.run([VIBES.replace("vibes", "python"), "-c", script], env=env, check=True)


def measure(home: Path, count: int, rounds: int, variables: dict | None) -> None:
    populate(home, count, variables)
    expect = f"{count:,} experiments"
    launch(home, expect, variables=variables)  # warm the OS file cache once
    times = [launch(home, expect, variables=variables) for _ in range(rounds)]
    print(
        f"{count} experiments: launch to table drawn, median of {rounds} "
        f"{statistics.median(times):.2f} s (min {min(times):.2f}, "
        f"max {max(times):.2f}); goal < 1.0 s for 50"
    )
    if count == 50:
        quits = [launch(home, expect, quit=True, variables=variables) for _ in range(rounds)]
        print(
            f"ctrl+q as soon as the table is drawn (PyMC still importing) to the process "
            f"gone: median {statistics.median(quits):.2f} s (min {min(quits):.2f}, "
            f"max {max(quits):.2f})"
        )


def main() -> None:
    """Embedded: 50 and 1,000 experiments; `--scale-out`: 50 on PostgreSQL + S3 (moto)."""
    if not shutil.which("tmux"):
        raise SystemExit("tmux is needed: apt-get install tmux")
    if "--scale-out" in sys.argv:
        with tempfile.TemporaryDirectory(prefix="vibes-bench-") as home, scale_out(home) as env:
            if env is not None:
                print("scale-out: PostgreSQL + S3 (moto on loopback)")
                measure(Path(home), 50, 7, env)
        return
    for count, rounds in ((50, 7), (1000, 3)):
        with tempfile.TemporaryDirectory(prefix="vibes-bench-", ignore_cleanup_errors=True) as home:
            measure(Path(home), count, rounds, None)


if __name__ == "__main__":
    main()
