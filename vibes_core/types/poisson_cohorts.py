"""Poisson cohorts: an event rate per unit of exposure, per cohort."""

from vibes_core.types.base import (
    TIMESTAMP,
    Column,
    ExperimentType,
    GenerateOption,
    split_names,
)


class PoissonCohorts(ExperimentType):
    name = "poisson-cohorts"
    description = "Counts of events over an exposure (time, users, ...) per cohort"
    columns = (
        TIMESTAMP,
        Column("cohort", "string", "which cohort the count belongs to"),
        Column(
            "events",
            "int",
            "how many events were counted (whole number >= 0)",
            check="non_negative",
        ),
        Column(
            "exposure",
            "float",
            "how much exposure the count covers (> 0)",
            required=False,
            default=1.0,
            check="positive",
        ),
    )
    group_column = "cohort"
    generate_options = (
        GenerateOption("cohorts", str, "2026-07,2026-08,2026-09,2026-10", "cohort names"),
    )

    def simulate(self, n, rng, cohorts="2026-07,2026-08,2026-09,2026-10"):
        import numpy as np

        names = split_names(cohorts, "cohorts")
        rates = rng.gamma(2.0, 1.5, len(names))  # events per unit of exposure
        cohort = rng.integers(0, len(names), n)
        exposure = rng.uniform(0.5, 2.0, n).round(2)
        return {
            "cohort": np.array(names)[cohort],
            "events": rng.poisson(rates[cohort] * exposure),
            "exposure": exposure,
        }

    def sufficient_stats(self, table):
        return (
            table.group_by("cohort")
            .aggregate(rows=table.count(), events=table.events.sum(), exposure=table.exposure.sum())
            .order_by("cohort")
        )


TYPE = PoissonCohorts()
