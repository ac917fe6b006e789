"""Revenue: the value per user (what each spent or earned, 0 for most), per variant.

Two likelihoods (``--likelihood``): ``log-normal`` (the default, ``Revenue``: the share of
buyers times a log-normal value per buyer; pooled and broken down by segment too) and ``mean``
(``RevenueMean``: the mean of the values themselves, Normal by the central limit theorem,
which stays honest with a few very large values). Both read the same statistics; what they
share of revenue (columns, demo data, statistics, the parts of the summary) is ``Values``.
"""

from vibes_core.capabilities import Segmentable
from vibes_core.families import LogNormalHurdle, UnitMean
from vibes_core.types.base import (
    SEGMENT,
    SEGMENTS,
    TIMESTAMP,
    Column,
    Demo,
    ExperimentType,
    Field,
    GenerateOption,
    probability,
    segment_draws,
    split_names,
)
from vibes_core.units import PROBABILITY, VALUE, percent

FEW_BUYERS = 2  # fewer than this: a variant's value per buyer is mostly the prior's
NEAR_MAX = 0.8  # a sample sd of the log values beyond this share of sd_max is warned about
# The fit check (LogNormalHurdle.tail_fit) warns when the model gives the buyers' mean value a
# chance below this. A posterior predictive P is conservative (the data checked are the data
# fitted): on log-normal data (sd 0.5 to 2 of the logs, 5 to 5,000 buyers) 2 checks of 3,000
# fell below 1%, none below 0.1%; with 0.5% of buyers at 100 times the typical value, 78% of
# variants of 1,000 buyers fell below 1% (70% below 0.1%), 96% of 2,000 (the rest had too
# few whales to move the mean).
TAIL_ALARM = 0.01


class Values(ExperimentType):
    """Revenue whatever its likelihood: its columns, demo data, statistics and summary parts
    (the share of buyers and the value per buyer, each with its HDI; a warning for a variant
    with fewer than two buyers). A likelihood is a family beside it (vibes_core.families)."""

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
    likelihoods = ("log-normal", "mean")
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
            from vibes_core.errors import VibesError, option

            raise VibesError(f"{option('typical_value')} must be > 0, got {typical_value}")
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
                sum_value=table.value.sum(),
                sum_value2=(table.value * table.value).sum(),
            )
            .order_by(keys)
        )

    def likelihood_type(self, name: str) -> ExperimentType:
        return {"log-normal": TYPE, "mean": MEAN}[name]

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


class Revenue(Values, LogNormalHurdle, Segmentable):
    """The log-normal likelihood (the default): pooled and broken down by segment too; each
    summary checks the fit of its tail (``tail_warnings``) and the spread that presses on
    sd_max."""

    def extend(self, summary, estimate, stats, options):
        super().extend(summary, estimate, stats, options)
        names = estimate.names
        sd_max = options["prior"]["sd_max"]
        summary["warnings"] += [
            f"the log values of variant {name} have an sd of {sd:.2g}, near the prior's sd_max "
            f"of {sd_max:g}, which holds its value per buyer down; if they are that spread, give "
            f"a larger one (--prior sd_max={min(2 * sd, 10):.2g})"
            for name, sd in zip(names, log_sd(stats), strict=True)
            if sd > NEAR_MAX * sd_max
        ]
        summary["warnings"] += self.tail_warnings(estimate, stats, options)

    def tail_warnings(self, estimate, stats, options) -> list[str]:
        """The log-normal's fit check (``tail_fit``) of each variant, with the independent
        model's prior (a pooled or segmented fit's has other parameters; the check is of the
        log-normal tail, not of pooling). A variant already warned about for its spread is
        left out: the bound on it, not its tail, may hold its mean down."""
        given = options["prior"]
        own = {p.name for p in self.priors} <= set(given)  # the independent model's prior
        prior = given if own else self.prior({"sd_max": given["sd_max"]}, stats)
        pressed = log_sd(stats) > NEAR_MAX * prior["sd_max"]
        return [
            f"variant {name}: its buyers' mean value is {VALUE.show(fit.observed)}, where the "
            f"log-normal model implies {VALUE.show(fit.implied)} (a mean so high has a "
            f"{percent(fit.p_value)} chance under it): a few very large values its tail does "
            "not fit, and its value per user is then likely too low; --likelihood mean (the "
            "mean of the values themselves) stays honest with a few very large values"
            for name, fit, held in zip(
                estimate.names, self.tail_fit(stats, prior), pressed, strict=True
            )
            if fit is not None and fit.p_value < TAIL_ALARM and not held
        ]


def log_sd(stats):
    """Each group's sample standard deviation of the log values (0 with fewer than 3 buyers)."""
    import numpy as np

    n, total, squares = stats["buyers"], stats["sum_log"], stats["sum_log2"]
    enough = n >= 3
    spread = np.maximum(squares - total**2 / np.where(enough, n, 1), 0)
    return np.where(enough, np.sqrt(spread / np.where(enough, n - 1, 1)), 0.0)


class RevenueMean(Values, UnitMean):
    """``--likelihood mean``: the unit mean's Normal model (vibes_core.families.UnitMean), its
    exact posterior and futures; no pooled or segmented model, no log-normal tail to check."""

    likelihood = "mean"
    likelihood_title = "unit mean"
    model_version = 1  # its own: cached fits of it miss when its model changes


TYPE = Revenue()
MEAN = RevenueMean()
