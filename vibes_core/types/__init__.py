"""The registry: every module in this package that defines ``TYPE`` is an experiment type, and
so is every module named in ``VIBES_TYPES`` (comma-separated, importable from ``sys.path``):
your own types, without changing vibes."""

import importlib
import os
import pkgutil
from functools import cache

from vibes_core.errors import ConfigError, VibesError
from vibes_core.types.base import ExperimentType


@cache
def registry() -> dict[str, ExperimentType]:
    modules = [f"{__name__}.{module.name}" for module in pkgutil.iter_modules(__path__)]
    extra = [name.strip() for name in os.environ.get("VIBES_TYPES", "").split(",") if name.strip()]
    types = {}
    for module in modules + extra:
        try:
            found = getattr(importlib.import_module(module), "TYPE", None)
        except ImportError as error:
            raise ConfigError(
                f"VIBES_TYPES names {module!r}, which cannot be imported: {error}"
            ) from error
        if module in extra and not isinstance(found, ExperimentType):
            raise ConfigError(f"VIBES_TYPES names {module!r}, which defines no TYPE")
        if isinstance(found, ExperimentType):
            types[found.name] = found
    return dict(sorted(types.items()))


def get_type(name: str) -> ExperimentType:
    try:
        return registry()[name]
    except KeyError:
        raise VibesError(
            f"unknown experiment type {name!r}: choose one of {', '.join(registry())}"
        ) from None
