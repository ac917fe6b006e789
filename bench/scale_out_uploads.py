"""Uploads per second through the scale-out set-up: the DuckLake catalog in PostgreSQL
(127.0.0.1:5432, trust auth, user postgres) and the Parquet files on an S3 endpoint.

The S3 endpoint is moto's server on loopback unless AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY point at another (e.g. the MinIO of docker-compose.yml, with
BENCH_BUCKET naming an existing bucket). Each upload is one batch of 100 ab-test events
through the library (one process keeps its lake open, as a pipeline would); 1 process
uploading 60 batches, then 4 processes uploading 30 each to the same experiment.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

import boto3
import psycopg2

BATCH = 100
UPLOADER = """
import sys
from vibes_core import catalog
batches, path = int(sys.argv[1]), sys.argv[2]
with catalog.open_lake() as lake:
    for _ in range(batches):
        catalog.upload(lake, "bench", path)
"""


def database() -> str:
    name = f"vibes_bench_{uuid.uuid4().hex[:8]}"
    con = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    con.autocommit = True
    con.cursor().execute(f"CREATE DATABASE {name}")
    con.close()
    return name


def drop(name: str) -> None:
    con = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    con.autocommit = True
    con.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    con.close()


def s3_endpoint():
    """(endpoint, bucket, server to stop or None)"""
    if os.environ.get("AWS_ENDPOINT_URL"):
        return os.environ["AWS_ENDPOINT_URL"], os.environ["BENCH_BUCKET"], None
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint, bucket = f"http://{host}:{port}", "vibes-bench"
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1"
    )
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    return endpoint, bucket, server


def rate(processes: int, batches: int, path: str, env: dict) -> float:
    start = time.perf_counter()
    workers = [
        subprocess.Popen([sys.executable, "-c", UPLOADER, str(batches), path], env=env)
        for _ in range(processes)
    ]
    for worker in workers:
        if worker.wait() != 0:
            raise SystemExit("an uploader failed")
    return processes * batches / (time.perf_counter() - start)


def main() -> None:
    endpoint, bucket, server = s3_endpoint()
    name = database()
    try:
        with tempfile.TemporaryDirectory(prefix="vibes-bench-") as home:
            env = {
                **os.environ,
                "VIBES_HOME": home,
                "AWS_ENDPOINT_URL": endpoint,
                "VIBES_CATALOG_URL": f"postgres:dbname={name} host=127.0.0.1 user=postgres",
                "VIBES_DATA_PATH": f"s3://{bucket}/bench-{name}/",
            }
            vibes = str(os.path.join(os.path.dirname(sys.executable), "vibes"))
            batch = os.path.join(home, "batch.json")
            subprocess.run(
                [vibes, "generate", "ab-test", "-n", str(BATCH), "-o", batch], env=env, check=True
            )
            subprocess.run([vibes, "db", "init"], env=env, check=True, stdout=subprocess.DEVNULL)
            subprocess.run(
                [
                    vibes,
                    "experiments",
                    "create",
                    "bench",
                    "--type",
                    "ab-test",
                    "--initial-data-file",
                    batch,
                ],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            one = rate(1, 60, batch, env)
            four = rate(4, 30, batch, env)
            listed = subprocess.run(
                [vibes, "experiments", "list"], env=env, check=True, capture_output=True
            ).stdout
            events = json.loads(listed)[0]["events"]
            assert events == BATCH * (1 + 60 + 120), events
    finally:
        drop(name)
        if server:
            server.stop()
    where = "moto on loopback" if server else endpoint
    print(f"PostgreSQL catalog + S3 ({where}), batches of {BATCH} events:")
    print(f"  1 process:   {one:.1f} uploads/s")
    print(f"  4 processes: {four:.1f} uploads/s in all")


if __name__ == "__main__":
    main()
