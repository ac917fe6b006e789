"""The summary's TypedDicts (vibes_core.schema) are its one description: the README's table of
its keys names exactly theirs, and says "only" of exactly the keys some summaries lack; the
keys an answer adds (and the cache leaves out) are one of them, Answer; and what a summary is
of is read from its ``model`` (segments_of), which agrees with what real fits hold."""

import re
import typing
from pathlib import Path

import pytest

from tests import snapshot_lake
from tests.schema_check import problems
from tests.test_contract import declared
from vibes_core import catalog, inference
from vibes_core.models import Independent, Segmented
from vibes_core.schema import ANSWER_KEYS, Answer, Findings, Summary, segments_of
from vibes_core.types import get_type
from vibes_tui import report

ROOT = Path(__file__).parents[1]
DRAWING_ONLY = {"plots", "traces"}  # the dashboard's: never printed, so not in the table
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def documented() -> dict[str, str]:
    """The README's table of a summary's keys: each key named in a row's first cell -> what
    the row says of it."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### The summary, key by key") :]
    table = section[section.index("| key |") :].split("\n\n")[0]
    rows = {}
    for line in table.splitlines()[2:]:  # after the header and its rule
        first, said = line.strip().strip("|").split("|", 1)
        rows |= dict.fromkeys(re.findall(r"`([^`]+)`", first), said)
    return rows


def test_the_readme_table_names_exactly_the_keys_of_the_summary_type():
    keys = set(typing.get_type_hints(Summary)) - DRAWING_ONLY
    assert set(documented()) == keys


def test_the_readme_says_only_of_exactly_the_keys_some_summaries_lack():
    table = documented()
    optional = {key for key in table if key in Summary.__optional_keys__}
    said_only = {key for key, said in table.items() if re.search(r"\bonly\b", said)}
    assert said_only == optional and optional == Summary.__optional_keys__ - DRAWING_ONLY


def test_a_summary_is_its_answer_its_findings_and_how_they_were_found():
    hints = typing.get_type_hints
    assert tuple(hints(Answer)) == ANSWER_KEYS  # what the cache stores leaves out these
    own = set(hints(Summary)) - set(hints(Answer)) - set(hints(Findings))
    assert own == {"method", "diagnostics", *DRAWING_ONLY}
    assert not set(hints(Answer)) & set(hints(Findings))


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """The snapshot tests' ab-test by country and pricing page, fitted from their recorded
    draws (no sampling): independent (exact), pooled and broken down by segment."""
    home = tmp_path_factory.mktemp("summary-types") / "vibes-home"
    with pytest.MonkeyPatch.context() as env:
        snapshot_lake.isolate(env, home)
        fits = snapshot_lake.build(home)
        chosen = [one for one in fits if one.settings.model != Independent()]
        try:
            snapshot_lake.fit(chosen)
        except snapshot_lake.Stale as why:
            pytest.fail(f"{why}: run make screenshots", pytrace=False)
        with catalog.open_lake() as lake:
            found = [inference.posterior(lake, one.experiment, one.settings) for one in chosen]
            found += [
                inference.posterior(lake, one.experiment, exact=True)
                for one in chosen
                if isinstance(one.settings.model, Segmented)
            ]
        yield {summary["model"]: summary for summary in found}


def test_what_a_summary_is_of_is_read_from_its_model(fitted):
    assert set(fitted) == {"independent", "pooled", "segmented"}
    for model, summary in fitted.items():
        kind = get_type(summary["type"])
        assert problems(summary, Summary, extra=declared(kind)) == []
        segments = segments_of(summary)
        if model == "segmented":
            assert segments is summary["segments"] and len(segments) == 6
            assert summary["by"] == "segment" and summary["hyperparameters"]
        else:
            assert segments is None and "segments" not in summary and "by" not in summary
            assert ("hyperparameters" in summary) == (model == "pooled")


def test_the_report_says_the_model_and_breaks_down_only_a_breakdown(fitted):
    names = {model: report.model_name(summary) for model, summary in fitted.items()}
    assert names == {
        "independent": "ab-test",
        "pooled": f"{fitted['pooled']['type']}, pooled",
        "segmented": "ab-test, by segment",
    }
    for model, summary in fitted.items():
        csv = report.formatted(summary, "csv").splitlines()
        segmented = model == "segmented"
        assert csv[0].startswith("segment,group,") == segmented
        groups = len(summary["groups"])
        rows = groups * (1 + len(summary["segments"])) if segmented else groups
        assert len(csv) == 1 + rows
    segmented = fitted["segmented"]
    headers, rows = report.segment_rows(segmented)
    treated = len(segmented["groups"]) - 1
    assert headers[0] == "segment" and len(rows) == treated * len(segmented["segments"])
