"""Data formats of a ``datasets:`` entry, one module each: the registry normalise and the
planning read.

A format module defines ``FORMAT = Format(...)``; dropping ``formats/<name>.py`` here (plus the
name in the ``format`` enum of the config schema) lets a ``datasets:`` entry say
``format: <name>``. Modules whose name starts with ``_`` are helpers.
"""

from __future__ import annotations

import importlib
import pkgutil

from ..errors import AtlasError
from ._base import Format, Sources

__all__ = ["REGISTRY", "Format", "Sources", "get"]


def _discover() -> dict[str, Format]:
    found: dict[str, Format] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        fmt = getattr(module, "FORMAT", None)
        if not isinstance(fmt, Format) or fmt.name != info.name:
            raise AtlasError(
                f"{module.__file__}: a format module defines FORMAT = Format(name={info.name!r}, "
                "...); see docs/extending.md"
            )
        found[fmt.name] = fmt
    return found


REGISTRY: dict[str, Format] = _discover()


def get(name: str) -> Format:
    """The format called ``name``; an unknown name lists the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise AtlasError(f"unknown data format {name!r}; known: {', '.join(REGISTRY)}") from None
