"""Reading the posterior cache without MLflow: this machine's copies, then MLflow's tables.

Importing MLflow takes 2 s and starting its SQLAlchemy store another 1.5 s, to read a summary
of a few kilobytes. Two faster ways to the same answer, tried before MLflow (cache.Cache):

- **Copies** (``$VIBES_HOME/fits/<experiment>/<key>.json``): the summary of every fit this
  machine stored or found, written atomically. A key holds everything a fit depends on (the
  sufficient statistics, prior, settings and versions), so a copy is the right answer for as
  long as it lives, even after another machine cleared the shared store: ``COPY_DAYS`` at
  most, and until ``vibes cache clear`` here.
- **MLflow's own tables**, read with sqlite3 or psycopg2 for a ``sqlite:`` or ``postgresql:``
  tracking URI (runs, tags and latest_metrics, whose layout MLflow has kept since 1.x), and the
  summary artifact read from a local folder or S3 (DuckDB's httpfs). Anything unexpected - another
  kind of store, a layout that differs, a store MLflow would repair - answers None ("ask
  MLflow"), never a wrong fit.
"""

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from vibes_core.config import Config, private_dir
from vibes_core.errors import first_line

COPIES = "fits"
COPY_DAYS = 30
EXPERIMENT = "vibes-posteriors"  # MLflow's experiment holding the runs (cache.EXPERIMENT)
SUMMARY, POSTERIOR = "summary.json", "posterior.nc"


@dataclass
class Stored:
    """A cached fit as read: its run and artifacts, and the summary with its options."""

    run_id: str
    artifact_uri: str
    summary: dict
    options: dict


class Unknown(Exception):
    """Not answerable without MLflow: ask it."""


# --- this machine's copies ----------------------------------------------------------------


def copy_path(config: Config, experiment: str, key: str) -> Path:
    return config.home / COPIES / experiment / f"{key}.json"


def read_copy(config: Config, experiment: str, key: str) -> Stored | None:
    path = copy_path(config, experiment, key)
    try:
        if time.time() - path.stat().st_mtime > COPY_DAYS * 86400:
            path.unlink(missing_ok=True)
            return None
        return Stored(**json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError):  # damaged: gone, and asked for again
        path.unlink(missing_ok=True)
        return None


def keep_copy(config: Config, experiment: str, key: str, stored: Stored) -> None:
    """Atomically: a reader finds the whole copy or none. Best effort: the shared store has it."""
    folder = copy_path(config, experiment, key).parent
    with contextlib.suppress(OSError):
        private_dir(folder, config.home)
        handle, partial = tempfile.mkstemp(prefix=".copy-", dir=folder)
        try:
            with os.fdopen(handle, "w") as file:
                json.dump(stored.__dict__, file)
            os.replace(partial, copy_path(config, experiment, key))
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise


def drop_copies(config: Config, experiment: str) -> None:
    shutil.rmtree(config.home / COPIES / experiment, ignore_errors=True)


# --- MLflow's tables ------------------------------------------------------------------------

FINISHED_RUNS = (
    "FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id "
    "WHERE e.name = {p} AND r.status = 'FINISHED' AND r.lifecycle_stage = 'active'"
)


def tag(name: str) -> str:
    return f"(SELECT t.value FROM tags t WHERE t.run_uuid = r.run_uuid AND t.key = '{name}')"


@contextlib.contextmanager
def tables(config: Config):
    """(cursor, placeholder) on the tracking store; Unknown for a store of another kind, or
    None when the embedded store does not exist yet (nothing is cached)."""
    uri = config.mlflow_tracking_uri
    scheme = uri.split(":", 1)[0]
    if scheme == "sqlite":
        path = uri.removeprefix("sqlite:///")
        if not Path(path).exists():
            yield None, "?"
            return
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        placeholder = "?"
    elif scheme in ("postgresql", "postgresql+psycopg2"):
        import psycopg2

        con = psycopg2.connect(uri.replace("postgresql+psycopg2://", "postgresql://", 1))
        placeholder = "%s"
    else:
        raise Unknown(scheme)
    try:
        yield con.cursor(), placeholder
    finally:
        con.close()


def find_run(config: Config, key: str) -> tuple[str, str] | None:
    """(run id, artifact URI) of the latest finished run with this key, or None."""
    with tables(config) as (cursor, p):
        if cursor is None:
            return None
        cursor.execute(
            f"SELECT r.run_uuid, r.artifact_uri {FINISHED_RUNS.format(p=p)} "
            f"AND {tag('vibes_key')} = {p} ORDER BY r.start_time DESC LIMIT 1",
            (EXPERIMENT, key),
        )
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def finished_runs(config: Config, experiment: str | None) -> list[dict]:
    """The cached fits (of one experiment, or all), the latest first, as `vibes cache list`
    shows them."""
    with tables(config) as (cursor, p):
        if cursor is None:
            return []
        only = f" AND {tag('vibes_experiment')} = {p}" if experiment else ""
        cursor.execute(
            f"SELECT r.run_uuid, r.start_time, {tag('vibes_key')}, {tag('vibes_experiment')}, "
            f"{tag('vibes_snapshot')}, (SELECT m.value FROM latest_metrics m WHERE "
            f"m.run_uuid = r.run_uuid AND m.key = 'fit_seconds') "
            f"{FINISHED_RUNS.format(p=p)}{only} ORDER BY r.start_time DESC LIMIT 1000",
            (EXPERIMENT, experiment) if experiment else (EXPERIMENT,),
        )
        rows = cursor.fetchall()
    return [
        {
            "key": key,
            "experiment": name,
            "snapshot": int(snapshot) if snapshot is not None else -1,
            "method": "mcmc",
            "created_at": iso(started),
            "seconds_saved_per_hit": seconds,
            "run_id": run_id,
        }
        for run_id, started, key, name, snapshot, seconds in rows
    ]


def read_summary(config: Config, artifact_uri: str, reader=None) -> dict:
    """The run's summary.json, once its posterior.nc is known to be there too; Unknown for an
    artifact store other than a folder or S3. ``reader``: a DuckDB connection with httpfs
    loaded (the lake's) for S3."""
    parts = urlsplit(artifact_uri)
    if parts.scheme in ("", "file"):
        folder = Path(unquote(parts.path))
        if not (folder / POSTERIOR).exists():
            raise Unknown("no posterior")  # MLflow says which: a lost artifact
        return json.loads((folder / SUMMARY).read_text())
    if parts.scheme == "s3":
        return read_s3_summary(config, artifact_uri.rstrip("/"), reader)
    raise Unknown(parts.scheme)


def read_s3_summary(config: Config, folder: str, reader=None) -> dict:
    """Through DuckDB's httpfs (boto3 costs 0.4 s to import), with the credentials MLflow's S3
    client would use, on the lake's connection if given (a new DuckDB's first S3 request costs
    0.2 s more)."""
    import duckdb

    from vibes_core.lake import connect, use_s3

    if any(character in folder for character in "*?[{"):  # DuckDB would expand it as a glob
        raise Unknown("a glob character")
    con = reader if reader is not None else connect(config.home, ["httpfs"])
    try:
        # Scoped to this run's folder, and named after it: on the lake's connection it changes
        # nothing else, and the dashboard's threads reading other runs do not replace it.
        name = "vibes_run_" + hashlib.sha256(folder.encode()).hexdigest()[:16]
        use_s3(con, config.artifact_s3, name, scope=f"{folder}/")
        # Only the size is read of the posterior (a HEAD request): it must be there too.
        con.execute("SELECT size FROM read_blob(?)", [f"{folder}/{POSTERIOR}"]).fetchall()
        (text,) = con.execute(
            "SELECT content FROM read_text(?)", [f"{folder}/{SUMMARY}"]
        ).fetchone()
    except duckdb.Error as error:
        raise Unknown(first_line(error)) from error
    finally:
        if reader is None:
            con.close()
    return json.loads(text)


def iso(milliseconds: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(milliseconds / 1000, UTC).isoformat().replace("+00:00", "Z")
