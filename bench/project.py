"""Projection speed: the seed tutorial's projection code against latent-atlas' projection stage.

Same 32-D codes (default: results/mnist/ae32/latent.npz; build it with
`snakemake results/mnist/ae32/latent.npz`). Each side runs in a fresh Python process, one after
the other, sharing numba's on-disk cache, and times its computation (imports excluded):

- seed: PCA (fit train, transform test); scikit-learn t-SNE (max_iter=1000) fitted separately on
  5,000 train and 1,000 test codes; UMAP(random_state=42) fit on train, transform test.
- ours: the shared exact kNN graph; PCA, openTSNE and UMAP on all train codes with every test
  code placed into the same map; and every metric of every map (k-NN, trustworthiness,
  silhouette) plus the latent-space reference.

Then every registered method (latent_atlas.methods) on its own, each in a fresh process with
the parameters of config.yaml: fit and placement seconds and the process's peak memory; and the
seconds of PCA, t-SNE and UMAP (kNN graph share included) at growing sizes.

    .venv/bin/python bench/project.py [--latent PATH] [--parts seed methods scaling]
        [--methods pca tsne ...] [--sizes 5000 10000 20000 40000 70000] [--markdown PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import _markdown

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))
THREADS = os.cpu_count() or 1


def load(path: str):
    from latent_atlas.io import load_npz

    return load_npz(path, ("z_train", "z_test", "y_train", "y_test"))


def seed_side(path: str) -> dict:
    """The tutorial's projection code (t-SNE's `n_iter` is `max_iter` in scikit-learn >= 1.5)."""
    import warnings

    import umap
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    warnings.filterwarnings("ignore")
    d = load(path)
    latent_space_train, latent_space_test = d["z_train"], d["z_test"]
    times = {}
    t = time.perf_counter()
    pca = PCA(n_components=2)
    pca.fit_transform(latent_space_train)
    pca.transform(latent_space_test)
    times["pca"] = time.perf_counter() - t
    t = time.perf_counter()
    tsne = TSNE(n_components=2, random_state=42, perplexity=30, max_iter=1000)
    tsne.fit_transform(latent_space_train[:5000])
    tsne.fit_transform(latent_space_test[:1000])
    times["tsne (5k + 1k, two maps)"] = time.perf_counter() - t
    t = time.perf_counter()
    reducer = umap.UMAP(n_components=2, random_state=42)
    reducer.fit_transform(latent_space_train)
    reducer.transform(latent_space_test)
    times["umap"] = time.perf_counter() - t
    return times


def ours_side(
    path: str,
    n: int | None = None,
    methods: tuple[str, ...] = ("pca", "tsne", "umap"),
    with_metrics: bool = True,
) -> dict:
    """latent-atlas' projection stage as the rules run it, optionally on a subsample of n."""
    import tempfile

    from latent_atlas import maps, measures, metrics, neighbors, projections

    d = load(path)
    params = {
        "pca": {"seed": 42},
        "tsne": {
            "backend": "opentsne",
            "perplexity": 30,
            "n_iter": 500,
            "ints_in_interval": 2,
            "seed": 42,
        },
        "umap": {"n_neighbors": 15, "min_dist": 0.1, "deterministic": True, "seed": 42},
    }
    mparams = {
        "knn_k": [1, 5],
        "trustworthiness_points": 10_000,
        "trustworthiness_k": 5,
        "silhouette_sample": None,
        "seed": 42,
    }
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        graph = neighbors.build(d, {"k": 91, "max_points": n, "seed": 42}, THREADS, f"{tmp}/g.npz")
        times["knn graph"] = time.perf_counter() - t
        z_train = d["z_train"][graph["train_index"]]
        for method in methods:
            t = time.perf_counter()
            frame = projections.project(
                method, d, graph, params[method], THREADS, f"{tmp}/{method}.parquet"
            )
            times[method] = time.perf_counter() - t
            if with_metrics:
                t = time.perf_counter()
                _, info = maps.read_map(f"{tmp}/{method}.parquet")
                measures.map_metrics(frame, info, z_train, mparams, THREADS)
                times[f"metrics {method}"] = time.perf_counter() - t
        if with_metrics:
            t = time.perf_counter()
            metrics.reference_metrics(d, graph, None, [1, 5], THREADS)
            times["metrics latent"] = time.perf_counter() - t
    times["points"] = len(graph["train_index"]) + len(graph["test_index"])
    return times


def config_params() -> dict:
    """Each registered method's parameters as config.yaml (schema defaults filled) sets them."""
    import yaml
    from latent_atlas import methods
    from snakemake.utils import validate

    root = Path(__file__).resolve().parents[1]
    cfg = yaml.safe_load((root / "config.yaml").read_text())
    validate(cfg, str(root / "workflow/schemas/config.schema.yaml"), set_default=True)
    seed = cfg["projection"]["seed"]
    return {m: {**cfg["methods"][m], "seed": seed} for m in methods.names()}


def one_method(path: str, method: str) -> dict:
    """One method as its rule runs it, on a graph sized for it: seconds and peak memory."""
    import resource
    import tempfile

    from latent_atlas import maps, methods, neighbors, projections

    d = load(path)
    params = config_params()[method]
    k = max(16, methods.get(method).neighbors(params))
    threads = methods.get(method).threads(params, THREADS)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        graph = neighbors.build(d, {"k": k, "max_points": None, "seed": 42}, THREADS, f"{tmp}/g")
        graph_s = time.perf_counter() - t
        projections.project(method, d, graph, params, threads, f"{tmp}/m.parquet")
        info = maps.read_map(f"{tmp}/m.parquet")[1]
    return {
        "graph_k": k,
        "graph_seconds": graph_s,
        "threads": threads,
        "fit_seconds": info["fit_seconds"],
        "transform_seconds": info["transform_seconds"],
        "fitted_together": bool(info.get("fitted_together", False)),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_child(args: list[str]) -> dict:
    """Run this script as a fresh process for one side; it prints JSON on its last line."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.setdefault("NUMBA_CACHE_DIR", str(Path("~/.cache/latent-atlas/numba").expanduser()))
    proc = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, env=env
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latent", default="results/mnist/ae32/latent.npz")
    ap.add_argument("--sizes", type=int, nargs="*", default=[5000, 10000, 20000, 40000, 70000])
    ap.add_argument("--parts", nargs="*", default=["seed", "methods", "scaling"])
    ap.add_argument("--methods", nargs="*", help="registered methods to time (default: all)")
    ap.add_argument("--child", choices=["seed", "ours", "scale", "method"], help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--method", help=argparse.SUPPRESS)
    _markdown.add_argument(ap, "project")
    args = ap.parse_args()
    if args.child == "method":
        print(json.dumps(one_method(args.latent, args.method)))
        return
    if args.child == "seed":
        print(json.dumps(seed_side(args.latent)))
        return
    if args.child == "ours":
        print(json.dumps(ours_side(args.latent)))
        return
    if args.child == "scale":
        print(json.dumps(ours_side(args.latent, n=args.n, with_metrics=False)))
        return

    setup = f"codes: {args.latent}; {THREADS} CPUs; each side in a fresh process"
    print(setup, flush=True)
    results: dict = {}
    if "seed" in args.parts:
        results["seed"] = seed_vs_ours(args.latent)
    if "methods" in args.parts:
        results["methods"] = every_method(args.latent, args.methods)
    if "scaling" in args.parts:
        results["scaling"] = scaling(args.latent, args.sizes)
    if args.markdown:
        body = markdown_body(setup, results)
        _markdown.write_block(args.markdown, "project", _markdown.block("Projection speed", body))


def markdown_body(setup: str, results: dict) -> list[str]:
    """The printed results as markdown, one table per part that ran."""
    parts = [f"{setup[0].upper()}{setup[1:]}."]
    if "seed" in results:
        seed, ours, n = results["seed"]
        seed_total, ours_total = sum(seed.values()), sum(ours.values())
        rows = [["seed", k, f"{v:.1f}"] for k, v in seed.items()]
        rows.append(["seed", "**total** (6,000 t-SNE points, no metrics)", f"{seed_total:.1f}"])
        rows += [["ours", k, f"{v:.1f}"] for k, v in ours.items()]
        rows.append(
            ["ours", f"**total** ({n:,} points in every map, metrics)", f"{ours_total:.1f}"]
        )
        parts += [
            "Seed tutorial's projection code against ours (each side in a fresh process):",
            _markdown.table(["side", "stage", "seconds>"], rows),
            f"Seed / ours: **{seed_total / ours_total:.2f}x** (ours maps {n / 6000:.1f}x more "
            "points with t-SNE).",
        ]
    if "methods" in results:
        header = ["method", "threads>", "graph k>", "graph s>", "fit s>", "place s>", "peak MB>"]
        rows = [
            [
                name,
                r["threads"],
                r["graph_k"],
                f"{r['graph_seconds']:.1f}",
                f"{r['fit_seconds']:.1f}",
                f"{r['transform_seconds']:.1f}",
                f"{r['peak_rss_mb']:.0f}",
                "fitted in with train" if r["fitted_together"] else "placed",
            ]
            for name, r in results["methods"]
        ]
        parts += [
            "Every registered method with config.yaml's parameters, one fresh process each:",
            _markdown.table([*header, "test points"], rows),
        ]
    if "scaling" in results:
        rows = [
            [f"{t['points']:,}", *(f"{t[m]:.1f}" for m in ("knn graph", "pca", "tsne", "umap"))]
            for t in results["scaling"]
        ]
        parts += [
            "Seconds per method at growing sizes (ours; the kNN graph separately):",
            _markdown.table(["points>", "knn graph>", "pca>", "tsne>", "umap>"], rows),
        ]
    return parts


def seed_vs_ours(latent: str) -> tuple[dict, dict, int]:
    seed = run_child(["--latent", latent, "--child", "seed"])
    for k, v in seed.items():
        print(f"  seed {k:28s} {v:8.1f} s")
    seed_total = sum(seed.values())
    print(f"seed total (6,000 t-SNE points, no metrics): {seed_total:8.1f} s", flush=True)
    ours = run_child(["--latent", latent, "--child", "ours"])
    n = ours.pop("points")
    for k, v in ours.items():
        print(f"  ours {k:28s} {v:8.1f} s")
    ours_total = sum(ours.values())
    print(f"ours total ({n:,} points in every map, metrics included): {ours_total:8.1f} s")
    print(
        f"ratio seed / ours: {seed_total / ours_total:.2f}x "
        f"(ours maps {n / 6000:.1f}x more points with t-SNE)",
        flush=True,
    )
    return seed, ours, n


def every_method(latent: str, names: list[str] | None) -> list[tuple[str, dict]]:
    from latent_atlas import methods

    print("\nevery registered method, config.yaml's parameters, one fresh process each:")
    print(
        f"{'method':>16} {'threads':>7} {'graph k':>7} {'graph s':>8} {'fit s':>8} "
        f"{'place s':>8} {'peak MB':>8}  test points"
    )
    rows = []
    for name in names or methods.names():
        r = run_child(["--latent", latent, "--child", "method", "--method", name])
        rows.append((name, r))
        how = "fitted in with train" if r["fitted_together"] else "placed"
        print(
            f"{name:>16} {r['threads']:7d} {r['graph_k']:7d} {r['graph_seconds']:8.1f} "
            f"{r['fit_seconds']:8.1f} {r['transform_seconds']:8.1f} {r['peak_rss_mb']:8.0f}  {how}",
            flush=True,
        )
    return rows


def scaling(latent: str, sizes: list[int]) -> list[dict]:
    print("\nscaling (ours, seconds per method incl. nothing else; kNN graph separately):")
    print(f"{'points':>8} {'knn graph':>10} {'pca':>8} {'tsne':>8} {'umap':>8}")
    rows = []
    for size in sizes:
        t = run_child(["--latent", latent, "--child", "scale", "--n", str(size)])
        rows.append(t)
        row = f"{t['points']:8d} {t['knn graph']:10.1f}"
        print(row + "".join(f" {t[m]:8.1f}" for m in ("pca", "tsne", "umap")), flush=True)
    return rows


if __name__ == "__main__":
    main()
