"""An experiment's analysis options: how its posterior is summarized and judged.

Saved with the experiment in the lake (the dashboard's options panel sets them), so that
`vibes posterior`, the dashboard and notebooks answer alike by default; what a command line
or a call gives explicitly wins over what is saved. None of them changes the fit except the
prior and the likelihood (parts of the cache key): a new HDI probability or control
re-summarizes cached draws.
"""

import math
from dataclasses import asdict, dataclass, fields, replace

from vibes_core.errors import InvalidOption
from vibes_core.names import quoted, shown

DEFAULT_HDI_PROB = 0.94
LEARNED = "learned"  # --prior learned: effects under the prior learned from the lake
HDI_PROB_RANGE = (0.5, 0.999)


@dataclass(frozen=True)
class Analysis:
    """Each None: not set (the default applies). ``control`` is the type's reference group,
    ``threshold`` a Bernoulli rate to beat, ``split`` the intended traffic split for the SRM
    check, ``max_loss`` and ``rope`` the verdict's thresholds (shares of the control's mean),
    ``likelihood`` one of those the type offers (ExperimentType.likelihoods)."""

    control: str | None = None
    hdi_prob: float | None = None
    threshold: float | None = None
    prior: str | None = None
    likelihood: str | None = None
    split: dict[str, float] | None = None
    max_loss: float | None = None
    rope: float | None = None

    def over(self, saved: "Analysis") -> "Analysis":
        """These options, and ``saved`` for each one not set here."""
        return replace(saved, **{k: v for k, v in asdict(self).items() if v is not None})

    def summary_options(self) -> dict:
        """The options a type's summary and the verdict take (see inference.Settings)."""
        keys = ("control", "threshold", "split", "max_loss", "rope")
        return {key: getattr(self, key) for key in keys if getattr(self, key) is not None}

    def as_json(self) -> dict:
        """The options set, as stored."""
        return {key: value for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_json(cls, data) -> tuple["Analysis", list[str]]:
        """What is stored, and a line for each option left out. Stored data is input (a
        shared catalog is written by others): each option is parsed as if typed, and one that
        does not parse is left out (the default applies) and said; keys this version does not
        know (a newer one's) are left out silently, so that no lake ever stops an answer."""
        if not isinstance(data, dict):
            return cls(), [] if data is None else ["the saved options are not a JSON object"]
        kept, dropped = {}, []
        for field in fields(cls):
            value = data.get(field.name)
            if value is None:
                continue
            try:
                kept[field.name] = PARSERS[field.name](value)
            except (InvalidOption, TypeError, ValueError, OverflowError) as error:
                dropped.append(f"its saved {field.name} is left out: {error}")
        return cls(**kept), dropped


def probability(value, what: str, low: float = 0.0, high: float = 1.0, open_: bool = True):
    """``value`` as a float within (low, high) (or [low, high] when not ``open_``)."""
    number = finite(value, what)
    if not (low < number < high if open_ else low <= number <= high):
        bounds = f"({low}, {high})" if open_ else f"[{low}, {high}]"
        raise InvalidOption(f"{what} must be within {bounds}, not {shown(value)}")
    return number


def finite(value, what: str) -> float:
    """``value`` (a number, or a text of one) as a finite float. A JSON boolean is not a
    number (Python's ``float(True)`` is 1.0), nor is an integer too large for a float."""
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidOption(f"{what} must be a number, not {quoted(value)}") from None
    if not math.isfinite(number):
        raise InvalidOption(f"{what} must be a finite number, not {shown(value)}")
    return number


def hdi_prob(value) -> float:
    return probability(value, "the HDI probability", *HDI_PROB_RANGE, open_=False)


def threshold(value) -> float:
    return probability(value, "the threshold")


def share(what: str):
    return lambda value: probability(value, what, open_=False)


def text(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidOption(f"expected a non-empty text, not {quoted(value)}")
    return value.strip()


def split(value) -> dict[str, float]:
    """``A=50,B=50`` (or the dict it stands for): two or more groups, weights above 0."""
    if isinstance(value, dict):
        pairs = list(value.items())
    else:
        pairs = []
        for part in str(value).split(","):
            name, _, weight = part.partition("=")
            if not weight:
                raise InvalidOption(f"{quoted(part)} is not NAME=WEIGHT, as in A=50,B=50")
            pairs.append((name, weight))
    parsed = {}
    for name, weight in pairs:
        number = finite(weight, f"the weight of {quoted(name)}")
        if not str(name).strip() or number <= 0:
            raise InvalidOption(f"{quoted(f'{name}={weight}')}: a variant name and a weight > 0")
        parsed[str(name).strip()] = number
    if len(parsed) < 2:
        raise InvalidOption("give at least two variants, as in A=50,B=50")
    # Expected counts below 1e-9 of the largest make the chi-square overflow to infinity.
    if min(parsed.values()) < 1e-9 * max(parsed.values()):
        raise InvalidOption("the smallest weight must be at least 1e-9 of the largest")
    return parsed


PARSERS = {
    "control": text,
    "hdi_prob": hdi_prob,
    "threshold": threshold,
    "prior": text,
    "likelihood": text,
    "split": split,
    "max_loss": share("the verdict's largest expected loss"),
    "rope": share("the verdict's region of practical equivalence"),
}
