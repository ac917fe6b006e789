"""Priors learned from the lake: every past experiment of a type (or with a metric) gives each
treated variant's effect, the log ratio of its quantity to the control's, with its variance,
from its exact posterior under the default prior; vibes_core.effects fits what effects are
usually like to those, and the fit is kept in the lake with the effects it was learned from
(one row per type or metric). Analysing an experiment the fit was learned from refits without
it: its own data must not count twice. Reading past effects and learning: vibes_core.learning."""

import json
import math
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from vibes_core import catalog, metrics
from vibes_core.capabilities import ExactPosterior, Scorecard
from vibes_core.effects import TAILS, EffectPrior, fit
from vibes_core.errors import InvalidOption, NotFound, VibesError, option
from vibes_core.lake import ALIAS, Lake
from vibes_core.models import Independent
from vibes_core.names import is_name, quoted, shown
from vibes_core.types import get_type, registry

PRIORS = f"{ALIAS}.vibes.priors"
MIN_EXPERIMENTS = 10
TARGET_NAME = re.compile(r"[a-z][a-z0-9_-]{0,62}")  # a type's name or a metric's


@dataclass(frozen=True)
class Target:
    """What a prior is learned for: the experiments of a type, or the metric's."""

    by: Literal["type", "metric"]
    name: str

    @property
    def key(self) -> str:
        return f"{self.by}:{self.name}"

    @classmethod
    def of_key(cls, key: str) -> "Target":
        by, _, name = str(key).partition(":")
        if by not in ("type", "metric") or not TARGET_NAME.fullmatch(name):
            raise VibesError(f"a learned prior is for {quoted(key)}, neither a type nor a metric")
        return cls(by, name)


@dataclass(frozen=True)
class PastEffect:
    """One treated variant of a past experiment: its estimated effect on the log scale."""

    experiment: str
    variant: str
    estimate: float  # the posterior mean of log(variant / control)
    variance: float  # and its variance


@dataclass(frozen=True)
class Learned:
    target: Target
    prior: EffectPrior
    why: str  # why its tail is Normal or heavier
    snapshot: int  # the lake's when the effects were read
    learned_at: str  # ISO 8601, UTC
    effects: tuple[PastEffect, ...]

    @property
    def experiments(self) -> list[str]:
        return sorted({effect.experiment for effect in self.effects})

    def as_json(self) -> dict:
        prior = self.prior
        return {
            self.target.by: self.target.name,
            "pi": prior.pi,
            "mu": prior.mu,
            "tau": prior.tau,
            "tail": prior.tail,
            "why": self.why,
            "experiments": len(self.experiments),
            "variants": len(self.effects),
            "snapshot": self.snapshot,
            "learned_at": self.learned_at,
            "learned_from": self.experiments,
        }

    def options(self) -> dict:
        """What a summary needs of it, and says (``learned_prior``)."""
        keys = ("pi", "mu", "tau", "tail", "experiments", "variants", "snapshot")
        return {key: self.as_json()[key] for key in keys}

    def without(self, experiment: str) -> "Learned":
        """Refitted without ``experiment``'s effects (unchanged if it has none)."""
        kept = tuple(e for e in self.effects if e.experiment != experiment)
        if len(kept) == len(self.effects):
            return self
        check_enough(self.target, kept, f" besides {experiment}")
        found = fit([e.estimate for e in kept], [e.variance for e in kept])
        return replace(self, prior=found.prior, why=found.why, effects=kept)


def check_model(model) -> None:
    """A learned prior is of each variant's own effect: the independent model's."""
    if model != Independent():
        raise InvalidOption(
            f"{option('prior')} learned is a prior of each variant's own effect: it does not go "
            f"with a {model.name} model"
        )


def check_enough(target: Target, effects, besides: str = "") -> None:
    count = len({e.experiment for e in effects})
    if count < MIN_EXPERIMENTS:
        raise VibesError(
            f"a prior for {target.by} {target.name} is learned from at least {MIN_EXPERIMENTS} "
            f"past experiments with a control and data; the lake has {count}{besides}"
        )


def target_of(lake: Lake, by: str, name: str) -> Target:
    """The type or metric named, checked: one whose experiments have a control to compare
    with, and an exact posterior to read their effects from."""
    if by == "metric":
        metrics.get(lake, name)  # exists and reads
        return Target("metric", name)
    if name not in registry():
        known = ", ".join(registry())
        raise NotFound(f"no experiment type named {quoted(name)}; types: {known}")
    kind = get_type(name)
    if isinstance(kind, Scorecard):
        raise InvalidOption(
            f"{name} experiments are judged on metrics: learn a prior for one of them "
            f"({option('metric')} M)"
        )
    if "control" not in kind.summary_options:
        raise InvalidOption(
            f"{name} experiments have no control: a prior of effects is learned from each "
            "treated variant's ratio to its control"
        )
    if not isinstance(kind, ExactPosterior):
        raise InvalidOption(f"{name} has no exact posterior to read past effects from")
    return Target("type", name)


def create_table_sql() -> list[str]:
    return [
        f"CREATE SCHEMA IF NOT EXISTS {ALIAS}.vibes",
        f"CREATE TABLE IF NOT EXISTS {PRIORS} (target VARCHAR NOT NULL, learned_at TIMESTAMP "
        "NOT NULL, snapshot BIGINT NOT NULL, fit VARCHAR NOT NULL, effects VARCHAR NOT NULL)",
    ]


def store(lake: Lake, learned: Learned) -> None:
    fitted = {
        "pi": learned.prior.pi,
        "mu": learned.prior.mu,
        "tau": learned.prior.tau,
        "tail": learned.prior.tail,
        "why": learned.why,
    }
    effects = [[e.experiment, e.variant, e.estimate, e.variance] for e in learned.effects]
    row = [
        learned.target.key,
        datetime.strptime(learned.learned_at, catalog.ISO_SECONDS),
        learned.snapshot,
        json.dumps(fitted),
        json.dumps(effects),
    ]

    def work(con) -> None:
        for sql in create_table_sql():
            con.execute(sql)
        con.execute(f"DELETE FROM {PRIORS} WHERE target = ?", [learned.target.key])
        con.execute(f"INSERT INTO {PRIORS} VALUES (?, ?, ?, ?, ?)", row)

    lake.write(work, f"keeping the prior learned for {learned.target.by} {learned.target.name}")


COLUMNS = "target, strftime(learned_at, '%Y-%m-%dT%H:%M:%SZ'), snapshot, fit, effects"


def has_table(con) -> bool:
    return metrics.has_table(con, "priors")


def learned_of(row: tuple) -> Learned:
    """A stored fit, checked as input: a row that does not read is a VibesError."""
    key, learned_at, snapshot, fitted, stored = row
    target = Target.of_key(key)
    what = f"the prior learned for {target.by} {shown(target.name)}"
    try:
        fitted, stored = json.loads(fitted), json.loads(stored)
        prior = EffectPrior(*(fitted[k] for k in ("pi", "mu", "tau", "tail")))
        why = fitted["why"]
        effects = tuple(PastEffect(*effect) for effect in stored)
    except (ValueError, RecursionError, TypeError, KeyError):
        raise VibesError(f"{what} is not readable: learn it again") from None
    numbers = [prior.pi, prior.mu, prior.tau]
    numbers += [x for e in effects for x in (e.estimate, e.variance)]
    if (
        not all(type(x) in (float, int) and math.isfinite(x) for x in numbers)
        or not 0 < prior.pi < 1
        or prior.tau <= 0
        or prior.tail not in TAILS
        or not isinstance(why, str)
        or not all(isinstance(e.experiment, str) and is_name(e.experiment) for e in effects)
        or not all(isinstance(e.variant, str) for e in effects)
        or not all(e.variance > 0 for e in effects)
    ):
        raise VibesError(f"{what} is not valid: learn it again")
    return Learned(target, prior, why, int(snapshot), learned_at, effects)


def get(lake: Lake, target: Target) -> Learned:
    row = None
    if has_table(lake.con):
        query = f"SELECT {COLUMNS} FROM {PRIORS} WHERE target = ?"
        row = lake.con.execute(query, [target.key]).fetchone()
    if row is None:
        raise NotFound(
            f"no prior learned for {target.by} {target.name} yet: `vibes priors learn "
            f"--{target.by} {target.name}` learns one"
        )
    return learned_of(row)


def list_learned(lake: Lake) -> tuple[list[Learned], list[str]]:
    """Every stored fit; one that does not read is left out, and said."""
    if not has_table(lake.con):
        return [], []
    found, warnings, seen = [], [], set()
    for row in lake.con.execute(f"SELECT {COLUMNS} FROM {PRIORS} ORDER BY target").fetchall():
        if row[0] in seen:
            warnings.append(f"the prior learned for {quoted(row[0])} appears twice: one is listed")
            continue
        try:
            found.append(learned_of(row))
            seen.add(row[0])
        except VibesError as error:
            warnings.append(str(error))
    return found, warnings


def for_analysis(lake: Lake, target: Target, experiment: str, warn) -> Learned:
    """The learned prior to analyse ``experiment`` with: without its own effects."""
    learned = get(lake, target)
    alone = learned.without(experiment)
    if alone is not learned:
        warn(
            f"the prior learned for {target.by} {target.name} included {experiment}: refitted "
            f"without it, from {len(alone.experiments)} other experiments"
        )
    return alone
