"""A/B(/n) tests: a conversion rate per variant, the first variant being the control."""

from vibes_core.errors import VibesError
from vibes_core.families import BetaBinomial, baseline, no_data_warnings
from vibes_core.types.base import TIMESTAMP, Column, GenerateOption, probability, split_names

SRM_P_VALUE = 0.001  # below this, the observed split is flagged as a sample ratio mismatch


class AbTest(BetaBinomial):
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
    summary_options = ("control", "split")
    quantity = "conversion rate"

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

    def expected_groups(self, options: dict) -> list[str]:
        return list(options.get("split") or {})

    def summarize(self, posterior, groups, options):
        import numpy as np

        from vibes_core.posterior import describe, intervals

        prob, names = options["hdi_prob"], posterior.names
        c = baseline(names, options.get("control"), "control", "variant")
        control = names[c]
        unweighted = [n for n in names if options.get("split") and n not in options["split"]]
        if unweighted:
            raise VibesError(
                f"--split has no weight for variant {unweighted[0]}: give every variant one "
                f"({', '.join(f'{n}=1' for n in names)})"
            )
        rows, draws = describe(posterior, prob), posterior.draws()
        others = [i for i in range(len(names)) if i != c]
        uplift = draws[:, others] - draws[:, [c]]
        with np.errstate(all="ignore"):  # a 0 draw of the control: named by intervals()
            relative = uplift / draws[:, [c]]
        absolute = intervals(uplift, prob, [f"the uplift of {names[i]}" for i in others])
        relative = intervals(
            relative,
            prob,
            [f"the uplift of {names[i]} relative to the control {control}" for i in others],
        )
        beats = posterior.prob_beats(c)
        for i, (row, p_best, loss) in enumerate(
            zip(rows, posterior.p_best(), posterior.expected_loss(), strict=True)
        ):
            row.update(trials=int(groups.size[i]), successes=int(groups.count[i]),
                       p_best=float(p_best), expected_loss=float(loss), control=i == c)  # fmt: skip
            if i != c:
                k = i if i < c else i - 1
                row.update(uplift_abs=absolute[k], uplift_rel=relative[k],
                           p_beats_control=float(beats[i]))  # fmt: skip
        warnings = no_data_warnings(groups, "variant")
        srm = srm_check(groups, options.get("split"))
        if srm and srm["flagged"]:
            warnings.append(
                f"sample ratio mismatch: the observed split differs from the intended one "
                f"(p = {srm['p_value']:.2g} < {SRM_P_VALUE}); check how users are assigned"
            )
        if len(names) < 2:
            warnings.append("only one variant: there is nothing to compare it with")
        return {"groups": rows, "control": control, "srm": srm, "warnings": warnings,
                "decision": decide(posterior, rows)}  # fmt: skip

    def plots(self, posterior, groups, summary, options):
        """The conversion rates, then each variant's relative uplift over the control."""
        import numpy as np

        from vibes_core.plots import derived_densities

        specs = super().plots(posterior, groups, summary, options)
        names, draws = posterior.names, posterior.draws()
        c = names.index(summary["control"])
        # The same arithmetic as the summary's uplift_rel, so the HDIs agree to the last digit.
        with np.errstate(all="ignore"):  # the summary refused those
            uplifts = {name: (draws[:, i] - draws[:, c]) / draws[:, c]
                       for i, name in enumerate(names) if i != c}  # fmt: skip
        if uplifts:
            specs.append(derived_densities(uplifts, options["hdi_prob"],
                                           f"relative uplift over {names[c]}",
                                           f"(variant - {names[c]}) / {names[c]}"))  # fmt: skip
        return specs


def decide(posterior, rows: list[dict]) -> str:
    """One sentence: who leads, how sure that is, and what choosing it may cost."""
    from vibes_core.posterior import percent

    names = posterior.names
    if len(names) < 2:
        return f"Only {names[0]} has data" if names else "No events yet"
    # A variant with no events is only its prior: it cannot be the one to choose.
    candidates = [i for i in range(len(names)) if rows[i]["trials"]] or range(len(names))
    leader = max(candidates, key=lambda i: rows[i]["p_best"])
    cost = f"expected loss of choosing {names[leader]}: {points(rows[leader]['expected_loss'])}"
    if len(names) == 2:
        chance = posterior.prob_greater(leader, 1 - leader)
        return (
            f"{names[leader]} beats {names[1 - leader]} with {percent(chance)} probability; {cost}"
        )
    return f"{names[leader]} is best with {percent(rows[leader]['p_best'])} probability; {cost}"


def points(share: float) -> str:
    """A difference of proportions in percentage points, small ones with 2 significant digits."""
    value = 100 * share
    return f"{value:.2f} pp" if value >= 0.01 else f"{value:.2g} pp"


def srm_check(groups, split: dict[str, float] | None) -> dict | None:
    """Chi-square test of the observed trials per variant against the intended split."""
    import numpy as np
    from scipy.special import chdtrc

    total = groups.size.sum()
    if len(groups.names) < 2 or total == 0:
        return None
    weights = np.array([split[n] for n in groups.names]) if split else np.ones(len(groups.names))
    weights = weights / weights.max()  # weights of 1e308 each would sum to infinity
    expected = total * weights / weights.sum()
    chi2 = float(np.sum((groups.size - expected) ** 2 / expected))
    p_value = float(chdtrc(len(groups.names) - 1, chi2))
    return {
        "chi2": chi2,
        "p_value": p_value,
        "expected_split": dict(zip(groups.names, (weights / weights.sum()).tolist(), strict=True)),
        "flagged": p_value < SRM_P_VALUE,
    }


TYPE = AbTest()
