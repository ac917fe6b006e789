"""Helpers for the benchmark scripts: run the installed `vibes` and time whole processes."""

import contextlib
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

VIBES = str(Path(sys.executable).with_name("vibes"))


def vibes(*args, env=None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [VIBES, *map(str, args)],
        env={**os.environ, **(env or {})},
        check=True,
        capture_output=True,
        **kwargs,
    )


def wall(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def peak_and_wall(command: list[str], env: dict, stdout=None, stderr=None) -> tuple:
    """Run ``command``: its wall seconds, its peak resident memory in MB, and its exit code.

    The peak is the child's own high-water mark (VmHWM in /proc/PID/status, read every 10 ms
    until it exits): os.wait4's ru_maxrss would also count the memory of the parent it was
    forked from, which a bench holding ten million rows makes the larger. Linux only (0
    elsewhere)."""
    peak, done = [0], threading.Event()
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr)

    def watch() -> None:
        status = f"/proc/{process.pid}/status"
        while not done.is_set():
            with contextlib.suppress(OSError, ValueError, IndexError), open(status) as lines:
                for line in lines:
                    if line.startswith("VmHWM:"):
                        peak[0] = max(peak[0], int(line.split()[1]))
                        break
            done.wait(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    code = process.wait()
    seconds = time.perf_counter() - start
    done.set()
    watcher.join()
    return seconds, peak[0] / 1024, code


def summary(times: list[float]) -> str:
    return f"median {statistics.median(times):.3f} s (min {min(times):.3f}, max {max(times):.3f})"


@contextlib.contextmanager
def scale_out(home: str):
    """The variables of a scale-out set-up whose home is ``home``: the lake's catalog and
    MLflow's store in two new PostgreSQL databases on 127.0.0.1, data and artifacts in S3 (moto
    on loopback). Yields None, saying why, when PostgreSQL or moto is missing."""
    try:
        import boto3
        import psycopg2
        from scale_out_uploads import database, drop, s3_endpoint
    except ImportError as error:
        print(f"scale-out: skipped ({error})")
        yield None
        return
    try:
        psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres").close()
    except psycopg2.OperationalError as error:
        print(f"scale-out: skipped (no PostgreSQL on 127.0.0.1: {error})")
        yield None
        return
    endpoint, bucket, server = s3_endpoint()
    mlflow_bucket = f"vibes-bench-mlflow-{uuid.uuid4().hex[:6]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=mlflow_bucket)
    lake, store = database(), database()
    try:
        yield {
            "VIBES_HOME": home,
            "AWS_ENDPOINT_URL": endpoint,
            "VIBES_CATALOG_URL": f"postgres:dbname={lake} host=127.0.0.1 user=postgres",
            "VIBES_DATA_PATH": f"s3://{bucket}/bench-{lake}/",
            "MLFLOW_TRACKING_URI": f"postgresql+psycopg2://postgres@127.0.0.1:5432/{store}",
            "MLFLOW_S3_BUCKET_NAME": mlflow_bucket,
            "MLFLOW_S3_ENDPOINT_URL": endpoint,
        }
    finally:
        drop(lake)
        drop(store)
        if server:
            server.stop()
