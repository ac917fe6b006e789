"""Several processes on one embedded lake: concurrent uploads all land, a killed one leaves none."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

from tests.conftest import VIBES, lake_state, run_vibes


def batch(path, variants: tuple[str, str], n: int, seed: int) -> None:
    result = run_vibes(
        "generate", "ab-test", "-n", n, "--seed", seed, "--variants", ",".join(variants), "-o", path
    )
    assert result.code == 0, result.err


def variant_counts(name: str) -> dict[str, int]:
    rows = run_vibes("db", "inspect", "--table-name", name, "--limit", "0").json()
    assert rows["rows"] >= 0
    query = (
        "from vibes_core import catalog\n"
        "import json\n"
        "with catalog.open_lake() as lake:\n"
        f"    stats = catalog.sufficient_stats(lake, catalog.get(lake, {name!r}))\n"
        "print(json.dumps({s['variant']: s['trials'] for s in stats}))\n"
    )
    out = subprocess.run([sys.executable, "-c", query], capture_output=True, check=True)
    return json.loads(out.stdout)


def test_two_processes_uploading_at_once_both_land(home, tmp_path, ab_test):
    for index in (1, 2):
        batch(tmp_path / f"b{index}.ndjson", (f"p{index}_a", f"p{index}_b"), 20_000, index)
    uploads = [
        subprocess.Popen(
            [VIBES, "events", "upload", ab_test, "-f", tmp_path / f"b{i}.ndjson"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in (1, 2)
    ]
    for upload in uploads:
        _, err = upload.communicate(timeout=300)
        assert upload.returncode == 0, err.decode()
    counts = variant_counts(ab_test)
    assert sum(v for k, v in counts.items() if k.startswith("p1_")) == 20_000
    assert sum(v for k, v in counts.items() if k.startswith("p2_")) == 20_000
    assert sum(counts.values()) == 200 + 40_000


def test_many_small_uploads_from_two_processes_are_exact(home, tmp_path, ab_test):
    """Two writers racing for the SQLite catalog 15 times each: every batch once, none lost."""
    script = textwrap.dedent("""
        import json, sys
        from vibes_core import catalog
        name, tag, folder = sys.argv[1:]
        with catalog.open_lake() as lake:
            for i in range(15):
                path = f"{folder}/{tag}_{i}.ndjson"
                event = json.dumps({"variant": f"{tag}_{i}", "outcome": True})
                open(path, "w").write((event + "\\n") * (i + 1))
                catalog.upload(lake, name, path)
    """)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", script, ab_test, tag, tmp_path],
            env=os.environ,
            stderr=subprocess.PIPE,
        )
        for tag in ("x", "y")
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err.decode()
    counts = variant_counts(ab_test)
    for tag in ("x", "y"):
        assert {k: v for k, v in counts.items() if k.startswith(tag)} == {
            f"{tag}_{i}": i + 1 for i in range(15)
        }


def parquet_files(home) -> set:
    return set((home / "data").rglob("*.parquet"))


def test_a_killed_upload_leaves_no_partial_batch(home, tmp_path, ab_test):
    """Kill -9 an upload at the worst moment: its Parquet file is written, its commit is not."""
    big = tmp_path / "big.ndjson"
    batch(big, ("A", "B"), 300_000, 5)
    killed_while_writing = 0
    for _ in range(5):
        before = lake_state(home)[1][ab_test]
        files_before = parquet_files(home)
        upload = subprocess.Popen(
            [VIBES, "events", "upload", ab_test, "-f", big],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while upload.poll() is None and time.monotonic() < deadline:
            if parquet_files(home) - files_before:
                upload.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
        upload.wait(timeout=60)
        killed_while_writing += upload.returncode == -signal.SIGKILL
        after = lake_state(home)[1][ab_test]
        assert after in (before, before + 300_000), (before, after)
    assert killed_while_writing >= 1, "every upload finished before it could be killed"
    # The lake is still healthy afterwards, and counts stay exact.
    before = lake_state(home)[1][ab_test]
    assert run_vibes("events", "upload", ab_test, "-f", big).code == 0
    assert lake_state(home)[1][ab_test] == before + 300_000


def test_first_use_from_four_processes_at_once(home):
    """Nobody ran `db init`: four processes create the embedded lake together and all succeed."""
    listers = [
        subprocess.Popen(
            [VIBES, "experiments", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(4)
    ]
    for lister in listers:
        out, err = lister.communicate(timeout=120)
        assert lister.returncode == 0, err.decode()
        assert json.loads(out) == []
    assert lake_state(home)[1] == {"vibes.experiments": 0}


def test_threads_of_one_process_compile_the_statistics_at_once(ab_test, home):
    """The dashboard's workers read statistics in parallel on a cold cache of compiled SQL."""
    from concurrent.futures import ThreadPoolExecutor

    from vibes_core import catalog

    for memo in (home / "cache").glob("stats-*.sql"):
        memo.unlink()
    with catalog.open_lake() as lake:

        def stats(_):
            with lake.for_thread() as own:
                return catalog.sufficient_stats(own, catalog.get(own, ab_test))

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(stats, range(8)))
    assert all(result == results[0] for result in results)
    assert sum(row["trials"] for row in results[0]) == 200
    assert len(list((home / "cache").glob("stats-*"))) == 1  # no temporary file left behind
