"""The registry: every module in this package that defines ``TYPE`` is an experiment type, and
so is every module named in ``VIBES_TYPES`` (comma-separated, importable from ``sys.path``):
your own types, without changing vibes.

A plugin is code run at import, and input: whatever goes wrong while importing it, a name that
is not a plain word, a type name another module has taken, a capability it declares without
its methods (vibes_core.capabilities), is one ConfigError naming it."""

import importlib
import os
import pkgutil
import re
from functools import cache

from vibes_core.capabilities import missing
from vibes_core.errors import ConfigError, VibesError
from vibes_core.text import printable
from vibes_core.types.base import ExperimentType

# A type's name is a subcommand (`vibes generate NAME`) and a --type choice; a generate
# option's is a flag: lowercase words joined by hyphens, which no shell or markup reads.
WORDS = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
PRIOR_NAME = re.compile(r"[a-z][a-z0-9_]*")  # a key of `--prior name=value`
MAX_NAME = 40


@cache
def registry() -> dict[str, ExperimentType]:
    modules = [f"{__name__}.{module.name}" for module in pkgutil.iter_modules(__path__)]
    extra = [name.strip() for name in os.environ.get("VIBES_TYPES", "").split(",") if name.strip()]
    types: dict[str, ExperimentType] = {}
    origin: dict[str, str] = {}  # type name -> the module that defines it
    for module in dict.fromkeys(modules + extra):  # a module named twice is imported once
        plugin = module in extra
        loaded = imported(module) if plugin else importlib.import_module(module)
        found = getattr(loaded, "TYPE", None)
        if plugin and not isinstance(found, ExperimentType):
            raise ConfigError(f"VIBES_TYPES names {module!r}, which defines no TYPE")
        if not isinstance(found, ExperimentType):
            continue
        for kind in likelihood_types(found, module):  # the type, and each other likelihood's
            check_names(kind, module)
            lacking = missing(kind)
            if lacking:
                raise ConfigError(
                    f"{module!r}: the type {kind.titled()!r} declares what it does not define "
                    f"({'; '.join(lacking)}): define them, or leave the capability out"
                )
        if found.name in types:
            raise ConfigError(
                f"{origin[found.name]!r} and {module!r} both define the experiment type "
                f"{found.name!r}: remove one from VIBES_TYPES, or rename its type"
            )
        types[found.name], origin[found.name] = found, module
    return dict(sorted(types.items()))


def imported(module: str):
    """A module named in VIBES_TYPES, imported: anything it raises (a SyntaxError, its own
    exception, a sys.exit) is one line naming it."""
    try:
        return importlib.import_module(module)
    except (Exception, SystemExit) as error:
        said = printable(f"{type(error).__name__}: {error}".splitlines()[0])
        raise ConfigError(
            f"VIBES_TYPES names {module!r}, which cannot be imported: {said}"
        ) from error


def likelihood_types(kind: ExperimentType, module: str) -> list[ExperimentType]:
    """The type, and the type object of each other likelihood it offers: each one of the same
    type, analysing with that likelihood; their names plain words, each named once."""
    names = kind.likelihoods
    if any(not (isinstance(n, str) and WORDS.fullmatch(n)) for n in names) or len(
        set(names)
    ) != len(names):
        raise ConfigError(
            f"{module!r}: the type {kind.name!r} names its likelihoods "
            f"{printable(repr(names))}: distinct lowercase words joined by hyphens"
        )
    found = [kind]
    for name in names[1:]:
        try:
            other = kind.with_likelihood(name)
        except NotImplementedError:
            other = None
        if not (
            kind.likelihood is None
            and isinstance(other, ExperimentType)
            and other.name == kind.name
            and other.likelihood == name
            and other.likelihoods == names
        ):
            raise ConfigError(
                f"{module!r}: the type {kind.name!r} offers the likelihood {name!r}, but its "
                "likelihood_type(name) is not a type of that name analysing with it (and TYPE "
                "analyses with the first, its likelihood None)"
            )
        found.append(other)
    return found


def check_names(kind: ExperimentType, module: str) -> None:
    """The names a type puts on the command line: plain words, never markup or a shell's."""
    named = [("type", kind.name, WORDS)]
    named += [("generate option", option.name, WORDS) for option in kind.generate_options]
    named += [
        ("prior", prior.name, PRIOR_NAME)
        for priors in ("priors", "pooled_priors", "segment_priors")  # each model's
        for prior in getattr(kind, priors, ())
    ]
    for what, name, rule in named:
        if not (isinstance(name, str) and len(name) <= MAX_NAME and rule.fullmatch(name)):
            words = "letters, digits and hyphens" if rule is WORDS else "letters, digits and _"
            raise ConfigError(
                f"{module!r} names its {what} {printable(repr(name))}: a {what}'s name is "
                f"lowercase {words}, starting with a letter, at most {MAX_NAME} characters"
            )
    if not isinstance(kind.description, str):
        raise ConfigError(f"{module!r}: the type {kind.name!r} has no description (a string)")


def get_type(name: str) -> ExperimentType:
    try:
        return registry()[name]
    except KeyError:
        raise VibesError(
            f"unknown experiment type {name!r}: choose one of {', '.join(registry())}"
        ) from None


def summary_type(summary: dict) -> ExperimentType:
    """The type object a summary was made with: its type's, with its likelihood if any."""
    kind = get_type(summary["type"]).with_likelihood(summary.get("likelihood"))
    return kind.for_summary(summary)
