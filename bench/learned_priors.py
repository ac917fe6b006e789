"""Priors learned from past experiments (vibes_core.effects), on simulated lakes whose true
distribution of effects is known, and what learning and answering under one cost.

1. Recovery: LAKES lakes of PAST experiments each, effects from spike-and-slab truths, standard
   errors between 1% and 4%: the mean and spread of the estimates of pi, mu and tau, and how
   often the tail is called heavy.
2. Use: a prior learned from one lake of PAST, then NEW experiments from the same population:
   the predictive log-likelihood of them (10-fold, on the lake) against vibes' default
   alternative, the squared error of posterior means where effects are small (|effect| < 2%)
   against the default (flat) posterior's, and the coverage of 94% HDIs.
3. Cost: `vibes priors learn --type ab-test` over EXPERIMENTS ab-tests in a fresh lake, and
   `vibes posterior --exact` with and without `--prior learned`.

    .venv/bin/python bench/learned_priors.py
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import norm

from vibes_core.effects import NORMAL, STUDENT_T, EffectPrior, fit
from vibes_core.posterior import intervals
from vibes_core.verdict import TAUS

LAKES, PAST, NEW, EXPERIMENTS = 50, 200, 2000, 50
TRUTHS = {
    "pi 0.3, mu +1%, tau 5%, normal": EffectPrior(0.3, 0.01, 0.05),
    "pi 0.6, mu 0, tau 2%, normal": EffectPrior(0.6, 0.0, 0.02),
    "pi 0.3, mu 0, tau 3%, student-t": EffectPrior(0.3, 0.0, 0.03, STUDENT_T),
}


def simulated(rng, n: int, truth: EffectPrior):
    se = np.exp(rng.uniform(np.log(0.01), np.log(0.04), n))
    effects = truth.draw_effects(rng, n)
    return effects, effects + se * rng.standard_normal(n), se**2


def recovery() -> None:
    print(f"1. recovery: {LAKES} lakes of {PAST} past experiments each")
    for label, truth in TRUTHS.items():
        found = [
            fit(*simulated(np.random.default_rng(lake), PAST, truth)[1:]).prior
            for lake in range(LAKES)
        ]
        pis, mus, taus = ([getattr(p, k) for p in found] for k in ("pi", "mu", "tau"))
        heavy = sum(p.tail == STUDENT_T for p in found)
        print(
            f"   truth {label}: pi {np.mean(pis):.3f} (sd {np.std(pis):.3f}), mu "
            f"{np.mean(mus):+.4f} (sd {np.std(mus):.4f}), tau {np.mean(taus):.4f} (sd "
            f"{np.std(taus):.4f}; {np.mean(taus) / truth.tau - 1:+.1%} off); heavy tail taken "
            f"in {heavy}/{LAKES}"
        )


def use() -> None:
    print(f"2. use: a prior learned from {PAST} experiments, {NEW} new ones of the same population")
    for label, truth in TRUTHS.items():
        rng = np.random.default_rng(1)
        _, estimates, variances = simulated(rng, PAST, truth)
        folds = np.arange(PAST) % 10
        learned_ll = default_ll = 0.0
        for fold in range(10):
            out = folds == fold
            prior = fit(estimates[~out], variances[~out]).prior
            spike = np.log1p(-prior.pi) + norm.logpdf(estimates[out], 0, np.sqrt(variances[out]))
            slab = np.log(prior.pi) + prior.log_slab(estimates[out], variances[out])
            learned_ll += np.logaddexp(spike, slab).sum()
            density = np.mean(
                [norm.pdf(estimates[out], 0, np.sqrt(variances[out] + t**2)) for t in TAUS], 0
            )
            default_ll += np.log(density).sum()
        prior = fit(estimates, variances).prior
        truths, new, new_variances = simulated(rng, NEW, truth)
        means, covered = [], []
        for effect, estimate, variance in zip(truths, new, new_variances, strict=True):
            control = rng.gamma(400.0, 1 / 4000, 4000)
            treated = control * np.exp(estimate + np.sqrt(variance) * rng.standard_normal(4000))
            moved = prior.shrink(np.stack([control, treated], axis=1)[None], 0)[0]
            ratio = np.log(moved[:, 1] / moved[:, 0])
            means.append(ratio.mean())
            [hdi] = intervals(ratio[:, None], 0.94, ["log ratio"])
            covered.append(hdi["hdi_low"] <= effect <= hdi["hdi_high"])
        means, small = np.array(means), np.abs(truths) < 0.02
        learned_error = np.mean((means[small] - truths[small]) ** 2)
        default_error = np.mean((new[small] - truths[small]) ** 2)
        coverage = np.mean(covered)
        print(
            f"   truth {label} (learned {'t' if prior.tail != NORMAL else 'normal'}): held-out "
            f"log-likelihood {learned_ll:.1f} learned vs {default_ll:.1f} default; squared "
            f"error of means, small effects ({small.sum()}): {learned_error / default_error:.2f}"
            f" of the default's; 94% HDIs cover {coverage:.1%} "
            f"(±{np.sqrt(coverage * (1 - coverage) / NEW):.1%})"
        )


def vibes(home: Path, *args: str) -> float:
    env = {**os.environ, "VIBES_HOME": str(home)}
    start = time.perf_counter()
    done = subprocess.run(
        [str(Path(sys.executable).with_name("vibes")), *args], env=env, capture_output=True
    )
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stderr.decode()
    return seconds


def cost() -> None:
    print(f"3. cost: {EXPERIMENTS} ab-tests of 40,000 units each, {os.cpu_count()} cores")
    rng = np.random.default_rng(3)
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        for i in range(EXPERIMENTS):
            path = Path(folder) / f"e{i}.csv"
            effect = EffectPrior(0.3, 0.0, 0.05).draw_effects(rng, 1)[0]
            a, b = rng.random(20_000) < 0.1, rng.random(20_000) < 0.1 * np.exp(effect)
            lines = [f"A,{str(x).lower()}" for x in a] + [f"B,{str(x).lower()}" for x in b]
            path.write_text("variant,outcome\n" + "\n".join(lines) + "\n")
            create = ["experiments", "create", f"e{i}", "--type", "ab-test"]
            vibes(home, *create, "--initial-data-file", str(path))
        learn = [vibes(home, "priors", "learn", "--type", "ab-test") for _ in range(3)]
        exact = ["posterior", "e0", "--exact", "--json"]
        plain = [vibes(home, *exact) for _ in range(3)]
        under = [vibes(home, *exact, "--prior", "learned") for _ in range(3)]
    median = statistics.median
    print(
        f"   priors learn: {median(learn):.2f} s (median of 3); posterior --exact "
        f"{median(plain):.2f} s, with --prior learned (refitted without e0) {median(under):.2f} s"
    )


if __name__ == "__main__":
    recovery()
    use()
    cost()
