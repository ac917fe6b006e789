"""The model of an analysis, as a value: each group on its own (``Independent``), the groups
partially pooled (``Pooled``), or broken down by a segment column with each group's effect
pooled across segments (``Segmented(by)``).

Each model owns what differs between them: its priors, its checks, the data it is fitted on,
the PyMC model it builds (from the type's family), how its draws are read, completed,
summarized and plotted, its part of the cache key, its target acceptance rate, and whether
an exact path exists. Nothing else asks which one it is: the CLI and the dashboard build one
from their flags and keys (``chosen``), and the machinery calls its methods. A new model
(robust, time-varying, ...) is one class here, and the capability a type declares to have it
(vibes_core.capabilities)."""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from vibes_core import segments
from vibes_core.capabilities import ExactPosterior, Poolable, Segmentable
from vibes_core.errors import InvalidOption, NoExact, VibesError, option
from vibes_core.posterior import Draws
from vibes_core.summary import hyperparameters, shrunk_from
from vibes_core.text import printable

if TYPE_CHECKING:
    from vibes_core.stats import Cells, Stats
    from vibes_core.types.base import ExperimentType, Field, Prior

# Of the hierarchical models, in their cache keys (2: tau integrated out).
HIERARCHY_VERSION = 2


@dataclass(frozen=True)
class Data:
    """What a model is fitted on: each group's statistics (``stats``), the rows read (the cache
    key's data: per group, or per group and segment for a breakdown), and the cells of one."""

    stats: "Stats"
    rows: list[dict]
    cells: "Cells | None" = None


class Model(ABC):
    """One model of an analysis; a frozen dataclass, so that two equal choices are equal."""

    name: ClassVar[str]  # in the summary's "model", a fit's tags and the cache key
    simulates_futures: ClassVar[bool] = False  # how long to keep running, by futures
    takes_saved_prior: ClassVar[bool] = False  # the experiment's saved prior is this one's

    def title(self) -> str:
        """Said beside the experiment's name in a title ("" for the plain model)."""
        return ""

    def priors(self, kind: "ExperimentType") -> "tuple[Prior, ...]":
        return kind.priors

    def hyperparameter_fields(self, kind: "ExperimentType") -> "tuple[Field, ...]":
        """The hyperparameters its summary reports (``Field``s: name, meaning, unit)."""
        return ()

    def prior(self, kind: "ExperimentType", given, stats: "Stats") -> dict[str, float]:
        """Every parameter of this model's prior, ``given`` on top of the defaults."""
        return kind.prior(given, stats, self.priors(kind), f"{self.name} {kind.name}")

    @abstractmethod
    def problem(self, kind: "ExperimentType", name: str, exact: bool) -> VibesError | None:
        """Why experiment ``name`` of ``kind`` cannot have this model (``exact``: by its exact
        posterior), or None."""

    def check_data(self, kind: "ExperimentType", name: str, stats: "Stats") -> None:
        """Raise when the data at hand cannot be fitted with this model."""
        return None

    def data(
        self, kind, stats: "Stats", rows: list[dict], control: str | None, segment_rows
    ) -> Data:
        """The fit's data; ``segment_rows(by)``: the statistics per group and segment."""
        return Data(stats, rows)

    @abstractmethod
    def build(self, kind: "ExperimentType", data: Data, prior: dict[str, float]):
        """The PyMC model."""

    def target_accept(self, kind: "ExperimentType") -> float:
        return kind.target_accept

    def draws(self, kind: "ExperimentType", posterior, data: Data):
        """A fit's draws, read from its ``posterior`` (an xarray Dataset)."""
        return estimate_of(kind, posterior, data.stats.names)

    def complete(self, kind, posterior, prior: dict[str, float], seed: int) -> list[str]:
        """Add to a fresh fit's ``posterior`` the draws of what this model integrated out,
        diagnosed and stored with the rest; their names."""
        return []

    def stages(self, kind, progress, data: Data) -> tuple:
        """``progress`` for sampling, and for summarizing (a breakdown's, segment by segment)."""
        return progress, None

    def summarize(self, kind, draws, data: Data, options: dict, progress=None) -> dict:
        return kind.summarize(draws, data.stats, options, self)

    def population(self, kind, estimate, stats: "Stats", rows: list[dict], prob: float) -> dict:
        """What the model adds to the shared summary (vibes_core.summary.compare)."""
        return {}

    def plots(self, kind, draws, data: Data, summary: dict, options: dict) -> tuple[list, Draws]:
        """The type's plots, and the per-group draws whose chains are rank-plotted."""
        return kind.plots(draws, data.stats, summary, options), draws

    def key(self, data: Data) -> dict:
        """Its part of the cache key."""
        return {}


@dataclass(frozen=True)
class Independent(Model):
    """Each group on its own: the type's model and prior, its exact posterior if it has one."""

    name: ClassVar[str] = "independent"
    simulates_futures: ClassVar[bool] = True
    takes_saved_prior: ClassVar[bool] = True

    def prior(self, kind, given, stats: "Stats") -> dict[str, float]:
        return kind.prior(given, stats)

    def problem(self, kind, name: str, exact: bool) -> VibesError | None:
        if exact and not isinstance(kind, ExactPosterior):
            return NoExact(
                f"{name} is a {kind.name} experiment, which has no exact posterior: it is "
                f"fitted with MCMC only (leave out {option('exact')})"
            )
        return None

    def build(self, kind, data: Data, prior: dict[str, float]):
        return kind.model(data.stats, prior)


class Hierarchical(Model):
    """What the pooled and the segmented model share: MCMC only, a higher acceptance rate
    (funnels between a spread and what it spreads), spreads drawn after the fit."""

    spread: ClassVar[tuple[str, str]]  # the variable spread and its center (Spreads)

    def target_accept(self, kind) -> float:
        return kind.pooled_target_accept

    def complete(self, kind, posterior, prior: dict[str, float], seed: int) -> list[str]:
        import numpy as np
        import xarray as xr

        variables = {name: posterior[name].values for name in posterior.data_vars}
        rng = np.random.default_rng(seed)
        found = kind.spread_draws(variables, prior, rng, self.spread)
        for name, values in found.items():
            dims = ("chain", "draw", "treatment")[: values.ndim]
            posterior[name] = xr.DataArray(values, dims=dims)
        return list(found)

    def key(self, data: Data) -> dict:
        return {"model": self.name, "hierarchy": HIERARCHY_VERSION}


@dataclass(frozen=True)
class Pooled(Hierarchical):
    """The groups' parameters drawn from a population estimated with them (``--pooled``)."""

    name: ClassVar[str] = "pooled"
    spread: ClassVar[tuple[str, str]] = ("theta", "mu")

    def title(self) -> str:
        return "pooled"

    def priors(self, kind) -> "tuple[Prior, ...]":
        return kind.pooled_priors

    def hyperparameter_fields(self, kind) -> "tuple[Field, ...]":
        return kind.hyperparameters

    def problem(self, kind, name: str, exact: bool) -> VibesError | None:
        if not isinstance(kind, Poolable):
            return VibesError(
                f"{name} is a {kind.name} experiment, which has no pooled model"
                f"{kind.with_which()}: leave out {option('pooled')}"
            )
        if exact:
            pooled, exact = option("pooled"), option("exact")
            return VibesError(f"{pooled} is fitted with MCMC only: leave out {exact}")
        return None

    def check_data(self, kind, name: str, stats: "Stats") -> None:
        if len(stats.names) < 2:
            raise VibesError(
                f"{name} has one group: there is nothing to pool; leave out {option('pooled')}"
            )

    def build(self, kind, data: Data, prior: dict[str, float]):
        return kind.pooled_model(data.stats, prior)

    def draws(self, kind, posterior, data: Data):
        return estimate_of(kind, posterior, data.stats.names, self.hyperparameter_fields(kind))

    def population(self, kind, estimate, stats: "Stats", rows: list[dict], prob: float) -> dict:
        """The population's hyperparameters; beside each group's estimate, its own."""
        if isinstance(kind, ExactPosterior):
            shrunk_from(kind, stats, rows, prob)
        return {"hyperparameters": hyperparameters(kind, estimate, prob)}


@dataclass(frozen=True)
class Segmented(Hierarchical):
    """A breakdown by the segment column ``by`` (``--by``): each group per segment, each
    treated group's effect pooled across segments."""

    by: str
    name: ClassVar[str] = "segmented"
    spread: ClassVar[tuple[str, str]] = ("delta", "effect")

    def title(self) -> str:
        return f"by {self.by}"

    def priors(self, kind) -> "tuple[Prior, ...]":
        return kind.segment_priors

    def hyperparameter_fields(self, kind) -> "tuple[Field, ...]":
        return kind.segment_hyperparameters

    def problem(self, kind, name: str, exact: bool) -> VibesError | None:
        if exact:
            by, exact = f"{option('by')} {printable(self.by)}", option("exact")
            return VibesError(f"{by} is fitted with MCMC only: leave out {exact}")
        if kind.segment_columns and not isinstance(kind, Segmentable):
            return VibesError(
                f"{name} is a {kind.name} experiment, which has no breakdown model"
                f"{kind.with_which()}: leave out {option('by')}"
            )
        return None  # a column it has not: said where the column is read (catalog)

    def data(self, kind, stats: "Stats", rows: list[dict], control, segment_rows) -> Data:
        """Fitted on (and keyed by) the statistics per group and segment."""
        found = segment_rows(self.by)
        return Data(stats, found, segments.cells_of(kind, found, stats.names, control, self.by))

    def build(self, kind, data: Data, prior: dict[str, float]):
        return kind.segmented_model(data.cells, prior)

    def draws(self, kind, posterior, data: Data):
        return segments.SegmentDraws.of(kind, posterior)

    def stages(self, kind, progress, data: Data) -> tuple:
        return segments.stages(kind, progress, data.cells, self.by)

    def summarize(self, kind, draws, data: Data, options: dict, progress=None) -> dict:
        return segments.summarize(kind, draws, data.cells, options, self, progress)

    def plots(self, kind, draws, data: Data, summary: dict, options: dict) -> tuple[list, Draws]:
        per_group = segments.overall(kind, draws, data.cells)
        return segments.plots(kind, summary, options), per_group

    def key(self, data: Data) -> dict:  # each segment's effects are relative to the control
        control = data.cells.groups[data.cells.control]
        return {**super().key(data), "by": self.by, "control": control}


def chosen(pooled: bool = False, by: str | None = None) -> Model:
    """The model flags name (``--pooled``, ``--by``; the dashboard's keys): one at most."""
    if pooled and by is not None:
        raise InvalidOption(
            f"{option('by')} {printable(by)} already pools each group's effect across "
            f"segments: leave out {option('pooled')}"
        )
    if by is not None:
        return Segmented(by)
    return Pooled() if pooled else Independent()


def of_summary(summary: dict) -> Model:
    """The model a summary is of (its "model", and "by" for a breakdown)."""
    if summary["model"] == Segmented.name:
        return Segmented(summary["by"])
    return {Independent.name: Independent(), Pooled.name: Pooled()}[summary["model"]]


def toggled(current: Model, model: Model) -> Model:
    """``model`` switched on from ``current``, or off (to the plain model) if it is current."""
    return Independent() if current == model else model


def estimate_of(kind, posterior, names: list[str], hyper: tuple = ()) -> Draws:
    """The type's quantity (and its parts) from a fit's posterior draws, with the Monte Carlo
    error of each group's mean; the scalar variables ``hyper`` (``Field``s) too."""
    from vibes_core.diagnostics import mcse_mean

    variables = {name: posterior[name].values for name in posterior.data_vars}
    quantity, parts = kind.quantity_draws(variables)  # (chain, draw, group) each
    flat = len(names)
    return Draws(
        names,
        quantity.reshape(-1, flat),
        mcse=mcse_mean(quantity),
        parts={key: value.reshape(-1, flat) for key, value in parts.items()},
        hyper={f.name: variables[f.name].reshape(-1) for f in hyper},
    )
