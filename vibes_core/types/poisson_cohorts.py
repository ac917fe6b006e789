"""Poisson cohorts: an event rate per unit of exposure, per cohort."""

from vibes_core.families import GammaPoisson
from vibes_core.types.base import TIMESTAMP, Column, Demo, Field, GenerateOption, split_names
from vibes_core.units import Unit

RATIO = Unit("ratio", "")


class PoissonCohorts(GammaPoisson):
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
        GenerateOption(
            "cohorts",
            str,
            "2026-07,2026-08,2026-09,2026-10",
            "cohort names, the reference first",
            names_groups=True,
        ),
    )
    demos = (Demo("support_tickets", "Tickets per account-month", 800, {}),)
    summary_options = ("control",)
    quantity = "event rate"
    leads = "has the highest rate"
    chosen = "{name} has the highest rate"
    baseline = "reference"
    table_hides = ("uplift",)  # the rate ratio says it as cohort analyses do
    fields = (
        Field(
            "rate_ratio",
            "this cohort's rate / the reference's (not on the reference's row)",
            column="rate ratio",
            unit=RATIO,
        ),
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

    def extend(self, summary, estimate, stats, options):
        """Rate ratios to the reference (as cohort analyses say it), centred on their median
        (a ratio's mean need not exist)."""
        import numpy as np

        from vibes_core.posterior import intervals

        rows, names = summary["groups"], stats.names
        if summary["control"] is not None:
            r = names.index(summary["control"])
            others = [i for i in range(len(names)) if i != r]
            draws = estimate.draws()
            with np.errstate(all="ignore"):  # a 0 draw of the reference: named by intervals()
                ratios = intervals(
                    draws[:, others] / draws[:, [r]],
                    options["hdi_prob"],
                    [f"the rate ratio of {names[i]} to the reference {names[r]}" for i in others],
                    center="median",
                )
            for i, ratio in zip(others, ratios, strict=True):
                rows[i]["rate_ratio"] = ratio
        summary["warnings"] += [
            f"cohort {name} has no events yet in {exposure:g} of exposure: its rate is only "
            "bounded from above"
            for name, events, exposure in zip(
                stats.names, stats["events"], stats["exposure"], strict=True
            )
            if events == 0 and exposure > 0
        ]

    def plots(self, estimate, stats, summary, options):
        """The rates per unit of exposure, then each cohort's rate ratio to the reference."""
        import numpy as np

        from vibes_core.plots import derived_densities

        specs = super().plots(estimate, stats, summary, options)[:1]
        names, draws = estimate.names, estimate.draws()
        if summary["control"] is not None:
            r = names.index(summary["control"])
            with np.errstate(all="ignore"):  # the summary refused those
                ratios = {name: draws[:, i] / draws[:, r] for i, name in enumerate(names) if i != r}
            specs.append(
                derived_densities(
                    ratios,
                    options["hdi_prob"],
                    f"rate ratio to {names[r]}",
                    f"cohort rate / {names[r]} rate",
                    reference=1.0,
                )
            )
        return specs


TYPE = PoissonCohorts()
