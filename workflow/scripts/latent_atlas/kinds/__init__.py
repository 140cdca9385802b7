"""Model kinds, one module each: the registry training, the planning and the schema check read.

A kind module defines ``KIND = Kind(...)``; dropping ``kinds/<name>.py`` here (plus the name in
the ``kind`` enum of the config schema and any new spec fields) lets a ``models:`` entry say
``kind: <name>``. Modules whose name starts with ``_`` are helpers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..registry import discover, lookup
from ._base import SHARED_FIELDS, Kind

__all__ = ["REGISTRY", "SHARED_FIELDS", "Kind", "build_model", "get", "spec_of"]


REGISTRY: dict[str, Kind] = discover(__name__, __path__, "KIND", Kind)


def get(name: str) -> Kind:
    """The model kind called ``name``; an unknown name lists the known ones."""
    return lookup(REGISTRY, name, "model kind")


def spec_of(spec: Mapping) -> dict:
    """A model's settings as its kind reads them: the shared keys and the kind's own fields, not
    the other kinds' (whose defaults the schema fills into every model)."""
    own = {*SHARED_FIELDS, *get(spec["kind"]).fields}
    return {k: v for k, v in spec.items() if k in own}


def build_model(
    spec: Mapping, input_dim: int, image_shape: Sequence[int], channels: int = 1
) -> Any:
    """Build the model a config spec describes; the input size comes from the data (dense
    models see colour images flattened; the conv model convolves their channels)."""
    return get(spec["kind"]).build(spec, input_dim, image_shape, channels)
