"""Headless commands stay fast: they never import the model, cache or UI libraries."""

import json
import subprocess
import sys

import pytest

HEAVY = ("pymc", "pytensor", "arviz", "mlflow", "textual", "ibis", "pandas", "numpy", "scipy")
PROBE = """
import json, sys
from vibes_tui.cli import main
code = main(sys.argv[1:])
loaded = sorted(m for m in {heavy!r} if m in sys.modules)
print("LOADED=" + json.dumps(loaded), file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.parametrize(
    "argv", [["--help"], ["experiments", "list"], ["experiments", "schema", "--type", "ab-test"]]
)
def test_headless_commands_do_not_import_heavy_modules(home, argv):
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *argv], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stderr.rsplit("LOADED=", 1)[1])
    assert loaded == []


def test_an_exact_posterior_loads_no_sampler_cache_or_ui(home, ab_test):
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY[:5]), "posterior", ab_test, "--exact"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stderr.rsplit("LOADED=", 1)[1]) == []


@pytest.mark.mcmc
def test_a_cache_hit_loads_no_sampler(home, ab_test):
    args = ["posterior", ab_test, "--json"]
    assert (
        subprocess.run(
            [sys.executable, "-m", "vibes_tui.cli", *args], capture_output=True, check=True
        ).returncode
        == 0
    )
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=("pymc", "pytensor", "textual")), *args],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["cached"] is True
    assert json.loads(proc.stderr.rsplit("LOADED=", 1)[1]) == []
