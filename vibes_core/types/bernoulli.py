"""Bernoulli trials: one success probability, estimated from true/false outcomes."""

from vibes_core.families import BetaBinomial
from vibes_core.types.base import TIMESTAMP, Column, Demo, Field, GenerateOption, probability
from vibes_core.units import percent


class Bernoulli(BetaBinomial):
    name = "bernoulli"
    description = "Repeated yes/no trials with one unknown success rate"
    columns = (TIMESTAMP, Column("outcome", "bool", "whether the trial succeeded"))
    generate_options = (
        GenerateOption("rate", float, None, "true success rate (default: drawn from Beta(2, 18))"),
    )
    demos = (Demo("signup_rate", "Sign-up conversion", 1500, {}),)
    summary_options = ("threshold",)
    quantity = "success rate"
    fields = (
        Field("p_above_threshold", "P(rate > --threshold), with --threshold", column="P(>t)"),
        Field("threshold", "the --threshold asked for", per_group=False),
    )

    def simulate(self, n, rng, rate=None):
        rate = probability(rate, "rate") or rng.beta(2, 18)
        return {"outcome": rng.random(n) < rate}

    def sufficient_stats(self, table):
        return table.aggregate(
            trials=table.count(), successes=table.outcome.cast("int64").sum().coalesce(0)
        )

    def extend(self, summary, estimate, stats, options):
        threshold = options.get("threshold")
        if threshold is not None:
            [row] = summary["groups"]
            row["p_above_threshold"] = estimate.prob_above(0, threshold)
            summary["threshold"] = threshold
            summary["decision"] += (
                f"; P(rate > {percent(threshold)}) = {percent(row['p_above_threshold'])}"
            )


TYPE = Bernoulli()
