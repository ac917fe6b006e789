"""Shared fixtures: a fresh VIBES_HOME per test, the CLI in-process and as a subprocess."""

import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from vibes_core import catalog
from vibes_core.config import load_config
from vibes_core.lake import Lake
from vibes_tui.cli import main

VIBES = str(Path(sys.executable).with_name("vibes"))


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "vibes-home"
    monkeypatch.setenv("VIBES_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # not the user's config.toml
    monkeypatch.delenv("VIBES_CONFIG", raising=False)
    # TMUX, STY: `y` in a test must not reach the tmux or screen the tests run in.
    for name in ("VIBES_CATALOG_URL", "VIBES_DATA_PATH", "VIBES_THEME", "TMUX", "STY"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def cli(home, capsysbinary, monkeypatch):
    """Run `vibes ARGS` through the real entry point in this process, stdin given as bytes."""

    def run(*args: str, stdin: bytes | str = b"") -> Result:
        data = stdin.encode() if isinstance(stdin, str) else stdin
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        capsysbinary.readouterr()
        code = main([str(a) for a in args])
        captured = capsysbinary.readouterr()
        return Result(code, captured.out.decode(), captured.err.decode())

    return run


def run_vibes(
    *args: str, stdin: bytes | None = None, env: dict | None = None, cwd: Path | None = None
) -> Result:
    """Run the installed `vibes` script in a new process (in ``cwd``, if given)."""
    proc = subprocess.run(
        [VIBES, *map(str, args)],
        input=stdin,
        capture_output=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=300,
    )
    return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def lake_state(home: Path) -> tuple[int, dict[str, int]]:
    """The current snapshot id and every table's row count, read from the lake on disk."""
    config = load_config({"VIBES_HOME": str(home)})
    with Lake(config, create=False) as lake:
        rows = {t["table"]: t["rows"] for t in catalog.list_tables(lake)}
        return lake.snapshot_id(), rows


@pytest.fixture
def ab_test(cli, tmp_path) -> str:
    """An ab-test experiment `ab` with 200 generated events."""
    initial = tmp_path / "initial.json"
    assert cli("generate", "ab-test", "-n", "200", "--seed", "1", "-o", initial).code == 0
    created = cli(
        "experiments", "create", "ab", "--type", "ab-test", "--initial-data-file", initial
    )
    assert created.code == 0, created.err
    return "ab"


@pytest.fixture
def piped(cli, tmp_path) -> str:
    """An ab-test whose second variant's name has a pipe and markup in it."""
    events = [{"variant": "A", "outcome": i % 5 == 0} for i in range(300)]
    events += [{"variant": "B|[b]x", "outcome": i % 4 == 0} for i in range(300)]
    path = tmp_path / "events.json"
    path.write_text(json.dumps(events))
    made = cli("experiments", "create", "piped", "--type", "ab-test", "--initial-data-file", path)
    assert made.code == 0, made.err
    return "piped"
