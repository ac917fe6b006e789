"""Breakdowns by segment (`vibes posterior NAME --by segment`): each treated variant's effect
partially pooled across segments, checked against known truth and against independent
computations of each segment's own uplift and of the traffic weights; the summary's shape,
its cache key, the CLI's table, the dashboard's forest plot, and its mistakes as errors."""

import numpy as np
import pyarrow as pa
import pytest

from tests import SHORT_RUN_R_HAT
from tests.schema_check import problems
from tests.test_contract import declared
from vibes_core import api
from vibes_core.schema import Summary
from vibes_core.segments import SAMPLING_SHARE
from vibes_core.types import get_type
from vibes_core.types.base import MAX_SEGMENTS

FAST = {"draws": 500, "tune": 500, "chains": 2}
BIG = 4000  # users per variant in each large segment
LIFT = 1.10  # the true relative uplift of B, the same in every segment
BASELINES = {"US": 0.10, "DE": 0.08, "FR": 0.12, "JP": 0.06}


def cells_table(cells: dict[tuple[str, str], tuple[int, int]]) -> pa.Table:
    """Events with exactly these (users, conversions) per (segment, variant)."""
    segment, variant, outcome = [], [], []
    for (where, group), (users, conversions) in cells.items():
        segment += [where] * users
        variant += [group] * users
        outcome += [True] * conversions + [False] * (users - conversions)
    order = np.argsort([v != "A" for v in variant], kind="stable")  # A first: the control
    return pa.table(
        {
            "variant": np.array(variant)[order],
            "outcome": np.array(outcome)[order],
            "segment": np.array(segment)[order],
        }
    )


def one_lift_and_a_lucky_tiny_segment() -> dict:
    """Every segment converts at its baseline (A) and 10% more (B), exactly as expected; the
    tiny segment XS, 30 users a variant, happened to see 3 conversions of A and 12 of B."""
    cells = {}
    for where, rate in BASELINES.items():
        cells[where, "A"] = (BIG, round(BIG * rate))
        cells[where, "B"] = (BIG, round(BIG * rate * LIFT))
    cells["XS", "A"] = (30, 3)
    cells["XS", "B"] = (30, 12)
    return cells


def own_uplift(cells: dict, where: str, rng) -> float:
    """The median of a segment's uplift from its data alone: Beta(1 + s, 1 + n - s) per
    variant, by numpy's sampler."""
    draws = {}
    for group in ("A", "B"):
        users, conversions = cells[where, group]
        draws[group] = rng.beta(1 + conversions, 1 + users - conversions, 400_000)
    return float(np.median(draws["B"] / draws["A"] - 1))


@pytest.mark.mcmc
def test_a_tiny_segment_with_an_extreme_uplift_is_pulled_toward_the_overall_effect(home):
    cells = one_lift_and_a_lucky_tiny_segment()
    api.create("seg", "ab-test", cells_table(cells))
    summary = api.fit("seg", by="segment", **FAST)
    assert summary["model"] == "segmented" and summary["by"] == "segment"
    assert summary["diagnostics"]["divergences"] == 0
    assert summary["diagnostics"]["max_r_hat"] < SHORT_RUN_R_HAT
    [overall] = [g for g in summary["groups"] if g["name"] == "B"]
    truth = LIFT - 1
    assert overall["uplift_rel"]["hdi_low"] <= truth <= overall["uplift_rel"]["hdi_high"]
    segments = {s["segment"]: s for s in summary["segments"]}
    # The largest first: by traffic, XS last.
    assert [s["segment"] for s in summary["segments"]][-1] == "XS"
    rng = np.random.default_rng(0)
    for where, segment in segments.items():
        [b] = [g for g in segment["groups"] if g["name"] == "B"]
        own = own_uplift(cells, where, rng)
        assert b["unpooled_uplift_rel"]["median"] == pytest.approx(own, abs=0.01)
        if where != "XS":
            assert b["uplift_rel"]["hdi_low"] <= truth <= b["uplift_rel"]["hdi_high"]
    [tiny] = [g for g in segments["XS"]["groups"] if g["name"] == "B"]
    raw, pooled = tiny["unpooled_uplift_rel"]["median"], tiny["uplift_rel"]["median"]
    assert raw > 2.0  # +300% by chance
    # Pulled most of the way to the overall effect, which the large segments pin down.
    center = overall["uplift_rel"]["median"]
    assert abs(pooled - center) < 0.2 * abs(raw - center), (raw, pooled, center)
    assert segments["XS"]["verdict"]["action"] != "choose" or tiny["p_beats_control"] < 0.99


@pytest.mark.mcmc
@pytest.mark.parametrize("type_name", ["ab-test", "revenue"])
def test_a_breakdown_has_the_documented_shape_weights_and_cache_key(home, type_name):
    kind = get_type(type_name)
    events = kind.generate(4000, np.random.default_rng(5), variants="A,B,C", segments="US,DE,FR")
    api.create("e", type_name, events)
    summary = api.fit("e", by="segment", **FAST)
    assert problems(summary, Summary, extra=declared(kind)) == []
    assert list(summary["prior"]) == [p.name for p in kind.segment_priors]
    assert summary["control"] == "A" and [g["name"] for g in summary["groups"]] == ["A", "B", "C"]
    # Weights: each segment's share of the users, counted here from the events.
    segment = events.column("segment").to_numpy(zero_copy_only=False)
    shares = {s["segment"]: s["share"] for s in summary["segments"]}
    for where, share in shares.items():
        assert share == pytest.approx(np.mean(segment == where), rel=1e-12)
    assert list(shares) == sorted(shares, key=lambda s: -shares[s])
    # The overall mean of each group is the traffic-weighted mean of its segments' means
    # (a linear mix of the same draws).
    for i, group in enumerate(summary["groups"]):
        mixed = sum(s["share"] * s["groups"][i]["mean"] for s in summary["segments"])
        assert group["mean"] == pytest.approx(mixed, rel=1e-9)
    names = {(h["name"], h["group"]) for h in summary["hyperparameters"]}
    assert names == {(f.name, g) for f in kind.segment_hyperparameters for g in ("B", "C")}
    spreads = {f.name for f in kind.segment_hyperparameters if f.name.endswith("tau")}
    assert spreads and spreads <= set(summary["diagnostics"]["parameters"])
    for segment_summary in summary["segments"]:
        assert segment_summary["verdict"]["events_needed"] is None  # no futures: a fit each
    assert "By segment" in summary["decision"]

    again = api.fit("e", by="segment", **FAST)
    assert again["cached"] and again["segments"] == summary["segments"]
    other_control = api.fit("e", by="segment", control="B", **FAST)
    assert not other_control["cached"]  # the effects are relative to the control
    assert other_control["control"] == "B"


def test_breakdown_mistakes_are_one_line_errors(cli, ab_test, tmp_path):
    unknown = cli("posterior", ab_test, "--by", "country")
    assert unknown.code == 1
    assert unknown.err.strip().splitlines() == [
        "vibes: error: --by country is not a segment column of an ab-test experiment; it can be "
        "broken down by: segment"
    ]
    empty = cli("posterior", ab_test, "--by", "segment")
    assert empty.code == 1 and "has no segment values yet" in empty.err
    for extra, said in (("--pooled", "leave out --pooled"), ("--exact", "leave out --exact")):
        both = cli("posterior", ab_test, "--by", "segment", extra)
        assert both.code == 1 and said in both.err and len(both.err.strip().splitlines()) == 1
    bad_prior = cli("posterior", ab_test, "--by", "segment", "--prior", "tau_sd=1")
    assert bad_prior.code == 1 and "segmented ab-test prior" in bad_prior.err
    path = tmp_path / "b.json"
    assert cli("generate", "bernoulli", "-n", "50", "--seed", "1", "-o", path).code == 0
    made = cli("experiments", "create", "b", "--type", "bernoulli", "--initial-data-file", path)
    assert made.code == 0
    none = cli("posterior", "b", "--by", "segment")
    assert none.code == 1
    assert "a bernoulli experiment cannot be broken down (it has no segment column)" in none.err


def test_a_breakdown_of_more_segments_than_the_limit_is_refused_before_any_fit(cli, home):
    """Each segment costs sampling time, memory and a summary of its own: over MAX_SEGMENTS,
    one line says what to do, and nothing is sampled (these settings would sample in a
    second or two, and then cache a fit)."""
    cells = {(f"s{j:03d}", group): (20, 2) for j in range(MAX_SEGMENTS + 1) for group in "AB"}
    api.create("many", "ab-test", cells_table(cells))
    small = ("--draws", "10", "--tune", "0", "--chains", "1")
    refused = cli("posterior", "many", "--by", "segment", *small)
    assert refused.code == 1
    assert refused.err.strip().splitlines() == [
        f"vibes: error: --by segment has {MAX_SEGMENTS + 1:,} values, and a breakdown takes at "
        f"most {MAX_SEGMENTS:,} segments: merge the rare ones into one (e.g. other) in the "
        "data, or break down by a column with fewer values"
    ]
    assert not (home / "mlflow.db").exists()  # nothing fitted, nothing cached
    schema = cli("experiments", "schema", "--type", "ab-test").json()
    assert schema["segmented"]["max_segments"] == MAX_SEGMENTS


@pytest.mark.mcmc
def test_a_breakdown_shows_its_progress_through_sampling_and_each_segments_summary(home, capsys):
    """The dashboard's bar (a function given the fraction done) runs on through the segments'
    summaries; a terminal is told what comes before PyMC's bar, then the segments counted."""
    from vibes_core import catalog, inference
    from vibes_core.models import Segmented

    cells = one_lift_and_a_lucky_tiny_segment()
    api.create("seg", "ab-test", cells_table(cells))
    settings = inference.Settings(draws=50, tune=50, chains=1, model=Segmented("segment"))
    reported: list[float] = []
    with catalog.open_lake() as lake:
        inference.posterior(lake, "seg", settings, use_cache=False, progress=reported.append)
        capsys.readouterr()
        inference.posterior(lake, "seg", settings, use_cache=False, progress=True)
    assert reported == sorted(reported) and reported[-1] == 1.0
    summarizing = [done for done in reported if done > SAMPLING_SHARE]
    assert len(summarizing) == len(BASELINES) + 1  # one after each segment
    said = capsys.readouterr().err
    assert said.startswith(
        "vibes: a breakdown of 2 variants x 5 segments by segment: compiling the model, "
        "then sampling\n"
    )
    assert said.endswith("\rvibes: summarized 5 of 5 segments\n")


@pytest.mark.mcmc
async def test_b_in_the_inspect_screen_draws_each_segments_uplift_as_a_forest(home, monkeypatch):
    from textual.widgets import DataTable

    from tests.test_tui import small_dashboard_fits
    from vibes_tui.app import VibesApp
    from vibes_tui.report import segment_rows
    from vibes_tui.widgets.plot import PlotView

    # The dashboard's fits as small as FAST, with which the shrinkage of XS is checked more
    # tightly above (the checks here are of what is shown).
    small_dashboard_fits(monkeypatch, **FAST)
    cells = one_lift_and_a_lucky_tiny_segment()
    api.create("seg", "ab-test", cells_table(cells))
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.summary is not None)
        await pilot.press("b")
        await wait_for(pilot, lambda: "segments" in (app.screen.summary or {}), 120)
        await wait_for(pilot, lambda: forests(app, PlotView))
        [spec] = forests(app, PlotView)
        names = [row["name"] for row in spec["rows"]]
        # The CLI's table beside the plot, both in one order: the largest share first (the
        # users counted here, ties by name), the tiny segment last.
        users = {
            where: sum(n for (w, _), (n, _) in cells.items() if w == where)
            for where in [*BASELINES, "XS"]
        }
        largest_first = sorted(users, key=lambda where: (-users[where], where))
        assert names == ["overall", *largest_first]
        table = app.screen.query_one("#segments", DataTable)
        headers, rows = segment_rows(app.screen.summary)
        assert table.display and table.row_count == len(rows) == len(users)  # one treated: B
        shown = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        assert shown == rows and [row[0] for row in shown] == largest_first
        assert [str(c.label) for c in table.columns.values()] == headers
        assert headers[1:4] == ["share", "variant", "uplift [94% HDI]"]
        tiny = next(row for row in spec["rows"] if row["name"] == "XS")
        assert tiny["unpooled"]["mean"] > 2.0 > 0.5 > tiny["mean"]  # shrunk, its own beside
        assert "by segment" in app.screen.sub_title
        await pilot.press("b")  # off again: the independent model's densities
        await wait_for(pilot, lambda: "segments" not in (app.screen.summary or {"segments": 1}))
        assert not forests(app, PlotView) and not table.display


def forests(app, view) -> list[dict]:
    return [
        plot.spec for plot in app.screen.query(view) if plot.spec and plot.spec["kind"] == "forest"
    ]


async def wait_for(pilot, ready, seconds: float = 60) -> None:
    for _ in range(int(seconds * 10)):
        if ready():
            return
        await pilot.pause(0.1)
    raise AssertionError("the dashboard did not get there in time")
