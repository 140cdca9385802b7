"""The README's atlas screenshots, taken from a built atlas with headless Chromium.

    .venv/bin/python docs/atlas_screenshots.py [--atlas results/report/atlas.html]

Writes docs/atlas-hover.png (a point hovered in the t-SNE map) and docs/atlas-selection.png
(a box around the 4s and 9s of the UMAP map, lit up in the PCA and t-SNE maps too, the other
points grey).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pandas as pd

DOCS = Path(__file__).parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--atlas", default="results/report/atlas.html")
    ap.add_argument("--row", type=int, default=1234, help="point to hover (row of the maps)")
    ap.add_argument("--classes", default="4,9", help="labels whose UMAP box to select")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    path = Path(args.atlas).resolve()
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium"), args=["--headless", "--no-sandbox"]
        )
        page = browser.new_page(viewport={"width": 1720, "height": 560})
        page.goto(path.as_uri())
        page.wait_for_function("document.documentElement.dataset.atlasReady", timeout=120_000)
        key = page.eval_on_selector("#pair", "s => s.value")
        pos = page.evaluate(f"latentAtlas.pagePosition({key!r}, 'tsne', {args.row})")
        page.mouse.move(pos["x"] - 10, pos["y"] - 10)
        page.mouse.move(pos["x"], pos["y"], steps=3)
        page.wait_for_function(
            f"document.getElementById('hover-img').dataset.row == '{args.row}'", timeout=60_000
        )
        page.wait_for_timeout(300)
        page.screenshot(path=DOCS / "atlas-hover.png")

        dataset, model = key.split("/")
        umap = pd.read_parquet(
            path.parents[2] / f"results/{dataset}/{model}/projections/umap.parquet"
        )
        labels = [int(c) for c in args.classes.split(",")]
        pts = umap[umap["label"].isin(labels)]
        x0, x1 = pts["x"].quantile([0.1, 0.9])
        y0, y1 = pts["y"].quantile([0.1, 0.9])
        corners = [
            page.evaluate(f"latentAtlas.pageAt({key!r}, 'umap', {x}, {y})")
            for x, y in ((x0, y1), (x1, y0))
        ]
        corners = [(c["x"], c["y"]) for c in corners]
        (ax, ay), (bx, by) = corners
        page.mouse.move(ax, ay)
        page.mouse.down()
        page.mouse.move(bx, by, steps=8)
        page.mouse.up()
        page.wait_for_function("document.getElementById('sel-count').textContent !== '0'")
        page.set_viewport_size({"width": 1720, "height": 900})  # room for the thumbnails
        page.wait_for_timeout(1500)  # thumbnails drawn
        page.screenshot(path=DOCS / "atlas-selection.png")
        browser.close()


if __name__ == "__main__":
    main()
