"""Bernoulli trials: one success probability, estimated from true/false outcomes."""

from vibes_core.types.base import TIMESTAMP, Column, ExperimentType, GenerateOption, probability


class Bernoulli(ExperimentType):
    name = "bernoulli"
    description = "Repeated yes/no trials with one unknown success rate"
    columns = (TIMESTAMP, Column("outcome", "bool", "whether the trial succeeded"))
    generate_options = (
        GenerateOption("rate", float, None, "true success rate (default: drawn from Beta(2, 18))"),
    )

    def simulate(self, n, rng, rate=None):
        rate = probability(rate, "rate") or rng.beta(2, 18)
        return {"outcome": rng.random(n) < rate}

    def sufficient_stats(self, table):
        return table.aggregate(
            trials=table.count(), successes=table.outcome.cast("int64").sum().coalesce(0)
        )


TYPE = Bernoulli()
