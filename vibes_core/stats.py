"""Sufficient statistics in the form models take: per group (``Stats``), and per group and
segment (``Cells``). The bottom of the analysis: types, models and summaries read them, and
they import nothing of the program's but its text helpers."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

NO_SEGMENT = "(none)"  # how a segment named None is shown


@dataclass(frozen=True)
class Stats:
    """Sufficient statistics in model form: each statistic as one array over the groups."""

    names: list[str]
    values: dict[str, "np.ndarray"]

    def __getitem__(self, statistic: str) -> "np.ndarray":
        return self.values[statistic]

    def row(self, i: int) -> dict[str, int | float]:
        """Group ``i``'s statistics as JSON numbers (whole ones as integers)."""
        return {
            name: int(value[i]) if float(value[i]).is_integer() else float(value[i])
            for name, value in self.values.items()
        }

    @property
    def coords(self) -> dict[str, list[str]]:
        """A model's coordinates: the group names as a fit's stored posterior can hold them
        (netCDF strings hold no NUL, which an older lake's names may have), or their numbers
        if escaping made two of them alike."""
        from vibes_core.text import printable

        labels = [printable(name) for name in self.names]
        unique = len(set(labels)) == len(labels)
        return {"group": labels if unique else [str(i) for i in range(len(labels))]}

    def with_groups(self, names: list[str]) -> "Stats":
        """These statistics and, for each of ``names`` absent from them, a group of zeros."""
        import numpy as np

        missing = [name for name in names if name not in self.names]
        if not missing:
            return self
        zeros = np.zeros(len(missing))
        return Stats(
            self.names + missing,
            {key: np.concatenate([value, zeros]) for key, value in self.values.items()},
        )


def label(segment: str | None) -> str:
    """A segment as shown: events without a value of the column are NO_SEGMENT."""
    return NO_SEGMENT if segment is None else segment


@dataclass(frozen=True)
class Cells:
    """Sufficient statistics per group and segment (a cell): each statistic an array
    (groups, segments) in ``stats``; a group without events in a segment has zeros there."""

    stats: Stats
    segments: list[str | None]
    control: int

    @property
    def groups(self) -> list[str]:
        return self.stats.names

    @property
    def coords(self) -> dict[str, list[str]]:
        groups = self.stats.coords["group"]
        segments = Stats(self.labels, {}).coords["group"]
        treated = [name for i, name in enumerate(groups) if i != self.control]
        return {"group": groups, "segment": segments, "treatment": treated}

    @property
    def labels(self) -> list[str]:
        return [label(s) for s in self.segments]

    def segment(self, j: int) -> Stats:
        return Stats(self.groups, {k: v[:, j] for k, v in self.stats.values.items()})

    def totals(self) -> Stats:
        return Stats(self.groups, {k: v.sum(axis=1) for k, v in self.stats.values.items()})

    def shares(self, kind) -> "np.ndarray":
        """Each segment's share of the experiment's traffic."""
        traffic = self.stats[kind.size].sum(axis=0)
        return traffic / traffic.sum()
