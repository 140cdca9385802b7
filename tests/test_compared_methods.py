"""PaCMAP, TriMap, densMAP and Parametric UMAP: placement, reproducibility, the neighbour graph
they read, their config and their conda environments; and the four run through the workflow on
the digits dataset (report, atlas and a projection-seed sweep show them)."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import NEW_METHODS, REPO, blobs
from latent_atlas import maps, methods, neighbors, planning, projections, scheduling
from latent_atlas.errors import AtlasError

NEW = tuple(NEW_METHODS)
PARAMS = {
    "pacmap": {"n_neighbors": 10, "mn_ratio": 0.5, "fp_ratio": 2.0, "n_iters": 100, "seed": 0},
    "trimap": {"n_inliers": 12, "n_outliers": 4, "n_random": 3, "n_iters": 200, "seed": 0},
    "densmap": {
        "n_neighbors": 10,
        "min_dist": 0.1,
        "dens_lambda": 2.0,
        "dens_frac": 0.3,
        "seed": 0,
    },
    "parametric_umap": {
        "n_neighbors": 10,
        "min_dist": 0.1,
        "hidden": [32, 32],
        "n_epochs": 20,
        "batch_size": 500,
        "seed": 0,
    },
}
SCHEMA_PATH = REPO / "workflow/schemas/config.schema.yaml"


@pytest.fixture(scope="module")
def latent():
    return blobs()


@pytest.fixture(scope="module")
def graph(latent, tmp_path_factory):
    """As the workflow sizes it for PaCMAP: self + n_neighbors + 50 columns."""
    out = tmp_path_factory.mktemp("g") / "neighbors.npz"
    k = methods.get("pacmap").neighbors(PARAMS["pacmap"])
    return neighbors.build(latent, {"k": k, "max_points": None, "seed": 0}, 1, out)


@pytest.mark.parametrize("name", NEW)
def test_test_points_land_in_their_train_cluster(tmp_path, latent, graph, name):
    frame = projections.project(name, latent, graph, PARAMS[name], 1, tmp_path / "m.parquet")
    _, info = maps.read_map(tmp_path / "m.parquet")
    assert info["method"] == name and info["fit_seconds"] > 0
    joint = name in ("trimap", "densmap")
    assert info.get("fitted_together", False) is joint
    assert ("fitted together" in info["placement"]) is joint
    train, test = frame[frame.split == "train"], frame[frame.split == "test"]
    d = ((test[["x", "y"]].to_numpy()[:, None] - train[["x", "y"]].to_numpy()[None]) ** 2).sum(-1)
    nearest = train["label"].to_numpy()[d.argmin(axis=1)]
    assert (nearest == test["label"].to_numpy()).mean() >= 0.95


@pytest.mark.parametrize("name", NEW)
def test_seeded_maps_repeat_exactly(tmp_path, latent, graph, name):
    a = projections.project(name, latent, graph, PARAMS[name], 1, tmp_path / "a.parquet")
    b = projections.project(name, latent, graph, PARAMS[name], 1, tmp_path / "b.parquet")
    pd.testing.assert_frame_equal(a, b)


def test_another_projection_seed_gives_another_map(tmp_path, latent, graph):
    for name in ("pacmap", "trimap"):
        params = PARAMS[name]
        a = projections.project(name, latent, graph, params, 1, tmp_path / "a.parquet")
        b = projections.project(
            name, latent, graph, {**params, "seed": 1}, 1, tmp_path / "b.parquet"
        )
        assert not np.array_equal(a[["x", "y"]].to_numpy(), b[["x", "y"]].to_numpy())


def test_pacmap_map_is_the_same_for_any_thread_count(tmp_path, latent, graph):
    one = projections.project("pacmap", latent, graph, PARAMS["pacmap"], 1, tmp_path / "a.pq")
    two = projections.project("pacmap", latent, graph, PARAMS["pacmap"], 2, tmp_path / "b.pq")
    pd.testing.assert_frame_equal(one, two)


def test_pacmap_takes_the_pairs_its_own_search_would_pick_from_exact_neighbours(latent, graph):
    """PaCMAP scales the codes before its (approximate) search; exact neighbours of the scaled
    codes, ranked its way, give the same pair set per point as ours from the shared graph."""
    import pacmap.pacmap as pm

    k, extra = 10, 60
    z = latent["z_train"]

    def pairs(g: dict, x: np.ndarray) -> np.ndarray:
        nbrs = np.ascontiguousarray(g["train_ind"][:, 1 : extra + 1], np.int32)
        dist = np.ascontiguousarray(g["train_dist"][:, 1 : extra + 1], np.float32)
        sig = np.maximum(dist[:, 3:6].mean(axis=1), 1e-10).astype(np.float32)
        p = pm.sample_neighbors_pair(x, pm.scale_dist(dist, sig, nbrs), nbrs, np.int32(k))
        return np.sort(p[:, 1].reshape(-1, k), axis=1)

    scaled = z - z.min()
    scaled /= scaled.max()
    scaled -= scaled.mean(axis=0)
    theirs = pairs(neighbors.knn_graph(scaled, scaled[:1], extra + 1, 1), scaled)
    ours = pairs(graph, np.ascontiguousarray(z, np.float32))
    assert (ours == theirs).mean() > 0.999  # float ties at the 10th place may swap


def test_pacmap_placement_is_its_transform(latent, graph):
    """Our placement runs PaCMAP's transform optimisation on the shared test->train graph: on
    data where PaCMAP's own index finds the exact neighbours it gives PaCMAP's answer."""
    import pacmap.pacmap as pm
    from latent_atlas.methods import pacmap as ours

    z_train, z_test = latent["z_train"], latent["z_test"]
    model = pm.PaCMAP(n_components=2, n_neighbors=10, random_state=0, num_iters=(50, 50, 50))
    model.fit(z_train, init="pca")
    theirs = model.transform(z_test, basis=z_train)
    placed = ours._place(pm, model, z_test, graph["test_ind"][:, :10])
    np.testing.assert_allclose(placed, theirs, rtol=1e-5, atol=1e-5)


def test_pacmap_refuses_a_graph_too_small(latent, graph):
    small = {k: v[:, :20] if v.ndim == 2 else v for k, v in graph.items()}
    with pytest.raises(AtlasError, match=r"pacmap.*61 columns"):
        methods.get("pacmap").fit(latent["z_train"], latent["z_test"], small, PARAMS["pacmap"], 1)


def test_trimap_imports_without_pkg_resources(monkeypatch):
    """trimap 1.1.4's package __init__ imports pkg_resources (gone from setuptools 81)."""
    from latent_atlas.methods import trimap

    monkeypatch.setitem(sys.modules, "pkg_resources", None)
    monkeypatch.delitem(sys.modules, trimap.MODULE, raising=False)
    monkeypatch.delitem(sys.modules, "trimap", raising=False)
    assert hasattr(trimap.import_trimap(), "TRIMAP")


def test_joint_methods_use_an_approximate_graph_where_the_shared_one_is(latent, graph, monkeypatch):
    from latent_atlas.methods._joint import joint_graph

    z = np.concatenate([latent["z_train"], latent["z_test"]])
    exact_ind, _ = joint_graph(z, graph, 15, 1, 0)
    assert (exact_ind[:, 0] == np.arange(len(z))).all()
    d = ((z[:, None] - z[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(np.sort(exact_ind, 1), np.sort(np.argsort(d, 1)[:, :15], 1))
    calls = []
    monkeypatch.setattr(  # the approximate graph itself is tested in test_scale.py
        neighbors,
        "approximate_knn_graph",
        lambda *a: calls.append(a) or neighbors.knn_graph(*a[:4]),
    )
    joint_graph(z, {**graph, "approximate": np.array(1)}, 15, 1, 7)
    assert len(calls) == 1 and calls[0][2:] == (15, 1, 7)


def test_comparison_titles_say_which_maps_fitted_their_test_points_in():
    from latent_atlas import map_plots

    frame = pd.DataFrame(
        {
            "x": [0.0, 1.0, 2.0],
            "y": [0.0, 1.0, 0.0],
            "label": np.array([0, 1, 0], np.uint8),
            "split": pd.Categorical(["train", "train", "test"], ["train", "test"]),
            "index": [0, 1, 0],
        }
    )
    maps_ = {("digits/ae32", m): frame for m in ("umap", "trimap")}
    tidy = pd.DataFrame({"key": "digits/ae32", "method": ["umap", "trimap"]})
    tidy = tidy.assign(metric="knn_acc_5", value=0.5)
    fig = map_plots.comparison_figure(maps_, tidy, ["a", "b"], {"trimap"})
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == [
        "UMAP\n5-NN test accuracy 0.500",
        "TriMap\n5-NN test accuracy 0.500 (test fitted in)",
    ]


def _validated(over: dict) -> dict:
    from snakemake.utils import validate

    cfg = {"study": {"datasets": ["digits"], "models": ["m"], "methods": list(NEW)}}
    cfg["models"] = {"m": {"kind": "dense"}}
    cfg = {**cfg, "methods": over}
    validate(cfg, str(SCHEMA_PATH), set_default=True)
    return cfg


def test_schema_defaults_match_the_config_file():
    cfg = _validated({})
    shipped = yaml.safe_load((REPO / "config.yaml").read_text())["methods"]
    for name in NEW:
        assert cfg["methods"][name] == shipped[name], name
        assert set(cfg["methods"][name]) == set(PARAMS[name]) - {"seed"}, name


@pytest.mark.parametrize(
    "over, key",
    [
        ({"pacmap": {"n_neighbors": 1}}, "n_neighbors"),
        ({"trimap": {"n_inliers": 0}}, "n_inliers"),
        ({"densmap": {"dens_frac": 2}}, "dens_frac"),
        ({"parametric_umap": {"hidden": []}}, "hidden"),
        ({"parametric_umap": {"n_epochs": "many"}}, "n_epochs"),
        ({"pacmap": {"knn_backend": "faiss"}}, "knn_backend"),
    ],
)
def test_a_wrong_method_value_names_its_key(over, key):
    from snakemake.exceptions import WorkflowError

    with pytest.raises(WorkflowError, match=key):
        _validated(over)


def test_planning_sizes_the_graph_and_picks_the_environment():
    cfg = _validated({})
    cfg["study"]["methods"] = ["pca", "pacmap"]
    plan = planning.Plan(copy.deepcopy(cfg))
    assert plan.graph_k_source() == (61, "methods.pacmap")
    schedule = scheduling.Schedule(plan, 2)
    assert schedule.project_env("pacmap") == "../../envs/projection.yaml"
    assert schedule.project_env("parametric_umap") == "../../envs/parametric_umap.yaml"
    assert schedule.project_threads("parametric_umap") == 2  # TensorFlow: the map depends on it
    assert schedule.project_threads("trimap") == 1


def test_every_env_file_pins_what_requirements_txt_pins():
    """envs/*.yaml say "Pins = requirements.txt"; a pin that drifts fails here."""
    lock = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            lock[name.lower().replace("_", "-")] = version.strip()
    for env in sorted((REPO / "envs").glob("*.yaml")):
        spec = yaml.safe_load(env.read_text())
        pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))
        for req in pip:
            name, version = req.split("==")
            assert lock[name.lower().replace("_", "-")] == version, f"{env.name}: {req}"
    used = {methods.get(m).env for m in methods.names()}
    assert all((REPO / "envs" / f"{e}.yaml").is_file() for e in used)


@pytest.mark.slow(reason="reads the tiny study's variants (one workflow run, shared)")
def test_the_four_methods_run_through_the_workflow_on_digits(tiny_variants: Path):
    """Metrics, report (with how each placed its test points), atlas and a seed sweep show the
    new methods with no code of their own outside their modules (conftest's VARIANTS: the four
    added to the tiny study, and a projection-seed sweep of two of them)."""
    workflow_dir = tiny_variants
    tidy = pd.read_csv(workflow_dir / "results/metrics.csv")
    maps_rows = tidy[tidy["method"].isin(NEW)]
    per_method = maps_rows.groupby("method")["metric"].apply(set)
    assert set(per_method.index) == set(NEW)
    assert len({frozenset(v) for v in per_method}) == 1  # every measure for every method
    assert maps_rows["value"].notna().all()
    html = (workflow_dir / "results/report/index.html").read_text()
    for name in NEW:
        assert methods.get(name).title in html
    assert html.count('class="fitted-together"') == 2  # TriMap and densMAP
    atlas = (workflow_dir / "results/report/atlas.html").read_text()
    for name in NEW:
        assert methods.get(name).title in atlas
    summary = pd.read_csv(workflow_dir / "results/sweeps/pseed/summary.csv")
    proc = summary[summary["metric"] == "procrustes_disparity"]
    assert set(proc["method"]) == {"pacmap", "trimap"}
    assert (proc["mean"] > 0).all()
    info = json.loads(
        json.dumps(
            maps.read_map(workflow_dir / "results/digits/ae32/projections/trimap.parquet")[1]
        )
    )
    assert info["fitted_together"] is True
