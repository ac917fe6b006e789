"""Multi-armed bandits: a reward rate per arm, with traffic allocated as the data comes in."""

from vibes_core.families import BetaBinomial, no_data_warnings
from vibes_core.types.base import TIMESTAMP, Column, GenerateOption, split_names

FLOOR = 0.01  # no arm gets less than 1% of the next batch (1/arms if that is smaller)


class Bandits(BetaBinomial):
    name = "multi-armed-bandits"
    description = "Arms with unknown reward rates, pulled adaptively"
    columns = (
        TIMESTAMP,
        Column("arm", "string", "which arm was pulled"),
        Column("reward", "bool", "whether the pull paid off"),
    )
    group_column = "arm"
    generate_options = (
        GenerateOption("arms", str, "arm_1,arm_2,arm_3", "arm names"),
        GenerateOption("batches", int, 20, "rounds of Thompson-sampling allocation"),
    )
    quantity = "reward rate"

    def simulate(self, n, rng, arms="arm_1,arm_2,arm_3", batches=20):
        import numpy as np

        names = split_names(arms, "arms")
        rates = rng.beta(2, 18, len(names))
        wins = np.zeros(len(names))
        pulls = np.zeros(len(names))
        chosen, rewards = [], []
        # A real bandit shifts traffic to the better arms batch by batch (Thompson sampling).
        for size in np.diff(np.linspace(0, n, max(1, batches) + 1).astype(int)):
            draws = rng.beta(1 + wins, 1 + pulls - wins, (size, len(names)))
            arm = draws.argmax(axis=1)
            reward = rng.random(size) < rates[arm]
            np.add.at(pulls, arm, 1)
            np.add.at(wins, arm, reward)
            chosen.append(arm)
            rewards.append(reward)
        return {
            "arm": np.array(names)[np.concatenate(chosen)],
            "reward": np.concatenate(rewards),
        }

    def sufficient_stats(self, table):
        return (
            table.group_by("arm")
            .aggregate(trials=table.count(), successes=table.reward.cast("int64").sum())
            .order_by("arm")
        )

    def summarize(self, posterior, groups, options):
        from vibes_core.posterior import describe, percent

        rows = describe(posterior, options["hdi_prob"])
        p_best = posterior.p_best()
        allocation = thompson_allocation(p_best)
        for i, row in enumerate(rows):
            row.update(trials=int(groups.size[i]), successes=int(groups.count[i]),
                       p_best=float(p_best[i]), allocation=allocation[i])  # fmt: skip
        leader = max(rows, key=lambda row: row["p_best"])
        shares = ", ".join(f"{row['name']} {percent(row['allocation'], 0)}" for row in rows)
        return {
            "groups": rows,
            "allocation": {row["name"]: row["allocation"] for row in rows},
            "floor": min(FLOOR, 1 / len(rows)),
            "warnings": no_data_warnings(groups, "arm"),
            "decision": f"{leader['name']} is best with {percent(leader['p_best'])} probability; "
            f"next batch: {shares}",
        }

    def plots(self, posterior, groups, summary, options):
        """The reward rates, then the next batch's allocation."""
        from vibes_core.plots import bars

        allocation = summary["allocation"]
        return [*super().plots(posterior, groups, summary, options),
                bars("next batch (Thompson sampling)", list(allocation), list(allocation.values()),
                     "share of the next batch")]  # fmt: skip


def thompson_allocation(p_best) -> list[float]:
    """Thompson sampling's traffic shares (P(best) per arm), lifted to at least the floor."""
    floor = min(FLOOR, 1 / len(p_best))
    shares = [float(p) for p in p_best]
    # Arms under the floor get it; the others share what is left in proportion to P(best).
    lifted = {i for i, share in enumerate(shares) if share < floor}
    while True:
        rest = sum(shares[i] for i in range(len(shares)) if i not in lifted)
        left = 1 - floor * len(lifted)
        if rest <= 0:  # rounding lifted every arm: the floor is 1/arms, an even split
            return [1 / len(shares)] * len(shares)
        scaled = {i: shares[i] * left / rest for i in range(len(shares)) if i not in lifted}
        newly = {i for i, share in scaled.items() if share < floor}
        if not newly:
            return [floor if i in lifted else scaled[i] for i in range(len(shares))]
        lifted |= newly


TYPE = Bandits()
