"""A/B(/n) tests: a conversion rate per variant, the first variant being the control."""

from vibes_core.types.base import (
    TIMESTAMP,
    Column,
    ExperimentType,
    GenerateOption,
    probability,
    split_names,
)


class AbTest(ExperimentType):
    name = "ab-test"
    description = "Two or more variants, each with its own conversion rate"
    columns = (
        TIMESTAMP,
        Column("variant", "string", "which variant the user saw (2 or more distinct names)"),
        Column("outcome", "bool", "whether the user converted"),
    )
    group_column = "variant"
    min_groups = 2
    generate_options = (
        GenerateOption("variants", str, "A,B", "variant names, the control first"),
        GenerateOption("base-rate", float, None, "control's true rate (default: Beta(2, 18))"),
    )

    def simulate(self, n, rng, variants="A,B", base_rate=None):
        import numpy as np

        names = split_names(variants, "variants")
        base = probability(base_rate, "base-rate") or rng.beta(2, 18)
        # Each treatment moves the rate by a relative lift of typically +-15%.
        lifts = [1.0, *rng.lognormal(0.0, 0.15, len(names) - 1)]
        rates = np.minimum(base * np.array(lifts), 0.99)
        assigned = rng.integers(0, len(names), n)
        return {"variant": np.array(names)[assigned], "outcome": rng.random(n) < rates[assigned]}

    def sufficient_stats(self, table):
        return (
            table.group_by("variant")
            .aggregate(trials=table.count(), successes=table.outcome.cast("int64").sum())
            .order_by("variant")
        )


TYPE = AbTest()
