"""The contract every experiment type fulfils; a type is one module that defines ``TYPE``."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import numpy as np
    import pyarrow as pa

Kind = Literal["bool", "string", "int", "float", "timestamp"]

SQL_TYPES: dict[str, str] = {
    "bool": "BOOLEAN",
    "string": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "timestamp": "TIMESTAMP",
}
# How `experiments schema` names the kinds for people writing input files.
KIND_NAMES: dict[str, str] = {
    "bool": "boolean",
    "string": "string",
    "int": "integer",
    "float": "number",
    "timestamp": "timestamp (ISO 8601, UTC unless an offset is given)",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    meaning: str
    required: bool = True
    default: float | None = None  # used when the column or a value is missing
    check: Literal["non_negative", "positive"] | None = None


TIMESTAMP = Column(
    "timestamp", "timestamp", "when the event happened; missing means the upload time", False
)


@dataclass(frozen=True)
class GenerateOption:
    name: str  # becomes --name on the command line
    kind: type
    default: Any
    help: str


class ExperimentType:
    """Subclass once per module, fill in the class attributes, and set ``TYPE = Subclass()``."""

    name: ClassVar[str]
    description: ClassVar[str]
    columns: ClassVar[tuple[Column, ...]]  # including TIMESTAMP
    group_column: ClassVar[str | None] = None  # variant / arm / cohort
    min_groups: ClassVar[int] = 1  # distinct groups the initial data must have
    generate_options: ClassVar[tuple[GenerateOption, ...]] = ()

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def schema(self) -> dict:
        return {
            "type": self.name,
            "description": self.description,
            "columns": [
                {
                    "name": c.name,
                    "type": KIND_NAMES[c.kind],
                    "required": c.required,
                    **({"default": c.default} if c.default is not None else {}),
                    "meaning": c.meaning,
                }
                for c in self.columns
            ],
        }

    def generate(
        self, n: int, rng: "np.random.Generator", end: datetime | None = None, **options: Any
    ) -> "pa.Table":
        """``n`` realistic events with true rates drawn per group; timestamps added here, over
        the two weeks before ``end`` (UTC; default now)."""
        import pyarrow as pa

        columns = self.simulate(n, rng, **options)
        return pa.table({"timestamp": spread_timestamps(n, rng, end), **columns})

    def simulate(self, n: int, rng: "np.random.Generator", **options: Any) -> dict:
        """Column name -> array of ``n`` values, everything but the timestamp."""
        raise NotImplementedError

    def sufficient_stats(self, table: "ir.Table") -> "ir.Table":
        """An Ibis expression reducing any number of events to one row per group."""
        raise NotImplementedError

    # --- inference: a family (vibes_core.families) provides groups, model and exact ---------
    model_version: ClassVar[int] = 1  # bump when the model changes: cached fits then miss
    summary_options: ClassVar[tuple[str, ...]] = ()  # e.g. "control", "threshold"

    def expected_groups(self, options: dict) -> list[str]:
        """Groups the options name (e.g. a --split) that count even without events."""
        return []

    def summarize(self, posterior, groups, options: dict) -> dict:
        """Decision-ready numbers: ``groups`` rows, a one-sentence ``decision``, ``warnings``."""
        raise NotImplementedError

    quantity: ClassVar[str] = "parameter"  # what the parameter is, for plots: "conversion rate"

    def plots(self, posterior, groups, summary: dict, options: dict) -> list[dict]:
        """Plot specs for the dashboard (see vibes_core.plots), given the summary made from the
        same posterior: by default each group's posterior density."""
        from vibes_core.plots import densities

        per = f" per {self.group_column}" if self.group_column else ""
        return [densities(posterior, options["hdi_prob"], f"{self.quantity}{per}", self.quantity)]


def spread_timestamps(
    n: int, rng: "np.random.Generator", end: datetime | None = None, days: int = 14
) -> "pa.Array":
    """Sorted UTC timestamps over the ``days`` before ``end``, as a data export would have
    them."""
    import numpy as np
    import pyarrow as pa

    end = np.datetime64(end or datetime.now(UTC).replace(tzinfo=None), "ms")
    offsets = np.sort(rng.uniform(0, days * 86400 * 1000, n))[::-1].astype("timedelta64[ms]")
    return pa.array(end - offsets, type=pa.timestamp("ms", tz="UTC"))


def split_names(value: str, what: str) -> list[str]:
    from vibes_core.errors import VibesError

    names = [v.strip() for v in value.split(",")]
    if len(names) < 1 or any(not v for v in names) or len(set(names)) != len(names):
        raise VibesError(
            f"--{what} must be distinct non-empty names separated by commas, got {value!r}"
        )
    return names


def probability(value: float | None, what: str) -> float | None:
    from vibes_core.errors import VibesError

    if value is not None and not 0 < value < 1:
        raise VibesError(f"--{what} must be a probability between 0 and 1, got {value}")
    return value
