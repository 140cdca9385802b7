"""How alike two latent spaces of the same points are, as a whole and per point, calibrated
against a permutation null.

Three measures, each 1 for two spaces that differ only by a rotation, a uniform scale and a
translation:

- ``cka_debiased``: linear centred kernel alignment (Kornblith et al. 2019) with the unbiased
  HSIC estimator (Song et al. 2012), which removes the upward bias plain CKA has when the
  dimension is large against the number of points. Computed in feature space (O(n d^2), no n x n
  Gram matrix), so it runs on every point.
- ``procrustes``: the orthogonal Procrustes similarity of the centred, unit-norm spaces, the
  nuclear norm of ``X^T Y``; the Procrustes distance is ``sqrt(2 - 2 * procrustes)``.
- ``mutual_knn``: the share of each point's k nearest neighbours that the two spaces agree on
  (Huh et al. 2024), from the kNN graphs the study already has; its per-point values are what the
  atlas colours by.

Raw scores are not comparable across pairs: wide or deep spaces score high by chance. Each score
is set against the same seeded permutations of one side's rows (the same points, paired at
random): the null's mean and spread, a p-value ``(1 + #{null >= raw}) / (1 + permutations)`` and
a calibrated score ``(raw - null mean) / (1 - null mean)`` (0: no more alike than chance, 1:
identical up to rotation and scale).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import AtlasError

MEASURES = ("cka_debiased", "procrustes", "mutual_knn")
PIXELS = "pixels"  # the reference space: the dataset's own pixels
PAIR = "~"  # a pair's name (its model column in metrics.csv): "pixels~ae32"
COLUMNS = (
    "a",
    "b",
    "measure",
    "raw",
    "null_mean",
    "null_sd",
    "p_value",
    "calibrated",
    "points",
    "permutations",
)


@dataclass(frozen=True)
class Space:
    """One latent space of the compared points: its codes and its kNN graph (rows: points,
    columns: the k nearest other points, nearest first)."""

    codes: np.ndarray
    knn: np.ndarray


def _centred(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x - x.mean(axis=0)


class _Hsic:
    """The pieces of the unbiased HSIC estimator of one space's linear kernel ``K = X X^T``
    that do not depend on the other space: with ``K~`` (K with a zero diagonal), its diagonal
    ``a``, the row sums ``u = K~ 1`` and the total ``1^T K~ 1``."""

    def __init__(self, x: np.ndarray):
        self.x = _centred(x)
        self.n = len(self.x)
        if self.n < 4:
            raise AtlasError(f"debiased CKA needs at least 4 points; got {self.n}")
        self.a = np.einsum("ij,ij->i", self.x, self.x)
        self.u = self.x @ self.x.sum(axis=0) - self.a
        self.total = float(self.u.sum())
        self.self_hsic = self.hsic(self, self.x.T @ self.x, np.arange(self.n))

    def hsic(self, other: _Hsic, cross: np.ndarray, rows: np.ndarray) -> float:
        """HSIC_1(K, L) with L's points taken in the order ``rows``; ``cross = X^T Y[rows]``."""
        n = self.n
        trace = float(np.sum(cross * cross) - self.a @ other.a[rows])
        both = float(self.u @ other.u[rows])
        value = trace + self.total * other.total / ((n - 1) * (n - 2)) - 2.0 * both / (n - 2)
        return value / (n * (n - 3))


def cka_debiased(x: np.ndarray, y: np.ndarray) -> float:
    """Debiased linear CKA of two spaces of the same points (rows paired)."""
    hx, hy = _Hsic(x), _Hsic(y)
    rows = np.arange(hx.n)
    return _cka(hx, hy, hx.x.T @ hy.x, rows)


def _cka(hx: _Hsic, hy: _Hsic, cross: np.ndarray, rows: np.ndarray) -> float:
    denominator = np.sqrt(max(hx.self_hsic, 0.0) * max(hy.self_hsic, 0.0))
    return float(hx.hsic(hy, cross, rows) / denominator) if denominator > 0 else 0.0


def _unit(x: np.ndarray) -> np.ndarray:
    x = _centred(x)
    norm = np.linalg.norm(x)
    return x / norm if norm > 0 else x


def procrustes(x: np.ndarray, y: np.ndarray) -> float:
    """Orthogonal Procrustes similarity of the centred, unit-norm spaces (1: equal up to a
    rotation, reflection, uniform scale and translation)."""
    return _nuclear(_unit(x).T @ _unit(y))


def _nuclear(cross: np.ndarray) -> float:
    return float(np.linalg.svd(cross, compute_uv=False).sum())


def mutual_knn_points(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per point, the share of its k nearest neighbours in ``a`` that are among its k nearest in
    ``b`` (both n x k, each row without repeats)."""
    if a.shape != b.shape:
        raise AtlasError(f"kNN graphs of different shapes {a.shape} and {b.shape}")
    both = np.sort(np.concatenate([a, b], axis=1), axis=1)
    return (both[:, 1:] == both[:, :-1]).sum(axis=1) / a.shape[1]


def _permuted_knn(knn: np.ndarray, perm: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """The kNN graph of the space whose point i is the original point ``perm[i]``."""
    return inverse[knn[perm]]


def compare(
    x: Space, y: Space, permutations: int, seed: int
) -> tuple[dict[str, dict[str, float]], np.ndarray]:
    """Every measure of two spaces with its permutation null; and the per-point mutual kNN."""
    n = len(x.codes)
    if len(y.codes) != n or len(x.knn) != n or len(y.knn) != n:
        raise AtlasError(
            f"the two spaces have {len(x.codes)} and {len(y.codes)} points (kNN rows "
            f"{len(x.knn)}, {len(y.knn)}): they must hold the same points in the same order"
        )
    if permutations < 1:
        raise AtlasError(f"similarity.permutations is {permutations}; use at least 1 (e.g. 100)")
    hx, hy = _Hsic(x.codes), _Hsic(y.codes)
    # Procrustes works on the unit-norm centred spaces: their X^T Y is CKA's cross product
    # over the two norms, so each permutation does the one matrix product for both.
    norms = float(np.linalg.norm(hx.x) * np.linalg.norm(hy.x))

    def procrustes_of(cross: np.ndarray) -> float:
        return _nuclear(cross / norms) if norms > 0 else 0.0

    points = mutual_knn_points(x.knn, y.knn)
    identity = np.arange(n)
    cross = hx.x.T @ hy.x
    raw = {
        "cka_debiased": _cka(hx, hy, cross, identity),
        "procrustes": procrustes_of(cross),
        "mutual_knn": float(points.mean()),
    }
    rng = np.random.default_rng(seed)
    null = {m: np.empty(permutations) for m in MEASURES}
    for p in range(permutations):
        perm = rng.permutation(n)
        inverse = np.empty_like(perm)
        inverse[perm] = identity
        cross = hx.x.T @ hy.x[perm]
        null["cka_debiased"][p] = _cka(hx, hy, cross, perm)
        null["procrustes"][p] = procrustes_of(cross)
        null["mutual_knn"][p] = mutual_knn_points(x.knn, _permuted_knn(y.knn, perm, inverse)).mean()
    scores = {}
    for m in MEASURES:
        mean = float(null[m].mean())
        scores[m] = {
            "raw": raw[m],
            "null_mean": mean,
            "null_sd": float(null[m].std(ddof=1)) if permutations > 1 else 0.0,
            "p_value": float((1 + np.sum(null[m] >= raw[m])) / (1 + permutations)),
            "calibrated": float((raw[m] - mean) / (1.0 - mean)) if mean < 1 else 0.0,
        }
    return scores, points


def table(
    spaces: Mapping[str, Space], permutations: int, seed: int
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Every pair of ``spaces`` (in the given order) compared: the tidy table (one row per pair
    and measure) and the per-point mutual kNN of each pair, keyed ``"a~b"``."""
    names = list(spaces)
    rows, points = [], {}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            scores, per_point = compare(spaces[a], spaces[b], permutations, seed)
            points[f"{a}{PAIR}{b}"] = per_point.astype(np.float32)
            n = len(spaces[a].codes)
            for m in MEASURES:
                rows.append({"a": a, "b": b, "measure": m, **scores[m], "points": n})
    frame = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "permutations"])
    frame["permutations"] = permutations
    return frame, points


def load_space(codes: np.ndarray, graph: Mapping[str, np.ndarray], k: int) -> Space:
    """A space of the graph's train points: their codes and their k nearest other points (the
    graph's column 0 is the point itself)."""
    ind = graph["train_ind"]
    if ind.shape[1] <= k:
        raise AtlasError(
            f"similarity.k is {k} but the kNN graph has {ind.shape[1] - 1} neighbours a point; "
            f"use similarity.k below {ind.shape[1]}"
        )
    return Space(codes[graph["train_index"]], ind[:, 1 : k + 1])


def _same_points(
    spaces: Mapping[str, tuple[np.ndarray, Mapping[str, np.ndarray]]], k: int, where: str
) -> tuple[dict[str, Space], np.ndarray]:
    """The spaces (name -> (codes, kNN graph)) loaded on their graphs' points, and those points;
    an error naming the spaces whose graphs hold other points (each graph of a dataset maps the
    same points: a mismatch means files of different runs)."""
    indices = {name: graph["train_index"] for name, (_, graph) in spaces.items()}
    first_name, first = next(iter(indices.items()))
    other = [n for n, idx in indices.items() if not np.array_equal(idx, first)]
    if other:
        raise AtlasError(
            f"{where}: the kNN graphs of {', '.join(other)} hold other points than "
            f"{first_name}'s; delete their neighbors.npz and rerun snakemake (every graph of a "
            "dataset maps the same points)"
        )
    loaded = {name: load_space(codes, graph, k) for name, (codes, graph) in spaces.items()}
    return loaded, first


def tidy_rows(frame: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """The pairs' scores as rows of the study's tidy metrics table: model ``a~b``, method
    ``similarity``, metric the measure (its calibrated score) and ``<measure>_raw``,
    ``_null_mean``, ``_null_sd``, ``_p_value``."""
    rows = []
    for r in frame.itertuples(index=False):
        model = f"{r.a}{PAIR}{r.b}"
        for field, suffix in (
            ("calibrated", ""),
            ("raw", "_raw"),
            ("null_mean", "_null_mean"),
            ("null_sd", "_null_sd"),
            ("p_value", "_p_value"),
        ):
            rows.append((dataset, model, "similarity", f"{r.measure}{suffix}", getattr(r, field)))
    return pd.DataFrame(rows, columns=["dataset", "model", "method", "metric", "value"])


def run(
    dataset: str,
    spaces: Mapping[str, tuple[np.ndarray, Mapping[str, np.ndarray]]],
    params: Mapping,
    out: Mapping[str, str | os.PathLike[str]],
) -> pd.DataFrame:
    """The similarity rule: every pair of ``spaces`` (name -> (codes of all train points, kNN
    graph)) compared on the graphs' points; writes the table, its metrics rows and the
    per-point mutual kNN and the matrix figure (``out``: table, metrics, points, png)."""
    from .io import save_npz
    from .metrics import write_csv

    loaded, first = _same_points(spaces, int(params["k"]), dataset)
    frame, points = table(loaded, int(params["permutations"]), int(params["seed"]))
    frame.insert(0, "dataset", dataset)
    frame["k"] = int(params["k"])
    write_csv(frame, out["table"])
    write_csv(tidy_rows(frame, dataset), out["metrics"])
    from .plotting import save, similarity_figure

    n, permutations = len(first), int(params["permutations"])
    title = (
        f"{dataset}: how alike the latent spaces are ({n:,} points, k = {params['k']}, "
        f"{permutations} permutations)"
    )
    save(similarity_figure(frame, title), out["png"])
    save_npz(
        out["points"],
        {"train_index": first, "k": np.array(int(params["k"])), **points},
    )
    return frame


def across_seeds(
    params: Mapping,
    spaces: Mapping[tuple[str, str], tuple[np.ndarray, Mapping[str, np.ndarray]]],
    out: Mapping[str, str | os.PathLike[str]],
) -> pd.DataFrame:
    """The seed_similarity rule of a sweep: for each dataset and grid point, every pair of its
    replicas (models that differ only in their training seed) compared as :func:`table` does,
    and each point's stability: the mean over the pairs of its mutual k-NN (1: the same
    neighbours whatever the seed). ``spaces`` maps (dataset, model) to (codes, kNN graph);
    writes ``out["table"]`` (a row per group, pair and measure) and ``out["stability"]``
    (per group ``stability_<i>`` on the points ``train_index_<i>``, the groups named in
    ``datasets`` and ``points``)."""
    from .io import save_npz
    from .metrics import write_csv

    k, permutations, seed = int(params["k"]), int(params["permutations"]), int(params["seed"])
    frames, names, stability = [], [], {}
    for i, group in enumerate(params["groups"]):
        dataset, point = group["dataset"], group["point"]
        loaded, first = _same_points(
            {m: spaces[dataset, m] for m in group["models"]},
            k,
            f"sweep {params['sweep']}, {dataset} / {point}",
        )
        frame, points = table(loaded, permutations, seed)
        frames.append(frame.assign(dataset=dataset, point=point))
        stability[f"stability_{i}"] = np.mean(list(points.values()), axis=0).astype(np.float32)
        stability[f"train_index_{i}"] = first  # each dataset's points (two datasets differ)
        names.append((dataset, point))
    frame = pd.concat(frames, ignore_index=True)
    frame = frame[
        ["dataset", "point", *[c for c in frame.columns if c not in ("dataset", "point")]]
    ]
    frame["k"] = k
    write_csv(frame.assign(sweep=params["sweep"]), out["table"])
    save_npz(
        out["stability"],
        {
            "k": np.array(k),
            "datasets": np.array([d for d, _ in names]),
            "points": np.array([p for _, p in names]),
            **stability,
        },
    )
    return frame


def seed_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, grid point and measure: the calibrated and raw scores over the replica
    pairs (mean, sd, n)."""
    rows = []
    for (dataset, point, measure), g in frame.groupby(["dataset", "point", "measure"], sort=False):
        rows.append(
            {
                "dataset": dataset,
                "point": point,
                "measure": measure,
                "calibrated_mean": g["calibrated"].mean(),
                "calibrated_sd": g["calibrated"].std(ddof=1) if len(g) > 1 else np.nan,
                "raw_mean": g["raw"].mean(),
                "p_value_max": g["p_value"].max(),
                "pairs": len(g),
            }
        )
    return pd.DataFrame(rows)
