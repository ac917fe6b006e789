"""The DuckDB connection to the DuckLake lakehouse: offline extensions, ATTACH, snapshots, retries.

Extensions come from the pinned ``duckdb-extension-*`` wheels and are loaded from their files;
DuckDB never downloads anything. Every write runs through :meth:`Lake.write`, one transaction
and so one DuckLake snapshot, retried from the start when another process holds the catalog.
"""

import contextlib
import importlib.util
import random
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from vibes_core.config import Config, load_config
from vibes_core.errors import ConfigError, first_line

ALIAS = "lake"
WRITE_TIMEOUT_S = 120.0
SQLITE_BUSY_TIMEOUT_MS = 10_000

# extension name -> the wheel that ships it
EXTENSION_WHEELS = {
    "ducklake": "duckdb_extension_ducklake",
    "sqlite_scanner": "duckdb_extension_sqlite_scanner",
    "postgres_scanner": "duckdb_extension_postgres_scanner",
    "httpfs": "duckdb_extension_httpfs",
}
CATALOG_EXTENSIONS = {"sqlite": "sqlite_scanner", "postgres": "postgres_scanner"}
# Messages of errors that mean "someone else is writing right now": try again.
TRANSIENT = ("database is locked", "conflict", "could not serialize", "deadlock")


def sql_literal(value: str) -> str:
    """A SQL string literal, for the few statements (ATTACH, SET) that take no parameters."""
    return "'" + value.replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def extension_file(name: str) -> str:
    package = EXTENSION_WHEELS[name]
    spec = importlib.util.find_spec(package)
    files = (
        sorted(
            Path(spec.submodule_search_locations[0]).glob(f"extensions/*/{name}.duckdb_extension")
        )
        if spec and spec.submodule_search_locations
        else []
    )
    if not files:
        pip_name = package.replace("_", "-")
        raise ConfigError(
            f"DuckDB extension {name!r} is not installed: "
            f"pip install {pip_name}=={duckdb.__version__}"
        )
    return str(files[-1])


def is_transient(error: Exception) -> bool:
    # A failed commit changed nothing, and every write re-checks its state when rerun.
    if isinstance(error, duckdb.TransactionException):
        return True
    message = str(error).lower()
    return any(word in message for word in TRANSIENT)


def retry(action: Callable[[], object], what: str) -> object:
    """Run ``action`` until it stops failing because another process holds a lock."""
    deadline = time.monotonic() + WRITE_TIMEOUT_S
    delay = 0.02
    while True:
        try:
            return action()
        except duckdb.Error as error:
            if not is_transient(error):
                raise
            if time.monotonic() > deadline:
                raise ConfigError(
                    f"{what} gave up after retrying for {WRITE_TIMEOUT_S:.0f} s "
                    f"({first_line(error)}); if another process holds the lake, try again later"
                ) from error
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 1.0)


class Lake:
    """One DuckDB connection with the DuckLake attached as ``lake``."""

    def __init__(self, config: Config | None = None, *, create: bool | None = None):
        self.config = config or load_config()
        create = self.config.auto_init if create is None else create
        self.con = duckdb.connect(
            config={
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
            }
        )
        self.con.execute("SET TimeZone = 'UTC'")
        self._load_extensions()
        if create:
            self._make_local_dirs()
        retry(lambda: self._attach(create), "opening the lake")

    def _load_extensions(self) -> None:
        needed = ["ducklake", CATALOG_EXTENSIONS[self.config.catalog_kind]]
        if self.config.data_path.startswith(("s3://", "http://", "https://")):
            needed.append("httpfs")
        for name in needed:
            self.con.execute(f"LOAD {sql_literal(extension_file(name))}")

    def _make_local_dirs(self) -> None:
        folders = [self.config.home]
        if self.config.catalog_kind == "sqlite":
            folders.append(Path(self.config.catalog_url.split(":", 1)[1]).parent)
        if "://" not in self.config.data_path:
            folders.append(Path(self.config.data_path))
        for folder in folders:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise ConfigError(
                    f"cannot create {folder}: {error.strerror}; "
                    "set VIBES_HOME to a directory you can write to"
                ) from error

    def _attach(self, create: bool) -> None:
        options = [
            f"DATA_PATH {sql_literal(self.config.data_path)}",
            f"CREATE_IF_NOT_EXISTS {str(create).lower()}",
        ]
        if self.config.catalog_kind == "sqlite":
            options += ["META_JOURNAL_MODE 'WAL'", f"META_BUSY_TIMEOUT {SQLITE_BUSY_TIMEOUT_MS}"]
        target = sql_literal(f"ducklake:{self.config.catalog_url}")
        try:
            self.con.execute(f"ATTACH {target} AS {ALIAS} ({', '.join(options)})")
        except duckdb.Error as error:
            if is_transient(error):
                raise
            if not create and ("unable to open" in str(error).lower() or "not exist" in str(error)):
                raise ConfigError(
                    f"no lake at {self.config.catalog_url}: run `vibes db init` to create it"
                ) from error
            raise ConfigError(
                f"cannot open the lake at {self.config.catalog_url}: {first_line(error)}"
            ) from error

    def for_thread(self) -> "Lake":
        """The same lake through a new DuckDB connection to the same database, for another
        thread (a connection must not be shared between threads)."""
        other = object.__new__(Lake)
        other.config = self.config
        other.con = self.con.cursor()
        other.con.execute("SET TimeZone = 'UTC'")
        return other

    @property
    def metadata_schema(self) -> str:
        """Where DuckDB attaches the catalog database; its tables follow the DuckLake spec."""
        return f"__ducklake_metadata_{ALIAS}"

    def snapshot_id(self) -> int:
        return self.con.execute(f"SELECT id FROM {ALIAS}.current_snapshot()").fetchone()[0]

    def last_commit(self) -> int:
        """The snapshot this connection's last write made (others may have committed since)."""
        return self.con.execute(f"SELECT * FROM {ALIAS}.last_committed_snapshot()").fetchone()[0]

    def write[T](self, work: Callable[[duckdb.DuckDBPyConnection], T], what: str) -> T:
        """Run ``work`` in one transaction (one snapshot); rerun it whole if the catalog is busy."""

        def attempt() -> T:
            self.con.execute("BEGIN TRANSACTION")
            try:
                result = work(self.con)
                self.con.execute("COMMIT")
                return result
            except BaseException:
                self._rollback()
                raise

        return retry(attempt, what)

    def _rollback(self) -> None:
        with contextlib.suppress(duckdb.Error):  # a failed COMMIT has already ended it
            self.con.execute("ROLLBACK")

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Lake":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
