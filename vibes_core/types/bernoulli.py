"""Bernoulli trials: one success probability, estimated from true/false outcomes."""

from vibes_core.families import BetaBinomial
from vibes_core.types.base import TIMESTAMP, Column, GenerateOption, probability


class Bernoulli(BetaBinomial):
    name = "bernoulli"
    description = "Repeated yes/no trials with one unknown success rate"
    columns = (TIMESTAMP, Column("outcome", "bool", "whether the trial succeeded"))
    generate_options = (
        GenerateOption("rate", float, None, "true success rate (default: drawn from Beta(2, 18))"),
    )
    summary_options = ("threshold",)
    quantity = "success rate"

    def simulate(self, n, rng, rate=None):
        rate = probability(rate, "rate") or rng.beta(2, 18)
        return {"outcome": rng.random(n) < rate}

    def sufficient_stats(self, table):
        return table.aggregate(
            trials=table.count(), successes=table.outcome.cast("int64").sum().coalesce(0)
        )

    def summarize(self, posterior, groups, options):
        from vibes_core.posterior import describe, percent

        prob = options["hdi_prob"]
        [row] = describe(posterior, prob)
        row.update(trials=int(groups.size[0]), successes=int(groups.count[0]))
        decision = (
            f"The success rate is {percent(row['mean'])} ({percent(prob, 0)} HDI "
            f"{percent(row['hdi_low'])} to {percent(row['hdi_high'])})"
        )
        threshold = options.get("threshold")
        summary = {"groups": [row], "warnings": []}
        if threshold is not None:
            row["p_above_threshold"] = posterior.prob_above(0, threshold)
            summary["threshold"] = threshold
            decision += f"; P(rate > {percent(threshold)}) = {percent(row['p_above_threshold'])}"
        if groups.empty[0]:
            summary["warnings"].append("no events yet: the posterior is the prior")
        return {**summary, "decision": decision}


TYPE = Bernoulli()
