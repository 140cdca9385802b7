"""digits: scikit-learn's bundled 8x8 digits (1,797 images), split stratified and seeded: the
offline dataset for quick runs and the tests."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ..data import digits_arrays
from ._base import Format, Sources


def read(spec: Mapping, sources: Sources) -> dict[str, np.ndarray]:
    return {**digits_arrays(spec["test_fraction"], spec["seed"]), "channels": np.int64(1)}


def provenance(spec: Mapping, files: Sequence[str]) -> dict[str, np.ndarray]:
    return {"source": np.array("scikit-learn load_digits (bundled)")}


def size(spec: Mapping) -> tuple[int, int, int]:
    """The split scikit-learn's train_test_split makes of the 1,797 digits."""
    n_test = math.ceil(spec["test_fraction"] * 1797)
    return 1797 - n_test, n_test, 10


FORMAT = Format(
    name="digits",
    read=read,
    provenance=provenance,
    description="scikit-learn's 8x8 digits",
    size=size,
)
