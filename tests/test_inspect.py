"""One experiment's screen through Textual's Pilot at 80x24, on a temporary VIBES_HOME with real
data: its header, what its tabs write, the verdict's conditions, where a fit's progress shows,
and fits that outlive the screen."""

import itertools
from datetime import datetime

import numpy as np
import pytest
from textual.widgets import DataTable, ProgressBar

from tests.conftest import run_vibes
from tests.test_inference import binomial_rows, events_file
from tests.test_tui import drawn, settle, three, until  # noqa: F401  (three: a fixture)
from vibes_tui.app import VibesApp
from vibes_tui.screens.confirm import ConfirmClear
from vibes_tui.screens.experiments import ExperimentsScreen
from vibes_tui.screens.inspect import InspectScreen

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def create(cli, tmp_path, name: str, rows: list[dict], *options: str) -> None:
    path = events_file(tmp_path, rows, f"{name}.ndjson")
    made = cli(
        "experiments", "create", name, "--type", "ab-test", "--initial-data-file", path, *options
    )
    assert made.code == 0, made.err


def text(widget) -> str:
    return str(widget.render())


async def open_experiment(app, pilot, name: str) -> InspectScreen:
    await settle(app, pilot)
    app.open_experiment(name)
    await until(pilot, lambda: isinstance(app.screen, InspectScreen) and app.screen.summary)
    return app.screen


async def test_the_header_names_it_and_the_data_tab_writes_times_and_booleans_as_read(
    home, cli, tmp_path
):
    """The display name in the header (as it is: brackets are not markup); the latest events
    with their times local and to the second, booleans as the data has them; one snapshot is
    not plural."""
    rows = [
        {
            "variant": "AB"[i % 2],
            "outcome": i % 3 == 0,
            "timestamp": f"2026-11-0{1 + i % 5}T1{i % 10}:2{i % 6}:3{i % 10}.52{i % 10}Z",
        }
        for i in range(60)
    ]
    create(cli, tmp_path, "signup", rows, "--display-name", "Sign-up [b]flow[/b]")
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_experiment(app, pilot, "signup")
        await until(pilot, lambda: screen.title == "Sign-up [b]flow[/b]")
        await pilot.pause()
        header = drawn(screen.query_one("HeaderTitle"))
        assert "Sign-up [b]flow[/b]" in header and "signup" in header

        await pilot.press("3")
        head = screen.query_one("#head", DataTable)
        await until(pilot, lambda: head.row_count == 20)
        labels = [str(column.label) for column in head.columns.values()]
        shown = [dict(zip(labels, map(str, head.get_row_at(i)), strict=True)) for i in range(20)]
        latest = sorted(rows, key=lambda row: row["timestamp"], reverse=True)[:20]
        for cell, row in zip(shown, latest, strict=True):
            when = datetime.fromisoformat(row["timestamp"]).astimezone()
            assert cell["timestamp"] == when.strftime("%Y-%m-%d %H:%M:%S")
            assert cell["outcome"] == ("true" if row["outcome"] else "false")

        await pilot.press("4")
        status = screen.query_one("#history-status")
        await until(pilot, lambda: "added events" in text(status))
        assert text(status).startswith("1 snapshot added events; showing the latest")


def expected_loss(counts: dict, draws: int = 400_000) -> dict[str, float]:
    """E[max over groups - group], by Monte Carlo from the Beta(1 + s, 1 + n - s) posteriors."""
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.beta(1 + s, 1 + n - s, draws) for s, n in counts.values()])
    return dict(zip(counts, (x.max(axis=1)[:, None] - x).mean(axis=0), strict=True))


@pytest.mark.parametrize(
    ("counts", "met"),
    [
        ({"A": (2000, 20_000), "B": (2100, 20_000)}, True),  # B's loss is within 0.25% of A's
        ({"A": (40, 400), "B": (55, 400)}, False),  # too few events: B's loss is above it
    ],
)
async def test_the_posterior_tab_says_where_each_condition_of_a_choice_stands(
    home, cli, tmp_path, counts, met
):
    """Keep running, and why: the leader's expected loss against the max-loss (checked here
    by Monte Carlo), and the evidence against the one needed when the verdict carries it."""
    create(cli, tmp_path, "e", binomial_rows("variant", "outcome", counts))
    loss = expected_loss(counts)["B"] / (counts["A"][0] / counts["A"][1])
    assert bool(loss < 0.0025) == met
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_experiment(app, pilot, "e")
        conditions = screen.query_one("#conditions")
        assert screen.summary["verdict"]["action"] == "keep-running"
        said = text(conditions)
        assert conditions.display and said.startswith("to choose B: loss ")
        assert f"of A (≤ 0.25%: {'met' if met else 'missing'})" in said
        if "bayes_factor" in screen.summary["verdict"]:  # what the verdict says of it
            assert "evidence " in said and "(≥ 20: missing)" in said
        assert conditions.region.bottom <= 23  # in sight, above the table


@pytest.mark.mcmc
async def test_with_40_variants_the_fits_progress_is_in_sight(home, cli, tmp_path):
    counts = {f"v{i:02d}": (10 + i % 7, 100) for i in range(40)}
    create(cli, tmp_path, "forty", binomial_rows("variant", "outcome", counts))
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_experiment(app, pilot, "forty")
        bar = screen.query_one("#fit-progress", ProgressBar)
        await until(pilot, lambda: screen.following and screen.following.progress > 0)
        await pilot.pause(0.3)
        assert bar.display and bar.region.height == 1 and bar.region.bottom <= 23
        assert "fitting with MCMC" in text(screen.query_one("#fit-status"))
        assert bar.progress > 0
    # Quitting stops the fit: the app's exit cancels its workers.


@pytest.mark.mcmc
async def test_leaving_an_experiment_lets_its_fit_finish_and_reopening_follows_it(
    home, cli, tmp_path
):
    """The fit is the app's: escape leaves it running; reopening follows it (or finds it
    done and cached) instead of starting another."""
    counts = {f"v{i}": (20 + 3 * i, 200) for i in range(12)}  # a fit of several seconds
    create(cli, tmp_path, "twelve", binomial_rows("variant", "outcome", counts))
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_experiment(app, pilot, "twelve")
        await until(pilot, lambda: screen.following and screen.following.progress > 0)
        job = screen.following
        assert not job.done
        await pilot.press("escape")  # mid-sampling
        assert isinstance(app.screen, ExperimentsScreen)
        app.open_experiment("twelve")
        again = app.screen
        await until(pilot, lambda: again.following is job or job.done)
        await until(pilot, lambda: again.summary and again.summary["method"] == "mcmc")
        assert job.summary is not None and job.error is None  # finished, not thrown away
        assert app.fits.find(("twelve",)) is None  # and no other fit started
        await settle(app, pilot)
    fits = run_vibes("cache", "list", "twelve").json()
    assert len(fits) == 1  # cached: opening it again reads it


@pytest.mark.mcmc
@pytest.mark.usefixtures("three")
async def test_c_asks_before_clearing_the_cached_fits(home):
    assert run_vibes("posterior", "ab").code == 0  # fitted and cached by another process
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_experiment(app, pilot, "ab")
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmClear))
        assert "Clear the cached fits of ab?" in text(app.screen.query_one("#question"))
        await pilot.press("n")
        await settle(app, pilot)
        assert isinstance(app.screen, InspectScreen)
        assert len(run_vibes("cache", "list", "ab").json()) == 1  # kept
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmClear))
        await pilot.press("y")
        await settle(app, pilot)
    assert run_vibes("cache", "list", "ab").json() == []


@pytest.mark.mcmc
@pytest.mark.usefixtures("three")
async def test_diagnostics_wrap_within_their_columns(home):
    """At 80 columns a long value or meaning folds within its own column, never back to the
    first one where the names are."""
    assert run_vibes("posterior", "ab", "--pooled").code == 0
    app = VibesApp()
    async with app.run_test(size=(60, 24)) as pilot:
        screen = await open_experiment(app, pilot, "ab")
        await pilot.press("p")
        await until(pilot, lambda: screen.summary and screen.summary["model"] == "pooled")
        await pilot.press("2")
        await pilot.pause(0.3)
        lines = drawn(screen.query_one("#diagnostics-text")).splitlines()
        names = ("max r_hat", "min bulk ESS", "min tail ESS", "divergences", "parameters")
        names += ("sampler", "chains x draws", "fit", "mu", "tau", "typical")
        assert any(line.strip().startswith("max r_hat") for line in lines)
        width = max(len(name) for name in names) + 1
        for line in lines:  # a line is a row's first, or a continuation under its columns
            assert line[:width].strip() == "" or line.strip().startswith(names), lines
        assert any(line[:width].strip() == "" and line.strip() for line in lines), lines


async def test_at_an_earlier_snapshot_the_footer_keeps_its_keys_within_80_columns(
    home, cli, tmp_path
):
    """`l Latest` joins the footer: `o Options` and `? Help` stay whole, left of the palette."""
    from textual.widgets._footer import FooterKey

    create(cli, tmp_path, "e", binomial_rows("variant", "outcome", {"A": (4, 40), "B": (6, 40)}))
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_experiment(app, pilot, "e")
        await pilot.press("4")
        snapshots = screen.query_one("#snapshots", DataTable)
        await until(pilot, lambda: snapshots.row_count == 1)
        screen.show_as_of(int(str(snapshots.get_row_at(0)[0])))
        await until(pilot, lambda: screen.summary is not None)
        await pilot.pause()
        keys = {key.key_display: key.region for key in screen.query(FooterKey)}
        assert {"l", "o", "?"} <= set(keys)
        regions = sorted(keys.values(), key=lambda region: region.x)
        assert all(a.right <= b.x for a, b in itertools.pairwise(regions))
        assert regions[-1].right <= 80


async def test_the_posterior_is_said_to_be_of_the_snapshot_history_lists(home, cli, tmp_path):
    """Other experiments' uploads move the lake on: the posterior names the snapshot that last
    added this one's events, as History numbers them, not the lake's latest."""
    create(cli, tmp_path, "e", binomial_rows("variant", "outcome", {"A": (4, 40), "B": (6, 40)}))
    create(cli, tmp_path, "other", binomial_rows("variant", "outcome", {"A": (1, 9), "B": (2, 9)}))
    app = VibesApp()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_experiment(app, pilot, "e")
        assert screen.summary["snapshot"] == app.main_lake().snapshot_id()  # the lake's
        await pilot.press("4")
        snapshots = screen.query_one("#snapshots", DataTable)
        await until(pilot, lambda: snapshots.row_count == 1)
        listed = int(str(snapshots.get_row_at(0)[0]))
        assert listed < screen.summary["snapshot"]
        footer = screen.query_one("#fit-footer")
        said = f"as of snapshot {listed} (the latest that added events)"
        await until(pilot, lambda: said in text(footer))
        assert f"snapshot {screen.summary['snapshot']}" not in text(footer)
