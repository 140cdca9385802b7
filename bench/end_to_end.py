"""End to end at scale: the whole workflow on a seeded N-row embedding table, on this machine.

Builds a seeded table of N rows (64-D vectors on a 10-D mixture of 10 overlapping classes, 6/7
train), writes a study of it (`format: vectors`, model `none`, PCA, t-SNE and UMAP) into a
scratch copy of the workflow and runs a bare `snakemake --cores C` there, from an empty
`results/` and a cold numba cache. Measures the wall, the peak memory of the whole run (the
resident memory of snakemake and every job it runs, added up, sampled every half second) and
every job's seconds and memory (its benchmark file).

The quality guard (`--guard`): the same table mapped by a straight run of each library with its
own defaults (openTSNE's `TSNE`, umap-learn's `UMAP`, each finding its own neighbours, test points
placed with their `transform`), and both sides scored the same way here: 5-NN accuracy (a
classifier on the map's train points, scored on all its test points) and trustworthiness
(k = 5) on a seeded sample of 10,000 train points. The study's settings for large data pass when
each is within 0.01 of the straight run's.

    nice -n 10 .venv/bin/python bench/end_to_end.py --points 300000 [--guard] [--markdown PATH]

`--markdown PATH` writes the run's section between the file's `bench:end_to_end-N` markers (one
pair per N it is run for, e.g. `bench:end_to_end-300000`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import _markdown
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from study import copy_workflow, job_benchmarks, job_threads, timeline, work_floor  # noqa: E402

DIM, INTRINSIC, CLASSES, MODES = 64, 10, 10, 30
METHODS = ("pca", "tsne", "umap")
GUARD_SAMPLE = 10_000
MAPS = Path("results/table/none/projections")
GUARD_TOLERANCE = 0.01
HEADING = "A large table, end to end"


def table(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded N x 64 table with the shape of real embeddings: high ambient, low intrinsic
    dimension. A mixture of 30 Gaussian modes in 10-D (3 per class, so classes overlap: a 5-NN
    classifier on the vectors scores about 0.90), mapped into 64-D by a seeded random linear
    map, plus a little isotropic noise."""
    rng = np.random.default_rng(seed)
    modes = rng.normal(0, 1.5, (MODES, INTRINSIC))
    comp = rng.integers(0, MODES, n)
    u = modes[comp] + rng.normal(0, 1.0, (n, INTRINSIC))
    lift = rng.normal(0, 1 / np.sqrt(INTRINSIC), (INTRINSIC, DIM))
    z = (u @ lift + rng.normal(0, 0.1, (n, DIM))).astype(np.float32)
    split = np.where(np.arange(n) < n * 6 // 7, "train", "test")
    return {"z": z, "label": (comp % CLASSES).astype(np.int64), "split": split}


def write_table(t: dict[str, np.ndarray], path: Path) -> None:
    """The table as the `vectors` format reads it: label, split and one column per component.
    Written beside and renamed, so a concurrent straight run never reads half a table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = {"label": t["label"], "split": t["split"]}
    cols |= {f"v{i:02d}": t["z"][:, i] for i in range(DIM)}
    part = path.with_name(f"{path.name}.{os.getpid()}.part")
    pq.write_table(pa.table(cols), part)
    os.replace(part, path)


def study_config(table_path: Path) -> dict:
    """The benchmark's study: the table's own vectors (model `none`), three maps."""
    return {
        "study": {"datasets": ["table"], "methods": list(METHODS)},
        "datasets": {"table": {"format": "vectors", "path": str(table_path)}},
    }


class MemorySampler(threading.Thread):
    """Peak of the summed resident memory of a process and all its descendants, with what made
    it up: seconds from the start and each process's share (a job's script, or snakemake)."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.peak_mb, self.done = pid, every, 0.0, threading.Event()
        self.peak_at, self.peak_parts = 0.0, []  # (name, MB), largest first
        self.start_time = time.perf_counter()

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self.done.is_set():
            parts = []
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for p in procs:
                with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                    parts.append((process_name(p.cmdline()), p.memory_info().rss / 2**20))
            total = sum(mb for _, mb in parts)
            if total > self.peak_mb:
                self.peak_mb, self.peak_at = total, time.perf_counter() - self.start_time
                self.peak_parts = sorted(parts, key=lambda part: -part[1])
            self.done.wait(self.every)


def process_name(cmdline: list[str]) -> str:
    """A sampled process by what it runs: a job's script (snakemake copies ``project.py`` to
    ``.snakemake/scripts/tmpXXXX.project.py``), snakemake itself, or the program's name."""
    for arg in cmdline:
        name = Path(arg).name
        if "/.snakemake/scripts/" in arg:
            return name.split(".", 1)[1] if "." in name else name
        if name == "snakemake":
            return name
    return Path(cmdline[0]).name if cmdline else "?"


def run_study(workdir: Path, cores: int, env: dict) -> dict:
    """A bare snakemake of the study in ``workdir``: wall, peak memory, jobs, timeline."""
    log = workdir / "snakemake.log"
    cmd = [str(Path(sys.executable).parent / "snakemake"), "--cores", str(cores)]
    cmd += ["--configfile", "bench.yaml"]
    with log.open("w") as fh:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=fh, stderr=subprocess.STDOUT)
        sampler = MemorySampler(proc.pid)
        sampler.start()
        rc = proc.wait()
        wall = time.perf_counter() - t
        sampler.done.set()
        sampler.join()
    text = log.read_text()
    if rc != 0:
        raise SystemExit(f"snakemake failed (exit {rc}):\n{text[-4000:]}")
    jobs = job_benchmarks(workdir / "benchmarks")
    return {
        "wall": wall,
        "peak_mb": sampler.peak_mb,
        "peak_at": sampler.peak_at,
        "peak_parts": sampler.peak_parts,
        "jobs": jobs,
        "threads": job_threads(text),
        "spans": timeline(text),
    }


GB = 2**20 / 1e9  # MiB (what psutil's bytes / 2**20 and Snakemake's benchmarks give) to GB


def straight(method: str, z_train: np.ndarray, z_test: np.ndarray, threads: int) -> tuple:
    """The library's own run with its defaults (its own neighbours), test points transformed."""
    t = time.perf_counter()
    if method == "tsne":
        from openTSNE import TSNE

        emb = TSNE(n_jobs=threads, random_state=42).fit(z_train)
        test = np.asarray(emb.transform(z_test))
        train = np.asarray(emb)
    else:
        import warnings

        warnings.simplefilter("ignore")
        import umap

        model = umap.UMAP(random_state=42)
        train = model.fit_transform(z_train)
        test = model.transform(z_test)
    return train, test, time.perf_counter() - t


def scores(
    z_train: np.ndarray,
    y_train: np.ndarray,
    y_test: np.ndarray,
    train_xy: np.ndarray,
    test_xy: np.ndarray,
) -> dict[str, float]:
    """5-NN accuracy (all test points) and trustworthiness (k = 5, a seeded train sample)."""
    from latent_atlas import metrics

    rows = np.sort(np.random.default_rng(0).choice(len(z_train), GUARD_SAMPLE, replace=False))
    return {
        "knn_acc_5": metrics.knn_accuracy(train_xy, y_train, test_xy, y_test, 5, 2),
        "trustworthiness": metrics.trustworthiness(z_train[rows], train_xy[rows], GUARD_SAMPLE, 5),
    }


def guard_worker(method: str, table_path: str, out: str, threads: int) -> None:
    """Child process: the straight run of one library, its map saved to ``out`` (.npz)."""
    import pandas as pd

    frame = pd.read_parquet(table_path)
    z = frame[[c for c in frame.columns if c.startswith("v")]].to_numpy(np.float32)
    train = (frame["split"] == "train").to_numpy()
    tr, te, seconds = straight(method, z[train], z[~train], threads)
    np.savez(out, train=tr, test=te, seconds=seconds)


def straight_maps(
    points: int, method: str, folder: Path, threads: int, env: dict
) -> dict[str, np.ndarray | float]:
    """The library's straight map of the N-row table: read from ``folder`` if an earlier run
    left it there (the table is seeded: the same N, the same table), else run and keep it."""
    out = folder / f"straight_{method}_{points}.npz"
    kept = out.is_file()
    if not kept:
        folder.mkdir(parents=True, exist_ok=True)
        table_path = folder / f"table_{points}.parquet"
        if not table_path.is_file():
            write_table(table(points), table_path)
        part = out.with_suffix(".part.npz")
        cmd = [sys.executable, __file__, "--guard-worker", method]
        cmd += [str(table_path), str(part), str(threads)]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"the straight {method} run failed")
        with np.load(part) as f:
            arrays = dict(f)
        arrays |= {"wall": time.perf_counter() - t0, "rss_mb": usage.ru_maxrss / 1024}
        np.savez(out, **arrays)
        part.unlink()
    with np.load(out) as f:
        arrays = {k: (float(v) if v.ndim == 0 else v) for k, v in f.items()}
    return {**arrays, "kept": kept}


def guard(
    workdir: Path, t: dict[str, np.ndarray], threads: int, env: dict, folder: Path
) -> list[dict]:
    """Each library's straight run against the study's map of the same table."""
    from latent_atlas.maps import read_map

    train = t["split"] == "train"
    z_train, y_train, y_test = t["z"][train], t["label"][train], t["label"][~train]
    rows = []
    for method in ("tsne", "umap"):
        s = straight_maps(len(t["z"]), method, folder, threads, env)
        frame, _ = read_map(workdir / MAPS / f"{method}.parquet")
        ours = frame["split"].astype(str).to_numpy() == "train"
        xy = frame[["x", "y"]].to_numpy(np.float64)
        order = np.argsort(frame["index"].to_numpy()[ours])  # the map's train rows, by index
        index_test = np.argsort(frame["index"].to_numpy()[~ours])
        ours_scores = scores(z_train, y_train, y_test, xy[ours][order], xy[~ours][index_test])
        straight_scores = scores(z_train, y_train, y_test, s["train"], s["test"])
        rows.append(
            {
                "method": method,
                "straight_seconds": s["seconds"],
                "straight_wall": s["wall"],
                "straight_rss_mb": s["rss_mb"],
                "straight_kept": s["kept"],
                "ours": ours_scores,
                "straight": straight_scores,
            }
        )
        print(f"guard {method}: ours {ours_scores}, straight {straight_scores}", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--points", type=int, default=300_000, help="rows of the table (N)")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--guard", action="store_true", help="also run each library straight")
    ap.add_argument(
        "--straight-dir",
        type=Path,
        metavar="DIR",
        help="keep the straight runs' maps here and reuse them (default: the run's folder)",
    )
    ap.add_argument(
        "--straight-only",
        action="store_true",
        help="only compute the straight runs' maps into --straight-dir (for a later --guard)",
    )
    ap.add_argument(
        "--method",
        choices=["tsne", "umap"],
        action="append",
        help="with --straight-only: only this library's run (repeatable; default both), so "
        "two runs can share the cores as two processes",
    )
    ap.add_argument("--keep", metavar="DIR", help="run in DIR and keep it (default: a temp dir)")
    ap.add_argument("--guard-worker", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument(
        "--markdown",
        type=Path,
        metavar="PATH",
        help="also write the results between the bench:end_to_end-N markers of this file",
    )
    args = ap.parse_args()
    if args.markdown:  # a usage error now, not after the run
        try:
            _markdown.check_markers(args.markdown, f"end_to_end-{args.points}")
        except _markdown.MarkerError as err:
            ap.error(str(err))
    if args.guard_worker:
        method, path, out, threads = args.guard_worker
        guard_worker(method, path, out, int(threads))
        return
    if args.points < 1000:
        ap.error("--points: at least 1000 rows")
    if args.straight_only:
        if not args.straight_dir:
            ap.error("--straight-only needs --straight-dir")
        for method in args.method or ("tsne", "umap"):
            s = straight_maps(args.points, method, args.straight_dir, args.cores, dict(os.environ))
            print(f"straight {method}: {s['seconds']:.0f} s, peak {s['rss_mb']:.0f} MB")
        return
    load_start = os.getloadavg()[0]
    print(f"load average {load_start:.2f} on {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory(prefix="atlas-e2e-") as tmp:
        workdir = Path(args.keep) if args.keep else Path(tmp) / "wf"
        if workdir.exists():
            raise SystemExit(f"{workdir} exists: give --keep a new folder")
        copy_workflow(workdir)
        (workdir / "data").mkdir()
        t0 = time.perf_counter()
        t = table(args.points)
        write_table(t, workdir / "data" / "table.parquet")
        print(f"table: {args.points:,} x {DIM} in {time.perf_counter() - t0:.0f} s", flush=True)
        (workdir / "bench.yaml").write_text(json.dumps(study_config(Path("data/table.parquet"))))
        env = {**os.environ, "NUMBA_CACHE_DIR": str(Path(tmp) / "numba")}
        env["PYTHONWARNINGS"] = "ignore"
        run = run_study(workdir, args.cores, env)
        print(
            f"snakemake --cores {args.cores}: wall {run['wall']:.0f} s, "
            f"peak memory {run['peak_mb']:.0f} MB, {len(run['jobs'])} jobs",
            flush=True,
        )
        for name, s, rss in sorted(run["jobs"], key=lambda r: -r[1]):
            print(f"  {name:<40} {s:8.1f} s {rss:7.0f} MB")
        quality = quality_rows(workdir / "results" / "metrics.csv")
        folder = args.straight_dir or workdir
        checks = guard(workdir, t, args.cores, env, folder) if args.guard else []
    load_end = os.getloadavg()[0]
    if args.markdown:
        body = markdown_body(args.points, args.cores, run, quality, checks, (load_start, load_end))
        heading = f"{HEADING}: {args.points:,} rows"
        name = f"end_to_end-{args.points}"
        _markdown.write_block(args.markdown, name, _markdown.block(heading, body))


def quality_rows(metrics_csv: Path) -> dict[str, dict[str, float]]:
    """The study's own measures per map (results/metrics.csv)."""
    import pandas as pd

    m = pd.read_csv(metrics_csv)
    out: dict[str, dict[str, float]] = {}
    for method, metric, value in m[["method", "metric", "value"]].itertuples(index=False):
        out.setdefault(method, {})[metric] = float(value)
    return out


def markdown_body(
    points: int,
    cores: int,
    run: dict,
    quality: dict[str, dict[str, float]],
    checks: list[dict],
    load: tuple[float, float],
) -> list[str]:
    """One size's section: wall and memory against the budgets, the guard, every job."""
    wall_min = run["wall"] / 60
    work, floor = work_floor(run["jobs"], cores, run["threads"])
    top = max(run["jobs"], key=lambda r: r[2])
    parts = [
        f"Load average {load[0]:.2f} at the start and {load[1]:.2f} at the end; "
        f"{points:,} rows x {DIM}, {len(run['jobs'])} jobs, from an empty results/ and a cold "
        "numba cache.",
        _markdown.table(
            ["measure", "value>", "budget>"],
            [
                ["wall (min)", f"{wall_min:.1f}", "30"],
                ["peak memory, all processes (GB)", f"{run['peak_mb'] * GB:.2f}", "8"],
                ["largest job (GB)", f"{top[2] * GB:.2f} ({top[0]})", ""],
            ],
        ),
        f"GB are 10^9 bytes. The peak is the largest sum of every process's resident memory, "
        f"sampled every 0.5 s; it came {run['peak_at']:.0f} s after the start, made of "
        + ", ".join(f"{name} {mb * GB:.2f}" for name, mb in run["peak_parts"][:4])
        + ". A job's own peak (its benchmark file, sampled by Snakemake less often) can miss "
        "a short spike.",
        f"Work: {work:.0f} job-seconds (times threads), so {cores} cores need at least "
        f"{floor:.0f} s; the wall is {run['wall'] / floor:.2f}x that.",
    ]
    names = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
    rows = [
        [
            names.get(m, m),
            f"{v.get('knn_acc_5', float('nan')):.4f}",
            f"{v.get('trustworthiness', float('nan')):.4f}",
            f"{v.get('fit_seconds', float('nan')):.0f}",
        ]
        for m, v in quality.items()
        if m in METHODS
    ]
    parts.append(
        "The study's own measures (results/metrics.csv; trustworthiness on its seeded sample):"
    )
    parts.append(_markdown.table(["map", "5-NN>", "trustworthiness>", "fit s>"], rows))
    if checks:
        guard_rows = []
        for c in checks:
            d_acc = c["ours"]["knn_acc_5"] - c["straight"]["knn_acc_5"]
            d_t = c["ours"]["trustworthiness"] - c["straight"]["trustworthiness"]
            ok = d_acc >= -GUARD_TOLERANCE and d_t >= -GUARD_TOLERANCE
            guard_rows.append(
                [
                    names[c["method"]],
                    f"{c['ours']['knn_acc_5']:.4f}",
                    f"{c['straight']['knn_acc_5']:.4f}",
                    f"{c['ours']['trustworthiness']:.4f}",
                    f"{c['straight']['trustworthiness']:.4f}",
                    f"{c['straight_seconds']:.0f}" + (" (kept)" if c.get("straight_kept") else ""),
                    "met" if ok else "**not met**",
                ]
            )
        parts.append(
            "Quality guard: each map against its library's straight run with its defaults (its own "
            f"neighbours), scored the same way here (5-NN on every test point; trustworthiness, "
            f"k = 5, on a seeded {GUARD_SAMPLE:,}-point train sample); met when both are within "
            f"{GUARD_TOLERANCE} (or better). A straight run marked (kept) was measured earlier "
            "on the same seeded table, under that run's load (--straight-dir):"
        )
        parts.append(
            _markdown.table(
                [
                    "map",
                    "5-NN ours>",
                    "5-NN straight>",
                    "T ours>",
                    "T straight>",
                    "straight run s>",
                    "guard",
                ],
                guard_rows,
            )
        )
    jobs = [[n, f"{s:.1f}", f"{r:.0f}"] for n, s, r in sorted(run["jobs"], key=lambda r: -r[1])]
    parts.append(
        "<details><summary>every job (benchmarks/*.tsv)</summary>\n\n"
        + _markdown.table(["job", "seconds>", "max RSS MB>"], jobs)
        + "\n\n</details>"
    )
    spans = [[n, f"{a:.0f}", f"{b:.0f}"] for n, a, b in run["spans"]]
    parts.append(
        "<details><summary>timeline (s from the first job)</summary>\n\n"
        + _markdown.table(["job", "start s>", "end s>"], spans)
        + "\n\n</details>"
    )
    return parts


if __name__ == "__main__":
    main()
