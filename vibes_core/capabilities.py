"""What a type may do beyond the core contract (vibes_core.types.base), declared: a type names
the capabilities it has among its base classes, and the registry checks once, when it loads
the type, that it defines what each one asks (``missing``). Code that needs one asks
``isinstance(kind, Capability)``, never ``hasattr`` at the point of use.

- ``ExactPosterior``: a closed form (or independent draws from one); shown at once, checks MCMC.
- ``Poolable``: a hierarchical model across groups (``vibes posterior --pooled``).
- ``Segmentable``: a breakdown by a segment column (``--by``); each segment's own estimate
  beside the pooled one is its exact posterior, so it needs ``ExactPosterior`` too.
- ``SimulatesFutures``: futures drawn from today's posterior, for how long to keep running.
- ``Plannable``: futures from fixed true values (a baseline and a lift), for planning the next
  experiment (vibes_core.plan).
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    import pymc as pm

    from vibes_core.posterior import Estimate
    from vibes_core.stats import Cells, Stats
    from vibes_core.types.base import Field, Prior

# Segments a breakdown takes at most: every step of a fit takes longer with more segments, and
# so do its diagnostics, its draws and the summaries of each segment. A default fit of 2
# variants in 200 segments takes 32 CPU seconds (7 of them summarizing segments) and stores
# 26 MB of draws; 500: 54 s; 1,000: 99 s and 130 MB (bench/segments.py, 2 cores).
MAX_SEGMENTS = 200


class Capability:
    """A capability: the methods and attributes (non-empty) a type that has it defines."""

    requires: ClassVar[tuple[str, ...]] = ()


class ExactPosterior(Capability):
    requires = ("exact",)

    def exact(self, stats: "Stats", prior: dict[str, float]) -> "Estimate":
        """The exact posterior: a closed form, or independent draws from one."""
        raise NotImplementedError


class Spreads(Capability):
    """The hierarchical models' shared part: the spreads (tau) they integrate out."""

    pooled_target_accept: ClassVar[float] = 0.9  # with tau integrated out: no funnel there

    def spread_draws(self, variables: dict, prior: dict[str, float], rng, spread: tuple) -> dict:
        """The spreads a hierarchical model integrated out: name -> draws, one per draw of
        its variables, from their exact conditional. ``spread``: the names (after the type's
        prefix) of the variable spread and of its center, ("theta", "mu") for the pooled
        model (each draw's spread (chain, draw)), ("delta", "effect") for a breakdown's (per
        treated group)."""
        raise NotImplementedError


class Poolable(Spreads):
    requires = ("pooled_model", "spread_draws", "pooled_priors", "hyperparameters")
    # The hierarchical model's hyperpriors (they replace ``priors`` there), and the scalar
    # variables reported as its hyperparameters.
    pooled_priors: ClassVar[tuple["Prior", ...]] = ()
    hyperparameters: ClassVar[tuple["Field", ...]] = ()
    pooled_summary: ClassVar[str] = ""  # the pooled model in one line

    def pooled_model(self, stats: "Stats", prior: dict[str, float]) -> "pm.Model":
        """Each group's parameter drawn from a population whose mean and spread are estimated
        too (non-centred), its variables named as ``model``'s so that ``quantity_draws`` reads
        either; the hyperparameters are scalar variables."""
        raise NotImplementedError


class Segmentable(ExactPosterior, Spreads):
    requires = (  # and ExactPosterior's, checked as its own
        "segment_columns",
        "segmented_model",
        "spread_draws",
        "segment_priors",
        "segment_hyperparameters",
    )
    # Its priors, and the hyperparameters reported per treated group (its overall effect, the
    # spread of its effect across segments).
    segment_priors: ClassVar[tuple["Prior", ...]] = ()
    segment_hyperparameters: ClassVar[tuple["Field", ...]] = ()
    segmented_summary: ClassVar[str] = ""  # the segmented model in one line

    def segmented_model(self, cells: "Cells", prior: dict[str, float]) -> "pm.Model":
        """Each group's parameter per segment, its variables named as ``model``'s with dims
        (group, segment), each treated group's effect in a segment drawn around its overall
        effect; ``cells.stats`` holds each statistic as an array (groups, segments)."""
        raise NotImplementedError

    def mix(self, quantity, parts: dict, shares) -> tuple:
        """The quantity and parts of a mix of segments (``shares`` of the traffic each), from
        theirs (arrays whose last axis is the segment): a quantity per event or user mixes
        linearly; a type with a part that does not says how."""
        return quantity @ shares, {name: part @ shares for name, part in parts.items()}


class SimulatesFutures(Capability):
    """Futures drawn from today's posterior (vibes_core.verdict.events_needed)."""

    requires = ("future_truths", "future_stats", "future_draws")

    def future_truths(self, stats: "Stats", prior: dict, rng, futures: int) -> dict:
        """``futures`` draws of the groups' true parameters, each (futures, groups)."""
        raise NotImplementedError

    def future_stats(self, stats: "Stats", batch: dict, truths: dict, rows, rng) -> dict:
        """``batch``'s statistics with ``rows`` more events per group drawn from ``truths``."""
        raise NotImplementedError

    def future_draws(self, stats: "Stats", batch: dict, prior: dict, rng, draws: int):
        """Draws of each future's posterior of the quantity, (futures, draws, groups)."""
        raise NotImplementedError


@dataclass(frozen=True)
class Baseline:
    """What a plan starts from: the control's quantity (``mean``, per unit), the sd of one
    unit's value (``sd``), and the share of that variance an adjustment for what units did
    before exposure removes (``reduction``: CUPED's squared correlation; 0 without one)."""

    mean: float
    sd: float
    reduction: float = 0.0


class Plannable(SimulatesFutures):
    """Planned before it starts (vibes_core.plan): futures whose groups' true values are fixed,
    the control's at a baseline and each treated group's at the baseline times 1 + a lift,
    instead of drawn from today's posterior. Then ``future_stats`` and ``future_draws`` (and
    the verdict's rule) run as for ``events_needed``, on ``planned_stats``'s statistics of no
    data yet."""

    requires = ("baseline_of", "baseline_from", "planned_sd", "planned_truths", "planned_prior")

    def baseline_of(self, stats: "Stats", group: int) -> Baseline:
        """A group's baseline from its statistics (an experiment's control, a metric's units)."""
        raise NotImplementedError

    def baseline_from(self, mean: float, sd: float | None) -> Baseline:
        """A baseline given as numbers, checked: a VibesError saying what is wrong (a share
        outside (0, 1), an sd missing where the quantity needs one, or given where it does
        not)."""
        raise NotImplementedError

    def planned_sd(self, baseline: Baseline, lift: float) -> float:
        """The sd of one unit's value, as the analysis sees it (adjusted, for CUPED), in a
        group whose quantity is the baseline's times 1 + ``lift``; a VibesError if no group
        can have that quantity (a share above 100%)."""
        raise NotImplementedError

    def planned_truths(self, baseline: Baseline, lifts, control: int, groups: int) -> dict:
        """True values of ``len(lifts)`` futures as ``future_stats`` takes them, each
        (futures, groups) or broadcasting to it: the control's the baseline's, every other
        group's quantity the baseline's times 1 + that future's lift."""
        raise NotImplementedError

    def planned_prior(self, baseline: Baseline) -> dict[str, float]:
        """The prior the futures are analysed with: the type's default, on the baseline's scale
        where its default follows the data's."""
        raise NotImplementedError

    def planned_stats(self, names: list[str]) -> "Stats":
        """The statistics of groups without data yet: zeros."""
        import numpy as np

        from vibes_core.stats import Stats

        return Stats(list(names), {s.name: np.zeros(len(names)) for s in self.statistics})


class Scorecard(Capability):
    """Judged on metrics of event tables in roles (vibes_core.scorecard), not on a table of
    outcomes of its own: ``scorecard`` answers ``vibes posterior``, ``metric_kind`` gives the
    type object a metric is analysed with."""

    requires = ("scorecard", "metric_kind")

    def scorecard(self, lake, experiment, settings, how, as_of: int | None) -> dict | None:
        """The answer of ``vibes posterior`` (``how``: inference.Asked)."""
        raise NotImplementedError

    def metric_kind(self, metric, adjusted: bool = False):
        raise NotImplementedError


CAPABILITIES = (ExactPosterior, Poolable, Segmentable, SimulatesFutures, Plannable, Scorecard)


def missing(kind) -> list[str]:
    """What ``kind`` lacks of the capabilities it declares: "Poolable: pooled_model", one
    entry per capability. A method counts when a class other than the capability's defines
    it; an attribute when it is not empty."""
    lacking = []
    for capability in CAPABILITIES:
        if not isinstance(kind, capability):
            continue
        absent = [name for name in capability.requires if not defined(kind, name)]
        if absent:
            lacking.append(f"{capability.__name__}: {', '.join(absent)}")
    return lacking


def defined(kind, name: str) -> bool:
    owner = next((cls for cls in type(kind).__mro__ if name in vars(cls)), None)
    if owner is None or owner.__module__ == __name__:
        return False
    value = getattr(kind, name)
    return callable(value) or bool(value)
