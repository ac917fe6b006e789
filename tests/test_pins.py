"""What a user sees of every demo experiment's exact posterior, pinned: `vibes posterior NAME
--exact --json` (numbers rounded to 10 significant digits, so that the pin does not depend on
the CPU's last bits) and `--format markdown`. A change to either is deliberate: rewrite the
pins with VIBES_WRITE_PINS=1 and read the diff."""

import json
import os
from pathlib import Path

import pytest

from vibes_core.demo import UNITS_DEMO
from vibes_core.types import registry

PINS = Path(__file__).parent / "pins"
DEMOS = [demo.name for kind in registry().values() for demo in kind.demos] + [UNITS_DEMO]


def rounded(value):
    if isinstance(value, float):
        return float(f"{value:.10g}")
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item) for item in value]
    return value


@pytest.fixture
def demo(cli):
    assert cli("db", "demo").code == 0


@pytest.mark.usefixtures("demo")
def test_every_demo_posterior_is_as_pinned(cli):
    for name in DEMOS:
        answer = cli("posterior", name, "--exact", "--json")
        assert answer.code == 0, answer.err
        shown = {
            "json": json.dumps(rounded(answer.json()), indent=1) + "\n",
            "md": cli("posterior", name, "--exact", "--format", "markdown").out,
        }
        for suffix, text in shown.items():
            pin = PINS / f"{name}.{suffix}"
            if os.environ.get("VIBES_WRITE_PINS"):
                pin.write_text(text)
            assert text == pin.read_text(), f"{name} --exact ({suffix}) is not as pinned"
