"""The DuckDB connection to the DuckLake lakehouse: offline extensions, ATTACH, snapshots, retries.

Extensions come from the pinned ``duckdb-extension-*`` wheels and are loaded from their files;
DuckDB never downloads anything. Every write runs through :meth:`Lake.write`, one transaction
and so one DuckLake snapshot, retried from the start when another process holds the catalog.
"""

import contextlib
import importlib.util
import json
import os
import random
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import duckdb

from vibes_core.config import (
    COMMITTED,
    HOLDING,
    INTERRUPTED,
    S3,
    Config,
    load_config,
    mask,
    private_dir,
)
from vibes_core.errors import ConfigError, NoLake, first_line

ALIAS = "lake"
EVENTS_SCHEMA = "events"  # event tables (vibes_core.tables): one namespace with experiments
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
# Messages of errors that mean "someone else is writing right now": try again. DuckLake says
# "Transaction conflict", or gives up its own retries on the catalog's primary keys.
TRANSIENT = (
    "database is locked",
    "database table is locked",
    "conflict",
    "could not serialize",
    "deadlock",
    "exceeded the maximum retry count",
)
# Faults of the machine, not of another writer: never retried, one line at once.
FAULTS = (  # what the OS, SQLite or DuckDB says -> what is wrong and what to do
    (
        r"No space left on device|database or disk is full|Disk quota exceeded",
        "the disk is full: free some space and try again",
    ),
    (r"File too large", "a file outgrew the size limit (ulimit -f): raise it and try again"),
    (
        r"Read-only file system|readonly database",
        "the file system is read-only: use a writable VIBES_HOME (or VIBES_DATA_PATH)",
    ),
    (
        r"Permission denied|Operation not permitted",
        "permission denied: check the owner and modes of VIBES_HOME (or VIBES_DATA_PATH)",
    ),
    (r"disk I/O error", "the disk failed to read or write: is it full, read-only or gone?"),
)
S3_UNREACHABLE = re.compile(
    r"Could not (?:connect|establish connection)|Connection refused|Couldn't connect|"
    r"Could not resolve host|Timeout was reached|Failed to connect",
    re.IGNORECASE,
)


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


class ExtensionCheck:
    """DuckDB checks an extension's signature on every LOAD: hashing the 35 MB files costs a
    quarter of a second per process. A file whose signature was checked once, and which has
    not changed since (same size, modification time and inode), is loaded without the check.
    """

    def __init__(self, home: Path, files: list[str]) -> None:
        self.home = home
        self.record_file = home / "cache" / "checked-extensions.json"
        self.stats = {file: file_stat(file) for file in files}
        try:
            self.known = json.loads(self.record_file.read_text())
        except (OSError, ValueError):
            self.known = {}
        self.done = all(self.known.get(file) == stat for file, stat in self.stats.items())

    def record(self) -> None:
        """After every file loaded with its signature checked: remember them."""
        if self.done:
            return
        with contextlib.suppress(OSError):  # a read-only home only costs the check again
            private_dir(self.record_file.parent, self.home)
            handle, partial = tempfile.mkstemp(dir=self.record_file.parent, suffix=".tmp")
            with os.fdopen(handle, "w") as out:
                json.dump({**self.known, **self.stats}, out)
            os.replace(partial, self.record_file)


def file_stat(file: str) -> list[int]:
    stat = os.stat(file)
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino]


def is_transient(error: Exception) -> bool:
    """Another writer got there first: a failed commit changed nothing, and every write
    re-checks its state when rerun. A failed commit is one too (DuckLake reports some
    conflicts only as "Failed to commit", e.g. a schema another process created meanwhile),
    unless the disk or the network failed: those are faults, never retried."""
    if fault(error) is not None:
        return False
    message = str(error).lower()
    return isinstance(error, duckdb.TransactionException) or any(w in message for w in TRANSIENT)


def fault(error: Exception, s3: S3 | None = None) -> str | None:
    """What an I/O error of the lake's storage means and what to do; None for anything else."""
    message = str(error)
    for pattern, meaning in FAULTS:
        if re.search(pattern, message, re.IGNORECASE):
            file = re.search(r'file "([^"]+)"', message)
            return meaning.replace(":", f" ({mask(file.group(1))}):", 1) if file else meaning
    url = re.search(r"(https?://[^/'\"\s]+)", message)
    if url and S3_UNREACHABLE.search(message):
        endpoint = s3.endpoint if s3 and s3.endpoint else url.group(1)
        return f"cannot reach S3 at {mask(endpoint)}: check AWS_ENDPOINT_URL"
    return None


def retry(action: Callable[[], object], what: str, s3: S3 | None = None) -> object:
    """Run ``action`` until it stops failing because another process holds a lock."""
    deadline = time.monotonic() + WRITE_TIMEOUT_S
    delay = 0.02
    while True:
        try:
            return action()
        except duckdb.InterruptException as error:
            raise KeyboardInterrupt from error
        except duckdb.Error as error:
            problem = fault(error, s3)
            if problem:
                raise ConfigError(f"{what} failed, nothing was changed: {problem}") from error
            if not is_transient(error):
                raise
            if time.monotonic() > deadline:
                raise ConfigError(
                    f"{what} gave up after retrying for {WRITE_TIMEOUT_S:.0f} s "
                    f"({mask(first_line(error))}); another process holds the lake: "
                    "try again later"
                ) from error
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 1.0)


def use_s3(
    con: duckdb.DuckDBPyConnection, s3: S3, name: str = "vibes_s3", scope: str | None = None
) -> None:
    """DuckDB's S3 secret for this connection (for URLs under ``scope`` only, if given):
    path-style URLs, SSL from the endpoint's scheme."""
    options = ["TYPE s3"] + ([f"SCOPE {sql_literal(scope)}"] if scope else [])
    if s3.key_id:
        options += [f"KEY_ID {sql_literal(s3.key_id)}", f"SECRET {sql_literal(s3.secret or '')}"]
    if s3.region:
        options.append(f"REGION {sql_literal(s3.region)}")
    if s3.endpoint:
        url = urlsplit(s3.endpoint)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise ConfigError(
                f"AWS_ENDPOINT_URL {mask(s3.endpoint)!r} is not a URL: "
                "use e.g. http://localhost:9000"
            )
        options += [
            f"ENDPOINT {sql_literal(url.netloc)}",
            "URL_STYLE 'path'",
            f"USE_SSL {str(url.scheme == 'https').lower()}",
        ]
    con.execute(f"CREATE OR REPLACE SECRET {name} ({', '.join(options)})")


def bucket_of(url: str) -> str:
    return url.removeprefix("s3://").split("/")[0]


def no_bucket(bucket: str) -> str:
    return f"bucket {bucket!r} does not exist: create it (docker compose up -d does)"


def probe_data_path(con: duckdb.DuckDBPyConnection, data_path: str) -> None:
    """List an S3 data path as the lake reads it, for a name no file has (one cheap request,
    however big the lake): a missing bucket, bad keys or an endpoint that is down raise
    ConfigError, before anything is written."""
    pattern = sql_literal(data_path.rstrip("/") + "/.vibes-probe*")
    try:
        con.execute(f"SELECT count(*) FROM glob({pattern})").fetchone()
    except duckdb.Error as error:
        message = first_line(error)
        bucket = bucket_of(data_path)
        if "404" in message or "NoSuchBucket" in message:
            problem = no_bucket(bucket)
        elif any(code in message for code in ("403", "InvalidAccessKeyId", "SignatureDoes")):
            problem = (
                f"S3 refused access to {bucket!r}: check AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY"
            )
        else:
            problem = f"cannot reach S3 for {bucket!r} ({message}): check AWS_ENDPOINT_URL"
        raise ConfigError(mask(f"VIBES_DATA_PATH {data_path}: {problem}")) from error


DATA_PATH_MISMATCH = (
    r'DATA_PATH parameter "([^"]*)" does not match existing data path in the catalog "([^"]*)"'
)
ATTACH_PROBLEMS = (  # what DuckLake or libpq says -> what to do
    # Catalogs made before vibes resolved a relative VIBES_DATA_PATH store it as given, and
    # DuckLake reads it against each working directory.
    (
        r'DATA_PATH parameter "([^"]*)" does not match existing data path in the catalog '
        r'"((?![a-z][a-z0-9+.-]*://)[^/"][^"]*)"',
        "this catalog stores the relative data path {1}, which means another directory in each "
        "directory vibes runs from: gather its files under one absolute directory, then store "
        "that in the catalog (UPDATE ducklake_metadata SET value = '/that/dir/' "
        "WHERE key = 'data_path') and set VIBES_DATA_PATH to it",
    ),
    (
        DATA_PATH_MISMATCH,
        "VIBES_DATA_PATH {0} is not where this catalog keeps its files: set it to {1}",
    ),
    (
        r"Connection refused|could not translate host|timeout expired|No route to host",
        "PostgreSQL does not answer there: is it running, and are host and port right?",
    ),
    (
        r"password authentication failed|no password supplied",
        "PostgreSQL refused the password: check user and password in VIBES_CATALOG_URL",
    ),
    (r'role "[^"]+" does not exist', "PostgreSQL has no such user: check VIBES_CATALOG_URL"),
    (
        r'database "([^"]+)" does not exist',
        "PostgreSQL has no database named {0}: create it (docker compose up -d does)",
    ),
)


def attach_problem(error: Exception) -> str | None:
    for pattern, advice in ATTACH_PROBLEMS:
        found = re.search(pattern, str(error))
        if found:
            return advice.format(*found.groups())
    return None


def connect(home: Path, extensions: list[str]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with these extensions loaded from their wheels (nothing from the
    network), in UTC."""
    files = [extension_file(name) for name in extensions]
    checked = ExtensionCheck(home, files)
    con = duckdb.connect(
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_unsigned_extensions": checked.done,
        }
    )
    con.execute("SET TimeZone = 'UTC'")
    for file in files:
        con.execute(f"LOAD {sql_literal(file)}")
    checked.record()
    return con


class Lake:
    """One DuckDB connection with the DuckLake attached as ``lake``."""

    def __init__(self, config: Config | None = None, *, create: bool | None = None):
        self.config = config or load_config()
        create = self.config.auto_init if create is None else create
        self.con = connect(self.config.home, self._needed_extensions())
        if self.config.s3:
            use_s3(self.con, self.config.s3)
            if create:  # a bucket that is missing or refuses us: before the catalog is made
                probe_data_path(self.con, self.config.data_path)
        if create:
            self._make_local_dirs()
        retry(lambda: self._attach(create), "opening the lake", self.config.s3)

    def _needed_extensions(self) -> list[str]:
        needed = ["ducklake", CATALOG_EXTENSIONS[self.config.catalog_kind]]
        if self.config.data_path.startswith(("s3://", "http://", "https://")):
            needed.append("httpfs")
        return needed

    def _make_local_dirs(self) -> None:
        folders = [self.config.home]
        if self.config.sqlite_file:
            folders.append(self.config.sqlite_file.parent)
        if "://" not in self.config.data_path and not self.config.relative_data_path:
            folders.append(Path(self.config.data_path))  # (DuckLake makes it when it writes)
        for folder in folders:
            try:
                private_dir(folder, self.config.home)
            except OSError as error:
                raise ConfigError(
                    f"cannot create {mask(str(folder))}: {error.strerror}; "
                    "set VIBES_HOME to a directory you can write to"
                ) from error
        catalog = self.config.sqlite_file
        if catalog and self.config.home in catalog.parents:
            # Owner-only from the start (SQLite gives its WAL the same mode): an empty file is
            # an empty database.
            with contextlib.suppress(OSError):
                os.close(os.open(catalog, os.O_WRONLY | os.O_CREAT, 0o600))

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
            stored = re.search(DATA_PATH_MISMATCH, str(error))
            if stored and self.config.relative_data_path and stored[2].startswith("/"):
                # A relative VIBES_DATA_PATH was resolved once, where the lake was created.
                self.config = replace(self.config, data_path=stored[2])
                return self._attach(create)
            where = mask(self.config.catalog_url)
            problem = attach_problem(error) or fault(error, self.config.s3)
            if problem:
                raise ConfigError(f"cannot open the lake at {where}: {problem}") from error
            if not create and ("unable to open" in str(error).lower() or "not exist" in str(error)):
                problem = "run `vibes db init` to create it"
                raise NoLake(f"no lake at {where}: {problem}") from error
            raise ConfigError(
                f"cannot open the lake at {where}: {mask(first_line(error))}"
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
                if INTERRUPTED.is_set():  # Ctrl-C while DuckDB worked: it may have swallowed it
                    raise KeyboardInterrupt
                with interrupts_held():  # a Ctrl-C now lands after COMMITTED says so
                    self.con.execute("COMMIT")
                    COMMITTED.set()
                return result
            except BaseException:
                self._rollback()
                raise

        return retry(attempt, what, self.config.s3)

    @contextlib.contextmanager
    def reading(self, what: str):
        """Reads of the lake's files: a fault of the disk or of S3 becomes one line."""
        try:
            yield
        except duckdb.Error as error:
            problem = fault(error, self.config.s3)
            if problem is None:
                raise
            raise ConfigError(f"{what} failed: {problem}") from error

    def _rollback(self) -> None:
        with contextlib.suppress(duckdb.Error):  # a failed COMMIT has already ended it
            self.con.execute("ROLLBACK")

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Lake":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@contextlib.contextmanager
def interrupts_held():
    """Ctrl-C held back until this ends: between a COMMIT and the line that notes it, a
    KeyboardInterrupt would say the write had not happened. While HOLDING is set the CLI's
    handler only notes a Ctrl-C; a signal mask would not do, as the kernel hands a process's
    SIGINT to any thread not blocking it (DuckDB runs several) and Python then raises it in the
    main thread at its next line."""
    HOLDING.set()
    try:
        yield
    finally:
        HOLDING.clear()
    if INTERRUPTED.is_set():
        raise KeyboardInterrupt
