"""A type defined outside vibes, as a user would (VIBES_TYPES=tests.plugin_types): waiting times
until an event, exponential per queue, and fitted with MCMC only (it defines no ``exact``), so
that the contract test covers that path. Its posterior has a closed form all the same (the
rate's is Gamma), which the tests use as an independent check."""

import math

from vibes_core.types.base import (
    TIMESTAMP,
    Column,
    ExperimentType,
    GenerateOption,
    Prior,
    Statistic,
    split_names,
)
from vibes_core.units import Unit

TIME = Unit("time", "")


class WaitingTime(ExperimentType):
    name = "waiting-time"
    description = "Time until an event (exponential) per queue; MCMC only"
    columns = (
        TIMESTAMP,
        Column("queue", "string", "which queue the wait was in"),
        Column("waited", "float", "how long until the event (> 0)", check="positive"),
    )
    group_column = "queue"
    generate_options = (
        GenerateOption("queues", str, "north,south", "queue names", names_groups=True),
    )
    statistics = (
        Statistic("waits", "waits observed"),
        Statistic("total", "sum of the waits", limit=math.inf),
    )
    size = "waits"
    counts = ("waits/time", "waits", "total")
    priors = (
        Prior("shape", 2.0, "Gamma prior of the event rate: pseudo-events"),
        Prior("rate", 1.0, "Gamma prior of the event rate: pseudo-time"),
    )
    model_summary = "rate ~ Gamma(shape, rate) per queue; waited ~ Exponential(rate)"
    quantity = "mean wait"
    unit = TIME
    summary_options = ("control",)

    def simulate(self, n, rng, queues="north,south"):
        import numpy as np

        names = split_names(queues, "queues")
        means = rng.uniform(2.0, 4.0, len(names))
        queue = rng.integers(0, len(names), n)
        return {"queue": np.array(names)[queue], "waited": rng.exponential(means[queue])}

    def sufficient_stats(self, table):
        return (
            table.group_by("queue")
            .aggregate(waits=table.count(), total=table.waited.sum())
            .order_by("queue")
        )

    def model(self, stats, prior):
        import pymc as pm

        with pm.Model(coords=stats.coords) as model:
            rate = pm.Gamma("rate", alpha=prior["shape"], beta=prior["rate"], dims="group")
            # The exponential likelihood through its sums: n log(rate) - rate * total.
            pm.Potential(
                "waits", pm.math.sum(stats["waits"] * pm.math.log(rate) - rate * stats["total"])
            )
        return model

    def quantity_draws(self, variables):
        return 1 / variables["rate"], {}


TYPE = WaitingTime()
