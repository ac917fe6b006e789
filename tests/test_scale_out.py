"""The lake and the cache on real services: PostgreSQL (127.0.0.1:5432 on the project's machines)
for the DuckLake catalog and MLflow's store, and an S3 endpoint (moto's server, on loopback)
for the Parquet files and MLflow's artifacts. Each test has its own databases and buckets."""

import json
import os
import subprocess
import sys
import uuid

import pytest

from tests.conftest import run_vibes
from tests.test_imports import PROBE

psycopg2 = pytest.importorskip("psycopg2", reason="psycopg2 is not installed")
boto3 = pytest.importorskip("boto3", reason="boto3 is not installed")
moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")

pytestmark = pytest.mark.services

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
KEYS = {
    "AWS_ACCESS_KEY_ID": "vibes-test",
    "AWS_SECRET_ACCESS_KEY": "vibes-test-secret",
    "AWS_REGION": "us-east-1",
}


def admin():
    try:
        con = psycopg2.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", connect_timeout=3
        )
    except psycopg2.OperationalError as error:
        pytest.skip(f"no PostgreSQL at {PG_HOST}:{PG_PORT} for the scale-out tests: {error}")
    con.autocommit = True
    return con


def query(dbname: str, sql: str) -> list[tuple]:
    con = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname)
    try:
        with con.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        con.close()


@pytest.fixture
def databases():
    """Two fresh databases, for the catalog and for MLflow; dropped afterwards."""
    con = admin()
    names = {role: f"vibes_test_{role}_{uuid.uuid4().hex[:8]}" for role in ("lake", "mlflow")}
    with con.cursor() as cursor:
        for name in names.values():
            cursor.execute(f"CREATE DATABASE {name}")
    yield names
    with con.cursor() as cursor:
        for name in names.values():
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    con.close()


@pytest.fixture
def s3():
    """An S3 endpoint on loopback, with its own buckets; the client to look inside."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=KEYS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=KEYS["AWS_SECRET_ACCESS_KEY"],
        region_name=KEYS["AWS_REGION"],
    )
    buckets = {role: f"vibes-{role}-{uuid.uuid4().hex[:8]}" for role in ("lake", "mlflow")}
    for bucket in buckets.values():
        client.create_bucket(Bucket=bucket)
    yield {"endpoint": endpoint, "client": client, "buckets": buckets}
    server.stop()


@pytest.fixture
def services(home, monkeypatch, databases, s3) -> dict:
    """`vibes` pointed at the services through the environment, as a team would."""
    env = {
        "VIBES_CATALOG_URL": f"postgres:dbname={databases['lake']} host={PG_HOST} "
        f"port={PG_PORT} user={PG_USER}",
        "VIBES_DATA_PATH": f"s3://{s3['buckets']['lake']}/data/",
        **KEYS,
        "AWS_ENDPOINT_URL": s3["endpoint"],
        "MLFLOW_TRACKING_URI": f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/"
        f"{databases['mlflow']}",
        "MLFLOW_S3_BUCKET_NAME": s3["buckets"]["mlflow"],
        "MLFLOW_S3_ENDPOINT_URL": s3["endpoint"],
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return {**s3, "databases": databases, "env": env}


def objects(services, role: str) -> list[str]:
    listed = services["client"].list_objects_v2(Bucket=services["buckets"][role])
    return [item["Key"] for item in listed.get("Contents", [])]


def catalog_tables(dbname: str) -> list[str]:
    rows = query(
        dbname,
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_name LIKE 'ducklake%' ORDER BY 1",
    )
    return [row[0] for row in rows]


@pytest.mark.mcmc
def test_lifecycle_on_postgres_and_s3(services, tmp_path):
    lake_db, mlflow_db = services["databases"]["lake"], services["databases"]["mlflow"]
    first = run_vibes("db", "init")
    assert first.code == 0, first.err
    assert json.loads(first.out)["created"] is True
    assert "ducklake_snapshot" in catalog_tables(lake_db)  # the catalog is in PostgreSQL
    again = run_vibes("db", "init")
    assert again.code == 0 and json.loads(again.out)["created"] is False

    events = tmp_path / "events.json"
    assert run_vibes("generate", "ab-test", "-n", 600, "--seed", 3, "-o", events).code == 0
    created = run_vibes(
        "experiments", "create", "ab", "--type", "ab-test", "--initial-data-file", events
    )
    assert created.code == 0, created.err
    more = run_vibes("generate", "ab-test", "-n", 150, "--seed", 4, "--format", "ndjson").out
    assert run_vibes("events", "upload", "ab", stdin=more.encode()).code == 0
    parquet = [key for key in objects(services, "lake") if key.endswith(".parquet")]
    assert len(parquet) >= 2 and all(key.startswith("data/") for key in parquet)
    listed = json.loads(run_vibes("experiments", "list").out)
    assert [(e["name"], e["events"]) for e in listed] == [("ab", 750)]

    miss = run_vibes("posterior", "ab", "--json", "--draws", 300, "--tune", 300, "--chains", 2)
    assert miss.code == 0, miss.err
    hit = run_vibes("posterior", "ab", "--json", "--draws", 300, "--tune", 300, "--chains", 2)
    assert (json.loads(miss.out)["cached"], json.loads(hit.out)["cached"]) == (False, True)
    runs = query(
        mlflow_db, "SELECT status, artifact_uri FROM runs WHERE lifecycle_stage = 'active'"
    )
    assert len(runs) == 1 and runs[0][0] == "FINISHED"  # MLflow's runs are in PostgreSQL
    assert runs[0][1].startswith(f"s3://{services['buckets']['mlflow']}/")
    # Another machine (another home: no copy of the summary) finds the fit in PostgreSQL and
    # S3 without starting MLflow, or importing boto3 (the lake's DuckDB reads S3).
    other = {"VIBES_HOME": str(tmp_path / "other-machine")}
    heavy = ("mlflow", "boto3")
    probe = [sys.executable, "-c", PROBE.format(heavy=heavy), "posterior", "ab", "--json"]
    probe += ["--draws", "300", "--tune", "300", "--chains", "2"]
    there = subprocess.run(probe, capture_output=True, text=True, env={**os.environ, **other})
    assert there.returncode == 0, there.stderr
    assert json.loads(there.stdout)["cached"] is True
    assert json.loads(there.stdout)["groups"] == json.loads(hit.out)["groups"]
    assert json.loads(there.stderr.rsplit("LOADED=", 1)[1]) == []
    assert list((tmp_path / "other-machine" / "fits" / "ab").glob("*.json"))  # copied there
    artifacts = objects(services, "mlflow")  # and their artifacts in the bucket
    assert any(key.endswith("posterior.nc") for key in artifacts)
    assert any(key.endswith("summary.json") for key in artifacts)

    cleared = run_vibes("cache", "clear", "ab")
    assert cleared.code == 0 and json.loads(cleared.out)["deleted"] == 1
    assert objects(services, "mlflow") == []
    assert query(mlflow_db, "SELECT count(*) FROM runs WHERE lifecycle_stage = 'active'") == [(0,)]

    deleted = run_vibes("experiments", "delete", "ab")
    assert deleted.code == 0, deleted.err
    assert json.loads(run_vibes("experiments", "list").out) == []


def test_config_check_before_db_init_notes_the_catalog_and_exits_0(services):
    """The README runs `vibes config check` before `vibes db init`: a reachable catalog
    without a lake yet is a note saying what to run, not a failure."""
    checked = run_vibes("config", "check")
    assert checked.code == 0, checked.err
    found = {r["service"]: r for r in json.loads(checked.out)}
    assert found["catalog"]["ok"] and found["catalog"]["note"]
    assert "run `vibes db init`" in found["catalog"]["detail"]
    assert "NOTE" in checked.err and "FAIL" not in checked.err
    assert catalog_tables(services["databases"]["lake"]) == []  # it changed nothing


def test_config_show_masks_secrets_and_check_says_ok(services):
    shown = run_vibes("config", "show")
    assert shown.code == 0
    settings = json.loads(shown.out)["settings"]
    assert settings["AWS_SECRET_ACCESS_KEY"] == {"value": "****", "source": "environment"}
    assert KEYS["AWS_SECRET_ACCESS_KEY"] not in shown.out
    assert run_vibes("db", "init").code == 0
    checked = run_vibes("config", "check")
    assert checked.code == 0, checked.err
    services_ok = [(r["service"], r["ok"]) for r in json.loads(checked.out)]
    assert services_ok == [
        ("catalog", True),
        ("data", True),
        ("mlflow", True),
        ("mlflow artifacts", True),
    ]


def test_a_config_file_holds_the_same_keys(services, tmp_path, monkeypatch):
    file = tmp_path / "vibes.toml"
    file.write_text(
        "".join(f"{key} = {json.dumps(value)}\n" for key, value in services["env"].items())
    )
    for key in services["env"]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("VIBES_CONFIG", str(file))
    assert run_vibes("db", "init").code == 0
    assert "ducklake_snapshot" in catalog_tables(services["databases"]["lake"])
    sources = {
        key: s["source"]
        for key, s in json.loads(run_vibes("config", "show").out)["settings"].items()
    }
    assert sources["VIBES_CATALOG_URL"] == "file" and sources["VIBES_HOME"] == "environment"


def one_line_error(result, *words: str) -> None:
    assert result.code == 1, (result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vibes: error: "), result.err
    assert all(word in lines[0] for word in words), lines[0]
    assert "Traceback" not in result.err


def test_bad_configuration_is_one_clear_line_and_creates_nothing(services):
    lake_db = services["databases"]["lake"]
    missing_bucket = run_vibes("db", "init", env={"VIBES_DATA_PATH": "s3://no-such-bucket/data/"})
    one_line_error(missing_bucket, "no-such-bucket", "does not exist")
    assert catalog_tables(lake_db) == []  # no half-created catalog

    closed_port = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    one_line_error(run_vibes("db", "init", env=closed_port), "cannot reach S3")
    assert catalog_tables(lake_db) == []

    unreachable = {
        "VIBES_CATALOG_URL": f"postgres:dbname={lake_db} host=127.0.0.1 port=9 "
        "user=postgres password=hunter2"
    }
    result = run_vibes("experiments", "list", env=unreachable)
    one_line_error(result, "PostgreSQL does not answer")
    assert "hunter2" not in result.err  # the password is masked

    no_database = {"VIBES_CATALOG_URL": f"postgresql://postgres@127.0.0.1/{lake_db}_missing"}
    one_line_error(run_vibes("db", "init", env=no_database), "no database named")
    no_user = {"VIBES_CATALOG_URL": f"postgres:dbname={lake_db} host=127.0.0.1 user=nobody"}
    one_line_error(run_vibes("db", "init", env=no_user), "no such user")

    one_line_error(run_vibes("experiments", "list"), "run `vibes db init`")  # not yet created
    assert run_vibes("db", "init").code == 0
    elsewhere = {"VIBES_DATA_PATH": f"s3://{services['buckets']['lake']}/elsewhere/"}
    one_line_error(
        run_vibes("experiments", "list", env=elsewhere), "is not where this catalog keeps its files"
    )


def test_config_check_names_each_failing_service(services):
    checked = run_vibes(
        "config",
        "check",
        env={
            "VIBES_DATA_PATH": "s3://no-such-bucket/data/",
            "MLFLOW_S3_BUCKET_NAME": "no-such-mlflow-bucket",
        },
    )
    assert checked.code == 1
    results = {r["service"]: r for r in json.loads(checked.out)}
    catalog = results["catalog"]  # reachable, not initialized yet: a note, not a failure
    assert catalog["ok"] and catalog["note"] and "vibes db init" in catalog["detail"]
    assert not results["data"]["ok"] and "does not exist" in results["data"]["detail"]
    assert results["mlflow"]["ok"]
    assert not results["mlflow artifacts"]["ok"]
    assert "no-such-mlflow-bucket" in results["mlflow artifacts"]["detail"]
    assert "FAIL" in checked.err and "Traceback" not in checked.err


UPLOADER = """
import json, sys, tempfile
from datetime import datetime, timedelta
from vibes_core import catalog
worker, batches = int(sys.argv[1]), int(sys.argv[2])
start = datetime(2000, 1, 1)
with catalog.open_lake() as lake, tempfile.TemporaryDirectory() as folder:
    for batch in range(batches):
        # Every event has its own second: a duplicated or lost row shows in the counts.
        events = [{"timestamp": (start + timedelta(seconds=worker * 10**6 + batch * 100 + i))
                   .isoformat(), "variant": "AB"[i % 2], "outcome": i % 3 == 0}
                  for i in range(20)]
        path = f"{folder}/batch-{batch}.json"
        with open(path, "w") as out:
            json.dump(events, out)
        catalog.upload(lake, "shared", path)
"""


def test_four_processes_upload_to_one_experiment_without_loss_or_duplicates(services, tmp_path):
    from vibes_core import catalog

    assert run_vibes("db", "init").code == 0
    first = tmp_path / "first.json"  # generated: days before now, long after the batches
    assert run_vibes("generate", "ab-test", "-n", 10, "-o", first).code == 0
    assert (
        run_vibes(
            "experiments", "create", "shared", "--type", "ab-test", "--initial-data-file", first
        ).code
        == 0
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", UPLOADER, str(w), "25"], env=os.environ, stderr=subprocess.PIPE
        )
        for w in range(4)
    ]
    for worker in workers:
        assert worker.wait(timeout=600) == 0, worker.stderr.read().decode()[-2000:]
    with catalog.open_lake() as lake:
        table = catalog.table_sql("shared")
        counts = lake.con.execute(
            f"SELECT count(*), count(DISTINCT timestamp) FROM {table} "
            "WHERE timestamp < '2001-01-01'"
        ).fetchone()
        snapshots = len(catalog.history(lake, catalog.get(lake, "shared")))
    assert counts == (2000, 2000)
    assert snapshots == 1 + 100  # the first events, then one snapshot per batch


@pytest.mark.mcmc
def test_a_fit_while_another_process_uploads_sees_one_snapshot(services, tmp_path):
    from vibes_core import catalog

    assert run_vibes("db", "init").code == 0
    first = tmp_path / "first.json"
    assert run_vibes("generate", "ab-test", "-n", 400, "-o", first).code == 0
    assert (
        run_vibes(
            "experiments", "create", "shared", "--type", "ab-test", "--initial-data-file", first
        ).code
        == 0
    )
    uploader = subprocess.Popen(
        [sys.executable, "-c", UPLOADER, "1", "15"], env=os.environ, stderr=subprocess.PIPE
    )
    fit = run_vibes(
        "posterior", "shared", "--json", "--no-cache", "--draws", 200, "--tune", 200, "--chains", 1
    )
    assert uploader.wait(timeout=600) == 0, uploader.stderr.read().decode()[-2000:]
    assert fit.code == 0, fit.err
    answer = json.loads(fit.out)
    with catalog.open_lake() as lake:
        at_snapshot = lake.con.execute(
            f"SELECT count(*) FROM {catalog.table_sql('shared')} "
            f"AT (VERSION => {answer['snapshot']})"
        ).fetchone()[0]
        now = catalog.count_events(lake.con, "shared")
    assert sum(group["trials"] for group in answer["groups"]) == at_snapshot
    assert now == 400 + 15 * 20


@pytest.mark.mcmc
def test_experiments_on_units_on_postgres_and_s3(services, tmp_path):
    """Event tables, metric definitions and a scorecard (exact, and MCMC cached) on the shared
    set-up: the definitions and roles in the PostgreSQL catalog, the events on S3."""
    lake_db = services["databases"]["lake"]
    assert run_vibes("db", "init").code == 0
    made = run_vibes(
        "generate",
        "assignments",
        "--units",
        3000,
        "--output-dir",
        tmp_path / "units",
        "--seed",
        5,
        "--lift",
        0.3,
        "--error-lift",
        0.5,
    )
    assert made.code == 0, made.err
    files = json.loads(made.out)
    for table in ("orders", "errors"):
        uploaded = run_vibes("tables", "upload", table, files[table])
        assert uploaded.code == 0, uploaded.err
    created = run_vibes(
        "experiments",
        "create",
        "shop",
        "--type",
        "assignments",
        "--initial-data-file",
        files["assignments"],
    )
    assert created.code == 0, created.err
    paid = ["--where", "status = 'paid'", "--window", "7d"]
    for args in (
        ["purchased", "--table", "orders", "--kind", "proportion", *paid],
        ["errors", "--table", "errors", "--kind", "count", "--window", "7d", "--lower-is-better"],
    ):
        assert run_vibes("metrics", "create", *args).code == 0
    roles = ["--goal", "purchased", "--guardrail", "errors:5%"]
    assert run_vibes("experiments", "metrics", "shop", *roles).code == 0
    stored = query(lake_db, "SELECT table_name FROM ducklake_table ORDER BY 1")
    assert {("orders",), ("errors",), ("metrics",)} <= set(stored)  # the catalog in PostgreSQL
    on_s3 = objects(services, "lake")  # the events' Parquet files on S3
    assert {key.split("/")[2] for key in on_s3 if key.startswith("data/events/")} == {
        "orders",
        "errors",
    }

    exact = run_vibes("posterior", "shop", "--exact", "--json")
    assert exact.code == 0, exact.err
    card = json.loads(exact.out)
    assert [m["name"] for m in card["metrics"]] == ["purchased", "errors"]
    assert card["verdict"]["action"] in ("choose", "reject", "keep-running")
    small = ["posterior", "shop", "--json", "--draws", 300, "--tune", 300, "--chains", 2]
    miss, hit = run_vibes(*small), run_vibes(*small)
    assert miss.code == 0, miss.err
    assert (json.loads(miss.out)["cached"], json.loads(hit.out)["cached"]) == (False, True)
    assert json.loads(hit.out)["metrics"] == json.loads(miss.out)["metrics"]
