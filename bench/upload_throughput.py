"""Upload throughput: 1,000,000 ab-test events as NDJSON piped into `vibes events upload`.

Goal: under 10 s wall and under 500 MB peak RSS for the uploading process.
"""

import os
import subprocess
import tempfile
import time
from pathlib import Path

from common import VIBES, vibes


def run(home: Path, events: int = 1_000_000) -> None:
    env = {**os.environ, "VIBES_HOME": str(home)}
    data = home / "events.ndjson"
    vibes("generate", "ab-test", "-n", 1000, "-o", home / "initial.json", env=env)
    vibes(
        "experiments",
        "create",
        "big",
        "--type",
        "ab-test",
        "--initial-data-file",
        home / "initial.json",
        env=env,
    )
    vibes(
        "generate", "ab-test", "-n", events, "--seed", 1, "--format", "ndjson", "-o", data, env=env
    )
    start = time.perf_counter()
    cat = subprocess.Popen(["cat", str(data)], stdout=subprocess.PIPE)
    upload = subprocess.Popen(
        [VIBES, "events", "upload", "big"],
        stdin=cat.stdout,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    cat.stdout.close()
    _, status, usage = os.wait4(upload.pid, 0)  # this process's own peak, not its siblings'
    seconds = time.perf_counter() - start
    cat.wait()
    assert os.waitstatus_to_exitcode(status) == 0, "the upload failed"
    peak = usage.ru_maxrss / 1024
    size_mb = data.stat().st_size / 1e6
    print(f"{events:,} events, {size_mb:.0f} MB of NDJSON on stdin")
    print(f"wall {seconds:.2f} s ({events / seconds:,.0f} events/s; goal < 10 s)")
    print(f"peak RSS of the upload {peak:.0f} MB (goal < 500 MB)")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vibes-bench-") as home:
        run(Path(home))


if __name__ == "__main__":
    main()
