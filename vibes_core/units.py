"""How numbers of each kind of quantity are written: the one formatter of every screen.

A type declares its ``unit`` (a summary carries its name, for readers of the JSON), so the CLI
table, decision sentences, the dashboard and plot axes all write its numbers the same way
without knowing the type. A new kind of quantity is a new ``Unit``, here or in its type.
"""

from dataclasses import dataclass


def percent(value: float, digits: int = 1) -> str:
    """A probability in words-friendly form: never "100.0%" or "0.0%", which a posterior is
    not even when every draw (or the integral, to rounding) says so."""
    limit = 0.5 * 10 ** -(digits + 2)
    if value < limit:
        return f"<{100 * limit * 2:.{digits}f}%"
    if value >= 1 - limit:
        return f">{100 - 100 * limit * 2:.{digits}f}%"
    return f"{100 * value:.{digits}f}%"


def number(x: float) -> str:
    """Three significant digits, thousands and millions as k and M."""
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(x) >= limit:
            return f"{x / limit:.3g}{suffix}"
    return f"{x:.3g}"


def counted(n: int, noun: str) -> str:
    """``n`` of ``noun``, in English: 1 event, 2,000 events."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


@dataclass(frozen=True)
class Unit:
    """Numbers of one kind: ``per`` is what the quantity is counted per ("" for a share)."""

    name: str
    per: str
    percent: bool = False  # written as a percentage (a plot's axis too)

    def show(self, x: float) -> str:
        """An estimate: 2.37%, or 1.23."""
        return number(x)

    def difference(self, x: float, brief: bool = False) -> str:
        """A difference of two estimates, as an expected loss or an absolute uplift; ``brief``
        for a table whose column says what it is per."""
        return number(x) if brief else f"{number(x)} {self.per}".rstrip()

    def interval(self, mean: float, low: float, high: float) -> str:
        """An estimate and its HDI, the unit said once: 2.37% [0.98, 5.1]."""
        shown = [self.show(x) for x in (mean, low, high)]
        suffix = "%" if all(s.endswith("%") for s in shown) else ""
        bare = [s.removesuffix(suffix) for s in shown]
        return f"{bare[0]}{suffix} [{bare[1]}, {bare[2]}]"

    def axis(self, quantity: str) -> str:
        """A plot's x label: the quantity, and what it is per unless it says so itself."""
        return quantity if self.per in quantity else f"{quantity} {self.per}"


@dataclass(frozen=True)
class Share(Unit):
    """A probability or a proportion: percent, differences in percentage points."""

    percent: bool = True

    def show(self, x: float) -> str:
        shown = f"{100 * x:.3g}%"
        return ">99.9%" if shown == "100%" and x < 1 else shown

    def difference(self, x: float, brief: bool = False) -> str:
        value = 100 * x
        shown = f"{value:.2f}" if abs(value) >= 0.01 else f"{value:.2g}"
        return f"{shown}pp" if brief else f"{shown} pp"


PROBABILITY = Share("probability", "")
RATE = Unit("rate", "per unit of exposure")
VALUE = Unit("value", "per user")
SCALE = Unit("scale", "")  # a model's parameter on its own scale (log-odds, log rate)
