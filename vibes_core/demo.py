"""A fixed set of demo experiments, the same every time: for trying the dashboard, for its
screenshots and for the snapshot tests that catch layout regressions."""

import tempfile
from datetime import datetime
from pathlib import Path

from vibes_core import catalog
from vibes_core.errors import AlreadyExists
from vibes_core.lake import Lake
from vibes_core.types import registry

END = datetime(2026, 11, 2, 12, 0)  # the demo data's last event, UTC


def seed(lake: Lake, seed: int = 7) -> list[str]:
    """Create every type's demo experiments (and their later batches); returns their names."""
    import numpy as np

    from vibes_core.ingest import write_events

    demos = [(kind, demo) for kind in registry().values() for demo in kind.demos]
    taken = [demo.name for _, demo in demos if catalog.exists(lake.con, demo.name)]
    if taken:
        raise AlreadyExists(
            f"demo experiments exist already ({', '.join(taken)}): delete them to seed again"
        )
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
    return [demo.name for _, demo in demos]


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
