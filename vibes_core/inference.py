"""fit: sufficient statistics -> cache lookup -> PyMC (or the closed form) -> summary.

The summary is plain JSON: what ``vibes posterior --json`` prints and what the cache stores.
"""

import contextlib
import functools
import hashlib
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

from vibes_core import catalog, learned
from vibes_core.analysis import DEFAULT_HDI_PROB, LEARNED, Analysis
from vibes_core.cache import Cache, CacheError, Hit, warn_on_stderr
from vibes_core.capabilities import Scorecard
from vibes_core.errors import InvalidOption, VibesError, option
from vibes_core.lake import Lake
from vibes_core.models import Data, Independent, Model
from vibes_core.names import quoted
from vibes_core.types import get_type

if TYPE_CHECKING:
    from vibes_core.posterior import Draws
    from vibes_core.schema import Diagnostics, Findings, Summary
    from vibes_core.stats import Stats
    from vibes_core.types.base import ExperimentType

VERDICT_OPTIONS = ("max_loss", "rope")  # every type's (vibes_core.verdict)
SAMPLER = "pymc-nuts"  # PyMC's own NUTS: see bench/fit_speed.py for why not nutpie
R_HAT_LIMIT = 1.01
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
    prior: str | dict | tuple | None = None  # see ExperimentType.prior; None: the defaults
    model: Model = field(default_factory=Independent)  # or Pooled(), Segmented(by), ...
    # One of the type's likelihoods (ExperimentType.likelihoods); None: the experiment's saved
    # one, else the type's default.
    likelihood: str | None = None
    hdi_prob: float | None = None  # None: the experiment's saved one, else 0.94
    options: dict = field(default_factory=dict)  # the type's summary options: control, ...
    metric: str | None = None  # of an experiment on units: that metric's summary alone
    adjust: bool = True  # metrics on units: adjusted for their pre-exposure values (CUPED)
    # "learned": each treated group's effect under the prior learned from the lake's past
    # experiments (vibes_core.learned); None: the type's default prior alone.
    effect_prior: str | None = None


@dataclass(frozen=True)
class Asked:
    """How a posterior is asked for (see ``posterior``)."""

    exact: bool = False
    use_cache: bool = True
    fit: bool = True
    plots: bool = False
    warn: Callable[[str], None] = warn_on_stderr
    progress: bool | Callable[[float], None] = False


def posterior(
    lake: Lake,
    experiment: catalog.Experiment | str,
    settings: Settings = Settings(),
    *,
    exact: bool = False,
    as_of: int | None = None,
    use_cache: bool = True,
    warn: Callable[[str], None] = warn_on_stderr,
    progress: bool | Callable[[float], None] = False,
    plots: bool = False,
    fit: bool = True,
) -> "Summary | None":
    """The decision-ready summary of one experiment's posterior, as JSON-ready data.

    ``progress``: True for PyMC's progress bar on stderr, or a function given the fraction of
    sampling done (in steps of 1%). ``plots``: add the type's plot specs (``"plots"``) and, for
    MCMC, rank plots of the chains (``"traces"``); see vibes_core.plots. They are for the
    dashboard: never cached, never in ``vibes posterior --json``. ``fit=False``: the cached
    MCMC posterior or None, never sampling (the dashboard shows the exact one meanwhile).
    ``experiment``: the catalog's Experiment, or its name (then looked up once here)."""
    experiment = catalog.found(lake, experiment)
    name = experiment.name
    kind = get_type(experiment.type)
    how = Asked(exact, use_cache, fit, plots, warn, progress)
    if isinstance(kind, Scorecard):  # judged on metrics: vibes_core.scorecard
        return kind.scorecard(lake, experiment, settings, how, as_of)
    check_applies(kind, settings.options)
    if not settings.adjust:
        raise InvalidOption(
            f"{name} is a {kind.name} experiment: {option('no_adjust')} is for experiments on "
            "units (their metrics' pre-exposure values): leave it out"
        )
    for problem in experiment.problems:  # what of its catalog row was left out
        warn(f"{name}: {problem}")
    kind = likelihood_of(kind, settings.likelihood, experiment.analysis.likelihood, warn, name)
    current = lake.snapshot_id()
    if as_of is not None and not 0 <= as_of <= current:
        raise InvalidOption(f"{option('as_of')} {as_of} does not exist: the lake is at {current}")
    snapshot = current if as_of is None else as_of
    model = settings.model
    problem = model.problem(kind, name, exact)
    if problem is not None:
        raise problem
    rows = catalog.sufficient_stats(lake, experiment, snapshot)  # pinned: uploads may land later
    data = kind.stats(rows)
    settings = with_saved_options(settings, experiment.analysis, kind, data, warn, name)
    if settings.prior == LEARNED:  # saved so (the dashboard's options)
        settings = replace(settings, prior=None, effect_prior=LEARNED)
    stats = data.with_groups(kind.expected_groups(settings.options))
    if not stats.names:
        raise VibesError(f"{name} has no events yet: upload some before asking for a posterior")
    if len(stats.names) > MAX_GROUPS:
        raise VibesError(
            f"{name} has {len(stats.names):,} {kind.group_column or 'group'}s; posteriors are "
            f"computed for at most {MAX_GROUPS:,}: split the experiment or merge groups"
        )
    model.check_data(kind, name, stats)
    prior = model.prior(kind, settings.prior, stats)

    def segment_rows(by: str) -> list[dict]:  # the fit's data, at the same snapshot
        return catalog.segment_stats(lake, experiment, by, snapshot)

    control = settings.options.get("control")
    fitting = Fitting(kind, model, model.data(kind, stats, rows, control, segment_rows), prior)
    options = {
        "hdi_prob": settings.hdi_prob,
        "prior": prior,
        **settings.options,
        "events_per_day": catalog.events_per_day(lake, experiment, as_of),
    }
    if settings.effect_prior is not None:
        learned.check_model(model)
        target = learned.target_of(lake, "type", kind.name)
        options["effect_prior"] = learned.for_analysis(lake, target, name, warn).options()
    head = {
        "experiment": name,
        "type": kind.name,
        "model": model.name,
        **likelihood_part(kind),
        "snapshot": snapshot,
        "prior": prior,
        "hdi_prob": settings.hdi_prob,
    }
    return answer(lake, fitting, settings, options, head, how)


def answer(
    lake: Lake,
    fitting: "Fitting",
    settings: Settings,
    options: dict,
    head: dict,
    how: Asked,
    keyed: str | None = None,
) -> "Summary | None":
    """The summary of ``fitting``: exact, cached, or fitted and stored. ``head``: the answer's
    first keys; ``keyed``: what the cache key names (the experiment's name unless given)."""
    name, kind, prior = head["experiment"], fitting.kind, fitting.prior
    exact, plots, warn = how.exact, how.plots, how.warn
    if exact:  # the model has an exact path (else it said so above)
        closed_form = kind.exact(fitting.stats, prior)
        summary = fitting.summarize(closed_form, options)
        result = strict(
            {**head, "cached": False, "method": "exact", **summary, "diagnostics": None}
        )
        return with_plots(result, fitting, closed_form, options) if plots else result

    key = cache_key(keyed or name, fitting, settings)
    # A store repaired on first use says so there too; the lake's DuckDB reads S3 if it can.
    cache = Cache(lake.config, warn=warn, reader=lake.con if lake.config.s3 else None)
    if how.use_cache:
        try:
            current = versioned(options, kind)
            hit = cache.lookup(key, name, current)
            if hit is not None:
                draws = cached_draws(cache, hit, fitting) if plots else None
                summary = resummarize(cache, hit, fitting, options, draws)
                # Kept: saved options ask for it every time, and a newer vibes every hit.
                if hit.options != current:
                    cache.keep_summary(name, replace(hit, summary=summary, options=current))
                result = strict({**head, "cached": True, **summary})
                return with_plots(result, fitting, draws, options) if plots else result
        except CacheError as error:
            warn(f"{error}; fitting afresh")
    if not how.fit:
        return None
    cache.start_storing()  # MLflow starts on the other core while this one samples
    try:
        return fit_and_store(cache, key, fitting, settings, options, head, how)
    finally:
        cache.stop_storing()


def fit_and_store(
    cache: Cache,
    key: str,
    fitting: "Fitting",
    settings: Settings,
    options: dict,
    head: dict,
    how: Asked,
) -> "Summary":
    """Sample, summarize and diagnose; store the fit in the cache (a failure to store only
    costs a warning: the answer stands)."""
    kind, name, snapshot, prior = fitting.kind, head["experiment"], head["snapshot"], head["prior"]
    target_accept = fitting.model.target_accept(kind)
    model = fitting.build()
    sampling, summarizing = fitting.stages(how.progress)
    idata, seconds = sample(model, settings, sampling, target_accept)
    derived = fitting.complete(idata.posterior, settings.seed)
    parameters = kind.diagnosed(model) + derived
    diagnostics = diagnose(idata, parameters, seconds, settings, target_accept)
    draws = fitting.draws(idata.posterior)
    summary = fitting.summarize(draws, options, summarizing)
    summary["warnings"] += diagnostic_warnings(diagnostics)
    result = strict({"method": "mcmc", **summary, "diagnostics": diagnostics})  # before caching
    store_fit(
        cache,
        key,
        idata,
        how.warn,
        tags={"experiment": name, "snapshot": snapshot, "type": kind.name},
        params={
            **fit_settings(settings),
            "prior": json.dumps(prior),
            "sampler": SAMPLER,
            "model_version": kind.model_version,
            "model": fitting.model.name,
            **likelihood_part(kind),
        },
        metrics={"fit_seconds": seconds, **numeric(diagnostics)},
        summary=result,
        options=versioned(options, kind),
    )
    result = {**head, "cached": False, **result}
    return with_plots(result, fitting, draws, options) if how.plots else result


def store_fit(cache: Cache, key: str, idata, warn: Callable[[str], None], **stored) -> None:
    """Keep a fit (its draws and ``stored``: Cache.store's tags, params, metrics, summary and
    options) in the cache; a failure only costs a warning: the answer stands."""
    with tempfile.TemporaryDirectory(prefix="vibes-fit-") as tmp:
        path = Path(tmp) / "posterior.nc"
        idata.to_netcdf(path, engine="h5netcdf")
        try:
            cache.store(key, posterior_path=path, **stored)
        except CacheError as error:
            warn(f"{error}; the answer is right but was not cached")


@dataclass(frozen=True)
class Fitting:
    """One fit: the type, its model (vibes_core.models), the data and the prior. What
    depends on the model, the model does."""

    kind: "ExperimentType"
    model: Model
    data: Data
    prior: dict[str, float]

    @property
    def stats(self) -> "Stats":
        return self.data.stats

    def build(self):
        return self.model.build(self.kind, self.data, self.prior)

    def draws(self, posterior):
        return self.model.draws(self.kind, posterior, self.data)

    def complete(self, posterior, seed: int) -> list[str]:
        return self.model.complete(self.kind, posterior, self.prior, seed)

    def stages(self, progress) -> tuple:
        return self.model.stages(self.kind, progress, self.data)

    def summarize(self, draws, options: dict, progress=None) -> "Findings":
        return self.model.summarize(self.kind, draws, self.data, options, progress)

    def plots(self, draws, summary: "Summary", options: dict) -> tuple[list, "Draws"]:
        return self.model.plots(self.kind, draws, self.data, summary, options)


def check_applies(kind: "ExperimentType", options: dict) -> None:
    """Summary options given that the type does not take: an error."""
    unknown = set(options) - set(kind.summary_options) - set(VERDICT_OPTIONS)
    if unknown:
        takes = ", ".join(option(taken) for taken in kind.summary_options) or "none"
        raise InvalidOption(
            f"{option(sorted(unknown)[0])} does not apply to a {kind.name} experiment (its "
            f"summary options: {takes})"
        )


def check_analysis(lake: Lake, experiment: catalog.Experiment, analysis: Analysis) -> None:
    """Raise the error a posterior with ``analysis`` would meet (an option the type does not
    take, a likelihood it does not offer, a prior it does not have, a control or split of
    unknown groups), without fitting anything."""
    kind = get_type(experiment.type).with_likelihood(analysis.likelihood)
    check_applies(kind, analysis.summary_options())
    data = kind.stats(catalog.sufficient_stats(lake, experiment))
    unfit = unfit_options(kind, data, analysis.summary_options(), analysis.prior)
    if unfit:  # it would be left out of every answer: not saved
        key, why = next(iter(unfit.items()))
        raise InvalidOption(why if key == "prior" else f"{option(key)}: {why}")
    settings = Settings(
        prior=analysis.prior,
        hdi_prob=analysis.hdi_prob,
        likelihood=analysis.likelihood,
        options=analysis.summary_options(),
    )
    if kind.has_exact:  # else MCMC only: nothing more can be checked without a fit
        posterior(lake, experiment, settings, exact=True)


def likelihood_of(
    kind: "ExperimentType",
    given: str | None,
    saved: str | None,
    warn: Callable[[str], None],
    name: str,
) -> "ExperimentType":
    """The type object analysing with the likelihood ``given`` (one the type does not offer:
    an error), else with the experiment's ``saved`` one: a saved likelihood the type does not
    offer (any more) is left out with a warning, as other saved options are."""
    if given is not None:
        return kind.with_likelihood(given)
    try:
        return kind.with_likelihood(saved)
    except InvalidOption as error:
        warn(left_out(name, "likelihood", str(error)))
        return kind


def left_out(name: str, key: str, why: str) -> str:
    """The warning for a saved option an answer leaves out, and how to change it."""
    return (
        f"{name}'s saved {key} is left out: {why}; change it with `o` in the dashboard or "
        f"`vibes experiments options {name} --{key.replace('_', '-')} ...` (--reset clears "
        "them all)"
    )


def with_saved_options(
    settings: Settings,
    saved: Analysis,
    kind: "ExperimentType",
    data: "Stats",
    warn: Callable[[str], None],
    name: str,
) -> Settings:
    """``settings`` with the experiment's saved options where it sets none, those of them
    that fit ``data`` (the groups with events at the snapshot asked for): a saved control or
    split of other groups (an earlier snapshot, variants renamed) or a prior the type does not
    take is left out, with a warning naming it as saved, and the answer given without it. An
    option given (on the command line) that does not fit stays an error. The saved prior is
    the independent model's: a pooled or segmented fit has hyperpriors of its own."""
    applicable = set(kind.summary_options) | set(VERDICT_OPTIONS)
    saved_options = {
        key: value
        for key, value in saved.summary_options().items()
        if key in applicable and key not in settings.options
    }
    own = settings.model.takes_saved_prior
    saved_prior = saved.prior if settings.prior is None and own else None
    unfit = unfit_options(kind, data, saved_options, saved_prior)
    for key, why in unfit.items():
        warn(left_out(name, key, str(VibesError(why))))
    return replace(
        settings,
        prior=settings.prior if saved_prior is None or "prior" in unfit else saved_prior,
        hdi_prob=settings.hdi_prob or saved.hdi_prob or DEFAULT_HDI_PROB,
        options={k: v for k, v in saved_options.items() if k not in unfit} | settings.options,
    )


SHOWN_GROUPS = 5  # in a warning


def unfit_options(kind, data, options: dict, prior: str | None) -> dict[str, str]:
    """Which of the summary options ``options`` (and ``prior``, if not None) do not fit
    ``data`` (the groups with events), and why: a control that is not one of them, a split that
    does not name exactly them, a prior the type does not take. Without data, none: the
    answer says there is none."""
    groups, unfit = set(data.names), {}
    noun = kind.group_column or "group"

    def listed(names) -> str:
        names = sorted(names)
        more = f" and {len(names) - SHOWN_GROUPS:,} more" if len(names) > SHOWN_GROUPS else ""
        return ", ".join(quoted(n) for n in names[:SHOWN_GROUPS]) + more

    if "control" in options and options["control"] not in groups:
        unfit["control"] = (
            f"{quoted(options['control'])} is not a {noun} with events at this snapshot"
        )
    if "split" in options and set(options["split"]) != groups:
        unknown, lacking = set(options["split"]) - groups, groups - set(options["split"])
        problems = []
        if unknown:
            problems.append(f"it names {listed(unknown)}: no {noun} with events at this snapshot")
        if lacking:
            problems.append(f"it has no weight for {listed(lacking)}: give every {noun} one")
        unfit["split"] = "; ".join(problems)
    if prior == LEARNED and "control" not in kind.summary_options:
        unfit["prior"] = f"a learned prior is of effects on a control: {kind.name} has none"
    elif prior is not None and prior != LEARNED and groups:
        try:
            kind.prior(prior, data)
        except VibesError as error:
            unfit["prior"] = error.template
    return unfit if groups else {}


def strict(summary: dict) -> dict:
    """``summary`` if every number in it is finite (JSON has no NaN or infinity), else a
    VibesError naming the first that is not. The families keep them finite; this says which
    one if a case slipped through, instead of printing NaN or failing in json.dumps."""

    def walk(value, path: str) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            raise VibesError(
                f"{path} of {summary.get('experiment', 'the experiment')} cannot be computed "
                f"(it came out as {value}); try the default {option('prior')}, or "
                f"{option('exact')}"
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


def with_plots(summary: "Summary", fitting: Fitting, posterior, options: dict) -> "Summary":
    """The summary with the type's plots, and rank plots of the chains for an MCMC fit."""
    from vibes_core.plots import traces

    specs, per_group = fitting.plots(posterior, summary, options)
    plotted = {**summary, "plots": specs}
    if summary["diagnostics"]:
        plotted["traces"] = traces(per_group, summary["diagnostics"]["chains"])
    return plotted


def cache_key(name: str, fitting: Fitting, settings: Settings) -> str:
    """Everything a fit depends on. The data enters as its sufficient statistics: a new
    upload changes them (a miss), an upload to another experiment does not (still a hit).
    The model adds its part (none for the independent one: fits cached before stay hits), and
    so does a likelihood that is not the type's default."""
    kind = fitting.kind
    parts = {
        "experiment": name,
        "type": kind.name,
        "model_version": kind.model_version,
        "stats": stable(fitting.data.rows),
        "prior": stable(fitting.prior),  # a default prior may be taken from the sums
        "sampler": SAMPLER,
        "target_accept": fitting.model.target_accept(kind),
        "pymc": version("pymc"),
        **fit_settings(settings),
        **fitting.model.key(fitting.data),
        **likelihood_part(kind),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def stable(value):
    """``value`` (rows of statistics) with every float to 12 significant digits: DuckDB's
    parallel sums of fractional values differ in their last bits from run to run, and a cache
    key of them would then never hit again."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {key: stable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [stable(item) for item in value]
    return value


def likelihood_part(kind: "ExperimentType") -> dict:
    """The likelihood, in a summary, a cache key or a fit's params: none for the default."""
    return {"likelihood": kind.likelihood} if kind.likelihood else {}


def fit_settings(settings: Settings) -> dict:
    return {k: getattr(settings, k) for k in ("draws", "tune", "chains", "seed")}


def resummarize(cache: Cache, hit: Hit, fitting: Fitting, options: dict, draws=None) -> dict:
    """A cached fit's summary; for other summary options, or a summary derived by other code
    (an older vibes), recomputed from its stored draws (``draws``, when the caller has read
    them already)."""
    if hit.options == versioned(options, fitting.kind):
        return hit.summary
    if draws is None:
        draws = cached_draws(cache, hit, fitting)
    summary = fitting.summarize(draws, options)
    diagnostics = hit.summary["diagnostics"]
    summary["warnings"] += diagnostic_warnings(diagnostics)
    return strict({"method": "mcmc", **summary, "diagnostics": diagnostics})


# Stored with a fit's options (not in its key: a new version re-derives the summary from the
# same draws, it refits nothing): which code derived its summary.
SUMMARY_VERSION = "summary_version"
# That code, besides the type's own classes: a summary, its verdict and its words.
SUMMARY_MODULES = ("summary", "verdict", "effects", "posterior", "units", "segments", "diagnostics")


def versioned(options: dict, kind: "ExperimentType") -> dict:
    """The options a fit is stored with: its summary options and the summary's version."""
    return {**options, SUMMARY_VERSION: summary_version(type(kind))}


@functools.cache
def summary_version(kind: type) -> str:
    """A digest of the source of the code that derives a summary from draws: these modules,
    this one, and those of the type's classes (its family, the base type; a plugin's own). No
    number to remember to bump: any change to that code is a new version."""
    from importlib.util import find_spec

    files = {Path(__file__)} | {
        Path(find_spec(f"vibes_core.{module}").origin) for module in SUMMARY_MODULES
    }
    for cls in kind.__mro__:
        module = sys.modules.get(cls.__module__)
        origin = getattr(module, "__file__", None)
        if origin and cls.__module__.split(".")[0] not in sys.stdlib_module_names:
            files.add(Path(origin))
    digest = hashlib.sha256()
    for file in sorted(files):
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def cached_draws(cache: Cache, hit: Hit, fitting: Fitting):
    """The draws of a cached fit, read from its stored posterior."""
    import xarray as xr

    # Only the posterior group: reading the whole stored tree takes three times as long.
    with (
        tempfile.TemporaryDirectory(prefix="vibes-cache-") as tmp,
        xr.open_dataset(
            cache.posterior_file(hit, tmp), group="posterior", engine="h5netcdf"
        ) as posterior,
    ):
        return fitting.draws(posterior)


def sample(
    model, settings: Settings, progress: bool | Callable[[float], None], target_accept: float
):
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

    from threadpoolctl import threadpool_limits

    start = time.perf_counter()
    # One BLAS thread: these models' products are tiny, and OpenBLAS's threads spinning for
    # them on a busy machine (the storer starting MLflow on the other core) made sampling a
    # 1M-unit scorecard take 9.5 s instead of 6 (bench/scorecard.py, 2 cores).
    with model, contextlib.redirect_stdout(sys.stderr), threadpool_limits(1):  # stdout: JSON
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
            target_accept=target_accept,
        )
    drawn = idata.posterior.sizes
    if drawn["chain"] < settings.chains or drawn["draw"] < settings.draws:
        # PyMC ends sampling on Ctrl-C and returns what it drew: never an answer, never cached.
        raise KeyboardInterrupt
    return idata, time.perf_counter() - start


def diagnose(
    idata, parameters: list[str], seconds: float, settings: Settings, target_accept: float
) -> "Diagnostics":
    """Convergence over every element of every parameter: the worst r_hat and ESS."""
    import numpy as np

    from vibes_core.diagnostics import ess_bulk, ess_tail, rhat

    def extreme(statistic, pick) -> float | None:
        values = [np.ravel(statistic(idata.posterior[p].values)) for p in parameters]
        value = float(pick(np.concatenate(values)))
        return value if math.isfinite(value) else None  # JSON has no inf or NaN

    return {
        "max_r_hat": extreme(rhat, np.max),
        "min_ess_bulk": extreme(ess_bulk, np.min),
        "min_ess_tail": extreme(ess_tail, np.min),
        "divergences": int(idata.sample_stats["diverging"].values.sum()),
        "parameters": parameters,
        "target_accept": target_accept,
        "draws": settings.draws,
        "tune": settings.tune,
        "chains": settings.chains,
        "sampler": SAMPLER,
        "seconds": round(seconds, 3),
    }


def diagnostic_warnings(diagnostics: "Diagnostics") -> list[str]:
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


def headline(summary: "Summary") -> str:
    """The result in a few characters, for a list of experiments: the leader and how sure, or
    the estimate for a single group. A scorecard's (an experiment on units): its goal's leader
    and P(best), then ``✗NAME`` for each guardrail that leader harms (text, not a colour)."""
    from vibes_core.units import percent

    if "metrics" in summary:  # a scorecard (vibes_core.schema.Scorecard)
        return scorecard_headline(summary)
    groups = summary["groups"]
    if len(groups) == 1:
        return get_type(summary["type"]).unit.show(groups[0]["mean"])
    ranked = [group for group in groups if group["p_best"] is not None]
    if not ranked:
        return "-"
    leader = max(ranked, key=lambda group: group["p_best"])
    return f"{leader['name']} {percent(leader['p_best'], 0)}"


def scorecard_headline(card: dict) -> str:
    """``treatment 99% ✗errors``: the goal's leader, its P(best), and the guardrails it harms;
    ``no goal`` when the goal cannot be read."""
    goal = next((m for m in card["metrics"] if m["role"] == "goal"), None)
    if goal is None:
        return "no goal"
    said = headline({**goal, "type": card["type"]})
    ranked = [group for group in goal["groups"] if group["p_best"] is not None]
    if not ranked:
        return said
    leader = max(ranked, key=lambda group: group["p_best"])["name"]
    harmed = [
        metric["name"]
        for metric in card["metrics"]
        if metric["role"] == "guardrail"
        and any(
            g["name"] == leader and not g["control"] and g.get("status") == "harmed"
            for g in metric["groups"]
        )
    ]
    return f"{said} ✗{','.join(harmed)}" if harmed else said
