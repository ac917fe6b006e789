"""`vibes experiments list` against its floor, measured in the same run.

The floor is the least any program can do for that answer: import duckdb, LOAD the ducklake and
sqlite extensions from their wheel files, ATTACH the embedded SQLite-catalog DuckLake, select
from one table. Both run alternately as fresh processes on the same lake of 50 experiments.
Goal: ratio under 2.
"""

import os
import statistics
import sys
import tempfile
from pathlib import Path

from common import VIBES, summary, vibes, wall

from vibes_core.lake import extension_file

FLOOR = """
import duckdb
con = duckdb.connect()
con.execute("LOAD '{sqlite}'")
con.execute("LOAD '{ducklake}'")
con.execute("ATTACH 'ducklake:sqlite:{catalog}' AS lake (READ_ONLY)")
print(con.execute("SELECT * FROM lake.vibes.experiments").fetchall())
"""


def run(home: Path, experiments: int = 50, rounds: int = 15) -> None:
    env = {**os.environ, "VIBES_HOME": str(home)}
    events = home / "events.json"
    vibes("generate", "ab-test", "-n", 100, "-o", events, env=env)
    for i in range(experiments):
        vibes(
            "experiments",
            "create",
            f"exp_{i:03d}",
            "--type",
            "ab-test",
            "--initial-data-file",
            events,
            env=env,
        )
    floor_script = FLOOR.format(
        sqlite=extension_file("sqlite_scanner"),
        ducklake=extension_file("ducklake"),
        catalog=home / "catalog.sqlite",
    )
    floor, listing = [], []
    for _ in range(rounds):
        floor.append(wall([sys.executable, "-c", floor_script], env))
        listing.append(wall([VIBES, "experiments", "list"], env))
    ratio = statistics.median(listing) / statistics.median(floor)
    print(f"lake: {experiments} experiments, {rounds} alternating rounds, fresh processes")
    print(f"floor (duckdb + LOAD + ATTACH + SELECT): {summary(floor)}")
    print(f"vibes experiments list:                  {summary(listing)}")
    print(f"ratio of medians: {ratio:.2f}x (goal < 2x)")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vibes-bench-") as home:
        run(Path(home))


if __name__ == "__main__":
    main()
