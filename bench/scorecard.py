"""The scorecard of an experiment on units at scale: 1,000,000 units, 10,000,000 orders in one
event table, 5 metrics over it, whole `vibes` processes in a fresh VIBES_HOME under /tmp.

The data: vibes_core.unit_data.simulate_units(UNITS) with 60 days of history before each
exposure, its orders cut to the latest EVENTS (so one table of exactly 10,000,000 events, most
of them before their unit's exposure, as an event table's history is), uploaded with `vibes
tables upload`; the assignments as the experiment `big`. The metrics, all over `orders`:

  purchased  proportion  where status = 'paid', 7d                          goal
  refunds    count       where status = 'refunded', 14d, lower is better    guardrail (5%)
  orders     count       7d                                                 secondary
  revenue    mean        amount where status = 'paid', 7d, --cap 1000       secondary
  aov        ratio       amount / 1 where status = 'paid', 7d               secondary

Figures (the goals are the issue's):

  (a) exact   `vibes posterior big --exact --json --no-adjust`: wall time (median of ROUNDS)
  (b) floor   the same joins and aggregations hand-written in plain DuckDB SQL on the Parquet
              files DuckLake wrote (read_parquet, no DuckLake: the files listed beforehand),
              in this process: units per variant, then one pass over orders; and, beside it,
              the same SQL through DuckLake (the lake attached read-only). Its sums are
              checked against vibes' answer.
  (c) start   the same command on a tiny experiment (1,000 units, the same metrics) in a
              home of its own: a process's start-up, lake and answer included
      ratio   (a) / ((b) + (c)), goal <= 2
  (d) memory  peak RSS of the `posterior --exact` process (its VmHWM), goal < 2 GB
  (e) miss    `vibes posterior big --json --no-cache`, after one MCMC call that filled
              pytensor's compile cache and MLflow's store (its time is shown too); the default
              sampler settings (1000 draws, 1000 tuning steps, 4 chains); goal < 10 s
  (f) hit     `vibes posterior big --json` again (its fit cached): ratio hit / (a), goal <= 1.5
  (g) CUPED   `vibes posterior big --exact --json`, every metric but the ratio adjusted for
              its 14 days before exposure (the default): ratio (g) / (a), goal <= 1.5

The floor the ratio is taken against is the faster of the two in (b). The cache key holds each
metric's sums, and DuckDB's parallel sums of floating-point values (amounts in cents) may
differ in their last bits from one run to the next: then the "hit" fits afresh, and (f) says
so, naming the sums that moved, instead of timing misses. --whole-amounts rounds every amount
to a whole number first (every sum is then exact, in any order) so that a hit can be timed.

With --profile, a cProfile of one `posterior --exact` process (its top functions). Prints
figures; no assertions but the floor's sums against vibes'.

Run: python bench/scorecard.py [UNITS] [--events N] [--rounds N] [--mcmc-rounds N]
                               [--whole-amounts] [--keep] [--profile]
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from common import VIBES, peak_and_wall

WINDOW_7D = "INTERVAL 168 HOUR"
WINDOW_14D = "INTERVAL 336 HOUR"
METRICS = (
    ("purchased", "proportion", ["--where", "status = 'paid'", "--window", "7d"]),
    (
        "refunds",
        "count",
        ["--where", "status = 'refunded'", "--window", "14d", "--lower-is-better"],
    ),
    ("orders", "count", ["--window", "7d"]),
    (
        "revenue",
        "mean",
        ["--value", "amount", "--where", "status = 'paid'", "--window", "7d", "--cap", "1000"],
    ),
    (
        "aov",
        "ratio",
        [
            *("--value", "amount", "--denominator", "1"),
            *("--where", "status = 'paid'", "--window", "7d"),
        ],
    ),
)
ROLES = [
    "--goal",
    "purchased",
    "--guardrail",
    "refunds:5%",
    "--secondary",
    "orders",
    "--secondary",
    "revenue",
    "--secondary",
    "aov",
]

# The floor: what vibes computes, written by hand. {assignments} and {orders} are relations.
FLOOR_UNITS = (
    "SELECT variant, count(*) FROM (SELECT unit, min(variant) AS variant FROM {assignments} "
    "GROUP BY unit HAVING count(DISTINCT variant) = 1) GROUP BY variant ORDER BY variant"
)
FLOOR_SUMS = f"""
WITH assigned AS (
    SELECT unit, min(variant) AS variant, min(timestamp) AS exposure
    FROM {{assignments}} GROUP BY unit HAVING count(DISTINCT variant) = 1
), per_unit AS (
    SELECT a.variant,
        count(*) FILTER (WHERE o.status = 'paid' AND o.timestamp < a.exposure + {WINDOW_7D})
            AS paid,
        count(*) FILTER (WHERE o.timestamp < a.exposure + {WINDOW_7D}) AS orders,
        coalesce(sum(o.amount) FILTER (
            WHERE o.status = 'paid' AND o.timestamp < a.exposure + {WINDOW_7D}), 0) AS revenue,
        count(*) FILTER (WHERE o.status = 'refunded') AS refunds
    FROM assigned a JOIN {{orders}} o
        ON o.unit = a.unit AND o.timestamp >= a.exposure
        AND o.timestamp < a.exposure + {WINDOW_14D}
    GROUP BY a.unit, a.variant
)
SELECT variant,
    sum(CAST(paid > 0 AS DOUBLE)) AS purchased,
    sum(refunds) AS refunds, sum(refunds * refunds) AS refunds2,
    sum(orders) AS orders, sum(orders * orders) AS orders2,
    sum(least(revenue, 1000.0)) AS revenue, sum(least(revenue, 1000.0) ^ 2) AS revenue2,
    sum(revenue) AS aov_value, sum(paid) AS aov_den, sum(revenue * paid) AS aov_cross
FROM per_unit GROUP BY variant ORDER BY variant
"""


def cpu_words() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{usable} usable cores of {os.cpu_count()}" + (f" ({model})" if model else "")


def load_words() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def run(args: list, env: dict, out: Path | None = None, ok=(0,)) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `vibes` process; its stdout to ``out``."""
    with open(out or os.devnull, "wb") as stdout, tempfile.TemporaryFile() as stderr:
        command = [VIBES, *map(str, args)]
        seconds, peak, code = peak_and_wall(command, env, stdout, stderr)
        if code not in ok:
            stderr.seek(0)
            raise SystemExit(f"vibes {' '.join(map(str, args))}: {stderr.read().decode()}")
    return seconds, peak


def shown(times: list[float]) -> str:
    if len(times) == 1:
        return f"{times[0]:.2f} s"
    return f"{statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f})"


def make_experiment(home: Path, units: int, events: int | None, env: dict, whole: bool) -> dict:
    """The lake of ``home``: orders (cut to ``events`` rows; amounts rounded to whole numbers
    if ``whole``), the experiment `big` and its metrics. Seconds of each step."""
    import numpy as np
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from vibes_core.unit_data import simulate_units

    steps = {}
    start = time.perf_counter()
    data = simulate_units(
        units,
        np.random.default_rng(2026),
        history_days=60,
        end=datetime(2026, 11, 1, tzinfo=UTC),
    )
    orders = data.orders
    if events is not None and orders.num_rows > events:
        orders = orders.slice(orders.num_rows - events)  # sorted by time: the latest
    if whole:
        whole_amounts = pc.max_element_wise(pc.round(orders["amount"], 0), 1.0)
        orders = orders.set_column(orders.schema.get_field_index("amount"), "amount", whole_amounts)
    pq.write_table(orders, home / "orders.parquet")
    pq.write_table(data.assignments, home / "assignments.parquet")
    steps["simulate and write"] = time.perf_counter() - start
    del data
    steps["rows"] = (orders.num_rows, units)
    del orders
    steps["tables upload"] = run(["tables", "upload", "orders", home / "orders.parquet"], env)[0]
    steps["experiments create"] = run(
        [
            "experiments",
            "create",
            "big",
            "--type",
            "assignments",
            "--initial-data-file",
            home / "assignments.parquet",
        ],
        env,
    )[0]
    start = time.perf_counter()
    for name, kind, options in METRICS:
        run(["metrics", "create", name, "--table", "orders", "--kind", kind, *options], env)
    run(["experiments", "metrics", "big", *ROLES], env)
    steps["metrics"] = time.perf_counter() - start
    return steps


def data_files(env: dict) -> dict[str, list[str]]:
    """The Parquet files DuckLake wrote for the experiment's table and for orders."""
    from vibes_core.config import load_config
    from vibes_core.lake import Lake

    lake = Lake(load_config(env), create=False)
    try:
        found = {}
        for name, schema in (("assignments", "main"), ("orders", "events")):
            table = "big" if name == "assignments" else "orders"
            rows = lake.con.execute(
                "SELECT data_file, delete_file FROM ducklake_list_files('lake', ?, schema => ?)",
                [table, schema],
            ).fetchall()
            assert all(delete is None for _, delete in rows), "a delete file: read DuckLake"
            found[name] = [file for file, _ in rows]
        return found
    finally:
        lake.con.close()


def floor(files: dict[str, list[str]], env: dict, rounds: int) -> tuple[list, list, list, list]:
    """Seconds of the hand-written SQL on the files (plain DuckDB), and through DuckLake; the
    answers of the last run (units per variant, sums)."""
    import duckdb

    from vibes_core.config import load_config
    from vibes_core.lake import Lake

    def relation(paths: list[str]) -> str:
        return "read_parquet([" + ", ".join(f"'{p}'" for p in paths) + "])"

    plain, through = [], []
    for _ in range(rounds):
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        tables = {name: relation(paths) for name, paths in files.items()}
        start = time.perf_counter()
        units = con.execute(FLOOR_UNITS.format(**tables)).fetchall()
        sums = con.execute(FLOOR_SUMS.format(**tables)).fetchall()
        plain.append(time.perf_counter() - start)
        con.close()
    for _ in range(rounds):
        lake = Lake(load_config(env), create=False)
        tables = {"assignments": "lake.main.big", "orders": "lake.events.orders"}
        start = time.perf_counter()
        lake.con.execute(FLOOR_UNITS.format(**tables)).fetchall()
        lake.con.execute(FLOOR_SUMS.format(**tables)).fetchall()
        through.append(time.perf_counter() - start)
        lake.con.close()
    return plain, through, units, sums


def check(card: dict, units: list, sums: list) -> str:
    """The floor's sums against vibes' per-variant statistics (its JSON's groups)."""
    metrics = {m["name"]: {g["name"]: g for g in m["groups"]} for m in card["metrics"]}
    expected = {
        ("purchased", "trials"): {v: n for v, n in units},
        ("purchased", "successes"): {row[0]: row[1] for row in sums},
        ("refunds", "sum_value"): {row[0]: row[2] for row in sums},
        ("refunds", "sum_value2"): {row[0]: row[3] for row in sums},
        ("orders", "sum_value"): {row[0]: row[4] for row in sums},
        ("orders", "sum_value2"): {row[0]: row[5] for row in sums},
        ("revenue", "sum_value"): {row[0]: row[6] for row in sums},
        ("revenue", "sum_value2"): {row[0]: row[7] for row in sums},
        ("aov", "sum_value"): {row[0]: row[8] for row in sums},
        ("aov", "sum_den"): {row[0]: row[9] for row in sums},
        ("aov", "sum_cross"): {row[0]: row[10] for row in sums},
    }
    for (metric, statistic), by_variant in expected.items():
        for variant, value in by_variant.items():
            got = metrics[metric][variant][statistic]
            if not math.isclose(float(got), float(value), rel_tol=1e-9, abs_tol=1e-6):
                raise SystemExit(f"floor != vibes: {metric} {variant} {statistic}: {value} {got}")
    return f"the floor's sums equal vibes' ({len(expected)} statistics x {len(units)} variants)"


def tiny_home(root: Path) -> dict:
    """A home of its own with a 1,000-unit experiment `big` and the same metrics."""
    home = root / "tiny"
    home.mkdir()
    env = {**os.environ, "VIBES_HOME": str(home)}
    make_experiment(home, 1000, None, env, whole=False)
    return env


def profile(env: dict) -> None:
    import pstats

    out = Path(env["VIBES_HOME"]) / "posterior.prof"
    command = [sys.executable, "-m", "cProfile", "-o", str(out), VIBES]
    subprocess.run(
        [*command, "posterior", "big", "--exact", "--json"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    pstats.Stats(str(out)).sort_stats("cumulative").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("units", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mcmc-rounds", type=int, default=3)
    parser.add_argument("--whole-amounts", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the home (its path printed)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # figures as they come, also into a file
    root = Path(tempfile.mkdtemp(prefix="vibes-bench-scorecard-", dir="/tmp"))
    try:
        measure(root, args)
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            import shutil

            shutil.rmtree(root, ignore_errors=True)


def measure(root: Path, args) -> None:
    home = root / "big"
    home.mkdir()
    env = {**os.environ, "VIBES_HOME": str(home)}
    print(f"machine: {cpu_words()}; {load_words()}")
    steps = make_experiment(home, args.units, args.events, env, args.whole_amounts)
    events, units = steps.pop("rows")
    print(
        f"{units:,} units, {events:,} orders in one table, {len(METRICS)} metrics over it"
        + ("; amounts rounded to whole numbers" if args.whole_amounts else "")
    )
    print("set-up: " + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()))
    if args.profile:
        profile(env)
        return
    rounds = args.rounds
    out = root / "exact.json"
    plain_exact = ["posterior", "big", "--exact", "--json", "--no-adjust"]  # the floor's sums
    exact = [run(plain_exact, env, out) for _ in range(rounds)]
    card = json.loads(out.read_text())
    adjusted = [run(["posterior", "big", "--exact", "--json"], env)[0] for _ in range(rounds)]
    files = data_files(env)
    plain, through, per_variant, sums = floor(files, env, rounds)
    tiny = tiny_home(root)
    start_up = [run(["posterior", "big", "--exact", "--json"], tiny)[0] for _ in range(5)]

    a = statistics.median(s for s, _ in exact)
    b, b_lake, c = statistics.median(plain), statistics.median(through), statistics.median(start_up)
    peak = max(m for _, m in exact)
    print(f"data files: {len(files['orders'])} of orders, {len(files['assignments'])} of units")
    print(check(card, per_variant, sums))
    print(f"verdict: {card['verdict']['action']}; {card['decision']}")
    print()
    print(f"(a) posterior --exact --json          {shown([s for s, _ in exact])}")
    print(f"(b) floor, plain DuckDB on the files  {shown(plain)}")
    print(f"    the same SQL through DuckLake     {shown(through)}")
    print(f"(c) start-up (a tiny experiment)      {shown(start_up)}")
    print(
        f"    (a) / ((b) + (c)) = {a / (min(b, b_lake) + c):.2f} (goal <= 2; the faster floor); "
        f"plain DuckDB {a / (b + c):.2f}, through DuckLake {a / (b_lake + c):.2f}"
    )
    print(f"(d) peak RSS of posterior --exact     {peak:.0f} MB (goal < 2048 MB)")
    g = statistics.median(adjusted)
    print(f"(g) adjusted (CUPED, the default)     {shown(adjusted)}")
    print(f"    adjusted / (a) = {g / a:.2f} (goal <= 1.5)")

    first = run(["posterior", "big", "--json"], env)[0]
    print(f"    first MCMC call (compile cache and MLflow store filled) {first:.2f} s")
    out = root / "miss.json"
    miss = [
        run(["posterior", "big", "--json", "--no-cache"], env, out)[0]
        for _ in range(args.mcmc_rounds)
    ]
    fitted = json.loads(out.read_text())
    diagnostics = fitted["diagnostics"] or {}
    settings = ", ".join(f"{k} {diagnostics.get(k)}" for k in ("draws", "tune", "chains"))
    print(
        f"(e) MCMC miss, --no-cache             {shown(miss)} (goal < 10 s); {settings}; "
        f"sampling {diagnostics.get('seconds')} s; verdict {fitted['verdict']['action']}"
    )
    hit, answers = [], []
    for _ in range(args.mcmc_rounds):
        out = root / f"hit{len(hit)}.json"
        hit.append(run(["posterior", "big", "--json"], env, out)[0])
        answers.append(json.loads(out.read_text()))
        if not answers[-1]["cached"]:
            break
    h = statistics.median(hit)
    if answers[-1]["cached"]:
        print(f"(f) MCMC hit                          {shown(hit)}")
        print(f"    hit / (a) = {h / a:.2f} (goal <= 1.5)")
    else:
        print(f"(f) MCMC hit: NOT cached, fitted afresh in {hit[-1]:.2f} s")
        moved = sums_moved(fitted, answers[-1])
        print(f"    the sums in the cache key that moved since the fit before: {moved or 'none'}")
    print(f"machine: {cpu_words()}; {load_words()}")


def sums_moved(before: dict, after: dict) -> str:
    """Each metric's statistic that differs between two answers, with both values."""
    moved = []
    for first, second in zip(before["metrics"], after["metrics"], strict=True):
        for old, new in zip(first["groups"], second["groups"], strict=True):
            for key, value in old.items():
                if key.startswith(("sum_", "successes", "trials", "units")) and value != new[key]:
                    moved.append(f"{first['name']} {old['name']} {key} {value!r} -> {new[key]!r}")
    return "; ".join(moved[:4]) + (f"; and {len(moved) - 4} more" if len(moved) > 4 else "")


if __name__ == "__main__":
    main()
