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
import errno
import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from vibes_core.config import Config, private_dir
from vibes_core.errors import first_line
from vibes_core.names import validate_name
from vibes_core.schema import ANSWER_KEYS, Scorecard, Summary, mismatch

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
#
# Files under $VIBES_HOME are input too: a name from a shared catalog must never make a path
# outside fits/, and a symlink or a directory where a copy should be is never followed, never
# served: a copy is opened without following links, under folders opened the same way, and is
# served only when its checksum and its shape hold; anything else is a miss, and the copy is
# rebuilt from the shared store.

KEY = re.compile(r"[0-9a-f]{64}")  # a cache key: a sha256
FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# Non-blocking: a FIFO put where a copy should be must not hang the read.
FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


def copy_path(config: Config, experiment: str, key: str) -> Path:
    """Where the copy of a fit's summary lives; the names checked, never joined unchecked."""
    return config.home / COPIES / validate_name(experiment) / copy_name(key)


def copy_name(key: str) -> str:
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise ValueError(f"not a cache key: {str(key)[:80]!r}")
    return f"{key}.json"


@contextlib.contextmanager
def copies_of(config: Config, experiment: str | None, create: bool = False):
    """A descriptor of ``fits/<experiment>`` (of ``fits`` when None), each step a real
    directory: a link or a file in the way is never followed (FileNotFoundError), and with
    ``create`` replaced by a new directory."""
    if experiment is not None:
        validate_name(experiment)
    if create:
        private_dir(config.home, config.home)
    opened = [os.open(config.home, FOLDER & ~os.O_NOFOLLOW)]  # the home is the user's choice
    try:
        for step in (COPIES, experiment)[: 1 if experiment is None else 2]:
            opened.append(real_folder(opened[-1], step, create))
        yield opened[-1]
    finally:
        for descriptor in opened:
            os.close(descriptor)


def real_folder(parent: int, name: str, create: bool) -> int:
    if create:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o700, dir_fd=parent)
    try:
        return os.open(name, FOLDER, dir_fd=parent)
    except OSError as error:
        if error.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        if not create:
            raise FileNotFoundError(errno.ENOENT, "not a real directory", name) from error
    remove(parent, name)  # a link or a file where the folder should be: itself, not its target
    os.mkdir(name, 0o700, dir_fd=parent)
    return os.open(name, FOLDER, dir_fd=parent)


def remove(parent: int, name: str) -> None:
    """Remove ``name`` in the folder ``parent``: a file or a link itself (never what a link
    points to), a directory with what it holds (shutil.rmtree follows no link)."""
    try:
        info = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode):
        shutil.rmtree(name, dir_fd=parent)
    else:
        os.unlink(name, dir_fd=parent)


def read_copy(config: Config, experiment: str, key: str) -> Stored | None:
    """This machine's copy of the fit under ``key``, or None: none, too old, or not one
    (damaged, not a regular file, failing its checksum or the summary's shape: removed, and
    then rebuilt by the lookup that misses)."""
    try:
        name = copy_name(key)
        with copies_of(config, experiment) as folder:
            try:
                handle = os.open(name, FILE, dir_fd=folder)
            except FileNotFoundError:
                return None
            except OSError:  # a link (ELOOP), or something else that is not a copy
                remove(folder, name)
                return None
            with os.fdopen(handle, "rb") as file:
                info = os.fstat(file.fileno())
                fresh = time.time() - info.st_mtime <= COPY_DAYS * 86400
                content = file.read() if stat.S_ISREG(info.st_mode) and fresh else None
            stored = None if content is None else checked_copy(content)
            if stored is None:
                remove(folder, name)
            return stored
    except (OSError, ValueError):  # no folder (or not a real one), a name not ours
        return None


def checked_copy(content: bytes) -> Stored | None:
    """The copy ``content`` holds, if its checksum and shape hold."""
    try:
        data = json.loads(content)
        digest = data.pop("sha256")
        if digest != checksum(data):
            return None
        stored = Stored(**data)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None
    return stored if problem(stored) is None else None


def checksum(data: dict) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def problem(stored: Stored) -> str | None:
    """What is wrong with a cached fit read back (a copy, or the store's summary artifact), or
    None: it must be served only when it has the shape of a summary."""
    if not isinstance(stored.options, dict):
        return "its options are not an object"
    if not all(isinstance(v, str) for v in (stored.run_id, stored.artifact_uri)):
        return "its run is not named"
    return mismatch(stored.summary, Summary | Scorecard, optional=ANSWER_KEYS)


def keep_copy(config: Config, experiment: str, key: str, stored: Stored) -> None:
    """Atomically: a reader finds the whole copy or none. Best effort: the shared store has it."""
    with contextlib.suppress(OSError, ValueError):
        name = copy_name(key)
        data = dict(stored.__dict__)
        content = json.dumps({**data, "sha256": checksum(data)}, allow_nan=False).encode()
        with copies_of(config, experiment, create=True) as folder:
            partial = f".copy-{uuid.uuid4().hex}"
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            handle = os.open(partial, flags, 0o600, dir_fd=folder)
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(content)
                try:
                    os.replace(partial, name, src_dir_fd=folder, dst_dir_fd=folder)
                except IsADirectoryError:  # a directory where the copy should be
                    remove(folder, name)
                    os.replace(partial, name, src_dir_fd=folder, dst_dir_fd=folder)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(partial, dir_fd=folder)
                raise


def drop_copies(config: Config, experiment: str) -> None:
    """Remove this machine's copies of one experiment's fits: ``fits/<experiment>`` with
    what it holds or, if it is a link, the link alone. OSError when they could not be."""
    validate_name(experiment)
    try:
        with copies_of(config, None) as fits:
            remove(fits, experiment)
    except FileNotFoundError:  # none kept, or no real fits/ (never read through)
        pass


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
