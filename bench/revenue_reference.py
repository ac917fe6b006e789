"""Revenue against bayesian-testing's DeltaLognormal test, on the same data and priors.

Generates a three-variant revenue experiment, asks `vibes posterior --exact --json` and (for
the MCMC fit) `vibes posterior --json`, and evaluates bayesian-testing's
DeltaLognormalDataTest with vibes' prior (its sd_max cut aside: no mass is near it here).
Prints, per variant, the mean value per user, P(best) and expected loss of each, and the
seconds each took. No assertions: figures to read (tests/test_revenue.py asserts).

Run: python bench/revenue_reference.py [USERS]
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from common import vibes

SIM_COUNT = 1_000_000


def main() -> None:
    users = int(sys.argv[1]) if len(sys.argv) > 1 else 30_000
    from bayesian_testing.experiments import DeltaLognormalDataTest

    with tempfile.TemporaryDirectory(prefix="vibes-bench-") as home:
        env = {**os.environ, "VIBES_HOME": home}
        data = Path(home) / "revenue.parquet"
        vibes(
            "generate",
            "revenue",
            "-n",
            users,
            "--seed",
            4,
            "--variants",
            "A,B,C",
            "-o",
            data,
            env=env,
        )
        vibes(
            "experiments", "create", "r", "--type", "revenue", "--initial-data-file", data, env=env
        )
        answers = {}
        for method, args in (("exact", ["--exact"]), ("mcmc", [])):
            start = time.perf_counter()
            out = vibes("posterior", "r", "--json", *args, env=env).stdout
            answers[method] = (json.loads(out), time.perf_counter() - start)
        prior = answers["exact"][0]["prior"]
        rows = pq.read_table(data).to_pylist()

    reference = DeltaLognormalDataTest()
    for name in "ABC":
        values = np.array([r["value"] for r in rows if r["variant"] == name])
        logs = np.log(values[values > 0])
        reference.add_variant_data_agg(
            name,
            totals=len(values),
            positives=len(logs),
            sum_values=float(values.sum()),
            sum_logs=float(logs.sum()),
            sum_logs_2=float((logs**2).sum()),
            a_prior_beta=prior["alpha"],
            b_prior_beta=prior["beta"],
            m_prior=prior["mu0"],
            a_prior_ig=prior["shape"],
            b_prior_ig=prior["scale"],
            w_prior=prior["kappa"],
        )
    start = time.perf_counter()
    p_best, loss, _ = reference.eval_simulation(sim_count=SIM_COUNT, seed=1)
    means = {row["variant"]: row["posterior_mean"] for row in reference.evaluate(seed=1)}
    seconds = time.perf_counter() - start

    print(f"{users:,} users, 3 variants; prior {prior}")
    print(f"{'':10}{'mean/user':>30}{'P(best)':>30}{'expected loss':>33}")
    print(f"{'variant':10}" + "".join(f"{'vibes':>10}{'mcmc':>10}{'b-t':>10}" for _ in range(3)))
    exact, mcmc = answers["exact"][0]["groups"], answers["mcmc"][0]["groups"]
    for e, m in zip(exact, mcmc, strict=True):
        name = e["name"]
        print(
            f"{name:10}{e['mean']:>10.4f}{m['mean']:>10.4f}{means[name]:>10.4f}"
            f"{e['p_best']:>10.4f}{m['p_best']:>10.4f}{p_best[name]:>10.4f}"
            f"{e['expected_loss']:>10.5f}{m['expected_loss']:>10.5f}{loss[name]:>10.5f}"
        )
    print(
        f"seconds: vibes --exact {answers['exact'][1]:.2f} (whole process), MCMC "
        f"{answers['mcmc'][1]:.1f}, bayesian-testing {seconds:.2f} ({SIM_COUNT:,} draws)"
    )


if __name__ == "__main__":
    main()
