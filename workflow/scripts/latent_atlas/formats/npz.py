"""npz: one .npz with x_train, y_train, x_test, y_test (or x, y to be split here) and optional
class_names, read without pickle."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import AtlasError
from ._base import Format, Sources, existing_file, source_path
from ._common import SPLITS, finish, image_layout, split, to_unit


def read(spec: Mapping, sources: Sources) -> dict[str, np.ndarray]:
    """One .npz: x_train/y_train/x_test/y_test (or x/y, split here), optional class_names."""
    path = source_path(spec)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as exc:
        raise AtlasError(
            f"{path}: not a readable .npz without pickle ({type(exc).__name__}: {exc}); save "
            "it with numpy.savez and numeric or string arrays"
        ) from None
    where = str(path)
    if "x_train" not in arrays and {"x", "y"} <= set(arrays):
        xtr, xte, ytr, yte = split(
            arrays["x"], arrays["y"], spec["test_fraction"], spec["seed"], where
        )
        arrays.update(x_train=xtr, x_test=xte, y_train=ytr, y_test=yte)
    missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in arrays]
    if missing:
        raise AtlasError(
            f"{where}: missing arrays {missing} (has {sorted(arrays)}); an npz dataset holds "
            "x_train, y_train, x_test, y_test (or x, y to be split)"
        )
    x = {s: arrays[f"x_{s}"] for s in SPLITS}
    y = {s: arrays[f"y_{s}"] for s in SPLITS}
    names = spec.get("class_names")
    if names is None and "class_names" in arrays:
        names = [str(n) for n in arrays["class_names"]]
    shape, ch = image_layout(x["train"].shape, spec.get("image_shape"), where)
    if x["test"].shape[1:] != x["train"].shape[1:]:
        raise AtlasError(
            f"{where}: x_train images are {list(x['train'].shape[1:])} but x_test "
            f"{list(x['test'].shape[1:])}"
        )
    out = finish(x, y, names, where)
    for s in SPLITS:
        out[f"x_{s}"] = to_unit(x[s], f"{where}: x_{s}").reshape(len(x[s]), -1)
    return {**out, "image_shape": np.array(shape, np.int64), "channels": np.int64(ch)}


FORMAT = Format(name="npz", read=read, files=existing_file, description="one .npz file")
