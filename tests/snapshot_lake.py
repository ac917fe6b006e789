"""The lake the snapshot tests draw, and the recorded draws of its fits (tests/fits/).

A NUTS trajectory depends on floating-point details of the compiled code: the same seed gives
other draws on another CPU, and so other means, HDIs, ESS and rank plots in the pictures. So
the snapshots never sample. Each fit's draws were recorded once (scripts/record-snapshot-fits,
run by `make screenshots`) and are replayed in place of ``inference.sample``: the real model is
still built, its draws completed, diagnosed, summarized, stored in the cache and read back as
the dashboard reads them, from the same bytes on every machine. Everything else is the same
everywhere already: the events and the exact posteriors come from seeded numpy generators, the
snapshot times are frozen and the time zone is UTC.
"""

import contextlib
import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from vibes_core import catalog, demo, inference
from vibes_core.config import load_config
from vibes_core.ingest import write_events
from vibes_core.models import Pooled, Segmented
from vibes_core.types import get_type

FITS = Path(__file__).parent / "fits"
SEGMENTED = "trial_by_country"  # an ab-test with a segment column, the list's last row
SHOP = "checkout"  # an experiment on units (build_shop), in a lake of its own
# Text from data that markup would eat: shown as it is, everywhere.
SHOP_DISPLAY = "Checkout [b]redesign[/b] [red]v2"
PAID = "status IN ('paid', '[/b]')"


class Stale(Exception):
    """A recorded fit that is missing, or was recorded for another model or settings: `make
    screenshots` records it again."""


@dataclass(frozen=True)
class Fit:
    """One fit the dashboard shows: an experiment and how it is fitted."""

    experiment: str
    settings: inference.Settings = field(default_factory=inference.Settings)

    @property
    def path(self) -> Path:
        model = self.settings.model.title().replace(" ", "-") or "independent"
        return FITS / f"{self.experiment}-{model}.nc"


def isolate(env, home: Path) -> None:
    """``env`` (a pytest MonkeyPatch) set for a lake of its own in ``home``, drawn the same
    everywhere: times in UTC, no user's configuration or theme."""
    env.setenv("VIBES_HOME", str(home))
    env.setenv("TZ", "UTC")  # the dashboard shows local times
    env.setenv("XDG_CONFIG_HOME", str(home.parent / "config"))  # not the user's theme
    unset = ("VIBES_CATALOG_URL", "VIBES_DATA_PATH", "NO_COLOR", "VIBES_CONFIG", "VIBES_THEME")
    for name in unset:
        env.delenv(name, raising=False)


def build(home: Path) -> list[Fit]:
    """The seeded demo lake (vibes_core.demo) and an ab-test broken down by country, in the
    current VIBES_HOME (``home``); the fits the dashboard shows of them."""
    with catalog.open_lake() as lake:
        # Created first, it is the last row of the home screen's list: the latest upload
        # first, then by name.
        segmented = get_type("ab-test").generate(
            6000,
            np.random.default_rng(11),
            end=demo.END,
            variants="A,B",
            segments="US,DE,FR,UK,JP,BR",
        )
        path = home.parent / "segmented.parquet"
        write_events(segmented, "parquet", path)
        catalog.create(lake, SEGMENTED, "ab-test", path, "Trial sign-up by country")
        # Without the experiment on units: its screens have a lake of their own (build_shop).
        names = [SEGMENTED, *demo.seed(lake, units=False)]
    return [
        *(Fit(name) for name in names),
        Fit("pricing_page", inference.Settings(model=Pooled())),
        Fit(SEGMENTED, inference.Settings(model=Segmented("segment"))),
    ]


def fit(fits: list[Fit], record: str | None = None) -> None:
    """Every fit of ``fits`` made and cached from its recorded draws, then the snapshot times
    frozen. ``record``: None replays only (a recording missing or stale raises Stale);
    "stale" samples and records those that are; "all" samples and records every fit."""
    import mlflow  # noqa: F401  (loaded, as in the dashboard: each fit stores in this process)

    with catalog.open_lake() as lake:
        for one in fits:
            with sampling(one.path, record):
                inference.posterior(lake, one.experiment, one.settings, warn=lambda message: None)
    demo.freeze_snapshot_times(load_config().home / "catalog.sqlite")


@contextlib.contextmanager
def sampling(path: Path, record: str | None):
    """``inference.sample`` replaced: the draws recorded at ``path``, or sampled and recorded
    there (see ``fit``)."""
    real = inference.sample

    def sample(model, settings, progress, target_accept):
        if record != "all":
            try:
                return replayed(path, model, settings, target_accept)
            except Stale as why:
                if record is None:
                    raise
                print(f"{why}: recording it")
        idata, seconds = real(model, settings, progress, target_accept)
        save(idata, seconds, settings, target_accept, path)
        return idata, seconds

    inference.sample = sample
    try:
        yield
    finally:
        inference.sample = real


def save(idata, seconds: float, settings, target_accept: float, path: Path) -> None:
    """What the fit's summary and diagnostics read of ``idata`` (posterior draws, divergences)
    and what its replay checks (the observed data, the settings), atomically at ``path``."""
    import xarray as xr

    posterior = idata.posterior.to_dataset()
    posterior.attrs = {
        "seconds": seconds,
        "tune": settings.tune,
        "seed": settings.seed,
        "target_accept": target_accept,
    }
    groups = {
        "posterior": posterior,
        "sample_stats": idata.sample_stats.to_dataset()[["diverging"]],
        "observed_data": idata.observed_data.to_dataset(),
    }
    compressed = {"zlib": True, "complevel": 9, "shuffle": True}
    encoding = {
        f"/{name}": dict.fromkeys(group.data_vars, compressed) for name, group in groups.items()
    }
    path.parent.mkdir(exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".nc", dir=path.parent)
    os.close(handle)
    os.chmod(partial, 0o644)  # a file of the repository, as any other
    try:
        xr.DataTree.from_dict(groups).to_netcdf(partial, engine="h5netcdf", encoding=encoding)
        os.replace(partial, path)
    finally:
        Path(partial).unlink(missing_ok=True)


def replayed(path: Path, model, settings, target_accept: float):
    """The recorded fit at ``path`` as ``inference.sample`` returns it, if it holds draws of
    ``model`` with ``settings``; else Stale, saying how it differs."""
    import xarray as xr

    shown = path.relative_to(FITS.parent.parent)  # tests/fits/...
    if not path.exists():
        raise Stale(f"{shown} is missing")
    groups = {}
    for group in ("posterior", "sample_stats", "observed_data"):
        with xr.open_dataset(path, group=group, engine="h5netcdf") as stored:
            groups[group] = stored.load()
    why = difference(groups, model, settings, target_accept)
    if why:
        raise Stale(f"{shown} was recorded for another model ({why})")
    return xr.DataTree.from_dict(groups), float(groups["posterior"].attrs["seconds"])


def difference(groups: dict, model, settings, target_accept: float) -> str | None:
    """How the recorded ``groups`` differ from a fit of ``model`` with ``settings``: variables,
    their dimensions and labels, the observed data, the sampler's settings; None if they do not."""
    posterior = groups["posterior"]

    def shown(variables: dict) -> str:
        return ", ".join(f"{name}({', '.join(dims)})" for name, dims in sorted(variables.items()))

    expected = {
        v.name: tuple(
            model.named_vars_to_dims.get(v.name) or (f"{v.name}_dim_{i}" for i in range(v.ndim))
        )
        for v in model.free_RVs + model.deterministics
    }
    found = {name: tuple(posterior[name].dims[2:]) for name in posterior.data_vars}
    if found != expected:
        return f"its variables {shown(found)}; the model's {shown(expected)}"
    for dim, labels in model.coords.items():
        if dim not in posterior.coords:
            continue
        stored, wanted = [str(x) for x in posterior[dim].values], [str(x) for x in labels]
        if stored != wanted:
            return f"its {dim} {', '.join(stored)}; the model's {', '.join(wanted)}"
    observed = groups["observed_data"]
    for rv in model.observed_RVs:
        data = model.rvs_to_values[rv].data
        if rv.name not in observed or not np.array_equal(observed[rv.name].values, data):
            return f"other observed {rv.name}"
    attrs = posterior.attrs
    recorded = {
        "chains": posterior.sizes["chain"],
        "draws": posterior.sizes["draw"],
        "tune": int(attrs["tune"]),
        "seed": int(attrs["seed"]),
        "target_accept": float(attrs["target_accept"]),
    }
    wanted = {
        "chains": settings.chains,
        "draws": settings.draws,
        "tune": settings.tune,
        "seed": settings.seed,
        "target_accept": target_accept,
    }
    differ = [
        f"{key} {recorded[key]:g}, not {wanted[key]:g}"
        for key in wanted
        if recorded[key] != wanted[key]
    ]
    return "; ".join(differ) or None


def build_shop(lake, tmp: Path, units: int = 3000) -> None:
    """An experiment on units, ``SHOP``: seeded assignments, orders and errors
    (vibes_core.unit_data) whose treatment buys more and errs more often; four metrics, the
    goal, a guardrail it harms beyond its margin and two secondaries. Exact scorecards only:
    nothing here samples."""
    from vibes_core import metrics, tables, unit_data

    data = unit_data.simulate_units(
        units,
        np.random.default_rng(5),
        purchase_lift=0.4,
        revenue_lift=0.4,
        error_lift=0.6,
        end=demo.END,
    )
    # Whole amounts: every sum is then exact in any order, and DuckDB's parallel sums of
    # cents, which move in their last bits from run to run, cannot move a bar by a cell.
    whole = pc.max_element_wise(pc.round(data.orders["amount"], 0), 1.0)
    orders = data.orders.set_column(data.orders.schema.get_field_index("amount"), "amount", whole)
    paths = unit_data.write_unit_files(replace(data, orders=orders), tmp)
    tables.upload(lake, "orders", paths["orders"])
    tables.upload(lake, "errors", paths["errors"])
    catalog.create(lake, SHOP, "assignments", paths["assignments"], SHOP_DISPLAY)
    paid = {"where": PAID, "window": "7d"}
    metrics.create(lake, "purchased", "orders", "proportion", **paid)
    metrics.create(lake, "revenue", "orders", "mean", value="amount", **paid)
    metrics.create(lake, "aov", "orders", "ratio", value="amount", denominator="1", **paid)
    metrics.create(lake, "errors", "errors", "count", window="7d", lower_is_better=True)
    roles = metrics.roles_of("purchased", ["errors:5%"], ["revenue", "aov"])
    catalog.save_metrics(lake, SHOP, roles, metrics.names)


def build_shop_lake(home: Path) -> None:
    """A lake of its own in ``home`` (the current VIBES_HOME) holding only ``SHOP``, its
    snapshot times frozen: the scorecard and metrics screens' snapshots (exact: no draws)."""
    with catalog.open_lake() as lake:
        build_shop(lake, home.parent / "shop-files")
    demo.freeze_snapshot_times(load_config().home / "catalog.sqlite")
