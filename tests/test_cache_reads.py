"""Cache reads without MLflow: this machine's copies of summaries and MLflow's own tables,
checked against what MLflow itself holds; another machine's fit is a hit here, a clear
clears both, and a copy never outlives COPY_DAYS."""

import json
import os
import subprocess
import sys
import time

import pytest

from tests.conftest import VIBES
from tests.test_cache import create, fit
from tests.test_imports import PROBE
from vibes_core import store
from vibes_core.cache import Cache
from vibes_core.config import load_config

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.mcmc]

SMALL = ("--draws", "100", "--tune", "100", "--chains", "2")


def copies(home, experiment: str) -> list:
    return sorted((home / store.COPIES / experiment).glob("*.json"))


def loaded(env: dict, *args: str, heavy=("mlflow", "pymc", "pytensor")) -> tuple[dict, list]:
    """`vibes ARGS` (JSON on stdout) in a new process, and which of ``heavy`` it imported."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=heavy), *args],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), json.loads(done.stderr.rsplit("LOADED=", 1)[1])


def test_a_hit_and_the_cache_list_import_no_mlflow(cli, home, tmp_path):
    create(cli, tmp_path, "e")
    first = fit(cli, "e", *SMALL)
    assert first["cached"] is False and len(copies(home, "e")) == 1  # stored, and copied
    env = dict(os.environ)
    hit, heavy = loaded(env, "posterior", "e", "--json", *SMALL)
    assert hit["cached"] is True and hit["groups"] == first["groups"] and heavy == []
    listed, heavy = loaded(env, "cache", "list", "e")
    assert heavy == [] and [entry["experiment"] for entry in listed] == ["e"]

    for path in copies(home, "e"):  # without the copy: MLflow's tables, still no MLflow
        path.unlink()
    hit, heavy = loaded(env, "posterior", "e", "--json", *SMALL)
    assert hit["cached"] is True and hit["groups"] == first["groups"] and heavy == []
    assert len(copies(home, "e")) == 1  # copied again


def test_the_tables_say_what_mlflow_says(cli, home, tmp_path):
    """The direct reads against MLflow's own client, on the same store."""
    create(cli, tmp_path, "e")
    create(cli, tmp_path, "f", seed=2)
    fit(cli, "e", *SMALL)
    fit(cli, "f", *SMALL)
    fit(cli, "f", *SMALL, "--seed", "2")
    cache = Cache(load_config())
    for experiment in ("e", "f", None):
        assert store.finished_runs(cache.config, experiment) == cache._mlflow_entries(experiment)
    for entry in cache._mlflow_entries(None):
        expected = cache._lookup(entry["key"])
        assert store.find_run(cache.config, entry["key"]) == (
            expected.run_id,
            expected.artifact_uri,
        )
        assert cache._stored(expected.artifact_uri)["summary"] == expected.summary
    assert store.find_run(cache.config, "no-such-key") is None


def test_another_machines_fit_is_a_hit_here_and_a_clear_clears_both(cli, home, tmp_path):
    """Two homes (two machines) sharing one MLflow store: B finds A's fit; A's clear empties
    the store and A's copies; B's copy of that fit stays a right answer until B clears."""
    create(cli, tmp_path, "e")
    # The shared store's artifacts go where MLflow puts them by default: below the cwd.
    shared = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'shared-mlflow.db'}"}
    first = fit(cli, "e", *SMALL)
    for path in copies(home, "e"):  # A starts from the shared store only
        path.unlink()
    a = {**os.environ, **shared}
    b = {**a, "VIBES_HOME": str(tmp_path / "machine-b")}
    stored = subprocess.run(
        [VIBES, "posterior", "e", "--json", *SMALL],
        env=a,
        capture_output=True,
        check=True,
        cwd=tmp_path,
    )
    assert json.loads(stored.stdout)["cached"] is False
    # B: its own home holds nothing; the lake is A's (its catalog and data path are given).
    b |= {
        "VIBES_CATALOG_URL": f"sqlite:{home / 'catalog.sqlite'}",
        "VIBES_DATA_PATH": str(home / "data"),
    }
    hit, heavy = loaded(b, "posterior", "e", "--json", *SMALL)
    assert hit["cached"] is True and hit["groups"] == first["groups"] and heavy == []
    assert hit["diagnostics"] == json.loads(stored.stdout)["diagnostics"]  # A's very fit
    machine_b = tmp_path / "machine-b"
    assert len(copies(machine_b, "e")) == 1

    cleared = subprocess.run(
        [VIBES, "cache", "clear", "e"], env=a, capture_output=True, cwd=tmp_path
    )
    assert cleared.returncode == 0 and json.loads(cleared.stdout)["deleted"] == 1
    assert copies(home, "e") == []
    listed = subprocess.run([VIBES, "cache", "list", "e"], env=b, capture_output=True).stdout
    assert json.loads(listed) == []  # the shared store is empty for B too
    again = subprocess.run(
        [VIBES, "posterior", "e", "--json", *SMALL], env=b, capture_output=True, check=True
    )
    assert json.loads(again.stdout)["cached"] is True  # B's copy: the same fit, still right
    assert json.loads(again.stdout)["groups"] == first["groups"]
    subprocess.run([VIBES, "cache", "clear", "e"], env=b, capture_output=True, check=True)
    assert copies(machine_b, "e") == []


def test_a_copy_older_than_copy_days_or_damaged_is_not_read(cli, home, tmp_path):
    create(cli, tmp_path, "e")
    fit(cli, "e", *SMALL)
    [copy] = copies(home, "e")
    config = load_config()
    key = copy.stem
    assert store.read_copy(config, "e", key) is not None
    old = time.time() - (store.COPY_DAYS + 1) * 86400
    os.utime(copy, (old, old))
    assert store.read_copy(config, "e", key) is None and not copy.exists()
    assert fit(cli, "e", *SMALL)["cached"] is True  # from the store, copied anew
    [copy] = copies(home, "e")
    copy.write_text("{half")
    assert store.read_copy(config, "e", key) is None and not copy.exists()
    assert fit(cli, "e", *SMALL)["cached"] is True


def test_a_miss_is_stored_by_a_child_that_started_mlflow_while_this_process_sampled(
    cli, home, tmp_path
):
    """The fitting process never imports MLflow; the fit is stored all the same, before the
    command returns: a FINISHED run in MLflow (read back with MLflow's own client) and a copy."""
    create(cli, tmp_path, "e")
    answer, heavy = loaded(dict(os.environ), "posterior", "e", "--json", *SMALL, heavy=("mlflow",))
    assert answer["cached"] is False and heavy == []
    [entry] = Cache(load_config())._mlflow_entries("e")
    hit = Cache(load_config())._lookup(entry["key"])
    assert hit.summary["groups"] == answer["groups"]
    assert len(copies(home, "e")) == 1
    assert fit(cli, "e", *SMALL)["cached"] is True


@pytest.mark.parametrize("same_store", [True, False], ids=["same store", "another store"])
def test_the_child_stores_only_in_the_store_of_the_fitting_process(
    home, tmp_path, monkeypatch, same_store
):
    """The child reads the configuration anew; when it names another store than the fitting
    process's (a config built in Python), it stores nothing and the fitting process does."""
    config = load_config()
    if not same_store:
        elsewhere = f"sqlite:///{tmp_path / 'elsewhere-mlflow.db'}"
        config = type(config)(**{**config.__dict__, "mlflow_tracking_uri": elsewhere})
    cache = Cache(config)
    with monkeypatch.context() as fresh:  # as in a new command: MLflow not loaded
        fresh.delitem(sys.modules, "mlflow", raising=False)
        cache.start_storing()
    assert cache._storer is not None
    posterior = tmp_path / "posterior.nc"
    posterior.write_bytes(b"draws")
    tags = {"experiment": "e", "snapshot": 1, "type": "ab-test"}
    run_id = cache.store("k", tags, {"draws": 100}, {"fit_seconds": 1.0}, {"x": 1}, {}, posterior)
    [entry] = Cache(config)._mlflow_entries("e")  # MLflow's own client, on the right store
    assert entry["run_id"] == run_id and entry["key"] == "k"
    stored_home = store.finished_runs(load_config(), "e")
    assert [e["run_id"] for e in stored_home] == ([run_id] if same_store else [])
