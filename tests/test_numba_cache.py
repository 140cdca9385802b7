"""umap-learn's uncached numba kernels get numba's disk cache, and pynndescent's index builder
stays unloaded in UMAP jobs, without changing any map."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import numba
import numpy as np
import pytest
from latent_atlas.numba_cache import cache_kernels
from numba.core.caching import NullCache

REPO = Path(__file__).resolve().parents[1]


def _py(x):
    return x + 1


def _py_cached(x):
    return x + 2


def _py_parallel_only(x):
    return x + 3


def _py_twice_serial(x):
    return x + 4


def _py_half_cached(x):
    return x + 5


def test_only_safe_kernels_get_the_cache(monkeypatch: pytest.MonkeyPatch):
    """One function built serial and parallel: only the serial build is cached (their cache
    entries would share a key); a function umap-learn caches itself is left alone."""
    module = types.ModuleType("fakeumap.layouts")
    module.serial = numba.njit(_py)
    module.parallel = numba.njit(_py, parallel=True)
    module.own = numba.njit(cache=True)(_py_cached)
    module.alone = numba.njit(_py_parallel_only, parallel=True)
    module.alias = module.serial  # re-exported names count once
    module.plain = numba.njit(_py_twice_serial)  # two serial builds: which would own the entry?
    module.fast = numba.njit(_py_twice_serial, fastmath=True)
    module.half_uncached = numba.njit(_py_half_cached)  # its twin caches already: would clash
    module.half_cached = numba.njit(cache=True, parallel=True)(_py_half_cached)
    monkeypatch.setitem(sys.modules, "fakeumap", types.ModuleType("fakeumap"))
    monkeypatch.setitem(sys.modules, "fakeumap.layouts", module)
    own_cache = module.own._cache
    assert cache_kernels("fakeumap") == 2
    assert not isinstance(module.serial._cache, NullCache)
    assert isinstance(module.parallel._cache, NullCache)
    assert not isinstance(module.alone._cache, NullCache)
    assert module.own._cache is own_cache
    for name in ("plain", "fast", "half_uncached"):
        assert isinstance(getattr(module, name)._cache, NullCache), name
    assert cache_kernels("fakeumap") == 0  # idempotent


UMAP_RUN = """
import json, sys
import numpy as np
sys.path.insert(0, {scripts!r})
from latent_atlas import methods, neighbors, numba_cache
if {disable}:  # umap-learn as shipped: no kernel cache, pynndescent imported in full
    numba_cache.cache_kernels = lambda package: 0
    import pynndescent
rng = np.random.default_rng(0)
centres = rng.normal(0, 5, (4, 8)).astype(np.float32)
latent = {{f"z_{{s}}": centres[np.arange(n) % 4] + rng.normal(0, 1, (n, 8)).astype(np.float32)
          for s, n in (("train", 500), ("test", 100))}}
graph = neighbors.knn_graph(latent["z_train"], latent["z_test"], 16, 1)
params = {{"n_neighbors": 15, "min_dist": 0.1, "deterministic": True, "seed": 0}}
fit = methods.get("umap").fit
train_xy, test_xy, _, _ = fit(latent["z_train"], latent["z_test"], graph, params, 1)
np.save({out!r}, np.concatenate([train_xy, test_xy]))
import umap.layouts, umap.umap_
kernels = [umap.layouts._nb_optimize_layout_euclidean_single_epoch, umap.umap_.smooth_knn_dist]
print(json.dumps({{
    "kernels": [[sum(k.stats.cache_hits.values()), sum(k.stats.cache_misses.values())]
                for k in kernels],
    "index_builder": "pynndescent.rp_trees" in sys.modules,
}}))
"""


@pytest.mark.slow(reason="fits UMAP in two processes")
def test_cached_umap_kernels_load_in_the_next_process_and_give_the_same_map(tmp_path: Path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}

    def run(name: str, disable: bool) -> dict:
        code = UMAP_RUN.format(
            scripts=str(REPO / "workflow" / "scripts"), disable=disable, out=str(tmp_path / name)
        )
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    # umap-learn as shipped: compiles, caches nothing of these, loads pynndescent's index builder
    assert run("plain.npy", disable=True)["index_builder"]
    assert not list((tmp_path / "numba").rglob("umap_.smooth_knn_dist*"))
    cold = run("cold.npy", disable=False)
    assert cold == {"kernels": [[0, 1], [0, 1]], "index_builder": False}  # compiled once, stored
    for kernel in ("umap_.smooth_knn_dist", "layouts._optimize_layout_euclidean_single_epoch"):
        assert list((tmp_path / "numba").rglob(f"{kernel}-*.nbi")), kernel
    warm = run("warm.npy", disable=False)
    assert warm == {"kernels": [[1, 0], [1, 0]], "index_builder": False}  # loaded, no compiling
    plain = np.load(tmp_path / "plain.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "cold.npy"), plain)
    np.testing.assert_array_equal(np.load(tmp_path / "warm.npy"), plain)
