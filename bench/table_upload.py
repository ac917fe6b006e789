"""Uploading an event table: `vibes tables upload` of 10,000,000 events from one Parquet file,
against a plain DuckLake `INSERT INTO ... SELECT * FROM read_parquet(...)` of the same file.

The file: the orders of vibes_core.unit_data.simulate_units(1,000,000) with 60 days of history,
cut to the latest EVENTS rows (unit, timestamp with time zone, status, amount, items), written
with pyarrow. Both sides are whole processes writing into a fresh, empty lake of the same kind:
the embedded default, a DuckLake catalog in SQLite (WAL) with local Parquet files, attached as
vibes_core.lake attaches it, the extensions loaded from the same wheel files without their
signature check (as vibes does once it has checked them). Each round makes both lakes afresh
(not timed); the table is made by the upload itself.

  vibes  `vibes tables upload orders FILE` (validation included: every value checked)
  floor  python -c: import duckdb, LOAD ducklake and sqlite_scanner, ATTACH, then in one
         transaction CREATE TABLE (vibes' column types) and INSERT INTO ... SELECT * FROM
         read_parquet(FILE); its insert alone is shown too

Figures: median wall seconds of ROUNDS of each (interleaved), the ratio vibes / floor (goal <= 2),
and the peak RSS of each process (its VmHWM: common.peak_and_wall). With --profile, a cProfile
of one vibes upload.

Run: python bench/table_upload.py [EVENTS] [--rounds N] [--profile]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from common import VIBES, peak_and_wall

FLOOR = r"""
import json, sys, time
start = time.perf_counter()
import duckdb
catalog, data_path, path, *extensions = sys.argv[1:]
con = duckdb.connect(config={"autoinstall_known_extensions": False,
                             "autoload_known_extensions": False,
                             "allow_unsigned_extensions": True})
con.execute("SET TimeZone = 'UTC'")
con.execute("SET enable_progress_bar = false")
for extension in extensions:
    con.execute(f"LOAD '{extension}'")
con.execute(f"ATTACH 'ducklake:sqlite:{catalog}' AS lake (DATA_PATH '{data_path}', "
            "CREATE_IF_NOT_EXISTS false, META_JOURNAL_MODE 'WAL', META_BUSY_TIMEOUT 10000)")
ready = time.perf_counter()
con.execute("BEGIN TRANSACTION")
con.execute("CREATE SCHEMA IF NOT EXISTS lake.events")
con.execute("CREATE TABLE lake.events.orders (unit VARCHAR, timestamp TIMESTAMP, "
            "status VARCHAR, amount DOUBLE, items BIGINT)")
con.execute("INSERT INTO lake.events.orders SELECT * FROM read_parquet(?)", [path])
con.execute("COMMIT")
done = time.perf_counter()
rows = con.execute("SELECT count(*) FROM lake.events.orders").fetchone()[0]
print(json.dumps({"start": ready - start, "insert": done - ready, "rows": rows}))
"""


def cpu_words() -> str:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{usable} usable cores of {os.cpu_count()}"


def load_words() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def waited(command: list[str], env: dict) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and stdout of one process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        seconds, peak, code = peak_and_wall(command, env, out, err)
        if code != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(command[:3])} failed: {err.read().decode()}")
        out.seek(0)
        return seconds, peak, out.read().decode()


def write_file(path: Path, events: int) -> int:
    import numpy as np
    import pyarrow.parquet as pq

    from vibes_core.unit_data import simulate_units

    units = max(1000, events // 10)
    orders = simulate_units(
        units, np.random.default_rng(7), history_days=60, end=datetime(2026, 11, 1, tzinfo=UTC)
    ).orders
    if orders.num_rows > events:
        orders = orders.slice(orders.num_rows - events)
    pq.write_table(orders, path)
    return orders.num_rows


def fresh_lakes(root: Path) -> tuple[dict, tuple[str, str]]:
    """A vibes home with an empty lake (`vibes db init`), and an empty DuckLake of the same
    kind for the floor: vibes' environment, and the floor's catalog and data path."""
    from vibes_core.config import load_config
    from vibes_core.lake import Lake

    for name in ("vibes", "floor"):
        shutil.rmtree(root / name, ignore_errors=True)
        (root / name).mkdir()
    env = {**os.environ, "VIBES_HOME": str(root / "vibes")}
    subprocess.run([VIBES, "db", "init"], env=env, check=True, capture_output=True)
    config = load_config({"VIBES_HOME": str(root / "floor")})
    Lake(config, create=True).con.close()  # the same ATTACH as vibes', creating it
    return env, (str(config.sqlite_file), config.data_path)


def profile(root: Path, path: Path) -> None:
    import pstats

    env, _ = fresh_lakes(root)
    out = root / "upload.prof"
    command = [sys.executable, "-m", "cProfile", "-o", str(out), VIBES]
    subprocess.run(
        [*command, "tables", "upload", "orders", str(path)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    pstats.Stats(str(out)).sort_stats("cumulative").print_stats(25)


def shown(times: list[float]) -> str:
    return f"{statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f})"


def megabytes(peaks: list[float]) -> str:
    return "/".join(f"{peak:.0f}" for peak in peaks) + " MB"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("events", nargs="?", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    from vibes_core.lake import extension_file

    extensions = [extension_file("ducklake"), extension_file("sqlite_scanner")]
    print(f"machine: {cpu_words()}; {load_words()}")
    with tempfile.TemporaryDirectory(prefix="vibes-bench-upload-", dir="/tmp") as tmp:
        root = Path(tmp)
        path = root / "orders.parquet"
        rows = write_file(path, args.events)
        print(f"{rows:,} events in one Parquet file, {path.stat().st_size / 1e6:.0f} MB")
        if args.profile:
            profile(root, path)
            return
        vibes, floor, inserts, starts, vibes_peak, floor_peak = [], [], [], [], [], []
        for _ in range(args.rounds):
            env, (catalog, data_path) = fresh_lakes(root)
            seconds, peak, out = waited([VIBES, "tables", "upload", "orders", str(path)], env)
            assert json.loads(out)["rows"] == rows, out
            vibes.append(seconds)
            vibes_peak.append(peak)
            command = [sys.executable, "-c", FLOOR, catalog, data_path, str(path), *extensions]
            seconds, peak, out = waited(command, dict(os.environ))
            found = json.loads(out.strip().splitlines()[-1])
            assert found["rows"] == rows, found
            floor.append(seconds)
            floor_peak.append(peak)
            inserts.append(found["insert"])
            starts.append(found["start"])
        v, f = statistics.median(vibes), statistics.median(floor)
        print(f"vibes tables upload         {shown(vibes)}, peak RSS {megabytes(vibes_peak)}")
        print(f"floor, plain DuckLake       {shown(floor)}, peak RSS {megabytes(floor_peak)}")
        print(
            f"  of which its INSERT       {shown(inserts)}; start-up and ATTACH "
            f"{statistics.median(starts):.2f} s"
        )
        print(f"vibes / floor = {v / f:.2f} (goal <= 2); {rows / v:,.0f} events/s")
    print(f"machine: {cpu_words()}; {load_words()}")


if __name__ == "__main__":
    main()
