"""A fixed set of demo experiments, the same every time: for trying the dashboard, for its
screenshots and for the snapshot tests that catch layout regressions."""

import tempfile
from datetime import datetime
from pathlib import Path

from vibes_core import catalog
from vibes_core.errors import AlreadyExists
from vibes_core.lake import Lake
from vibes_core.types import get_type

# name, display name, type, events, generate options; then later batches (name, events)
EXPERIMENTS = (
    ("checkout_button", "Checkout button colour", "ab-test", 4000, {"variants": "A,B"}),
    ("pricing_page", "Annual vs monthly pricing", "ab-test", 6000,
     {"variants": "control,annual,monthly"}),
    ("headline_bandit", "Newsletter headlines", "multi-armed-bandits", 3000, {}),
    ("signup_rate", "Sign-up conversion", "bernoulli", 1500, {}),
    ("support_tickets", "Tickets per account-month", "poisson-cohorts", 800, {}),
)  # fmt: skip
LATER_BATCHES = (("checkout_button", 1500), ("checkout_button", 2500))
END = datetime(2026, 11, 2, 12, 0)  # the demo data's last event, UTC


def seed(lake: Lake, seed: int = 7) -> list[str]:
    """Create the demo experiments (and their later batches); returns their names."""
    import numpy as np

    from vibes_core.ingest import write_events

    names = [e[0] for e in EXPERIMENTS]
    taken = [name for name in names if catalog.exists(lake.con, name)]
    if taken:
        raise AlreadyExists(
            f"demo experiments exist already ({', '.join(taken)}): delete them to seed again"
        )
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory(prefix="vibes-demo-") as tmp:

        def events(kind_name: str, n: int, options: dict, end: datetime) -> Path:
            path = Path(tmp) / f"{rng.integers(1 << 30)}.parquet"
            table = get_type(kind_name).generate(n, rng, end=end, **options)
            write_events(table, "parquet", path)
            return path

        for name, title, kind_name, n, options in EXPERIMENTS:
            catalog.create(lake, name, kind_name, events(kind_name, n, options, END), title)
        for name, n in LATER_BATCHES:
            kind_name, options = next((e[2], e[4]) for e in EXPERIMENTS if e[0] == name)
            catalog.upload(lake, name, events(kind_name, n, options, END))
    return names


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
