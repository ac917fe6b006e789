"""Multi-armed bandits: a reward rate per arm, with traffic allocated as the data comes in."""

from vibes_core.types.base import (
    TIMESTAMP,
    Column,
    ExperimentType,
    GenerateOption,
    split_names,
)


class Bandits(ExperimentType):
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


TYPE = Bandits()
