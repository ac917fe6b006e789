"""Every user mistake is one of these, with a message saying what was wrong and what to do."""


class VibesError(Exception):
    """A user-facing error; the CLI prints it on one line and exits 1."""


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
