"""The NHTSA notebook, run top to bottom on the shipped sample as a reader would run it: its
own kernel, its `!vibes` cells through the installed command, a temporary VIBES_HOME."""

import csv
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import vibes_core as vc

pytestmark = pytest.mark.mcmc  # the notebook calls vc.fit(name): an MCMC fit

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "nhtsa-experiments.ipynb"


def outputs(notebook) -> str:
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", ""))
            texts.extend(str(v) for v in output.get("data", {}).values())
    return "\n".join(texts)


def test_the_nhtsa_notebook_runs_on_the_sample(home, tmp_path, monkeypatch):
    monkeypatch.delenv("NHTSA_COMPLAINTS_FILE", raising=False)  # the sample, not a real file
    monkeypatch.setenv("NHTSA_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells), "commit it without outputs"
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()

    name = "nhtsa_hyundai_elantra_2010"
    written = tmp_path / "out" / f"{name}.csv"
    with written.open() as rows:
        table = list(csv.DictReader(rows))
    assert list(table[0]) == ["timestamp", "cohort", "events", "exposure"]
    assert len({row["cohort"] for row in table}) >= 3
    assert any(row["events"] == "0" for row in table)  # months without complaints count too
    experiment = {e["name"]: e for e in vc.experiments()}[name]
    assert experiment["type"] == "poisson-cohorts"
    assert experiment["events"] == len(table)
    shown = outputs(notebook)
    assert "duplicated complaint records dropped" in shown
    # fit, exact and `vibes posterior` (whose sentence may wrap, each line in its own style)
    words = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", shown).split())
    assert words.count("has the highest rate") >= 3
