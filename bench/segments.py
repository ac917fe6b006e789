"""A breakdown by segment (`vibes posterior NAME --by segment`) with many segments: where the
time goes, step by step, in one process (imports done before the clock starts).

For each number of segments: an ab-test of two variants with EVENTS_PER_SEGMENT events per
segment on average (segment sizes falling as 1 / rank, as the demo data's do), fitted once,
by default with the default settings (4 chains x 2,000 steps). Printed per step, in wall and
CPU seconds (the compiler's included): reading the segment statistics, building the PyMC
model, sampling (its first step, compilation included, and each later step), the spreads'
draws, the diagnostics, the summary (of which each segment's), storing; a default fit's
seconds, estimated from these when other settings are given; the size of the draws stored and
the process's peak memory. Figures to read, no assertions; they set segments.MAX_SEGMENTS.

Run: python bench/segments.py [SEGMENTS ...] [--chains N] [--tune N] [--draws N]
"""

import argparse
import os
import resource
import tempfile
import time
from collections import defaultdict

import numpy as np

EVENTS_PER_SEGMENT = 100
DEFAULT_STEPS = 4 * 2000  # chains x (tune + draws) of a fit with the default settings


def clock() -> np.ndarray:
    """Wall and CPU seconds, the CPU of children waited for included (the compiler's)."""
    cpu = sum(
        usage.ru_utime + usage.ru_stime
        for usage in map(resource.getrusage, (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    )
    return np.array([time.perf_counter(), cpu])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("segments", nargs="*", type=int, default=[20, 200, 1000])
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--draws", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vibes-bench-segments-") as home:
        os.environ["VIBES_HOME"] = home
        run(args)


def show(count: int, label: str, seconds: np.ndarray, digits: int = 2) -> None:
    wall, cpu = seconds
    print(f"{count:>8}  {label:<30}{wall:>9.{digits}f}{cpu:>9.{digits}f}")


def run(args) -> None:
    import pymc  # noqa: F401  (imports are start-up, not the breakdown)

    from vibes_core import api, catalog, inference, segments
    from vibes_core.models import Segmented
    from vibes_core.types import get_type

    spent: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(2))
    began: dict[str, np.ndarray] = {}
    steps: list[np.ndarray] = []  # when each 1% of a breakdown's progress was reported

    def timed(owner, name: str, label: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            start = began[label] = clock()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] += clock() - start

        setattr(owner, name, wrapper)

    segments.MAX_SEGMENTS = max(args.segments)  # to measure beyond the limit too
    timed(catalog, "segment_stats", "segment statistics (DuckDB)")
    timed(segments, "cells_of", "cells")
    timed(inference.Fitting, "build", "model build")
    timed(inference, "sample", "sampling")
    timed(inference.Fitting, "complete", "spreads' draws")
    timed(inference, "diagnose", "diagnostics")
    timed(inference.Fitting, "summarize", "summary")
    timed(segments, "segment_summary", "  of which each segment's")
    timed(inference.Cache, "store", "storing")
    stored = measure_stored(inference.Cache)

    print(
        f"ab-test, 2 variants, about {EVENTS_PER_SEGMENT} events per segment; {args.chains} "
        f"chain(s) x ({args.tune} tuning + {args.draws} draws)\n"
        f"{'segments':>8}  {'step':<30}{'wall s':>9}{'cpu s':>9}"
    )
    for count in args.segments:
        events = get_type("ab-test").generate(
            count * EVENTS_PER_SEGMENT,
            np.random.default_rng(count),
            variants="A,B",
            base_rate=0.1,
            segments=",".join(f"s{i:05d}" for i in range(count)),
        )
        name = f"by_{count}"
        api.create(name, "ab-test", events)
        settings = inference.Settings(
            draws=args.draws, tune=args.tune, chains=args.chains, model=Segmented("segment")
        )
        spent.clear()
        steps.clear()
        start = clock()
        with catalog.open_lake() as lake:
            inference.posterior(
                lake, name, settings, use_cache=False, progress=lambda done: steps.append(clock())
            )
        spent["whole posterior()"] = clock() - start

        for label, seconds in spent.items():
            show(count, label, seconds)
        # Sampling reports each 1% of its steps, 0% after the first: then the segments follow.
        total = settings.chains * (settings.tune + settings.draws)
        first = steps[0] - began["sampling"]
        per_step = (steps[100] - steps[0]) / (total - 1)
        show(count, "  first step (compiling)", first)
        show(count, "  each later step", per_step, 4)
        rest = spent["whole posterior()"] - spent["sampling"]
        show(count, "default fit, estimated", rest + first + per_step * (DEFAULT_STEPS - 1), 0)
        print(f"{count:>8}  {'draws stored (MB)':<30}{stored[-1] / 1e6:>9.1f}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{count:>8}  {'peak memory so far (MB)':<30}{peak:>9.0f}")


def measure_stored(cache) -> list[int]:
    """The sizes of the posteriors ``cache`` stores, as they are stored."""
    sizes, original = [], cache.store

    def store(self, key, tags, params, metrics, summary, options, posterior_path):
        sizes.append(posterior_path.stat().st_size)
        return original(self, key, tags, params, metrics, summary, options, posterior_path)

    cache.store = store
    return sizes


if __name__ == "__main__":
    main()
