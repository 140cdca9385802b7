"""Bring your own data: every `format:` of a `datasets:` entry -> the arrays of ``data.npz``.

Formats: ``mnist`` (the verified download), ``digits`` (scikit-learn's 8x8 set), ``idx`` (a
folder in the MNIST layout, plain or gzipped), ``npz`` (x_train/y_train/x_test/y_test, or x/y to
be split), ``images`` (``train/<class>/*`` and ``test/<class>/*`` decoded with Pillow, or class
folders directly to be split) and ``vectors`` (a Parquet table of precomputed embeddings with a
``label`` column). Every reader checks what it reads and raises :class:`AtlasError` naming the
file and the fix, before anything is written.

``data.npz`` gains ``channels`` (1 = grey, 3 = RGB; ``image_shape`` stays (rows, cols), or
(features,) for vectors), ``kind`` ("images" | "vectors") and the provenance of the source:
``source`` (format and path), ``source_files`` and ``source_sha256``.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from . import data, download
from .errors import AtlasError
from .idx import parse_idx
from .io import save_npz, sha256_file

log = logging.getLogger(__name__)

FORMATS = ("mnist", "digits", "idx", "npz", "images", "vectors")
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
SPLITS = ("train", "test")


def source_path(spec: Mapping) -> Path:
    """The entry's ``path`` with ``~`` expanded (relative paths are from the working directory)."""
    if not spec.get("path"):
        raise AtlasError(f"datasets: format {spec['format']!r} needs `path:` (a file or folder)")
    return Path(os.path.expanduser(str(spec["path"])))


def idx_file(folder: Path, name: str) -> Path:
    """One of the four IDX files in ``folder``: either spelling, plain or ``.gz``."""
    for stem in (name, name.replace("-idx", ".idx")):
        for cand in (folder / stem, folder / f"{stem}.gz"):
            if cand.is_file():
                return cand
    raise AtlasError(
        f"{folder}: no {name} (nor {name.replace('-idx', '.idx')}, plain or .gz); an idx "
        "dataset needs the four MNIST-layout files train-images-idx3-ubyte, "
        "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"
    )


def input_files(spec: Mapping) -> list[str]:
    """The files a dataset is read from (the normalise rule's inputs); checked to exist, so a
    missing path fails when the workflow is planned, not after other jobs ran."""
    fmt = spec["format"]
    if fmt in ("mnist", "digits"):
        return []
    path = source_path(spec)
    if not path.exists():
        raise AtlasError(f"datasets: {path} (format {fmt}) does not exist; fix `path:`")
    if fmt == "idx":
        if not path.is_dir():
            raise AtlasError(f"datasets: {path} must be a folder holding the four IDX files")
        return [str(idx_file(path, n)) for pair in IDX_FILES.values() for n in pair]
    if fmt in ("npz", "vectors"):
        if not path.is_file():
            raise AtlasError(f"datasets: {path} must be a file ({fmt})")
        return [str(path)]
    if not path.is_dir():
        raise AtlasError(f"datasets: {path} must be a folder of class folders (images)")
    return [str(path)]


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


def decode_labels(
    splits: Mapping[str, np.ndarray], class_names: Sequence[str] | None, where: str
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Labels of every split -> class indices and the class names.

    Integer labels index ``class_names`` when it is given; otherwise the sorted distinct
    labels become the classes. String labels must be in ``class_names`` when it is given.
    """
    allv = np.concatenate([np.asarray(v).ravel() for v in splits.values()])
    numeric = np.issubdtype(allv.dtype, np.integer) or (
        np.issubdtype(allv.dtype, np.floating) and np.all(np.mod(allv, 1) == 0)
    )
    if class_names is not None:
        names = np.array([str(n) for n in class_names])
        if numeric:
            bad = allv[(allv < 0) | (allv >= len(names))]
            if len(bad):
                raise AtlasError(
                    f"{where}: labels {sorted(set(bad.tolist()))[:5]} are outside class_names "
                    f"(indices 0..{len(names) - 1} of {names.tolist()}); fix the labels or "
                    "class_names"
                )
            index = {v: v for v in range(len(names))}
        else:
            bad = sorted(set(allv.astype(str).tolist()) - set(names.tolist()))
            if bad:
                raise AtlasError(
                    f"{where}: labels {bad[:5]} are outside class_names {names.tolist()}; "
                    "add them to class_names or fix the labels"
                )
            index = {n: i for i, n in enumerate(names.tolist())}
    else:
        if numeric:
            uniq = np.unique(allv.astype(np.int64))
            names = np.array([str(v) for v in uniq])
            index = {int(v): i for i, v in enumerate(uniq)}
        else:
            uniq = np.unique(allv.astype(str))
            names = uniq
            index = {str(v): i for i, v in enumerate(uniq)}
    dtype = np.uint8 if len(names) <= 256 else np.int32
    out = {}
    for split, y in splits.items():
        y = np.asarray(y)
        keys = y.astype(np.int64) if numeric else y.astype(str)
        lookup = np.vectorize(index.__getitem__, otypes=[np.int64]) if len(keys) else None
        out[split] = (lookup(keys) if lookup is not None else keys).astype(dtype)
    if "train" in out and "test" in out:
        missing = sorted(set(np.unique(out["test"]).tolist()) - set(out["train"].tolist()))
        if missing:
            raise AtlasError(
                f"{where}: the test split has class(es) {[str(names[i]) for i in missing]} "
                "that the training split lacks; move some of their samples to train"
            )
    return out, names


def split(
    x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int, where: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stratified, seeded train/test split for data that comes without one."""
    from sklearn.model_selection import train_test_split

    try:
        xtr, xte, ytr, yte = train_test_split(
            x, y, test_size=test_fraction, random_state=seed, stratify=y
        )
    except ValueError as exc:
        raise AtlasError(
            f"{where}: cannot split {len(y)} samples stratified with test_fraction "
            f"{test_fraction} ({exc}); give every class at least 2 samples or change "
            "test_fraction"
        ) from None
    return xtr, xte, ytr, yte


def to_unit(x: np.ndarray, where: str) -> np.ndarray:
    """uint8 images -> float32 / 255; float images must already be in [0, 1]."""
    if x.dtype == np.uint8:
        out = x.astype(np.float32)
        out /= np.float32(255.0)
        return out
    if np.issubdtype(x.dtype, np.floating):
        out = x.astype(np.float32, copy=False)
        if not np.isfinite(out).all():
            raise AtlasError(f"{where}: images contain NaN or inf; clean the data")
        lo, hi = float(out.min(initial=0)), float(out.max(initial=0))
        if lo < 0 or hi > 1:
            raise AtlasError(
                f"{where}: float images must lie in [0, 1] but span [{lo:g}, {hi:g}]; "
                "divide by 255 (or save them as uint8)"
            )
        return out
    raise AtlasError(f"{where}: images of dtype {x.dtype}; use uint8 (0..255) or float in [0, 1]")


def image_layout(
    shape: tuple[int, ...], declared: Sequence[int] | None, where: str
) -> tuple[list[int], int]:
    """(rows, cols) and channels of images stored as ``shape[1:]``."""
    rest = shape[1:]
    if len(rest) == 2:
        return [rest[0], rest[1]], 1
    if len(rest) == 3 and rest[2] in (1, 3):
        return [rest[0], rest[1]], rest[2]
    if len(rest) == 1:
        if declared:
            rows, cols = int(declared[0]), int(declared[1])
            ch = int(declared[2]) if len(declared) > 2 else 1
            if rows * cols * ch != rest[0]:
                raise AtlasError(
                    f"{where}: image_shape {list(declared)} has {rows * cols * ch} values but "
                    f"the images have {rest[0]}; fix image_shape"
                )
            return [rows, cols], ch
        side = round(float(np.sqrt(rest[0])))
        if side * side == rest[0]:
            return [side, side], 1
        raise AtlasError(
            f"{where}: flat images of {rest[0]} values; set image_shape: [rows, cols] or "
            "[rows, cols, channels] in the dataset entry"
        )
    raise AtlasError(f"{where}: images of shape {list(rest)}; expected (h, w), (h, w, 1|3) or flat")


def finish(
    x: Mapping[str, np.ndarray],
    y: Mapping[str, np.ndarray],
    class_names: Sequence[str] | None,
    where: str,
) -> dict[str, np.ndarray]:
    """Count checks and label decoding common to every format."""
    for s in SPLITS:
        if len(x[s]) != len(y[s]):
            raise AtlasError(
                f"{where}: {len(x[s])} {s} images but {len(y[s])} {s} labels; the counts must match"
            )
        if len(x[s]) == 0:
            raise AtlasError(f"{where}: the {s} split is empty")
    labels, names = decode_labels(y, class_names, where)
    return {"y_train": labels["train"], "y_test": labels["test"], "class_names": names}


def idx_arrays(spec: Mapping) -> dict[str, np.ndarray]:
    """A folder of the four MNIST-layout IDX files (any other 28x28 or other-sized set)."""
    folder = source_path(spec)
    x, y = {}, {}
    for s, (images, labels) in IDX_FILES.items():
        pi, pl = idx_file(folder, images), idx_file(folder, labels)
        x[s] = parse_idx(read_maybe_gzip(pi), pi)
        y[s] = parse_idx(read_maybe_gzip(pl), pl, expect_ndim=1)
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


def read_maybe_gzip(path: Path) -> bytes:
    """File bytes, decompressed when the name ends in .gz; a broken gzip is named."""
    raw = path.read_bytes()
    if path.suffix != ".gz":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        raise AtlasError(f"{path}: not a readable gzip file ({exc}); replace it") from None


def npz_arrays(spec: Mapping) -> dict[str, np.ndarray]:
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


def images_arrays(spec: Mapping) -> dict[str, np.ndarray]:
    """A folder ``train/<class>/*`` + ``test/<class>/*`` (or ``<class>/*``, split here)."""
    root = source_path(spec)
    where = str(root)
    have_split = (root / "train").is_dir() and (root / "test").is_dir()
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


def vectors_arrays(spec: Mapping) -> dict[str, np.ndarray]:
    """A Parquet table: ``label``, optional ``split`` (train/test), numeric vector columns.

    The vectors are scaled by one global affine map into [0, 1] (the range every later rule
    expects); distances keep their ratios, so neighbours, maps and metrics are unchanged.
    """
    import pyarrow.parquet as pq

    path = source_path(spec)
    where = str(path)
    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise AtlasError(
            f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc})"
        ) from None
    if "label" not in table.column_names:
        raise AtlasError(f"{where}: no `label` column (columns: {table.column_names[:10]})")
    import pyarrow.types as pat

    types = {f.name: f.type for f in table.schema}
    cols = [
        n
        for n in table.column_names
        if n not in ("label", "split") and (pat.is_integer(types[n]) or pat.is_floating(types[n]))
    ]
    if not cols:
        raise AtlasError(f"{where}: no numeric vector columns besides label/split")
    labels = table.column("label").to_numpy(zero_copy_only=False)
    if "split" in table.column_names:
        sp = table.column("split").to_numpy(zero_copy_only=False).astype(str)
        odd = sorted(set(sp.tolist()) - set(SPLITS))
        if odd:
            raise AtlasError(f"{where}: split values {odd[:5]}; use only 'train' and 'test'")
        rows = {s: np.flatnonzero(sp == s) for s in SPLITS}
    else:
        index = np.arange(table.num_rows)
        parts = split(index, labels, spec["test_fraction"], spec["seed"], where)
        rows = {"train": parts[0], "test": parts[1]}
    # Each split's matrix is filled column by column from the table: the vectors are held
    # once (plus the table), never as a whole matrix and its split copies.
    x = {s: np.empty((len(r), len(cols)), np.float32) for s, r in rows.items()}
    for j, n in enumerate(cols):
        column = table.column(n).to_numpy(zero_copy_only=False)
        for s, r in rows.items():
            x[s][:, j] = column[r]
        bad = ~np.isfinite(column)
        if bad.any():
            raise AtlasError(
                f"{where}: {int(bad.sum())} NaN/inf values in column {n!r} (first in row "
                f"{int(np.flatnonzero(bad)[0])}); drop or impute those rows"
            )
    y = {s: labels[r] for s, r in rows.items()}
    out = finish(x, y, spec.get("class_names"), where)
    lo = min(float(x[s].min()) for s in SPLITS)
    hi = max(float(x[s].max()) for s in SPLITS)
    scale = np.float32(1.0 / (hi - lo)) if hi > lo else np.float32(1.0)
    for s in SPLITS:
        v = x[s]
        v -= np.float32(lo)
        v *= scale
        np.clip(v, 0, 1, out=v)
        out[f"x_{s}"] = v
    return {**out, "image_shape": np.array([len(cols)], np.int64), "channels": np.int64(1)}


def source_info(spec: Mapping, files: Sequence[str]) -> dict[str, np.ndarray]:
    """Provenance for the report: the format, path, and the SHA-256 of each source file (for
    an image folder one digest over every file's relative path and hash)."""
    fmt = spec["format"]
    if fmt == "digits":
        return {"source": np.array("scikit-learn load_digits (bundled)")}
    if fmt == "images":
        root = source_path(spec)
        h = hashlib.sha256()
        n = 0
        for f in sorted(p for p in root.rglob("*") if p.is_file()):
            h.update(f"{f.relative_to(root)}\0{sha256_file(f)}\n".encode())
            n += 1
        names, digests = [f"{root} ({n} files, tree digest)"], [h.hexdigest()]
    else:
        names, digests = list(files), [sha256_file(f) for f in files]
    label = "MNIST (pinned SHA-256s)" if fmt == "mnist" else f"{fmt}: {spec.get('path', '')}"
    return {
        "source": np.array(label),
        "source_files": np.array(names),
        "source_sha256": np.array(digests),
    }


def load(
    name: str, spec: Mapping, mnist_cfg: Mapping, resource_dir: str | None
) -> tuple[dict[str, np.ndarray], list[str]]:
    """The arrays of one dataset entry, and the files they were read from."""
    fmt = spec["format"]
    if fmt == "mnist":
        if resource_dir is None:
            raise AtlasError(f"normalise {name}: no resource directory given")
        download.fetch_verified(resource_dir, download.build_sources(mnist_cfg))
        arrays = data.mnist_arrays(resource_dir)
        files = [str(Path(resource_dir) / f) for pair in IDX_FILES.values() for f in pair]
        return {**arrays, "channels": np.int64(1)}, files
    if fmt == "digits":
        arrays = data.digits_arrays(spec["test_fraction"], spec["seed"])
        return {**arrays, "channels": np.int64(1)}, []
    readers = {
        "idx": idx_arrays,
        "npz": npz_arrays,
        "images": images_arrays,
        "vectors": vectors_arrays,
    }
    if fmt not in readers:
        raise AtlasError(f"dataset {name}: unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    files = input_files(spec)
    pins = spec.get("sha256") or {}
    if pins:
        root = source_path(spec)
        if fmt == "images":
            index = {str(p.relative_to(root)): p for p in root.rglob("*") if p.is_file()}
        else:
            index = {Path(f).name: Path(f) for f in files}
        verify_pins(root, pins, index)
    return readers[fmt](spec), files


def normalise(
    name: str,
    spec: Mapping,
    mnist_cfg: Mapping,
    resource_dir: str | None,
    out_path: str | os.PathLike[str],
) -> dict[str, np.ndarray]:
    """Build ``results/{dataset}/data.npz`` from one `datasets:` entry, checked, atomically."""
    arrays, files = load(name, spec, mnist_cfg, resource_dir)
    arrays["kind"] = np.array("vectors" if spec["format"] == "vectors" else "images")
    arrays.update(source_info(spec, files))
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
        },
    )
    log.info(
        "%s: the data as codes, %s + %s", out_path, arrays["x_train"].shape, arrays["x_test"].shape
    )
