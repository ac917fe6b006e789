"""Experiments on units: an assignment log (which unit saw which variant, when), judged on
metrics of event tables (vibes_core.metrics) in roles — a goal, guardrails, secondaries.

Its analysis is a scorecard (vibes_core.scorecard): each metric's per-variant statistics
(vibes_core.unit_stats) analysed by the family of its kind, here:

- proportion: the share of units with an event, Beta-Binomial on units and those units;
- count and mean: the mean per unit of events or of a value, Normal-Inverse-Gamma on units,
  Σy and Σy² (NormalMean);
- ratio: Σ numerator / Σ denominator over units, the bivariate Normal of the two means
  (RatioOfMeans).
"""

import copy
from dataclasses import replace

from vibes_core.capabilities import Scorecard, Segmentable
from vibes_core.families import AdjustedMean, BetaBinomial, NormalMean, RatioOfMeans
from vibes_core.metrics import Metric
from vibes_core.types.base import (
    SEGMENT,
    Column,
    Demo,
    ExperimentType,
    GenerateOption,
    Statistic,
    split_names,
)
from vibes_core.units import PROBABILITY, Unit


class MetricKind(ExperimentType):
    """What a metric's kind analyses with: its family, its variants compared with the
    control. ``for_metric`` gives the object of one metric (its name, its direction)."""

    group_column = "variant"
    summary_options = ("control",)
    leads = "is best"
    counted = "units"  # a metric's data grows by units exposed
    columns = ()

    def for_metric(self, metric: Metric) -> "MetricKind":
        kind = copy.copy(self)
        kind.quantity = metric.name
        kind.higher_is_better = not metric.lower_is_better
        return kind


class Proportion(MetricKind, BetaBinomial, Segmentable):
    name = "proportion"
    description = "the share of units with at least one event"
    unit = PROBABILITY
    segment_columns = ("segment",)  # the assignments' segment of each unit's exposure

    def stats(self, rows):
        """The metric's rows (units, sum_value: units with an event) as trials, successes."""
        return super().stats(
            [
                {"variant": row["variant"], "trials": row["units"], "successes": row["sum_value"]}
                for row in rows
            ]
        )


PER_UNIT = Unit("value", "per unit")


class Count(MetricKind, NormalMean):
    name = "count"
    description = "events per unit"
    unit = PER_UNIT


class Mean(MetricKind, NormalMean):
    name = "mean"
    description = "the sum of a value per unit"
    unit = PER_UNIT


class Ratio(MetricKind, RatioOfMeans):
    name = "ratio"
    description = "the sum of a value over the sum of another, over units"


class Adjusted(MetricKind, AdjustedMean):
    """A proportion, count or mean metric adjusted for the same metric before each unit's
    exposure (CUPED): its value per unit at the average pre-exposure value."""

    name = "adjusted"
    description = "a metric adjusted for what units did before exposure (CUPED)"
    unit = PER_UNIT

    def for_metric(self, metric: Metric) -> "MetricKind":
        kind = super().for_metric(metric)
        kind.unit = KINDS[metric.kind].unit  # a share stays a share
        return kind


KINDS: dict[str, MetricKind] = {
    kind.name: kind for kind in (Proportion(), Count(), Mean(), Ratio())
}
ADJUSTED = Adjusted()


class Assignments(ExperimentType, Scorecard):
    name = "assignments"
    description = "Units assigned to variants, judged on metrics of event tables: a scorecard"
    columns = (
        Column(
            "timestamp",
            "timestamp",
            "when the unit was assigned; its first row is its exposure",
        ),
        Column("unit", "string", "the unit assigned (a user, a session, a device)"),
        Column("variant", "string", "which variant it saw (2 or more distinct names)"),
        SEGMENT,
    )
    group_column = "variant"
    segment_columns = ("segment",)
    min_groups = 2
    statistics = (Statistic("units", "units exposed (those under two variants left out)"),)
    size = "units"
    events = "units"
    counts = ("units", "units", "units")
    priors = ()
    summary_options = ("control", "split")
    quantity = "units"
    model_summary = "each metric by its kind: see `vibes metrics list`"
    generate_options = (
        GenerateOption(
            "variants", str, "control,treatment", "variant names, the control first", True
        ),
    )
    demos: tuple[Demo, ...] = ()
    kinds = KINDS

    def simulate(self, n, rng, variants="control,treatment"):
        import numpy as np

        names = split_names(variants, "variants")
        units = np.char.add("u", rng.permutation(n).astype(str))
        return {"unit": units, "variant": np.array(names)[rng.integers(0, len(names), n)]}

    def sufficient_stats(self, table, by=()):
        """Units per variant (and per value of ``by``: the least of a unit's), those under two
        variants left out."""
        per_unit = table.group_by("unit").aggregate(
            variant=table.variant.min(),
            variants=table.variant.nunique(),
            **{column: table[column].min() for column in by},
        )
        kept = per_unit.filter(per_unit.variants == 1)
        keys = ["variant", *by]
        return kept.group_by(keys).aggregate(units=kept.count()).order_by(keys)

    def metric_kind(self, metric: Metric, adjusted: bool = False) -> MetricKind:
        """The type object a metric is analysed with: its kind's, or with ``adjusted`` (its
        rows have a covariate that can adjust it) CUPED's."""
        return (ADJUSTED if adjusted else self.kinds[metric.kind]).for_metric(metric)

    def for_summary(self, summary: dict) -> ExperimentType:
        """A metric's summary (``--metric``) is its kind's; the scorecard is this type's."""
        if "metric" not in summary:
            return self
        metric = Metric(summary["metric"], summary["table"], summary["kind"])
        metric = replace(metric, lower_is_better=summary["lower_is_better"])
        return self.metric_kind(metric, summary.get("adjustment") is not None)

    def scorecard(self, lake, experiment, settings, how, as_of: int | None) -> dict | None:
        from vibes_core import scorecard

        return scorecard.posterior(self, lake, experiment, settings, how, as_of)


TYPE = Assignments()
