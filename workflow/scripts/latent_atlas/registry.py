"""The one discovery the four registries share (methods, measures, formats, kinds): every
module of the registry's folder whose name does not start with ``_`` defines one entry under an
agreed name (``METHOD``, ``MEASURE``, ``FORMAT``, ``KIND``) whose ``name`` is the module's."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Mapping
from typing import TypeVar

from .errors import AtlasError

T = TypeVar("T")


def discover(package: str, path: Iterable[str], attr: str, kind: type[T]) -> dict[str, T]:
    """name -> entry of every module of ``package`` (folder ``path``), in name order."""
    found: dict[str, T] = {}
    for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        entry = getattr(module, attr, None)
        if not isinstance(entry, kind) or getattr(entry, "name", None) != info.name:
            raise AtlasError(
                f"{module.__file__}: a module of {package} defines {attr} = "
                f"{kind.__name__}(name={info.name!r}, ...); see docs/extending.md"
            )
        found[info.name] = entry
    return found


def lookup(registry: Mapping[str, T], name: str, what: str) -> T:
    """The entry called ``name``; an unknown name lists the known ones."""
    try:
        return registry[name]
    except KeyError:
        raise AtlasError(f"unknown {what} {name!r}; known: {', '.join(registry)}") from None
