"""Data formats of a ``datasets:`` entry, one module each: the registry normalise and the
planning read.

A format module defines ``FORMAT = Format(...)``; dropping ``formats/<name>.py`` here (plus the
name in the ``format`` enum of the config schema) lets a ``datasets:`` entry say
``format: <name>``. Modules whose name starts with ``_`` are helpers.
"""

from __future__ import annotations

from ..registry import discover, lookup
from ._base import Format, Sources

__all__ = ["REGISTRY", "Format", "Sources", "get"]


REGISTRY: dict[str, Format] = discover(__name__, __path__, "FORMAT", Format)


def get(name: str) -> Format:
    """The data format called ``name``; an unknown name lists the known ones."""
    return lookup(REGISTRY, name, "data format")
