"""The whole study, side by side: the seed tutorial's script against a bare `snakemake`.

Both run here, one after the other, each in a fresh process tree with its own empty numba cache
(cold: every numba kernel is compiled as on a fresh machine):

- tutorial: the seed's code as bench/train.py and bench/project.py reproduce it (imports, the
  32-unit autoencoder trained 50 epochs, codes by `encoder.predict`, PCA, scikit-learn t-SNE of
  5,000 train + 1,000 test codes, UMAP) on the same normalised MNIST.
- snakemake: `snakemake --cores N` of the default config.yaml in a scratch copy of the workflow
  with an empty results/ (the verified MNIST downloads are copied in: neither side's time
  includes the download).

Prints each stage (the tutorial's own timers; the workflow's benchmarks/*.tsv per job), both
walls, both peak memories (largest process; for the workflow also the largest job's max_rss)
and the ratio of the walls.

    snakemake results/mnist/data.npz resources/mnist   # once: the data both sides read
    nice -n 10 .venv/bin/python bench/study.py [--cores 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))
WORKFLOW_FILES = ("Snakefile", "config.yaml", "config", "workflow", "profiles", "envs")


def tutorial(data_path: str) -> dict:
    """The tutorial's script, stage by stage (its imports timed too)."""
    stages = {}
    t = time.perf_counter()
    import numpy as np
    import umap
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from tensorflow.keras.layers import Dense, Input
    from tensorflow.keras.models import Model

    stages["import"] = time.perf_counter() - t
    with np.load(data_path) as d:
        x_train, x_test = d["x_train"], d["x_test"]
    t = time.perf_counter()
    input_layer = Input(shape=(x_train.shape[1],))
    encoded = Dense(32, activation="relu")(input_layer)
    decoded = Dense(x_train.shape[1], activation="sigmoid")(encoded)
    autoencoder = Model(input_layer, decoded)
    autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
    autoencoder.fit(
        x_train,
        x_train,
        epochs=50,
        batch_size=256,
        shuffle=True,
        validation_data=(x_test, x_test),
        verbose=0,
    )
    stages["train"] = time.perf_counter() - t
    t = time.perf_counter()
    encoder = Model(input_layer, encoded)
    z_train, z_test = encoder.predict(x_train, verbose=0), encoder.predict(x_test, verbose=0)
    stages["encode"] = time.perf_counter() - t
    t = time.perf_counter()
    pca = PCA(n_components=2)
    pca.fit_transform(z_train)
    pca.transform(z_test)
    stages["pca"] = time.perf_counter() - t
    t = time.perf_counter()
    tsne = TSNE(n_components=2, random_state=42, perplexity=30, max_iter=1000)
    tsne.fit_transform(z_train[:5000])
    tsne.fit_transform(z_test[:1000])
    stages["tsne"] = time.perf_counter() - t
    t = time.perf_counter()
    reducer = umap.UMAP(n_components=2, random_state=42)
    reducer.fit_transform(z_train)
    reducer.transform(z_test)
    stages["umap"] = time.perf_counter() - t
    return stages


def run(cmd: list[str], cwd: Path, env: dict, stdout=None) -> tuple[float, float, int]:
    """Run a process tree; (wall seconds, peak RSS in MB of its largest process, exit code)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=stdout, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - t, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def job_benchmarks(folder: Path) -> list[tuple[str, float, float]]:
    """(job, seconds, max_rss MB) from every benchmarks/*.tsv of a run."""
    import pandas as pd

    rows = []
    for tsv in sorted(folder.rglob("*.tsv")):
        b = pd.read_csv(tsv, sep="\t")
        rss = pd.to_numeric(b["max_rss"], errors="coerce").max()
        rows.append((str(tsv.relative_to(folder).with_suffix("")), float(b["s"].max()), float(rss)))
    return rows


def work_floor(jobs: list[tuple[str, float, float]], cores: int) -> tuple[float, float]:
    """(the jobs' seconds added up, the least wall they allow on ``cores`` cores).

    Every job of the study claims one thread on two cores, so when the wall is close to this
    floor, scheduling is not what is left to gain: only less work is.
    """
    work = sum(seconds for _, seconds, _ in jobs)
    return work, work / max(1, cores)


def timeline(log_text: str) -> list[tuple[str, float, float]]:
    """(job, start, end) in seconds from the run's start, parsed from snakemake's own log.

    Each job block starts with ``[date]`` + ``localrule NAME:`` and carries ``jobid`` and
    ``wildcards`` lines; ``[date]`` + ``Finished jobid: N`` ends it. One-second resolution,
    enough to see which jobs ran side by side and which chain sets the wall.
    """
    import re
    from datetime import datetime

    stamp = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
    lines = log_text.splitlines()
    starts, ends, names = {}, {}, {}
    for i, line in enumerate(lines[:-1]):
        m = stamp.match(line.strip())
        if not m:
            continue
        when = datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y").timestamp()
        nxt = lines[i + 1].strip()
        if nxt.startswith(("localrule ", "rule ")) and nxt.endswith(":"):
            rule = nxt.split()[-1].rstrip(":")
            jobid, wc = None, ""
            for body in lines[i + 2 : i + 40]:
                b = body.strip()
                if b.startswith("jobid:"):
                    jobid = b.split()[-1]
                elif b.startswith("wildcards:"):
                    wc = ",".join(
                        v.split("=")[1] for v in b[len("wildcards:") :].split(", ") if "=" in v
                    )
                elif not body.startswith("    "):
                    break
            if jobid is not None:
                starts[jobid], names[jobid] = when, f"{rule}[{wc}]" if wc else rule
        elif nxt.startswith("Finished jobid:"):
            ends[nxt.split()[2]] = when
    if not starts:
        return []
    t0 = min(starts.values())
    return sorted(
        ((names[j], starts[j] - t0, ends[j] - t0) for j in starts if j in ends),
        key=lambda r: (r[1], r[2]),
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--data", default="results/mnist/data.npz")
    ap.add_argument("--mnist", default="resources/mnist", help="the verified MNIST IDX files")
    ap.add_argument("--tutorial-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.tutorial_child:
        print(json.dumps(tutorial(args.tutorial_child)), flush=True)
        return
    for path in (args.data, args.mnist):
        if not Path(path).exists():
            raise SystemExit(f"{path} not found: run `snakemake {args.data} {args.mnist}` first")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory(prefix="atlas-study-") as tmp:
        tmp = Path(tmp)
        env = {
            **os.environ,
            "NUMBA_CACHE_DIR": str(tmp / "numba-tutorial"),
            "PYTHONWARNINGS": "ignore",
        }
        env["TF_CPP_MIN_LOG_LEVEL"] = "2"
        out = tmp / "tutorial.json"
        with out.open("w") as fh:
            wall_t, rss_t, rc = run(
                [sys.executable, __file__, "--tutorial-child", str(Path(args.data).resolve())],
                REPO,
                env,
                fh,
            )
        if rc != 0:
            raise SystemExit(f"tutorial failed (exit {rc}):\n{out.read_text()[-3000:]}")
        stages = json.loads(out.read_text().strip().splitlines()[-1])
        print("\ntutorial script (one process):")
        for name, s in stages.items():
            print(f"  {name:<10} {s:7.1f} s")
        print(f"  wall {wall_t:.1f} s, peak RSS {rss_t:.0f} MB", flush=True)

        wd = tmp / "wf"
        wd.mkdir()
        for name in WORKFLOW_FILES:
            src = REPO / name
            if src.is_dir():
                shutil.copytree(src, wd / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(src, wd / name)
        shutil.copytree(args.mnist, wd / "resources" / "mnist")
        env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp / "numba-snakemake")}
        log = tmp / "snakemake.log"
        with log.open("w") as fh:
            wall_s, rss_s, rc = run(
                [str(Path(sys.executable).parent / "snakemake"), "--cores", str(args.cores)],
                wd,
                env,
                fh,
            )
        if rc != 0:
            raise SystemExit(f"snakemake failed (exit {rc}):\n{log.read_text()[-3000:]}")
        jobs = job_benchmarks(wd / "benchmarks")
        print(f"\nsnakemake --cores {args.cores} (default study, {len(jobs)} jobs):")
        for name, s, rss in sorted(jobs, key=lambda r: -r[1]):
            print(f"  {name:<38} {s:7.1f} s {rss:7.0f} MB")
        print("\n  timeline (s from the first job; # = running):")
        spans = timeline(log.read_text())
        end = max((e for _, _, e in spans), default=1.0) or 1.0
        for name, start, stop in spans:
            bar = " " * int(40 * start / end) + "#" * max(1, int(40 * (stop - start) / end))
            print(f"  {name:<34} {start:5.0f} {stop:5.0f} |{bar:<41}|")
        top = max(jobs, key=lambda r: r[2])
        print(
            f"  wall {wall_s:.1f} s, peak RSS {rss_s:.0f} MB "
            f"(largest job: {top[0]} {top[2]:.0f} MB)"
        )
        work, floor = work_floor(jobs, args.cores)
        print(
            f"  work: the jobs' seconds add up to {work:.1f} s, so {args.cores} cores need at "
            f"least {floor:.1f} s; the wall is {wall_s / floor:.2f}x that"
        )
    print(f"\nratio snakemake / tutorial wall: {wall_s / wall_t:.2f}")
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
