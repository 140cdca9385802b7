"""Numba's on-disk cache for the kernels umap-learn compiles in every process.

umap-learn 0.5 compiles its fuzzy-graph and layout kernels (``smooth_knn_dist``, the
per-epoch SGD step, ...) without ``cache=True``, so every UMAP job pays about 6 s of
compilation, however warm the machine's cache is (measured on MNIST: a UMAP job on a warm
cache takes 22 s with these kernels cached, 28 s without).
numba can cache any module-level function (``Dispatcher.enable_caching``); we switch it on for
those kernels so that only the first UMAP job on a machine compiles them. The cached machine
code is what the same compiler produced for the same source, so maps are unchanged (tested).

One caveat decides which kernels we touch: numba's cache index is keyed by the Python
function and the argument types, not by compile options. umap-learn builds its layout step
twice from one function, serial and ``parallel=True``; caching both would let one load the
other's code. Of a function built more than once only the serial build is cached; the
parallel layout step (non-deterministic UMAP) compiles as before.
"""

from __future__ import annotations

import logging
import os
import sys
from collections import defaultdict

from .configuration import writable_cache_dir

log = logging.getLogger(__name__)


def setup_numba_cache(path: str | None) -> None:
    """Point numba's on-disk cache at a persistent folder (before numba-compiled libraries
    import).

    umap-learn compiles its kernels with numba in every fresh process; with a cache the
    compiled code is reused by every later job on the machine (measured here: `import umap`
    15.6 s -> 2.3 s).
    """
    if path and "NUMBA_CACHE_DIR" not in os.environ:
        folder, warning = writable_cache_dir(path, "projection.numba_cache_dir")
        if warning:
            log.warning(warning)
        if folder:
            os.environ["NUMBA_CACHE_DIR"] = folder


def cache_kernels(package: str) -> int:
    """Enable numba's disk cache for the uncached kernels of ``package``'s loaded modules;
    returns how many it enabled (0 when numba is not importable)."""
    try:
        from numba.core.caching import NullCache
        from numba.core.dispatcher import Dispatcher
    except ImportError:  # pragma: no cover - umap-learn depends on numba
        return 0
    by_function: dict[object, list[Dispatcher]] = defaultdict(list)
    for name, module in list(sys.modules.items()):
        if module is None or not (name == package or name.startswith(package + ".")):
            continue
        for obj in vars(module).values():
            if isinstance(obj, Dispatcher) and obj not in by_function[obj.py_func]:
                by_function[obj.py_func].append(obj)
    enabled = 0
    for dispatchers in by_function.values():
        if any(not isinstance(d._cache, NullCache) for d in dispatchers):
            continue  # cached already (umap-learn's own cache=True), or would clash with one
        if len(dispatchers) > 1:  # one function built twice: cache the serial build only
            dispatchers = [d for d in dispatchers if not d.targetoptions.get("parallel")]
            if len(dispatchers) != 1:
                continue
        dispatchers[0].enable_caching()
        enabled += 1
    log.debug("numba disk cache enabled for %d %s kernels", enabled, package)
    return enabled
