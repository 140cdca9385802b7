"""A study's own atlas, driven in headless Chromium: pin a point and find its code-space
neighbours lit in every map with the per-map count, switch to each colour layer, hover empty
space in each map for the decoded image, and link a selection between two models.

Runs on the tiny digits study (two models); ``LATENT_ATLAS_ATLAS=results/report/atlas.html``
runs it on another study's atlas, e.g. the default MNIST study's (one model: no linking).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow(reason="the tiny study (one workflow run, shared) in Chromium")


@pytest.fixture(scope="module")
def atlas_path(request) -> Path:
    given = os.environ.get("LATENT_ATLAS_ATLAS")
    if given:
        return Path(given).resolve()
    return request.getfixturevalue("tiny_study") / "results/report/atlas.html"


@pytest.fixture(scope="module")
def loaded(browser, atlas_path):
    """One page load for the module; ``page`` puts it back in its first state for each test."""
    page = browser.new_page(viewport={"width": 1800, "height": 1000})
    page.errors, page.requests = [], []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("request", lambda r: page.requests.append(r.url))
    page.goto(atlas_path.as_uri(), wait_until="load")
    page.wait_for_function("document.documentElement.dataset.atlasReady", timeout=60_000)
    yield page
    page.close()


@pytest.fixture
def page(loaded):
    """The loaded atlas with no second model compared, nothing pinned and class colours, so a
    test sees the same page whichever tests ran before it."""
    if loaded.is_enabled("#compare"):  # a one-model atlas has nothing to compare
        loaded.select_option("#compare", "")
    loaded.wait_for_function("(document.documentElement.dataset.compare || '') === ''")
    if loaded.evaluate("document.documentElement.dataset.pinned !== undefined"):
        loaded.click("#unpin")
    loaded.select_option("#color-by", "class")
    return loaded


def _meta(atlas_path: Path) -> list[dict]:
    html = atlas_path.read_text()
    return json.loads(re.search(r'(?s)id="atlas-meta">(.*?)</script>', html).group(1))


def _compare(page, atlas_path: Path) -> tuple[list[dict], str, str]:
    """Compare the atlas's first model with its second (skip a one-model atlas)."""
    metas = _meta(atlas_path)
    if len(metas) < 2:
        pytest.skip("a one-model atlas: nothing to compare")
    a, b = metas[0]["key"], metas[1]["key"]
    page.select_option("#compare", b)
    page.wait_for_function(f"document.documentElement.dataset.compare == '{b}'")
    return metas, a, b


def test_pin_lights_code_neighbours_in_every_map_with_counts(page, atlas_path):
    m = _meta(atlas_path)[0]
    key = m["key"]
    row = 7
    page.evaluate(f"latentAtlas.pin({key!r}, {row})")
    page.wait_for_function(f"document.documentElement.dataset.pinned == '{key}:{row}:10'")
    code = page.evaluate(f"latentAtlas.codeNeighbors({key!r}, {row}, 10)")
    assert len(code) == 10 and row not in code
    for method in m["methods"]:
        assert page.evaluate(f"latentAtlas.drawn({key!r}, {method!r}).pinned") == 11, method
    counts = page.inner_text("#pin-maps").strip().splitlines()
    kept = page.evaluate(f"latentAtlas.kept({key!r}, {row}, 10)")
    assert [c.split("\t")[1] for c in counts] == [f"{kept[x]} of 10" for x in m["methods"]]
    page.click("#unpin")


def test_pin_while_comparing_counts_the_same_points_in_the_second_model(page, atlas_path):
    metas, a, b = _compare(page, atlas_path)
    page.evaluate(f"latentAtlas.pin({a!r}, 7)")
    page.wait_for_function(f"document.documentElement.dataset.pinned == '{a}:7:10'")
    lines = page.inner_text("#pin-maps").strip().splitlines()
    head = len(metas[0]["methods"]) + 1
    assert lines[0].strip() == a and lines[head].strip() == f"{b} (the same points)"
    assert len(lines) == head + 1 + len(metas[1]["methods"])
    assert all(re.fullmatch(r".+\t\d+ of \d+", x) for x in lines[1:head] + lines[head + 1 :])


def test_every_colour_layer_recolours_every_map(page, atlas_path):
    m = _meta(atlas_path)[0]
    key = m["key"]
    options = page.eval_on_selector_all("#color-by option", "os => os.map((o) => o.value)")
    assert options[:2] == ["class", "error"]
    assert {"trustworthiness", "continuity"} <= set(options)
    for layer in options:
        page.select_option("#color-by", layer)
        page.wait_for_function(f"document.documentElement.dataset.colorBy == '{key}:{layer}'")
        for method in m["methods"]:
            field = page.evaluate(f"latentAtlas.drawn({key!r}, {method!r}).field")
            codes = {x["id"] for x in m["layers"] if x.get("scope") == "codes"}
            own = f"codes__{layer}" if layer in codes else f"{method}__{layer}"
            want = {"class": "label", "error": "error"}.get(layer, own)
            assert field == want
    page.select_option("#color-by", "class")


def test_hovering_empty_space_in_each_map_shows_a_decoded_image(page, atlas_path):
    m = _meta(atlas_path)[0]
    key = m["key"]
    assert set(m["fields"]) == set(m["methods"])
    for method in m["methods"]:
        f = m["fields"][method]
        x0, x1, y0, y1 = f["extent"]
        x, y = x0 + (x1 - x0) * 0.5 / f["size"], y1 - (y1 - y0) * 0.5 / f["size"]  # a corner
        pos = page.evaluate(f"latentAtlas.pageAt({key!r}, {method!r}, {x}, {y})")
        page.mouse.move(pos["x"] + 12, pos["y"] + 12)
        page.mouse.move(pos["x"], pos["y"], steps=3)
        page.wait_for_function(
            f"document.getElementById('field-img').dataset.cell == '{key}:{method}:0:0'"
        )
        assert page.evaluate("document.getElementById('field-img').dataset.empty") == "true"
        pixels = np.array(
            page.evaluate(
                "Array.from(document.getElementById('field-img').getContext('2d')"
                ".getImageData(0, 0, 112, 112).data)"
            )
        )
        assert pixels[3::4].min() == 255 and pixels[0::4].std() > 0, method  # an image drawn


def test_a_selection_is_linked_to_a_second_model_by_point_index(page, atlas_path):
    _, a, b = _compare(page, atlas_path)
    page.evaluate(f"latentAtlas.select({a!r}, [0, 5, 9])")
    page.wait_for_function("document.getElementById('sel-count').textContent == '3'")
    same = page.evaluate(
        f"""() => {{ const da = latentAtlas.columns({a!r});
        const db = latentAtlas.columns({b!r});
        const key = (d, i) => d.split[i] + ':' + d.index[i];
        return [[0, 5, 9].map((i) => key(da, i)).sort(),
                latentAtlas.selection({b!r}).map((i) => key(db, i)).sort()]; }}"""
    )
    assert same[0] == same[1]
    assert page.errors == []
    assert all(u.startswith(("file://", "data:", "blob:")) for u in page.requests), page.requests


def test_comparing_offers_each_points_mutual_knn_and_pin_counts_shared_neighbours(page, atlas_path):
    """The similarity rule's per-point mutual k-NN: against the pixels always, against the
    compared model while comparing (both models coloured by it); a pinned point's shared code
    neighbours in the two models are its mutual k-NN count."""
    metas = _meta(atlas_path)
    if len(metas) < 2:
        pytest.skip("a one-model atlas: nothing to compare")
    a, b = metas[0]["key"], metas[1]["key"]
    pair = f"pair:{a.split('/')[1]}~{b.split('/')[1]}"
    options = page.eval_on_selector_all("#color-by option", "os => os.map((o) => o.value)")
    assert f"pair:pixels~{a.split('/')[1]}" in options and pair not in options
    page.select_option("#compare", b)
    page.wait_for_function(f"document.documentElement.dataset.compare == '{b}'")
    page.select_option("#color-by", pair)
    page.wait_for_function(f"document.documentElement.dataset.colorBy == '{a}:{pair}'")
    for key, m in ((a, metas[0]), (b, metas[1])):
        for method in m["methods"]:
            field = page.evaluate(f"latentAtlas.drawn({key!r}, {method!r}).field")
            assert field == f"codes__{pair}", (key, method)
    q = np.array(page.evaluate(f"Array.from(latentAtlas.columns({a!r}).layer['codes__{pair}'])"))
    split = np.array(page.evaluate(f"Array.from(latentAtlas.columns({a!r}).split)"))
    assert (q[split == 1] == 0).all() and (q[split == 0] > 0).all()  # train points only
    table = atlas_path.parents[1] / metas[0]["dataset"] / "similarity.csv"
    if table.is_file():
        import pandas as pd

        s = pd.read_csv(table).set_index(["a", "b", "measure"])
        raw = s.loc[(a.split("/")[1], b.split("/")[1], "mutual_knn"), "raw"]
        assert ((q[split == 0] - 1) / 254).mean() == pytest.approx(raw, abs=2 / 254)
    row = int(np.flatnonzero(split == 0)[3])
    page.evaluate(f"latentAtlas.pin({a!r}, {row})")
    page.wait_for_function(f"document.documentElement.dataset.pinned == '{a}:{row}:10'")
    shared = int(page.get_attribute("#pin-shared", "data-shared"))
    assert shared == round((q[row] - 1) / 254 * 10)  # k = 10: the rule's count for this point
    assert f"{shared} shared" in page.inner_text("#pin-shared")
