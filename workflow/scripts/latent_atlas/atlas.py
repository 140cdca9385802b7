"""The interactive atlas: one offline HTML file to explore every point of every map.

Bokeh draws the maps (HTML canvas or WebGL; its JavaScript inlined, so the file opens from a USB
stick): one shared ``ColumnDataSource`` per dataset x model links the selection across its maps.
Bokeh has no way to show an image per point from a compact store, nor a selection panel,
search, CSV export, or a legend that hides a class from several maps without one renderer per
class (slow at 70,000 points), so a small script of our own (``templates/atlas.js``) does
those. The images are stored once per dataset as PNG sprite sheets (data: URIs, decoded only
when a point of that sheet is shown).
"""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import AtlasError
from .io import atomic_open, load_npz
from .methods import title as method_title

ATLAS_NEIGHBORS = 15  # code-space neighbours per point stored in the page (pin a point)
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


def code_neighbors(graph_path: str, n_rows: int, k: int = ATLAS_NEIGHBORS) -> dict:
    """Each map row's nearest train rows in the codes (the shared kNN graph: train rows without
    themselves, test rows' train neighbours), as a base64 little-endian array for the page:
    uint16 when the map has fewer than 65,536 train rows (half the bytes), else int32."""
    from .neighbors import load

    g = load(graph_path)
    k = max(0, min(k, g["train_ind"].shape[1] - 1, g["test_ind"].shape[1]))
    ind = np.concatenate([g["train_ind"][:, 1 : k + 1], g["test_ind"][:, :k]])
    if len(ind) != n_rows:
        raise AtlasError(
            f"{graph_path}: {len(ind)} points, the maps {n_rows}; rerun neighbors and project "
            "(they come from different runs)"
        )
    n_train = len(g["train_ind"])
    dtype = "<u2" if n_train < 2**16 else "<i4"
    raw = np.ascontiguousarray(ind, dtype=dtype).tobytes()
    return {
        "k": int(k),
        "dtype": "uint16" if dtype == "<u2" else "int32",
        "data": base64.b64encode(raw).decode(),
    }


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


def pair_layout(
    key: str,
    cols: Mapping[str, np.ndarray],
    methods: Sequence[str],
    names: Sequence[str],
    backend: str = "canvas",
) -> Any:
    """The maps of one dataset x model side by side: one renderer per map, all on one source
    (selection in one map lights up the same rows in the others) and one shared row filter
    (the page's legend hides a class from every map by changing it).

    One renderer per map, not per class: Bokeh's start-up and selection cost grow with the
    number of renderers (30 per-class renderers took 3x longer to draw 70,000 points).
    """
    from bokeh.layouts import row
    from bokeh.models import (
        CDSView,
        ColumnDataSource,
        CustomJS,
        HoverTool,
        IndexFilter,
        LinearColorMapper,
    )
    from bokeh.plotting import figure

    source = ColumnDataSource(data=dict(cols), name=f"points:{key}")
    n = len(cols["label"])
    shown = IndexFilter(np.arange(n, dtype=np.int32), name=f"shown:{key}")
    colors = LinearColorMapper(
        palette=[PALETTE[i % len(PALETTE)] for i in range(max(len(names), 1))],
        low=-0.5,
        high=len(names) - 0.5,
    )
    from bokeh.palettes import Viridis256

    # colour layers (the page's "colour by"): quantised quality 1..255, 0 = not computed
    layer_colors = LinearColorMapper(
        palette=Viridis256, low=1, high=255, low_color="#d9d9d9", name=f"layer:{key}"
    )
    low, high = _finite_range(cols["error"]) or (0.0, 1.0)
    error_colors = LinearColorMapper(
        palette=Viridis256, low=low, high=high, nan_color="#d9d9d9", name=f"error:{key}"
    )
    size = 2.5 if n > 20_000 else 5
    # a pinned point and its code-space neighbours: a few rows of their own, drawn on Bokeh's
    # overlay level, so that pinning repaints them alone, not the 70,000 points of every map
    pin_cols: dict[str, list] = {"size": [], "color": []}
    for method in methods:
        pin_cols[f"{method}_x"] = []
        pin_cols[f"{method}_y"] = []
    pin_source = ColumnDataSource(data=pin_cols, name=f"pin:{key}")
    plots = []
    for method in methods:
        # the decoded field drawn whole under the points (the page's mosaic toggle): its image
        # is set by the page from the field's mosaic when first shown, so it is stored once
        mosaic = ColumnDataSource(
            data={"url": [], "x": [], "y": [], "w": [], "h": []}, name=f"mosaic:{key}:{method}"
        )
        p = figure(
            title=method_title(method),
            width=430,
            height=430,
            output_backend=backend,
            tools="pan,wheel_zoom,box_select,lasso_select,reset",
            active_drag="box_select",
            active_scroll="wheel_zoom",
            name=f"map:{key}:{method}",
        )
        p.toolbar.logo = None
        p.axis.visible = False
        p.grid.visible = False
        p.image_url(
            url="url",
            x="x",
            y="y",
            w="w",
            h="h",
            anchor="top_left",
            source=mosaic,
            global_alpha=0.35,
            level="underlay",
            visible=False,
            name=f"mosaic-image:{key}:{method}",
        )
        r = p.scatter(
            f"{method}_x",
            f"{method}_y",
            source=source,
            view=CDSView(filter=shown),
            size=size,
            fill_color={"field": "label", "transform": colors},
            line_color=None,
            fill_alpha=0.7,
            nonselection_fill_alpha=0.05,
            selection_fill_alpha=0.9,
            name=f"points:{key}:{method}",
        )
        p.scatter(
            f"{method}_x",
            f"{method}_y",
            source=pin_source,
            size="size",
            fill_color="color",
            line_color="black",
            line_width=1.2,
            level="overlay",  # its own canvas layer: repainting it leaves the points alone
            name=f"pin:{key}:{method}",
        )
        p.add_tools(
            HoverTool(
                tooltips=None,
                renderers=[r],
                callback=CustomJS(
                    args={"plot": p, "key": key, "method": method},
                    code="window.latentAtlas && latentAtlas.hover(key, method, plot, cb_data)",
                ),
            )
        )
        plots.append(p)
    source.selected.js_on_change(
        "indices",
        CustomJS(args={"key": key}, code="window.latentAtlas && latentAtlas.selected(key)"),
    )
    # the page's colour layers: referenced here so that they are in the document
    return row(*plots, name=f"pair:{key}", tags=[layer_colors, error_colors])


def build(
    pairs: Mapping[str, Mapping],
    out_html: str | os.PathLike[str],
    backend: str = "canvas",
) -> dict:
    """Write the atlas of every dataset x model; return its size facts.

    ``backend`` is Bokeh's ``output_backend``: "canvas" by default because headless Chromium
    without a GPU emulates WebGL on the CPU, where 3 x 70,000 points took 5.8 s to first draw
    against 1.2 s on a canvas (measured here); "webgl" pans faster where a GPU draws.

    ``pairs`` maps "dataset/model" to its files by name: ``data`` (data.npz), ``latent``
    (latent.npz), ``maps`` (method -> projections parquet) and, optionally, ``graph`` (the
    shared kNN graph: pinning a point then lights its code-space neighbours) and ``local``
    (method -> its per-point quality table: the colour layers), ``similarity`` (the
    dataset's similarity_points.npz: each point's mutual k-NN with the other spaces),
    ``stability`` (sweep -> its stability.npz, for the base model of a seed sweep) and
    ``fields`` (method -> its decoded field: hover empty space to see what the model draws
    there), as the rule lists them. ``field_note`` says why a pair without fields has none.
    """
    import jinja2
    from bokeh.embed import components
    from bokeh.resources import Resources

    from .maps import read_map

    if not pairs:
        raise AtlasError("the atlas needs at least one dataset x model (study.models is empty?)")
    layouts, meta, sheets, facts, nbrs, field_uris = {}, [], {}, {"points": 0}, {}, {}
    for key, files in pairs.items():
        dataset = key.split("/", 1)[0]
        data = load_npz(files["data"], ("x_train", "x_test", "image_shape", "class_names"))
        if not files["maps"]:
            raise AtlasError(f"{key}: no maps to show (study.methods is empty?)")
        maps = {m: read_map(p)[0] for m, p in files["maps"].items()}
        trained = files.get("history", "") is not None  # a vectors dataset's `none`: no model
        cols = points(maps, *reconstruction_errors(files["latent"], trained=trained))
        layer_cols, layers = local_layers(files.get("local") or {}, len(cols["label"]))
        cols.update(layer_cols)
        for extra in (
            similarity_layers(files["similarity"], key, cols) if files.get("similarity") else None,
            stability_layers(files["stability"], key, cols) if files.get("stability") else None,
        ):
            if extra:
                cols.update(extra[0])
                layers += extra[1]
        names = [str(n) for n in data["class_names"]]
        if cols["label"].size and cols["label"].max() >= len(names):
            raise AtlasError(f"{key}: a map has class {cols['label'].max()} beyond class_names")
        h, w, c = image_layout(data)
        if dataset not in sheets:
            sheets[dataset] = sprite_sheets(images_uint8(data))
        layouts[key] = pair_layout(key, cols, list(maps), names, backend)
        fields = files.get("fields") or {}
        unknown = set(fields) - set(maps)
        if unknown:
            raise AtlasError(f"{key}: decoded fields of {sorted(unknown)}, which it has no map of")
        grids, uris = decoded_fields(fields, (h, w, c))
        if uris:
            field_uris[key] = uris
        note = files.get("field_note") or (
            "the decoded field needs a model: this dataset's codes are its own vectors, "
            "with no decoder to draw them"
            if not trained
            else "no decoded field in this atlas (atlas.field_grid: 0)"
        )
        meta.append(
            {
                "key": key,
                "dataset": dataset,
                "methods": list(maps),
                "titles": [method_title(m) for m in maps],
                "layers": layers,
                "fields": grids,
                "field_note": "" if grids else note,
                "error_range": _finite_range(cols["error"]),
                "classes": names,
                "colors": [PALETTE[i % len(PALETTE)] for i in range(len(names))],
                "n_train": len(data["x_train"]),
                "image": {"h": h, "w": w, "c": c, "per_sheet": PER_SHEET, "cols": SHEET_COLUMNS},
            }
        )
        if files.get("graph"):
            nbrs[key] = code_neighbors(files["graph"], len(cols["label"]))
        facts["points"] += len(cols["label"])
    script, divs = components(layouts)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    html = env.get_template("atlas.html.j2").render(
        bokeh_js=Resources(
            mode="inline", components=["bokeh", "bokeh-gl"] if backend == "webgl" else ["bokeh"]
        ).render_js(),
        bokeh_script=script,
        pairs=[{"key": k, "div": divs[k]} for k in layouts],
        meta=meta,
        sheets=sheets,
        neighbors=nbrs,
        fields=field_uris,
        atlas_js=(TEMPLATES / "atlas.js").read_text(),
    )
    with atomic_open(out_html, "w") as fh:
        fh.write(html)
    facts["bytes"] = len(html.encode())
    facts["sprite_bytes"] = sum(len(u) for s in sheets.values() for u in s)
    facts["field_bytes"] = sum(len(u) for f in field_uris.values() for u in f.values())
    return facts


def main(pairs: Mapping[str, Mapping], out_html: str | os.PathLike[str]) -> None:
    """The atlas rule: build and log what went into the file."""
    import logging

    facts = build(pairs, out_html)
    logging.getLogger(__name__).info("atlas: %s", json.dumps(facts))
