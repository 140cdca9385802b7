"""The atlas's budgets: file size and time to interactive in headless Chromium, in one run.

Opens an atlas (default: results/report/atlas.html of the default study, all 70,000 MNIST
points; build it with `snakemake results/report/atlas.html`) from disk, offline, several
times in a fresh browser page each, and measures:

- size: the whole file and its parts (image sprite sheets, Bokeh's inlined JavaScript, the rest:
  points of every map, page script), against the 25 MB budget;
- ready: from navigation start until every map of the shown model is drawn (Bokeh's views
  built and laid out), against the 3 s budget;
- first hover: from navigation start until hovering a point has shown its image and class
  (the page really answers, sprite sheet decoded), against the same 3 s budget;
- selection: a box around 1/25 of the PCA map until the selection panel is updated;
- pin: clicking a point until its code-space neighbours are lit and counted per map, against
  0.3 s;
- colour layer: switching every map to a per-point quality layer until the maps have redrawn,
  against 1 s.

- decoded field: hovering empty space until the field's image of the cell under the cursor
  is drawn.

`--study five-models` and `--study vectors` measure two larger atlases, built here into a
scratch folder from the default study's files, against 60 MB and 6 s: five models' maps of
MNIST (the default study's model and maps under five model names: the same bytes and points a
five-model study puts in the page) and a 300,000-row vectors table (a seeded 10-component
Gaussian mixture in 8-D; maps: PCA and two seeded random linear projections; exact kNN graph).

    .venv/bin/python bench/atlas.py [--atlas PATH] [--study default|five-models|vectors]
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

SIZE_BUDGET_MB = 25.0
TIME_BUDGET_S = 3.0
PIN_BUDGET_S = 0.3
LAYER_BUDGET_S = 1.0
LARGE_SIZE_BUDGET_MB = 60.0  # the five-model and 300,000-row atlases
LARGE_TIME_BUDGET_S = 6.0
STUDY = Path("results/mnist/ae32")


def build_large(kind: str, out: Path) -> Path:
    """A larger atlas (see the module docstring), built with the workflow's own atlas code."""
    import sys

    import numpy as np

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
    import pandas as pd
    from latent_atlas import neighbors
    from latent_atlas.io import save_npz
    from latent_atlas.maps import write_map

    rng = np.random.default_rng(0)
    n, n_test, d, k = 300_000, 30_000, 8, 10
    centres = rng.normal(0, 5, (k, d))
    y = rng.integers(0, k, n).astype(np.uint8)
    x = (centres[y] + rng.normal(0, 1, (n, d))).astype(np.float32)
    x = (x - x.min()) / (x.max() - x.min())
    tr = slice(0, n - n_test)
    te = slice(n - n_test, n)
    root = out.parent
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
    for name, w in projections.items():
        xy = x @ w
        frame = pd.DataFrame(
            {"x": xy[:, 0], "y": xy[:, 1], "label": y, "split": split, "index": index}
        )
        maps[name] = str(root / f"{name}.parquet")
        write_map(frame, {"method": name}, maps[name])
    pair = {
        "data": str(root / "data.npz"),
        "latent": str(root / "latent.npz"),
        "maps": maps,
        "graph": str(root / "neighbors.npz"),
        "history": None,
    }
    atlas.build({"mixture/none": pair}, out)
    return out


def parts(html: str) -> dict[str, float]:
    """Megabytes of the file by part."""

    def mb(text: str) -> float:
        return len(text.encode()) / 1e6

    sheets = sum(mb(m) for m in re.findall(r'(?s)id="sheets:[^"]*">(.*?)</script>', html))
    head = html.split("</head>", 1)[0]
    library = sum(mb(m) for m in re.findall(r"(?s)<script[^>]*>(.*?)</script>", head))
    total = mb(html)
    return {
        "total": total,
        "sprite_sheets": sheets,
        "bokeh_js": library,
        "rest": total - sheets - library,
    }


def measure(browser, path: Path) -> dict[str, float]:
    """One fresh page: ready, first hover and selection times."""
    page = browser.new_page(viewport={"width": 1800, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    t0 = time.perf_counter()
    page.goto(path.as_uri(), wait_until="commit")
    page.wait_for_function(
        "document.documentElement.dataset.atlasReady", timeout=120_000, polling=20
    )
    ready_ms = float(page.evaluate("document.documentElement.dataset.atlasReady"))
    key = page.eval_on_selector("#pair", "s => s.value")
    row = 12345
    methods = page.evaluate(
        f"JSON.parse(document.getElementById('atlas-meta').textContent)"
        f".find((m) => m.key === {key!r}).methods"
    )
    last, first = methods[-1], methods[0]  # UMAP and PCA in the default study
    pos = page.evaluate(f"latentAtlas.pagePosition({key!r}, {last!r}, {row})")
    page.mouse.move(pos["x"] - 20, pos["y"] - 20)
    page.mouse.move(pos["x"], pos["y"], steps=2)
    page.wait_for_function(
        "document.getElementById('hover-img').dataset.image !== undefined",
        timeout=60_000,
        polling=10,
    )
    hover_ms = float(page.evaluate("performance.now()"))
    wall_hover = time.perf_counter() - t0
    box = page.evaluate(
        f"""() => {{ const m = Bokeh.documents[0].get_model_by_name('map:{key}:{first}');
        const v = Bokeh.index.find_one(m);
        const b = v.canvas_view.el.getBoundingClientRect(), f = v.frame.bbox;
        return {{x: b.left + f.left + f.width * 0.4, y: b.top + f.top + f.height * 0.4,
                 w: f.width * 0.2, h: f.height * 0.2}}; }}"""
    )
    page.mouse.move(box["x"], box["y"])
    t1 = time.perf_counter()
    page.mouse.down()
    page.mouse.move(box["x"] + box["w"], box["y"] + box["h"], steps=3)
    page.mouse.up()
    page.wait_for_function("document.getElementById('sel-count').textContent !== '0'", polling=10)
    selection_s = time.perf_counter() - t1
    n_selected = int(page.text_content("#sel-count"))
    # pin: the page's own click handler on the hovered point; timed in the page up to the
    # next frame after the panel and selection are updated
    page.mouse.move(pos["x"] - 20, pos["y"] - 20)
    page.mouse.move(pos["x"], pos["y"], steps=2)
    page.wait_for_function(f"document.getElementById('hover-img').dataset.row == '{row}'")
    pin_s = page.evaluate(
        f"""() => new Promise((done) => {{ const t = performance.now();
        latentAtlas.pin({key!r}, {row});
        requestAnimationFrame(() => requestAnimationFrame(() =>
          done((performance.now() - t) / 1000))); }})"""
    )
    field_s = float("nan")
    if page.evaluate(
        f"Object.keys(JSON.parse(document.getElementById('atlas-meta')"
        f".textContent).find((m) => m.key === {key!r}).fields).length > 0"
    ):
        corner = page.evaluate(
            f"""() => {{ const m = JSON.parse(document.getElementById('atlas-meta').textContent)
              .find((x) => x.key === {key!r});
            const method = Object.keys(m.fields)[0], f = m.fields[method], e = f.extent;
            const dx = (e[1] - e[0]) / f.size / 2, dy = (e[3] - e[2]) / f.size / 2;
            return latentAtlas.pageAt({key!r}, method, e[0] + dx, e[3] - dy); }}"""
        )
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
        layer_s = page.evaluate(
            f"""() => new Promise((done) => {{ const t = performance.now();
            latentAtlas.colorBy({key!r}, {layer!r});  // Bokeh repaints in the next frame
            requestAnimationFrame(() => requestAnimationFrame(() =>
              done((performance.now() - t) / 1000))); }})"""
        )
    page.close()
    if errors:
        raise SystemExit(f"page errors: {errors}")
    return {
        "ready_s": ready_ms / 1000,
        "first_hover_s": hover_ms / 1000,
        "first_hover_wall_s": wall_hover,
        "selection_s": selection_s,
        "selected": n_selected,
        "pin_s": pin_s,
        "layer_s": layer_s,
        "field_s": field_s,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--atlas", default="results/report/atlas.html")
    ap.add_argument("--study", choices=["default", "five-models", "vectors"], default="default")
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
    size_budget, time_budget = SIZE_BUDGET_MB, TIME_BUDGET_S
    if args.study != "default":
        import tempfile

        scratch = Path(tempfile.mkdtemp(prefix="atlas-bench-"))
        args.atlas = str(build_large(args.study, scratch / "atlas.html"))
        size_budget, time_budget = LARGE_SIZE_BUDGET_MB, LARGE_TIME_BUDGET_S
    path = Path(args.atlas).resolve()
    if not path.is_file():
        raise SystemExit(f"{path}: not found; build it with: snakemake results/report/atlas.html")
    from playwright.sync_api import sync_playwright

    size = parts(path.read_text())
    points = json.loads(re.search(r'(?s)id="atlas-meta">(.*?)</script>', path.read_text()).group(1))
    runs = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=args.chromium, args=["--headless", "--no-sandbox"]
        )
        for _ in range(args.runs):
            runs.append(measure(browser, path))
        browser.close()
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"atlas: {path} ({', '.join(m['key'] for m in points)})")
    print(
        f"size: {size['total']:.1f} MB = sprite sheets {size['sprite_sheets']:.1f} + Bokeh JS "
        f"{size['bokeh_js']:.1f} + points and page {size['rest']:.1f}; "
        f"budget {size_budget:.0f} MB -> {size['total'] / size_budget:.2f} of budget"
    )
    for name in ("ready_s", "first_hover_s"):
        print(
            f"{name}: median {med[name]:.2f} s of {args.runs} runs "
            f"({', '.join(f'{r[name]:.2f}' for r in runs)}); "
            f"budget {time_budget:.0f} s -> {med[name] / time_budget:.2f} of budget"
        )
    print(
        f"box selection of {int(med['selected'])} points -> panel updated: "
        f"median {med['selection_s']:.2f} s"
    )
    print(
        f"pin a point (neighbours lit and counted in every map): median {med['pin_s']:.3f} s; "
        f"budget {PIN_BUDGET_S} s -> {med['pin_s'] / PIN_BUDGET_S:.2f} of budget"
    )
    print(
        f"switch the colour layer (every map redrawn): median {med['layer_s']:.3f} s; "
        f"budget {LAYER_BUDGET_S:.0f} s -> {med['layer_s'] / LAYER_BUDGET_S:.2f} of budget"
    )
    print(f"decoded field under the cursor (hover empty space): median {med['field_s']:.3f} s")
    if args.markdown:
        keys = [m["key"] for m in points]
        budgets = (size_budget, time_budget)
        body = markdown_body(args.study, keys, size, runs, med, budgets)
        title = f"Atlas budgets: {args.study} study"
        _markdown.write_block(args.markdown, block_name, _markdown.block(title, body))


def markdown_body(
    study: str,
    keys: list[str],
    size: dict[str, float],
    runs: list[dict],
    med: dict,
    budgets: tuple[float, float] = (SIZE_BUDGET_MB, TIME_BUDGET_S),
) -> list[str]:
    """The printed results as markdown: each budget, its median and every run's value."""

    def row(label: str, name: str, digits: int, budget: float | None = None) -> list[str]:
        value = med[name]
        if value != value:  # NaN: not measured (a vectors atlas: no colour layer, no decoder)
            return [label, "not measured", "—", f"{budget:g}" if budget else "—", "—"]
        each = ", ".join(f"{r[name]:.{digits}f}" for r in runs)
        share = f"{value / budget:.2f}" if budget else "—"
        return [label, f"{value:.{digits}f}", each, f"{budget:g}" if budget else "—", share]

    total = size["total"]
    selected = int(med["selected"])
    rows = [
        [
            "file size (MB)",
            f"{total:.1f}",
            "—",
            f"{budgets[0]:g}",
            f"{total / budgets[0]:.2f}",
        ],
        row("ready: every map drawn (s)", "ready_s", 2, budgets[1]),
        row("first hover: image and class shown (s)", "first_hover_s", 2, budgets[1]),
        row("pin a point: neighbours lit in every map (s)", "pin_s", 3, PIN_BUDGET_S),
        row("switch the colour layer: every map redrawn (s)", "layer_s", 3, LAYER_BUDGET_S),
        row(f"box selection of {selected} points: panel updated (s)", "selection_s", 2),
        row("decoded field under the cursor: image drawn (s)", "field_s", 3),
    ]
    header = ["measure", "median>", f"each of {len(runs)} runs", "budget>", "share of budget>"]
    return [
        f"The {study} study's atlas ({', '.join(keys)}), opened from disk in headless Chromium.",
        _markdown.table(header, rows),
        f"File: {total:.1f} MB = sprite sheets {size['sprite_sheets']:.1f} + Bokeh's JavaScript "
        f"{size['bokeh_js']:.1f} + points and page {size['rest']:.1f}.",
    ]


if __name__ == "__main__":
    main()
