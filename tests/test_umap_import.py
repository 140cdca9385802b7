"""umap-learn imported without pynndescent's index builder (11 s of numba compiling on a cold
cache), which loads as soon as an index is actually built."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
sys.path.insert(0, {scripts!r})
import numpy as np
from latent_atlas.methods._umap_import import defer_pynndescent_index, import_umap
umap = import_umap()
import pynndescent
from pynndescent import NNDescent
seen = {{
    "tensorflow": "tensorflow" in sys.modules,
    "builder_after_import": "pynndescent.rp_trees" in sys.modules,
    "distance_tables": "euclidean" in umap.umap_.pynn_named_distances,
    "isinstance_loads": (isinstance(object(), NNDescent), "pynndescent.rp_trees" in sys.modules),
    "second_defer": defer_pynndescent_index(),
}}
if {build}:
    data = np.random.default_rng(0).normal(size=(300, 4)).astype(np.float32)
    index = NNDescent(data, n_neighbors=5, random_state=0)
    seen["real_index"] = type(index).__module__
    seen["isinstance"] = isinstance(index, NNDescent) and isinstance(index, umap.umap_.NNDescent)
    seen["version"] = pynndescent.__version__
    seen["transformer"] = pynndescent.PyNNDescentTransformer.__name__
    try:
        pynndescent.no_such_name
    except AttributeError as exc:
        seen["missing"] = str(exc)
print(json.dumps(seen))
"""


def _probe(build: bool) -> dict:
    code = PROBE.format(scripts=str(REPO / "workflow" / "scripts"), build=build)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_umap_imports_without_the_index_builder_or_tensorflow():
    seen = _probe(build=False)
    assert seen == {
        "tensorflow": False,
        "builder_after_import": False,
        "distance_tables": True,
        "isinstance_loads": [False, False],  # nothing built: answered without loading
        "second_defer": False,  # already registered: left alone
    }


@pytest.mark.slow(reason="builds a nearest-neighbour index in a fresh process")
def test_building_an_index_loads_the_real_pynndescent():
    seen = _probe(build=True)
    assert seen["real_index"] == "pynndescent.pynndescent_"
    assert seen["isinstance"] is True
    assert seen["version"].count(".") >= 1
    assert seen["transformer"] == "PyNNDescentTransformer"
    assert "no_such_name" in seen["missing"]
