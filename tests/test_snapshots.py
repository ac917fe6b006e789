"""Every screen as an SVG, compared with the one accepted before: a layout regression fails.

The lake is the seeded demo (tests/snapshot_lake.py) with its snapshot times frozen, and every
fit is made from draws recorded once (tests/fits/) and read back from the cache, so each
screenshot is the same on every run and every machine. `make screenshots` records the fits
that need it and accepts new pictures (pytest --snapshot-update), then turns them into
screenshots/ for the README.
"""

import numpy as np
import pytest
from textual.widgets import Input

from tests import snapshot_lake
from tests.test_tui import settle, until
from vibes_core import inference
from vibes_tui.app import VibesApp
from vibes_tui.screens.inspect import InspectScreen

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.xdist_group("snapshots"),  # one worker seeds the demo lake once for all
]
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory):
    """The demo lake, every experiment fitted once from its recorded draws: the dashboard
    shows cached fits."""
    home = tmp_path_factory.mktemp("snapshots") / "vibes-home"
    with pytest.MonkeyPatch.context() as env:
        snapshot_lake.isolate(env, home)
        try:
            snapshot_lake.fit(snapshot_lake.build(home))
        except snapshot_lake.Stale as why:
            pytest.fail(f"{why}: run make screenshots", pytrace=False)
        events = home.parent / "batch.csv"
        events.write_text(
            "variant,outcome,timestamp\n"
            + "".join(
                f"{'AB'[i % 2]},{str(i % 7 == 0).lower()},2026-11-03T0{i % 10}:00:00Z\n"
                for i in range(40)
            )
        )
        env.chdir(home.parent)  # the upload screen shows the path as typed: batch.csv
        yield home


@pytest.fixture(scope="module")
def shop_lake(tmp_path_factory):
    """An experiment on units alone in a lake (tests/snapshot_lake.build_shop): its exact
    scorecard is drawn, nothing is sampled."""
    home = tmp_path_factory.mktemp("shop-snapshots") / "vibes-home"
    with pytest.MonkeyPatch.context() as env:
        snapshot_lake.isolate(env, home)
        snapshot_lake.build_shop_lake(home)
    return home


@pytest.fixture
def shop_home(shop_lake, monkeypatch):
    """That lake for one test (over the demo lake's environment, if set)."""
    snapshot_lake.isolate(monkeypatch, shop_lake)
    monkeypatch.chdir(shop_lake.parent)
    return shop_lake


async def settled(pilot) -> None:
    """Every worker done, every toast gone: what the person sees once the app is quiet."""
    app = pilot.app
    await settle(app, pilot)
    if isinstance(app.screen, InspectScreen):
        screen = app.screen
        await until(pilot, lambda: screen.summary and screen.summary["method"] == "mcmc", 120)
        await settle(app, pilot)
    app.clear_notifications()
    for field in app.screen.query(Input):  # a blinking cursor is drawn or not by the clock
        field.cursor_blink = False
    await pilot.pause()


def snapshot(snap_compare, size, *keys: str, then=None) -> bool:
    async def run_before(pilot) -> None:
        await settled(pilot)
        for key in keys:
            await pilot.press(key)
            await settled(pilot)
        if then:
            await then(pilot)
            await settled(pilot)

    return snap_compare(VibesApp(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_home(demo_home, snap_compare, size):
    assert snapshot(snap_compare, size)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    "tab", ["1", "2", "3", "4"], ids=["posterior", "diagnostics", "data", "history"]
)
def test_inspect(demo_home, snap_compare, size, tab):
    assert snapshot(snap_compare, size, "enter", tab)


@pytest.mark.parametrize("size", SIZES)
def test_inspect_bandit_allocation(demo_home, snap_compare, size):
    assert snapshot(snap_compare, size, "down", "down", "enter")


@pytest.mark.parametrize("size", SIZES)
def test_inspect_revenue(demo_home, snap_compare, size):
    assert snapshot(snap_compare, size, "down", "enter")


@pytest.mark.parametrize("size", SIZES)
def test_inspect_pooled(demo_home, snap_compare, size):
    """pricing_page, pooled: its variants as a forest plot, each beside its own estimate."""
    assert snapshot(snap_compare, size, "down", "down", "down", "enter", "p")


@pytest.mark.parametrize("size", SIZES)
def test_inspect_segments(demo_home, snap_compare, size):
    """The breakdown by segment: each country's uplift beside its own, and overall; the
    posterior scrolled down to the forest plot."""
    keys = ["down"] * 6
    assert snapshot(snap_compare, size, *keys, "enter", "b", "pagedown", "pagedown")


@pytest.mark.parametrize("size", SIZES)
def test_inspect_options(demo_home, snap_compare, size):
    """The analysis options panel (`o`) over the experiment: each field empty, its default shown."""
    assert snapshot(snap_compare, size, "enter", "o")


@pytest.mark.parametrize("size", SIZES)
def test_inspect_new_data_banner(demo_home, snap_compare, size):
    """The banner another process's upload brings (tests/test_tui.py makes one for real;
    here it is set as a poll would, so that the shared lake stays as it is)."""

    async def uploaded_elsewhere(pilot) -> None:
        screen = pilot.app.screen
        screen.polled = pilot.app.main_lake().snapshot_id()  # as if just polled
        screen.show_new_data(120)

    assert snapshot(snap_compare, size, "enter", then=uploaded_elsewhere)


@pytest.mark.parametrize("size", SIZES)
def test_create(demo_home, snap_compare, size):
    async def fill(pilot) -> None:
        await pilot.press(*"new_test")

    assert snapshot(snap_compare, size, "n", then=fill)


@pytest.mark.parametrize("size", SIZES)
def test_upload_preview(demo_home, snap_compare, size):
    async def preview(pilot) -> None:
        await pilot.press(*"batch.csv", "enter")

    assert snapshot(snap_compare, size, "u", then=preview)


@pytest.mark.parametrize("size", SIZES)
def test_delete_modal(demo_home, snap_compare, size):
    assert snapshot(snap_compare, size, "d")


@pytest.mark.parametrize("size", SIZES)
def test_help(demo_home, snap_compare, size):
    assert snapshot(snap_compare, size, "question_mark")


@pytest.mark.parametrize("size", SIZES)
def test_plan(demo_home, snap_compare, size):
    """Plan an experiment (the palette's): an ab-test from numbers, the z-test's and the
    rule's units and days, P(choose) by day beside the z-test's power."""

    async def open_plan(pilot) -> None:
        pilot.app.open_plan()

    assert snapshot(snap_compare, size, then=open_plan)


@pytest.mark.parametrize("size", SIZES)
def test_plan_experiment(demo_home, snap_compare, size):
    """`P` on an open experiment: the next one like it, from its control and its pace."""
    assert snapshot(snap_compare, size, "enter", "P")


@pytest.mark.parametrize("size", SIZES)
def test_scorecard(shop_home, snap_compare, size):
    """An experiment on units: its exact scorecard, each uplift drawn on one scale, the
    harmed guardrail marked; at 80 columns the values make room."""
    assert snapshot(snap_compare, size, "enter")


@pytest.mark.parametrize("size", SIZES)
def test_metrics(shop_home, snap_compare, size):
    """The metrics (their where expressions hold brackets: shown as text) and event tables."""
    assert snapshot(snap_compare, size, "m")


def test_a_recording_replays_only_into_the_fit_it_was_recorded_for():
    """A recorded fit replayed into another model, data or settings would draw a posterior
    that is not the lake's: refused in one line, which says which recording."""
    import xarray as xr

    from vibes_core.types import get_type
    from vibes_core.types.base import Stats

    kind, settings = get_type("ab-test"), inference.Settings()
    path = snapshot_lake.FITS / "checkout_button-independent.nc"
    with xr.open_dataset(path, group="observed_data", engine="h5netcdf") as observed:
        successes = observed["successes"].values.astype(float)

    def replay(names, successes, settings=settings):
        stats = Stats(names, {"trials": 10 * successes, "successes": successes})
        model = kind.model(stats, kind.prior(None, stats))
        return snapshot_lake.replayed(path, model, settings, kind.target_accept)

    idata, _ = replay(["A", "B"], successes)  # its own: replayed
    assert idata.posterior["p"].shape == (settings.chains, settings.draws, 2)
    others = {
        "groups": lambda: replay(["A", "C"], successes),
        "more groups": lambda: replay(["A", "B", "C"], np.append(successes, 5)),
        "data": lambda: replay(["A", "B"], successes + 1),
        "settings": lambda: replay(["A", "B"], successes, inference.Settings(tune=500)),
    }
    for what, other in others.items():
        with pytest.raises(snapshot_lake.Stale) as refused:
            other()
        message = str(refused.value)
        assert message.startswith(f"tests/fits/{path.name} was recorded for another model ("), what
        assert "\n" not in message
    with pytest.raises(snapshot_lake.Stale, match=r"^tests/fits/missing\.nc is missing$"):
        snapshot_lake.replayed(path.with_name("missing.nc"), None, settings, 0.9)
