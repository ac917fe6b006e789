"""`vibes posterior --format table|json|csv|markdown`: the same answer in each, read back by
the csv module and as a Markdown table; names are data (a `|` in one stays in its cell)."""

import csv
import io


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


def on_terminal(*args: str, **env: str) -> tuple[int, str, str]:
    """`vibes ARGS` with stdout on a pseudo-terminal 100 columns wide: exit code, what the
    terminal showed, stderr."""
    import os
    import subprocess
    import threading

    from tests.conftest import VIBES

    terminal, follower = os.openpty()
    shown = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(terminal, 65536)
            except OSError:  # the process closed its end
                return
            if not chunk:
                return
            shown.append(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        done = subprocess.run(
            [VIBES, *args],
            stdout=follower,
            stderr=subprocess.PIPE,
            env={**os.environ, "COLUMNS": "100", "LINES": "40", **env},
            timeout=300,
        )
    finally:
        os.close(follower)
        reader.join(10)
        os.close(terminal)
    return done.returncode, b"".join(shown).decode(), done.stderr.decode()


BRAILLE = range(0x2800, 0x2900)
ESCAPE = "\x1b["


def test_plot_draws_the_densities_below_the_table_on_a_terminal(piped):
    code, shown, err = on_terminal("posterior", piped, "--exact", "--plot")
    assert code == 0, err
    table, _, plots = shown.partition("conversion rate per variant")
    assert "B|[b]x" in table and plots  # the table, then the first plot
    assert "relative uplift over A" in plots and "B|[b]x" in plots  # a name is data
    assert "0%" in plots and "%" in plots.split("relative uplift")[0]  # axes in percent
    assert any(ord(c) in BRAILLE for c in plots) and ESCAPE in plots
    assert max(len(line.rstrip()) for line in plots.replace("\r", "").split("\n")) > 80


def test_plot_on_a_plain_console_or_without_colour_keeps_to_what_it_can_show(piped):
    code, shown, err = on_terminal("posterior", piped, "--exact", "--plot", TERM="linux")
    assert code == 0, err
    assert "relative uplift over A" in shown and not any(ord(c) in BRAILLE for c in shown)
    code, shown, err = on_terminal("posterior", piped, "--exact", "--plot", NO_COLOR="1")
    plots = shown.partition("conversion rate per variant")[2]
    assert code == 0 and "relative uplift over A" in plots and ESCAPE not in plots


def test_plot_in_a_pipe_is_left_out_with_a_note_and_needs_the_table(cli, piped):
    plain = cli("posterior", piped, "--exact")
    piped_plot = cli("posterior", piped, "--exact", "--plot")
    assert piped_plot.code == 0 and piped_plot.out == plain.out
    assert "--plot draws only on a terminal" in piped_plot.err
    wrong = cli("posterior", piped, "--exact", "--plot", "--json")
    assert wrong.code == 2 and "--plot" in wrong.err and wrong.out == ""
