"""Priors learned from past experiments (vibes_core.effects), on simulated lakes whose true
distribution of effects is known, and what learning and answering under one cost.

1. Recovery: LAKES lakes of PAST experiments each, effects from spike-and-slab truths, standard
   errors between 1% and 4%: the mean and spread of the estimates of pi, mu and tau, and how
   often the tail is called heavy.
2. Use: USE_LAKES lakes of PAST, each prior then used on NEW experiments from the same
   population: the predictive log-likelihood of held-out ones (10-fold) against vibes' default
   alternative, the squared error of posterior means where effects are small (|effect| < 2%)
   against the default (flat) posterior's, and the coverage of 94% HDIs.
3. Cost: `vibes priors learn --type ab-test` over EXPERIMENTS ab-tests in a fresh lake, and
   `vibes posterior --exact` with and without `--prior learned`.
4. The demo lake's ab-tests with a history of past ones: their verdicts under either prior.

    .venv/bin/python bench/learned_priors.py
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import norm

from vibes_core.effects import STUDENT_T, EffectPrior, fit
from vibes_core.posterior import intervals
from vibes_core.verdict import TAUS

LAKES, USE_LAKES, PAST, NEW, EXPERIMENTS = 50, 10, 200, 500, 50
DEMO_PAST, DEMO_TRUTH = 30, EffectPrior(0.4, 0.0, 0.04)
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
    print(
        f"2. use: {USE_LAKES} lakes of {PAST} experiments, each prior then used on {NEW} new "
        "ones of the same population"
    )
    for label, truth in TRUTHS.items():
        gains, errors, coverages = [], [], []
        for lake in range(USE_LAKES):
            rng = np.random.default_rng(1000 + lake)
            _, estimates, variances = simulated(rng, PAST, truth)
            gains.append(held_out_gain(estimates, variances))
            prior = fit(estimates, variances).prior
            error, coverage = posteriors(prior, *simulated(rng, NEW, truth), rng)
            errors.append(error)
            coverages.append(coverage)
        print(
            f"   truth {label}: held-out log-likelihood per experiment, learned - default: "
            f"{np.mean(gains):+.3f} (every lake: {min(gains) > 0}); squared error of posterior "
            f"means where |effect| < 2%: {np.mean(errors):.2f} of the default's; 94% HDIs cover "
            f"{np.mean(coverages):.1%} (lakes {min(coverages):.1%} to {max(coverages):.1%})"
        )


def held_out_gain(estimates, variances) -> float:
    """10-fold: the mean log predictive density of held-out estimates under the prior learned
    from the rest, minus under vibes' default alternative (the verdict's TAUS mixture)."""
    folds = np.arange(len(estimates)) % 10
    gain = 0.0
    for fold in range(10):
        out = folds == fold
        prior = fit(estimates[~out], variances[~out]).prior
        y, v = estimates[out], variances[out]
        spike = np.log1p(-prior.pi) + norm.logpdf(y, 0, np.sqrt(v))
        learned = np.logaddexp(spike, np.log(prior.pi) + prior.log_slab(y, v))
        default = np.log(np.mean([norm.pdf(y, 0, np.sqrt(v + t**2)) for t in TAUS], axis=0))
        gain += (learned - default).sum()
    return gain / len(estimates)


def posteriors(prior, truths, estimates, variances, rng) -> tuple[float, float]:
    """Under ``prior``, by the product's moved draws: the squared error of posterior means of
    small effects over the default (flat) posterior's, and the 94% HDIs' coverage."""
    means, covered = [], []
    for effect, estimate, variance in zip(truths, estimates, variances, strict=True):
        control = rng.gamma(400.0, 1 / 4000, 4000)
        treated = control * np.exp(estimate + np.sqrt(variance) * rng.standard_normal(4000))
        moved = prior.shrink(np.stack([control, treated], axis=1)[None], 0)[0]
        ratio = np.log(moved[:, 1] / moved[:, 0])
        means.append(ratio.mean())
        [hdi] = intervals(ratio[:, None], 0.94, ["log ratio"])
        covered.append(hdi["hdi_low"] <= effect <= hdi["hdi_high"])
    small = np.abs(truths) < 0.02
    error = np.mean((np.array(means)[small] - truths[small]) ** 2)
    return error / np.mean((estimates[small] - truths[small]) ** 2), float(np.mean(covered))


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


def run_json(home: Path, *args: str) -> dict:
    env = {**os.environ, "VIBES_HOME": str(home)}
    vibes_script = str(Path(sys.executable).with_name("vibes"))
    done = subprocess.run([vibes_script, *args], env=env, capture_output=True, check=True)
    return json.loads(done.stdout)


def demo() -> None:
    """The demo lake's ab-tests, with a history of DEMO_PAST past ab-tests whose effects are
    as product changes' usually are: their verdicts under the default and the learned prior."""
    print(f"4. the demo lake and {DEMO_PAST} past ab-tests (effects: {DEMO_TRUTH.words()})")
    rng = np.random.default_rng(4)
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        run_json(home, "db", "demo")
        for i in range(DEMO_PAST):
            path = Path(folder) / f"past{i}.csv"
            effect = DEMO_TRUTH.draw_effects(rng, 1)[0]
            n = int(rng.integers(5_000, 50_000))
            a, b = rng.random(n) < 0.08, rng.random(n) < 0.08 * np.exp(effect)
            lines = [f"A,{str(x).lower()}" for x in a] + [f"B,{str(x).lower()}" for x in b]
            path.write_text("variant,outcome\n" + "\n".join(lines) + "\n")
            create = ["experiments", "create", f"past_{i}", "--type", "ab-test"]
            vibes(home, *create, "--initial-data-file", str(path))
        learned = run_json(home, "priors", "learn", "--type", "ab-test", "--json")
        print(
            f"   learned: pi {learned['pi']:.2f}, mu {learned['mu']:+.4f}, tau "
            f"{learned['tau']:.4f}, {learned['tail']}"
        )
        for name in ("checkout_button", "pricing_page"):
            for prior in ([], ["--prior", "learned"]):
                answer = run_json(home, "posterior", name, "--exact", "--json", *prior)
                uplifts = ", ".join(
                    f"{g['name']} {100 * g['uplift_rel']['median']:+.1f}% "
                    f"[{100 * g['uplift_rel']['hdi_low']:+.1f}, "
                    f"{100 * g['uplift_rel']['hdi_high']:+.1f}]"
                    for g in answer["groups"]
                    if "uplift_rel" in g
                )
                verdict = answer["verdict"]
                print(
                    f"   {name} ({answer['prior_source']}): {verdict['action']} "
                    f"{verdict['choice'] or ''}, BF {verdict['bayes_factor']}; {uplifts}"
                )


if __name__ == "__main__":
    recovery()
    use()
    cost()
    demo()
