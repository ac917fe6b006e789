"""A realistic experiment on units, with a known truth: an assignment log and two event tables.

``simulate_units`` makes what a team's warehouse holds for an A/B(/n) test: which unit saw
which variant and when (``assignments``), and events of units (``orders``, ``errors``) before
and after their exposure, with the true effects in ``Truth``. ``write_unit_files`` writes them
as files vibes reads (``vibes generate assignments``, the demo lake, tests, benchmarks).

The data-generating process, per unit (all of it vectorised: a million units and ten million
events take seconds):

- **activity** A ~ Gamma(ACTIVITY_SHAPE, mean 1), the unit's latent propensity, drives every
  rate before and after exposure alike (so the history predicts the experiment);
- **orders** in each period (the ``history_days`` before exposure; exposure to ``end``): the
  unit shops in that period with probability pi = SHOP_MAX * A / (A + SHOP_HALF), and a shopper
  orders as a Poisson process of ORDER_RATE * A per day (times its segment's factor). Whether
  it shops is one uniform draw per period, the same draw in both with probability HABIT (a
  habit; its marginal stays uniform). Treated units shop after exposure with probability
  pi * (1 + purchase_lift): the share of units with an order in any window after exposure, and
  their orders, are (1 + purchase_lift) times the control's in expectation, exactly (hence
  purchase_lift at most 1 / SHOP_MAX - 1 = 1);
- **amounts**: the unit's price level (log-normal, persistent) times items (1 + Poisson) times
  a log-normal per order, and a few orders (LARGE_SHARE) LARGE_FACTOR times larger. Treated
  orders after exposure are (1 + revenue_lift) / (1 + purchase_lift) times larger, so revenue
  per unit (orders times amount; any status, or paid only: the status does not depend on the
  variant) lifts by revenue_lift in expectation;
- **errors**: a Poisson process of ERROR_RATE * sqrt(A) per day, times (1 + error_lift) after
  exposure for treated units; latency log-normal (timeouts about ten seconds);
- **assignments**: each unit's first exposure uniform over the ``days`` before ``end``, its
  variant uniform; REPEATED of them have a second row for the same variant later (which must
  change nothing), CONFLICTING a second row for another variant (these units must be left out:
  their events follow their first variant). A further UNASSIGNED share of unit ids, behaving as
  the control does, appear only in the event tables;
- **segments** (if named): a unit's segment (sizes falling as 1 / rank; NO_SEGMENT of units
  have none) multiplies its order rate and its price level by factors of about +-30%
  (``segment_draws``), the lifts unchanged.

At the defaults, per assigned unit (the unassigned units' events included): about 5.4 orders
and 3.5 errors over the history and the experiment, about 10 rows over the three tables (1M
units: 9.9M rows); about 22% of units order within 7 days of exposure, 3 to 4 orders each;
their orders in the 28 days before exposure and in those 7 days correlate at about 0.45.
"""

from __future__ import annotations

import operator
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from vibes_core.errors import VibesError

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

DAY_MS = 86_400_000
ACTIVITY_SHAPE = 0.8  # Gamma shape of the latent activity (mean 1): a long tail of heavy users
SHOP_MAX = 0.5  # the most likely a unit is to shop in a period: 1 / (1 + the largest lift)
SHOP_HALF = 0.25  # the activity at which a unit's chance to shop is half of SHOP_MAX
HABIT = 0.35  # the chance that a unit's shopping draw after exposure is its draw before
ORDER_RATE = 0.35  # orders per day of a shopper of activity 1
TYPICAL_PRICE = 25.0  # median price of an item
LARGE_SHARE = 0.002  # orders that are far larger than the unit's usual
LARGE_FACTOR = 20.0
ITEMS_EXTRA = 0.6  # items per order: 1 + Poisson(ITEMS_EXTRA)
STATUSES = ("paid", "refunded", "cancelled")
STATUS_SHARES = (0.92, 0.05, 0.03)
ERROR_RATE = 0.11  # errors per day of a unit of activity 1
ERROR_CODES = ("http_500", "http_502", "http_503", "timeout", "client_error", "payment_declined")
ERROR_SHARES = (0.35, 0.1, 0.1, 0.15, 0.2, 0.1)
LATENCY_MEDIAN_MS = 300.0
TIMEOUT_MEDIAN_MS = 10_000.0
LATENCY_SIGMA = 0.8
REPEATED = 0.02  # units with a second assignment row for their variant
CONFLICTING = 0.003  # units with a second assignment row for another variant
UNASSIGNED = 0.05  # further unit ids, in the event tables only
NO_SEGMENT = 0.01  # units without a segment, when there are segments
FORMATS = {"parquet": ".parquet", "csv": ".csv", "ndjson": ".ndjson"}
TABLES = ("assignments", "orders", "errors")


@dataclass(frozen=True)
class Truth:
    """What ``simulate_units`` was told and did: the effects, and the counts of the units the
    analysis must treat specially. Lifts are relative, each treated variant against the
    control (the first variant), after exposure."""

    variants: tuple[str, ...]  # the control first
    purchase_lift: float  # of the chance to buy in any window after exposure, and of orders
    revenue_lift: float  # of revenue per unit (orders x amount per order)
    error_lift: float  # of errors per unit (+0.2: a harmed guardrail)
    units: int  # units assigned (conflicting ones included)
    units_per_variant: tuple[int, ...]  # units first assigned to each, conflicting ones left out
    repeated_units: int  # units with a second row for the same variant (change nothing)
    conflicting_units: int  # units under two variants (to be left out)
    unassigned_units: int  # unit ids with events and no assignment
    start: datetime  # the first exposure is at or after this (UTC)
    end: datetime  # every event is before this (UTC)
    days: int  # exposures over the days before end
    history_days: int  # events before each unit's exposure, over this many days
    segments: tuple[str, ...] = ()  # the segments' names, the largest first (none: no segments)

    @property
    def amount_factor(self) -> float:
        """How much larger a treated order after exposure is than a control one."""
        return (1 + self.revenue_lift) / (1 + self.purchase_lift)


@dataclass(frozen=True)
class UnitData:
    assignments: pa.Table  # timestamp (UTC), unit, variant, segment (string or null)
    orders: pa.Table  # unit, timestamp, status, amount, items
    errors: pa.Table  # unit, timestamp, code, latency_ms
    truth: Truth

    def tables(self) -> dict[str, pa.Table]:
        return {name: getattr(self, name) for name in TABLES}


def simulate_units(
    units: int,
    rng: np.random.Generator,
    *,
    variants: tuple[str, ...] | list[str] | str = ("control", "treatment"),
    purchase_lift: float = 0.05,
    revenue_lift: float = 0.05,
    error_lift: float = 0.0,
    days: int = 14,
    history_days: int = 28,
    end: datetime | None = None,
    segments: str | None = None,
) -> UnitData:
    """An experiment on ``units`` units exposed over the ``days`` before ``end`` (UTC; default
    now), with events from ``history_days`` before each exposure up to ``end``. ``variants``:
    names (or one comma-separated string), the control first. See the module for the process."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from vibes_core.types.base import segment_draws, split_names

    names = split_names(variants, "variants") if isinstance(variants, str) else list(variants)
    if len(names) < 2 or len(set(names)) != len(names) or not all(names):
        raise VibesError(f"variants must be 2 or more distinct names, got {names!r}")
    try:
        units = operator.index(units)
    except TypeError:
        raise VibesError(f"units must be a whole number, got {units!r}") from None
    if units < 1:
        raise VibesError(f"units must be at least 1, got {units}")
    if not -1 < purchase_lift <= 1 / SHOP_MAX - 1:
        raise VibesError(
            f"purchase_lift must be above -1 and at most {1 / SHOP_MAX - 1:g} (a treated unit "
            f"shops at most {1 / SHOP_MAX:g} times as often), got {purchase_lift}"
        )
    for what, lift in (("revenue_lift", revenue_lift), ("error_lift", error_lift)):
        if not lift > -1:
            raise VibesError(f"{what} must be above -1 (a relative change), got {lift}")
    if not (days >= 1 and history_days >= 0):
        raise VibesError(
            f"days must be at least 1 and history_days at least 0, got {days} and {history_days}"
        )
    end = to_utc(end or datetime.now(UTC))
    end_ms = int(np.datetime64(end.replace(tzinfo=None), "ms").astype(np.int64))

    # --- units: the assigned first, then those seen only in events ----------------------------
    extra = round(UNASSIGNED * units)
    everyone = units + extra
    variant = rng.integers(0, len(names), units)
    if not (variant == 0).any():  # a few units: the control must still be there, first
        variant[0] = 0
    treated = np.zeros(everyone, dtype=bool)
    treated[:units] = variant > 0
    exposed = end_ms - 1 - np.floor(rng.random(everyone) * (days * DAY_MS - 1)).astype(np.int64)
    activity = rng.gamma(ACTIVITY_SHAPE, 1 / ACTIVITY_SHAPE, everyone)
    rate = ORDER_RATE * activity
    price = TYPICAL_PRICE * rng.lognormal(0.0, 0.5, everyone)
    segment_names: tuple[str, ...] = ()
    segment = None
    if segments:
        segment_names = tuple(split_names(segments, "segments"))
        segment, (buying, spending) = segment_draws(everyone, rng, segments, 2)
        rate, price = rate * buying, price * spending

    # --- orders: a shopping draw per period, then a Poisson process while shopping -----------
    shop = SHOP_MAX * activity / (activity + SHOP_HALF)
    before_draw = rng.random(everyone)
    after_draw = np.where(rng.random(everyone) < HABIT, before_draw, rng.random(everyone))
    history = history_days * DAY_MS
    after = end_ms - exposed  # how long each unit is seen after its exposure (ms)
    shops_before = before_draw < shop
    shops_after = after_draw < shop * np.where(treated, 1 + purchase_lift, 1.0)
    before_orders = np.where(shops_before, rng.poisson(rate * history / DAY_MS), 0)
    after_orders = np.where(shops_after, rng.poisson(rate * after / DAY_MS), 0)
    who, at, post = events(rng, exposed, history, after, before_orders, after_orders)
    count = len(who)
    items = 1 + rng.poisson(ITEMS_EXTRA, count)
    amount = price[who] * items * rng.lognormal(-0.5 * 0.6**2, 0.6, count)  # mean 1 factor
    amount[rng.random(count) < LARGE_SHARE] *= LARGE_FACTOR
    amount[post & treated[who]] *= (1 + revenue_lift) / (1 + purchase_lift)
    status = rng.choice(len(STATUSES), count, p=STATUS_SHARES)
    del post

    # --- errors: a Poisson process, before and after exposure --------------------------------
    error_rate = ERROR_RATE * np.sqrt(activity)
    before_errors = rng.poisson(error_rate * history / DAY_MS)
    after_errors = rng.poisson(error_rate * np.where(treated, 1 + error_lift, 1.0) * after / DAY_MS)
    error_who, error_at, _ = events(rng, exposed, history, after, before_errors, after_errors)
    code = rng.choice(len(ERROR_CODES), len(error_who), p=ERROR_SHARES)
    timeout = ERROR_CODES.index("timeout")
    median = np.where(code == timeout, TIMEOUT_MEDIAN_MS, LATENCY_MEDIAN_MS)
    latency = np.round(rng.lognormal(np.log(median), LATENCY_SIGMA), 1)

    # --- assignments: first exposures, repeats, conflicts; one control row first -------------
    special = rng.permutation(units)
    repeated = special[: round(REPEATED * units)]
    conflicting = special[len(repeated) : len(repeated) + round(CONFLICTING * units)]
    again = np.concatenate([repeated, conflicting])
    later = exposed[again] + 1 + np.floor(rng.random(len(again)) * (end_ms - exposed[again] - 1))
    later = np.minimum(later.astype(np.int64), end_ms - 1)  # before the end, as every row is
    other = (variant[conflicting] + rng.integers(1, len(names), len(conflicting))) % len(names)
    rows = np.concatenate([np.arange(units), again])
    row_at = np.concatenate([exposed[:units], later])
    row_variant = np.concatenate([variant, variant[repeated], other])
    order = np.argsort(row_at)
    first_control = order[np.argmax(row_variant[order] == 0)]
    order = np.concatenate([[first_control], order[order != first_control]])
    if segment is not None:
        none = rng.random(everyone) < NO_SEGMENT
        segment_column = pa.array(segment[rows[order]], pa.string(), mask=none[rows[order]])
    else:
        segment_column = pa.nulls(len(rows), pa.string())
    unit_ids = unit_names(rng, everyone)
    assignments = pa.table(
        {
            "timestamp": timestamps(row_at[order]),
            "unit": pc.take(unit_ids, rows[order]),
            "variant": pc.take(pa.array(names, pa.string()), row_variant[order]),
            "segment": segment_column,
        }
    )
    by_time = np.argsort(at)
    orders = pa.table(
        {
            "unit": pc.take(unit_ids, who[by_time]),
            "timestamp": timestamps(at[by_time]),
            "status": pc.take(pa.array(STATUSES), status[by_time]),
            "amount": np.round(amount[by_time], 2).clip(0.01),
            "items": items[by_time].astype(np.int64),
        }
    )
    del who, at, amount, items, status, by_time
    by_time = np.argsort(error_at)
    errors = pa.table(
        {
            "unit": pc.take(unit_ids, error_who[by_time]),
            "timestamp": timestamps(error_at[by_time]),
            "code": pc.take(pa.array(ERROR_CODES), code[by_time]),
            "latency_ms": latency[by_time],
        }
    )
    seen = (before_orders + after_orders + before_errors + after_errors)[units:] > 0
    clean = np.ones(units, dtype=bool)
    clean[conflicting] = False
    truth = Truth(
        variants=tuple(names),
        purchase_lift=float(purchase_lift),
        revenue_lift=float(revenue_lift),
        error_lift=float(error_lift),
        units=units,
        units_per_variant=tuple(np.bincount(variant[clean], minlength=len(names)).tolist()),
        repeated_units=len(repeated),
        conflicting_units=len(conflicting),
        unassigned_units=int(seen.sum()),
        start=end - timedelta(days=days),
        end=end,
        days=days,
        history_days=history_days,
        segments=segment_names,
    )
    return UnitData(assignments, orders, errors, truth)


def events(
    rng: np.random.Generator,
    exposed: np.ndarray,
    history: int,
    after: np.ndarray,
    before: np.ndarray,
    during: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Events of Poisson processes given each unit's counts ``before`` its exposure (over the
    ``history`` ms before it) and ``during`` the experiment (over the ``after`` ms from it):
    each event's unit (index), time (ms) and whether it is after exposure. Given its count, a
    Poisson process's times are uniform over the period."""
    import numpy as np

    unit = np.arange(len(exposed), dtype=np.int32)
    who = np.concatenate([np.repeat(unit, before), np.repeat(unit, during)])
    post = np.zeros(len(who), dtype=bool)
    post[int(before.sum()) :] = True
    start = exposed[who] - np.where(post, 0, history)
    length = np.where(post, after[who], history)
    at = start + np.floor(rng.random(len(who)) * length).astype(np.int64)
    return who, at, post


def unit_names(rng: np.random.Generator, count: int) -> pa.Array:
    """``count`` distinct unit ids, ``u`` and a zero-padded number, in random order."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    width = max(7, len(str(count - 1)))
    numbers = pc.cast(pa.array(rng.permutation(count).astype(np.int64)), pa.string())
    return pc.binary_join_element_wise("u", pc.utf8_lpad(numbers, width, padding="0"), "")


def timestamps(ms: np.ndarray) -> pa.Array:
    import pyarrow as pa

    return pa.array(ms, pa.timestamp("ms", tz="UTC"))


def to_utc(moment: datetime) -> datetime:
    """``moment`` in UTC, to the millisecond (naive: taken as UTC)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def write_unit_files(data: UnitData, output_dir: Path, fmt: str = "parquet") -> dict[str, Path]:
    """``data``'s tables as ``assignments``, ``orders`` and ``errors`` files of ``fmt``
    (parquet, csv or ndjson; timestamps in ISO 8601 UTC in text) in ``output_dir``, made if
    missing; their paths by table. An existing file is never overwritten: each is written
    under a temporary name and linked to its own, which fails if that exists."""
    from vibes_core.ingest import write_events

    if fmt not in FORMATS:
        raise VibesError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    output_dir = Path(output_dir)
    paths = {name: output_dir / f"{name}{FORMATS[fmt]}" for name in TABLES}
    taken = [str(path) for path in paths.values() if os.path.lexists(path)]
    if taken:
        raise VibesError(
            f"{', '.join(taken)} already exists: remove it or choose another output directory"
        )
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise VibesError(f"cannot make the directory {output_dir}: {error.strerror}") from None
    for name, path in paths.items():
        partial = output_dir / f".{path.name}.{os.getpid()}.partial"
        try:
            write_events(data.tables()[name], fmt, partial)
            publish(partial, path)
        except FileExistsError:
            raise VibesError(
                f"{path} already exists: remove it or choose another output directory"
            ) from None
        except OSError as error:
            raise VibesError(f"cannot write {path}: {error.strerror}") from None
        finally:
            partial.unlink(missing_ok=True)
    return paths


def publish(partial: Path, path: Path) -> None:
    """``partial`` renamed ``path``, failing with FileExistsError if ``path`` exists: a hard
    link does that atomically; where the file system has none (FAT, some network mounts), a
    check just before the rename."""
    import errno

    try:
        os.link(partial, path)
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        if os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, "exists", str(path)) from None
        os.rename(partial, path)
