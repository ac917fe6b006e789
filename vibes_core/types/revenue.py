"""Revenue: the value per user (what each spent or earned, 0 for most), per variant."""

from vibes_core.families import LogNormalHurdle
from vibes_core.types.base import (
    SEGMENT,
    SEGMENTS,
    TIMESTAMP,
    Column,
    Demo,
    Field,
    GenerateOption,
    probability,
    segment_draws,
    split_names,
)
from vibes_core.units import PROBABILITY, VALUE

FEW_BUYERS = 2  # fewer than this: a variant's value per buyer is mostly the prior's
NEAR_MAX = 0.8  # a sample sd of the log values beyond this share of sd_max is warned about


class Revenue(LogNormalHurdle):
    name = "revenue"
    description = "Value per user (revenue, spend) per variant: most users 0, a long right tail"
    columns = (
        TIMESTAMP,
        Column("variant", "string", "which variant the user saw (2 or more distinct names)"),
        Column(
            "value",
            "float",
            "what the user spent or earned (>= 0; 0 for none), one row per user",
            check="non_negative",
        ),
        SEGMENT,
    )
    group_column = "variant"
    segment_columns = ("segment",)
    min_groups = 2
    generate_options = (
        GenerateOption(
            "variants", str, "A,B", "variant names, the control first", names_groups=True
        ),
        GenerateOption("buy-rate", float, None, "control's share of buyers (default: Beta(2, 38))"),
        GenerateOption("typical-value", float, 40.0, "a typical buyer's value (the median)"),
        SEGMENTS,
    )
    demos = (Demo("checkout_revenue", "Revenue per visitor", 5000, {}),)
    summary_options = ("control",)
    quantity = "value per user"
    fields = (
        Field(
            "conversion",
            "share of users with a value > 0: mean and HDI",
            unit=PROBABILITY,
        ),
        Field(
            "value_per_buyer",
            "mean value of those users: mean and HDI",
            column="per buyer",
            unit=VALUE,
            brief=True,
        ),
    )

    def simulate(self, n, rng, variants="A,B", buy_rate=None, typical_value=40.0, segments=None):
        import numpy as np

        names = split_names(variants, "variants")
        base = probability(buy_rate, "buy-rate") or rng.beta(2, 38)
        if not typical_value > 0:
            from vibes_core.errors import VibesError

            raise VibesError(f"--typical-value must be > 0, got {typical_value}")
        # Each treatment moves the share of buyers and the typical value a little.
        rates = np.minimum(base * rng.lognormal(0.0, 0.1, len(names)), 0.99)
        rates[0] = base
        medians = typical_value * rng.lognormal(0.0, 0.05, len(names))
        medians[0] = typical_value
        assigned = rng.integers(0, len(names), n)
        uniform = rng.random(n)
        amounts = rng.lognormal(np.log(medians[assigned]), 1.0)  # a long right tail
        rates = rates[assigned]
        segment = {}
        if segments:  # drawn last: without them a seed gives the events it always gave
            segment["segment"], (buying, spending) = segment_draws(n, rng, segments, 2)
            rates = np.minimum(rates * buying, 0.99)  # each segment its own baselines,
            amounts = amounts * spending  # the same lifts
        return {
            "variant": np.array(names)[assigned],
            "value": np.where(uniform < rates, np.round(amounts, 2).clip(0.01), 0.0),
            **segment,
        }

    def sufficient_stats(self, table, by=()):
        bought = table.value > 0
        log = bought.ifelse(table.value.ln(), 0.0)
        keys = ["variant", *by]
        return (
            table.group_by(keys)
            .aggregate(
                users=table.count(),
                buyers=bought.cast("int64").sum(),
                sum_log=log.sum(),
                sum_log2=(log * log).sum(),
            )
            .order_by(keys)
        )

    def extend(self, summary, estimate, stats, options):
        from vibes_core.posterior import intervals

        prob, names = options["hdi_prob"], estimate.names
        for part in self.parts:
            found = intervals(
                estimate.parts[part],
                prob,
                [f"the {part.replace('_', ' ')} of {name}" for name in names],
            )
            for row, interval in zip(summary["groups"], found, strict=True):
                row[part] = interval
        summary["warnings"] += [
            f"variant {name} has {int(buyers)} buyer(s): its value per buyer is mostly the prior's"
            for name, users, buyers in zip(names, stats["users"], stats["buyers"], strict=True)
            if users and buyers < FEW_BUYERS
        ]
        sd_max = options["prior"]["sd_max"]
        summary["warnings"] += [
            f"the log values of variant {name} have an sd of {sd:.2g}, near the prior's sd_max "
            f"of {sd_max:g}, which holds its value per buyer down; if they are that spread, give "
            f"a larger one (--prior sd_max={min(2 * sd, 10):.2g})"
            for name, sd in zip(names, log_sd(stats), strict=True)
            if sd > NEAR_MAX * sd_max
        ]


def log_sd(stats):
    """Each group's sample standard deviation of the log values (0 with fewer than 3 buyers)."""
    import numpy as np

    n, total, squares = stats["buyers"], stats["sum_log"], stats["sum_log2"]
    enough = n >= 3
    spread = np.maximum(squares - total**2 / np.where(enough, n, 1), 0)
    return np.where(enough, np.sqrt(spread / np.where(enough, n - 1, 1)), 0.0)


TYPE = Revenue()
