"""How numbers of each kind of quantity are written: the one formatter of every screen.

A type declares its ``unit`` (a summary carries its name, for readers of the JSON), so the CLI
table, decision sentences, the dashboard and plot axes all write its numbers the same way
without knowing the type. A new kind of quantity is a new ``Unit``, here or in its type.
"""

import math
from dataclasses import dataclass

SIGNIFICANT = 3  # digits of an estimate


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


def decimals(x: float, significant: int = SIGNIFICANT) -> int:
    """The decimals that write ``x`` to ``significant`` digits: 2 for 9.56, 1 for 16.3 (and
    for 9.996, which is written 10.0), 0 for 123 and beyond."""
    if x == 0 or not math.isfinite(x):
        return 0
    rounded = float(f"{abs(x):.{significant}g}")
    return max(0, significant - 1 - math.floor(math.log10(rounded)))


def seconds(x: float) -> str:
    """A duration: 2.69 s, 26.6 s, 123 s."""
    return f"{x:.0f} s" if x >= 100 else f"{x:.{SIGNIFICANT}g} s"


def probability_setting(p: float) -> str:
    """A probability someone chose (an HDI's, a threshold): 94%, 90%, 99.5%."""
    return f"{100 * p:.4g}%"


def hdi(prob: float) -> str:
    """What an interval is, in a column's header: 94% HDI."""
    return f"{probability_setting(prob)} HDI"


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
        """An estimate and its HDI, the scale said once and the ends to the centre's
        precision: 2.37% [0.98, 5.10], 16.3% [15.6, 17.0], 1.25k [0.98, 1.51]. A centre far
        finer than the interval's width is written to the width's precision instead."""
        factor, suffix = self.scale(mean)
        center, ends = mean * factor, (low * factor, high * factor)
        places = self.places(center)
        if high > low:
            places = min(places, decimals((high - low) * factor))
        written = f"{center:.{places}f}"
        if self.percent and float(written) >= 100 and mean < 1:  # a share is never certain
            written = f">{100 - 10**-places:.{places}f}"
        return f"{written}{suffix} [{ends[0]:.{places}f}, {ends[1]:.{places}f}]"

    def places(self, center: float) -> int:
        """Decimals of an estimate, as written (times its scale)."""
        return decimals(center)

    def scale(self, x: float) -> tuple[float, str]:
        """What an estimate is multiplied by to be written, and the suffix saying so."""
        if self.percent:
            return 100.0, "%"
        for limit, suffix in ((1e6, "M"), (1e3, "k")):
            if abs(x) >= limit:
                return 1 / limit, suffix
        return 1.0, ""

    def ticks(self, values: list[float], step: float) -> list[str]:
        """A plot axis's labels: every tick with the decimals its step needs (so that no axis
        writes 1475.0 beside another's 618), thousands as k and millions as M."""
        return tick_labels(values, step, self.percent)

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

    def places(self, center: float) -> int:
        """Near 100% as precise as near 0%: 99.950%, not 100%."""
        return (
            decimals(center) if center <= 50 else max(decimals(center), decimals(100 - center, 2))
        )

    def difference(self, x: float, brief: bool = False) -> str:
        """In percentage points to two decimals; less than that is said, not written as 0."""
        value = 100 * x
        shown = f"{value:.2f}" if abs(value) >= 0.005 else "<0.01"
        return f"{shown}pp" if brief else f"{shown} pp"


def tick_labels(values: list[float], step: float, percent: bool = False) -> list[str]:
    """Labels of ticks ``step`` apart, all with the same decimals: 12%, 12.5%, 0.25, 1,470,
    15k (in percent of ``values`` when ``percent``)."""
    factor, suffix = (100.0, "%") if percent else (1.0, "")
    top = max((abs(v) for v in values), default=0.0) * factor
    if not percent and top >= 10_000 and step >= 1000:
        factor, suffix = (1e-6, "M") if top >= 1e7 and step >= 1e6 else (1e-3, "k")
    scaled = step * factor
    places = max(0, -math.floor(math.log10(scaled) + 1e-9)) if scaled > 0 else 0
    if scaled > 0 and abs(round(scaled, places) - scaled) > 1e-9 * scaled:
        places += 1  # a step of 2.5 needs one more
    return [tick(v * factor, places, suffix) for v in values]


def tick(value: float, places: int, suffix: str) -> str:
    written = f"{value:,.{places}f}"
    if not float(written.replace(",", "")):
        written = written.removeprefix("-")  # -0.0 is 0.0
    return written + suffix


PROBABILITY = Share("probability", "")
RATE = Unit("rate", "per unit of exposure")
VALUE = Unit("value", "per user")
SCALE = Unit("scale", "")  # a model's parameter on its own scale (log-odds, log rate)
