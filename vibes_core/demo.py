"""A fixed set of demo experiments, the same every time: for trying the dashboard, for its
screenshots and for the snapshot tests that catch layout regressions."""

import tempfile
from datetime import datetime
from pathlib import Path

from vibes_core import catalog, metrics, tables
from vibes_core.capabilities import Scorecard
from vibes_core.errors import AlreadyExists
from vibes_core.lake import Lake
from vibes_core.types import registry

END = datetime(2026, 11, 2, 12, 0)  # the demo data's last event, UTC


def seed(lake: Lake, seed: int = 7, units: bool = True) -> list[str]:
    """Create every type's demo experiments (and their later batches), and with ``units`` an
    experiment on units (UNITS_DEMO); returns their names."""
    import numpy as np

    from vibes_core.ingest import write_events

    demos = [(kind, demo) for kind in registry().values() for demo in kind.demos]
    taken = [demo.name for _, demo in demos if catalog.exists(lake.con, demo.name)]
    if taken:
        raise AlreadyExists(
            f"demo experiments exist already ({', '.join(taken)}): delete them to seed again"
        )
    on_units = [k for k in registry().values() if units and isinstance(k, Scorecard)]
    if on_units and catalog.exists(lake.con, UNITS_DEMO):
        raise AlreadyExists(f"the demo experiment {UNITS_DEMO} exists already: delete it first")
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory(prefix="vibes-demo-") as tmp:

        def events(kind, n: int, options: dict) -> Path:
            path = Path(tmp) / f"{rng.integers(1 << 30)}.parquet"
            write_events(kind.generate(n, rng, end=END, **options), "parquet", path)
            return path

        for kind, demo in demos:
            catalog.create(
                lake,
                demo.name,
                kind.name,
                events(kind, demo.events, demo.options),
                demo.display_name,
            )
        for kind, demo in demos:
            for n in demo.later:
                catalog.upload(lake, demo.name, events(kind, n, demo.options))
        made = [demo.name for _, demo in demos]
        for kind in on_units:
            made.append(seed_units(lake, kind, rng, Path(tmp)))
    return made


UNITS_DEMO = "checkout_flow"
# The demo experiment on units: metrics in all three roles over two event tables, one
# guardrail harmed (the new flow errs more often).
DEMO_METRICS = (
    ("purchased", "orders", "proportion", {"where": "status = 'paid'", "window": "7d"}),
    ("errors", "errors", "count", {"window": "7d", "lower_is_better": True}),
    ("revenue", "orders", "mean", {"value": "amount", "where": "status = 'paid'", "window": "7d"}),
    (
        "order_value",
        "orders",
        "ratio",
        {"value": "amount", "denominator": "1", "where": "status = 'paid'", "window": "7d"},
    ),
)


def seed_units(lake: Lake, kind, rng, folder: Path) -> str:
    """An experiment on units of ``kind``: its event tables (made or appended to), its metrics
    (those missing) and their roles."""
    from vibes_core.unit_data import simulate_units, write_unit_files

    data = simulate_units(
        6000, rng, purchase_lift=0.25, revenue_lift=0.2, error_lift=0.5, days=10, end=END
    )
    files = write_unit_files(data, folder / "units")
    for table in ("orders", "errors"):
        tables.upload(lake, table, files[table])
    catalog.create(lake, UNITS_DEMO, kind.name, files["assignments"], "New checkout flow")
    defined = metrics.names(lake.con)
    for name, table, kind_name, given in DEMO_METRICS:
        if name not in defined:
            metrics.create(lake, name, table, kind_name, **given)
    roles = metrics.roles_of("purchased", ["errors:5%"], ["revenue", "order_value"])
    catalog.save_metrics(lake, UNITS_DEMO, roles, metrics.names)
    return UNITS_DEMO


def freeze_snapshot_times(catalog_file: Path, start: datetime = END) -> None:
    """Rewrite an embedded (SQLite) catalog's snapshot times to one minute apart from
    ``start``, so that screenshots of seeded data are the same on every run."""
    import sqlite3

    with sqlite3.connect(catalog_file) as db:
        db.execute(
            "UPDATE ducklake_snapshot SET snapshot_time = "
            "strftime('%Y-%m-%d %H:%M:%S+00', ?, '+' || snapshot_id || ' minutes')",
            [start.isoformat()],
        )
