"""images: a folder ``train/<class>/*`` + ``test/<class>/*`` (or ``<class>/*``, split here) of
images Pillow reads."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..errors import AtlasError
from ..io import sha256_file
from ._base import Format, Sources, existing_folder, source_path
from ._common import SPLITS, finish, image_layout, split, to_unit


def image_files(folder: Path) -> dict[str, list[Path]]:
    """class folder name -> its files (hidden files skipped); an empty class is an error."""
    classes = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise AtlasError(f"{folder}: no class folders; expected {folder}/<class>/*.png|jpg")
    out = {}
    for c in classes:
        files = sorted(f for f in c.rglob("*") if f.is_file() and not f.name.startswith("."))
        if not files:
            raise AtlasError(f"{c}: empty class folder; add images or remove the folder")
        out[c.name] = files
    return out


def decode_images(files: Sequence[Path], size: Sequence[int] | None, mode: str) -> np.ndarray:
    """Decode ``files`` with Pillow into one uint8 array (n, rows, cols[, 3]).

    Without ``size`` every image must have the size of the first; with it, each is resized
    (Lanczos) to (rows, cols).
    """
    from PIL import Image, UnidentifiedImageError

    out: np.ndarray | None = None
    first: tuple[Path, tuple[int, int]] | None = None
    for i, f in enumerate(files):
        try:
            with Image.open(f) as im:
                im = im.convert(mode)
                if size is not None:
                    want = (int(size[1]), int(size[0]))  # Pillow sizes are (width, height)
                    if im.size != want:
                        im = im.resize(want, Image.Resampling.LANCZOS)
                elif first is None:
                    first = (f, im.size)
                elif im.size != first[1]:
                    raise AtlasError(
                        f"{f}: image is {im.size[1]}x{im.size[0]} but {first[0]} is "
                        f"{first[1][1]}x{first[1][0]}; set image_shape: [rows, cols] in the "
                        "dataset entry to resize all images to one size"
                    )
                arr = np.asarray(im, dtype=np.uint8)
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise AtlasError(
                f"{f}: not an image Pillow can read ({type(exc).__name__}); remove or "
                "replace the file"
            ) from None
        if out is None:
            out = np.empty((len(files), *arr.shape), np.uint8)
        out[i] = arr
    assert out is not None
    return out


def colour_mode(files: Sequence[Path], channels: int | None) -> str:
    """'L' or 'RGB': declared, or RGB as soon as one image has colour bands."""
    if channels is not None:
        return "L" if int(channels) == 1 else "RGB"
    from PIL import Image, UnidentifiedImageError

    for f in files:
        try:
            with Image.open(f) as im:
                if im.mode not in ("1", "L", "LA", "I", "I;16", "F"):
                    return "RGB"
        except (UnidentifiedImageError, OSError) as exc:
            raise AtlasError(
                f"{f}: not an image Pillow can read ({type(exc).__name__}); remove or "
                "replace the file"
            ) from None
    return "L"


def read(spec: Mapping, sources: Sources) -> dict[str, np.ndarray]:
    """A folder ``train/<class>/*`` + ``test/<class>/*`` (or ``<class>/*``, split here)."""
    root = source_path(spec)
    where = str(root)
    present = [s for s in SPLITS if (root / s).is_dir()]
    if len(present) == 1:
        other = "test" if present[0] == "train" else "train"
        raise AtlasError(
            f"{where}: has {present[0]}/ but no {other}/; give both {root}/train/<class>/ and "
            f"{root}/test/<class>/, or put the class folders directly in {root} (then a "
            "test_fraction of them is held out)"
        )
    have_split = len(present) == 2
    parts = {s: image_files(root / s) for s in SPLITS} if have_split else {"all": image_files(root)}
    every = [f for files in parts.values() for fs in files.values() for f in fs]
    mode = colour_mode(every, spec.get("channels"))
    size = spec.get("image_shape")
    x, y = {}, {}
    for s, classes in parts.items():
        files = [f for fs in classes.values() for f in fs]
        x[s] = decode_images(files, size, mode)
        y[s] = np.array([c for c, fs in classes.items() for _ in fs])
    if have_split and x["train"].shape[1:] != x["test"].shape[1:]:
        raise AtlasError(
            f"{where}: train images are {list(x['train'].shape[1:3])} but test images "
            f"{list(x['test'].shape[1:3])}; set image_shape: [rows, cols] to resize them"
        )
    if not have_split:
        x["train"], x["test"], y["train"], y["test"] = split(
            x["all"], y["all"], spec["test_fraction"], spec["seed"], where
        )
        del x["all"], y["all"]
    out = finish(x, y, spec.get("class_names"), where)
    shape, ch = image_layout(x["train"].shape, None, where)
    for s in SPLITS:
        out[f"x_{s}"] = to_unit(x[s], where).reshape(len(x[s]), -1)
    return {**out, "image_shape": np.array(shape, np.int64), "channels": np.int64(ch)}


def files(spec: Mapping) -> list[str]:
    """The folder itself (its tree is the input)."""
    return [str(existing_folder(spec, "class folders (images)"))]


def provenance(spec: Mapping, files: Sequence[str]) -> dict[str, np.ndarray]:
    """One digest over every file's relative path and SHA-256 (the tree digest)."""
    root = source_path(spec)
    h = hashlib.sha256()
    n = 0
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(f"{f.relative_to(root)}\0{sha256_file(f)}\n".encode())
        n += 1
    return {
        "source": np.array(f"images: {spec.get('path', '')}"),
        "source_files": np.array([f"{root} ({n} files, tree digest)"]),
        "source_sha256": np.array([h.hexdigest()]),
    }


def pin_index(spec: Mapping, files: Sequence[str]) -> dict[str, Path]:
    """``sha256:`` pins name images by their path relative to the folder."""
    root = source_path(spec)
    return {str(p.relative_to(root)): p for p in root.rglob("*") if p.is_file()}


FORMAT = Format(
    name="images",
    read=read,
    files=files,
    provenance=provenance,
    pin_index=pin_index,
    description="a folder of class folders of images",
)
