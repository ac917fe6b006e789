"""The MLflow cache: hits and misses, clearing, and never a wrong or missing answer."""

import json
import subprocess

import pytest

from tests.conftest import VIBES

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# What these tests check (hits, misses, clearing, damage, the same answer for the same seed)
# holds for a fit of any size: a small one, and the same in every call so that keys match.
QUICK = ("--draws", "200", "--tune", "200", "--chains", "2")


def create(cli, tmp_path, name: str, n: int = 300, seed: int = 1) -> None:
    path = tmp_path / f"{name}.json"
    assert cli("generate", "ab-test", "-n", n, "--seed", seed, "-o", path).code == 0
    assert (
        cli("experiments", "create", name, "--type", "ab-test", "--initial-data-file", path).code
        == 0
    )


def fit(cli, *args: str) -> dict:
    result = cli("posterior", *args, "--json")
    assert result.code == 0, result.err
    return result.json()


@pytest.mark.mcmc
def test_miss_then_hit_and_a_new_upload_misses(cli, tmp_path):
    create(cli, tmp_path, "e")
    first = fit(cli, "e", *QUICK)
    assert first["cached"] is False and first["method"] == "mcmc"
    again = fit(cli, "e", *QUICK)
    assert again["cached"] is True
    assert again["groups"] == first["groups"] and again["diagnostics"] == first["diagnostics"]

    more = cli("generate", "ab-test", "-n", "100", "--seed", "2", "--format", "ndjson").out
    assert cli("events", "upload", "e", stdin=more).code == 0
    after_upload = fit(cli, "e", *QUICK)
    assert after_upload["cached"] is False
    assert after_upload["snapshot"] > first["snapshot"]
    assert sum(g["trials"] for g in after_upload["groups"]) == 400

    # Other summary options reuse the stored draws instead of sampling again.
    other_control = fit(cli, "e", *QUICK, "--control", "B")
    assert other_control["cached"] is True and other_control["control"] == "B"
    a = next(g for g in other_control["groups"] if g["name"] == "A")
    assert "uplift_abs" in a and a["mean"] == after_upload["groups"][0]["mean"]

    # An upload to another experiment leaves this one's fit valid.
    create(cli, tmp_path, "other")
    assert fit(cli, "e", *QUICK)["cached"] is True


@pytest.mark.mcmc
def test_clear_removes_one_experiments_fits_only(cli, tmp_path):
    create(cli, tmp_path, "e")
    create(cli, tmp_path, "f", seed=2)
    fit(cli, "e", *QUICK)
    fit(cli, "f", *QUICK)
    listed = cli("cache", "list").json()
    assert sorted(entry["experiment"] for entry in listed) == ["e", "f"]
    assert all(entry["seconds_saved_per_hit"] > 0 for entry in listed)

    cleared = cli("cache", "clear", "e")
    assert cleared.code == 0 and cleared.json() == {"experiment": "e", "deleted": 1}
    assert cli("cache", "list", "e").json() == []
    assert [entry["experiment"] for entry in cli("cache", "list").json()] == ["f"]
    assert fit(cli, "f", *QUICK)["cached"] is True
    assert fit(cli, "e", *QUICK)["cached"] is False


def artifacts(home, name: str):
    return list((home / "mlartifacts").rglob(name))


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda path: path.unlink(), "lost its posterior.nc"),
        (lambda path: path.with_name("summary.json").write_text("{not json"), "cannot read"),
    ],
    ids=["posterior deleted", "summary corrupted"],
)
@pytest.mark.mcmc
def test_a_damaged_cache_entry_means_a_fresh_fit_and_a_warning(cli, home, tmp_path, damage, words):
    create(cli, tmp_path, "e")
    first = fit(cli, "e", *QUICK)
    [posterior_file] = artifacts(home, "posterior.nc")
    damage(posterior_file)
    # This machine's copy of the summary is still the right answer (its key is the data's)...
    copied = fit(cli, "e", *QUICK)
    assert copied["cached"] is True and copied["groups"] == first["groups"]
    # ...without it, the damaged store is found out.
    for copy in (home / "fits").rglob("*.json"):
        copy.unlink()
    result = cli("posterior", "e", "--json", *QUICK)
    assert result.code == 0
    assert result.json()["cached"] is False
    assert words in result.err and "fitting afresh" in result.err
    assert result.json()["groups"] == first["groups"]  # the same seed, the same answer


@pytest.mark.mcmc
def test_an_unreachable_tracking_server_only_costs_the_cache(cli, tmp_path, monkeypatch):
    create(cli, tmp_path, "e")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # nothing listens there
    result = cli("posterior", "e", "--json", *QUICK)
    assert result.code == 0
    assert result.json()["cached"] is False and result.json()["method"] == "mcmc"
    assert "cannot reach MLflow" in result.err and "was not cached" in result.err


@pytest.mark.mcmc
def test_two_processes_asking_for_the_same_fit_both_get_it(cli, tmp_path):
    create(cli, tmp_path, "e")
    askers = [
        subprocess.Popen(
            [VIBES, "posterior", "e", "--json", *QUICK],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    answers = []
    for asker in askers:
        out, err = asker.communicate(timeout=600)
        assert asker.returncode == 0, err.decode()
        answers.append(json.loads(out))
    assert answers[0]["groups"] == answers[1]["groups"]
    assert fit(cli, "e", *QUICK)["cached"] is True


def test_as_of_version_gives_the_posterior_of_an_earlier_snapshot(cli, tmp_path):
    create(cli, tmp_path, "e", n=200)
    created = cli("experiments", "list").json()[0]
    before = fit(cli, "e", "--exact")
    more = cli("generate", "ab-test", "-n", "500", "--seed", "3", "--format", "ndjson").out
    assert cli("events", "upload", "e", stdin=more).code == 0
    then = fit(cli, "e", "--exact", "--as-of-version", str(before["snapshot"]))
    assert then["snapshot"] == before["snapshot"] and then["groups"] == before["groups"]
    assert sum(g["trials"] for g in fit(cli, "e", "--exact")["groups"]) == 700
    assert created["events"] == 200

    too_early = cli("posterior", "e", "--exact", "--as-of-version", "0")
    assert too_early.code == 1 and "did not exist at snapshot 0" in too_early.err
    too_late = cli("posterior", "e", "--exact", "--as-of-version", "9999")
    assert too_late.code == 1 and "does not exist" in too_late.err


def test_human_output_has_the_table_and_the_decision(cli, tmp_path):
    create(cli, tmp_path, "e")
    result = cli("posterior", "e", "--exact")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].strip() == "e (ab-test)"
    assert any(line.split()[0] in ("A*", "B") for line in lines if line.strip())
    assert any(line.startswith(("Choose", "Keep running", "No difference")) for line in lines)
    assert "exact posterior, snapshot" in result.out
