"""Poisson cohorts: an event rate per unit of exposure, per cohort."""

from vibes_core.families import GammaPoisson, baseline
from vibes_core.types.base import TIMESTAMP, Column, GenerateOption, split_names


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
        GenerateOption("cohorts", str, "2026-07,2026-08,2026-09,2026-10", "cohort names"),
    )
    summary_options = ("reference",)
    quantity = "event rate"

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

    def summarize(self, posterior, groups, options):
        import numpy as np

        from vibes_core.posterior import describe, intervals, percent

        prob, names = options["hdi_prob"], posterior.names
        r = baseline(names, options.get("reference"), "reference", "cohort")
        reference = names[r]
        rows, draws, p_best = describe(posterior, prob), posterior.draws(), posterior.p_best()
        others = [i for i in range(len(names)) if i != r]
        with np.errstate(all="ignore"):  # a 0 draw of the reference: named by intervals()
            ratios = intervals(
                draws[:, others] / draws[:, [r]],
                prob,
                [f"the rate ratio of {names[i]} to the reference {reference}" for i in others],
            )
        for i, row in enumerate(rows):
            row.update(events=int(groups.count[i]), exposure=float(groups.size[i]),
                       p_best=float(p_best[i]), reference=i == r)  # fmt: skip
            if i != r:
                row["rate_ratio"] = ratios[i if i < r else i - 1]
        top = max(rows, key=lambda row: row["p_best"])
        return {
            "groups": rows,
            "reference": reference,
            "warnings": [
                f"cohort {name} has no events yet in {exposure:g} of exposure: its rate is "
                "only bounded from above"
                for name, events, exposure in zip(names, groups.count, groups.size, strict=True)
                if events == 0
            ],
            "decision": f"{top['name']} has the highest rate with {percent(top['p_best'])} "
            f"probability: {top['mean']:.3g} events per unit of exposure ({percent(prob, 0)} HDI "
            f"{top['hdi_low']:.3g} to {top['hdi_high']:.3g})",
        }

    def plots(self, posterior, groups, summary, options):
        """The rates per unit of exposure, then each cohort's rate ratio to the reference."""
        import numpy as np

        from vibes_core.plots import derived_densities

        specs = super().plots(posterior, groups, summary, options)
        names, draws = posterior.names, posterior.draws()
        r = names.index(summary["reference"])
        with np.errstate(all="ignore"):  # the summary refused those
            ratios = {name: draws[:, i] / draws[:, r] for i, name in enumerate(names) if i != r}
        if ratios:
            specs.append(derived_densities(ratios, options["hdi_prob"],
                                           f"rate ratio to {names[r]}",
                                           f"cohort rate / {names[r]} rate"))  # fmt: skip
        return specs


TYPE = PoissonCohorts()
