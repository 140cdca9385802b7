"""The atlas's budgets: file size and time to interactive in headless Chromium, in one run.

Opens an atlas (default: results/report/atlas.html of the default study, all 70,000 MNIST
points; build it with `snakemake results/report/atlas.html`) from disk, offline, several
times in a fresh browser page each, and measures:

- size: the whole file and its parts (image sprite sheets, the points' binary columns, the
  inlined regl-scatterplot, the rest of the page);
- ready: from navigation start until every map of the shown model is drawn (its points on the
  screen, WebGL's frames done);
- first hover: from navigation start until hovering a point has shown its image and class
  (the page really answers, sprite sheet decoded);
- hover: once drawn, moving onto another point of another map until the point panel shows it;
- selection: a box around 1/25 of the first map until the selection panel is updated (every
  map repainted: the selection in colour, the rest in grey, checked), and the CSV of that
  selection built;
- pin: a point's code-space neighbours lit and counted in every map;
- density, contours, labels: each toggled on in every map (where the atlas has them);
- colour layer: switching every map to a per-point quality layer until the maps have redrawn;
- decoded field: hovering empty space until the field's image of the cell under the cursor
  is drawn.

Timed steps start from an idle page (WebGL caught up), so each times its own work. Each study
has its budgets (BUDGETS). `--study five-models`, `--study vectors` and `--study million` build
larger atlases into a scratch folder: five models' maps of MNIST (the default study's model
and maps under five model names: the same bytes and points a five-model study puts in the
page; run from a finished default study), a 300,000-row vectors table (a seeded 10-component
Gaussian mixture in 8-D; maps: PCA and two seeded random linear projections; the kNN graph as
the workflow builds it), and the same mixture at 1,000,000 rows with each map's labels, density
contours and a cluster per point.

    .venv/bin/python bench/atlas.py [--atlas PATH]
                                    [--study default|five-models|vectors|million]
                                    [--runs 3] [--chromium PATH] [--markdown PATH]

`--markdown PATH` also writes the results between the file's `bench:atlas-STUDY` markers.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import time
from pathlib import Path

import _markdown

# per study: file size (MB), ready and first hover (s), a hover, a pin, a colour layer (s)
BUDGETS = {
    "default": {"size": 23.5, "ready": 3.0, "hover": 0.3, "pin": 0.3, "layer": 1.0},
    "five-models": {"size": 60.0, "ready": 6.0, "hover": 0.3, "pin": 0.3, "layer": 1.0},
    "vectors": {"size": 60.0, "ready": 6.0, "hover": 0.3, "pin": 0.5, "layer": 1.0},
    "million": {"size": 120.0, "ready": 10.0, "hover": 0.3, "pin": 0.5, "layer": 1.0},
}
STUDY = Path("results/mnist/ae32")


def build_large(kind: str, out: Path) -> Path:
    """A larger atlas (see the module docstring), built with the workflow's own atlas code."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))
    from latent_atlas import atlas

    if kind == "five-models":
        methods = ("pca", "tsne", "umap")
        files = {
            "data": "results/mnist/data.npz",
            "latent": str(STUDY / "latent.npz"),
            "graph": str(STUDY / "neighbors.npz"),
            "maps": {m: str(STUDY / f"projections/{m}.parquet") for m in methods},
            "local": {m: str(STUDY / f"projections/{m}.local.parquet") for m in methods},
            "fields": {m: str(STUDY / f"projections/{m}.field.npz") for m in methods},
        }
        for f in [files["data"], files["latent"], *files["maps"].values()]:
            if not Path(f).is_file():
                raise SystemExit(f"{f}: not found; run the default study first (snakemake)")
        names = ("ae32", "deep", "conv", "vae", "aae")
        atlas.build({f"mnist/{n}": files for n in names}, out)
        return out
    n, n_test = (1_000_000, 100_000) if kind == "million" else (300_000, 30_000)
    atlas.build({"mixture/none": mixture(n, n_test, out.parent, overlays=kind == "million")}, out)
    return out


def mixture(n: int, n_test: int, root: Path, overlays: bool) -> dict:
    """A seeded 10-component Gaussian mixture in 8-D as a vectors dataset's files (maps: PCA and
    two seeded random linear projections; the kNN graph as the workflow builds it) and, with
    ``overlays``, each map's labels (every class at its median), density contours (of a
    64 x 64 histogram) and a cluster per point (its component; every 7th point noise)."""
    import contourpy
    import numpy as np
    import pandas as pd
    from latent_atlas import neighbors
    from latent_atlas.io import save_npz
    from latent_atlas.maps import write_map

    rng = np.random.default_rng(0)
    d, k = 8, 10
    centres = rng.normal(0, 5, (k, d))
    y = rng.integers(0, k, n).astype(np.uint8)
    x = (centres[y] + rng.normal(0, 1, (n, d))).astype(np.float32)
    x = (x - x.min()) / (x.max() - x.min())
    tr = slice(0, n - n_test)
    te = slice(n - n_test, n)
    data = {
        "x_train": x[tr],
        "x_test": x[te],
        "y_train": y[tr],
        "y_test": y[te],
        "image_shape": np.array([d]),
        "class_names": np.array([f"component {i}" for i in range(k)]),
    }
    save_npz(root / "data.npz", data)
    save_npz(root / "latent.npz", {"y_train": y[tr], "y_test": y[te]})
    latent = {"z_train": x[tr], "z_test": x[te], "y_train": y[tr], "y_test": y[te]}
    neighbors.build(
        latent,
        {"k": 16, "max_points": None, "seed": 0},
        os.cpu_count() or 1,
        root / "neighbors.npz",
    )
    from sklearn.decomposition import PCA

    projections = {"pca": PCA(2, random_state=0).fit(x[tr]).components_.T}
    for j in (1, 2):
        projections[f"random{j}"] = rng.normal(size=(d, 2))
    maps = {}
    split = pd.Categorical(["train"] * (n - n_test) + ["test"] * n_test, ["train", "test"])
    index = np.concatenate([np.arange(n - n_test), np.arange(n_test)])
    pair = {
        "data": str(root / "data.npz"),
        "latent": str(root / "latent.npz"),
        "maps": maps,
        "graph": str(root / "neighbors.npz"),
        "history": None,
    }
    labels, density = {}, {}
    for name, w in projections.items():
        xy = x @ w
        frame = pd.DataFrame(
            {"x": xy[:, 0], "y": xy[:, 1], "label": y, "split": split, "index": index}
        )
        maps[name] = str(root / f"{name}.parquet")
        write_map(frame, {"method": name}, maps[name])
        if not overlays:
            continue
        rows = [
            {
                "name": f"component {c}",
                "kind": "class",
                "x": float(np.median(xy[y == c, 0])),
                "y": float(np.median(xy[y == c, 1])),
                "points": int((y == c).sum()),
                "purity": 0.9,
                "medoid": "",
            }
            for c in range(k)
        ]
        labels[name] = str(root / f"{name}.labels.csv")
        pd.DataFrame(rows).to_csv(labels[name], index=False)
        hist, xe, ye = np.histogram2d(xy[:, 0], xy[:, 1], bins=64)
        gen = contourpy.contour_generator(
            (xe[:-1] + xe[1:]) / 2, (ye[:-1] + ye[1:]) / 2, hist.T, line_type="Separate"
        )
        levels = np.quantile(hist[hist > 0], [0.5, 0.75, 0.9, 0.97])
        contours = [
            {"level": float(v), "paths": [line.tolist() for line in gen.lines(v)]} for v in levels
        ]
        density[name] = str(root / f"{name}.density.json")
        Path(density[name]).write_text(
            json.dumps({"levels": [float(v) for v in levels], "contours": contours})
        )
    if overlays:
        cluster = y.astype(np.int32)
        cluster[::7] = -1
        pair["clusters"] = str(root / "clusters.parquet")
        pd.DataFrame({"split": split, "index": index, "cluster": cluster}).to_parquet(
            pair["clusters"]
        )
        pair |= {"labels": labels, "density": density}
    return pair


def parts(html: str) -> dict[str, float]:
    """Megabytes of the file by part."""

    def mb(text: str) -> float:
        return len(text.encode()) / 1e6

    sheets = sum(mb(m) for m in re.findall(r'(?s)id="sheets:[^"]*">(.*?)</script>', html))
    columns = sum(
        mb(m)
        for m in re.findall(
            r'(?s)<script type="application/octet-stream"[^>]*>(.*?)</script>', html
        )
    )
    head = html.split("</head>", 1)[0]
    library = sum(mb(m) for m in re.findall(r"(?s)<script[^>]*>(.*?)</script>", head))
    total = mb(html)
    return {
        "total": total,
        "sprite_sheets": sheets,
        "columns": columns,
        "library_js": library,
        "rest": total - sheets - library - columns,
    }


def _timed(page, call: str) -> float:
    """Seconds from running ``call`` (awaited if it returns a promise) to the second frame after:
    what the page needed to show its result."""
    return page.evaluate(
        f"""async () => {{ const t = performance.now();
        await ({call});
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        return (performance.now() - t) / 1000; }}"""
    )


def _idle(page) -> None:
    """Wait until the page draws frames quickly again (WebGL has caught up), so that the next
    measure times its own work only."""
    page.wait_for_function(
        """() => new Promise((done) => { const t = performance.now();
        requestAnimationFrame(() => requestAnimationFrame(() =>
          done(performance.now() - t < 100))); })""",
        timeout=60_000,
        polling=50,
    )


def _hover(page, x: float, y: float) -> float:
    """Seconds from moving the mouse onto (x, y) until the point panel shows what is there."""
    before = page.evaluate("document.getElementById('hover-img').dataset.row || ''")
    page.mouse.move(x - 3, y - 3)
    page.wait_for_timeout(50)
    t = time.perf_counter()
    page.mouse.move(x, y)
    page.wait_for_function(
        f"(document.getElementById('hover-img').dataset.row || '') !== {before!r}",
        timeout=30_000,
        polling=5,
    )
    return time.perf_counter() - t


def measure(browser, path: Path) -> dict[str, float]:
    """One fresh page: every measure of the module docstring."""
    page = browser.new_page(viewport={"width": 1800, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    t0 = time.perf_counter()
    page.goto(path.as_uri(), wait_until="commit")
    page.wait_for_function(
        "document.documentElement.dataset.atlasReady", timeout=180_000, polling=20
    )
    ready_ms = float(page.evaluate("document.documentElement.dataset.atlasReady"))
    key = page.eval_on_selector("#pair", "s => s.value")
    row = 12345
    m = page.evaluate(
        f"JSON.parse(document.getElementById('atlas-meta').textContent)"
        f".find((m) => m.key === {key!r})"
    )
    methods = m["methods"]
    last, first = methods[-1], methods[0]  # UMAP and PCA in the default study
    pos = page.evaluate(f"latentAtlas.pagePosition({key!r}, {last!r}, {row})")
    page.mouse.move(pos["x"] - 20, pos["y"] - 20)
    page.mouse.move(pos["x"], pos["y"], steps=2)
    page.wait_for_function(
        "document.getElementById('hover-img').dataset.row !== undefined",
        timeout=60_000,
        polling=10,
    )
    hover_ms = float(page.evaluate("performance.now()"))
    wall_hover = time.perf_counter() - t0
    # a hover once drawn: another point, in another map
    _idle(page)
    other = page.evaluate(f"latentAtlas.pagePosition({key!r}, {first!r}, {row * 3})")
    hover_s = _hover(page, other["x"], other["y"])
    box = page.evaluate(
        f"""() => {{ const b = latentAtlas.plot({key!r}, {first!r}).over.getBoundingClientRect();
        return {{x: b.left + b.width * 0.4, y: b.top + b.height * 0.4,
                 w: b.width * 0.2, h: b.height * 0.2}}; }}"""
    )
    page.mouse.move(box["x"], box["y"])
    t1 = time.perf_counter()
    page.mouse.down()
    page.mouse.move(box["x"] + box["w"], box["y"] + box["h"], steps=3)
    page.mouse.up()
    page.wait_for_function("document.getElementById('sel-count').textContent !== '0'", polling=10)
    selection_s = time.perf_counter() - t1
    n_selected = int(page.text_content("#sel-count"))
    grey = page.evaluate(f"latentAtlas.drawn({key!r}, {last!r})")
    if not (grey["grey"] and grey["points"] == m["n"] and grey["selected"] == n_selected):
        raise SystemExit(f"the selection does not keep the other points drawn in grey: {grey}")
    csv_s = _timed(page, f"latentAtlas.csv({key!r}).text().then((t) => window.csvBytes = t.length)")
    csv_mb = page.evaluate("window.csvBytes") / 1e6
    all_s = _timed(
        page,
        f"latentAtlas.csv({key!r}, Array.from({{length: {m['n']}}}, (_, i) => i)).text()"
        ".then((t) => window.csvBytes = t.length)",
    )
    all_mb = page.evaluate("window.csvBytes") / 1e6
    page.evaluate(f"latentAtlas.select({key!r}, [])")
    _idle(page)
    pin_s = _timed(page, f"latentAtlas.pin({key!r}, {row})")
    toggles = {}
    _idle(page)
    for what in ("density", "contours", "labels"):
        has = page.evaluate(
            f"!!latentAtlas.plot({key!r}, {first!r}).fig"
            f".querySelector('input[data-tool=\"{what}\"]')"
        )
        on = " ".join(f"latentAtlas.toggle({key!r}, {x!r}, {what!r}, true);" for x in methods)
        toggles[what] = _timed(page, f"(() => {{ {on} }})()") if has else float("nan")
        off = on.replace("true", "false")
        page.evaluate(f"() => {{ {off} }}")
    _idle(page)
    field_s = float("nan")
    if m["fields"]:
        method = next(iter(m["fields"]))
        f = m["fields"][method]
        e = f["extent"]
        dx, dy = (e[1] - e[0]) / f["size"] / 2, (e[3] - e[2]) / f["size"] / 2
        corner = page.evaluate(f"latentAtlas.pageAt({key!r}, {method!r}, {e[0] + dx}, {e[3] - dy})")
        page.mouse.move(corner["x"] + 4, corner["y"] + 4)
        t2 = time.perf_counter()
        page.mouse.move(corner["x"], corner["y"])
        page.wait_for_function(
            "(document.getElementById('field-img').dataset.cell || '').endsWith(':0:0')",
            polling=10,
        )
        field_s = time.perf_counter() - t2
    layers = page.eval_on_selector_all("#color-by option", "os => os.map((o) => o.value)")
    layer = next((x for x in layers if x not in ("class", "error")), None)
    layer_s = float("nan")
    if layer is not None:
        _idle(page)
        layer_s = _timed(page, f"latentAtlas.colorBy({key!r}, {layer!r})")
    page.close()
    if errors:
        raise SystemExit(f"page errors: {errors}")
    return {
        "ready_s": ready_ms / 1000,
        "first_hover_s": hover_ms / 1000,
        "first_hover_wall_s": wall_hover,
        "hover_s": hover_s,
        "selection_s": selection_s,
        "selected": n_selected,
        "csv_s": csv_s,
        "csv_mb": csv_mb,
        "csv_all_s": all_s,
        "csv_all_mb": all_mb,
        "pin_s": pin_s,
        "density_s": toggles["density"],
        "contours_s": toggles["contours"],
        "labels_s": toggles["labels"],
        "layer_s": layer_s,
        "field_s": field_s,
    }


def measures(selected: int, budgets: dict) -> list[tuple[str, str, int, float | None]]:
    """(label, key, digits, budget) of each timed measure, in the order shown."""
    return [
        ("ready: every map drawn (s)", "ready_s", 2, budgets["ready"]),
        ("first hover: image and class shown (s)", "first_hover_s", 2, budgets["ready"]),
        ("hover another point: panel updated (s)", "hover_s", 3, budgets["hover"]),
        ("pin a point: neighbours lit in every map (s)", "pin_s", 3, budgets["pin"]),
        (f"box selection of {selected} points: panel updated (s)", "selection_s", 2, None),
        ("CSV of that selection built (s)", "csv_s", 3, None),
        ("CSV of every row built (s)", "csv_all_s", 2, None),
        ("density image on, every map (s)", "density_s", 3, None),
        ("contours on, every map (s)", "contours_s", 3, None),
        ("labels on, every map (s)", "labels_s", 3, None),
        ("switch the colour layer: every map redrawn (s)", "layer_s", 3, budgets["layer"]),
        ("decoded field under the cursor: image drawn (s)", "field_s", 3, None),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--atlas", default="results/report/atlas.html")
    ap.add_argument("--study", choices=list(BUDGETS), default="default")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    ap.add_argument(
        "--markdown",
        metavar="PATH",
        help="also write the results between the bench:atlas-STUDY markers of this markdown file",
    )
    args = ap.parse_args()
    block_name = f"atlas-{args.study}"
    if args.markdown:
        try:  # a usage error before the benchmark starts
            _markdown.check_markers(args.markdown, block_name)
        except _markdown.MarkerError as err:
            ap.error(str(err))
    budgets = BUDGETS[args.study]
    if args.study != "default":
        import tempfile

        scratch = Path(tempfile.mkdtemp(prefix="atlas-bench-"))
        t = time.perf_counter()
        args.atlas = str(build_large(args.study, scratch / "atlas.html"))
        print(f"built {args.atlas} in {time.perf_counter() - t:.0f} s")
    path = Path(args.atlas).resolve()
    if not path.is_file():
        raise SystemExit(f"{path}: not found; build it with: snakemake results/report/atlas.html")
    from playwright.sync_api import sync_playwright

    size = parts(path.read_text())
    points = json.loads(re.search(r'(?s)id="atlas-meta">(.*?)</script>', path.read_text()).group(1))
    runs = []
    load_start = os.getloadavg()
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=args.chromium, args=["--headless", "--no-sandbox"]
        )
        for _ in range(args.runs):
            runs.append(measure(browser, path))
        browser.close()
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    load = (
        f"load average {load_start[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end, "
        f"on {os.cpu_count()} cores"
    )
    print(load)
    print(f"atlas: {path} ({', '.join(m['key'] for m in points)})")
    print(
        f"size: {size['total']:.1f} MB = sprite sheets {size['sprite_sheets']:.1f} + point "
        f"columns {size['columns']:.1f} + regl-scatterplot {size['library_js']:.1f} + page "
        f"{size['rest']:.1f}; budget {budgets['size']:g} MB -> "
        f"{size['total'] / budgets['size']:.2f} of budget"
    )
    for label, name, digits, budget in measures(int(med["selected"]), budgets):
        each = ", ".join(f"{r[name]:.{digits}f}" for r in runs)
        share = f"; budget {budget:g} -> {med[name] / budget:.2f} of budget" if budget else ""
        print(f"{label}: median {med[name]:.{digits}f} ({each}){share}")
    print(f"CSV of the selection: {med['csv_mb']:.1f} MB; of every row {med['csv_all_mb']:.1f} MB")
    if args.markdown:
        keys = [m["key"] for m in points]
        body = markdown_body(args.study, keys, size, runs, med, budgets, load)
        title = f"Atlas budgets: {args.study} study"
        _markdown.write_block(args.markdown, block_name, _markdown.block(title, body))


def markdown_body(
    study: str,
    keys: list[str],
    size: dict[str, float],
    runs: list[dict],
    med: dict,
    budgets: dict | None = None,
    load: str = "",
) -> list[str]:
    """The printed results as markdown: each budget, its median and every run's value."""
    budgets = budgets or BUDGETS[study]

    def row(label: str, name: str, digits: int, budget: float | None = None) -> list[str]:
        value = med[name]
        if value != value:  # NaN: not measured (e.g. a vectors atlas: no colour layer, no decoder)
            return [label, "not measured", "—", f"{budget:g}" if budget else "—", "—"]
        each = ", ".join(f"{r[name]:.{digits}f}" for r in runs)
        share = f"{value / budget:.2f}" if budget else "—"
        return [label, f"{value:.{digits}f}", each, f"{budget:g}" if budget else "—", share]

    total = size["total"]
    rows = [["file size (MB)", f"{total:.1f}", "—", f"{budgets['size']:g}"]]
    rows[0].append(f"{total / budgets['size']:.2f}")
    rows += [row(*m) for m in measures(int(med["selected"]), budgets)]
    header = ["measure", "median>", f"each of {len(runs)} runs", "budget>", "share of budget>"]
    return [
        f"The {study} study's atlas ({', '.join(keys)}), opened from disk in headless Chromium "
        f"(no GPU: WebGL runs on SwiftShader, on the CPU){'; ' + load if load else ''}.",
        _markdown.table(header, rows),
        f"File: {total:.1f} MB = sprite sheets {size['sprite_sheets']:.1f} + point columns "
        f"{size['columns']:.1f} + regl-scatterplot {size['library_js']:.1f} + page "
        f"{size['rest']:.1f}. CSV: the selection's {med['csv_mb']:.1f} MB, every row's "
        f"{med['csv_all_mb']:.1f} MB.",
    ]


if __name__ == "__main__":
    main()
