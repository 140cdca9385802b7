"""Bring your own data: a ``datasets:`` entry -> the arrays of ``data.npz``, through its format's
reader (:mod:`latent_atlas.formats`, one module per format).

``data.npz`` gains ``channels`` (1 = grey, 3 = RGB; ``image_shape`` stays (rows, cols), or
(features,) for vectors), ``kind`` ("images" | "vectors") and the provenance of the source:
``source`` (format and path), ``source_files`` and ``source_sha256``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from . import data, formats
from .errors import AtlasError
from .formats._base import source_path
from .io import save_npz, sha256_file

log = logging.getLogger(__name__)


def input_files(spec: Mapping) -> list[str]:
    """The user's files a dataset is read from (the normalise rule's inputs); checked to exist,
    so a missing path fails when the workflow is planned, not after other jobs ran."""
    fmt = formats.get(spec["format"])
    return [] if fmt.files is None else fmt.files(spec)


def verify_pins(root: Path, pins: Mapping[str, str], files: Mapping[str, Path]) -> None:
    """Compare the files named in ``sha256:`` with their pinned hashes."""
    for name, want in pins.items():
        p = files.get(name) or files.get(Path(name).name)
        if p is None:
            raise AtlasError(
                f"datasets: sha256 pins {name!r}, which is not a file of {root} "
                f"(files: {sorted(files)[:8]})"
            )
        got = sha256_file(p)
        if got != want.lower():
            raise AtlasError(
                f"{p}: SHA-256 {got} does not match the pinned {want}; the file changed or is "
                "another version: restore it or update the pin"
            )


def load(
    name: str, spec: Mapping, mnist_cfg: Mapping, resource_dir: str | None
) -> tuple[dict[str, np.ndarray], list[str]]:
    """The arrays of one dataset entry, and the files they were read from."""
    fmt = formats.get(spec["format"])
    if fmt.resources:
        if resource_dir is None:
            raise AtlasError(f"normalise {name}: no resource directory given")
        files = [str(Path(resource_dir) / Path(r).name) for r in fmt.resources]
    else:
        files = input_files(spec)
    pins = spec.get("sha256") or {}
    if pins:
        verify_pins(source_path(spec), pins, fmt.pin_index(spec, files))
    return fmt.read(spec, formats.Sources(files, {"mnist": mnist_cfg})), files


def normalise(
    name: str,
    spec: Mapping,
    mnist_cfg: Mapping,
    resource_dir: str | None,
    out_path: str | os.PathLike[str],
) -> dict[str, np.ndarray]:
    """Build ``results/{dataset}/data.npz`` from one `datasets:` entry, checked, atomically."""
    arrays, files = load(name, spec, mnist_cfg, resource_dir)
    fmt = formats.get(spec["format"])
    arrays["kind"] = np.array("vectors" if fmt.codes else "images")
    arrays.update(fmt.provenance(spec, files))
    data.check_arrays(arrays, str(out_path))
    save_npz(out_path, arrays)
    log.info(
        "%s: %s, train %s, test %s, image shape %s x %d channel(s), classes %s",
        out_path,
        arrays["source"],
        arrays["x_train"].shape,
        arrays["x_test"].shape,
        arrays["image_shape"].tolist(),
        int(arrays["channels"]),
        np.bincount(arrays["y_train"]).tolist(),
    )
    return arrays


def codes_from_data(data_path: str | os.PathLike[str], out_path: str | os.PathLike[str]) -> None:
    """Model ``none``: the data's own vectors are the codes (no training), as ``latent.npz``."""
    arrays = data.load_data(data_path)
    save_npz(
        out_path,
        {
            "z_train": arrays["x_train"],
            "z_test": arrays["x_test"],
            "y_train": arrays["y_train"],
            "y_test": arrays["y_test"],
            "image_shape": arrays["image_shape"],
            # only where the data have no labels, so a labelled dataset's file is as it was
            **({} if data.is_labelled(arrays) else {"labelled": arrays["labelled"]}),
        },
    )
    log.info(
        "%s: the data as codes, %s + %s", out_path, arrays["x_train"].shape, arrays["x_test"].shape
    )
