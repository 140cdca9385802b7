"""Import umap-learn for what the workflow uses of it: layouts on the shared kNN graph.

``import umap`` runs pynndescent's package ``__init__``, which loads its index builder
(``pynndescent_``, ``rp_trees``): about 1,200 numba functions with explicit signatures,
compiled as they are defined. On a machine whose numba cache is cold that costs 11 s (measured),
all of it for building and searching NN-descent indexes, which a UMAP job never does: its graph
is precomputed (:mod:`latent_atlas.neighbors`) and test points are placed from the same graph.

At import, umap-learn takes from pynndescent only the ``NNDescent`` class (called in umap's own
neighbour search, isinstance-checked in ``fit``) and two tables of distance names. So
:func:`import_umap` registers the pynndescent package without running its ``__init__``: its
submodules (the distance tables) import as usual, and ``NNDescent`` is a stand-in that loads
the real package the first time it is called. umap-learn then runs exactly the code it ran
before (tested: the same maps), and code that does build an index (the approximate graph of
:mod:`latent_atlas.neighbors`) gets the real class.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Iterator
from types import ModuleType

PACKAGE = "pynndescent"
INDEX_MODULE = "pynndescent.pynndescent_"  # what the package __init__ loads, rp_trees with it


@contextlib.contextmanager
def _without_tensorflow() -> Iterator[None]:
    """``import umap`` pulls in TensorFlow for ParametricUMAP (seconds); we never use it."""
    had = "tensorflow" in sys.modules
    if not had:
        sys.modules["tensorflow"] = None  # type: ignore[assignment]  # makes `import` fail fast
    try:
        yield
    finally:
        if not had:
            sys.modules.pop("tensorflow", None)


_state = {"loaded": False}  # whether the deferred package __init__ has run


def _finish(package: ModuleType) -> ModuleType:
    """Run the deferred package ``__init__`` (once): the real NNDescent and friends."""
    if not _state["loaded"]:
        _state["loaded"] = True  # set first: the __init__ reads the package's attributes
        try:
            package.__spec__.loader.exec_module(package)  # type: ignore[union-attr]
        except BaseException:
            _state["loaded"] = False
            raise
    return package


class _Deferred(type):
    """Metaclass of the stand-in: calls build the real NNDescent; isinstance/issubclass are
    answered without loading anything while no real index can exist."""

    def __call__(cls, *args: object, **kwargs: object) -> object:
        return _finish(sys.modules[PACKAGE]).NNDescent(*args, **kwargs)

    def __instancecheck__(cls, obj: object) -> bool:
        real = sys.modules.get(INDEX_MODULE)
        return real is not None and isinstance(obj, real.NNDescent)

    def __subclasscheck__(cls, sub: type) -> bool:
        real = sys.modules.get(INDEX_MODULE)
        return real is not None and issubclass(sub, real.NNDescent)


class DeferredNNDescent(metaclass=_Deferred):
    """Stands for ``pynndescent.NNDescent`` until an index is built."""


def defer_pynndescent_index() -> bool:
    """Register pynndescent with its index builder unloaded; False if it was imported already
    (or is not installed: umap's own import then reports that)."""
    if PACKAGE in sys.modules:
        return False
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.loader is None:
        return False
    package = importlib.util.module_from_spec(spec)

    def __getattr__(name: str) -> object:  # PEP 562: only for names not set (yet)
        if name.startswith("__") and name != "__version__":  # probes (__all__ ...): no loading
            raise AttributeError(name)
        if name == "NNDescent" and not _state["loaded"]:
            return DeferredNNDescent
        namespace = vars(_finish(package))
        if name in namespace:
            return namespace[name]
        raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}")

    package.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[PACKAGE] = package
    return True


def import_umap() -> ModuleType:
    """``import umap``, without TensorFlow (ParametricUMAP) or pynndescent's index builder."""
    defer_pynndescent_index()
    with _without_tensorflow():
        import umap

    return umap
