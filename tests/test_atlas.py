"""The interactive atlas: its data (unit tests) and the page, driven in headless Chromium."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from atlas_inputs import write_inputs, write_overlays
from latent_atlas import atlas
from latent_atlas.errors import AtlasError
from latent_atlas.io import save_npz
from latent_atlas.maps import write_map

KEY = "syn/ae"


def _pairs(files: dict) -> dict:
    return {KEY: {k: files[k] for k in ("data", "latent", "maps")}}


def _decode(uri: str) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))


@pytest.mark.parametrize(
    ("shape", "channels", "expected"),
    [([28, 28], None, (28, 28, 1)), ([8, 8, 3], 3, (8, 8, 3)), ([8, 8, 3], None, (8, 8, 3))],
)
def test_image_layout_grey_or_colour(shape, channels, expected):
    data = {"image_shape": np.array(shape)}
    if channels is not None:
        data["channels"] = np.array(channels)
    assert atlas.image_layout(data) == expected


@pytest.mark.parametrize(
    ("shape", "channels", "needle"),
    [([8, 8, 3], 1, "disagrees"), ([8, 8, 4], None, "4 channels"), ([2, 2, 2, 2], None, "neither")],
)
def test_image_layout_refuses_bad_shapes(shape, channels, needle):
    data = {"image_shape": np.array(shape)}
    if channels is not None:
        data["channels"] = np.array(channels)
    with pytest.raises(AtlasError, match=needle):
        atlas.image_layout(data)


@pytest.mark.parametrize("c", [1, 3])
def test_sprite_sheets_hold_every_image_once_losslessly(c):
    rng = np.random.default_rng(1)
    shape = (70, 5, 6) if c == 1 else (70, 5, 6, 3)
    images = rng.integers(0, 256, shape, dtype=np.uint8)
    uris = atlas.sprite_sheets(images, per_sheet=32)
    assert len(uris) == 3  # 32 + 32 + 6
    for i in (0, 31, 32, 69):
        sheet = _decode(uris[i // 32])
        cell = i % 32
        r, col = divmod(cell, atlas.SHEET_COLUMNS)
        cell_pixels = sheet[r * 5 : (r + 1) * 5, col * 6 : (col + 1) * 6]
        np.testing.assert_array_equal(cell_pixels, images[i])


def test_points_align_maps_and_errors(tmp_path):
    files = write_inputs(tmp_path, n_train=30, n_test=10)
    maps = {m: pd.read_parquet(p) for m, p in files["maps"].items()}
    with np.load(files["latent"]) as lat:
        cols = atlas.points(maps, lat["recon_error_train"], lat["recon_error_test"])
    np.testing.assert_allclose(cols["error"], files["errors"])
    assert cols["split"].tolist() == [0] * 30 + [1] * 10
    assert {"pca_x", "tsne_y", "umap_x"} <= set(cols)


def test_points_refuse_maps_of_other_points(tmp_path):
    files = write_inputs(tmp_path, n_train=30, n_test=10)
    maps = {m: pd.read_parquet(p) for m, p in files["maps"].items()}
    maps["umap"] = maps["umap"].iloc[::-1].reset_index(drop=True)
    with pytest.raises(AtlasError, match="other points"):
        atlas.points(maps, np.zeros(30), np.zeros(10))
    with pytest.raises(AtlasError, match="rerun encode"):
        atlas.points({"pca": maps["pca"]}, np.zeros(5), np.zeros(10))


def _columns(html: str, key: str = KEY) -> dict[str, np.ndarray]:
    """The page's binary columns of one pair, decoded as the page does (base64, inflate)."""
    import zlib

    out = {}
    pattern = r'(?s)<script type="application/octet-stream" data-key="([^"]*)" data-name="([^"]*)"'
    pattern += r' data-dtype="([^"]*)" data-n="(\d+)">(.*?)</script>'
    for k, name, dtype, n, text in re.findall(pattern, html):
        if k == key:
            out[name] = np.frombuffer(zlib.decompress(base64.b64decode(text)), dtype)
            assert len(out[name]) == int(n)
    return out


def test_build_is_one_offline_file_and_stores_images_once(tmp_path):
    files = write_inputs(tmp_path, channels=3)
    out = tmp_path / "atlas.html"
    pairs = _pairs(files)
    pairs["syn/other"] = pairs[KEY]  # a second model of the same dataset
    facts = atlas.build(pairs, out)
    html = out.read_text()
    assert facts["bytes"] == len(html.encode()) and facts["points"] == 1000
    markup = re.sub(r"(?s)<script[^>]*>.*?</script>", "", html)  # the library's code names URLs
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", markup), "external resource"
    assert not re.search(r"<script[^>]*\bsrc=", html), "script loaded from a file or host"
    assert html.count('id="sheets:syn"') == 1  # one image store per dataset, not per model
    sheets = re.search(r'(?s)id="sheets:syn">(.*?)</script>', html).group(1)
    assert len(json.loads(sheets)) == 1  # 500 images: one sheet
    assert sheets.count("data:image/png;base64,") == 1
    assert "createScatterplot" in html  # regl-scatterplot, inlined


def test_build_stores_compact_binary_columns(tmp_path):
    """Coordinates as uint16 over each map's extent (within 1/65,535 of it), classes and splits
    as uint8: no per-point JSON."""
    files = write_inputs(tmp_path)
    atlas.build(_pairs(files), tmp_path / "atlas.html")
    html = (tmp_path / "atlas.html").read_text()
    cols = _columns(html)
    meta = json.loads(re.search(r'(?s)id="atlas-meta">(.*?)</script>', html).group(1))[0]
    assert cols["label"].dtype == np.uint8 and cols["split"].dtype == np.uint8
    np.testing.assert_array_equal(cols["label"], files["labels"])
    np.testing.assert_allclose(cols["error"], files["errors"])
    for method, path in files["maps"].items():
        f = pd.read_parquet(path)
        assert cols[f"{method}_x"].dtype == np.uint16
        x0, x1, y0, y1 = meta["extents"][method]
        x = x0 + cols[f"{method}_x"] * (x1 - x0) / 65535
        y = y0 + cols[f"{method}_y"] * (y1 - y0) / 65535
        np.testing.assert_allclose(x, f["x"], atol=(x1 - x0) / 65535)
        np.testing.assert_allclose(y, f["y"], atol=(y1 - y0) / 65535)
    assert '"x":' not in html.split('id="atlas-meta">', 1)[1].split("</script>", 1)[0]


def test_neighbours_and_images_stay_within_budget_at_scale(monkeypatch):
    assert atlas.neighbor_count(70_000, 2) == atlas.ATLAS_NEIGHBORS
    assert atlas.neighbor_count(1_000_000, 4) < atlas.ATLAS_NEIGHBORS
    assert atlas.neighbor_count(1_000_000, 4) * 4_000_000 <= atlas.NEIGHBOR_BYTES
    assert atlas.neighbor_count(50_000_000, 4) == atlas.MIN_NEIGHBORS


def test_vectors_too_many_to_keep_as_images_say_why(tmp_path, monkeypatch):
    files = write_inputs(tmp_path, n_train=20, n_test=5)
    monkeypatch.setattr(atlas, "IMAGE_PIXELS", 25 * 64 - 1)
    atlas.build(_pairs(files), tmp_path / "atlas.html")
    html = (tmp_path / "atlas.html").read_text()
    meta = json.loads(re.search(r'(?s)id="atlas-meta">(.*?)</script>', html).group(1))[0]
    assert "no images in this atlas: 25 images" in meta["image_note"]
    assert json.loads(re.search(r'(?s)id="sheets:syn">(.*?)</script>', html).group(1)) == []


def test_overlays_are_read_and_bad_ones_named(tmp_path):
    files = write_inputs(tmp_path)
    extra = write_overlays(tmp_path / "overlays", files["maps"])
    pairs = _pairs(files)
    pairs[KEY] |= {k: extra[k] for k in ("labels", "density", "clusters")}
    atlas.build(pairs, tmp_path / "atlas.html")
    html = (tmp_path / "atlas.html").read_text()
    np.testing.assert_array_equal(_columns(html)["cluster"], extra["cluster"])
    meta = json.loads(re.search(r'(?s)id="atlas-meta">(.*?)</script>', html).group(1))[0]
    assert meta["clusters"] and len(meta["labels"]["tsne"]) == 11
    assert meta["labels"]["tsne"][-1]["medoid"] == "train:7"
    assert meta["contours"]["pca"]["contours"][0]["paths"]
    bad = Path(extra["labels"]["pca"])
    bad.write_text("name,kind,x,y\nc0,class,0,0\n")
    with pytest.raises(AtlasError, match=r"pca\.labels\.csv: lacks the columns"):
        atlas.build(pairs, tmp_path / "atlas.html")
    pairs[KEY]["labels"] = {}
    Path(extra["density"]["umap"]).write_text('{"contours": [{"paths": 1}]}')
    with pytest.raises(AtlasError, match=r"umap\.density\.json: not a density file"):
        atlas.build(pairs, tmp_path / "atlas.html")
    pairs[KEY]["density"] = {}
    f = pd.read_parquet(extra["clusters"]).iloc[::-1]
    f.to_parquet(extra["clusters"])
    with pytest.raises(AtlasError, match=r"clusters\.parquet: holds other points"):
        atlas.build(pairs, tmp_path / "atlas.html")
    pairs[KEY]["clusters"] = None
    pairs[KEY]["labels"] = {"lle": extra["labels"]["pca"]}
    with pytest.raises(AtlasError, match="no map of"):
        atlas.build(pairs, tmp_path / "atlas.html")


def test_build_names_a_damaged_map(tmp_path):
    files = write_inputs(tmp_path, n_train=20, n_test=5)
    Path(files["maps"]["tsne"]).write_bytes(b"not parquet")
    with pytest.raises(AtlasError, match=r"tsne\.parquet"):
        atlas.build(_pairs(files), tmp_path / "atlas.html")
    assert not (tmp_path / "atlas.html").exists()


def test_build_names_a_map_with_non_finite_coordinates(tmp_path):
    files = write_inputs(tmp_path, n_train=20, n_test=5)
    frame = pd.read_parquet(files["maps"]["umap"])
    frame.loc[3, "y"] = np.nan
    write_map(frame, {}, files["maps"]["umap"])
    with pytest.raises(AtlasError, match=r"umap\.parquet: 1 non-finite coordinates"):
        atlas.build(_pairs(files), tmp_path / "atlas.html")


def test_build_refuses_labels_beyond_class_names(tmp_path):
    files = write_inputs(tmp_path, n_train=20, n_test=5, classes=4)
    frame = pd.read_parquet(files["maps"]["pca"])
    frame.loc[0, "label"] = 7
    write_map(frame, {}, files["maps"]["pca"])
    for m in ("tsne", "umap"):
        write_map(frame, {}, files["maps"][m])
    with pytest.raises(AtlasError, match="beyond class_names"):
        atlas.build(_pairs(files), tmp_path / "atlas.html")


# --- the page in a real browser --------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("atlas")
    files = write_inputs(root)
    pairs = _pairs(files)
    pairs[KEY]["graph"] = files["graph"] = _graph(files, root / "neighbors.npz")
    pairs[KEY]["local"] = files["local"] = _local(files, root)
    pairs[KEY]["fields"] = files["fields"] = _fields(files, root)
    other = write_inputs(root / "other", n_train=60, n_test=20, classes=3, channels=3)
    pairs["rgb/vae"] = {k: other[k] for k in ("data", "latent", "maps")}
    pairs[SECOND] = files["second"] = _second_model(files, root / "second")
    extra = files["overlays"] = write_overlays(root / "overlays", files["maps"])
    pairs[KEY] |= {k: extra[k] for k in ("labels", "density", "clusters")}
    atlas.build(pairs, root / "atlas.html")
    return root / "atlas.html", files, other


SECOND = "syn/vae"  # a second model of the same dataset: its maps hold the rows in another order
FIELD = 6  # cells per side of the synthetic decoded fields


def _fields(files: dict, root: Path) -> dict[str, str]:
    """Decoded fields whose cell (r, c) of map j is one grey level, 30 + 5 (r * 6 + c) + j."""
    from latent_atlas import field

    out = {}
    for j, (method, path) in enumerate(files["maps"].items()):
        f = pd.read_parquet(path)
        _, extent = field.grid(f[["x", "y"]].to_numpy(), FIELD)
        level = 30 + 5 * np.arange(FIELD * FIELD) + j
        arrays = {
            "images": np.repeat(level[:, None], 64, axis=1).astype(np.uint8),
            "extent": extent,
            "size": np.int64(FIELD),
            "how": np.array(f"synthetic {method}"),
            "method": np.array(method),
            "image_shape": np.array([8, 8]),
            "channels": np.int64(1),
        }
        out[method] = str(root / f"{method}.field.npz")
        save_npz(out[method], arrays)
    return out


def _second_model(files: dict, root: Path) -> dict:
    """The same points as KEY's maps (mirrored), in another row order: train rows reversed,
    then test rows reversed (a map holds its train rows first)."""
    root.mkdir()
    maps = {}
    for method, path in files["maps"].items():
        f = pd.read_parquet(path).iloc[_reverse(len(files["labels"]))].reset_index(drop=True)
        f["x"] = -f["x"]
        maps[method] = str(root / f"{method}.parquet")
        write_map(f, {"method": method}, maps[method])
    out = {"data": files["data"], "latent": files["latent"], "maps": maps}
    out["graph"] = _graph(out, root / "neighbors.npz")
    return out


def _reverse(n: int, n_train: int = 400) -> list[int]:
    """Row j of the second model's maps holds row _reverse(n)[j] of the first's (and back)."""
    return [*range(n_train - 1, -1, -1), *range(n - 1, n_train - 1, -1)]


def _graph(files: dict, out: Path) -> str:
    """A kNN graph whose "codes" are the PCA map's coordinates: in that map a pinned point keeps
    all its code neighbours."""
    from latent_atlas import neighbors

    xy = pd.read_parquet(files["maps"]["pca"])
    train = (xy["split"] == "train").to_numpy()
    codes = xy[["x", "y"]].to_numpy(np.float32)
    latent = {
        "z_train": codes[train],
        "z_test": codes[~train],
        "y_train": xy["label"].to_numpy()[train],
        "y_test": xy["label"].to_numpy()[~train],
    }
    neighbors.build(latent, {"k": 16, "max_points": None, "seed": 0}, 1, out)
    return str(out)


def _local(files: dict, root: Path) -> dict[str, str]:
    """Per-point quality tables with known values: train row r has r / 399 (x 0.5 in t-SNE)."""
    from latent_atlas.maps import write_local

    out = {}
    for j, (method, path) in enumerate(files["maps"].items()):
        f = pd.read_parquet(path)
        v = np.where(f["split"] == "train", np.arange(len(f)) / 399, np.nan)
        table = f[["split", "index"]].assign(
            trustworthiness=v * (0.5 if method == "tsne" else 1.0), knn_recall_10=v * 0 + j
        )
        out[method] = str(root / f"{method}.local.parquet")
        on = {"trustworthiness": "first 400 train points", "knn_recall_10": "all train points"}
        write_local(table, {"method": method, "computed_on": on}, out[method])
    return out


def test_local_layers_share_one_scale_and_mark_missing(tmp_path):
    files = write_inputs(tmp_path)
    cols, layers = atlas.local_layers(_local(files, tmp_path), 500)
    assert [layer["id"] for layer in layers] == ["trustworthiness", "knn_recall_10"]
    assert layers[0]["lo"] == 0.0 and layers[0]["hi"] == 1.0  # over all maps
    pca, tsne = cols["pca__trustworthiness"], cols["tsne__trustworthiness"]
    assert pca[0] == 1 and pca[399] == 255 and (pca[400:] == 0).all()  # 0 = not computed
    assert tsne[399] == 128  # half of pca's on the shared scale
    with pytest.raises(AtlasError, match="other points"):
        atlas.local_layers(_local(files, tmp_path), 499)


def _kept(files: dict, row: int, k: int) -> dict[str, int]:
    """Per map: how many of row's k graph neighbours are among its k nearest train points."""
    from latent_atlas import neighbors

    g = neighbors.load(files["graph"])
    code = set(g["train_ind"][row, 1 : k + 1] if row < 400 else g["test_ind"][row - 400, :k])
    out = {}
    for method, path in files["maps"].items():
        f = pd.read_parquet(path)
        xy, train = f[["x", "y"]].to_numpy(np.float64), (f["split"] == "train").to_numpy()
        d = ((xy - xy[row]) ** 2).sum(axis=1)
        d[~train] = np.inf
        d[row] = np.inf
        out[method] = len(code & set(np.argsort(d, kind="stable")[:k].tolist()))
    return out


def _open(browser, path: Path):
    page = browser.new_page(viewport={"width": 1800, "height": 800}, accept_downloads=True)
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_function("document.documentElement.dataset.atlasReady", timeout=60_000)
    return page, errors, requests


def _offline(requests: list[str]) -> bool:
    return all(u.startswith(("file://", "data:", "blob:")) for u in requests)


def _at(page, method: str, row: int, key: str = KEY) -> tuple[float, float]:
    pos = page.evaluate(f"latentAtlas.pagePosition({key!r}, {method!r}, {row})")
    return pos["x"], pos["y"]


def _isolated(path: str, rows) -> int:
    """Of these rows, the one farthest from any other point of the map: hovering it finds it
    even where the mouse lands half a pixel off."""
    xy = pd.read_parquet(path)[["x", "y"]].to_numpy(np.float64)
    d = ((xy[list(rows)][:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)
    d[np.arange(len(d)), list(rows)] = np.inf
    return int(list(rows)[int(np.argmax(d.min(axis=1)))])


def _hover(page, x: float, y: float, row: int) -> None:
    page.mouse.move(x - 30, y - 30)
    page.mouse.move(x, y, steps=4)
    page.wait_for_function(f"document.getElementById('hover-img').dataset.row == '{row}'")


def _box(page, method: str, rows, key: str = KEY) -> None:
    """Drag a box around these rows' points in one map."""
    xs, ys = zip(*(_at(page, method, int(i), key) for i in rows), strict=True)
    page.mouse.move(min(xs) - 6, min(ys) - 6)
    page.mouse.down()
    page.mouse.move(max(xs) + 6, max(ys) + 6, steps=6)
    page.mouse.up()


def _frames(page) -> None:
    """Two animation frames: what the page changed is painted (WebGL paints in the next)."""
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


def _pixel(page, method: str, row: int, key: str = KEY) -> list[int]:
    """The colour WebGL drew at a row's place in a map (its points canvas, RGBA)."""
    return page.evaluate(
        f"""() => {{ const p = latentAtlas.plot({key!r}, {method!r});
        const b = p.over.getBoundingClientRect(), c = p.points, s = c.width / b.width;
        const q = latentAtlas.pagePosition({key!r}, {method!r}, {row});
        const x = Math.round((q.x - b.left) * s), y = Math.round((q.y - b.top) * s);
        return Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data); }}"""
    )


def _drawn(page, method: str, key: str = KEY) -> dict:
    return page.evaluate(f"latentAtlas.drawn({key!r}, {method!r})")


def test_page_hover_select_hide_search_export(browser, built):
    path, files, _ = built
    page, errors, requests = _open(browser, path)
    n = len(files["labels"])

    # Hover a known point (a train point of class 3) in the t-SNE map: label, index, image.
    row = _isolated(files["maps"]["tsne"], [i for i in range(400) if files["labels"][i] == 3])
    x, y = _at(page, "tsne", row)
    _hover(page, x, y, row)
    assert page.text_content("#hover-class") == "c3"
    assert page.text_content("#hover-split") == "train"
    assert page.text_content("#hover-index") == str(row)
    assert page.text_content("#hover-error") == f"{files['errors'][row]:.4f}"
    np.testing.assert_allclose(_pixel(page, "tsne", row)[:3], [214, 39, 40], atol=3)  # c3
    cluster = files["overlays"]["cluster"][row]
    assert page.text_content("#hover-cluster") == ("noise" if cluster < 0 else str(cluster))
    page.wait_for_function(f"document.getElementById('hover-img').dataset.image == '{row}'")
    # The 112 px canvas shows the 8x8 image: the centre of each 14 px cell is that pixel.
    shown = np.array(
        page.evaluate(
            """() => { const c = document.getElementById('hover-img');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            const out = []; for (let r = 0; r < 8; r++) for (let k = 0; k < 8; k++)
              out.push(d[((r * 14 + 7) * c.width + k * 14 + 7) * 4]); return out; }"""
        )
    )
    expected = np.rint(files["images"][row] * 255)
    np.testing.assert_allclose(shown, expected, atol=1)

    # Box-select class 0's cluster in the PCA map: exactly its points light up in t-SNE, and
    # every other point stays drawn, in grey.
    cls0 = np.flatnonzero(files["labels"] == 0)
    _box(page, "pca", cls0)
    page.wait_for_function(f"document.getElementById('sel-count').textContent == '{len(cls0)}'")
    for method in ("pca", "tsne", "umap"):
        d = _drawn(page, method)
        assert (d["selected"], d["points"], d["grey"], d["visible"]) == (len(cls0), n, True, True)
    assert sorted(page.evaluate(f"latentAtlas.selection({KEY!r})")) == cls0.tolist()
    assert page.inner_text("#sel-classes").split() == ["c0", str(len(cls0))]
    # drawn: a selected point in its class's colour, an unselected one in grey, where the page
    # places them
    _frames(page)  # the repaint
    picked = _isolated(files["maps"]["tsne"], cls0[cls0 < 400])
    np.testing.assert_allclose(_pixel(page, "tsne", picked)[:3], [31, 119, 180], atol=3)
    np.testing.assert_allclose(_pixel(page, "tsne", row)[:3], [207, 207, 207], atol=3)
    assert page.locator("#sel-grid canvas").count() == len(cls0)

    # Export the selection as CSV: each map's x/y, the class, the cluster.
    with page.expect_download() as dl:
        page.click("#export")
    table = pd.read_csv(dl.value.path())
    assert len(table) == len(cls0) and set(table["class"].astype(str)) == {"c0"}
    assert table.columns.tolist() == [
        *("dataset", "model", "split", "index", "class", "cluster", "recon_error"),
        *("pca_x", "pca_y", "tsne_x", "tsne_y", "umap_x", "umap_y"),
    ]
    np.testing.assert_array_equal(table["cluster"], files["overlays"]["cluster"][cls0])
    f = pd.read_parquet(files["maps"]["umap"])
    np.testing.assert_allclose(table["umap_x"], f["x"].to_numpy()[cls0], atol=1e-3)
    page.click("#clear")
    page.wait_for_function("document.getElementById('sel-count').textContent == '0'")
    assert not _drawn(page, "tsne")["grey"]

    # A lasso (alt-drag) around class 0 in the t-SNE map selects the same points.
    xs, ys = zip(*(_at(page, "tsne", int(i)) for i in cls0), strict=True)
    x0, x1, y0, y1 = min(xs) - 6, max(xs) + 6, min(ys) - 6, max(ys) + 6
    page.keyboard.down("Alt")
    page.mouse.move(x0, y0)
    page.mouse.down()
    for x, y in ((x1, y0), (x1, y1), (x0, y1), (x0, y0 + 1)):
        page.mouse.move(x, y, steps=3)
    page.mouse.up()
    page.keyboard.up("Alt")
    page.wait_for_function(f"document.getElementById('sel-count').textContent == '{len(cls0)}'")
    assert sorted(page.evaluate(f"latentAtlas.selection({KEY!r})")) == cls0.tolist()
    page.click("#clear")

    # Hide class 3 from the legend: it leaves every map.
    other = _isolated(files["maps"]["umap"], [i for i in range(400) if files["labels"][i] == 5])
    _hover(page, *_at(page, "umap", other), other)
    page.click("#legend button[data-label='3']")
    page.wait_for_selector("#legend button.off[data-label='3']")
    n3 = int((files["labels"] == 3).sum())
    assert [_drawn(page, m)["points"] for m in ("pca", "tsne", "umap")] == [n - n3] * 3
    x, y = _at(page, "umap", row)  # the row is class 3: hovering it shows nothing now
    page.mouse.move(x, y)
    page.wait_for_timeout(300)
    assert page.evaluate("document.getElementById('hover-img').dataset.row") == str(other)

    # Search a test point by index: selected in every map, shown in the point panel.
    page.select_option("#search-split", "test")
    page.fill("#search-index", "7")
    page.click("#search button")
    page.wait_for_function("document.getElementById('sel-count').textContent == '1'")
    assert page.text_content("#hover-split") == "test"
    assert page.text_content("#hover-index") == "7"
    assert page.text_content("#hover-class") == "c7"

    assert errors == []
    assert _offline(requests), requests
    page.close()


def test_page_pins_a_point_and_lights_its_code_neighbours_in_every_map(browser, built):
    path, files, _ = built
    page, errors, requests = _open(browser, path)
    row = _isolated(files["maps"]["tsne"], [i for i in range(400) if files["labels"][i] == 7])
    x, y = _at(page, "tsne", row)
    _hover(page, x, y, row)
    page.mouse.click(x, y)  # a click, not a drag: pins the point under the cursor
    page.wait_for_function(f"document.documentElement.dataset.pinned == '{KEY}:{row}:10'")
    g = np.load(files["graph"])
    code = g["train_ind"][row, 1:11].tolist()
    assert page.evaluate(f"latentAtlas.pinnedRows({KEY!r})") == [row, *code]
    for method in ("pca", "tsne", "umap"):  # lit in every map
        assert _drawn(page, method)["pinned"] == 11
    assert page.evaluate(f"latentAtlas.selection({KEY!r})") == []  # the selection is untouched
    shown = dict(tuple(r.split("\t")) for r in page.inner_text("#pin-maps").strip().splitlines())
    want = _kept(files, row, 10)
    assert shown == {
        "PCA": f"{want['pca']} of 10",
        "t-SNE": f"{want['tsne']} of 10",
        "UMAP": f"{want['umap']} of 10",
    }
    assert want["pca"] == 10 and min(want.values()) < 10  # the counts tell the maps apart
    assert page.locator("#pin-grid canvas").count() == 11  # the point and its neighbours
    # k is chosen in the page, up to the graph's 15; a test point pins too
    page.fill("#pin-k", "5")
    page.dispatch_event("#pin-k", "change")
    page.wait_for_function(f"document.documentElement.dataset.pinned == '{KEY}:{row}:5'")
    assert page.locator("#pin-grid canvas").count() == 6
    page.evaluate(f"latentAtlas.pin({KEY!r}, 450)")
    want = _kept(files, 450, 5)
    assert page.inner_text("#pin-maps").split("\n")[0].endswith(f"{want['pca']} of 5")
    page.click("#unpin")
    page.wait_for_function("document.documentElement.dataset.pinned === undefined")
    assert page.locator("#pin-grid canvas").count() == 0
    assert _drawn(page, "pca")["pinned"] == 0
    # a drag is a box selection, not a pin
    page.mouse.move(x - 5, y - 5)
    page.mouse.down()
    page.mouse.move(x + 5, y + 5, steps=4)
    page.mouse.up()
    page.wait_for_timeout(200)
    assert page.evaluate("document.documentElement.dataset.pinned") is None
    assert errors == []
    assert _offline(requests), requests
    page.close()


def test_page_zooms_around_the_cursor_pans_and_resets(browser, built):
    page, errors, _ = _open(browser, built[0])
    a, b = 10, 13  # two points of different classes, far apart
    (ax, ay), (bx, by) = _at(page, "umap", a), _at(page, "umap", b)
    pca = _at(page, "pca", a)
    page.mouse.move(ax, ay)
    page.mouse.wheel(0, -400)  # zoom in around point a: it stays under the cursor
    page.wait_for_function(f"latentAtlas.pagePosition({KEY!r}, 'umap', {b}).x != {bx}")
    (ax2, ay2), (bx2, by2) = _at(page, "umap", a), _at(page, "umap", b)
    assert abs(ax2 - ax) < 1 and abs(ay2 - ay) < 1
    assert np.hypot(bx2 - ax2, by2 - ay2) > 1.5 * np.hypot(bx - ax, by - ay)
    page.keyboard.down("Shift")  # shift-drag pans by the drag
    page.mouse.move(ax, ay)
    page.mouse.down()
    page.mouse.move(ax + 40, ay + 25, steps=4)
    page.mouse.up()
    page.keyboard.up("Shift")
    x3, y3 = _at(page, "umap", a)
    assert abs(x3 - ax - 40) < 1 and abs(y3 - ay - 25) < 1
    assert page.text_content("#sel-count") == "0"  # a pan selects nothing
    page.click(f"#maps figure[data-key='{KEY}'][data-method='umap'] button")  # reset view
    x4, y4 = _at(page, "umap", a)
    assert abs(x4 - ax) < 1 and abs(y4 - ay) < 1
    assert _at(page, "pca", a) == pca  # the other maps keep their own view
    assert errors == []
    page.close()


def test_page_colours_by_class_error_and_each_maps_local_quality(browser, built):
    path, files, _ = built
    page, errors, requests = _open(browser, path)
    options = page.eval_on_selector_all("#color-by option", "os => os.map((o) => o.value)")
    assert options == ["class", "error", "trustworthiness", "knn_recall_10"]
    for layer in ("trustworthiness", "error", "knn_recall_10", "class"):
        page.select_option("#color-by", layer)
        page.wait_for_function(f"document.documentElement.dataset.colorBy == '{KEY}:{layer}'")
        for m in ("pca", "tsne", "umap"):
            d = _drawn(page, m)
            assert d["colorBy"] == layer, (layer, m)
            assert d["baseColors"] == (10 if layer == "class" else 257)  # classes or the ramp
        assert page.is_visible("#color-bar") is (layer != "class")
        if layer == "trustworthiness":
            assert page.text_content("#color-hi") == "1.00"
            assert "first 400 train points" in page.text_content("#color-note")
        if layer == "error":
            assert page.text_content("#color-hi") == f"{files['errors'].max():.3g}"
    page.select_option("#pair", "rgb/vae")  # a pair without quality tables: class and error
    assert page.eval_on_selector_all("#color-by option", "os => os.length") == 2
    assert errors == []
    assert _offline(requests), requests
    page.close()


def test_page_switches_dataset_and_model(browser, built):
    path, _, other = built
    page, errors, requests = _open(browser, path)
    page.select_option("#pair", "rgb/vae")
    assert page.is_hidden(f"#maps .pair[data-key='{KEY}']")
    assert page.is_visible("#maps .pair[data-key='rgb/vae']")
    page.wait_for_function("latentAtlas.pagePosition('rgb/vae', 'umap', 0).x > 0", timeout=30_000)
    page.wait_for_function("document.querySelectorAll('#legend button').length == 3")
    row = _isolated(other["maps"]["umap"], [61, 64, 67, 70])  # test points of class 1
    x, y = _at(page, "umap", row, "rgb/vae")
    _hover(page, x, y, row)
    assert page.text_content("#hover-split") == "test"
    assert page.text_content("#hover-class") == "c1"
    page.wait_for_function(f"document.getElementById('hover-img').dataset.image == '{row}'")
    # A colour image: the canvas's centre pixel of cell (7, 7) has the image's RGB.
    rgb = page.evaluate(
        """() => { const c = document.getElementById('hover-img');
        return Array.from(c.getContext('2d').getImageData(7 * 14 + 7, 7 * 14 + 7, 1, 1).data); }"""
    )
    expected = np.rint(other["images"][row].reshape(8, 8, 3)[7, 7] * 255)
    np.testing.assert_allclose(rgb[:3], expected, atol=1)
    assert page.is_hidden("#hover-cluster-row")  # no clusters for this pair
    assert errors == []
    assert _offline(requests), requests
    page.close()


def test_vectors_without_a_model_show_strips_and_no_error(tmp_path):
    """A vectors dataset's `none`: image_shape (d,) becomes a 1 x d strip, and with nothing
    reconstructed its errors are NaN (no model, so no recon_error arrays in latent.npz)."""
    files = write_inputs(tmp_path, n_train=20, n_test=5)
    with np.load(files["data"], allow_pickle=False) as npz:
        data = {k: npz[k] for k in npz.files}
    data["image_shape"] = np.array([64])
    data.pop("channels", None)
    save_npz(files["data"], data)
    save_npz(files["latent"], {"y_train": data["y_train"], "y_test": data["y_test"]})
    assert atlas.image_layout(data) == (1, 64, 1)
    train, test = atlas.reconstruction_errors(files["latent"], trained=False)
    assert np.isnan(train).all() and np.isnan(test).all() and len(train) == 20
    pairs = {"vec/none": {**_pairs(files)[KEY], "history": None}}
    facts = atlas.build(pairs, tmp_path / "atlas.html")
    assert facts["points"] == 25
    with pytest.raises(AtlasError, match="missing"):
        atlas.reconstruction_errors(files["latent"], trained=True)


def test_page_shows_the_decoded_field_under_the_cursor_and_as_a_mosaic(browser, built):
    from latent_atlas import field

    path, files, _ = built
    page, errors, requests = _open(browser, path)
    assert "synthetic pca" in page.text_content("#field-how")
    for j, method in enumerate(("pca", "tsne", "umap")):
        f = pd.read_parquet(files["maps"][method])
        _, (x0, x1, y0, y1) = field.grid(f[["x", "y"]].to_numpy(), FIELD)
        x, y = 0.1, -0.2  # the maps' empty middle: the clusters lie on a circle of radius 3
        c, r = int((x - x0) / (x1 - x0) * FIELD), int((y1 - y) / (y1 - y0) * FIELD)
        pos = page.evaluate(f"latentAtlas.pageAt({KEY!r}, {method!r}, {x}, {y})")
        page.mouse.move(pos["x"] - 15, pos["y"] - 15)
        page.mouse.move(pos["x"], pos["y"], steps=3)
        cell = f"{KEY}:{method}:{r}:{c}"
        page.wait_for_function(f"document.getElementById('field-img').dataset.cell == '{cell}'")
        assert page.evaluate("document.getElementById('field-img').dataset.empty") == "true"
        grey = page.evaluate(
            "Array.from(document.getElementById('field-img').getContext('2d')"
            ".getImageData(56, 56, 1, 1).data)"
        )
        assert grey[:3] == [30 + 5 * (r * FIELD + c) + j] * 3, (method, grey)
        assert "empty space" in page.text_content("#field-where")
    # the whole field under the points: an image per map, drawn below the points
    page.check("#mosaic")
    page.wait_for_function("document.documentElement.dataset.mosaic == 'true'")
    for method in ("pca", "tsne", "umap"):
        assert _drawn(page, method)["mosaic"]
    page.uncheck("#mosaic")
    page.wait_for_function("document.documentElement.dataset.mosaic == 'false'")
    assert not _drawn(page, "pca")["mosaic"]
    page.select_option("#pair", "rgb/vae")  # a pair without fields says so
    page.wait_for_function("document.querySelectorAll('#legend button').length == 3")
    assert page.is_visible("#field-none") and page.is_hidden("#field-on")
    assert "atlas.field_grid" in page.text_content("#field-none")
    assert errors == []
    assert _offline(requests), requests
    page.close()


def test_page_draws_density_contours_and_labels_per_map(browser, built):
    path, files, _ = built
    page, errors, requests = _open(browser, path)
    for method in ("pca", "tsne", "umap"):
        fig = f"#maps figure[data-key='{KEY}'][data-method='{method}']"
        page.check(f"{fig} input[data-tool='contours']")
        page.check(f"{fig} input[data-tool='labels']")
        d = _drawn(page, method)
        doc = json.loads(Path(files["overlays"]["density"][method]).read_text())
        assert d["contourPaths"] == sum(len(c["paths"]) for c in doc["contours"]) > 0
        assert len(d["labels"]) == 11 and d["labels"][0].startswith("c0 90%")
        assert "train:7" in d["labels"][-1]  # a cluster's medoid
        page.check(f"{fig} input[data-tool='density']")  # the counts as an image, no points
        assert not _drawn(page, method)["visible"]
        page.uncheck(f"{fig} input[data-tool='density']")
        assert _drawn(page, method)["visible"]
    page.select_option("#pair", "rgb/vae")  # without the files: no such toggles
    page.wait_for_function("document.querySelectorAll('#legend button').length == 3")
    tools = page.eval_on_selector_all(
        "#maps figure[data-key='rgb/vae'] input", "xs => xs.map((x) => x.dataset.tool)"
    )
    assert tools == ["density"] * 3
    assert errors == []
    assert _offline(requests), requests
    page.close()


def test_page_links_a_second_model_by_point_index(browser, built):
    path, files, _ = built
    page, errors, requests = _open(browser, path)
    options = page.eval_on_selector_all("#compare option", "os => os.map((o) => o.value)")
    assert options == ["", SECOND]  # only models of the same dataset
    page.select_option("#compare", SECOND)
    page.wait_for_function(f"document.documentElement.dataset.compare == '{SECOND}'")
    assert page.is_visible(f"#maps .pair[data-key='{SECOND}']")
    assert page.is_visible(f"#maps .pair[data-key='{KEY}']")
    n = len(files["labels"])
    reverse = _reverse(n)  # the second model's row of each point
    # a box around class 0 in the first model's PCA map selects those points in the second's
    cls0 = np.flatnonzero(files["labels"] == 0)
    _box(page, "pca", cls0)
    page.wait_for_function(f"document.getElementById('sel-count').textContent == '{len(cls0)}'")
    second = page.evaluate(f"latentAtlas.selection({SECOND!r})")
    assert second == sorted(reverse[i] for i in cls0)
    assert _drawn(page, "tsne", SECOND)["selected"] == len(cls0)
    # a selection made in the second model's maps comes back to the first by point index
    page.evaluate(f"latentAtlas.select({SECOND!r}, [{reverse[5]}])")
    page.wait_for_function("document.getElementById('sel-count').textContent == '1'")
    assert page.evaluate(f"latentAtlas.selection({KEY!r})") == [5]
    # pinning lights the same points in the second model's maps and counts them there too
    row = 57
    page.evaluate(f"latentAtlas.pin({KEY!r}, {row})")
    g = np.load(files["graph"])
    rows = [row, *g["train_ind"][row, 1:11].tolist()]
    assert page.evaluate(f"latentAtlas.pinnedRows({SECOND!r})") == [reverse[r] for r in rows]
    second_rows = page.locator(f"#pin-maps tr[data-key='{SECOND}']")
    assert second_rows.count() == 3
    # mirrored maps keep every neighbourhood: the same counts as the first model's maps
    want = _kept(files, row, 10)
    assert second_rows.nth(0).inner_text().split("\t")[1] == f"{want['pca']} of 10"
    # a click on a point of the second model pins it (and lights it in the first)
    mine = _isolated(files["maps"]["tsne"], [i for i in range(400) if files["labels"][i] == 3])
    x, y = _at(page, "tsne", reverse[mine], SECOND)
    _hover(page, x, y, reverse[mine])
    page.mouse.click(x, y)
    page.wait_for_function(
        f"document.documentElement.dataset.pinned == '{SECOND}:{reverse[mine]}:10'"
    )
    assert len(page.evaluate(f"latentAtlas.pinnedRows({KEY!r})")) == 11
    page.select_option("#compare", "")
    page.wait_for_function("document.documentElement.dataset.compare == ''")
    assert page.is_hidden(f"#maps .pair[data-key='{SECOND}']")
    assert errors == []
    assert _offline(requests), requests
    page.close()


def test_page_at_scale_draws_hovers_pins_toggles_selects_and_exports(browser, tmp_path):
    """A large atlas (200,000 rows): every map drawn, a hover and a pin answered, density,
    contours and labels toggled, a box selection that keeps the rest drawn in grey, and the
    CSV export of all its rows."""
    n_train, n_test = 180_000, 20_000
    files = write_inputs(tmp_path, n_train=n_train, n_test=n_test, images=False)
    extra = write_overlays(tmp_path / "overlays", files["maps"])
    pair = {k: files[k] for k in ("data", "latent", "maps")}
    pair |= {k: extra[k] for k in ("labels", "density", "clusters")}
    facts = atlas.build({KEY: pair}, tmp_path / "atlas.html")
    assert facts["points"] == n_train + n_test
    page, errors, requests = _open(browser, tmp_path / "atlas.html")
    n = n_train + n_test
    for method in ("pca", "tsne", "umap"):
        assert _drawn(page, method)["points"] == n
    row = 1234
    x, y = _at(page, "tsne", row)
    page.mouse.move(x - 30, y - 30)
    page.mouse.move(x, y, steps=2)
    page.wait_for_function("document.getElementById('hover-img').dataset.row !== undefined")
    hovered = int(page.evaluate("document.getElementById('hover-img').dataset.row"))
    assert page.text_content("#hover-index") == str(hovered)  # a row under the cursor
    page.evaluate(f"latentAtlas.pin({KEY!r}, {hovered})")
    assert _drawn(page, "umap")["pinned"] == 1  # no kNN graph here: the point alone
    for method in ("pca", "tsne", "umap"):
        for tool in ("density", "contours", "labels"):
            page.evaluate(f"latentAtlas.toggle({KEY!r}, {method!r}, {tool!r}, true)")
        d = _drawn(page, method)
        assert d["contourPaths"] > 0 and len(d["labels"]) == 11 and not d["visible"]
        page.evaluate(f"latentAtlas.toggle({KEY!r}, {method!r}, 'density', false)")
    # zooming a large map moves its density image, then draws its points in the new view
    x, y = _at(page, "umap", row)
    page.mouse.move(x, y)
    page.mouse.wheel(0, -300)
    page.wait_for_function(f"!latentAtlas.drawn({KEY!r}, 'umap').moving")
    d = _drawn(page, "umap")
    assert d["movingFrames"] > 0 and d["visible"]
    assert page.evaluate(f"latentAtlas.plot({KEY!r}, 'umap').sp.get('cameraView')[0]") > 1.5
    box = page.evaluate(f"latentAtlas.plot({KEY!r}, 'pca').over.getBoundingClientRect().toJSON()")
    page.mouse.move(box["left"] + 5, box["top"] + 5)
    page.mouse.down()
    page.mouse.move(box["left"] + box["width"] / 2, box["top"] + box["height"] - 5, steps=4)
    page.mouse.up()
    page.wait_for_function("document.getElementById('sel-count').textContent !== '0'")
    selected = int(page.text_content("#sel-count"))
    assert 0 < selected < n
    for method in ("pca", "tsne", "umap"):
        d = _drawn(page, method)
        assert (d["selected"], d["points"], d["grey"], d["visible"]) == (selected, n, True, True)
    with page.expect_download() as dl:
        page.click("#export")
    table = pd.read_csv(dl.value.path())
    assert len(table) == selected and table["cluster"].notna().all()
    assert sorted(table["index"].tolist()) == sorted(
        files["index"][page.evaluate(f"latentAtlas.selection({KEY!r})")].tolist()
    )
    assert errors == []
    assert _offline(requests), requests
    page.close()
