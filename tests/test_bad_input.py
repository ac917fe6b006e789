"""Every mistake gets one line on stderr, exit 1 (2 for usage), and leaves the lake unchanged:
the same snapshot id and the same row count in every table."""

import pytest

from tests.conftest import lake_state, run_vibes

AB = ("events", "upload", "ab")
POISSON = ("experiments", "create", "p", "--type", "poisson-cohorts")
CREATE_AB = ("experiments", "create", "new", "--type", "ab-test")

# (id, argv, stdin, words the message must contain)
BAD_INPUTS = [
    ("malformed json", AB, '[{"variant": "A", "outcome": tru', "not valid JSON"),
    ("json array cut short", AB, '[{"variant": "A", "outcome": true},', "not valid JSON"),
    ("malformed ndjson", AB, '{"variant": "A", "outcome": true}\n{"variant": \n', "not valid"),
    ("malformed csv", AB, 'variant,outcome\nA,true\nB,false,extra,"x\n', "not valid CSV"),
    ("empty input", AB, "", "empty"),
    ("whitespace only", AB, "  \n\n", "empty"),
    ("empty json array", AB, "[]", "no events"),
    ("csv header only", AB, "variant,outcome\n", "no events"),
    ("json not objects", AB, "[1, 2, 3]", "must be a JSON object"),
    ("missing column", AB, '{"outcome": true}\n', "missing required column(s) variant"),
    ("unknown column", AB, '{"variant": "A", "outcome": true, "colour": "red"}\n', "'colour'"),
    ("column in wrong case", AB, '{"Variant": "A", "outcome": true}\n', "unknown column"),
    ("yes for a bool", AB, '{"variant": "A", "outcome": "yes"}\n', 'got "yes"'),
    ("string true for a bool", AB, '{"variant": "A", "outcome": "true"}\n', "true or false"),
    ("number for a bool", AB, '{"variant": "A", "outcome": 1}\n', "true or false"),
    ("yes for a bool in csv", AB, "variant,outcome\nA,yes\n", "got 'yes'"),
    ("null outcome", AB, '{"variant": "A", "outcome": null}\n', "a value is required"),
    ("empty csv outcome", AB, "variant,outcome\nA,\n", "a value is required"),
    ("empty variant", AB, '{"variant": "", "outcome": true}\n', "non-empty string"),
    ("blank variant", AB, '{"variant": "   ", "outcome": true}\n', "non-empty string"),
    ("number for a variant", AB, '{"variant": 7, "outcome": true}\n', "non-empty string"),
    ("bad timestamp", AB, '{"variant": "A", "outcome": true, "timestamp": "soon"}\n', "ISO 8601"),
    (
        "second record bad",
        AB,
        '{"variant": "A", "outcome": true}\n{"variant": "B", "outcome": "no"}\n',
        "record 2",
    ),
    ("float for events", POISSON, '{"cohort": "a", "events": 1.5}\n', "whole number"),
    ("float-looking events in csv", POISSON, "cohort,events\na,2.0\n", "whole number"),
    ("string for events", POISSON, '{"cohort": "a", "events": "3"}\n', "whole number"),
    ("negative events", POISSON, '{"cohort": "a", "events": -1}\n', ">= 0"),
    ("huge events", POISSON, '{"cohort": "a", "events": 99999999999999999999}\n', "whole number"),
    ("zero exposure", POISSON, '{"cohort": "a", "events": 1, "exposure": 0}\n', "> 0"),
    ("negative exposure", POISSON, "cohort,events,exposure\na,1,-2.5\n", "> 0"),
    ("nan exposure", POISSON, "cohort,events,exposure\na,1,nan\n", "finite"),
    ("inf exposure", POISSON, "cohort,events,exposure\na,1,inf\n", "finite"),
    ("NaN literal in json", POISSON, '{"cohort": "a", "events": 1, "exposure": NaN}\n', "finite"),
    ("one variant at creation", CREATE_AB, '{"variant": "A", "outcome": true}\n', "at least 2"),
    (
        "name with sql",
        ("experiments", "create", "x; drop table y", "--type", "ab-test"),
        '{"variant": "A", "outcome": true}\n',
        "invalid experiment name",
    ),
    (
        "name with capitals",
        ("experiments", "create", "Ab-Test", "--type", "ab-test"),
        '{"variant": "A", "outcome": true}\n',
        "invalid experiment name",
    ),
    (
        "name too long",
        ("experiments", "create", "a" * 200, "--type", "ab-test"),
        '{"variant": "A", "outcome": true}\n',
        "invalid experiment name",
    ),
    (
        "name exists",
        ("experiments", "create", "ab", "--type", "ab-test"),
        '{"variant": "A", "outcome": true}\n{"variant": "B", "outcome": true}\n',
        "already exists",
    ),
    (
        "upload to missing",
        ("events", "upload", "nope"),
        '{"variant": "A", "outcome": true}\n',
        "no experiment named 'nope'",
    ),
    ("upload with bad name", ("events", "upload", "No Such"), "{}", "invalid experiment name"),
    ("delete missing", ("experiments", "delete", "nope"), "", "no experiment named 'nope'"),
    (
        "unknown type",
        ("experiments", "create", "t", "--type", "ab-tset"),
        '{"variant": "A", "outcome": true}\n',
        "unknown experiment type 'ab-tset'",
    ),
    (
        "schema of unknown type",
        ("experiments", "schema", "--type", "nope"),
        "",
        "unknown experiment",
    ),
    (
        "missing file",
        ("events", "upload", "ab", "--file", "/nonexistent/x.json"),
        "",
        "no such file",
    ),
    ("inspect missing table", ("db", "inspect", "--table-name", "nope"), "", "no table named"),
    ("posterior of missing", ("posterior", "nope", "--exact"), "", "no experiment named"),
    (
        "control not a variant",
        ("posterior", "ab", "--exact", "--control", "Z"),
        "",
        "--control 'Z' is not a variant",
    ),
    (
        "option of another type",
        ("posterior", "ab", "--exact", "--threshold", "0.5"),
        "",
        "--threshold does not apply to a ab-test",
    ),
    (
        "prior of too few values",
        ("posterior", "ab", "--exact", "--prior", "1"),
        "",
        "a ab-test prior has 2 parameters (alpha, beta), got 1 values",
    ),
    (
        "prior not positive",
        ("posterior", "ab", "--exact", "--prior", "0,1"),
        "",
        "alpha 0 is outside [1e-06, 1e+06]",
    ),
    (
        "prior infinite",
        ("posterior", "ab", "--exact", "--prior", "inf,1"),
        "",
        "alpha inf is outside",
    ),
    (
        "prior of another type",
        ("posterior", "ab", "--exact", "--prior", "shape=2"),
        "",
        "'shape' is not a parameter of a ab-test prior; its parameters: alpha, beta",
    ),
    (
        "split lacks a variant",
        ("posterior", "ab", "--exact", "--split", "A=1,C=1"),
        "",
        "--split has no weight for variant B",
    ),
    ("bandit of an ab-test", ("bandit", "allocate", "ab", "--exact"), "", "allocates no traffic"),
    ("clear cache of bad name", ("cache", "clear", "Bad Name"), "", "invalid experiment name"),
]


@pytest.mark.parametrize(
    ("argv", "stdin", "words"), [case[1:] for case in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS]
)
def test_bad_input_is_one_line_exit_1_and_changes_nothing(cli, home, ab_test, argv, stdin, words):
    before = lake_state(home)
    result = cli(*argv, stdin=stdin)
    assert result.code == 1, result
    assert result.out == ""
    assert result.err.count("\n") == 1 and result.err.startswith("vibes: error: "), result.err
    assert words in result.err
    assert lake_state(home) == before


USAGE_ERRORS = [
    ("no such command", ("bogus",)),
    ("no name", ("experiments", "create", "--type", "ab-test")),
    ("two different names", ("experiments", "create", "a", "--name", "b", "--type", "ab-test")),
    ("missing --num-events", ("generate", "ab-test")),
    ("zero events", ("generate", "ab-test", "-n", "0")),
    ("not a number", ("generate", "ab-test", "-n", "many")),
    ("unknown format", ("generate", "ab-test", "-n", "5", "--format", "xml")),
    ("unknown option", ("experiments", "list", "--colour")),
    ("too few draws", ("posterior", "ab", "--draws", "5")),
    ("no chains", ("posterior", "ab", "--chains", "0")),
    ("negative tune", ("posterior", "ab", "--tune", "-1")),
    ("prior not numbers", ("posterior", "ab", "--prior", "a,b")),
    ("prior half named", ("posterior", "ab", "--prior", "alpha=1,2")),
    ("prior named twice", ("posterior", "ab", "--prior", "alpha=1,alpha=2")),
    ("split of one variant", ("posterior", "ab", "--split", "A=1")),
    ("split without weights", ("posterior", "ab", "--split", "A,B")),
    ("split with zero weight", ("posterior", "ab", "--split", "A=0,B=1")),
    ("hdi prob above 1", ("posterior", "ab", "--hdi-prob", "1.5")),
    ("threshold above 1", ("posterior", "ab", "--threshold", "2")),
    ("negative version", ("posterior", "ab", "--as-of-version", "-1")),
]


@pytest.mark.parametrize("argv", [c[1] for c in USAGE_ERRORS], ids=[c[0] for c in USAGE_ERRORS])
def test_usage_errors_exit_2_with_one_line(cli, home, ab_test, argv):
    before = lake_state(home)
    result = cli(*argv)
    assert result.code == 2, result
    assert result.err.count("\n") == 1 and result.err.startswith("vibes: usage error: ")
    assert lake_state(home) == before


def test_upload_from_a_terminal_without_a_file_says_what_to_do(cli, ab_test, monkeypatch):
    import io
    import sys

    class Terminal(io.BytesIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(Terminal()))
    from vibes_tui.cli import main

    assert main(["events", "upload", ab_test]) == 1


def test_the_dashboard_on_an_unopenable_lake_is_one_line(home, tmp_path):
    missing = f"sqlite:{tmp_path / 'missing' / 'catalog.sqlite'}"
    result = run_vibes("tui", env={"VIBES_CATALOG_URL": missing})
    assert result.code == 1
    assert result.err.startswith("vibes: error: no lake at") and result.err.count("\n") == 1
