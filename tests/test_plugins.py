"""Types from VIBES_TYPES are code and input: whatever breaks on import is one line naming the
module, a type may not take a name another module defines (a built-in's least of all), and the
words a plugin puts in `--help` are text, never Rich markup. Through the installed `vibes`, the
plugins in a temporary folder on PYTHONPATH as a user's would be."""

import os
from pathlib import Path

import pytest

from tests.conftest import run_vibes
from vibes_core.types import registry

ROOT = Path(__file__).parents[1]
# A plugin's type, from the example plugin (tests/plugin_types.py), with what a test changes.
SUBCLASS = """
from tests.plugin_types import WaitingTime

class Changed(WaitingTime):
{body}

TYPE = Changed()
"""


@pytest.fixture
def plugins(home, tmp_path):
    """Write modules into a folder on PYTHONPATH; run `vibes` with VIBES_TYPES naming some."""
    folder = tmp_path / "plugins"
    folder.mkdir()

    def vibes(modules: dict[str, str], types: str, *args: str):
        for name, source in modules.items():
            (folder / f"{name}.py").write_text(source)
        path = [str(folder), str(ROOT), os.environ.get("PYTHONPATH")]
        env = {"VIBES_TYPES": types, "PYTHONPATH": os.pathsep.join(filter(None, path))}
        return run_vibes(*args, env={**env, "COLUMNS": "200"})

    return vibes


def one_line_error(result) -> str:
    assert result.code == 1 and result.out == "", (result.out, result.err)
    assert result.err.count("\n") == 1 and "Traceback" not in result.err, result.err
    assert result.err.startswith("vibes: error: ") and "\x1b" not in result.err
    return result.err


@pytest.mark.parametrize(
    ("source", "said"),
    [
        ("raise RuntimeError('broken at import')", "RuntimeError: broken at import"),
        ("import sys\nsys.exit(3)", "SystemExit: 3"),
        ("def (:\n", "SyntaxError: invalid syntax"),
        ("import no_such_dependency_anywhere", "ModuleNotFoundError"),
        ("raise ValueError('first line\\nsecond line')", "ValueError: first line\n"),
    ],
    ids=["raises", "exits", "syntax", "missing-import", "two-lines"],
)
def test_a_plugin_that_fails_on_import_is_one_line_naming_it(plugins, source, said):
    for command in (["experiments", "list"], ["--help"], ["tui"]):
        err = one_line_error(plugins({"broken": source}, "broken", *command))
        assert "VIBES_TYPES names 'broken', which cannot be imported: " in err and said in err


def test_a_plugin_may_not_take_a_type_name_already_defined(plugins):
    built_in = next(iter(registry()))
    twin = SUBCLASS.format(body=f"    name = {built_in!r}")
    err = one_line_error(plugins({"twin": twin}, "twin", "experiments", "list"))
    assert "'vibes_core.types." in err and "'twin'" in err, err
    assert f"both define the experiment type {built_in!r}" in err
    # Two plugins with one name: the example plugin and a copy of it.
    copy = SUBCLASS.format(body="    pass")
    err = one_line_error(
        plugins({"waiting_copy": copy}, "tests.plugin_types,waiting_copy", "experiments", "list")
    )
    assert (
        "'tests.plugin_types' and 'waiting_copy' both define the experiment type 'waiting-time'"
        in err
    )
    # A module named twice is one module.
    twice = plugins({}, "tests.plugin_types,tests.plugin_types", "experiments", "create", "--help")
    assert twice.code == 0 and "waiting-time" in twice.out, twice.err


@pytest.mark.parametrize(
    ("body", "what", "name"),
    [
        ("    name = '[bold]x[/bold]'", "type", "'[bold]x[/bold]'"),
        ("    name = '[/b]'", "type", "'[/b]'"),
        ("    name = 'Waiting Time'", "type", "'Waiting Time'"),
        ("    name = 'w\\x1b[2Jx'", "type", "'w\\x1b[2Jx'"),
        ("    name = 7", "type", "7"),
        (
            "    from vibes_core.types.base import GenerateOption\n"
            "    generate_options = (GenerateOption('[b]q', str, 'n', 'queues'),)",
            "generate option",
            "'[b]q'",
        ),
        (
            "    from vibes_core.types.base import Prior\n"
            "    priors = (Prior('shape=1', 2.0, 'x'), Prior('rate', 1.0, 'y'))",
            "prior",
            "'shape=1'",
        ),
    ],
    ids=["markup", "closing-tag", "space", "escape", "not-a-string", "option", "prior"],
)
def test_names_a_plugin_puts_on_the_command_line_are_plain_words(plugins, body, what, name):
    err = one_line_error(plugins({"named": SUBCLASS.format(body=body)}, "named", "--help"))
    assert f"'named' names its {what} {name}: a {what}'s name is lowercase" in err, err


def test_markup_in_a_plugins_words_is_shown_as_text_in_every_help(plugins):
    words = SUBCLASS.format(
        body="    name = 'marked'\n"
        "    description = '[bold]loud[/bold] [/b] [link=http://x]here[/link]'\n"
        "    from vibes_core.types.base import GenerateOption\n"
        "    generate_options = (\n"
        "        GenerateOption('queues', str, '[red]n[/red]', '[i]queue[/i] names [/]'),\n"
        "    )"
    )
    shown = {
        args: plugins({"words": words}, "words", *args)
        for args in (
            ("--help",),
            ("generate", "--help"),
            ("generate", "marked", "--help"),
            ("experiments", "create", "--help"),
            ("posterior", "--help"),
        )
    }
    for args, result in shown.items():
        assert result.code == 0 and result.err == "", (args, result.err)
    description = "[bold]loud[/bold] [/b] [link=http://x]here[/link]"
    assert description in shown[("generate", "--help")].out
    marked = shown[("generate", "marked", "--help")].out
    assert description in marked and "[i]queue[/i] names [/]" in marked
    assert "[default: [red]n[/red]]" in marked
    assert "marked" in shown[("experiments", "create", "--help")].out


def test_a_plugin_that_declares_a_capability_without_its_methods_is_one_line(plugins):
    """Capabilities are declared and checked when the registry loads the type: one that claims
    a pooled model and a breakdown but defines neither is named with what it lacks."""
    claims = """
from tests.plugin_types import WaitingTime
from vibes_core.capabilities import Poolable, Segmentable

class Claims(WaitingTime, Poolable, Segmentable):
    name = "claims"
    segment_columns = ("segment",)

TYPE = Claims()
"""
    err = one_line_error(plugins({"claims": claims}, "claims", "experiments", "list"))
    assert "'claims': the type 'claims' declares what it does not define" in err, err
    assert "Poolable: pooled_model, spread_draws, pooled_priors, hyperparameters" in err
    assert "ExactPosterior: exact;" in err and "Segmentable: segmented_model, spread_draws" in err
