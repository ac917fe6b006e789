"""Files under $VIBES_HOME and the working directory are input, not trusted: this machine's
copies of cached summaries are served only when they are what they claim (a regular file,
its checksum, a summary's shape), a link is never followed, the shared store's summary is
checked too, and the child that stores a fit runs no code from the working directory and
dies quietly on Ctrl-C."""

import json
import os
import signal
import subprocess
import threading
import time

import pytest

from tests.conftest import VIBES, run_vibes
from tests.test_cache import create, fit
from tests.test_cache_reads import loaded
from vibes_core import catalog, store
from vibes_core.analysis import Analysis

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.mcmc]

SMALL = ("--draws", "100", "--tune", "100", "--chains", "1")


@pytest.fixture
def fitted(cli, tmp_path) -> dict:
    """The experiment `e`, fitted (small) and so cached, with this machine's copy."""
    create(cli, tmp_path, "e")
    first = fit(cli, "e", *SMALL)
    assert first["cached"] is False
    return first


def the_copy(home):
    [copy] = sorted((home / store.COPIES / "e").glob("*.json"))
    return copy


def forged(copy, **summary) -> dict:
    """The copy's content with ``summary`` keys changed, its checksum made to match: a copy
    as good as a real one, but for what it says."""
    data = json.loads(copy.read_text())
    data.pop("sha256")
    data["summary"] = {**data["summary"], **summary}
    return {**data, "sha256": store.checksum(data)}


def served_rightly(cli, home, first: dict) -> None:
    """A hit with the fit's own numbers, and the copy rebuilt: a regular file again."""
    answer = fit(cli, "e", *SMALL)
    assert answer["cached"] is True and answer["groups"] == first["groups"]
    assert answer["decision"] == first["decision"]
    copy = the_copy(home)
    assert copy.is_file() and not copy.is_symlink()
    assert json.loads(copy.read_text())["summary"]["groups"] == first["groups"]


def test_a_copy_that_is_not_what_it_claims_is_a_miss_and_is_rebuilt(cli, home, fitted, tmp_path):
    copy = the_copy(home)
    real = json.loads(copy.read_text())

    copy.write_text(json.dumps({**real, "summary": {}}))  # "unexpected error: 'warnings'"
    served_rightly(cli, home, fitted)

    copy.write_text(json.dumps(forged(copy, warnings="not a list")))  # its checksum holds
    served_rightly(cli, home, fitted)

    altered = json.loads(copy.read_text())
    altered["summary"]["groups"][0]["mean"] = 0.999  # the shape holds, the checksum does not
    copy.write_text(json.dumps(altered))
    served_rightly(cli, home, fitted)

    elsewhere = tmp_path / "elsewhere.json"  # a link to a perfect copy saying otherwise
    elsewhere.write_text(json.dumps(forged(copy, decision="Choose whatever the link says")))
    copy.unlink()
    copy.symlink_to(elsewhere)
    served_rightly(cli, home, fitted)
    assert "the link says" in elsewhere.read_text()  # the link went, not its target

    copy.unlink()
    copy.mkdir()  # a directory in its place
    (copy / "inside").write_text("x")
    served_rightly(cli, home, fitted)

    copy.unlink()
    os.mkfifo(copy)  # nothing to read from: must not hang
    served_rightly(cli, home, fitted)


def test_a_link_in_place_of_an_experiments_copies_is_never_followed_nor_emptied(
    cli, home, fitted, tmp_path
):
    folder = home / store.COPIES / "e"
    copy = the_copy(home)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / copy.name).write_text(json.dumps(forged(copy, decision="Choose the link's")))
    (elsewhere / "precious.txt").write_text("mine")
    for old in folder.iterdir():
        old.unlink()
    folder.rmdir()
    folder.symlink_to(elsewhere, target_is_directory=True)
    served_rightly(cli, home, fitted)  # and fits/e a real folder again

    for old in folder.iterdir():
        old.unlink()
    folder.rmdir()
    folder.symlink_to(elsewhere, target_is_directory=True)
    cleared = cli("cache", "clear", "e")
    assert cleared.code == 0 and cleared.json()["deleted"] == 1, cleared.err
    assert not folder.exists() and not folder.is_symlink()  # the link is gone...
    assert (elsewhere / "precious.txt").read_text() == "mine"  # ...and not what it pointed to
    assert (elsewhere / copy.name).exists()
    assert cli("cache", "list", "e").json() == []


def test_a_stored_summary_that_is_not_a_summary_is_not_served(cli, home, fitted):
    """The shared store's summary.json, read back without MLflow: checked as a copy is. A
    damaged one costs a warning and a new fit, never an unexpected error."""
    [artifact] = (home / "mlartifacts").rglob(store.SUMMARY)
    the_copy(home).unlink()
    artifact.write_text(json.dumps({"summary": {}, "options": {}}))
    answer = cli("posterior", "e", "--json", *SMALL)
    assert answer.code == 0, answer.err
    assert answer.json()["cached"] is False and answer.json()["groups"] == fitted["groups"]
    assert "has a damaged summary" in answer.err and "fitting afresh" in answer.err


def test_the_storer_child_runs_no_code_from_the_working_directory(cli, home, tmp_path):
    """A json.py or numpy.py where `vibes posterior` is run is not imported by the child that
    stores a miss (python -m would put the working directory first on its path)."""
    create(cli, tmp_path, "e")
    folder = tmp_path / "a project"
    folder.mkdir()
    for module in ("json", "numpy"):
        marker = tmp_path / f"{module}-ran"
        (folder / f"{module}.py").write_text(
            f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
        )
    answer = run_vibes("posterior", "e", "--json", *SMALL, cwd=folder)
    assert answer.code == 0, answer.err
    assert not (tmp_path / "json-ran").exists() and not (tmp_path / "numpy-ran").exists()
    assert [entry["experiment"] for entry in cli("cache", "list", "e").json()] == ["e"]
    assert fit(cli, "e", *SMALL)["cached"] is True


def test_ctrl_c_during_sampling_ends_quietly_and_caches_nothing(cli, home, tmp_path):
    """Ctrl-C at a terminal reaches the process group, the storer child included: one line
    from vibes, no traceback from the child, and no half-sampled fit printed or cached."""
    create(cli, tmp_path, "e")
    terminal, follower = os.openpty()  # stderr a terminal: PyMC's progress shows sampling
    running = subprocess.Popen(
        [VIBES, "posterior", "e", "--json", "--draws", "50000", "--chains", "1"],
        stdout=subprocess.PIPE,
        stderr=follower,
        start_new_session=True,  # its own group, as a shell's foreground job
    )
    os.close(follower)
    chunks: list[bytes] = []

    def read_all() -> None:  # all along: a terminal nobody reads blocks its writers
        while True:
            try:
                chunk = os.read(terminal, 65536)
            except OSError:  # every writer closed its end
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=read_all, daemon=True)
    reader.start()
    started = time.monotonic()
    try:
        while b"draws/s" not in b"".join(chunks) and time.monotonic() - started < 240:
            time.sleep(0.1)
        assert b"draws/s" in b"".join(chunks), b"".join(chunks)[-500:]
        os.killpg(running.pid, signal.SIGINT)
        out, _ = running.communicate(timeout=120)
        reader.join(timeout=60)
    finally:
        if running.poll() is None:
            os.killpg(running.pid, signal.SIGKILL)
        reader.join(timeout=10)
        os.close(terminal)
    shown = b"".join(chunks)
    said = shown.decode(errors="replace")
    assert running.returncode == 130, said[-2000:]
    assert "Traceback" not in said and "KeyboardInterrupt" not in said, said[-3000:]
    # Said once; on a loaded machine PyMC's progress bar may redraw once more after it.
    assert said.count("vibes: interrupted (a write not yet committed was rolled back)") == 1
    assert out == b""  # no answer from a sampling cut short
    assert cli("cache", "list", "e").json() == []


def test_saved_options_re_summarize_a_cached_fit_once_and_then_answer_from_a_copy(
    cli, home, fitted
):
    """Saved options other than those a fit was stored with: the first answer summarizes its
    draws again (read in place, without MLflow), and keeps that summary; the next ones read
    it as any hit does, without the draws. The numbers are the draws' at the new HDI."""
    with catalog.open_lake() as lake:  # as `o` saves them
        catalog.save_analysis(lake, "e", Analysis(hdi_prob=0.8, control="B"))
    env = dict(os.environ)
    first, heavy = loaded(env, "posterior", "e", "--json", *SMALL, heavy=("mlflow", "xarray"))
    assert first["cached"] is True and heavy == ["xarray"]
    assert (first["hdi_prob"], first["control"]) == (0.8, "B")
    before = {group["name"]: group for group in fitted["groups"]}
    for group in first["groups"]:  # the same draws; narrower intervals
        assert group["mean"] == before[group["name"]]["mean"]
        width = before[group["name"]]["hdi_high"] - before[group["name"]]["hdi_low"]
        assert group["hdi_high"] - group["hdi_low"] < width
    again, heavy = loaded(env, "posterior", "e", "--json", *SMALL, heavy=("mlflow", "xarray"))
    assert heavy == [] and again == first
    given = fit(cli, "e", *SMALL, "--hdi-prob", "0.94", "--control", "A")  # the stored options
    assert given["groups"] == fitted["groups"]
