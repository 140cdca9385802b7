"""The interactive atlas: one offline HTML file to explore every point of every map.

The points are stored as binary columns (typed arrays, deflated and base64-encoded in the page:
map coordinates as uint16 per axis, classes and quality layers as uint8), so a million rows fit
in one file, and drawn with WebGL by regl-scatterplot (vendored, inlined: the file opens from a
USB stick). Everything else (hover, pinning, selection, legend, search, CSV export, colour
layers, density, labels, the decoded field) is the page's own script, ``templates/atlas.js``.
The images are stored once per dataset as PNG sprite sheets (data: URIs, decoded only when a
point of that sheet is shown).
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import AtlasError
from .io import atomic_open, load_npz
from .methods import title as method_title

ATLAS_NEIGHBORS = 15  # code-space neighbours per point stored in the page (pin a point)
# the neighbours' raw bytes per pair: above it, fewer neighbours per point (at least MIN)
NEIGHBOR_BYTES = 24_000_000
MIN_NEIGHBORS = 5
# the images' raw pixels per dataset: above it the page stores none and says why
IMAGE_PIXELS = 60_000_000
QUANT = 65535  # map coordinates: uint16 per axis over each map's own extent
PER_SHEET = 4096  # images per sprite sheet: a 64 x 64 grid (1,792 px square for MNIST)
SHEET_COLUMNS = 64
# matplotlib's tab10, then tab20's light shades: 20 distinguishable classes
PALETTE = [
    *("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"),
    *("#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"),
    *("#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5"),
    *("#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5"),
]
TEMPLATES = Path(__file__).parent / "templates"


def image_layout(data: Mapping[str, np.ndarray]) -> tuple[int, int, int]:
    """(height, width, channels) of a dataset's images: grey when ``channels`` is absent or 1.
    A vectors dataset (image_shape (d,)) is shown as a one-row strip of its d values."""
    shape = tuple(int(s) for s in np.asarray(data["image_shape"]).ravel())
    if len(shape) == 1:
        shape = (1, shape[0])
    channels = int(np.asarray(data["channels"]).ravel()[0]) if "channels" in data else None
    if len(shape) == 3:
        channels = shape[2] if channels is None else channels
        if channels != shape[2]:
            raise AtlasError(f"data.npz: image_shape {shape} disagrees with channels={channels}")
    elif len(shape) != 2:
        raise AtlasError(f"data.npz: image_shape {shape} is neither (h, w) nor (h, w, c)")
    channels = 1 if channels is None else channels
    if channels not in (1, 3):
        raise AtlasError(f"data.npz: {channels} channels; the atlas shows grey (1) or RGB (3)")
    return shape[0], shape[1], channels


def images_uint8(data: Mapping[str, np.ndarray]) -> np.ndarray:
    """All images, train then test, as uint8 (n, h, w) or (n, h, w, 3) from the [0, 1] floats."""
    h, w, c = image_layout(data)
    x = np.concatenate([data["x_train"], data["x_test"]])
    if x.shape[1] != h * w * c:
        raise AtlasError(
            f"data.npz: {x.shape[1]} features per image, but image_shape says {h}x{w}x{c}"
        )
    shape = (len(x), h, w) if c == 1 else (len(x), h, w, c)
    return np.rint(np.clip(x, 0.0, 1.0) * 255).astype(np.uint8).reshape(shape)


def sprite_sheets(
    images: np.ndarray, per_sheet: int = PER_SHEET, columns: int = SHEET_COLUMNS
) -> list[str]:
    """Images tiled into PNG sheets of ``columns`` columns, as data: URIs.

    Image ``i`` is cell ``i % per_sheet`` (row-major) of sheet ``i // per_sheet``. PNG keeps the
    real pixels (lossless) at about 1.3 bits per MNIST pixel; smaller sheets keep the decoded
    size of one sheet small and let the browser decode only the sheets a user points at.
    """
    from PIL import Image

    h, w = images.shape[1:3]
    uris = []
    for start in range(0, len(images), per_sheet):
        chunk = images[start : start + per_sheet]
        rows = -(-len(chunk) // columns)
        pad = rows * columns - len(chunk)
        if pad:
            chunk = np.concatenate([chunk, np.zeros((pad, *chunk.shape[1:]), np.uint8)])
        grid = chunk.reshape(rows, columns, h, w, *chunk.shape[3:])
        sheet = grid.swapaxes(1, 2).reshape(rows * h, columns * w, *chunk.shape[3:])
        buf = io.BytesIO()
        Image.fromarray(sheet).save(buf, "PNG", compress_level=6)
        uris.append("data:image/png;base64," + base64.b64encode(buf.getvalue()).decode())
    return uris


def reconstruction_errors(latent_path: str, trained: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-point reconstruction errors; NaN for a vectors dataset's `none`, which has no model
    and so nothing reconstructed (the page shows a dash)."""
    if trained:
        latent = load_npz(latent_path, ("recon_error_train", "recon_error_test"))
        return latent["recon_error_train"], latent["recon_error_test"]
    latent = load_npz(latent_path, ("y_train", "y_test"))
    return (
        np.full(len(latent["y_train"]), np.nan, np.float32),
        np.full(len(latent["y_test"]), np.nan, np.float32),
    )


def _finite_range(v: np.ndarray) -> list[float] | None:
    ok = np.isfinite(v)
    return [float(v[ok].min()), float(v[ok].max())] if ok.any() else None


def neighbor_count(n_rows: int, itemsize: int, k: int = ATLAS_NEIGHBORS) -> int:
    """How many code-space neighbours per point the page stores: all ``k`` while they fit
    NEIGHBOR_BYTES, fewer (at least MIN_NEIGHBORS) above, so a million rows stay in budget."""
    fit = NEIGHBOR_BYTES // max(1, n_rows * itemsize)
    return int(max(min(k, MIN_NEIGHBORS), min(k, fit)))


def code_neighbors(graph_path: str, n_rows: int, k: int = ATLAS_NEIGHBORS) -> np.ndarray:
    """Each map row's nearest train rows in the codes (the shared kNN graph: train rows without
    themselves, test rows' train neighbours), (n_rows, k): uint16 when the map has fewer than
    65,536 train rows (half the bytes), else int32; fewer per point on large maps
    (neighbor_count)."""
    from .neighbors import load

    g = load(graph_path)
    n_train = len(g["train_ind"])
    dtype = np.uint16 if n_train < 2**16 else np.int32
    k = neighbor_count(n_rows, np.dtype(dtype).itemsize, k)
    k = max(0, min(k, g["train_ind"].shape[1] - 1, g["test_ind"].shape[1]))
    if len(g["train_ind"]) + len(g["test_ind"]) != n_rows:
        raise AtlasError(
            f"{graph_path}: {len(g['train_ind']) + len(g['test_ind'])} points, the maps "
            f"{n_rows}; rerun neighbors and project (they come from different runs)"
        )
    ind = np.concatenate([g["train_ind"][:, 1 : k + 1], g["test_ind"][:, :k]])
    return np.ascontiguousarray(ind, dtype=dtype)


def column(values: np.ndarray) -> dict:
    """One binary column for the page: little-endian bytes, deflated (zlib) and base64-encoded;
    the page inflates it with the browser's DecompressionStream into a typed array."""
    v = np.ascontiguousarray(values)
    dtype = {
        "uint8": "<u1",
        "uint16": "<u2",
        "int16": "<i2",
        "int32": "<i4",
        "uint32": "<u4",
        "float32": "<f4",
    }
    name = str(v.dtype)
    if name not in dtype:
        raise AtlasError(f"the atlas stores no {name} column (a bug: convert it first)")
    raw = v.astype(dtype[name], copy=False).tobytes()
    return {
        "dtype": name,
        "n": int(v.size),
        "data": base64.b64encode(zlib.compress(raw, 6)).decode(),
    }


def quantise(v: np.ndarray, where: str = "a map") -> tuple[np.ndarray, list[float]]:
    """Map coordinates as uint16 over their own [lo, hi] (lo + q (hi - lo) / QUANT gives them
    back to 1/65,535 of the map's extent: far below a pixel at any useful zoom)."""
    v = np.asarray(v, np.float64)
    bad = int((~np.isfinite(v)).sum())
    if bad:
        raise AtlasError(
            f"{where}: {bad} non-finite coordinates (NaN or infinite); rerun the project rule "
            "(snakemake --forcerun project)"
        )
    lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)
    span = hi - lo or 1.0
    q = np.rint((v - lo) / span * QUANT).astype(np.uint16)
    return q, [lo, lo + span]


def local_layers(
    local_paths: Mapping[str, str], n_rows: int
) -> tuple[dict[str, np.ndarray], list[dict]]:
    """The maps' per-point quality as colour layers: per measure, every map's values on one
    scale (so maps compare), quantised to 1..255 (0 = not computed) to keep the page small;
    the exact values stay in the maps' ``.local.parquet`` files."""
    from .maps import read_local

    tables = {m: read_local(p) for m, p in local_paths.items()}
    if not tables:
        return {}, []
    measures_ = list(next(iter(tables.values()))[1]["computed_on"])
    cols: dict[str, np.ndarray] = {}
    layers = []
    for key in measures_:
        values = {}
        for method, (table, _) in tables.items():
            if len(table) != n_rows or key not in table:
                raise AtlasError(
                    f"{local_paths[method]}: holds other points or measures than its map; "
                    "rerun local_quality (snakemake --forcerun local_quality)"
                )
            values[method] = table[key].to_numpy(np.float64)
        finite = np.concatenate([v[np.isfinite(v)] for v in values.values()])
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        span = hi - lo or 1.0
        for method, v in values.items():
            q = np.zeros(n_rows, np.uint8)
            ok = np.isfinite(v)
            q[ok] = 1 + np.rint(254 * (v[ok] - lo) / span).astype(np.uint8)
            cols[f"{method}__{key}"] = q
        on = next(iter(tables.values()))[1]["computed_on"][key]
        layers.append({"id": key, "lo": lo, "hi": hi, "computed_on": on})
    return cols, layers


def _code_layer(train_index: np.ndarray, values: np.ndarray, cols: Mapping) -> np.ndarray:
    """Per-point values of the graph's train points (0..1) on the map rows, quantised to
    1..255; 0 (grey) for the rows without a value (test points)."""
    index, train = cols["index"].astype(np.int64), cols["split"] == 0
    size = int(max(train_index.max(initial=-1), index.max(initial=-1))) + 1
    at = np.full(size, -1, np.int64)
    at[train_index] = np.arange(len(train_index))
    row_at = np.where(train, at[index], -1)
    q = np.zeros(len(index), np.uint8)
    ok = row_at >= 0
    q[ok] = 1 + np.rint(254 * np.clip(values[row_at[ok]], 0.0, 1.0)).astype(np.uint8)
    return q


def similarity_layers(
    points_path: str, key: str, cols: Mapping[str, np.ndarray]
) -> tuple[dict[str, np.ndarray], list[dict]]:
    """Each point's mutual k-NN overlap between this model's codes and another space's (the
    similarity rule's per-point values) as colour layers of the codes: one column for all the
    model's maps, 0..1 on one scale, 0 = not computed (test points). A layer against another
    model is offered when the atlas compares the two (``with``); against the pixels always."""
    from .similarity import PAIR, PIXELS

    dataset, model = key.split("/", 1)
    z = load_npz(points_path, ("train_index", "k"))
    k = int(z["k"])
    out, layers = {}, []
    for name, values in z.items():
        if PAIR not in name or model not in name.split(PAIR):
            continue
        a, b = name.split(PAIR)
        other = b if a == model else a
        layer = f"pair:{name}"
        out[f"codes__{layer}"] = _code_layer(z["train_index"], values, cols)
        shown = "the pixels" if other == PIXELS else other
        layers.append(
            {
                "id": layer,
                "title": f"mutual {k}-NN with {shown} (per point)",
                "lo": 0.0,
                "hi": 1.0,
                "computed_on": f"the codes' {k} nearest training points, in both spaces",
                "with": None if other == PIXELS else f"{dataset}/{other}",
                "scope": "codes",
            }
        )
    return out, layers


def stability_layers(
    stability: Mapping[str, str], key: str, cols: Mapping[str, np.ndarray]
) -> tuple[dict[str, np.ndarray], list[dict]]:
    """Each point's stability across training seeds (a seed sweep of this model: the mean over
    its replicas' pairs of the point's mutual k-NN) as colour layers of the codes, one per
    sweep and grid point; ``stability`` maps a sweep's name to its stability.npz."""
    dataset = key.split("/", 1)[0]
    out, layers = {}, []
    for sweep, path in stability.items():
        z = load_npz(path, ("k", "datasets", "points"))
        for i, (d, point) in enumerate(zip(z["datasets"], z["points"], strict=True)):
            if str(d) != dataset:
                continue
            layer = f"stability:{sweep}:{i}"
            out[f"codes__{layer}"] = _code_layer(z[f"train_index_{i}"], z[f"stability_{i}"], cols)
            layers.append(
                {
                    "id": layer,
                    "title": f"stability across training seeds (sweep {sweep}, {point})",
                    "lo": 0.0,
                    "hi": 1.0,
                    "computed_on": (
                        f"the codes' {int(z['k'])} nearest training points, averaged over "
                        "every pair of the sweep's replicas"
                    ),
                    "with": None,
                    "scope": "codes",
                }
            )
    return out, layers


def decoded_fields(
    field_paths: Mapping[str, str], layout: tuple[int, int, int]
) -> tuple[dict[str, dict], dict[str, str]]:
    """Each map's decoded field for the page: its grid (extent, cells per side, how the map was
    inverted) and its images as one PNG mosaic (cell (r, c) at row r, column c, top row first:
    the field as it lies over the map, so the page can also draw it whole under the points)."""
    from . import field

    h, w, c = layout
    grids, uris = {}, {}
    for method, path in field_paths.items():
        f = field.load(path)
        size = int(f["size"])
        images = f["images"]
        if images.shape != (size * size, h * w * c) or images.dtype != np.uint8:
            raise AtlasError(
                f"{path}: {images.shape} {images.dtype} images, not {size}x{size} cells of "
                f"{h}x{w}x{c} uint8 pixels; rerun decode_field (snakemake --forcerun decode_field)"
            )
        shaped = images.reshape((len(images), h, w) if c == 1 else (len(images), h, w, c))
        uris[method] = sprite_sheets(shaped, per_sheet=size * size, columns=size)[0]
        x0, x1, y0, y1 = (float(v) for v in f["extent"])
        grids[method] = {"extent": [x0, x1, y0, y1], "size": size, "how": str(f["how"])}
    return grids, uris


def points(
    maps: Mapping[str, pd.DataFrame], errors_train: np.ndarray, errors_test: np.ndarray
) -> dict[str, np.ndarray]:
    """One row per point, the columns of every map side by side (the linked-selection source)."""
    first_method, first = next(iter(maps.items()))
    for method, frame in maps.items():
        same = len(frame) == len(first) and (
            np.array_equal(frame["index"].to_numpy(), first["index"].to_numpy())
            and np.array_equal(frame["split"].astype(str), first["split"].astype(str))
        )
        if not same:
            raise AtlasError(
                f"map {method} holds other points than map {first_method}; rerun the project "
                "rule for both (snakemake --forcerun project)"
            )
    split = (first["split"].astype(str) == "test").to_numpy()
    index = first["index"].to_numpy().astype(np.int64)
    n_err = np.where(split, len(errors_test), len(errors_train))
    if (index < 0).any() or (index >= n_err).any():
        raise AtlasError(
            "the maps index points beyond latent.npz's reconstruction errors; rerun encode "
            "and project (they come from different runs)"
        )
    err = np.empty(len(index), np.float32)
    err[~split] = errors_train[index[~split]]
    err[split] = errors_test[index[split]]
    cols: dict[str, np.ndarray] = {
        "label": first["label"].to_numpy().astype(np.int32),
        "split": split.astype(np.int32),
        "index": index.astype(np.int32),
        "error": err.astype(np.float32),
    }
    for method, frame in maps.items():
        cols[f"{method}_x"] = frame["x"].to_numpy().astype(np.float32)
        cols[f"{method}_y"] = frame["y"].to_numpy().astype(np.float32)
    return cols


LABEL_COLUMNS = ("name", "kind", "x", "y", "points", "purity", "medoid")


def map_labels(path: str) -> list[dict]:
    """A map's class or cluster labels (``{method}.labels.csv``): where each sits on the map,
    its size and purity, and for a cluster the id of its medoid."""
    try:
        table = pd.read_csv(path, keep_default_na=False, dtype={"name": str, "medoid": str})
    except (OSError, ValueError) as err:
        raise AtlasError(
            f"{path}: not a readable labels table ({err}); rerun the map_labels rule"
        ) from err
    missing = [c for c in LABEL_COLUMNS if c not in table]
    if missing:
        raise AtlasError(
            f"{path}: lacks the columns {missing} (needs {list(LABEL_COLUMNS)}); rerun the "
            "map_labels rule (snakemake --forcerun map_labels)"
        )
    out = []
    for row in table.itertuples(index=False):
        try:
            x, y, n, purity = float(row.x), float(row.y), int(row.points), float(row.purity)
        except (TypeError, ValueError) as err:
            raise AtlasError(f"{path}: label {row.name!r} has a non-numeric field ({err})") from err
        if not (math.isfinite(x) and math.isfinite(y) and 0 <= purity <= 1):
            raise AtlasError(
                f"{path}: label {row.name!r} sits at ({x}, {y}) with purity {purity}; "
                "coordinates must be finite and purity within 0-1; rerun the map_labels rule"
            )
        if row.kind not in ("class", "cluster"):
            raise AtlasError(f"{path}: label {row.name!r} has kind {row.kind!r}, not class/cluster")
        item = {"name": str(row.name), "kind": row.kind, "x": x, "y": y, "points": n}
        out.append(item | {"purity": purity, "medoid": str(row.medoid)})
    return out


def _round(v: float) -> float:
    return float(f"{float(v):.5g}")


def map_contours(path: str) -> dict:
    """A map's density contours (``{method}.density.json``): per level, its paths of (x, y)
    points in map coordinates, rounded to 5 significant digits (far below a pixel)."""
    try:
        with open(path) as fh:
            doc = json.load(fh)
        contours = [
            {
                "level": float(c["level"]),
                "paths": [
                    [[float(f"{x:.5g}"), float(f"{y:.5g}")] for x, y in path_]
                    for path_ in c["paths"]
                ],
            }
            for c in doc["contours"]
        ]
        levels = [float(v) for v in doc.get("levels", [c["level"] for c in contours])]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise AtlasError(
            f"{path}: not a density file ({type(err).__name__}: {err}); expected "
            '{"levels": [...], "contours": [{"level": v, "paths": [[[x, y], ...], ...]}]}; '
            "rerun the map_labels rule (it writes the density too)"
        ) from err
    return {"levels": levels, "contours": contours}


def cluster_column(path: str, cols: Mapping[str, np.ndarray]) -> np.ndarray:
    """Each map row's cluster (-1: noise) from ``clusters.parquet``, checked to hold the maps'
    points in the maps' order."""
    try:
        table = pd.read_parquet(path, columns=["split", "index", "cluster"])
    except (OSError, ValueError, KeyError) as err:
        raise AtlasError(
            f"{path}: not a clusters table with split, index and cluster ({err}); rerun the "
            "clusters rule"
        ) from err
    split = (table["split"].astype(str) == "test").to_numpy()
    same = len(table) == len(cols["index"]) and (
        np.array_equal(split, cols["split"].astype(bool))
        and np.array_equal(table["index"].to_numpy(np.int64), cols["index"].astype(np.int64))
    )
    if not same:
        raise AtlasError(
            f"{path}: holds other points (or another order) than the maps; rerun the clusters "
            "rule (snakemake --forcerun clusters)"
        )
    return table["cluster"].to_numpy(np.int32)


def _per_method(files: Mapping, name: str, methods: Sequence[str], key: str) -> dict:
    given = files.get(name) or {}
    unknown = set(given) - set(methods)
    if unknown:
        raise AtlasError(f"{key}: {name} files of {sorted(unknown)}, which it has no map of")
    return given


def _error_q(error: np.ndarray, span: list[float] | None) -> np.ndarray:
    """The reconstruction error as a colour layer: 1..255 over its range, 0 = none (NaN)."""
    q = np.zeros(len(error), np.uint8)
    if span is None:
        return q
    ok = np.isfinite(error)
    width = (span[1] - span[0]) or 1.0
    q[ok] = 1 + np.rint(254 * (error[ok] - span[0]) / width).astype(np.uint8)
    return q


def build(pairs: Mapping[str, Mapping], out_html: str | os.PathLike[str]) -> dict:
    """Write the atlas of every dataset x model; return its size facts.

    ``pairs`` maps "dataset/model" to its files by name: ``data`` (data.npz), ``latent``
    (latent.npz), ``maps`` (method -> projections parquet) and, optionally, ``graph`` (the
    shared kNN graph: pinning a point then lights its code-space neighbours) and ``local``
    (method -> its per-point quality table: the colour layers), ``similarity`` (the
    dataset's similarity_points.npz: each point's mutual k-NN with the other spaces),
    ``stability`` (sweep -> its stability.npz, for the base model of a seed sweep),
    ``fields`` (method -> its decoded field: hover empty space to see what the model draws
    there), ``labels`` (method -> its labels.csv: class or cluster labels on the map),
    ``density`` (method -> its density.json: contour lines) and ``clusters`` (clusters.parquet:
    a cluster per point, shown on hover and exported), as the rule lists them. ``field_note``
    says why a pair without fields has none. A toggle the files are absent for is hidden.
    """
    import jinja2

    from .maps import read_map

    if not pairs:
        raise AtlasError("the atlas needs at least one dataset x model (study.models is empty?)")
    meta, sheets, image_notes, facts, field_uris = [], {}, {}, {"points": 0}, {}
    columns: dict[str, dict[str, dict]] = {}
    for key, files in pairs.items():
        dataset = key.split("/", 1)[0]
        data = load_npz(files["data"], ("x_train", "x_test", "image_shape", "class_names"))
        if not files["maps"]:
            raise AtlasError(f"{key}: no maps to show (study.methods is empty?)")
        maps = {m: read_map(p)[0] for m, p in files["maps"].items()}
        methods = list(maps)
        trained = files.get("history", "") is not None  # a vectors dataset's `none`: no model
        cols = points(maps, *reconstruction_errors(files["latent"], trained=trained))
        n = len(cols["label"])
        layer_cols, layers = local_layers(files.get("local") or {}, n)
        for extra in (
            similarity_layers(files["similarity"], key, cols) if files.get("similarity") else None,
            stability_layers(files["stability"], key, cols) if files.get("stability") else None,
        ):
            if extra:
                layer_cols.update(extra[0])
                layers += extra[1]
        names = [str(n_) for n_ in data["class_names"]]
        if cols["label"].size and cols["label"].max() >= len(names):
            raise AtlasError(f"{key}: a map has class {cols['label'].max()} beyond class_names")
        h, w, c = image_layout(data)
        n_images = len(data["x_train"]) + len(data["x_test"])
        if dataset not in sheets:
            if n_images * h * w * c <= IMAGE_PIXELS:
                sheets[dataset] = sprite_sheets(images_uint8(data))
            else:
                sheets[dataset] = []
                image_notes[dataset] = (
                    f"no images in this atlas: {n_images:,} images of {h}x{w}x{c} values are "
                    f"more than the {IMAGE_PIXELS:,} it keeps to stay one small file"
                )
        fields = _per_method(files, "fields", methods, key)
        grids, uris = decoded_fields(fields, (h, w, c))
        if uris:
            field_uris[key] = uris
        note = files.get("field_note") or (
            "the decoded field needs a model: this dataset's codes are its own vectors, "
            "with no decoder to draw them"
            if not trained
            else "no decoded field in this atlas (atlas.field_grid: 0)"
        )
        page: dict[str, dict] = {
            "label": column(cols["label"].astype(np.uint8 if len(names) <= 256 else np.uint16)),
            "split": column(cols["split"].astype(np.uint8)),
            "index": column(cols["index"].astype(np.int32)),
            "error": column(cols["error"].astype(np.float32)),
        }
        error_range = _finite_range(cols["error"])
        page["layer:error"] = column(_error_q(cols["error"], error_range))
        extents = {}
        for method in methods:
            qx, ex = quantise(cols[f"{method}_x"], files["maps"][method])
            qy, ey = quantise(cols[f"{method}_y"], files["maps"][method])
            page[f"{method}_x"], page[f"{method}_y"] = column(qx), column(qy)
            extents[method] = [*ex, *ey]
        for name, values in layer_cols.items():
            page[f"layer:{name}"] = column(values)
        k_nb = 0
        if files.get("graph"):
            nb = code_neighbors(files["graph"], n)
            k_nb = int(nb.shape[1])
            page["neighbors"] = column(nb.ravel())
        has_clusters = bool(files.get("clusters"))
        if has_clusters:
            page["cluster"] = column(cluster_column(files["clusters"], cols))
        labels = {m: map_labels(p) for m, p in _per_method(files, "labels", methods, key).items()}
        contours = {
            m: map_contours(p) for m, p in _per_method(files, "density", methods, key).items()
        }
        columns[key] = page
        meta.append(
            {
                "key": key,
                "dataset": dataset,
                "n": n,
                "methods": methods,
                "titles": [method_title(m) for m in methods],
                "extents": extents,
                "layers": layers,
                "fields": grids,
                "field_note": "" if grids else note,
                "error_range": error_range,
                "classes": names,
                "colors": [PALETTE[i % len(PALETTE)] for i in range(len(names))],
                "n_train": len(data["x_train"]),
                "image": {"h": h, "w": w, "c": c, "per_sheet": PER_SHEET, "cols": SHEET_COLUMNS},
                "image_note": image_notes.get(dataset, ""),
                "neighbors_k": k_nb,
                "clusters": has_clusters,
                "labels": labels,
                "contours": contours,
            }
        )
        facts["points"] += n
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    html = env.get_template("atlas.html.j2").render(
        scatter_js=(TEMPLATES / "vendor" / "regl-scatterplot.js").read_text(),
        pairs=[m["key"] for m in meta],
        meta=meta,
        columns=columns,
        sheets=sheets,
        fields=field_uris,
        atlas_js=(TEMPLATES / "atlas.js").read_text(),
    )
    with atomic_open(out_html, "w") as fh:
        fh.write(html)
    facts["bytes"] = len(html.encode())
    facts["sprite_bytes"] = sum(len(u) for s in sheets.values() for u in s)
    facts["field_bytes"] = sum(len(u) for f in field_uris.values() for u in f.values())
    facts["column_bytes"] = sum(len(c["data"]) for p in columns.values() for c in p.values())
    return facts


def main(pairs: Mapping[str, Mapping], out_html: str | os.PathLike[str]) -> None:
    """The atlas rule: build and log what went into the file."""
    import logging

    facts = build(pairs, out_html)
    logging.getLogger(__name__).info("atlas: %s", json.dumps(facts))
