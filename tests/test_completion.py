"""Shell completion through the real `vibes` script, as a shell asks for it: experiment names
from the lake's catalog, --type from the registry; quiet, light, and nothing created when
there is no lake."""

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import VIBES
from tests.test_imports import HEAVY
from vibes_core import catalog
from vibes_core.config import load_config
from vibes_core.types import registry

NAMES = ["checkout_button", "checkout_revenue", "pricing"]
# Written past validation, as another tool could: never completed.
ODD = ["Homepage [test]", "[/b]"]
CONTROL = "bad\x1b]0;pwned\x07name"
CLEARED = ("VIBES_", "_VIBES_", "_TYPER_", "COMP_", "PYTHONPROFILEIMPORTTIME")


def environment(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a `vibes` run on the lake in ``home``, none of the user's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEARED)}
    config = str(home.parent / "config")  # not the user's config.toml
    return {**env, "VIBES_HOME": str(home), "XDG_CONFIG_HOME": config, **extra}


def vibes(env: dict, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [VIBES, *args], env={**env, **extra}, capture_output=True, text=True, timeout=120
    )


def bash(env: dict, *words: str, **extra: str) -> list[str]:
    """What the script of `vibes --show-completion bash` runs on TAB after ``words`` (the
    last one being completed): the completions, one a line; quiet and exit 0."""
    done = vibes(
        env,
        _VIBES_COMPLETE="complete_bash",
        COMP_WORDS="\n".join(["vibes", *words]),  # "${COMP_WORDS[*]}" with IFS=$'\n'
        COMP_CWORD=str(len(words)),
        **extra,
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    return list(filter(None, done.stdout.split("\n")))  # none: an empty line


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> dict[str, str]:
    """A lake with the experiments NAMES, ODD and CONTROL; the environment to reach it."""
    home = tmp_path_factory.mktemp("completion") / "vibes-home"
    env = environment(home)
    events = home.parent / "events.json"
    events.write_text(
        json.dumps([{"variant": v, "outcome": i % 3 == 0} for v in "AB" for i in range(9)])
    )
    with pytest.MonkeyPatch.context() as patch:
        for key in ("VIBES_CONFIG", "VIBES_CATALOG_URL", "VIBES_DATA_PATH"):
            patch.delenv(key, raising=False)
        patch.setenv("VIBES_HOME", env["VIBES_HOME"])
        patch.setenv("XDG_CONFIG_HOME", env["XDG_CONFIG_HOME"])
        with catalog.open_lake() as opened:
            for name in NAMES:
                catalog.create(opened, name, "ab-test", events)
            opened.write(
                lambda con: con.executemany(
                    f"INSERT INTO {catalog.METADATA} (name, display_name, type, created_at) "
                    "VALUES (?, ?, 'ab-test', now())",
                    [[name, name] for name in [*ODD, CONTROL]],
                ),
                "names past validation",
            )
    return env


@pytest.fixture
def no_lake(home) -> dict[str, str]:
    """The environment of `home` (conftest): a VIBES_HOME not created yet."""
    return environment(home)


def test_the_experiment_names_complete_by_prefix(lake):
    assert sorted(bash(lake, "posterior", "")) == sorted(NAMES)
    assert bash(lake, "posterior", "pr") == ["pricing"]
    assert bash(lake, "posterior", "nope") == []


@pytest.mark.parametrize(
    "words",
    [
        ["posterior"],
        ["experiments", "delete"],
        ["experiments", "delete", "--name"],
        ["events", "upload"],
        ["events", "upload", "--name"],
        ["events", "upload", "-f", "data.csv"],
        ["bandit", "allocate"],
        ["cache", "list"],
        ["cache", "clear"],
        ["posterior", "--exact", "--format", "csv"],
    ],
    ids=" ".join,
)
def test_names_complete_wherever_an_experiment_is_named(lake, words):
    assert bash(lake, *words, "chec") == ["checkout_button", "checkout_revenue"]


def test_rows_whose_names_break_the_rule_are_never_completed(lake):
    """No command takes such a name (they are refused as the catalog's list ignores them):
    odd ones and ones with control characters alike."""
    assert bash(lake, "posterior", "Ho") == []
    assert bash(lake, "posterior", "[") == []
    assert bash(lake, "posterior", "bad") == []


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_the_installed_bash_script_completes_a_name(lake, tmp_path):
    home = {"HOME": str(tmp_path)}  # --install-completion writes ~/.bashrc: this one
    installed = subprocess.run(
        ["bash", "-c", '"$0" --install-completion; exit $?', VIBES],
        env={**lake, **home},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert installed.returncode == 0, installed.stderr
    script = tmp_path / ".bash_completions" / "vibes.sh"
    assert f"source '{script}'" in (tmp_path / ".bashrc").read_text()
    tab = f"""source {shlex.quote(str(script))}
        COMP_WORDS=(vibes posterior pri); COMP_CWORD=2; _vibes_completion "$0"
        printf '<%s>\\n' "${{COMPREPLY[@]}}" """
    empty = tmp_path / "empty"  # bash globs what completes: no file here to match
    empty.mkdir()
    pressed = subprocess.run(
        ["bash", "-c", tab, VIBES], env=lake, cwd=empty, capture_output=True, text=True, timeout=120
    )
    assert (pressed.stdout, pressed.stderr) == ("<pricing>\n", "")


def test_type_completes_from_the_registry_and_a_new_name_does_not(lake):
    assert bash(lake, "experiments", "schema", "--type", "ab") == ["ab-test"]
    assert bash(lake, "experiments", "create", "x", "--type", "ab") == ["ab-test"]
    assert bash(lake, "experiments", "create", "x", "--type", "") == list(registry())
    assert bash(lake, "experiments", "create", "chec") == []  # a new experiment's name


def test_commands_and_options_still_complete_without_a_lake(no_lake):
    assert bash(no_lake, "po") == ["posterior"]
    assert bash(no_lake, "experiments", "de") == ["delete"]
    assert "--exact" in bash(no_lake, "posterior", "--ex")
    assert bash(no_lake, "posterior", "--format", "c") == ["csv"]


def test_completing_on_a_terminal_answers_and_starts_no_dashboard(no_lake):
    asking = {"_VIBES_COMPLETE": "complete_bash", "COMP_WORDS": "vibes\npo", "COMP_CWORD": "1"}
    terminal, follower = os.openpty()  # fish runs its --condition check there, for one
    try:
        done = subprocess.run(
            [VIBES],
            stdin=follower,
            stdout=follower,
            stderr=subprocess.PIPE,
            env={**no_lake, **asking},
            timeout=30,  # the dashboard would wait for keys
        )
        assert (done.returncode, done.stderr) == (0, b"")
        assert os.read(terminal, 65536).decode().split() == ["posterior"]
    finally:
        os.close(terminal)
        os.close(follower)


def test_no_lake_completes_nothing_and_creates_nothing(no_lake):
    assert bash(no_lake, "posterior", "") == []
    assert bash(no_lake, "events", "upload", "--name", "a") == []
    assert not Path(no_lake["VIBES_HOME"]).exists()


def test_a_bad_config_or_a_broken_lake_completes_nothing_quietly(no_lake, tmp_path):
    bad = tmp_path / "config.toml"
    bad.write_text("this is [not toml")
    assert vibes(no_lake, "experiments", "list", VIBES_CONFIG=str(bad)).returncode == 1
    assert bash(no_lake, "posterior", "", VIBES_CONFIG=str(bad)) == []
    broken = load_config().sqlite_file
    broken.parent.mkdir(parents=True)
    broken.write_text("not a database")
    assert vibes(no_lake, "experiments", "list").returncode == 1
    assert bash(no_lake, "posterior", "") == []


def test_completing_a_name_imports_no_heavy_module(lake):
    done = vibes(
        lake,
        _VIBES_COMPLETE="complete_bash",
        COMP_WORDS="vibes posterior chec",
        COMP_CWORD="2",
        PYTHONPROFILEIMPORTTIME="1",  # each module imported, a line on stderr
    )
    assert done.stdout.split() == ["checkout_button", "checkout_revenue"]
    imported = {
        m.split(".")[0] for m in re.findall(r"^import time:.*\|\s*(\S+)$", done.stderr, re.M)
    }
    assert "vibes_core" in imported
    assert imported.isdisjoint(HEAVY), sorted(imported & set(HEAVY))


def test_help_lists_the_completion_options(no_lake):
    helped = vibes(no_lake, "--help")
    assert helped.returncode == 0
    assert "--install-completion" in helped.stdout and "--show-completion" in helped.stdout


@pytest.mark.skipif(not shutil.which("bash"), reason="needs bash")
def test_show_completion_prints_the_script_of_the_shell(no_lake):
    shown = subprocess.run(  # the shell is found among vibes' parents, as from a terminal
        ["bash", "-c", '"$0" --show-completion; exit $?', VIBES],
        env=no_lake,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    assert "_VIBES_COMPLETE=complete_bash" in shown.stdout
    assert "complete -o default -F _vibes_completion vibes" in shown.stdout
    # Where no shell can be found (e.g. cron), Typer takes it as an argument instead.
    named = vibes(
        no_lake, "--show-completion", "zsh", _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1"
    )
    assert named.returncode == 0, named.stderr
    assert "compdef _vibes_completion vibes" in named.stdout
