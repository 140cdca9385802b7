"""Scale: the projection stage on synthetic codes at growing sizes, time and peak memory.

Codes are a seeded 32-D gaussian mixture (10 classes), split 6:1 into train and test like
MNIST. Each step runs in a fresh Python process (so its peak RSS, read from the OS when it
exits, is its own): the shared kNN graph (approximate above --exact-max-points, recall
measured), then PCA, t-SNE (openTSNE) and UMAP on that graph with the study's default
parameters, test points placed. Prints per step the compute seconds (imports, data generation
and numba compilation excluded: each process first runs its step on 3,000 points), peak RSS,
and the exponents b of seconds ~ n^b and RSS ~ n^b fitted on log-log (least squares); then
what --extrapolate points would cost by that fit.

    nice -n 10 .venv/bin/python bench/scale.py [--sizes 70000 140000 280000] [--markdown PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _markdown
import numpy as np

SCRIPTS = Path(__file__).resolve().parents[1] / "workflow" / "scripts"
sys.path.insert(0, str(SCRIPTS))
STEPS = ("neighbors", "pca", "tsne", "umap")
PARAMS = {
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
WARMUP = 3000
K = 91  # 3 x perplexity + self, as the study's neighbors rule
HEADING = "Projection stage at growing sizes"


def codes(n: int, dim: int = 32, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded 32-D gaussian mixture of n points, 6/7 train and 1/7 test."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (10, dim)).astype(np.float32)
    y = rng.integers(0, 10, n)
    z = centres[y] + rng.normal(0, 1, (n, dim)).astype(np.float32)
    cut = n * 6 // 7
    return {
        "z_train": z[:cut],
        "z_test": z[cut:],
        "y_train": y[:cut].astype(np.uint8),
        "y_test": y[cut:].astype(np.uint8),
    }


def worker(step: str, n: int, folder: Path, exact_max: int, threads: int) -> None:
    """One step in this process; prints a JSON line with its compute seconds."""
    from latent_atlas import numba_cache

    numba_cache.setup_numba_cache(os.environ.get("NUMBA_CACHE_DIR", "~/.cache/latent-atlas/numba"))
    if n > WARMUP:  # same step on a few points first: numba compilation is not timed
        worker_step(step, WARMUP, folder, min(exact_max, WARMUP // 2), threads)
    print(json.dumps(worker_step(step, n, folder, exact_max, threads)), flush=True)


def worker_step(step: str, n: int, folder: Path, exact_max: int, threads: int) -> dict:
    """Run one step on n points; its compute seconds (and the graph's recall)."""
    from latent_atlas import neighbors, projections

    latent = codes(n)
    graph_path = folder / f"graph_{n}.npz"
    t = time.perf_counter()
    extra = {}
    if step == "neighbors":
        params = {
            "k": K,
            "max_points": None,
            "seed": 42,
            "exact_max_points": exact_max,
            "recall_sample": 1000,
        }
        g = neighbors.build(latent, params, threads, graph_path)
        extra = {
            "approximate": int(g["approximate"]),
            "train_recall": float(g["train_recall"]),
            "test_recall": float(g["test_recall"]),
        }
    else:
        graph = neighbors.load(graph_path)
        projections.project(
            step, latent, graph, PARAMS[step], threads, folder / f"{step}_{n}.parquet"
        )
    return {"seconds": time.perf_counter() - t, **extra}


def run_step(step: str, n: int, folder: Path, exact_max: int, threads: int) -> dict:
    """Run one step in a child process; its own peak RSS comes from wait4."""
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        step,
        str(n),
        str(folder),
        str(exact_max),
        str(threads),
    ]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{step} at n={n} failed (exit {proc.returncode})")
    result = json.loads(out.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - t
    result["rss_mb"] = usage.ru_maxrss / 1024  # Linux: KiB
    return result


def exponent(ns: list[int], ys: list[float]) -> float:
    """b of y ~ a n^b, least squares on log-log."""
    return float(np.polyfit(np.log(ns), np.log(ys), 1)[0])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", type=int, nargs="+", default=[70_000, 140_000, 280_000])
    ap.add_argument(
        "--exact-max-points",
        type=int,
        default=50_000,
        help="graph approximate above this many train points (default: all sizes)",
    )
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--extrapolate", type=int, default=1_000_000)
    ap.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    _markdown.add_argument(ap, "scale")
    args = ap.parse_args()
    if args.worker:
        step, n, folder, exact_max, threads = args.worker
        worker(step, int(n), Path(folder), int(exact_max), int(threads))
        return
    start = (
        f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
        f"on {os.cpu_count()} cores; threads={args.threads}"
    )
    print(start, flush=True)
    rows: dict[str, list[dict]] = {s: [] for s in STEPS}
    with tempfile.TemporaryDirectory(prefix="atlas-scale-") as tmp:
        for n in args.sizes:
            for step in STEPS:
                r = run_step(step, n, Path(tmp), args.exact_max_points, args.threads)
                rows[step].append(r)
                recall = (
                    f"  approximate={r['approximate']} recall train {r['train_recall']:.4f} "
                    f"test {r['test_recall']:.4f}"
                    if step == "neighbors"
                    else ""
                )
                print(
                    f"n={n:>9,} {step:<10} {r['seconds']:8.1f} s compute {r['wall']:8.1f} s wall "
                    f"{r['rss_mb']:8.0f} MB peak{recall}",
                    flush=True,
                )
    if len(args.sizes) < 2:
        print("\none size: no growth exponent to fit")
        if args.markdown:
            body = markdown_body(start, args.sizes, rows, [], args.extrapolate, "")
            _markdown.write_block(args.markdown, "scale", _markdown.block(HEADING, body))
        return
    print(
        f"\ngrowth exponents over n = {', '.join(f'{n:,}' for n in args.sizes)} "
        f"(seconds ~ n^b, peak RSS ~ n^b) and a fit-based estimate at n = {args.extrapolate:,}:"
    )
    growth = []
    for step in STEPS:
        secs = [r["seconds"] for r in rows[step]]
        mem = [r["rss_mb"] for r in rows[step]]
        bt, bm = exponent(args.sizes, secs), exponent(args.sizes, mem)
        scale = args.extrapolate / args.sizes[-1]
        growth.append((step, bt, bm, secs[-1] * scale**bt, mem[-1] * scale**bm))
        print(
            f"{step:<10} time b={bt:5.2f}  memory b={bm:5.2f}   extrapolated: "
            f"{secs[-1] * scale**bt:7.0f} s, {mem[-1] * scale**bm:6.0f} MB"
        )
    end = f"load at end: {os.getloadavg()[0]:.2f}"
    print(end)
    if args.markdown:
        body = markdown_body(start, args.sizes, rows, growth, args.extrapolate, end)
        _markdown.write_block(args.markdown, "scale", _markdown.block(HEADING, body))


def markdown_body(
    start: str,
    sizes: list[int],
    rows: dict[str, list[dict]],
    growth: list[tuple[str, float, float, float, float]],
    extrapolate: int,
    end: str,
) -> list[str]:
    """The printed results as markdown: every step at every size, then the fitted growth."""
    steps = []
    for i, n in enumerate(sizes):
        for step in STEPS:
            r = rows[step][i]
            recall = ""
            if step == "neighbors":
                how = "approximate" if r["approximate"] else "exact"
                recall = f"{r['train_recall']:.4f} / {r['test_recall']:.4f} ({how})"
            times = [f"{r['seconds']:.1f}", f"{r['wall']:.1f}", f"{r['rss_mb']:.0f}"]
            steps.append([f"{n:,}", step, *times, recall])
    header = ["points>", "step", "compute s>", "wall s>", "peak MB>", "graph recall train / test"]
    parts = [f"{start}.", _markdown.table(header, steps)]
    if not growth:
        return [*parts, "One size: no growth exponent to fit."]
    at = f"{extrapolate:,}"
    fitted = [[s, f"{bt:.2f}", f"{bm:.2f}", f"{t:.0f}", f"{m:.0f}"] for s, bt, bm, t, m in growth]
    return [
        *parts,
        f"Growth exponents b (seconds ~ n^b, peak RSS ~ n^b; least squares on log-log over "
        f"n = {', '.join(f'{n:,}' for n in sizes)}) and what the fit gives at n = {at}:",
        _markdown.table(["step", "time b>", "memory b>", f"s at {at}>", f"MB at {at}>"], fitted),
        f"{end[0].upper()}{end[1:]}.",
    ]


if __name__ == "__main__":
    main()
