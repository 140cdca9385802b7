"""Similarity of two latent spaces: known answers (a rotated, scaled, moved copy; independent
spaces), the permutation null's calibration, and debiased CKA against the published
Gram-matrix formula."""

from __future__ import annotations

import numpy as np
import pytest
from latent_atlas import similarity
from latent_atlas.errors import AtlasError
from scipy.stats import ortho_group
from sklearn.neighbors import NearestNeighbors


def space(codes: np.ndarray, k: int = 10) -> similarity.Space:
    ind = NearestNeighbors(n_neighbors=k + 1).fit(codes).kneighbors(return_distance=False)
    return similarity.Space(codes, ind[:, :k])


def clusters(n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, (5, d))
    return centres[np.arange(n) % 5] + rng.normal(size=(n, d))


def test_a_rotated_scaled_moved_copy_is_identical_in_every_measure():
    x = clusters(300, 8, 0)
    y = 3.5 * x @ ortho_group.rvs(8, random_state=1) + 7.0
    scores, points = similarity.compare(space(x), space(y), 20, 0)
    for m in similarity.MEASURES:
        assert scores[m]["raw"] == pytest.approx(1.0, abs=1e-9), m
        assert scores[m]["calibrated"] == pytest.approx(1.0, abs=1e-9), m
        assert scores[m]["p_value"] == pytest.approx(1 / 21), m
    assert points.min() == 1.0


def test_independent_spaces_calibrate_to_zero_with_uniform_p_values():
    calibrated, p = {m: [] for m in similarity.MEASURES}, {m: [] for m in similarity.MEASURES}
    for seed in range(20):
        rng = np.random.default_rng(seed)
        x, y = rng.normal(size=(200, 6)), rng.normal(size=(200, 12))
        scores, _ = similarity.compare(space(x), space(y), 50, seed)
        for m in similarity.MEASURES:
            calibrated[m].append(scores[m]["calibrated"])
            p[m].append(scores[m]["p_value"])
    for m in similarity.MEASURES:
        assert abs(np.mean(calibrated[m])) < 0.02, (m, calibrated[m])
        assert 0.3 < np.mean(p[m]) < 0.7, (m, p[m])  # uniform: mean 1/2
        assert np.mean(np.array(p[m]) < 0.1) < 0.3, (m, p[m])  # not piled up at 0


def test_a_shared_structure_is_significant_and_between_chance_and_identity():
    x = clusters(300, 8, 0)
    rng = np.random.default_rng(5)
    y = np.hstack([x[:, :3], rng.normal(0, 4, (300, 5))])  # keeps 3 of 8 directions
    scores, _ = similarity.compare(space(x), space(y), 50, 0)
    for m in similarity.MEASURES:
        assert scores[m]["p_value"] == pytest.approx(1 / 51), m
        assert 0.05 < scores[m]["calibrated"] < 0.99, (m, scores[m])


def test_debiased_cka_equals_the_gram_matrix_formula():
    """Song et al. (2012)'s unbiased HSIC written on the n x n Gram matrices, as published; the
    debiased CKA of Kornblith et al.'s notebook divides it by the two unbiased self-HSICs."""
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(50, 4)), rng.normal(size=(50, 9))
    y[:, :4] += 2 * x

    def hsic1(k: np.ndarray, lg: np.ndarray) -> float:
        n = len(k)
        k, lg = k - np.diag(np.diag(k)), lg - np.diag(np.diag(lg))
        one = np.ones(n)
        return (
            np.trace(k @ lg)
            + (one @ k @ one) * (one @ lg @ one) / ((n - 1) * (n - 2))
            - 2 / (n - 2) * one @ k @ lg @ one
        ) / (n * (n - 3))

    k, lg = x @ x.T, y @ y.T
    want = hsic1(k, lg) / np.sqrt(hsic1(k, k) * hsic1(lg, lg))
    assert similarity.cka_debiased(x, y) == pytest.approx(want, abs=1e-9)


def test_procrustes_is_one_minus_half_the_squared_distance():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(80, 3)), rng.normal(size=(80, 3))
    ux, uy = similarity._unit(x), similarity._unit(y)
    u, _, vt = np.linalg.svd(ux.T @ uy)
    distance2 = np.sum((ux @ (u @ vt) - uy) ** 2)  # the best rotation of x onto y
    assert similarity.procrustes(x, y) == pytest.approx(1 - distance2 / 2, abs=1e-12)


def test_mutual_knn_counts_shared_neighbours_per_point():
    a = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])
    same = np.array([[3, 2, 1], [3, 0, 2], [1, 3, 0], [2, 0, 1]])  # the same sets, reordered
    assert similarity.mutual_knn_points(a, same).tolist() == [1.0, 1.0, 1.0, 1.0]
    other = np.array([[1, 8, 7], [9, 8, 7], [9, 8, 3], [9, 1, 2]])
    assert similarity.mutual_knn_points(a, other).tolist() == [1 / 3, 0.0, 1 / 3, 2 / 3]


def test_table_has_every_pair_and_measure_in_order():
    spaces = {name: space(clusters(60, 4, s)) for s, name in enumerate(["pixels", "ae", "vae"])}
    frame, points = similarity.table(spaces, 5, 0)
    assert list(frame.columns) == list(similarity.COLUMNS)
    pairs = list(dict.fromkeys(zip(frame["a"], frame["b"], strict=True)))
    assert pairs == [("pixels", "ae"), ("pixels", "vae"), ("ae", "vae")]
    assert len(frame) == 3 * len(similarity.MEASURES)
    assert set(points) == {"pixels~ae", "pixels~vae", "ae~vae"}
    assert all(len(v) == 60 for v in points.values())
    assert (frame["points"] == 60).all() and (frame["permutations"] == 5).all()


def test_spaces_of_other_points_are_refused():
    with pytest.raises(AtlasError, match="same points"):
        similarity.compare(space(clusters(50, 3, 0)), space(clusters(40, 3, 0)), 5, 0)
    with pytest.raises(AtlasError, match="permutations"):
        similarity.compare(space(clusters(50, 3, 0)), space(clusters(50, 3, 1)), 0, 0)


# -- in the workflow ---------------------------------------------------------------------------


def _jobs(*overrides: str) -> set[tuple[str, str]]:
    from conftest import study_jobs

    return {(rule, fill.get("dataset", "")) for rule, fill in study_jobs(*overrides)}


def test_a_dataset_with_two_spaces_or_more_gets_a_similarity_job():
    from conftest import plan

    two = "study={datasets: [digits], models: [ae32, vae]}"
    p = plan(two)
    assert p.similarity_models("digits") == ["ae32", "vae"] and not p.similarity_pixels("digits")
    jobs = _jobs(two)
    assert ("similarity", "digits") in jobs and ("pixel_neighbors", "digits") not in jobs
    assert p.similarity_params() == {"k": 10, "permutations": 100, "seed": 0}
    one = "study={datasets: [digits], models: [ae32]}"  # one space: nothing to compare
    assert not {r for r, _ in _jobs(one)} & {"similarity", "pixel_neighbors"}
    pixels = (one, "similarity={pixels: true}")  # ae32 and the pixels
    assert plan(*pixels).similarity_pixels("digits")
    assert {("similarity", "digits"), ("pixel_neighbors", "digits")} <= _jobs(*pixels)
    off = (two, "similarity={enabled: false, pixels: true}")
    assert not {r for r, _ in _jobs(*off)} & {"similarity", "pixel_neighbors"}


def test_a_vectors_dataset_has_nothing_to_compare(tmp_path):
    from byod import make_vectors
    from conftest import plan

    path = make_vectors(tmp_path / "emb.parquet")
    p = plan(
        "study={datasets: [emb]}",
        f"datasets={{emb: {{format: vectors, path: {path}}}}}",
    )
    assert p.similarity_models("emb") == [] and not p.has_similarity("emb")


@pytest.mark.parametrize(
    ("override", "needle"),
    [("similarity={k: 16}", "'similarity'.*'k'"), ("similarity={permutations: 0}", "permutations")],
)
def test_out_of_range_settings_are_refused_before_any_job(override, needle):
    from conftest import plan
    from snakemake.exceptions import WorkflowError

    with pytest.raises(WorkflowError, match=needle):
        plan(override)


@pytest.mark.slow(reason="reads the tiny study (one workflow run, shared)")
def test_the_study_compares_every_pair_of_its_spaces(tiny_study):
    import json

    import pandas as pd

    res = tiny_study / "results"
    frame = pd.read_csv(res / "digits/similarity.csv")
    pairs = list(dict.fromkeys(zip(frame["a"], frame["b"], strict=True)))
    assert pairs == [("pixels", "ae32"), ("pixels", "vae"), ("ae32", "vae")]
    by_pair = frame.groupby(["a", "b"], sort=False)["measure"].apply(list)
    assert all(measures == list(similarity.MEASURES) for measures in by_pair)
    numbers = frame[["raw", "null_mean", "null_sd", "p_value", "calibrated"]]
    assert np.isfinite(numbers.to_numpy()).all()
    assert (frame["permutations"] == 100).all() and (frame["k"] == 10).all()
    assert (frame["points"] == frame["points"].iloc[0]).all()
    # trained codes of one dataset are far more alike than chance, in every measure
    assert frame["p_value"].tolist() == pytest.approx([1 / 101] * len(frame))
    assert (frame["raw"] > frame["null_mean"] + 10 * frame["null_sd"]).all()
    assert frame["calibrated"].between(0, 1).all()
    with np.load(res / "digits/similarity_points.npz") as z:
        assert {"pixels~ae32", "pixels~vae", "ae32~vae"} <= set(z.files)
        assert z["ae32~vae"].mean() == pytest.approx(
            frame.set_index(["a", "b", "measure"]).loc[("ae32", "vae", "mutual_knn"), "raw"],
            abs=1e-6,
        )
    tidy = pd.read_csv(res / "metrics.csv")
    rows = tidy[tidy["method"] == "similarity"]
    assert set(rows["model"]) == {"pixels~ae32", "pixels~vae", "ae32~vae"}
    assert len(rows) == 3 * len(similarity.MEASURES) * 5
    html = (res / "report/index.html").read_text()
    assert 'id="similarity"' in html and html.count("<td>pixels / ae32</td>") == 1
    assert 'class="similarity-matrix"' in html
    summary = json.loads((res / "report/summary.json").read_text())
    assert len(summary["similarity"]) == len(rows)
    assert all(r["method"] != "similarity" for r in summary["metrics"])
    assert (res / "digits/figures/similarity.png").stat().st_size > 10_000


# -- across training seeds ---------------------------------------------------------------------


def test_a_sweep_over_the_training_seed_compares_each_points_replicas():
    from conftest import plan, study_jobs

    seeds = (
        "study={datasets: [digits], models: [ae32], sweeps: [s]}",
        "sweeps={s: {base: ae32, grid: {latent_dim: [4, 8], seed: [1, 2]}}}",
    )
    p = plan(*seeds)
    assert p.seed_replicas("s") == {
        "latent_dim=4": ["ae32-latent_dim4-seed1", "ae32-latent_dim4-seed2"],
        "latent_dim=8": ["ae32-latent_dim8-seed1", "ae32-latent_dim8-seed2"],
    }
    assert ("seed_similarity", {"sweep": "s"}) in study_jobs(*seeds)
    params = p.seed_similarity_params("s")
    assert [g["point"] for g in params["groups"]] == ["latent_dim=4", "latent_dim=8"]
    assert params["base"] == "ae32" and params["k"] == 10
    maps_only = (
        "study={datasets: [digits], models: [ae32], sweeps: [s]}",
        "sweeps={s: {base: ae32, grid: {projection.seed: [1, 2]}}}",
    )
    assert plan(*maps_only).seed_replicas("s") == {}  # one model: its maps vary, not its codes
    assert all(rule != "seed_similarity" for rule, _ in study_jobs(*maps_only))


def test_stability_is_each_points_mutual_knn_averaged_over_replica_pairs(tmp_path):
    base = clusters(120, 6, 0)
    rng = np.random.default_rng(1)
    models = {f"m{s}": base + rng.normal(0, 0.5 * s, base.shape) for s in range(3)}
    graphs = {}
    for name, codes in models.items():
        sp = space(codes)
        ind = np.hstack([np.arange(len(codes))[:, None], sp.knn])  # the graph's self column
        graphs[name] = {"train_index": np.arange(len(codes)), "train_ind": ind}
    params = {
        "sweep": "s",
        "groups": [{"dataset": "d", "point": "all", "models": list(models)}],
        "k": 10,
        "permutations": 5,
        "seed": 0,
    }
    out = {"table": tmp_path / "similarity.csv", "stability": tmp_path / "stability.npz"}
    spaces = {("d", m): (models[m], graphs[m]) for m in models}
    frame = similarity.across_seeds(params, spaces, out)
    assert len(frame) == 3 * len(similarity.MEASURES)  # 3 pairs of 3 replicas
    with np.load(out["stability"]) as z:
        assert z["datasets"].tolist() == ["d"] and z["points"].tolist() == ["all"]
        assert z["train_index_0"].tolist() == list(range(120))
        want = np.mean(
            [
                similarity.mutual_knn_points(space(models[a]).knn, space(models[b]).knn)
                for a, b in [("m0", "m1"), ("m0", "m2"), ("m1", "m2")]
            ],
            axis=0,
        )
        np.testing.assert_allclose(z["stability_0"], want, atol=1e-6)
    summary = similarity.seed_summary(frame)
    assert (summary["pairs"] == 3).all() and len(summary) == len(similarity.MEASURES)


@pytest.mark.slow(reason="reads the tiny study's variants (one workflow run, shared)")
def test_the_seed_sweep_gives_across_seed_similarity_and_a_stability_layer(tiny_variants, browser):
    """VARIANTS' sweep `latent` (latent_dim 8, seeds 1 and 2 of ae32): its replicas compared,
    the report's table, and each point's stability as a colour layer of ae32's maps in the
    atlas: pinned, then coloured by it."""
    import json
    import re

    import pandas as pd

    root = tiny_variants / "results/sweeps/latent"
    frame = pd.read_csv(root / "similarity.csv")
    assert set(zip(frame["a"], frame["b"], strict=True)) == {
        ("ae32-latent_dim8-seed1", "ae32-latent_dim8-seed2")
    }
    assert (
        set(frame["measure"]) == set(similarity.MEASURES)
        and (frame["point"] == "latent_dim=8").all()
    )
    with np.load(root / "stability.npz") as z:
        stability = z["stability_0"]
        mutual = frame.set_index("measure").loc["mutual_knn", "raw"]
        assert stability.mean() == pytest.approx(mutual, abs=1e-6)  # one pair: its mutual k-NN
    html = (tiny_variants / "results/report/index.html").read_text()
    assert 'class="seed-similarity-table"' in html and "<td>digits / latent_dim=8</td>" in html
    atlas = tiny_variants / "results/report/atlas.html"
    meta = json.loads(re.search(r'(?s)id="atlas-meta">(.*?)</script>', atlas.read_text()).group(1))
    ae32 = next(m for m in meta if m["key"] == "digits/ae32")
    layer = "stability:latent:0"
    assert layer in [entry["id"] for entry in ae32["layers"]]
    page = browser.new_page(viewport={"width": 1800, "height": 1000})
    try:
        page.goto(atlas.as_uri(), wait_until="load")
        page.wait_for_function("document.documentElement.dataset.atlasReady", timeout=60_000)
        page.evaluate("latentAtlas.pin('digits/ae32', 3)")
        page.wait_for_function("document.documentElement.dataset.pinned == 'digits/ae32:3:10'")
        page.select_option("#color-by", layer)
        page.wait_for_function(f"document.documentElement.dataset.colorBy == 'digits/ae32:{layer}'")
        q = page.evaluate(f"Array.from(latentAtlas.columns('digits/ae32').layer['codes__{layer}'])")
        split = page.evaluate("Array.from(latentAtlas.columns('digits/ae32').split)")
        train = np.array(q)[np.array(split) == 0]
        np.testing.assert_allclose((train - 1) / 254, stability, atol=0.5 / 254 + 1e-9)
        assert "stability across training seeds" in page.inner_text("#color-by")
    finally:
        page.close()
