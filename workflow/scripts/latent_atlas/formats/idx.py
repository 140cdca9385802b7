"""idx: a folder with the four MNIST-layout IDX files (plain or .gz), e.g. Fashion-MNIST or
KMNIST as downloaded."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import AtlasError
from ..idx import USERS, parse_idx
from ._base import Format, Sources, existing_folder, source_path
from ._common import IDX_FILES, SPLITS, finish, idx_file, image_layout, read_maybe_gzip, to_unit


def read(spec: Mapping, sources: Sources) -> dict[str, np.ndarray]:
    """A folder of the four MNIST-layout IDX files (any other 28x28 or other-sized set)."""
    folder = source_path(spec)
    x, y = {}, {}
    for s, (images, labels) in IDX_FILES.items():
        pi, pl = idx_file(folder, images), idx_file(folder, labels)
        x[s] = parse_idx(read_maybe_gzip(pi), pi, hint=USERS)
        y[s] = parse_idx(read_maybe_gzip(pl), pl, expect_ndim=1, hint=USERS)
        if len(x[s]) != len(y[s]):
            raise AtlasError(
                f"{pi} holds {len(x[s])} images but {pl} holds {len(y[s])} labels; the counts "
                "must match (the two files do not belong together)"
            )
    where = str(folder)
    shape, ch = image_layout(x["train"].shape, spec.get("image_shape"), where)
    if x["test"].shape[1:] != x["train"].shape[1:]:
        raise AtlasError(
            f"{where}: train images are {list(x['train'].shape[1:])} but test images "
            f"{list(x['test'].shape[1:])}"
        )
    out = finish(x, y, spec.get("class_names"), where)
    for s in SPLITS:
        out[f"x_{s}"] = to_unit(x[s], where).reshape(len(x[s]), -1)
    return {**out, "image_shape": np.array(shape, np.int64), "channels": np.int64(ch)}


def files(spec: Mapping) -> list[str]:
    """The four IDX files, either spelling, plain or .gz."""
    path = existing_folder(spec, "the four IDX files")
    return [str(idx_file(path, n)) for pair in IDX_FILES.values() for n in pair]


FORMAT = Format(name="idx", read=read, files=files, description="a folder of four IDX files")
