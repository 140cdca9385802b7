"""Model kinds, one module each: the registry training, the planning and the schema check read.

A kind module defines ``KIND = Kind(...)``; dropping ``kinds/<name>.py`` here (plus the name in
the ``kind`` enum of the config schema and any new spec fields) lets a ``models:`` entry say
``kind: <name>``. Modules whose name starts with ``_`` are helpers.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import AtlasError
from ._base import Kind

__all__ = ["REGISTRY", "Kind", "build_model", "get"]


def _discover() -> dict[str, Kind]:
    found: dict[str, Kind] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        kind = getattr(module, "KIND", None)
        if not isinstance(kind, Kind) or kind.name != info.name:
            raise AtlasError(
                f"{module.__file__}: a kind module defines KIND = Kind(name={info.name!r}, ...); "
                "see docs/extending.md"
            )
        found[kind.name] = kind
    return found


REGISTRY: dict[str, Kind] = _discover()


def get(name: str) -> Kind:
    """The kind called ``name``; an unknown name lists the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise AtlasError(f"unknown model kind {name!r}; known: {', '.join(REGISTRY)}") from None


def build_model(
    spec: Mapping, input_dim: int, image_shape: Sequence[int], channels: int = 1
) -> Any:
    """Build the model a config spec describes; the input size comes from the data (dense
    models see colour images flattened; the conv model convolves their channels)."""
    return get(spec["kind"]).build(spec, input_dim, image_shape, channels)
