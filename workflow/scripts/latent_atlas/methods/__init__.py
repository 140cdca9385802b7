"""Projection methods, one module each: the registry every other part of the workflow reads.

A method module defines ``METHOD = Method(...)``; dropping ``methods/<name>.py`` in this folder
(plus its block under ``methods:`` in the config schema) is all it takes to add one. The
Snakemake layer takes wildcard constraints, the shared graph's k, threads and priorities from
here; figures, the atlas, the report and the sweep summary take titles and colours.
Modules whose name starts with ``_`` are helpers, not methods.
"""

from __future__ import annotations

from ..registry import discover, lookup
from ._base import Fit, Method, Result, fit_and_place, half_cores, load_fitted

__all__ = [
    "REGISTRY",
    "Fit",
    "Method",
    "Result",
    "fit_and_place",
    "get",
    "half_cores",
    "load_fitted",
    "names",
]


REGISTRY: dict[str, Method] = discover(__name__, __path__, "METHOD", Method)


def get(name: str) -> Method:
    """The projection method called ``name``; an unknown name lists the known ones."""
    return lookup(REGISTRY, name, "projection method")


def names() -> list[str]:
    return list(REGISTRY)


def title(map_name: str) -> str:
    """A map's title: its method's (``umap-n_neighbors5`` -> UMAP); unknown names as given."""
    method = REGISTRY.get(base_method(map_name))
    return method.title if method else map_name


def color(map_name: str) -> str | None:
    method = REGISTRY.get(base_method(map_name))
    return method.color if method else None


def base_method(map_name: str) -> str:
    """The method of a map name: a sweep's ``umap-n_neighbors5`` -> ``umap``."""
    return map_name.split("-", 1)[0]


def is_map(name: str) -> bool:
    """Whether a metrics row's ``method`` is a map (rather than ``reference`` or ``uses``)."""
    return base_method(name) in REGISTRY
