"""`vibes posterior --format table|json|csv|markdown`: the same answer in each, read back by
the csv module and as a Markdown table; names are data (a `|` in one stays in its cell)."""

import csv
import io
import json

import pytest


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


def test_csv_has_a_row_per_group_with_the_json_numbers(cli, piped):
    answer = cli("posterior", piped, "--exact", "--json").json()
    result = cli("posterior", piped, "--exact", "--format", "csv")
    assert result.code == 0, result.err
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert [row["group"] for row in rows] == [g["name"] for g in answer["groups"]]
    for row, group in zip(rows, answer["groups"], strict=True):
        for key in ("mean", "hdi_low", "hdi_high", "p_best", "expected_loss"):
            assert float(row[key]) == group[key]
        assert int(row["trials"]) == group["trials"]
        assert row["control"] == str(group["control"])
        if "uplift_rel" in group:
            assert float(row["uplift_rel"]) == group["uplift_rel"]["median"]
        else:
            assert row["uplift_rel"] == "" and row["p_beats_control"] == ""


def test_markdown_is_a_table_then_the_decision(cli, piped):
    answer = cli("posterior", piped, "--exact", "--json").json()
    result = cli("posterior", piped, "--exact", "--format", "markdown")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert table[1].startswith("|---|")
    assert len(table) == 2 + len(answer["groups"])
    # An escaped pipe stays inside its cell: every row has as many cells as the header.
    cells = [line.replace("\\|", "").count("|") for line in table]
    assert len(set(cells)) == 1
    assert any("B\\|[b]x" in line for line in table)
    assert answer["decision"] in lines


def test_json_is_the_default_machine_format_and_two_formats_are_a_usage_error(cli, piped):
    as_json = cli("posterior", piped, "--exact", "--json")
    formatted = cli("posterior", piped, "--exact", "--format", "json")
    assert formatted.json() == as_json.json()
    both = cli("posterior", piped, "--exact", "--json", "--format", "csv")
    assert both.code == 2
    assert "--json and --format csv ask for two formats" in both.err
    table = cli("posterior", piped, "--exact", "--format", "table")
    assert table.code == 0 and "mean [HDI]" in table.out
