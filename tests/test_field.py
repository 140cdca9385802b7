"""The decoded field: each map's grid cells taken back to codes (PCA exactly, UMAP by
umap-learn's inverse_transform, both of the fitted object the project rule saved; others by
nearby codes) and drawn by the model's decoder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from latent_atlas import field, methods, neighbors, projections
from latent_atlas.errors import AtlasError
from latent_atlas.io import load_pickle, save_pickle
from latent_atlas.methods import pca, umap
from latent_atlas.methods._base import neighbour_codes


def _blobs(n: int = 600, d: int = 6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 6, (3, d))
    return np.concatenate([rng.normal(c, 1.0, (n // 3, d)) for c in centres]).astype(np.float32)


def _frame(train_xy: np.ndarray, test_xy: np.ndarray) -> pd.DataFrame:
    n, m = len(train_xy), len(test_xy)
    xy = np.concatenate([train_xy, test_xy])
    return pd.DataFrame(
        {
            "x": xy[:, 0],
            "y": xy[:, 1],
            "label": np.zeros(n + m, np.uint8),
            "split": pd.Categorical(["train"] * n + ["test"] * m, ["train", "test"]),
            "index": np.concatenate([np.arange(n), np.arange(m)]),
        }
    )


def test_grid_runs_like_an_image_over_the_padded_extent():
    xy = np.array([[0.0, 0.0], [10.0, 4.0]])
    centres, extent = field.grid(xy, 2, pad=0.0)
    np.testing.assert_allclose(extent, [0, 10, 0, 4])
    # row 0 is the top (largest y), columns left to right
    np.testing.assert_allclose(centres, [[2.5, 3], [7.5, 3], [2.5, 1], [7.5, 1]])
    with pytest.raises(AtlasError, match="field_grid"):
        field.grid(xy, 0)
    with pytest.raises(AtlasError, match="non-finite"):
        field.grid(np.array([[np.nan, 0.0]]), 3)


def test_neighbour_codes_average_nearby_codes_and_hit_a_point_exactly():
    z = np.array([[0.0, 0.0], [2.0, 2.0], [10.0, 10.0]], np.float32)
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [9.0, 0.0]])
    on_point = field.neighbour_codes(z, xy, np.array([[1.0, 0.0]]), k=2)
    np.testing.assert_allclose(on_point[0], z[1], atol=1e-6)
    between = field.neighbour_codes(z, xy, np.array([[0.5, 0.0]]), k=2)
    np.testing.assert_allclose(between[0], [1.0, 1.0], atol=1e-6)  # equal weights


def test_pca_inverse_is_the_exact_inverse_of_the_stored_map():
    from sklearn.decomposition import PCA

    z = _blobs()
    model = PCA(n_components=2, random_state=3).fit(z)
    xy = model.transform(z).astype(np.float32)  # a map as stored (float32)
    places = np.array([[0.0, 0.0], [1.0, -2.0]])
    codes, how = pca.inverse(model, z, xy, places)
    np.testing.assert_allclose(codes, model.inverse_transform(places), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.transform(codes), places, atol=1e-4)  # back where it was
    assert "exact" in how
    with pytest.raises(AtlasError, match="different runs"):
        pca.inverse(model, z, xy[::-1].copy(), places)


def test_project_saves_the_fitted_object_the_field_inverts(tmp_path):
    """The project rule's .fit.pkl: PCA's fitted estimator (its transform places the map's test
    points), None for a method without an inverse; the map is the same either way."""
    z = _blobs()
    g = neighbors.knn_graph(z[:500], z[500:], 16, 1)
    g = {**g, "train_index": np.arange(500), "test_index": np.arange(len(z) - 500)}
    latent = {"z_train": z[:500], "z_test": z[500:], "y_train": np.zeros(500, np.uint8)}
    latent["y_test"] = np.zeros(len(z) - 500, np.uint8)
    frame = projections.project("pca", latent, g, {"seed": 0}, 1, tmp_path / "p.parquet")
    again = projections.project(
        "pca", latent, g, {"seed": 0}, 1, tmp_path / "q.parquet", tmp_path / "pca.fit.pkl"
    )
    pd.testing.assert_frame_equal(frame, again)
    fitted = methods.get("pca").load(tmp_path / "pca.fit.pkl")
    test = again[again["split"] == "test"][["x", "y"]].to_numpy()
    np.testing.assert_allclose(fitted.transform(z[500:]), test, atol=1e-5)
    params = {"perplexity": 5, "n_iter": 50, "backend": "opentsne", "seed": 0}
    projections.project("tsne", latent, g, params, 1, tmp_path / "t.parquet", tmp_path / "t.pkl")
    assert load_pickle(tmp_path / "t.pkl") is None
    (tmp_path / "bad.pkl").write_bytes(b"not a pickle")
    with pytest.raises(AtlasError, match="rerun snakemake"):
        methods.get("pca").load(tmp_path / "bad.pkl")


@pytest.mark.slow(reason="fits UMAP")
def test_umap_inverse_of_the_saved_fit_equals_the_fitted_models_inverse_transform(tmp_path):
    """The UMAP the project rule fitted and saved inverts bit for bit as the model in memory
    did (nothing rebuilt from its parts, nothing fitted again)."""
    z = _blobs(n=4200)  # above umap-learn's 4,096-point "small data" path, as MNIST maps are
    g = neighbors.knn_graph(z, z[:5], 16, 1)
    params = {"n_neighbors": 15, "min_dist": 0.1, "deterministic": True, "seed": 1}
    xy, _, _, fitted = methods.get("umap").fit(z, z[:5], g, params, 1)
    _, (x0, x1, y0, y1) = field.grid(xy, 3)  # padded: its corners lie outside every point
    inside = np.array([[float(np.median(xy[:, 0])), float(np.median(xy[:, 1]))]])
    inside = np.concatenate([inside, xy[:3] * 0.999 + xy.mean(axis=0) * 0.001])
    expected = fitted.inverse_transform(inside.astype(np.float32))
    save_pickle(tmp_path / "umap.fit.pkl", fitted)
    saved = methods.get("umap").load(tmp_path / "umap.fit.pkl")
    codes, how = umap.inverse(saved, z, xy, inside)
    np.testing.assert_array_equal(codes, expected)
    assert how == "exact: UMAP.inverse_transform (umap-learn)"
    # outside the map's convex hull (the grid's corners) umap-learn has no triangle to invert
    # from: those cells take the neighbour-weighted codes, and the page says how many
    corners = np.array([[x0, y1], [x1, y0]])
    codes, how = umap.inverse(saved, z, xy, corners)
    np.testing.assert_allclose(codes, field.neighbour_codes(z, xy, corners), rtol=1e-6)
    assert "2 cells outside it neighbour-weighted" in how
    with pytest.raises(AtlasError, match="different runs"):
        umap.inverse(saved, z, xy[::-1].copy(), inside)


def test_field_codes_use_the_methods_inverse_or_nearby_codes(tmp_path):
    z = _blobs()
    g = neighbors.knn_graph(z, z[:20], 16, 1)
    g = {**g, "train_index": np.arange(len(z)), "test_index": np.arange(20)}
    from sklearn.decomposition import PCA

    pca_model = PCA(n_components=2, random_state=0).fit(z)
    save_pickle(tmp_path / "pca.fit.pkl", pca_model)
    frame = _frame(pca_model.transform(z), pca_model.transform(z[:20]))
    out = field.field_codes("pca", frame, z, g, tmp_path / "pca.fit.pkl", 5)
    assert out["codes"].shape == (25, z.shape[1]) and str(out["how"]).startswith("exact")
    centres, extent = field.grid(frame[["x", "y"]].to_numpy(), 5)
    np.testing.assert_allclose(out["extent"], extent)
    np.testing.assert_allclose(pca_model.transform(out["codes"]), centres, atol=1e-4)
    tsne = field.field_codes("tsne", frame, z, g, None, 4)  # no inverse: nearby codes
    assert str(tsne["how"]) == field.NEIGHBOUR_HOW and tsne["codes"].shape == (16, z.shape[1])
    with pytest.raises(AtlasError, match="different runs"):
        bad = {**g, "train_index": np.arange(1, len(z) + 1)}
        field.field_codes("pca", frame, z, bad, tmp_path / "pca.fit.pkl", 5)
    near = field.field_codes("pca", frame, z, g, None, 5, "neighbours")  # asked: no fit read
    assert str(near["how"]) == field.NEIGHBOUR_HOW
    np.testing.assert_array_equal(
        near["codes"], neighbour_codes(z, frame[["x", "y"]].to_numpy()[: len(z)], centres)
    )
    with pytest.raises(AtlasError, match=r"exact.*neighbours"):
        field.field_codes("pca", frame, z, g, None, 5, "nearest")


def test_a_closed_form_inverse_is_used_and_umaps_iterative_one_only_when_asked():
    from conftest import plan

    default = plan()
    assert default.field_inverse("pca") == "exact"
    assert default.field_inverse("umap") == "neighbours"
    assert default.field_inverse("tsne") == "neighbours"
    exact = plan("atlas={field_exact_inverse: true}")
    assert exact.field_inverse("umap") == "exact" and exact.field_inverse("tsne") == "neighbours"


@pytest.mark.slow(reason="imports TensorFlow, builds a decoder")
def test_decode_draws_the_cells_with_the_models_decoder(tmp_path):
    """A decoder whose output is sigmoid(w . z) per pixel: the stored images are exactly it."""
    from latent_atlas import tfsetup

    tfsetup.configure(1)
    import keras
    from latent_atlas.io import save_npz

    z_in = keras.Input((3,))
    dec = keras.Model(z_in, keras.layers.Dense(4, activation="sigmoid")(z_in), name="decoder")
    x_in = keras.Input((4,))
    enc = keras.Model(x_in, keras.layers.Dense(3)(x_in), name="encoder")
    keras.Model(x_in, dec(enc(x_in)), name="autoencoder").save(tmp_path / "model.keras")
    codes = np.random.default_rng(0).normal(size=(9, 3)).astype(np.float32)
    cells = {"codes": codes, "extent": np.array([0.0, 1, 0, 1]), "size": np.int64(3)}
    save_npz(tmp_path / "c.npz", {**cells, "how": np.array("x"), "method": np.array("pca")})
    data = {"image_shape": np.array([2, 2])}
    out = field.decode(tmp_path / "c.npz", tmp_path / "model.keras", data, tmp_path / "f.npz")
    w, b = dec.layers[-1].get_weights()
    expected = np.rint(255 / (1 + np.exp(-(codes @ w + b))))
    np.testing.assert_allclose(out["images"], expected, atol=1)
    assert field.load(tmp_path / "f.npz")["images"].dtype == np.uint8
    save_npz(
        tmp_path / "bad.npz",
        {**cells, "codes": codes[:, :2], "how": np.array("x"), "method": np.array("pca")},
    )
    with pytest.raises(AtlasError, match="3-D codes"):
        field.decode(tmp_path / "bad.npz", tmp_path / "model.keras", data, tmp_path / "g.npz")
    assert not (tmp_path / "g.npz").exists()
