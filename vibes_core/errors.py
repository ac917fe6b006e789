"""Every user mistake is one of these, with a message saying what was wrong and what to do.

The core states a problem in its own terms: an option it names is a placeholder
(``option("control")``), worded by whoever shows the error — ``str(error)`` in the core's
words ("the control"), the CLI's with its flags (``error.words(flag)``: "--control"), the
dashboard's with its fields' labels. ``error.options`` lists the options it names."""

import re
from collections.abc import Callable

# How the core names its options, in its own words (a notebook reads these).
CORE_NAMES = {
    "control": "the control",
    "prior": "the prior",
    "likelihood": "the likelihood",
    "split": "the split",
    "threshold": "the threshold",
    "hdi_prob": "the HDI probability",
    "max_loss": "the largest expected loss",
    "rope": "the region of practical equivalence",
    "by": "the breakdown by",
    "pooled": "the pooled model",
    "exact": "the exact posterior",
    "as_of": "the snapshot",
    "draws": "the draws",
    "tune": "the tuning steps",
}
# A placeholder: characters of Unicode's private use area, which no name or value in a message
# is expected to hold, around an option's name.
OPTION = re.compile("\ue000([a-z_]+)\ue001")


def option(name: str) -> str:
    """A placeholder for the option ``name`` in an error's message."""
    return f"\ue000{name}\ue001"


def core_name(option: str) -> str:
    return CORE_NAMES.get(option, option.replace("_", " "))


def worded(text: str, name: Callable[[str], str] = core_name) -> str:
    """``text`` (a message with placeholders), each option it names worded by ``name``."""
    return OPTION.sub(lambda found: name(found[1]), text)


class VibesError(Exception):
    """A user-facing error; the CLI prints it on one line and exits 1."""

    def __str__(self) -> str:
        return self.words(core_name)

    def words(self, name: Callable[[str], str]) -> str:
        """The message, each option it names worded by ``name``."""
        return worded(self.template, name)

    @property
    def template(self) -> str:
        """The message with its placeholders, to put in another error's."""
        return super().__str__()

    @property
    def options(self) -> list[str]:
        return OPTION.findall(self.template)


class InvalidInput(VibesError):
    """Event data that does not match the experiment type's schema."""


class InvalidName(VibesError):
    """A name that cannot become a table name."""


class NotFound(VibesError):
    """An experiment or table that does not exist."""


class AlreadyExists(VibesError):
    """An experiment name that is taken."""


class ConfigError(VibesError):
    """The lake or a service it needs cannot be reached or set up."""


class NoLake(ConfigError):
    """The catalog is reachable, and no lake has been made in it yet (`vibes db init`)."""


class InvalidOption(VibesError):
    """An option that does not fit the experiment's type or data (e.g. ``--control``)."""


def first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


class NoExact(VibesError):
    """The type is fitted with MCMC only."""
