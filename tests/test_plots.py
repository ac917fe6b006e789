"""Plot specs from the core (vibes_core.plots, the types' plots) and the widget that draws them."""

import html
import itertools
import json
import math

import numpy as np
import pytest
from textual.app import App

from tests.test_inference import binomial_rows, events_file
from vibes_core import catalog, inference
from vibes_core.plots import traces
from vibes_core.posterior import Draws
from vibes_tui.widgets.plot import PlotView

SMALL_FIT = inference.Settings(draws=200, tune=200, chains=2)


def create(cli, tmp_path, type_name: str, rows: list[dict]) -> None:
    created = cli(
        "experiments",
        "create",
        "e",
        "--type",
        type_name,
        "--initial-data-file",
        events_file(tmp_path, rows),
    )
    assert created.code == 0, created.err


def posterior(name: str = "e", settings: inference.Settings | None = None, **keywords) -> dict:
    with catalog.open_lake() as lake:
        return inference.posterior(
            lake, name, settings or inference.Settings(), plots=True, **keywords
        )


def area(series: dict) -> float:
    return float(np.trapezoid(series["y"], series["x"]))


def assert_densities_match(spec: dict, groups: list[dict]) -> None:
    """The spec's HDIs and means are the summary's, to the last digit."""
    assert spec["kind"] == "density"
    assert [s["name"] for s in spec["series"]] == [g["name"] for g in groups]
    for series, group in zip(spec["series"], groups, strict=True):
        assert series["hdi"] == [group["hdi_low"], group["hdi_high"]]
        assert series["mean"] == group["mean"]
        assert len(series["x"]) == len(series["y"]) <= 200


def test_exact_density_is_the_beta_posterior(cli, tmp_path):
    create(cli, tmp_path, "bernoulli", binomial_rows(None, "outcome", {None: (30, 100)}))
    summary = posterior(exact=True)
    [spec] = summary["plots"]
    assert spec["title"] == "success rate"
    assert_densities_match(spec, summary["groups"])
    [series] = spec["series"]
    assert area(series) == pytest.approx(1, abs=0.005)
    mode = series["x"][int(np.argmax(series["y"]))]  # Beta(31, 71): (31 - 1) / (31 + 71 - 2)
    assert mode == pytest.approx(0.3, abs=0.005)


def test_ab_test_plots_rates_and_uplifts_with_the_summary_hdis(cli, tmp_path):
    # One variant 20 times narrower than another: its peak must still be on the grid.
    counts = {"A": (1000, 10000), "B": (9, 50), "C": (61, 500)}
    create(cli, tmp_path, "ab-test", binomial_rows("variant", "outcome", counts))
    summary = posterior(exact=True, settings=inference.Settings(options={"control": "C"}))
    rates, uplifts = summary["plots"]
    assert rates["title"] == "conversion rate per variant"
    assert_densities_match(rates, summary["groups"])
    for series in rates["series"]:
        assert area(series) == pytest.approx(1, abs=0.01)
    assert uplifts["title"] == "relative uplift over C"
    assert [s["name"] for s in uplifts["series"]] == ["A", "B"]
    for series in uplifts["series"]:
        group = next(g for g in summary["groups"] if g["name"] == series["name"])
        assert series["hdi"] == [group["uplift_rel"]["hdi_low"], group["uplift_rel"]["hdi_high"]]
        assert series["median"] == group["uplift_rel"]["median"]
        assert area(series) == pytest.approx(1, abs=0.02)  # a kernel estimate from draws


def test_poisson_plots_rates_and_ratios(cli, tmp_path):
    rows = [
        {"cohort": c, "events": e, "exposure": x}
        for c, e, x in [("p", 3, 10.0), ("q", 40, 100.0), ("r", 0, 5.0)]
    ]
    create(cli, tmp_path, "poisson-cohorts", rows)
    summary = posterior(exact=True, settings=inference.Settings(options={"control": "q"}))
    rates, ratios = summary["plots"]
    assert_densities_match(rates, summary["groups"])
    for series in rates["series"]:  # r has no events: its density is highest at 0
        assert area(series) == pytest.approx(1, abs=0.01)
        assert all(np.isfinite(series["y"]))
    assert ratios["title"] == "rate ratio to q"
    for series in ratios["series"]:
        group = next(g for g in summary["groups"] if g["name"] == series["name"])
        assert series["hdi"] == [group["rate_ratio"]["hdi_low"], group["rate_ratio"]["hdi_high"]]


def test_bandit_plots_the_allocation(cli, tmp_path):
    rows = binomial_rows("arm", "reward", {"a": (5, 100), "b": (30, 100), "c": (10, 100)})
    create(cli, tmp_path, "multi-armed-bandits", rows)
    summary = posterior(exact=True)
    rates, allocation = summary["plots"]
    assert rates["title"] == "reward rate per arm"
    assert allocation["kind"] == "bars" and allocation["labels"] == ["a", "b", "c"]
    assert sum(allocation["values"]) == pytest.approx(1)
    assert allocation["values"] == list(summary["allocation"].values())


def test_rank_plots_are_flat_for_mixed_chains_and_not_for_a_stuck_one():
    rng = np.random.default_rng(0)
    chains, per_chain = 4, 2000
    mixed = Draws(["x"], rng.normal(size=(chains * per_chain, 1)))
    [spec] = traces(mixed, chains)
    assert spec["kind"] == "lines" and [s["name"] for s in spec["series"]] == [
        f"chain {c}" for c in range(chains)
    ]
    for series in spec["series"]:
        assert np.mean(series["y"]) == pytest.approx(1)  # every draw counted once
        assert max(abs(y - 1) for y in series["y"]) < 0.5
    stuck = mixed.samples.copy()
    stuck[:per_chain] += 2  # chain 0 (the first rows: chain-major) samples somewhere else
    [spec] = traces(Draws(["x"], stuck), chains)
    first = spec["series"][0]["y"]
    assert first[-1] > 3 and first[0] < 0.1  # its draws pile up at the top ranks


@pytest.mark.mcmc
def test_mcmc_plots_survive_the_cache_but_never_reach_it(cli, ab_test):
    fitted = posterior(ab_test, SMALL_FIT)
    assert fitted["cached"] is False and fitted["method"] == "mcmc"
    assert_densities_match(fitted["plots"][0], fitted["groups"])
    assert [spec["title"] for spec in fitted["traces"]] == [
        f"rank plot of {g['name']} (flat near 1 = chains agree)" for g in fitted["groups"]
    ]
    for spec in fitted["traces"]:  # a well-mixed fit: each chain has its share of low ranks
        for chain in spec["series"]:
            below_median = sum(chain["y"][:10]) / sum(chain["y"])
            assert 0.3 < below_median < 0.7

    json.dumps([fitted["plots"], fitted["traces"]], allow_nan=False)  # plain JSON data

    hit = posterior(ab_test, SMALL_FIT)
    assert hit["cached"] is True
    for fresh, cached in zip(fitted["plots"], hit["plots"], strict=True):
        assert [s["hdi"] for s in cached["series"]] == [s["hdi"] for s in fresh["series"]]
    assert hit["traces"] == fitted["traces"]

    # Other summary options on the hit: the stored draws are read once, for both.
    other = posterior(
        ab_test, inference.Settings(draws=200, tune=200, chains=2, options={"control": "B"})
    )
    assert other["cached"] is True and other["plots"][1]["title"] == "relative uplift over B"
    a = next(g for g in other["groups"] if g["name"] == "A")
    assert other["plots"][1]["series"][0]["hdi"] == [
        a["uplift_rel"]["hdi_low"],
        a["uplift_rel"]["hdi_high"],
    ]

    printed = cli("posterior", ab_test, "--json", "--draws", 200, "--tune", 200, "--chains", 2)
    assert printed.code == 0, printed.err
    assert printed.json()["cached"] is True  # the stored summary: no plots in it either
    assert "plots" not in printed.json() and "traces" not in printed.json()
    exact = cli("posterior", ab_test, "--json", "--exact").json()
    assert "plots" not in exact and "traces" not in exact


class PlotApp(App):
    def compose(self):
        yield PlotView()


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "no-colour-ansi"])
async def test_plot_view_draws_every_kind_of_spec(cli, tmp_path, monkeypatch, no_color):
    rows = binomial_rows("variant", "outcome", {"control": (40, 400), "treatment": (55, 400)})
    create(cli, tmp_path, "ab-test", rows)
    specs = posterior(exact=True)["plots"]
    draws = Draws(["x"], np.random.default_rng(0).normal(size=(400, 1)))
    specs += [
        {
            "kind": "bars",
            "title": "next batch",
            "xlabel": "share",
            "labels": ["left", "right"],
            "values": [0.25, 0.75],
        },
        *traces(draws, 2),
    ]
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    app = PlotApp()
    async with app.run_test(size=(80, 24)) as pilot:
        if no_color:
            app.theme = "ansi-dark"
        assert app.no_color is no_color
        view = app.query_one(PlotView)
        assert "conversion" not in screen_text(app)  # constructed empty
        expected = [
            ("conversion rate per variant", "control", "treatment"),
            ("relative uplift over control", "treatment"),
            ("next batch", "left 25%", "right 75%"),
            ("rank plot of x", "chain 0", "chain 1"),
        ]
        for spec, words in zip(specs, expected, strict=True):
            view.show(spec)
            await pilot.pause()
            text = screen_text(app)
            for word in words:
                assert word in text, (spec["title"], word)


def screen_text(app) -> str:
    return html.unescape(app.export_screenshot()).replace("\xa0", " ")


@pytest.mark.parametrize("groups", [6, 7, 12])
def test_from_seven_groups_forest_plots_replace_overlaid_densities(groups):
    """Twelve overlaid densities repeat six colours and lose their legend: from seven groups
    on, a row per group (mean and HDI, highest first) for the quantity and the uplift."""
    from vibes_core.types import get_type

    kind = get_type("ab-test")
    names = [f"v{i:02d}" for i in range(groups)]
    rows = [{"variant": n, "trials": 1000, "successes": 50 + 7 * i} for i, n in enumerate(names)]
    stats = kind.stats(rows)
    prior = kind.prior(None, stats)
    options = {"hdi_prob": 0.94, "prior": prior}
    posterior = kind.exact(stats, prior)
    summary = kind.summarize(posterior, stats, options)
    specs = kind.plots(posterior, stats, summary, options)
    if groups < 7:
        assert [spec["kind"] for spec in specs] == ["density", "density"]
        return
    assert [spec["kind"] for spec in specs] == ["forest", "forest"]
    quantity, uplift = specs
    means = {group["name"]: group["mean"] for group in summary["groups"]}
    assert [row["name"] for row in quantity["rows"]] == sorted(names, key=lambda n: -means[n])
    for row in quantity["rows"]:
        group = next(g for g in summary["groups"] if g["name"] == row["name"])
        assert row["hdi"] == [group["hdi_low"], group["hdi_high"]] and row["unpooled"] is None
    assert len(uplift["rows"]) == groups - 1  # every group but the control
    assert [row["mean"] for row in uplift["rows"]] == sorted(
        (row["mean"] for row in uplift["rows"]), reverse=True
    )


def test_axes_are_in_the_quantity_unit_with_the_line_of_no_difference(cli, tmp_path):
    """Rates and uplifts in percent with the uplift's 0 marked; a rate ratio's 1 marked."""
    rows = binomial_rows("variant", "outcome", {"A": (40, 400), "B": (55, 400)})
    create(cli, tmp_path, "ab-test", rows)
    rates, uplifts = posterior(exact=True)["plots"]
    assert (rates["percent"], rates["reference"]) == (True, None)
    assert (uplifts["percent"], uplifts["reference"]) == (True, 0.0)
    assert cli("experiments", "delete", "e").code == 0
    visits = [{"cohort": c, "exposure": 10.0, "events": n} for c, n in [("a", 30), ("b", 45)]]
    create(cli, tmp_path, "poisson-cohorts", visits)
    counts, ratios = posterior(exact=True)["plots"]
    assert (counts["percent"], counts["reference"]) == (False, None)
    assert (ratios["percent"], ratios["reference"]) == (False, 1.0)


def test_the_drawn_axis_is_in_percent_with_round_ticks_and_the_zero_line():
    import plotext

    from vibes_tui.drawing import Pen, draw

    x = np.linspace(-0.25, 0.07, 150)
    spec = {
        "kind": "density",
        "title": "relative uplift over A",
        "xlabel": "(variant - A) / A",
        "percent": True,
        "reference": 0.0,
        "series": [
            {
                "name": "B",
                "x": x.tolist(),
                "y": np.exp(-((x + 0.1) ** 2) / 0.002).tolist(),
                "hdi": [-0.19, -0.01],
            }
        ],
    }
    draw(plotext, spec, Pen())
    plotext.plotsize(80, 12)
    lines = plotext.uncolorize(plotext.build()).rstrip("\n").split("\n")
    assert lines[-1].split() == ["(variant", "-", "A)", "/", "A"]
    assert lines[-2].split() == ["-20%", "-15%", "-10%", "-5%", "0%"]
    bottom = lines[-3]
    zero = bottom.index("┴")  # where the vertical line at 0 meets the frame
    assert lines[-2][zero - 1 : zero + 2].strip() == "0%"
    inner = [line for line in lines if line.startswith("│")]
    assert sum(line[zero] == "│" for line in inner) >= len(inner) - 1  # a curve may cross it


def test_a_density_curve_ends_on_the_axis_instead_of_running_along_it():
    """Two curves far apart on one x axis: each is drawn only where it rises (one point past
    each end, at the axis), so that its zero tail does not paint over the other's curve."""
    from vibes_tui.drawing import VISIBLE, visible

    x = np.linspace(0, 1, 201)
    y = np.exp(-((x - 0.2) ** 2) / 0.001)
    shown_x, shown_y = visible(x.tolist(), y.tolist())
    assert shown_y[0] <= VISIBLE * y.max() and shown_y[-1] <= VISIBLE * y.max()
    assert all(value > VISIBLE * y.max() for value in shown_y[1:-1])
    mass = y[(x >= shown_x[0]) & (x <= shown_x[-1])].sum() / y.sum()
    assert mass > 0.999 and shown_x[-1] < 0.5  # the flat tail to 1 is gone


async def test_on_the_linux_console_plots_have_no_canvas_band_and_no_braille(
    cli, tmp_path, monkeypatch
):
    rows = binomial_rows("variant", "outcome", {"A": (40, 400), "B": (55, 400)})
    create(cli, tmp_path, "ab-test", rows)
    specs = posterior(exact=True)["plots"]
    braille = [chr(c) for c in range(0x2800, 0x2900)]
    for term, plain in [("xterm-256color", False), ("linux", True)]:
        monkeypatch.setenv("TERM", term)
        app = PlotApp()
        async with app.run_test(size=(80, 24)) as pilot:
            view = app.query_one(PlotView)
            view.show(specs[0])
            await pilot.pause()
            text = screen_text(app)
            assert "conversion rate per variant" in text
            assert (view.theme == "textual-clear") is plain  # the terminal's own background
            assert any(c in text for c in braille) is not plain


def round_ticks(labels: list[str]) -> bool:
    """Ticks 1, 2 or 5 times a power of ten apart, each with the decimals of that step and no
    more (1,470 1,475 1,480, not 1475.0; 0 200 400 600, not 618 515)."""
    values = [float(label.rstrip("%k").replace(",", "")) for label in labels]
    steps = {round(b - a, 9) for a, b in itertools.pairwise(values)}
    if len(steps) != 1:
        return False
    [step] = steps
    mantissa = step / 10 ** math.floor(math.log10(step))
    decimals = max(0, -math.floor(math.log10(step)))
    places = {len(label.rstrip("%k").partition(".")[2]) for label in labels}
    return round(mantissa, 9) in (1, 2, 5) and places == {decimals}


def test_every_axis_is_labelled_by_one_rule():
    """Issue 23: one plot's axis said 1475.0, another's 618. The x axis of a quantity in the
    thousands, the counts of a stacked bar chart and a rank plot's y axis: all round ticks
    written alike."""
    import plotext

    from vibes_tui.drawing import Pen, draw

    x = np.linspace(1465.0, 1486.0, 150)
    value = {
        "kind": "density",
        "title": "value per user",
        "xlabel": "value per user",
        "percent": False,
        "reference": None,
        "series": [
            {
                "name": "A",
                "x": x.tolist(),
                "y": np.exp(-((x - 1475) ** 2) / 20).tolist(),
                "hdi": [1470.0, 1480.0],
            }
        ],
    }
    counts = {
        "kind": "bars",
        "title": "events per day",
        "labels": ["2026-10-19", "2026-10-20", "2026-10-21"],
        "series": [
            {"name": "A", "values": [309, 412, 300]},
            {"name": "B", "values": [206, 206, 300]},
        ],
    }
    rank = traces(Draws(["x"], np.random.default_rng(0).normal(size=(400, 1))), 2)[0]
    for spec, axes in ((value, "x"), (counts, "y"), (rank, "xy")):
        draw(plotext, spec, Pen())
        plotext.plotsize(80, 14)
        lines = plotext.uncolorize(plotext.build()).rstrip("\n").split("\n")
        frame = next(i for i, line in enumerate(lines) if "└" in line)
        if "x" in axes:  # the line under the frame
            assert round_ticks(lines[frame + 1].split()), lines[frame + 1]
        if "y" in axes:  # left of the frame, on the lines that have a tick
            ticked = [line for line in lines[:frame] if "┤" in line or "├" in line]
            labels = [line.replace("├", "┤").split("┤")[0].strip() for line in ticked]
            assert round_ticks(labels[::-1]), labels
