"""Faults and races, for real: secrets in every URL form, a relative data path, snapshots of a
name used twice, processes racing each other, a full or read-only disk, Ctrl-C, S3 going away,
a killed first use of the MLflow store, and who may read the embedded home."""

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import VIBES, lake_state, run_vibes
from vibes_core import catalog
from vibes_core.config import load_config, mask
from vibes_core.errors import VibesError
from vibes_core.lake import Lake

SECRET = "hunter2"
# Every form of a catalog, tracking or storage URL that DuckLake, libpq and SQLAlchemy accept,
# each with the secret in it somewhere.
URLS = [
    f"postgres:dbname=x password={SECRET} host=h",
    f"postgres:dbname=x host=h password = {SECRET}",
    f"postgres:dbname=x password='it\\'s {SECRET}' host=h",
    f"postgres:dbname=x password = 'a {SECRET} b' user=u",
    f'postgres:dbname=x password="{SECRET} x" host=h',
    f"postgres:host=h sslpassword={SECRET} dbname=x",
    f"postgres:dbname=x password={SECRET}",
    f"postgres:dbname=x password=a\\ {SECRET} host=h",
    f"postgresql://u:{SECRET}@h:5432/db",
    f"postgresql://:{SECRET}@h/db",
    f"postgres://u:{SECRET}@h/db?sslmode=require",
    f"postgresql://u@h/db?password={SECRET}&sslmode=require",
    f"postgresql://u@h/db?sslmode=require&password={SECRET}",
    f"postgresql://h/db?sslpassword={SECRET}",
    f"postgresql://u:{SECRET}%40x%2Fy@h/db",
    f"postgresql://u:{SECRET}@x/y@h/db",
    f"postgresql+psycopg2://u:{SECRET}@h/mlflow",
    f"mysql://u:{SECRET}@h:3306/db",
    f"mysql+pymysql://u:{SECRET}@h/db",
    f"https://user:{SECRET}@mlflow.example.com",
    f"s3://AKIA123:{SECRET}@bucket/prefix/",
    f"s3://bucket/prefix/?X-Amz-Security-Token={SECRET}&x=1",
    f"cannot open the lake at postgres:dbname=x password={SECRET}: refused",
    f"'postgresql://u:{SECRET}@h/db': connection refused",
]


@pytest.mark.parametrize("url", URLS)
def test_one_masking_function_hides_the_secret_in_every_url_form(url):
    masked = mask(url)
    assert SECRET not in masked and "****" in masked, masked
    assert masked.split("****")[0] in url  # what comes before it is kept


def test_masking_keeps_urls_without_secrets_as_they_are():
    for url in (
        "postgresql://postgres@127.0.0.1:5432/ducklake",
        "sqlite:/home/x/catalog.sqlite",
        "s3://bucket/data/",
        "http://localhost:9000",
        "postgres:dbname=x host=h user=u",
    ):
        assert mask(url) == url


def test_no_command_prints_a_password(cli, monkeypatch):
    monkeypatch.setenv("VIBES_CATALOG_URL", f"postgresql://:{SECRET}@127.0.0.1:9/db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"https://u:{SECRET}@127.0.0.1:9")
    monkeypatch.setenv("VIBES_DATA_PATH", f"s3://bucket/data/?X-Amz-Security-Token={SECRET}")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    for command in (
        ["config", "show"],
        ["config", "check"],
        ["db", "init"],
        ["experiments", "list"],
        ["cache", "list"],
    ):
        result = cli(*command)
        assert SECRET not in result.out + result.err, (command, result.out, result.err)
    shown = cli("config", "show").json()
    assert shown["effective"]["catalog"] == "postgres:postgresql://:****@127.0.0.1:9/db"


@pytest.mark.services
def test_db_init_does_not_print_the_catalog_password(home, databases):
    """A real PostgreSQL catalog whose URL carries a password (trust auth ignores it)."""
    url = f"postgresql://postgres:{SECRET}@127.0.0.1:5432/{databases['lake']}"
    result = run_vibes(
        "db", "init", env={"VIBES_CATALOG_URL": url, "VIBES_DATA_PATH": str(home / "data") + "/"}
    )
    assert result.code == 0, result.err
    assert SECRET not in result.out + result.err
    assert result.json()["catalog"] == mask(f"postgres:{url}")


@pytest.fixture
def databases():
    from tests.test_scale_out import admin

    con = admin()
    name = f"vibes_test_faults_{uuid.uuid4().hex[:8]}"
    with con.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    yield {"lake": name}
    with con.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    con.close()


# --- a relative VIBES_DATA_PATH ----------------------------------------------------------


def events_file(cli, path: Path, n: int, seed: int, kind: str = "ab-test") -> Path:
    assert cli("generate", kind, "-n", n, "--seed", seed, "-o", path).code == 0
    return path


def test_a_relative_data_path_is_resolved_once(cli, tmp_path, monkeypatch):
    first = events_file(cli, tmp_path / "first.json", 200, 1)
    more = events_file(cli, tmp_path / "more.json", 300, 2)
    monkeypatch.setenv("VIBES_DATA_PATH", "lake-files")
    for folder in ("a", "b", "c"):
        (tmp_path / folder).mkdir()
    monkeypatch.chdir(tmp_path / "a")
    assert (
        cli("experiments", "create", "x", "--type", "ab-test", "--initial-data-file", first).code
        == 0
    )
    monkeypatch.chdir(tmp_path / "b")
    uploaded = cli("events", "upload", "x", "-f", more)
    assert uploaded.code == 0, uploaded.err
    monkeypatch.chdir(tmp_path / "c")
    fitted = cli("posterior", "x", "--exact", "--json")
    assert fitted.code == 0, fitted.err
    assert sum(group["trials"] for group in fitted.json()["groups"]) == 500
    assert list(tmp_path.rglob("*.parquet")) == list((tmp_path / "a").rglob("*.parquet"))


def test_a_catalog_that_stored_a_relative_data_path_says_what_to_do(cli, home, monkeypatch):
    """Catalogs made before the fix hold the relative path as given."""
    import duckdb

    from vibes_core.lake import extension_file, sql_literal

    home.mkdir()
    monkeypatch.chdir(home)
    con = duckdb.connect()
    for name in ("ducklake", "sqlite_scanner"):
        con.execute(f"LOAD {sql_literal(extension_file(name))}")
    con.execute(f"ATTACH 'ducklake:sqlite:{home / 'catalog.sqlite'}' AS old (DATA_PATH 'files/')")
    con.close()
    monkeypatch.setenv("VIBES_DATA_PATH", "files/")
    result = cli("experiments", "list")
    assert result.code == 1 and len(result.err.strip().splitlines()) == 1
    assert "stores the relative data path files/" in result.err
    assert "UPDATE ducklake_metadata SET value" in result.err


# --- snapshots follow the experiment, not its name ----------------------------------------


def test_as_of_version_never_reads_an_earlier_experiment_of_the_same_name(cli, tmp_path, home):
    first = events_file(cli, tmp_path / "ab.json", 200, 1)
    created = cli("experiments", "create", "x", "--type", "ab-test", "--initial-data-file", first)
    old_snapshot = created.json()["snapshot"]
    assert cli("experiments", "delete", "x").code == 0
    other = events_file(cli, tmp_path / "bern.json", 50, 2, kind="bernoulli")
    again = cli("experiments", "create", "x", "--type", "bernoulli", "--initial-data-file", other)
    new_snapshot = again.json()["snapshot"]

    before = cli("posterior", "x", "--exact", "--json", "--as-of-version", old_snapshot)
    assert before.code == 1 and before.out == ""
    assert before.err.strip() == (
        f"vibes: error: x did not exist at snapshot {old_snapshot}: it was created at snapshot "
        f"{new_snapshot}; ask for {new_snapshot} or later"
    )
    now = cli("posterior", "x", "--exact", "--json", "--as-of-version", new_snapshot)
    assert now.code == 0 and sum(g["trials"] for g in now.json()["groups"]) == 50
    with catalog.open_lake(load_config({"VIBES_HOME": str(home)})) as lake:
        x = catalog.get(lake, "x")
        for read in (
            lambda: catalog.sufficient_stats(lake, x, old_snapshot),
            lambda: catalog.events_over_time(lake, x, old_snapshot),
            lambda: catalog.latest_events(lake, x, 5, old_snapshot),
        ):
            with pytest.raises(VibesError, match="did not exist at snapshot"):
                read()
        assert catalog.latest_events(lake, x, 100, new_snapshot)["columns"][1] == "outcome"


# --- processes racing each other ------------------------------------------------------------


@contextmanager
def paused_on_stdin(tmp_path: Path, *args: str):
    """`vibes ARGS` reading events from stdin, held once it has looked the experiment up (it
    then spools stdin to a temporary file in its own TMPDIR); the events are sent on exit."""
    spool = tmp_path / f"tmp-{uuid.uuid4().hex[:6]}"
    spool.mkdir()
    env = {**os.environ, "TMPDIR": str(spool)}
    proc = subprocess.Popen(
        [VIBES, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    deadline = time.monotonic() + 60
    while not spooling(proc.pid, spool) and proc.poll() is None:
        assert time.monotonic() < deadline, "the command never started reading stdin"
        time.sleep(0.01)
    held = {"proc": proc}
    yield held
    out, err = proc.communicate(held.get("stdin", b""), timeout=120)
    held.update(code=proc.returncode, out=out.decode(), err=err.decode())


def spooling(pid: int, folder: Path) -> bool:
    """Process ``pid`` has a file open in ``folder`` (its spool: unlinked, so only /proc shows)."""
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        try:
            if os.readlink(fd).startswith(str(folder)):
                return True
        except OSError:
            pass
    return False


def batch(cli, n: int, seed: int, kind: str = "ab-test") -> bytes:
    return cli("generate", kind, "-n", n, "--seed", seed, "--format", "ndjson").out.encode()


def test_a_delete_racing_an_upload_is_one_line_and_adds_nothing(cli, tmp_path, home, ab_test):
    with paused_on_stdin(tmp_path, "events", "upload", ab_test) as upload:
        assert cli("experiments", "delete", ab_test).code == 0
        upload["stdin"] = batch(cli, 100, 3)
    assert upload["code"] == 1 and upload["out"] == ""
    assert (
        upload["err"] == f"vibes: error: {ab_test} was deleted while uploading; nothing was added\n"
    )
    assert lake_state(home)[1] == {"vibes.experiments": 0}


def test_an_upload_racing_a_new_experiment_of_the_same_name_adds_nothing(
    cli, tmp_path, home, ab_test
):
    """The name is deleted and created again while the upload reads its input: the events were
    meant for the old experiment, and must not land in the new one."""
    with paused_on_stdin(tmp_path, "events", "upload", ab_test) as upload:
        assert cli("experiments", "delete", ab_test).code == 0
        again = events_file(cli, tmp_path / "again.json", 40, 4)
        assert (
            cli(
                "experiments", "create", ab_test, "--type", "ab-test", "--initial-data-file", again
            ).code
            == 0
        )
        upload["stdin"] = batch(cli, 100, 3)
    assert upload["code"] == 1
    assert (
        upload["err"] == f"vibes: error: {ab_test} was deleted while uploading; nothing was added\n"
    )
    assert lake_state(home)[1][ab_test] == 40


def test_two_creates_of_one_name_racing_give_one_experiment(cli, tmp_path, home):
    with paused_on_stdin(tmp_path, "experiments", "create", "x", "--type", "ab-test") as create:
        first = events_file(cli, tmp_path / "first.json", 30, 1)
        assert (
            cli(
                "experiments", "create", "x", "--type", "ab-test", "--initial-data-file", first
            ).code
            == 0
        )
        create["stdin"] = batch(cli, 100, 3)
    assert create["code"] == 1 and create["out"] == ""
    assert create["err"].startswith("vibes: error: an experiment named 'x' already exists")
    assert lake_state(home)[1]["x"] == 30


# --- faults of the disk --------------------------------------------------------------------


@contextmanager
def small_disk(path: Path, size: str = "4m"):
    """A real file system of its own (tmpfs), to fill or make read-only; needs root."""
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def fill(disk: Path) -> None:
    """Take every free byte of ``disk``."""
    with (disk / "filler").open("wb") as out:
        try:
            while True:
                out.write(b"\0" * (1 << 16))
                out.flush()
        except OSError:
            pass
    with (disk / "filler-small").open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 512)
        except OSError:
            pass


def test_a_full_disk_under_the_data_is_one_line_at_once(cli, tmp_path, home, monkeypatch):
    more = events_file(cli, tmp_path / "more.json", 20_000, 2)
    with small_disk(tmp_path / "disk") as disk:
        monkeypatch.setenv("VIBES_CATALOG_URL", f"sqlite:{tmp_path / 'team.sqlite'}")
        monkeypatch.setenv("VIBES_DATA_PATH", str(disk / "data"))
        assert cli("db", "init").code == 0
        assert (
            cli("experiments", "create", "y", "--type", "ab-test", "--initial-data-file", more).code
            == 0
        )
        before = lake_snapshot(tmp_path / "team.sqlite", disk / "data")
        fill(disk)
        started = time.monotonic()
        result = cli("events", "upload", "y", "-f", more)
        assert time.monotonic() - started < 30  # not retried as if another process held it
        assert result.code == 1, result.err
        line = result.err.strip()
        assert len(line.splitlines()) == 1 and line.startswith("vibes: error: uploading to y ")
        assert "nothing was changed: the disk is full" in line and "free some space" in line
        assert lake_snapshot(tmp_path / "team.sqlite", disk / "data") == before


def lake_snapshot(catalog_file: Path, data_path: Path) -> tuple:
    """The snapshot and event counts of the configured lake (the environment names it)."""
    config = load_config()
    assert config.sqlite_file == catalog_file and config.data_path.rstrip("/") == str(data_path)
    with Lake(config, create=False) as lake:
        return lake.snapshot_id(), catalog.event_counts(lake)


def test_a_full_disk_under_the_catalog_at_commit_is_not_retried(cli, tmp_path, monkeypatch):
    """The catalog's own disk fills up between staging and commit: SQLite cannot grow its
    WAL. That is no lock of another process: one line, at once."""
    more = events_file(cli, tmp_path / "more.json", 5_000, 2)
    with small_disk(tmp_path / "disk") as disk:
        catalog_file = disk / "catalog.sqlite"
        monkeypatch.setenv("VIBES_CATALOG_URL", f"sqlite:{catalog_file}")
        monkeypatch.setenv("VIBES_DATA_PATH", str(tmp_path / "data"))
        assert cli("db", "init").code == 0
        assert (
            cli("experiments", "create", "y", "--type", "ab-test", "--initial-data-file", more).code
            == 0
        )
        before = lake_snapshot(catalog_file, tmp_path / "data")
        with catalog.open_lake() as lake:
            fill(disk)
            started = time.monotonic()
            with pytest.raises(VibesError) as raised:
                catalog.upload(lake, "y", more)
            assert time.monotonic() - started < 30
        assert str(raised.value).startswith("uploading to y failed, nothing was changed: ")
        assert "the disk is full" in str(raised.value) or "disk failed" in str(raised.value)
        (disk / "filler").unlink()
        (disk / "filler-small").unlink()
        assert lake_snapshot(catalog_file, tmp_path / "data") == before


def test_a_read_only_data_directory_is_one_line(cli, tmp_path, monkeypatch):
    more = events_file(cli, tmp_path / "more.json", 2_000, 2)
    with small_disk(tmp_path / "disk") as disk:
        monkeypatch.setenv("VIBES_CATALOG_URL", f"sqlite:{tmp_path / 'team.sqlite'}")
        monkeypatch.setenv("VIBES_DATA_PATH", str(disk / "data"))
        assert cli("db", "init").code == 0
        assert (
            cli("experiments", "create", "y", "--type", "ab-test", "--initial-data-file", more).code
            == 0
        )
        before = lake_snapshot(tmp_path / "team.sqlite", disk / "data")
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        result = cli("events", "upload", "y", "-f", more)
        assert result.code == 1
        assert result.err.startswith(
            "vibes: error: uploading to y failed, nothing was changed: the file system is read-only"
        )
        assert len(result.err.strip().splitlines()) == 1
        assert lake_snapshot(tmp_path / "team.sqlite", disk / "data") == before


def test_a_full_disk_under_an_output_is_one_line(cli, tmp_path, home):
    with small_disk(tmp_path / "disk", "1m") as disk:
        fill(disk)
        to_file = cli("generate", "ab-test", "-n", 50_000, "-o", disk / "events.json")
        with (disk / "listing.json").open("wb") as full:  # `vibes ... > file` on a full disk
            to_stdout = subprocess.run(
                [VIBES, "generate", "ab-test", "-n", "50000"], stdout=full, stderr=subprocess.PIPE
            )
    assert to_file.code == 1 and "No space left" in to_file.err
    assert len(to_file.err.strip().splitlines()) == 1 and "unexpected" not in to_file.err
    assert to_stdout.returncode == 1
    assert to_stdout.stderr.decode() == (
        "vibes: error: the output: No space left on device; free some space and try again\n"
    )


# --- Ctrl-C ----------------------------------------------------------------------------------


def test_ctrl_c_after_the_commit_says_the_write_is_whole(cli, tmp_path, home, ab_test, monkeypatch):
    """A real SIGINT to this process while the upload's answer is printed: the batch is in
    the lake, and the message says so instead of claiming a rollback."""
    import vibes_tui.cli

    batch = events_file(cli, tmp_path / "batch.json", 300, 3)
    before = lake_state(home)
    printing = vibes_tui.cli.emit

    def emit_then_ctrl_c(data) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        printing(data)

    monkeypatch.setattr(vibes_tui.cli, "emit", emit_then_ctrl_c)
    result = cli("events", "upload", ab_test, "-f", batch)
    assert result.code == 130
    assert result.err.endswith(
        "interrupted after its write had been committed (nothing is missing)\n"
    ), result.err
    assert lake_state(home)[1][ab_test] == before[1][ab_test] + 300


def test_ctrl_c_that_another_thread_takes_during_a_commit_lands_after_the_commit_is_noted():
    """The kernel hands a process's SIGINT to any thread not blocking it (DuckDB runs several,
    pytest's worker one); Python then raises in the main thread at its next line. Held, it must
    land only when the block noting the commit has ended."""
    from vibes_core.config import INTERRUPTED
    from vibes_core.lake import interrupts_held
    from vibes_tui.cli import on_ctrl_c

    idle = threading.Event()
    other = threading.Thread(target=idle.wait)
    other.start()
    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    noted = []
    try:
        with pytest.raises(KeyboardInterrupt), interrupts_held():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)  # the signal has arrived, in whichever thread
            noted.append("committed")
    finally:
        signal.signal(signal.SIGINT, previous)
        INTERRUPTED.clear()
        idle.set()
        other.join()
    assert noted == ["committed"]


def test_ctrl_c_exits_130_in_one_line_and_never_commits_part_of_a_batch(
    cli, tmp_path, home, ab_test
):
    big = events_file(cli, tmp_path / "big.ndjson", 100_000, 5)
    started = time.monotonic()
    assert run_vibes("events", "upload", ab_test, "-f", big).code == 0
    whole = time.monotonic() - started
    interrupted = 0
    for fraction in (0.1, 0.3, 0.5, 0.7, 0.85, 0.95):
        before = lake_state(home)
        upload = subprocess.Popen(
            [VIBES, "events", "upload", ab_test, "-f", big],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        time.sleep(whole * fraction)
        upload.send_signal(signal.SIGINT)
        _, err = upload.communicate(timeout=120)
        after = lake_state(home)
        if after != before:  # it had committed: the whole batch is there, and it said so
            assert after[1][ab_test] == before[1][ab_test] + 100_000
            # Ctrl-C after the end: as Python exits, it dies of SIGINT (the shell's 130); in
            # the CLI, it says the write was whole.
            assert upload.returncode in (0, -signal.SIGINT, 130)
            if upload.returncode == 130:
                assert err.decode().endswith(
                    "after its write had been committed (nothing is missing)\n"
                ), err.decode()
            continue
        interrupted += 1
        assert upload.returncode == 130, err.decode()
        assert err.decode().count("\n") == 1 and err.decode().startswith("vibes: interrupted")
        assert after == before  # not a row, not a snapshot
        time.sleep(0.5)  # nothing commits afterwards either
        assert lake_state(home) == before
    assert interrupted >= 3


# --- S3 going away ---------------------------------------------------------------------------


@pytest.mark.services
def test_an_s3_endpoint_that_is_down_is_one_line(cli, tmp_path, monkeypatch):
    from tests.test_scale_out import KEYS, boto3, moto_server

    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=KEYS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=KEYS["AWS_SECRET_ACCESS_KEY"],
            region_name=KEYS["AWS_REGION"],
        ).create_bucket(Bucket="lake")
        for key, value in {
            **KEYS,
            "AWS_ENDPOINT_URL": endpoint,
            "VIBES_CATALOG_URL": f"sqlite:{tmp_path / 'team.sqlite'}",
            "VIBES_DATA_PATH": "s3://lake/data/",
        }.items():
            monkeypatch.setenv(key, value)
        first = events_file(cli, tmp_path / "first.json", 300, 1)
        assert cli("db", "init").code == 0
        assert (
            cli(
                "experiments", "create", "y", "--type", "ab-test", "--initial-data-file", first
            ).code
            == 0
        )
    finally:
        server.stop()
    more = events_file(cli, tmp_path / "more.json", 2_000, 2)
    for command in (
        ["events", "upload", "y", "-f", more],
        ["posterior", "y", "--exact"],
        ["db", "inspect", "--table-name", "y"],
    ):
        result = cli(*command)
        assert result.code == 1, result.err
        assert len(result.err.strip().splitlines()) == 1 and "unexpected" not in result.err
        assert f"cannot reach S3 at {endpoint}: check AWS_ENDPOINT_URL" in result.err


# --- the MLflow store's first use ------------------------------------------------------------

QUICK_FIT = ("--json", "--draws", "50", "--tune", "50", "--chains", "1")


@pytest.mark.mcmc
def test_a_kill_during_the_stores_first_use_leaves_it_usable(cli, home, ab_test):
    first_fit = subprocess.Popen(
        [VIBES, "posterior", ab_test, *QUICK_FIT],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its group: the child that opens MLflow's store is killed too
    )
    deadline = time.monotonic() + 120
    while not list(home.glob("mlflow.db.creating-*")):
        assert first_fit.poll() is None and time.monotonic() < deadline, "no store was created"
        time.sleep(0.005)
    time.sleep(0.2)  # into MLflow's migrations, which take seconds
    os.killpg(first_fit.pid, signal.SIGKILL)
    first_fit.wait()
    assert not (home / "mlflow.db").exists()  # killed halfway: nothing was put in place

    fitted = cli("posterior", ab_test, *QUICK_FIT)
    assert fitted.code == 0 and "warning: cannot" not in fitted.err, fitted.err
    assert cli("posterior", ab_test, *QUICK_FIT).json()["cached"] is True
    cleared = cli("cache", "clear", ab_test)
    assert cleared.code == 0 and cleared.json()["deleted"] == 1, cleared.err
    assert not list(home.glob("mlflow.db.creating-*"))


@pytest.mark.mcmc
def test_a_store_broken_by_an_older_version_is_moved_aside_and_made_anew(cli, home, ab_test):
    """Before stores were made aside, a kill in MLflow's migrations broke mlflow.db in place;
    such a store (an upgrade cut short: its temporary table left, its version behind) is
    repaired, once, with a warning."""
    broken = home / "mlflow.db"
    migrate = (
        "import sys; from mlflow.tracking import MlflowClient; "
        "MlflowClient(tracking_uri=sys.argv[1]).search_experiments()"
    )
    subprocess.run([sys.executable, "-c", migrate, f"sqlite:///{broken}"], check=True)
    # What a kill -9 inside the migration that widens params.value left: the copy made, the
    # original dropped, the rename never done, the version still the one before.
    with sqlite3.connect(broken) as con:
        con.execute("ALTER TABLE params RENAME TO _alembic_tmp_params")
        con.execute("UPDATE alembic_version SET version_num = '7f2a7d5fae7d'")
    fitted = cli("posterior", ab_test, *QUICK_FIT)
    assert fitted.code == 0, fitted.err
    warnings = [line for line in fitted.err.splitlines() if "was broken" in line]
    assert len(warnings) == 1 and "moved aside to mlflow.db.broken-" in warnings[0]
    assert len(list(home.glob("mlflow.db.broken-*"))) == 1
    assert cli("posterior", ab_test, *QUICK_FIT).json()["cached"] is True
    assert cli("cache", "clear", ab_test).json()["deleted"] == 1


# --- owner-only permissions ------------------------------------------------------------------


@pytest.mark.mcmc
def test_the_embedded_home_is_readable_by_its_owner_only(cli, home, ab_test):
    more = batch(cli, 500, 2)
    assert cli("events", "upload", ab_test, stdin=more).code == 0
    assert cli("posterior", ab_test, *QUICK_FIT).code == 0
    made = {
        path.relative_to(home).as_posix(): stat.S_IMODE(path.stat().st_mode)
        for path in [home, *home.rglob("*")]
    }
    for folder in (".", "data", "cache", "mlartifacts", "fits", f"fits/{ab_test}"):
        assert made[folder] == 0o700, (folder, oct(made[folder]))
    for file in ("catalog.sqlite", "mlflow.db", "mlflow.lock"):
        assert made[file] == 0o600, (file, oct(made[file]))
    assert any(name.endswith(".parquet") for name in made)
    assert any(name.startswith("cache/") for name in made)
    assert any(name.startswith("mlartifacts/") for name in made)
    copies = [name for name in made if name.startswith("fits/") and name.endswith(".json")]
    assert copies and all(made[name] == 0o600 for name in copies)
    # Everything else is inside those folders, which nobody else may enter.
    for name in made:
        assert (
            name == "."
            or "/" not in name
            or name.split("/")[0] in ("data", "cache", "mlartifacts", "fits")
        ), name
