"""Check real JSON against the TypedDicts of vibes_core.schema: every required key there, every
value of its declared type, and no key that is not declared (by the schema, or by the type as
one of its statistics or fields)."""

import types
import typing


def problems(value, hint, where: str = "summary", extra: dict | None = None) -> list[str]:
    """What is wrong with ``value`` as a ``hint``; ``extra``: TypedDict name -> keys it may
    have beyond its own (a type's statistics and fields)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if typing.is_typeddict(hint):
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__}, not an object"]
        hints = typing.get_type_hints(hint)
        found = [f"{where}: no {key!r}" for key in hint.__required_keys__ if key not in value]
        allowed = set(hints) | set((extra or {}).get(hint.__name__, ()))
        found += [f"{where}: undeclared key {key!r}" for key in value if key not in allowed]
        for key, item in value.items():
            if key in hints:
                found += problems(item, hints[key], f"{where}.{key}", extra)
        return found
    if origin in (typing.Union, types.UnionType):
        options = [problems(value, option, where, extra) for option in args]
        return [] if any(not found for found in options) else min(options, key=len)
    if origin is typing.Literal:
        return [] if value in args else [f"{where}: {value!r} is not one of {args}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: not a list"]
        return [
            p
            for i, item in enumerate(value)
            for p in problems(item, args[0], f"{where}[{i}]", extra)
        ]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: not an object"]
        return [
            p
            for key, item in value.items()
            for p in problems(item, args[1], f"{where}.{key}", extra)
        ]
    if hint is type(None):
        return [] if value is None else [f"{where}: not null"]
    if hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{where}: {value!r} is not a number"]
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{where}: {value!r} is not an integer"]
    return [] if isinstance(value, hint) else [f"{where}: {value!r} is not a {hint.__name__}"]
