"""A/B(/n) tests: a conversion rate per variant, the first variant being the control."""

from vibes_core.capabilities import Segmentable
from vibes_core.errors import VibesError, option
from vibes_core.families import BetaBinomial
from vibes_core.srm import SRM_P_VALUE, p_value, srm_check
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


class AbTest(BetaBinomial, Segmentable):
    name = "ab-test"
    description = "Two or more variants, each with its own conversion rate"
    columns = (
        TIMESTAMP,
        Column("variant", "string", "which variant the user saw (2 or more distinct names)"),
        Column("outcome", "bool", "whether the user converted"),
        SEGMENT,
    )
    group_column = "variant"
    segment_columns = ("segment",)
    min_groups = 2
    generate_options = (
        GenerateOption(
            "variants", str, "A,B", "variant names, the control first", names_groups=True
        ),
        GenerateOption("base-rate", float, None, "control's true rate (default: Beta(2, 18))"),
        SEGMENTS,
    )
    demos = (
        Demo(
            "checkout_button",
            "Checkout button colour",
            4000,
            {"variants": "A,B"},
            later=(1500, 2500),
        ),
        Demo(
            "pricing_page",
            "Annual vs monthly pricing",
            6000,
            {"variants": "control,annual,monthly"},
        ),
    )
    summary_options = ("control", "split")
    quantity = "conversion rate"
    fields = (
        Field(
            "srm",
            "the sample ratio mismatch check: chi2, p_value, expected_split, flagged, declared "
            "(false: no --split, equal shares assumed; null with one variant or no events)",
            per_group=False,
        ),
    )

    def simulate(self, n, rng, variants="A,B", base_rate=None, segments=None):
        import numpy as np

        names = split_names(variants, "variants")
        base = probability(base_rate, "base-rate") or rng.beta(2, 18)
        # Each treatment moves the rate by a relative lift of typically +-15%.
        lifts = [1.0, *rng.lognormal(0.0, 0.15, len(names) - 1)]
        assigned = rng.integers(0, len(names), n)
        uniform = rng.random(n)
        rates = base * np.array(lifts)[assigned]
        segment = {}
        if segments:  # drawn last: without them a seed gives the events it always gave
            segment["segment"], (baseline,) = segment_draws(n, rng, segments)
            rates = rates * baseline  # each segment its own baseline, the same lifts
        outcome = uniform < np.minimum(rates, 0.99)
        return {"variant": np.array(names)[assigned], "outcome": outcome, **segment}

    def sufficient_stats(self, table, by=()):
        keys = ["variant", *by]
        return (
            table.group_by(keys)
            .aggregate(trials=table.count(), successes=table.outcome.cast("int64").sum())
            .order_by(keys)
        )

    def expected_groups(self, options: dict) -> list[str]:
        return list(options.get("split") or {})

    def extend(self, summary, estimate, stats, options):
        split = options.get("split")
        unweighted = [n for n in stats.names if split and n not in split]
        if unweighted:
            raise VibesError(
                f"{option('split')} has no weight for variant {unweighted[0]}: give every "
                "variant one "
                f"({', '.join(f'{n}=1' for n in stats.names)})"
            )
        summary["srm"] = srm = srm_check(stats.names, stats["trials"], split)
        if srm and srm["flagged"] and srm["declared"]:
            summary["warnings"].append(
                f"sample ratio mismatch: the observed split differs from the intended one "
                f"({p_value(srm['p_value'])} < {SRM_P_VALUE}); check how users are assigned"
            )
        elif srm and srm["flagged"]:
            summary["warnings"].append(
                f"the variants' shares differ from equal ones ({p_value(srm['p_value'])}): no "
                f"split was declared, so equal shares were assumed. If they were meant to "
                f"differ, declare the intended split ({declare(stats.names)}); if not, check "
                "how users are assigned"
            )

    def notes(self, summary):
        srm = summary.get("srm")
        if not srm:
            return []
        p = p_value(srm["p_value"])
        if srm.get("declared", True):  # a summary from before vibes said so
            result = "MISMATCH: check how users are assigned" if srm["flagged"] else "no mismatch"
            return [f"sample ratio check against the intended split: {p}, {result}"]
        result = "they differ: declare the split if meant to" if srm["flagged"] else "no mismatch"
        return [f"sample ratio check against equal shares (no split declared): {p}, {result}"]


def declare(names: list[str]) -> str:
    """How to declare the intended split of these variants, in words."""
    shown = ",".join(f"{name}=WEIGHT" for name in names[:2]) + (",..." if len(names) > 2 else "")
    return f"--split {shown}, or saved in the analysis options"


TYPE = AbTest()
