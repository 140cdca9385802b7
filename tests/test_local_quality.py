"""Per-point map quality (local trustworthiness, local continuity, 10-NN recall): each point's
value, written beside its map, averages to the map's measure; damaged tables are named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import blobs, metric_params
from latent_atlas import maps, measures, neighbors, projections
from latent_atlas.errors import AtlasError
from latent_atlas.metrics import trustworthiness
from sklearn.manifold import trustworthiness as sk_trustworthiness

PARAMS = metric_params(
    knn_k=[1, 5],
    trustworthiness_points=300,
    trustworthiness_k=5,
    silhouette_sample=None,
    structure_points=300,
    structure_pairs=1000,
    seed=0,
    exact_max_points=None,
)


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    latent = blobs()
    tmp = tmp_path_factory.mktemp("local")
    graph = neighbors.build(latent, {"k": 31, "max_points": None, "seed": 0}, 1, tmp / "g.npz")
    frame = projections.project(
        "umap",
        latent,
        graph,
        {"n_neighbors": 10, "min_dist": 0.1, "deterministic": True, "seed": 0},
        1,
        tmp / "umap.parquet",
    )
    return latent, graph, frame, maps.read_map(tmp / "umap.parquet")[1]


def test_local_values_average_to_the_global_measures(mapped):
    latent, graph, frame, info = mapped
    z = latent["z_train"]
    local, where = measures.local_quality(frame, info, z, PARAMS, 1, graph)
    glob = measures.map_metrics(frame, info, z, PARAMS, 1, graph)
    assert set(where) == {"trustworthiness", "continuity", "knn_recall_10"}
    train = (local["split"] == "train").to_numpy()
    assert local.loc[~train, list(where)].isna().all().all()  # test rows: no value
    for key in where:
        v = local.loc[train, key].to_numpy()
        assert np.nanmean(v) == pytest.approx(glob[key], abs=1e-6), key
    # trustworthiness and continuity on the first 300 train points only, as the global values
    assert local.loc[train, "trustworthiness"].notna().sum() == 300
    assert local.loc[train, "knn_recall_10"].notna().all()
    xy = frame.loc[frame.split == "train", ["x", "y"]].to_numpy()
    assert np.nanmean(local.loc[train, "trustworthiness"]) == pytest.approx(
        sk_trustworthiness(z[:300], xy[:300], n_neighbors=5), abs=1e-6
    )


def test_local_trustworthiness_points_at_a_torn_point():
    """Swap two far-apart points in a map: their own trustworthiness drops the most."""
    rng = np.random.default_rng(0)
    z = rng.normal(size=(200, 2))
    xy = z.copy()
    far = int(np.argmax(np.linalg.norm(z - z[0], axis=1)))
    xy[[0, far]] = xy[[far, 0]]
    from latent_atlas.metrics import local_from_penalties, trust_penalties

    local = local_from_penalties(trust_penalties(z, xy, 5), 5)
    assert set(np.argsort(local)[:2]) == {0, far}
    assert local.mean() == pytest.approx(trustworthiness(z, xy, 200, 5), abs=1e-12)


def test_local_table_roundtrip_and_damage(tmp_path, mapped):
    latent, graph, frame, info = mapped
    local, where = measures.local_quality(frame, info, latent["z_train"], PARAMS, 1, graph)
    maps.write_local(local, {"method": "umap", "computed_on": where}, tmp_path / "l.parquet")
    back, meta = maps.read_local(tmp_path / "l.parquet")
    pd.testing.assert_frame_equal(back, local)
    assert meta["computed_on"] == where
    (tmp_path / "l.parquet").write_bytes(b"PAR1 truncated")
    with pytest.raises(AtlasError, match=r"l\.parquet: not a readable table"):
        maps.read_local(tmp_path / "l.parquet")


def test_local_figure_colours_each_measure(tmp_path, mapped):
    from latent_atlas import map_plots, plotting

    latent, graph, frame, info = mapped
    local, where = measures.local_quality(frame, info, latent["z_train"], PARAMS, 1, graph)
    fig = map_plots.local_figure(frame, local, where, "umap", "synthetic codes")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titles) == 3 and titles[0].startswith("trustworthiness (mean 0.")
    plotting.save(fig, tmp_path / "l.png")
    assert (tmp_path / "l.png").stat().st_size > 10_000
