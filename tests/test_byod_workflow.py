"""Bring your own data, end to end: the study runs on each format by config alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from byod import FASHION, make_idx_gz, make_rgb_npz, make_vectors
from conftest import snakemake

NAMES = ("cat", "犬", "🐦 bird", "fish")


@pytest.mark.slow(reason="a study on three user data sets (one workflow run)")
def test_every_format_runs_the_study(workflow_dir: Path, tmp_path: Path):
    """A gz IDX folder (28x28, 10 classes, named in the config), an RGB 32x32 npz and 64-D
    Parquet vectors in one study: a conv model (it sees the images' shape and channels) and a
    dense one on the images, model `none` on the vectors. One method and no anomaly holdout keep
    it short: this test is about reading the formats, and about class names in any script: the
    vectors' (Han, emoji, Latin) are drawn in every figure with no missing glyph. (A PNG folder
    is read by the same reader in tests/test_datasets.py and tests/test_bad_data.py, and planned
    from the README's example.)"""
    data = tmp_path / "data"
    plain = make_vectors(data / "plain.parquet", n=300, dim=16, with_split=False)
    pd.read_parquet(plain).drop(columns="label").to_parquet(plain)  # no labels
    cfg = tmp_path / "mine.yaml"
    cfg.write_text(
        f"""
study: {{datasets: [fashion, rgb, emb, plain], models: [conv, ae], methods: [tsne]}}
datasets:
  fashion: {{format: idx, path: {make_idx_gz(data / "fashion", 300, 100)}, class_names: {FASHION}}}
  rgb: {{format: npz, path: {make_rgb_npz(data / "rgb.npz")}}}
  emb: {{format: vectors, path: {make_vectors(data / "emb.parquet", names=NAMES)}}}
  plain: {{format: vectors, path: {plain}}}
clusters: {{min_cluster_share: 0.05}}
models:
  conv: {{kind: conv, latent_dim: 8, hidden: [8, 16], epochs: 1, batch_size: 64, seed: 1}}
  ae: {{kind: dense, latent_dim: 8, hidden: [], epochs: 1, batch_size: 64, seed: 1}}
methods: {{tsne: {{perplexity: 5, n_iter: 250}}}}
encode: {{interpolate: [[0, 1]]}}
uses: {{anomaly: false}}
metrics: {{pixels_reference: true}}
"""
    )
    snakemake(workflow_dir, "--configfile", str(cfg), timeout=1500)
    res = workflow_dir / "results"
    for d in ("fashion", "rgb"):
        for model in ("conv", "ae"):
            assert (res / d / model / "metrics.csv").is_file()
            assert (res / d / model / "figures/tsne.png").is_file()
    # vectors: mapped as model `none`, never trained, whatever study.models says
    assert (res / "emb/none/metrics.csv").is_file()
    assert not (res / "emb/conv").exists() and not (res / "emb/ae").exists()
    with np.load(res / "rgb/data.npz") as npz:
        assert int(npz["channels"]) == 3 and npz["x_train"].shape[1] == 32 * 32 * 3
    with np.load(res / "rgb/conv/latent.npz") as z:  # the conv model saw 3 channels
        assert z["sample_reconstruction"].shape[1] == 32 * 32 * 3
    # the data figure of the RGB set is in colour, the grey sets' in grey
    from PIL import Image

    rgb = np.asarray(Image.open(res / "rgb/figures/samples.png").convert("RGB")).astype(int)
    grey = np.asarray(Image.open(res / "fashion/figures/samples.png").convert("RGB"))
    grey = grey.astype(int)
    assert np.abs(rgb[..., 0] - rgb[..., 2]).max() > 100
    assert np.abs(grey[..., 0] - grey[..., 2]).max() < 30
    html = (res / "report/index.html").read_text()
    for name in ("tshirt", "boot", "red", "blue", *NAMES):
        assert name in html  # every dataset's own class names
    logs = [p.read_text() for p in (workflow_dir / "logs").rglob("*.log")]
    assert any("emb" in text for text in logs)
    assert not [text for text in logs if "missing from font" in text or "no installed font" in text]
    for d in ("fashion", "rgb", "emb"):
        assert f"<td>{d}</td>" in html
    assert "32x32 RGB" in html and "64-D vectors" in html
    assert "emb/none" in html and "emb/none: training" not in html
    metrics = (res / "metrics.csv").read_text()
    assert "emb,none,tsne" in metrics
    # a table without labels: one class, its label-based measures not measured, its codes
    # clustered and its map labelled by cluster
    table = pd.read_csv(res / "metrics.csv")
    plain_rows = table[table["dataset"] == "plain"].set_index(["method", "metric"])["value"]
    for key in ("knn_acc_1", "knn_acc_5", "silhouette", "spearman_centroids"):
        assert np.isnan(plain_rows[("tsne", key)]), key
    assert np.isnan(plain_rows[("latent", "knn_acc_1")])
    assert 0.5 < plain_rows[("tsne", "trustworthiness")] <= 1
    assert (
        "not measured: no labels" in (workflow_dir / "logs/plain/none/metrics_tsne.log").read_text()
    )
    found = pd.read_parquet(res / "plain/none/clusters.parquet")
    assert list(found.columns) == ["split", "index", "cluster"] and len(found) == 300
    assert found["cluster"].max() >= 1  # make_vectors' four groups, some found
    labels = pd.read_csv(res / "plain/none/projections/tsne.labels.csv", keep_default_na=False)
    assert (
        set(labels["kind"]) == {"cluster"}
        and labels["medoid"].str.match(r"^(train|test):\d+$").all()
    )
    assert "plain/none / tsne: clusters" in html and "no labels" in html
    assert not (res / "emb/none/clusters.parquet").exists()  # labelled: classes, no clusters
    # the vectors are their codes: their raw reference is the latent one, not searched again
    ref = pd.read_csv(res / "emb/none/metrics/reference.csv").set_index(["method", "metric"])
    assert ref.loc["pixels"]["value"].to_dict() == ref.loc["latent"]["value"].to_dict()
    assert not (res / "emb/pixels_reference.csv").exists()
    assert (res / "fashion/pixels_reference.csv").is_file()  # images keep their pixel search


def test_done_when_command(workflow_dir: Path, tmp_path: Path):
    """The issue's command, as written, on a folder of four gzipped IDX files: it plans the
    default study on that folder alone (a dense model on user images runs in the study above;
    the README's own example is planned by tests/test_readme_commands.py)."""
    d = make_idx_gz(tmp_path / "mine", 400, 100)
    out = snakemake(
        workflow_dir,
        "-n",
        "--config",
        "study={datasets: [mine]}",
        f"datasets={{mine: {{format: idx, path: {d}}}}}",
    ).stdout
    for method in ("pca", "tsne", "umap"):
        assert f"results/mine/ae32/figures/{method}.png" in out
    assert "results/report/index.html" in out
    assert "results/mnist" not in out
