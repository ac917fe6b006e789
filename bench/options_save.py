"""Saving analysis options in the dashboard, watched on a real screen (`vibes tui` in tmux at
80x24): from ctrl+s in the options panel (`o`) with a new HDI probability to the numbers drawn
with it (the first group's row of the table changed).

Two experiments whose MCMC fits are cached: the demo's checkout_button (2 variants) and an
ab-test of 40 variants. Issue 23 measured 8 s before the numbers changed; the goal is the time
of one summary of the cached draws (no posterior computed to check the options, no exact one
computed again behind the cached fit).
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from common import vibes
from tui_launch import open_pane, screen
from tui_open import ROUNDS, WARM_UP_SECONDS, keys, report, stop, wait_for

FORTY = "forty"


def populate(home: Path) -> dict:
    env = {**os.environ, "VIBES_HOME": str(home)}
    vibes("db", "demo", env=env)
    events = [
        {"variant": f"v{i:02d}", "outcome": j < 50 + i} for i in range(40) for j in range(500)
    ]
    path = home / "forty.json"
    path.write_text(json.dumps(events))
    vibes("experiments", "create", FORTY, "--type", "ab-test", "--initial-data-file", path, env=env)
    for name in ("checkout_button", FORTY):
        vibes("posterior", name, env=env)  # cached from now on
    return env


def saving(home: Path, name: str) -> list[float]:
    times = []
    # The pane starts from the tmux server's environment: the code under test is this one's.
    path = os.environ.get("PYTHONPATH")
    open_pane(home, {"PYTHONPATH": path} if path else None)
    wait_for("checkout_button", time.perf_counter())  # the list is drawn
    time.sleep(WARM_UP_SECONDS)
    keys("/")
    time.sleep(0.2)
    keys(*name)
    time.sleep(0.3)
    keys("Enter")
    time.sleep(0.2)
    wait_for("mean [", keys("Enter"))
    time.sleep(5)  # the cached fit shown, the Data and History tabs loaded
    for i in range(ROUNDS):
        probability = ("0.9", "0.8")[i % 2]
        before = first_row()
        wait_for("Analysis options", keys("o"))
        time.sleep(0.2)
        keys("Tab")  # from the control to the HDI probability
        time.sleep(0.2)
        keys("C-u")
        time.sleep(0.2)
        keys(*probability)
        time.sleep(0.3)
        since = keys("C-s")
        while first_row() in (before, None) or "Analysis options" in screen():
            if time.perf_counter() - since > 60:
                raise TimeoutError(f"the numbers never changed:\n{screen()}")
            time.sleep(0.01)
        times.append(time.perf_counter() - since)
        time.sleep(5)  # the Data and History tabs load after each posterior
    stop()
    return times


def first_row() -> str | None:
    """The table's first row (the control's, marked *) as drawn, if it is on the screen."""
    return next((line for line in screen().splitlines() if "*  " in line), None)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vibes-bench-", ignore_cleanup_errors=True) as home:
        populate(Path(home))
        for name in ("checkout_button", FORTY):
            report(f"{name}: ctrl+s to the new numbers drawn", saving(Path(home), name), "")


if __name__ == "__main__":
    sys.exit(main())
