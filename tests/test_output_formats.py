"""`vibes posterior --format table|json|csv|markdown`: the same answer in each, read back by
the csv module and as a Markdown table; names are data (a `|` in one stays in its cell)."""

import csv
import io
import json

import pytest


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
    assert any("B\\|\\[b]x" in line for line in table)  # escaped: see the tests below
    assert answer["decision"] in [line.replace("\\", "") for line in lines]


def test_json_is_the_default_machine_format_and_two_formats_are_a_usage_error(cli, piped):
    as_json = cli("posterior", piped, "--exact", "--json")
    formatted = cli("posterior", piped, "--exact", "--format", "json")
    assert formatted.json() == as_json.json()
    both = cli("posterior", piped, "--exact", "--json", "--format", "csv")
    assert both.code == 2
    assert "--json and --format csv ask for two formats" in both.err
    table = cli("posterior", piped, "--exact", "--format", "table")
    assert table.code == 0 and "mean [94% HDI]" in table.out


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


# Names a spreadsheet would run as formulas, or Markdown would render as links, HTML, emphasis
# or blocks; the winner's name is in the decision sentence too.
HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "-2+3",
    "@SUM(A1)",
    " +1",
    "[click](http://evil)",
    "<img src=x onerror=alert(1)>",
    "**bold** _it_ ~~s~~ `code` $x$",
    "www.evil.com a@b.io <http://x> &amp; #1 :smile: ![i](j) \\*",
]
WINNER = "[click](http://evil)"


@pytest.fixture
def hostile(cli, tmp_path) -> str:
    events = [
        {"variant": name, "outcome": i % (2 if name == WINNER else 10) == 0}
        for name in HOSTILE
        for i in range(400)
    ]
    path = tmp_path / "events.json"
    path.write_text(json.dumps(events))
    made = cli("experiments", "create", "hostile", "--type", "ab-test", "--initial-data-file", path)
    assert made.code == 0, made.err
    return "hostile"


def test_csv_text_cells_never_start_a_formula_and_numbers_stay_numbers(cli, hostile):
    answer = cli("posterior", hostile, "--exact", "--json").json()
    result = cli("posterior", hostile, "--exact", "--format", "csv")
    assert result.code == 0, result.err
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert len(rows) == len(HOSTILE) == len(answer["groups"])
    for row, group in zip(rows, answer["groups"], strict=True):
        name = group["name"]
        formula = name.lstrip(" ")[:1] in "=+-@"
        assert row["group"] == ("'" + name if formula else name)
        for key in ("mean", "hdi_low", "hdi_high", "p_best", "expected_loss"):
            assert float(row[key]) == group[key]
    assert sum(row["group"].startswith("'") for row in rows) == 4
    # A number below zero is written as one, not as text.
    lows = [float(row["uplift_rel_low"]) for row in rows if row["uplift_rel_low"]]
    assert min(lows) < 0 and str(min(lows)) in result.out.replace("'", "")


def test_markdown_renders_every_name_as_it_reads(cli, hostile):
    """Rendered by markdown-it (GitHub-like: tables, strikethrough, bare links): no link, image,
    HTML, emphasis or block comes from a name, and each cell reads as the name."""
    from markdown_it import MarkdownIt

    answer = cli("posterior", hostile, "--exact", "--json").json()
    assert WINNER in answer["decision"]
    result = cli("posterior", hostile, "--exact", "--format", "markdown")
    assert result.code == 0, result.err
    tokens = MarkdownIt("gfm-like").parse(result.out)
    inline = [token for token in tokens if token.type == "inline"]
    made = [child.type for token in inline for child in token.children]
    made += [token.type for token in tokens]
    for syntax in ("link_open", "image", "html_inline", "html_block", "code_inline", "s_open"):
        assert syntax not in made
    assert made.count("strong_open") == 1 and made.count("em_open") == 1  # title, footer
    assert {t.type for t in tokens} <= {"paragraph_open", "paragraph_close", "inline"} | {
        f"{part}_{end}"
        for part in ("table", "thead", "tbody", "tr", "th", "td")
        for end in ("open", "close")
    }

    def text(token) -> str:
        return "".join(child.content for child in token.children if child.type != "softbreak")

    first_column = [
        text(tokens[i + 1])
        for i, token in enumerate(tokens)
        if token.type == "td_open" and tokens[i - 1].type == "tr_open"
    ]
    assert first_column == [g["name"] + ("*" if g["control"] else "") for g in answer["groups"]]
    assert answer["decision"] in [text(t) for t in inline]


MARKDOWN_NAMES = [
    *HOSTILE,
    "# heading",
    "> quote",
    "- item",
    "+ item",
    "1. first",
    "2) second",
    "---",
    "===",
    "<div>block</div>",
    "[ref]: http://evil",
    "a\\|b\\\\|c",
    "mailto:x@y.z javascript:alert(1) //evil.com",
    "&#x3C;script&gt; &copy;",
    "x~y~ __u__ * star",
    "[^1] footnote",
    "ends with a backslash \\",
]


@pytest.mark.parametrize("name", MARKDOWN_NAMES)
def test_a_name_renders_as_it_reads_in_a_cell_and_at_the_start_of_a_line(name):
    """The escaping alone, against markdown-it: the name in a table cell, and beginning a
    paragraph (a decision may begin with one), is exactly its text."""
    from markdown_it import MarkdownIt

    from vibes_tui.report import markdown

    table = f"| group |\n|---|\n| {markdown(name)} |\n\n{markdown(name, line_start=True)} wins\n"
    tokens = MarkdownIt("gfm-like").parse(table)
    blocks = [t.type for t in tokens if t.type != "inline" and not t.type.startswith("t")]
    assert blocks == ["paragraph_open", "paragraph_close"], blocks  # the table and one paragraph
    inline = [t for t in tokens if t.type == "inline"]
    assert {c.type for t in inline for c in t.children} <= {"text", "text_special"}
    texts = ["".join(c.content for c in t.children) for t in inline]
    assert texts == ["group", name.strip(" "), f"{name.strip(' ')} wins"]


def test_intervals_keep_their_centres_digits_and_the_header_says_the_hdis_probability(
    cli, tmp_path
):
    """16.3% [15.6, 17.0], never [15.6, 17]: both ends to the centre's decimals, each number
    the JSON's rounded to them; the header names the HDI's probability; a leader's loss too
    small for two decimals (a Monte Carlo estimate here) says so instead of 0pp."""
    import numpy as np

    from tests.test_inference import binomial_rows, events_file

    counts = {"A": (269, 2010), "B": (64, 500), "C": (30, 1000), "D": (900, 1000), "E": (1, 1000)}
    path = events_file(tmp_path, binomial_rows("variant", "outcome", counts))
    made = cli("experiments", "create", "e", "--type", "ab-test", "--initial-data-file", path)
    assert made.code == 0, made.err
    for probability in ("0.94", "0.9", "0.5"):
        args = ("posterior", "e", "--exact", "--hdi-prob", probability)
        answer = cli(*args, "--json").json()
        result = cli(*args, "--format", "markdown")
        assert result.code == 0, result.err
        table = [line for line in result.out.splitlines() if line.startswith("|")]
        header = [cell.strip().replace("\\", "") for cell in table[0].strip("|").split("|")]
        assert header[1] == f"mean [{float(probability) * 100:g}% HDI]"
        for line, group in zip(table[2:], answer["groups"], strict=True):
            cells = [cell.strip().replace("\\", "") for cell in line.strip("|").split("|")]
            center, low, high = (
                cells[1].replace("%", "").replace("[", "").replace(",", "").replace("]", "").split()
            )
            places = {len(number.partition(".")[2]) for number in (center, low, high)}
            assert len(places) == 1, cells[1]  # the same decimals at both ends and the centre
            [decimals] = places
            for shown, value in zip(
                (center, low, high), ("mean", "hdi_low", "hdi_high"), strict=True
            ):
                assert float(shown) == round(100 * group[value], decimals), cells[1]
            loss = cells[header.index("loss")]
            if group["name"] == "D":
                assert loss == "<0.01pp" and group["expected_loss"] < 5e-5
            else:
                assert loss == f"{100 * group['expected_loss']:.2f}pp"
    rng = np.random.default_rng(0)
    draws = np.column_stack([rng.beta(1 + s, 1 + n - s, 200_000) for s, n in counts.values()])
    assert (draws.max(axis=1) - draws[:, 3]).mean() < 5e-5  # D's loss: under 0.005pp
