"""The whole workflow on digits with a tiny config: report contents, a real browser, reruns."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import TINY_CONFIG as TINY
from conftest import snakemake

pytestmark = pytest.mark.slow(reason="reads the tiny study (one workflow run, shared)")


@pytest.fixture(scope="module")
def study(tiny_study: Path) -> Path:
    return tiny_study


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.attrs: list[tuple[str, str, str]] = []
        self.rows: list[str] = []
        self._in_metrics = False
        self._cell = 0
        self._row_first = ""

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            self.attrs.append((tag, k, v or ""))
        if tag == "table" and ("id", "metrics-table") in attrs:
            self._in_metrics = True
        if self._in_metrics and tag == "tr":
            self._cell = 0
        if self._in_metrics and tag == "td":
            self._cell += 1

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_metrics = False

    def handle_data(self, data):
        if self._in_metrics and self._cell == 1 and data.strip():
            self.rows.append(data.strip())


def test_report_is_self_contained_and_complete(study):
    from PIL import Image

    html = (study / "results/report/index.html").read_text()
    parser = _Collect()
    parser.feed(html)
    links = [(t, k, v) for t, k, v in parser.attrs if k in ("src", "href")]
    assert not [v for _, _, v in links if re.match(r"^(https?:)?//", v)], "external URL"
    imgs = [v for t, k, v in links if t == "img"]
    # comparison + (5 figures x 2 models: training, reconstructions, anomalies, generation,
    # generated samples) + (3 local-quality figures x 2 models) + 1 data figure + 1 similarity
    # matrix of the dataset's spaces + (3 maps beside their labels x 2 models)
    assert len(imgs) == 1 + 5 * 2 + 3 * 2 + 1 + 1 + 3 * 2
    for src in imgs:
        assert src.startswith("data:image/png;base64,")
        img = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        assert img.size[0] > 100 and img.size[1] > 50
    maps = [r for r in parser.rows if r.startswith("digits /")]
    methods = [r.rsplit(" / ", 1)[1] for r in maps]
    assert sorted(m for m in methods if m in ("pca", "tsne", "umap")) == sorted(
        ["pca", "tsne", "umap"] * 2
    )
    assert any(r.startswith("literature: tsne") for r in parser.rows)
    assert 'class="best"' in html
    for needle in ("git commit", "SHA-256", "tensorflow", "umap-learn", "peak RSS", "train"):
        assert needle in html
    summary = (study / "results/report/summary.json").read_text()
    assert '"provenance"' in summary and '"final_losses"' in summary
    wide = pd.read_csv(study / "results/report/metrics.csv")
    assert {"knn_acc_1", "knn_acc_5", "trustworthiness", "silhouette"} <= set(wide.columns)
    assert (study / "results/report/comparison.svg").stat().st_size > 1000
    assert 'id="uses-table"' in html


def test_every_model_has_its_uses_measured(study):
    tidy = pd.read_csv(study / "results/metrics.csv")
    uses = tidy[tidy["method"] == "uses"]
    names = {
        "compression_ratio",
        "reconstruction_bce",
        "anomaly_auc",
        "linear_probe_acc",
        "fewshot_probe_acc",
        "sample_classifier_score",
        "sample_classifier_score_real",
    }
    for model in ("ae32", "vae"):
        got = uses[uses["model"] == model].set_index("metric")["value"]
        assert set(got.index) == names, model
        assert got.notna().all(), model
        assert 0.0 <= got["anomaly_auc"] <= 1.0
        assert got["linear_probe_acc"] > 0.5  # 10 digit classes: chance is 0.1
        assert 1.0 <= got["sample_classifier_score"] <= 10.0
    assert (study / "results/digits/vae/holdout/model.keras").is_file()


def test_report_renders_in_headless_chromium(study):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    errors: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto((study / "results/report/index.html").as_uri(), wait_until="load")
        widths = page.eval_on_selector_all(
            "img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)"
        )
        browser.close()
    assert widths and all(w > 0 for w in widths), widths
    assert errors == []
    assert all(u.startswith(("file://", "data:")) for u in requests), requests


def test_workflow_writes_the_atlas_beside_the_report(study):
    html = (study / "results/report/atlas.html").read_text()
    meta = re.search(r'(?s)id="atlas-meta">(.*?)</script>', html).group(1)
    keys = [m["key"] for m in json.loads(meta)]
    assert keys == ["digits/ae32", "digits/vae"]
    assert html.count('id="sheets:digits"') == 1  # images stored once for both models
    for key in keys:  # each model's maps as binary columns
        assert f'data-key="{key}" data-name="umap_x" data-dtype="uint16"' in html
    assert (study / "benchmarks/atlas.tsv").is_file()
    assert '<a href="atlas.html">' in (study / "results/report/index.html").read_text()


def test_every_map_has_its_class_labels_and_contours_in_the_report(study):
    from latent_atlas import labels

    html = (study / "results/report/index.html").read_text()
    assert 'id="labels"' in html
    for model in ("ae32", "vae"):
        for method in ("pca", "tsne", "umap"):
            base = study / f"results/digits/{model}/projections/{method}"
            table = labels.read(f"{base}.labels.csv")
            assert table["name"].tolist() == [str(d) for d in range(10)]
            assert set(table["kind"]) == {"class"} and (table["medoid"] == "").all()
            assert table["points"].sum() == 1797
            assert ((table["purity"] > 0) & (table["purity"] <= 1)).all()
            density = json.loads(Path(f"{base}.density.json").read_text())
            assert len(density["levels"]) == 4 and all(c["paths"] for c in density["contours"])
            assert f"digits/{model} / {method}: classes" in html
            assert (study / f"benchmarks/digits/{model}/labels_{method}.tsv").is_file()
    assert not list(study.glob("results/digits/*/clusters.parquet"))  # labelled: no clusters


def test_snakemake_report_has_captions(snakemake_report: Path):
    html = snakemake_report.read_text()
    assert len(html) > 10_000
    for caption in ("anomaly-detection", "placed into the same map", "k-NN accuracy"):
        assert caption in html


def _planned(wd: Path, *args: str) -> set[tuple[str, str]]:
    """(rule, wildcards) of every job a dry run plans."""
    out = snakemake(wd, "-n", *args).stdout
    jobs, rule = set(), None
    for line in out.splitlines():
        m = re.match(r"^(?:local)?rule (\w+):", line)
        if m:
            rule = m.group(1)
            jobs.add((rule, ""))
        m = re.match(r"^\s+wildcards: (.*)$", line)
        if m and rule:
            jobs.discard((rule, ""))
            jobs.add((rule, m.group(1)))
    return jobs


def test_changing_a_umap_parameter_reruns_only_umap_downstream(study, tmp_path):
    assert _planned(study, "--configfile", "tiny.yaml") == set()  # up to date
    cfg = yaml.safe_load(TINY.read_text())
    cfg["methods"]["umap"]["min_dist"] = 0.4
    (tmp_path / "tiny-umap.yaml").write_text(yaml.safe_dump(cfg))  # the study stays as it is
    jobs = _planned(study, "--configfile", str(tmp_path / "tiny-umap.yaml"))
    rules = {r for r, _ in jobs}
    assert rules == {
        "project",
        "map_metrics",
        "plot_map",
        "local_quality",
        "plot_local",
        "map_labels",
        "field_codes",
        "decode_field",
        "model_metrics",
        "study_metrics",
        "plot_comparison",
        "report",
        "atlas",
        "all",
    }, jobs
    for rule in (
        "project",
        "map_metrics",
        "plot_map",
        "local_quality",
        "plot_local",
        "map_labels",
        "field_codes",
    ):
        assert {w for r, w in jobs if r == rule} == {
            "dataset=digits, model=ae32, method=umap",
            "dataset=digits, model=vae, method=umap",
        }


def test_codes_repeat_exactly_on_rerun(study: Path, tmp_path: Path):
    """Retrain and re-encode (in a copy: the shared study stays as it is) and get the very
    same codes."""
    wd = tmp_path / "wf"
    shutil.copytree(study, wd, symlinks=True)
    latent = wd / "results/digits/ae32/latent.npz"
    with np.load(latent, allow_pickle=False) as npz:
        before = {k: npz[k] for k in npz.files}
    snakemake(
        wd,
        "--configfile",
        "tiny.yaml",
        "--forcerun",
        "train",
        "--until",
        "encode",
        str(latent.relative_to(wd)),
    )
    with np.load(latent, allow_pickle=False) as npz:
        for k, v in before.items():
            np.testing.assert_array_equal(npz[k], v, err_msg=k)
