"""The posterior cache: one MLflow run per fit, found again by a key tag.

A run holds the summary (``summary.json``) and the full posterior (``posterior.nc``) as
artifacts, the key's parts as params and the diagnostics as metrics; only runs that reached
FINISHED count. Everything that goes wrong here raises ``CacheError``: the caller warns and
fits afresh, so the cache can make an answer slower but never wrong or missing.

Reads try this machine's copy of the summary first, then MLflow's tables directly, and only
then MLflow itself (see vibes_core.store): a hit costs no MLflow import.
"""

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from vibes_core import store as fast
from vibes_core.config import Config, mask, private_dir
from vibes_core.errors import first_line
from vibes_core.store import EXPERIMENT, POSTERIOR, SUMMARY
from vibes_core.store import Stored as Hit

# How a store broken before it was made atomically (a migration killed halfway) fails to open.
BROKEN_STORE = (
    "_alembic_tmp",
    "out-of-date database schema",
    "no such table",
    "file is not a database",
    "malformed",
    "already exists",
)


class CacheError(Exception):
    """The cache could not be read or written; never fatal. Its message is masked."""

    def __init__(self, message: str):
        super().__init__(mask(message))


def warn_on_stderr(message: str) -> None:
    print(f"vibes: warning: {message}", file=sys.stderr)


class Cache:
    def __init__(self, config: Config, warn: Callable[[str], None] = warn_on_stderr, reader=None):
        """``reader``: a DuckDB connection with httpfs loaded (the lake's, when it is on S3)
        for reading summaries stored in S3."""
        self.config = config
        self.warn = warn
        self.reader = reader
        self._client = None
        self._experiment_id = None
        self._storer: subprocess.Popen | None = None  # see start_storing

    def connect(self):
        """The tracking store, opened on first use (it takes a second or two)."""
        if self._client is not None:
            return self._client, self._experiment_id
        # A tracking server that is down must cost seconds, not minutes of retries.
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
        self.config.export_environment()
        try:
            with warnings.catch_warnings(), self._first_use_lock():
                warnings.simplefilter("ignore")
                from mlflow.tracking import MlflowClient

                for name in ("mlflow", "alembic"):  # after the import, which sets them up
                    logging.getLogger(name).setLevel(logging.ERROR)
                store = self._embedded_store()
                try:
                    client = MlflowClient(tracking_uri=self.config.mlflow_tracking_uri)
                    self._experiment_id = self._experiment(client)
                except Exception as error:
                    if store is None or not any(sign in str(error) for sign in BROKEN_STORE):
                        raise
                    self._repair(store, error)
                    client = MlflowClient(tracking_uri=self.config.mlflow_tracking_uri)
                    self._experiment_id = self._experiment(client)
        except Exception as error:
            raise CacheError(
                f"cannot reach MLflow at {self.config.mlflow_tracking_uri}: {first_line(error)}"
            ) from error
        self._client = client
        return client, self._experiment_id

    def _embedded_store(self) -> Path | None:
        """The embedded SQLite store, made on first use (its artifacts folder too); None for a
        tracking store configured elsewhere."""
        uri = self.config.mlflow_tracking_uri
        if uri != f"sqlite:///{self.config.home / 'mlflow.db'}":
            return None
        store = self.config.home / "mlflow.db"
        location = self.config.mlflow_artifact_location or ""
        if location.startswith("file:"):
            private_dir(Path(unquote(urlsplit(location).path)), self.config.home)
        if not store.exists():
            create_store(store)
        return store

    def _repair(self, store: Path, error: Exception) -> None:
        """Move a broken store aside and make a new one; the fits cached in it are lost."""
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        # MLflow keeps an engine per URI: its connections would still read the old file.
        engine = SqlAlchemyStore._engine_map.pop(self.config.mlflow_tracking_uri, None)
        if engine is not None:
            engine.dispose()
        aside = store.with_name(f"{store.name}.broken-{time.strftime('%Y%m%dT%H%M%S')}")
        os.replace(store, aside)
        create_store(store)
        self.warn(
            f"the cache's store {store} was broken ({first_line(error)}): moved aside to "
            f"{aside.name} and made anew; earlier cached fits are gone"
        )

    @contextlib.contextmanager
    def _first_use_lock(self):
        """Processes opening an embedded SQLite store take turns: the first creates its tables,
        and two migrating one file at once leave it broken."""
        if not self.config.mlflow_tracking_uri.startswith("sqlite:"):
            yield
            return
        private_dir(self.config.home, self.config.home)
        handle = os.open(self.config.home / "mlflow.lock", os.O_RDWR | os.O_CREAT, 0o600)
        with os.fdopen(handle, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _experiment(self, client) -> str:
        found = client.get_experiment_by_name(EXPERIMENT)
        if found is not None:
            return found.experiment_id
        try:
            return client.create_experiment(
                EXPERIMENT, artifact_location=self.config.mlflow_artifact_location
            )
        except Exception:
            # Another process created it at the same moment.
            found = client.get_experiment_by_name(EXPERIMENT)
            if found is None:
                raise
            return found.experiment_id

    def _runs(self, filter_string: str, max_results: int = 1000):
        client, experiment_id = self.connect()
        return client.search_runs(
            [experiment_id],
            filter_string,
            order_by=["attributes.start_time DESC"],
            max_results=max_results,
        )

    def lookup(
        self, key: str, experiment: str | None = None, options: dict | None = None
    ) -> Hit | None:
        """The fit stored under ``key``, or None. With ``experiment`` (whose fit it is), this
        machine's copy is read first, and a hit found elsewhere is copied; with ``options``
        too, its summary for those options if one was kept (see keep_summary). A summary read
        back that does not have a summary's shape is never served: CacheError."""
        hit = self._found(key, experiment)
        if hit is None or experiment is None or options is None or hit.options == options:
            return hit
        kept = fast.read_copy(self.config, experiment, summary_key(hit.run_id, options))
        return kept if kept is not None and kept.run_id == hit.run_id else hit

    def keep_summary(self, experiment: str, hit: Hit) -> None:
        """Keep on this machine the summary of a cached fit for other options than it was
        stored with (re-summarized from its draws, which means MLflow and the posterior file):
        asking again with the same options, as saved options do every time, is then a copy."""
        fast.keep_copy(self.config, experiment, summary_key(hit.run_id, hit.options), hit)

    def _found(self, key: str, experiment: str | None) -> Hit | None:
        if experiment is not None:
            copy = fast.read_copy(self.config, experiment, key)
            if copy is not None:
                return copy
        self.config.export_environment()
        try:
            found = fast.find_run(self.config, key)
            hit = None if found is None else Hit(*found, **self._stored(found[1]))
        except Exception:  # another kind of store, or one MLflow must repair: ask MLflow
            hit = self._lookup(key)
        if hit is None:
            return None
        damaged = fast.problem(hit)
        if damaged is not None:
            raise CacheError(f"the cached fit {hit.run_id} has a damaged summary: {damaged}")
        if experiment is not None:
            fast.keep_copy(self.config, experiment, key, hit)
        return hit

    def _stored(self, artifact_uri: str) -> dict:
        stored = fast.read_summary(self.config, artifact_uri, self.reader)
        return {"summary": stored["summary"], "options": stored["options"]}

    def _lookup(self, key: str) -> Hit | None:
        try:
            runs = self._runs(f"tags.vibes_key = '{key}' and attributes.status = 'FINISHED'", 1)
            if not runs:
                return None
            run = runs[0]
            repository = artifacts(run.info.artifact_uri)
            with tempfile.TemporaryDirectory(prefix="vibes-cache-") as tmp:
                stored = json.loads(Path(repository.download_artifacts(SUMMARY, tmp)).read_text())
            if POSTERIOR not in {artifact.path for artifact in repository.list_artifacts()}:
                raise CacheError(f"run {run.info.run_id} lost its {POSTERIOR}")
            return Hit(run.info.run_id, run.info.artifact_uri, stored["summary"], stored["options"])
        except CacheError:
            raise
        except Exception as error:
            raise CacheError(f"cannot read the cached fit: {first_line(error)}") from error

    def posterior_file(self, hit: Hit, folder: str) -> Path:
        """The full posterior of a hit: read where it is in a local artifact store (MLflow's
        import alone takes 2 s), else downloaded into ``folder``."""
        parts = urlsplit(hit.artifact_uri)
        if parts.scheme in ("", "file"):
            local = Path(unquote(parts.path)) / POSTERIOR
            if local.is_file():
                return local
        try:
            return Path(artifacts(hit.artifact_uri).download_artifacts(POSTERIOR, folder))
        except Exception as error:
            raise CacheError(f"cannot read the cached posterior: {first_line(error)}") from error

    def start_storing(self) -> None:
        """On a miss, before sampling: MLflow imported and its store opened in a child process
        (vibes_core.storer) on the other core meanwhile, 3 s a command would wait for after the
        fit. Not where MLflow is loaded already (the dashboard): there storing is quick."""
        if "mlflow" in sys.modules or self._storer is not None:
            return
        with contextlib.suppress(OSError):
            # -P: the working directory is not put first on its path (a json.py there would
            # run); PYTHONPATH still counts.
            self._storer = subprocess.Popen(
                [sys.executable, "-P", "-m", "vibes_core.storer"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ, "VIBES_HOME": str(self.config.home)},
            )

    def stop_storing(self) -> None:
        """The child, if it was not needed (a fit that failed): told so, and gone."""
        storer, self._storer = self._storer, None
        if storer is not None:
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                storer.communicate("", timeout=10)
            if storer.poll() is None:
                storer.kill()

    def store(
        self,
        key: str,
        tags: dict,
        params: dict,
        metrics: dict,
        summary: dict,
        options: dict,
        posterior_path: Path,
    ) -> str:
        call = {"key": key, "tags": tags, "params": params, "metrics": metrics}
        call |= {"summary": summary, "options": options, "posterior_path": posterior_path}
        storer, self._storer = self._storer, None
        if storer is not None:
            answer = self._stored_by(storer, call)
            if "run_id" in answer:
                return answer["run_id"]
            if "error" in answer:
                raise CacheError(answer["error"])
        return self._store(**call)  # no child, or one that could not store here

    def _stored_by(self, storer: subprocess.Popen, call: dict) -> dict:
        """The child's answer; {} when it stored nothing (another store) or could not answer:
        then this process stores."""
        store = [self.config.mlflow_tracking_uri, self.config.mlflow_artifact_location]
        try:
            path = str(call["posterior_path"])
            request = json.dumps({**call, "posterior_path": path, "store": store})
            out, _ = storer.communicate(request + "\n", timeout=300)
            return json.loads(out.strip().splitlines()[-1])
        except (OSError, ValueError, IndexError, TypeError, subprocess.TimeoutExpired):
            storer.kill()
            return {}

    def _store(
        self,
        key: str,
        tags: dict,
        params: dict,
        metrics: dict,
        summary: dict,
        options: dict,
        posterior_path: Path,
    ) -> str:
        run_id = None
        try:
            client, experiment_id = self.connect()
            run = client.create_run(
                experiment_id,
                tags={"vibes_key": key, **{f"vibes_{k}": str(v) for k, v in tags.items()}},
                run_name=f"{tags['experiment']}@{tags['snapshot']}",
            )
            run_id = run.info.run_id
            for name, value in params.items():
                client.log_param(run_id, name, value)
            for name, value in metrics.items():
                client.log_metric(run_id, name, value)
            with tempfile.TemporaryDirectory(prefix="vibes-cache-") as tmp:
                stored = Path(tmp) / SUMMARY
                stored.write_text(json.dumps({"summary": summary, "options": options}))
                client.log_artifact(run_id, str(stored))
            client.log_artifact(run_id, str(posterior_path))
            client.set_terminated(run_id, "FINISHED")  # only now can a lookup find it
        except Exception as error:
            if run_id is not None:  # unfinished or failed: lookups ignore it either way
                with contextlib.suppress(Exception):
                    client.set_terminated(run_id, "FAILED")
            raise CacheError(f"cannot store the fit: {first_line(error)}") from error
        stored = Hit(run_id, run.info.artifact_uri, summary, options)
        fast.keep_copy(self.config, tags["experiment"], key, stored)
        return run_id

    def clear(self, experiment: str) -> int:
        """Delete every run of one experiment, artifacts included, and this machine's copies;
        the count of runs deleted. ``experiment`` must be a valid name (InvalidName): it
        becomes a folder to delete."""
        try:
            fast.drop_copies(self.config, experiment)
        except OSError as error:  # not said as deleted when they stay
            raise CacheError(
                f"cannot delete this machine's copies of {experiment}'s fits in "
                f"{self.config.home / fast.COPIES}: {error.strerror or error}"
            ) from error
        try:
            client, _ = self.connect()
            runs = self._runs(f"tags.vibes_experiment = '{experiment}'")
            for run in runs:
                delete_artifacts(run.info.artifact_uri)
                client.delete_run(run.info.run_id)
            return len(runs)
        except Exception as error:
            raise CacheError(f"cannot clear the cache: {first_line(error)}") from error

    def entries(self, experiment: str | None = None) -> list[dict]:
        self.config.export_environment()
        try:
            return fast.finished_runs(self.config, experiment)
        except Exception:  # another kind of store, or one MLflow must repair: ask MLflow
            return self._mlflow_entries(experiment)

    def _mlflow_entries(self, experiment: str | None) -> list[dict]:
        query = f"tags.vibes_experiment = '{experiment}'" if experiment else ""
        try:
            runs = self._runs(" and ".join(filter(None, [query, "attributes.status = 'FINISHED'"])))
        except Exception as error:
            raise CacheError(f"cannot list the cache: {first_line(error)}") from error
        return [
            {
                "key": run.data.tags["vibes_key"],
                "experiment": run.data.tags.get("vibes_experiment"),
                "snapshot": int(run.data.tags.get("vibes_snapshot", -1)),
                "method": "mcmc",
                "created_at": fast.iso(run.info.start_time),
                "seconds_saved_per_hit": run.data.metrics.get("fit_seconds"),
                "run_id": run.info.run_id,
            }
            for run in runs
        ]


def summary_key(run_id: str, options: dict) -> str:
    """The key of a run's summary for ``options`` (see Cache.keep_summary)."""
    given = json.dumps([run_id, options], sort_keys=True, default=str)
    return hashlib.sha256(given.encode()).hexdigest()


def create_store(store: Path) -> None:
    """Create and migrate an MLflow SQLite store atomically: in a file beside it, renamed into
    place when complete. MLflow's migrations take seconds, and a store killed halfway through
    them stays broken ("table _alembic_tmp_params already exists"). Called under the lock."""
    import sqlalchemy
    from mlflow.store.db.utils import _initialize_tables

    for stale in store.parent.glob(f"{store.name}.creating-*"):  # a creation killed earlier
        stale.unlink(missing_ok=True)
    partial = store.with_name(f"{store.name}.creating-{os.getpid()}")
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))  # owner only
    engine = sqlalchemy.create_engine(f"sqlite:///{partial}")
    try:
        _initialize_tables(engine)
    finally:
        engine.dispose()
    os.replace(partial, store)


def artifacts(artifact_uri: str):
    """A run's artifact store, addressed directly: through the run id, MLflow would query
    the tracking store for the run and its logged models on every read (0.3 s)."""
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    return get_artifact_repository(artifact_uri)


def delete_artifacts(artifact_uri: str) -> None:
    with contextlib.suppress(Exception):  # the run goes anyway; `mlflow gc` collects the rest
        artifacts(artifact_uri).delete_artifacts()
