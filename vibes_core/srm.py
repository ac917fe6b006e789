"""The sample ratio mismatch check: are the variants' shares what was intended?"""

SRM_P_VALUE = 0.001  # below this, the observed split is flagged as a sample ratio mismatch


def p_value(p: float) -> str:
    """A p-value in words: never "p = 0", which chi-square's tail underflows to."""
    return f"p = {p:.2g}" if p >= 1e-16 else "p < 1e-16"


def srm_check(names: list[str], counts, split: dict[str, float] | None) -> dict | None:
    """Chi-square test of the observed ``counts`` per variant (trials, units) against the
    intended split."""
    import numpy as np
    from scipy.special import chdtrc

    trials = np.asarray(counts, dtype=float)
    total = trials.sum()
    if len(names) < 2 or total == 0:
        return None
    weights = np.array([split[n] for n in names]) if split else np.ones(len(names))
    weights = weights / weights.max()  # weights of 1e308 each would sum to infinity
    expected = total * weights / weights.sum()
    chi2 = float(np.sum((trials - expected) ** 2 / expected))
    p_value = float(chdtrc(len(names) - 1, chi2))
    return {
        "chi2": chi2,
        "p_value": p_value,
        "expected_split": dict(zip(names, (weights / weights.sum()).tolist(), strict=True)),
        "flagged": p_value < SRM_P_VALUE,
        "declared": bool(split),  # else equal shares were assumed
    }
