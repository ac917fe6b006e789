"""Headless commands stay fast: they never import the model, cache or UI libraries."""

import json
import subprocess
import sys

import pytest

HEAVY = ("pymc", "pytensor", "arviz", "mlflow", "textual", "ibis", "pandas")
PROBE = """
import json, sys
from vibes_tui.cli import main
code = main(sys.argv[1:])
loaded = sorted(m for m in {heavy!r} if m in sys.modules)
print("LOADED=" + json.dumps(loaded), file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.parametrize("argv", [["--help"], ["experiments", "list"], ["experiments", "schema",
                                  "--type", "ab-test"]])  # fmt: skip
def test_headless_commands_do_not_import_heavy_modules(home, argv):
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *argv], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stderr.rsplit("LOADED=", 1)[1])
    assert loaded == []
