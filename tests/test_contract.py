"""The model contract, for every registered type and for one defined outside vibes
(tests/plugin_types.py through VIBES_TYPES, fitted with MCMC only): its generator's events go
through create; the exact posterior, where there is one, agrees with MCMC within Monte Carlo
error; every summary has exactly the documented shape (vibes_core.schema and what the type
declares); `experiments schema` describes it all; the dashboard shows it. No list of type
names: a type added later is checked as it lands."""

import contextlib
import math
import os
from pathlib import Path

import pytest
from textual.widgets import DataTable

from tests.conftest import run_vibes
from tests.schema_check import problems
from tests.test_tui import settle, until
from vibes_core import catalog
from vibes_core.capabilities import Scorecard
from vibes_core.schema import Summary
from vibes_core.types import get_type, registry
from vibes_tui.app import VibesApp
from vibes_tui.screens.inspect import InspectScreen
from vibes_tui.widgets.plot import PlotView

PLUGIN = "tests.plugin_types"
ROOT = Path(__file__).parents[1]
EVENTS = 2000
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@contextlib.contextmanager
def with_plugin():
    saved = os.environ.get("VIBES_TYPES")
    os.environ["VIBES_TYPES"] = PLUGIN
    registry.cache_clear()
    try:
        yield registry()
    finally:
        os.environ.pop("VIBES_TYPES")
        if saved is not None:
            os.environ["VIBES_TYPES"] = saved
        registry.cache_clear()


with with_plugin() as found:
    # Experiments on units are judged on metrics, each by its kind's family: their contract is
    # tests/test_scorecard.py's.
    found = {name: kind for name, kind in found.items() if not isinstance(kind, Scorecard)}
    TYPES = list(found)
    # Giving a prior samples for a type without an exact posterior.
    PRIORS = [
        pytest.param(name, marks=() if kind.has_exact else pytest.mark.mcmc)
        for name, kind in found.items()
    ]


@pytest.fixture
def plugged(home, monkeypatch):
    """The registry, here and in every `vibes` started from here, with the plugin's type."""
    monkeypatch.setenv("VIBES_TYPES", PLUGIN)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    registry.cache_clear()
    yield
    registry.cache_clear()


def declared(kind) -> dict[str, set[str]]:
    """Keys a type's summary may have beyond the schema's: its statistics and fields."""
    per_group = {s.name for s in kind.statistics} | {f.name for f in kind.fields if f.per_group}
    return {"GroupRow": per_group, "Summary": {f.name for f in kind.fields if not f.per_group}}


def assert_conforms(summary: dict, kind) -> None:
    assert problems(summary, Summary, extra=declared(kind)) == []
    assert summary["type"] == kind.name and summary["unit"] == kind.unit.name
    assert list(summary["prior"]) == [p.name for p in kind.priors]


def text(widget) -> str:
    return str(widget.render())


@pytest.mark.mcmc
@pytest.mark.parametrize("type_name", TYPES)
async def test_every_type_keeps_the_contract(plugged, cli, tmp_path, type_name):
    kind = get_type(type_name)
    data = tmp_path / "events.parquet"
    generated = run_vibes("generate", type_name, "-n", EVENTS, "--seed", 5, "-o", data)
    assert generated.code == 0, generated.err
    created = cli("experiments", "create", "t", "--type", type_name, "--initial-data-file", data)
    assert created.code == 0 and created.json()["events"] == EVENTS, created.err

    exact = cli("posterior", "t", "--exact", "--json")
    if kind.has_exact:
        assert exact.code == 0, exact.err
        assert_conforms(exact.json(), kind)
    else:
        assert exact.code == 1 and exact.err.count("\n") == 1
        assert "MCMC only" in exact.err and exact.out == ""

    # The dashboard: the exact answer (or "MCMC only") at once, then its own MCMC fit.
    app = VibesApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, InspectScreen) and screen.experiment == "t"
        if not kind.has_exact:
            await until(pilot, lambda: "MCMC only" in text(screen.query_one("#decision")), 30)
        await until(pilot, lambda: screen.summary and screen.summary["method"] == "mcmc")
        await settle(app, pilot)
        groups = [g["name"] for g in screen.summary["groups"]]
        assert screen.query_one("#summary", DataTable).row_count == len(groups)
        assert text(screen.query_one("#decision")).startswith(screen.summary["decision"][:20])
        assert len(screen.query("#plots PlotView")) == len(screen.summary["plots"]) >= 1
        assert all(view.spec for view in screen.query(PlotView) if view.id != "over-time")
        assert_conforms(screen.summary, kind)  # with its plots and rank plots

    # The command line now gets the dashboard's fit from the cache.
    fitted = cli("posterior", "t", "--json")
    assert fitted.code == 0, fitted.err
    mcmc = fitted.json()
    assert mcmc["cached"] and mcmc["method"] == "mcmc"
    assert_conforms(mcmc, kind)
    diagnostics = mcmc["diagnostics"]
    with catalog.open_lake() as lake:
        stats = kind.stats(catalog.sufficient_stats(lake, catalog.get(lake, "t")))
    model = kind.model(stats, kind.prior(None, stats))
    assert diagnostics["parameters"] == [v.name for v in model.free_RVs]  # all of them
    assert diagnostics["max_r_hat"] <= 1.01 and diagnostics["divergences"] == 0
    if kind.has_exact:
        for fitted_row, exact_row in zip(mcmc["groups"], exact.json()["groups"], strict=True):
            assert fitted_row["name"] == exact_row["name"]
            width = exact_row["hdi_high"] - exact_row["hdi_low"]
            # Exact draws have an error too: about sd / sqrt(their number) (200,000 or fewer).
            error = math.hypot(fitted_row["mcse"], width / 3.76 / math.sqrt(EVENTS * 10))
            assert abs(fitted_row["mean"] - exact_row["mean"]) <= 4 * error, fitted_row
            assert fitted_row["hdi_low"] == pytest.approx(exact_row["hdi_low"], abs=0.1 * width)
            assert fitted_row["hdi_high"] == pytest.approx(exact_row["hdi_high"], abs=0.1 * width)
            assert fitted_row["p_best"] == pytest.approx(exact_row["p_best"], abs=0.03)

    # The human table: one row per group, every number written in the type's unit.
    shown = cli("posterior", "t")
    assert shown.code == 0 and mcmc["decision"][:30] in " ".join(shown.out.split())


@pytest.mark.parametrize("type_name", TYPES)
def test_experiments_schema_says_everything_a_type_declares(plugged, cli, type_name):
    kind = get_type(type_name)
    result = cli("experiments", "schema", "--type", type_name)
    assert result.code == 0, result.err
    schema = result.json()
    assert [c["name"] for c in schema["columns"]] == [c.name for c in kind.columns]
    assert [s["name"] for s in schema["statistics"]] == [s.name for s in kind.statistics]
    assert [p["name"] for p in schema["priors"]] == [p.name for p in kind.priors]
    assert all(p["meaning"] and p["low"] < p["high"] for p in schema["priors"])
    assert [f["name"] for f in schema["fields"]] == [f.name for f in kind.fields]
    assert schema["exact"] == kind.has_exact and schema["unit"] == kind.unit.name
    assert schema["model"] and schema["quantity"] == kind.quantity
    defaults = {p.name: p.default for p in kind.priors}
    for prior in schema["priors"]:  # strict JSON: a default from the data is said in words
        assert prior["default"] == defaults[prior["name"]] or prior["default"] == "from the data"


@pytest.mark.parametrize("type_name", PRIORS)
def test_every_prior_parameter_can_be_given_by_name_and_is_checked(
    plugged, cli, tmp_path, type_name
):
    kind = get_type(type_name)
    data = tmp_path / "events.json"
    assert run_vibes("generate", type_name, "-n", 300, "--seed", 2, "-o", data).code == 0
    assert (
        cli("experiments", "create", "t", "--type", type_name, "--initial-data-file", data).code
        == 0
    )
    answer = "--exact" if kind.has_exact else "--draws=10"
    for p in kind.priors:
        inside = 1.0 if math.isnan(p.default) else min(max(p.default * 2, p.low), p.high)
        given = cli(
            "posterior",
            "t",
            answer,
            "--tune=10",
            "--chains=1",
            "--json",
            "--prior",
            f"{p.name}={inside}",
        )
        assert given.code == 0, given.err
        assert given.json()["prior"][p.name] == inside
        outside = cli("posterior", "t", answer, "--prior", f"{p.name}={p.high * 10}")
        assert outside.code == 1 and f"{p.name} " in outside.err and "outside" in outside.err


def test_a_type_module_that_cannot_be_imported_is_one_line(home, monkeypatch):
    monkeypatch.setenv("VIBES_TYPES", "no_such_module_anywhere")
    result = run_vibes("experiments", "list")
    assert result.code == 1 and result.err.count("\n") == 1
    assert "VIBES_TYPES names 'no_such_module_anywhere', which cannot be imported" in result.err


def test_the_readme_documents_every_key_of_every_summary():
    import typing

    from vibes_core import schema

    readme = (ROOT / "README.md").read_text()
    documented = readme[readme.index("### The summary, key by key") :]
    keys = {
        key
        for hint in (schema.Summary, schema.GroupRow, schema.Diagnostics, schema.Interval)
        for key in typing.get_type_hints(hint)
    } - {"plots", "traces"}
    for kind in registry().values():
        keys |= {f.name for f in kind.fields} | {s.name for s in kind.statistics}
    assert [key for key in sorted(keys) if f"`{key}`" not in documented] == []
