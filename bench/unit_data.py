"""Generating an experiment on units (vibes_core.unit_data.simulate_units) at scale: the wall
seconds to simulate UNITS units (default a million: about ten million rows over the three
tables), the rows of each table, the process's peak memory (RSS, resource.getrusage: imports
included), and, with --write FORMAT, the seconds to write the files. Figures to read, no
assertions.

Run: python bench/unit_data.py [UNITS] [--write parquet|csv|ndjson]
"""

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path


def peak_mb() -> float:
    """The process's peak resident memory so far, in MB (Linux reports kilobytes)."""
    kilobytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kilobytes / (1 << 20) if sys.platform == "darwin" else kilobytes / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("units", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--write", choices=["parquet", "csv", "ndjson"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import numpy as np
    import pyarrow.compute  # noqa: F401  (imports are start-up, not generation)

    from vibes_core.unit_data import simulate_units, write_unit_files

    print(f"peak RSS after imports: {peak_mb():.0f} MB")
    start = time.perf_counter()
    data = simulate_units(
        args.units, np.random.default_rng(args.seed), end=datetime(2026, 1, 1, tzinfo=UTC)
    )
    seconds = time.perf_counter() - start
    tables = data.tables()
    rows = sum(table.num_rows for table in tables.values())
    print(f"simulate_units({args.units:,}): {seconds:.2f} s, peak RSS {peak_mb():.0f} MB")
    for name, table in tables.items():
        print(f"  {name:<12}{table.num_rows:>12,} rows {table.nbytes / 1e6:>8.0f} MB")
    print(f"  {'all':<12}{rows:>12,} rows ({rows / args.units:.1f} per unit)")
    if args.write:
        with tempfile.TemporaryDirectory(prefix="vibes-bench-units-") as tmp:
            start = time.perf_counter()
            paths = write_unit_files(data, Path(tmp), args.write)
            seconds = time.perf_counter() - start
            size = sum(path.stat().st_size for path in paths.values()) / 1e6
            print(
                f"write_unit_files({args.write}): {seconds:.2f} s, {size:.0f} MB on disk, "
                f"peak RSS {peak_mb():.0f} MB"
            )


if __name__ == "__main__":
    main()
