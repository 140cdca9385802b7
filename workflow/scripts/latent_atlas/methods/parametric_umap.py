"""Parametric UMAP (Sainburg, McInnes & Gentner 2021): a dense network trained with UMAP's loss
on the fuzzy graph of the train codes; test codes are placed by running them through it.

umap-learn's ``ParametricUMAP`` (Keras 3 on TensorFlow) on the shared kNN graph. TensorFlow is
imported only in this method's jobs, with the training set-up of :mod:`latent_atlas.tfsetup`:
``keras.utils.set_random_seed`` and op determinism, on the job's threads. A rerun on the same
machine, software and thread count gives the same map bit for bit (tested); another thread count
or CPU type changes TensorFlow's reduction order and so the last bits, which training amplifies
into a map that differs in detail (as for the models themselves).

Training time grows with points x ``n_epochs`` (every edge of the graph is sampled in
proportion to its weight, ``n_epochs`` times for the heaviest), so ``n_epochs`` is a parameter
with a default below umap-learn's own (200 above 10,000 points); the README gives its cost.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping

import numpy as np

from ._base import Method, Result


def fit(
    z_train: np.ndarray, z_test: np.ndarray, graph: Mapping, params: Mapping, threads: int
) -> Result:
    from .. import tfsetup

    seed = int(params["seed"])
    tfsetup.configure(threads, seed, deterministic=True)
    import keras

    from ._umap_import import import_umap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Torch and ONNX required for exporting", n_jobs note
        import_umap()
        from umap.parametric_umap import ParametricUMAP

        k = int(params["n_neighbors"])
        layers = [keras.layers.Dense(int(h), activation="relu") for h in params["hidden"]]
        encoder = keras.Sequential(
            [keras.layers.Input(shape=(z_train.shape[1],)), *layers, keras.layers.Dense(2)]
        )
        model = ParametricUMAP(
            encoder=encoder,
            n_components=2,
            n_neighbors=k,
            min_dist=params["min_dist"],
            metric="euclidean",
            n_epochs=int(params["n_epochs"]),
            batch_size=int(params["batch_size"]),
            random_state=seed,
            n_jobs=1,
            precomputed_knn=(graph["train_ind"][:, :k], graph["train_dist"][:, :k], None),
            keras_fit_kwargs={"verbose": 0},
            verbose=False,
        )
        x_train = np.ascontiguousarray(z_train, np.float32)
        t0 = time.perf_counter()
        train_xy = np.asarray(model.fit_transform(x_train))
        t1 = time.perf_counter()
        test_xy = np.asarray(model.transform(np.ascontiguousarray(z_test, np.float32)))
        t2 = time.perf_counter()
    info = {
        "fit_seconds": t1 - t0,
        "transform_seconds": t2 - t1,
        "placement": "test points placed by the trained encoder network",
        "encoder": f"dense {list(params['hidden'])} (relu) -> 2",
    }
    # No inverse (the network maps codes to places only): the field needs nothing of the fit.
    return train_xy, test_xy, info, None


def neighbors(params: Mapping) -> int:
    return int(params["n_neighbors"])


def threads(params: Mapping, cores: int) -> int:
    """Every core up to 8: TensorFlow uses them, and the map depends on their number."""
    return max(1, min(8, cores))


def thread_dependent(params: Mapping) -> bool:
    return True


METHOD = Method(
    name="parametric_umap",
    title="Parametric UMAP",
    color="tab:red",
    fit=fit,
    neighbors=neighbors,
    threads=threads,
    thread_dependent=thread_dependent,
    description="a network trained with UMAP's loss; places new points by running them through",
    packages=("umap-learn", "tensorflow-cpu", "keras"),
    env="parametric_umap",
)
