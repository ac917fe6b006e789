"""The registry: every module in this package that defines ``TYPE`` is an experiment type."""

import importlib
import pkgutil
from functools import cache

from vibes_core.errors import VibesError
from vibes_core.types.base import ExperimentType


@cache
def registry() -> dict[str, ExperimentType]:
    types = {}
    for module in pkgutil.iter_modules(__path__):
        found = getattr(importlib.import_module(f"{__name__}.{module.name}"), "TYPE", None)
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
