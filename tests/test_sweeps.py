"""Sweeps: expansion into models and maps (names, bad keys), the summary's spread and stability,
and a digits sweep through the workflow."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import VARIANTS, snakemake
from latent_atlas import methods, sweep_summary, sweeps
from latent_atlas.errors import AtlasError
from snakemake.utils import validate

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow/schemas/config.schema.yaml"


def config_with(sweep: dict, **study) -> dict:
    cfg = {
        "study": {"datasets": ["digits"], "models": ["ae32"], "sweeps": ["s"], **study},
        "models": {"ae32": {"kind": "dense", "latent_dim": 32}},
        "sweeps": {"s": sweep},
    }
    validate(cfg, str(SCHEMA), set_default=True)
    return cfg


def test_model_grid_names_are_readable_and_stable():
    cfg = config_with({"base": "ae32", "grid": {"seed": [1, 2], "latent_dim": [2, 8]}})
    s = sweeps.expand(cfg)["s"]
    assert s.models == [
        "ae32-latent_dim2-seed1",
        "ae32-latent_dim2-seed2",
        "ae32-latent_dim8-seed1",
        "ae32-latent_dim8-seed2",
    ]
    assert s.swept == ["latent_dim"]
    specs = sweeps.model_specs(cfg, {"s": s})
    assert specs["ae32-latent_dim8-seed2"] == {**cfg["models"]["ae32"], "latent_dim": 8, "seed": 2}
    # reordering the grid renames nothing
    again = config_with({"base": "ae32", "grid": {"latent_dim": [2, 8], "seed": [1, 2]}})
    assert sorted(sweeps.expand(again)["s"].models) == sorted(s.models)
    # plain maps keep their plain names: the default paths are unchanged
    assert all(p.methods == {"pca": "pca", "tsne": "tsne", "umap": "umap"} for p in s.points)
    assert sweeps.map_variants({"s": s}) == {}


def test_map_parameters_name_maps_not_models():
    cfg = config_with(
        {
            "base": "ae32",
            "grid": {"methods.umap.n_neighbors": [5, 30], "projection.seed": [1, 2]},
        }
    )
    s = sweeps.expand(cfg)["s"]
    assert s.models == ["ae32"]  # the codes are shared: one model
    assert [p.methods["umap"] for p in s.points] == [
        "umap-n_neighbors5-seed1",
        "umap-n_neighbors5-seed2",
        "umap-n_neighbors30-seed1",
        "umap-n_neighbors30-seed2",
    ]
    assert s.points[0].methods["tsne"] == "tsne-seed1"
    variants = sweeps.map_variants({"s": s})
    assert variants["umap-n_neighbors30-seed2"] == ("umap", {"n_neighbors": 30, "seed": 2})
    assert variants["pca-seed1"] == ("pca", {"seed": 1})
    assert methods.base_method("umap-n_neighbors30-seed2") == "umap"


@pytest.mark.parametrize(
    ("value", "tag"),
    [(8, "8"), (0.1, "0p1"), (-3, "m3"), (1e-3, "0p001"), ([128, 64], "128x64"), ([], "none")],
)
def test_value_tags(value, tag):
    assert sweeps.value_tag(value) == tag
    assert sweeps.value_tag(True) == "true"


@pytest.mark.parametrize(
    ("grid", "needle"),
    [
        ({"latent_size": [2]}, "'latent_size'"),
        ({"methods.umap.perplexity": [5]}, "'methods.umap.perplexity'"),
        ({"methods.umap": [5]}, "'methods.umap'"),
        ({"projection.max_points": [500]}, "'projection.max_points'"),
    ],
)
def test_bad_grid_key_is_an_error_naming_it(grid, needle):
    cfg = config_with({"base": "ae32", "grid": grid})
    with pytest.raises(AtlasError, match="not a field") as err:
        sweeps.expand(cfg)
    assert needle in str(err.value) and "sweeps.s.grid" in str(err.value)


def test_bad_grid_values_and_references():
    cfg = config_with({"base": "ae32", "grid": {"latent_dim": [0]}})
    with pytest.raises(AtlasError, match="latent_dim"):
        sweeps.expand(cfg)
    cfg = config_with({"base": "ae32", "grid": {"methods.tsne.perplexity": [1000]}})
    with pytest.raises(AtlasError, match="perplexity"):
        sweeps.expand(cfg)
    cfg = config_with({"base": "nope", "grid": {"seed": [1]}})
    with pytest.raises(AtlasError, match="'nope'"):
        sweeps.expand(cfg)
    cfg = config_with({"base": "ae32", "grid": {"seed": [1]}})
    cfg["study"]["sweeps"] = ["other"]
    with pytest.raises(AtlasError, match="'other'"):
        sweeps.expand(cfg)
    cfg = config_with({"base": "ae32", "grid": {"hidden": [["a b"]]}})
    with pytest.raises(AtlasError, match="file name"):
        sweeps.expand(cfg)


def test_name_clash_with_a_different_model_is_an_error():
    cfg = config_with({"base": "ae32", "grid": {"seed": [1]}})
    cfg["models"]["ae32-seed1"] = {"kind": "vae", "latent_dim": 2}
    with pytest.raises(AtlasError, match="ae32-seed1"):
        sweeps.model_specs(cfg, sweeps.expand(cfg))


def test_schema_rejects_malformed_sweeps():
    from snakemake.exceptions import WorkflowError

    for bad in (
        {"s": {"grid": {"seed": [1]}}},  # no base
        {"s": {"base": "ae32", "grid": {}}},  # empty grid
        {"s": {"base": "ae32", "grid": {"seed": []}}},  # no values
        {"s": {"base": "ae32", "grid": {"seed": 1}}},  # not a list
        {"S!": {"base": "ae32", "grid": {"seed": [1]}}},  # bad name
    ):
        with pytest.raises(WorkflowError):
            validate({"sweeps": bad}, str(SCHEMA), set_default=True)


def fake_sweep(tmp_path: Path) -> dict:
    """Two latent sizes x 3 seeds of metric tables and maps with known spreads."""
    rng = np.random.default_rng(0)
    base = rng.normal(size=(200, 2))
    points = []
    for dim in (2, 8):
        for seed in (1, 2, 3):
            model = f"m-latent_dim{dim}-seed{seed}"
            points.append(
                {
                    "values": {"latent_dim": dim, "seed": seed},
                    "model": model,
                    "maps": {"pca": "pca"},
                }
            )
            d = tmp_path / "digits" / model
            (d / "metrics").mkdir(parents=True)
            pd.DataFrame(
                {
                    "dataset": "digits",
                    "model": model,
                    "method": "pca",
                    "metric": ["knn_acc_1", "silhouette"],
                    "value": [dim / 10 + seed / 100, 0.5],
                }
            ).to_csv(d / "metrics" / "pca.csv", index=False)
            rot = np.array([[np.cos(seed), -np.sin(seed)], [np.sin(seed), np.cos(seed)]])
            # latent_dim 2: the same map rotated and scaled (disparity 0, overlap 1)
            xy = 2.0 * seed * base @ rot if dim == 2 else rng.normal(size=(200, 2))
            from latent_atlas.maps import write_map

            frame = pd.DataFrame(
                {
                    "x": xy[:, 0].astype(np.float32),
                    "y": xy[:, 1].astype(np.float32),
                    "label": (np.arange(200) % 10).astype(np.uint8),
                    "split": pd.Categorical(["train"] * 150 + ["test"] * 50, ["train", "test"]),
                    "index": np.arange(200),
                }
            )
            write_map(frame, {}, d / "projections" / "pca.parquet")
    return {
        "name": "latent",
        "datasets": ["digits"],
        "methods": ["pca"],
        "swept": ["latent_dim"],
        "points": points,
    }


def test_summary_spread_and_stability(tmp_path):
    sweep = fake_sweep(tmp_path)
    out = sweep_summary.make(
        sweep,
        str(tmp_path / "{dataset}/{model}/metrics/{map}.csv").format,
        str(tmp_path / "{dataset}/{model}/projections/{map}.parquet").format,
        tmp_path / "summary.csv",
    )
    assert out.equals(pd.read_csv(tmp_path / "summary.csv")) or len(out) == len(
        pd.read_csv(tmp_path / "summary.csv")
    )
    acc = out[(out["metric"] == "knn_acc_1") & (out["latent_dim"] == 8)].iloc[0]
    values = [0.8 + s / 100 for s in (1, 2, 3)]
    assert acc["mean"] == pytest.approx(np.mean(values))
    assert acc["std"] == pytest.approx(np.std(values, ddof=1))
    assert (acc["min"], acc["max"], acc["n"]) == (pytest.approx(0.81), pytest.approx(0.83), 3)
    assert acc["across"] == "seed" and acc["sweep"] == "latent" and acc["point"] == "latent_dim=8"
    same = out[(out["latent_dim"] == 2) & (out["across"] == "seed")].set_index("metric")
    assert same.loc["procrustes_disparity", "mean"] == pytest.approx(0.0, abs=1e-9)
    assert same.loc["knn_overlap_10", "mean"] == pytest.approx(1.0)
    assert same.loc["knn_overlap_10", "n"] == 3  # 3 pairs of 3 seeds
    other = out[out["latent_dim"] == 8].set_index("metric")
    assert other.loc["procrustes_disparity", "mean"] > 0.5  # unrelated random maps
    assert other.loc["knn_overlap_10", "mean"] < 0.2


def test_sweep_figures(tmp_path):
    from latent_atlas import sweep_figures

    sweep = fake_sweep(tmp_path)
    sweep_summary.make(
        sweep,
        str(tmp_path / "{dataset}/{model}/metrics/{map}.csv").format,
        str(tmp_path / "{dataset}/{model}/projections/{map}.parquet").format,
        tmp_path / "summary.csv",
    )
    out = {k: str(tmp_path / f"metrics.{k}") for k in ("png", "svg")} | {
        "maps": str(tmp_path / "maps.png")
    }
    sweep_figures.make(
        sweep,
        tmp_path / "summary.csv",
        str(tmp_path / "{dataset}/{model}/projections/{map}.parquet").format,
        [str(i) for i in range(10)],
        out,
    )
    for path in out.values():
        assert Path(path).stat().st_size > 5000
    files = {"summary": tmp_path / "summary.csv", "png": out["png"], "maps": out["maps"]}
    section = sweep_summary.report_section("latent", files, {"knn_k": [1]})
    # every registered measure in the summary (timings aside), then the stability
    assert section["columns"] == [
        "knn_acc_1",
        "silhouette",
        "procrustes_disparity",
        "knn_overlap_10",
    ]
    first = section["rows"][0]
    assert first["label"] == "digits / latent_dim=2 / pca"
    assert first["cells"][1] == "0.500 ± 0.000 (3)"
    assert first["cells"][3] == "1.000 ± 0.000 (3)"  # the same map, rotated: all neighbours kept
    assert section["metrics_uri"].startswith("data:image/png;base64,")


SWEEP_CONFIG = {
    "study": {"datasets": ["digits"], "models": ["ae32"], "sweeps": ["latent"]},
    "sweeps": {"latent": {"base": "ae32", "grid": {"latent_dim": [2, 8], "seed": [1, 2]}}},
}


def test_sweep_dry_run_plans_the_grid_and_keeps_default_paths(workflow_dir: Path):
    cfg = copy.deepcopy(SWEEP_CONFIG)
    (workflow_dir / "sweep.yaml").write_text(yaml.safe_dump(cfg))
    out = snakemake(workflow_dir, "-n", "--configfile", "tiny.yaml", "sweep.yaml").stdout
    for name in ("ae32-latent_dim2-seed1", "ae32-latent_dim8-seed2"):
        assert f"results/digits/{name}/projections/umap.parquet" in out
    assert "results/digits/ae32/projections/umap.parquet" in out
    assert "results/sweeps/latent/summary.csv" in out
    bad = {"sweeps": {"latent": {"base": "ae32", "grid": {"latent_size": [2]}}}}
    (workflow_dir / "bad.yaml").write_text(yaml.safe_dump({**cfg, **bad}))
    proc = snakemake(workflow_dir, "-n", "--configfile", "bad.yaml", check=False)
    assert proc.returncode != 0
    assert "latent_size" in proc.stdout + proc.stderr
    assert "jobid:" not in proc.stdout + proc.stderr


@pytest.mark.slow(reason="reads the tiny study's variants; maps one more model on a copy")
def test_digits_sweep_through_the_workflow(tiny_variants: Path, tmp_path: Path):
    """The whole sweep on digits, added to a finished study (conftest's VARIANTS: the base
    model's results are reused); a grid point's numbers equal the same model run alone."""
    root = tiny_variants / "results/sweeps/latent"
    summary = pd.read_csv(root / "summary.csv")
    for f in ("metrics.png", "metrics.svg", "maps.png"):
        assert (root / f).stat().st_size > 10_000, f
    assert set(summary["latent_dim"]) == {8}
    assert set(summary["method"]) == {"pca", "tsne", "umap"}
    for metric in ("knn_acc_1", "knn_recall_10", "rnx_auc", "procrustes_disparity"):
        assert metric in set(summary["metric"]), metric
    assert (summary[summary["metric"] == "knn_acc_1"]["n"] == 2).all()
    html = (tiny_variants / "results/report/index.html").read_text()
    assert 'id="sweep-latent"' in html
    # the same spec defined as an ordinary model of the same study and run alone (in a copy)
    # gives the same numbers
    workflow_dir = tmp_path / "wf"
    shutil.copytree(tiny_variants, workflow_dir, symlinks=True)
    solo = {
        **yaml.safe_load((workflow_dir / "tiny.yaml").read_text())["models"]["ae32"],
        "latent_dim": 8,
        "seed": 2,
    }
    study = {**VARIANTS["study"], "models": ["solo"], "sweeps": []}
    alone = {"study": study, "models": {"solo": solo}}
    (workflow_dir / "alone.yaml").write_text(yaml.safe_dump(alone))
    maps = ("pca", "tsne", "umap")
    tables = [f"results/digits/solo/metrics/{m}.csv" for m in maps]
    snakemake(workflow_dir, *tables, "--configfile", "tiny.yaml", "variants.yaml", "alone.yaml")
    point = pd.concat(
        pd.read_csv(workflow_dir / f"results/digits/ae32-latent_dim8-seed2/metrics/{m}.csv")
        for m in maps
    )
    solo_maps = pd.concat(pd.read_csv(workflow_dir / t) for t in tables)
    quality = ~point["metric"].str.endswith("seconds")
    a = point[quality].set_index(["method", "metric"])["value"].sort_index()
    b = solo_maps[~solo_maps["metric"].str.endswith("seconds")]
    b = b.set_index(["method", "metric"])["value"].sort_index()
    pd.testing.assert_series_equal(a, b)
