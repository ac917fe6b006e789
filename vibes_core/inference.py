"""fit: sufficient statistics -> cache lookup -> PyMC (or the closed form) -> summary.

The summary is plain JSON: what ``vibes posterior --json`` prints and what the cache stores.
"""

import contextlib
import hashlib
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

from vibes_core import catalog
from vibes_core.cache import Cache, CacheError, Hit, warn_on_stderr
from vibes_core.errors import VibesError
from vibes_core.families import check_prior
from vibes_core.lake import Lake
from vibes_core.types import get_type

SAMPLER = "pymc-nuts"  # PyMC's own NUTS: see bench/fit_speed.py for why not nutpie
R_HAT_LIMIT = 1.01
# Smaller steps than PyMC's 0.8: a group with no events has its mode at 0, whose steep
# right tail on the log scale made NUTS diverge now and then.
TARGET_ACCEPT = 0.9
# Groups (variants, arms, cohorts) one posterior may have. At this limit the exact one takes
# about 6 CPU seconds and 500 MB (bench/exact_groups.py; 1,000 groups: 0.7 s more than 2), and
# its derived quantities get posterior.MIN_DRAWS draws per group.
MAX_GROUPS = 10_000


@dataclass(frozen=True)
class Settings:
    """How to fit (part of the cache key) and how to summarize (not part of it)."""

    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int = 1
    prior: tuple[float, float] | None = None
    hdi_prob: float = 0.94
    options: dict = field(default_factory=dict)  # control, split, threshold, reference


def posterior(
    lake: Lake,
    name: str,
    settings: Settings = Settings(),
    *,
    exact: bool = False,
    as_of: int | None = None,
    use_cache: bool = True,
    warn: Callable[[str], None] = warn_on_stderr,
    progress: bool | Callable[[float], None] = False,
    plots: bool = False,
    fit: bool = True,
) -> dict | None:
    """The decision-ready summary of one experiment's posterior, as JSON-ready data.

    ``progress``: True for PyMC's progress bar on stderr, or a function given the fraction of
    sampling done (in steps of 1%). ``plots``: add the type's plot specs (``"plots"``) and, for
    MCMC, rank plots of the chains (``"traces"``); see vibes_core.plots. They are for the
    dashboard: never cached, never in ``vibes posterior --json``. ``fit=False``: the cached
    MCMC posterior or None, never sampling (the dashboard shows the exact one meanwhile)."""
    experiment = catalog.get(lake, name)
    kind = get_type(experiment.type)
    unknown = set(settings.options) - set(kind.summary_options)
    if unknown:
        takes = ", ".join("--" + option for option in kind.summary_options) or "none"
        raise VibesError(
            f"--{sorted(unknown)[0]} does not apply to a {kind.name} experiment "
            f"(its summary options: {takes})"
        )
    current = lake.snapshot_id()
    if as_of is not None and not 0 <= as_of <= current:
        raise VibesError(f"--as-of-version {as_of} does not exist: the lake is at {current}")
    snapshot = current if as_of is None else as_of
    stats = catalog.sufficient_stats(lake, name, snapshot)  # pinned: uploads may land meanwhile
    groups = with_expected(kind.groups(stats), kind.expected_groups(settings.options))
    if not groups.names:
        raise VibesError(f"{name} has no events yet: upload some before asking for a posterior")
    if len(groups.names) > MAX_GROUPS:
        raise VibesError(
            f"{name} has {len(groups.names):,} {kind.group_column or 'group'}s; posteriors are "
            f"computed for at most {MAX_GROUPS:,}: split the experiment or merge groups"
        )
    prior = check_prior(kind, settings.prior or kind.default_prior)
    options = {"hdi_prob": settings.hdi_prob, **settings.options}
    head = {
        "experiment": name,
        "type": kind.name,
        "snapshot": snapshot,
        "prior": dict(zip(kind.prior_names, prior, strict=True)),
    }
    if exact:
        closed_form = kind.exact(groups, prior)
        summary = kind.summarize(closed_form, groups, options)
        result = strict({**head, "cached": False, "method": "exact", **summary,
                         "diagnostics": None})  # fmt: skip
        return with_plots(result, kind, closed_form, groups, options) if plots else result

    key = cache_key(name, kind, stats, prior, settings)
    cache = Cache(lake.config, warn=warn)  # a store repaired on first use says so there too
    if use_cache:
        try:
            hit = cache.lookup(key)
            if hit is not None:
                draws = cached_draws(cache, hit, kind, groups.names) if plots else None
                summary = resummarize(cache, hit, kind, groups, options, draws)
                result = strict({**head, "cached": True, **summary})
                return with_plots(result, kind, draws, groups, options) if plots else result
        except CacheError as error:
            warn(f"{error}; fitting afresh")
    if not fit:
        return None

    idata, seconds = sample(kind.model(groups, prior), settings, progress)
    diagnostics = diagnose(idata, kind.parameter, seconds, settings)
    draws = draws_of(idata, kind.parameter, groups.names)
    summary = kind.summarize(draws, groups, options)
    summary["warnings"] += diagnostic_warnings(diagnostics)
    result = strict({"method": "mcmc", **summary, "diagnostics": diagnostics})  # before caching
    with tempfile.TemporaryDirectory(prefix="vibes-fit-") as tmp:
        path = Path(tmp) / "posterior.nc"
        idata.to_netcdf(path, engine="h5netcdf")
        try:
            cache.store(
                key,
                tags={"experiment": name, "snapshot": snapshot, "type": kind.name},
                params={
                    **fit_settings(settings),
                    "prior": prior,
                    "sampler": SAMPLER,
                    "model_version": kind.model_version,
                },
                metrics={"fit_seconds": seconds, **numeric(diagnostics)},
                summary=result,
                options=options,
                posterior_path=path,
            )
        except CacheError as error:
            warn(f"{error}; the answer is right but was not cached")
    result = {**head, "cached": False, **result}
    return with_plots(result, kind, draws, groups, options) if plots else result


def strict(summary: dict) -> dict:
    """``summary`` if every number in it is finite (JSON has no NaN or infinity), else a
    VibesError naming the first that is not. The families keep them finite; this says which
    one if a case slipped through, instead of printing NaN or failing in json.dumps."""

    def walk(value, path: str) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            raise VibesError(
                f"{path} of {summary.get('experiment', 'the experiment')} cannot be computed "
                f"(it came out as {value}); try the default --prior, or --exact"
            )
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                named = item.get("name") if isinstance(item, dict) else None
                walk(item, f"{path}[{named!r}]" if named is not None else f"{path}[{i}]")

    try:  # the common case at C speed; the walk only to name the culprit
        json.dumps(summary, allow_nan=False, default=str)
    except ValueError:
        walk(summary, "")
    return summary


def with_plots(summary: dict, kind, posterior, groups, options: dict) -> dict:
    """The summary with the type's plots, and rank plots of the chains for an MCMC fit."""
    from vibes_core.plots import traces

    plotted = {**summary, "plots": kind.plots(posterior, groups, summary, options)}
    if summary["diagnostics"]:
        plotted["traces"] = traces(posterior, summary["diagnostics"]["chains"])
    return plotted


def with_expected(groups, expected: list[str]):
    """Groups named in the options (e.g. --split) but absent from the data: zero counts."""
    import numpy as np

    missing = [name for name in expected if name not in groups.names]
    if not missing:
        return groups
    zeros = np.zeros(len(missing))
    return type(groups)(
        groups.names + missing,
        np.concatenate([groups.size, zeros]),
        np.concatenate([groups.count, zeros]),
    )


def cache_key(name: str, kind, stats: list[dict], prior, settings: Settings) -> str:
    """Everything a fit depends on. The data enters as its sufficient statistics: a new
    upload changes them (a miss), an upload to another experiment does not (still a hit)."""
    parts = {
        "experiment": name,
        "type": kind.name,
        "model_version": kind.model_version,
        "stats": stats,
        "prior": list(prior),
        "sampler": SAMPLER,
        "target_accept": TARGET_ACCEPT,
        "pymc": version("pymc"),
        **fit_settings(settings),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def fit_settings(settings: Settings) -> dict:
    return {k: getattr(settings, k) for k in ("draws", "tune", "chains", "seed")}


def resummarize(cache: Cache, hit: Hit, kind, groups, options: dict, draws=None) -> dict:
    """A cached fit's summary; for other summary options, recomputed from its stored draws
    (``draws``, when the caller has read them already)."""
    if hit.options == options:
        return hit.summary
    if draws is None:
        draws = cached_draws(cache, hit, kind, groups.names)
    summary = kind.summarize(draws, groups, options)
    diagnostics = hit.summary["diagnostics"]
    summary["warnings"] += diagnostic_warnings(diagnostics)
    return {"method": "mcmc", **summary, "diagnostics": diagnostics}


def cached_draws(cache: Cache, hit: Hit, kind, names: list[str]):
    """The draws of a cached fit, read from its stored posterior."""
    import xarray as xr

    # Only the posterior group: reading the whole stored tree takes three times as long.
    with (
        tempfile.TemporaryDirectory(prefix="vibes-cache-") as tmp,
        xr.open_dataset(
            cache.posterior_file(hit, tmp), group="posterior", engine="h5netcdf"
        ) as posterior,  # fmt: skip
    ):
        return draws_of(xr.DataTree.from_dict({"posterior": posterior}), kind.parameter, names)


def sample(model, settings: Settings, progress: bool | Callable[[float], None]):
    import logging

    import pymc as pm

    logging.getLogger("pymc").setLevel(logging.WARNING)
    callback = None
    if callable(progress):
        per_chain = settings.tune + settings.draws
        total, reported = settings.chains * per_chain, [-1]

        def callback(trace, draw) -> None:
            percent = 100 * (draw.chain * per_chain + draw.draw_idx + 1) // total
            if percent > reported[0]:
                reported[0] = percent
                progress(percent / 100)

    start = time.perf_counter()
    with model, contextlib.redirect_stdout(sys.stderr):  # stdout is for the JSON answer
        idata = pm.sample(
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=1,  # chains in sequence: worker processes cost more than these models
            random_seed=settings.seed,
            nuts_sampler="pymc",
            progressbar=progress is True,
            callback=callback,
            compute_convergence_checks=False,
            target_accept=TARGET_ACCEPT,
        )
    return idata, time.perf_counter() - start


def draws_of(idata, parameter: str, names: list[str]):
    import arviz_stats

    from vibes_core.posterior import Draws

    values = idata.posterior[parameter].values  # (chain, draw, group)
    mcse = arviz_stats.mcse(idata, var_names=[parameter])[parameter].values
    return Draws(names, values.reshape(-1, values.shape[-1]), mcse=mcse)


def diagnose(idata, parameter: str, seconds: float, settings: Settings) -> dict:
    import arviz_stats

    def extreme(result, pick) -> float | None:
        value = float(pick(result[parameter].values))
        return value if math.isfinite(value) else None  # JSON has no inf or NaN

    return {
        "max_r_hat": extreme(arviz_stats.rhat(idata, var_names=[parameter]), max),
        "min_ess_bulk": extreme(arviz_stats.ess(idata, var_names=[parameter], method="bulk"), min),
        "min_ess_tail": extreme(arviz_stats.ess(idata, var_names=[parameter], method="tail"), min),
        "divergences": int(idata.sample_stats["diverging"].values.sum()),
        "draws": settings.draws,
        "tune": settings.tune,
        "chains": settings.chains,
        "sampler": SAMPLER,
        "seconds": round(seconds, 3),
    }


def diagnostic_warnings(diagnostics: dict) -> list[str]:
    warnings = []
    r_hat = diagnostics["max_r_hat"]
    if r_hat is None or r_hat > R_HAT_LIMIT:
        shown = "cannot be computed" if r_hat is None else f"{r_hat:.3f} > {R_HAT_LIMIT}"
        warnings.append(
            f"r_hat {shown}: the chains disagree; fit again with more --tune and --draws"
        )
    if diagnostics["divergences"]:
        warnings.append(
            f"{diagnostics['divergences']} divergent transitions: the posterior may be biased; "
            "fit again with more --tune"
        )
    return warnings


def numeric(diagnostics: dict) -> dict:
    return {
        k: float(v)
        for k, v in diagnostics.items()
        if isinstance(v, int | float) and math.isfinite(v)
    }


def headline(summary: dict) -> str:
    """The result in a few characters, for a list of experiments: the leader and how sure, or
    the rate for a single group."""
    from vibes_core.posterior import percent

    groups = summary["groups"]
    if len(groups) == 1:
        mean = groups[0]["mean"]
        return percent(mean) if summary["type"] != "poisson-cohorts" else f"{mean:.3g}/unit"
    leader = max(groups, key=lambda group: group.get("p_best", 0))
    return f"{leader['name']} {percent(leader['p_best'], 0)}"
