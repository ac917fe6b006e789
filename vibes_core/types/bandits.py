"""Multi-armed bandits: a reward rate per arm, with traffic allocated as the data comes in."""

from vibes_core.families import BetaBinomial
from vibes_core.types.base import TIMESTAMP, Column, Demo, Field, GenerateOption, split_names
from vibes_core.units import PROBABILITY

FLOOR = 0.01  # no arm gets less than 1% of the next batch,
FLOORS_AT_MOST = 0.2  # and the floors take at most a fifth of it (100 arms: 0.2% each)


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
        GenerateOption("arms", str, "arm_1,arm_2,arm_3", "arm names", names_groups=True),
        GenerateOption("batches", int, 20, "rounds of Thompson-sampling allocation"),
    )
    demos = (Demo("headline_bandit", "Newsletter headlines", 3000, {}),)
    quantity = "reward rate"
    fields = (
        Field("allocation", "the arm's share of the next batch", column="next"),
        Field("allocation", "arm -> share of the next batch", per_group=False),
        Field("floor", "the least share an arm gets", per_group=False),
    )

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

    def extend(self, summary, estimate, stats, options):
        rows = summary["groups"]
        allocation = thompson_allocation([row["p_best"] or 0.0 for row in rows])
        for row, share in zip(rows, allocation, strict=True):
            row["allocation"] = share
        summary["allocation"] = {row["name"]: row["allocation"] for row in rows}
        summary["floor"] = floor_of(len(rows))
        shares = ", ".join(f"{row['name']} {PROBABILITY.show(row['allocation'])}" for row in rows)
        summary["decision"] += f"; next batch: {shares}"

    def plots(self, estimate, stats, summary, options):
        """The reward rates, then the next batch's allocation."""
        from vibes_core.plots import bars

        allocation = summary["allocation"]
        return [
            *super().plots(estimate, stats, summary, options),
            bars(
                "next batch (Thompson sampling)",
                list(allocation),
                list(allocation.values()),
                "share of the next batch",
            ),
        ]


def floor_of(arms: int) -> float:
    """Each arm's least share: FLOOR, unless the floors would then take more than
    FLOORS_AT_MOST of the traffic (and erase what Thompson sampling says)."""
    return min(FLOOR, FLOORS_AT_MOST / arms)


def thompson_allocation(p_best) -> list[float]:
    """Thompson sampling's traffic shares (P(best) per arm), lifted to at least the floor."""
    floor = floor_of(len(p_best))
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
