"""The whole study, side by side: the seed tutorial's script against a bare `snakemake`.

Both run here, one after the other, each in a fresh process tree with its own empty numba cache
(cold: every numba kernel is compiled as on a fresh machine):

- tutorial: the seed's code as bench/train.py and bench/project.py reproduce it (imports, MNIST
  loaded and scaled to [0, 1], the 32-unit autoencoder trained 50 epochs, codes by
  `encoder.predict`, PCA, scikit-learn t-SNE of 5,000 train + 1,000 test codes, UMAP, and its
  three scatter plots, saved instead of shown).
- snakemake: `snakemake --cores N` of the default config.yaml in a scratch copy of the workflow
  with an empty results/ (the verified MNIST downloads are copied in: neither side's time
  includes the download).

Prints each stage (the tutorial's own timers; the workflow's benchmarks/*.tsv per job), both
walls, both peak memories (largest process; for the workflow also the largest job's max_rss)
and the ratio of the walls.

    snakemake --cores 2 results/mnist/data.npz   # once: fetches and verifies the MNIST files
    nice -n 10 .venv/bin/python bench/study.py [--cores 2] [--markdown PATH]
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

import _markdown

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))
WORKFLOW_FILES = ("Snakefile", "config.yaml", "config", "workflow", "profiles", "envs")


def copy_workflow(dest: Path) -> None:
    """A scratch copy of the workflow (no results) in the new folder ``dest``."""
    dest.mkdir(parents=True)
    for name in WORKFLOW_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / name)


def load_mnist(folder: str) -> tuple:
    """The tutorial's step 1 on the verified IDX files: ``mnist.load_data()`` (here the
    package's IDX reader), then float32 / 255 and 28 x 28 -> 784."""
    from latent_atlas.idx import read_idx

    x_train, x_test = (
        read_idx(Path(folder) / f"{split}-images-idx3-ubyte", expect_ndim=3)
        for split in ("train", "t10k")
    )
    x_train = x_train.astype("float32") / 255.0
    x_test = x_test.astype("float32") / 255.0
    return x_train.reshape((x_train.shape[0], 28 * 28)), x_test.reshape((x_test.shape[0], 28 * 28))


def tutorial(mnist_folder: str, figures: str) -> dict:
    """The tutorial's script, stage by stage (its imports timed too), figures included: its
    three scatter plots are drawn and saved (``plt.show()`` has no window here)."""
    stages = {}
    t = time.perf_counter()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import umap
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from tensorflow.keras.layers import Dense, Input
    from tensorflow.keras.models import Model

    stages["import"] = time.perf_counter() - t
    t = time.perf_counter()
    x_train, x_test = load_mnist(mnist_folder)
    stages["load"] = time.perf_counter() - t
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
    maps = {}
    t = time.perf_counter()
    pca = PCA(n_components=2)
    maps["PCA"] = (pca.fit_transform(z_train), pca.transform(z_test))
    stages["pca"] = time.perf_counter() - t
    t = time.perf_counter()
    tsne = TSNE(n_components=2, random_state=42, perplexity=30, max_iter=1000)
    maps["t-SNE"] = (tsne.fit_transform(z_train[:5000]), tsne.fit_transform(z_test[:1000]))
    stages["tsne"] = time.perf_counter() - t
    t = time.perf_counter()
    reducer = umap.UMAP(n_components=2, random_state=42)
    maps["UMAP"] = (reducer.fit_transform(z_train), reducer.transform(z_test))
    stages["umap"] = time.perf_counter() - t
    t = time.perf_counter()
    for name, (train_xy, test_xy) in maps.items():
        plt.figure(figsize=(10, 8))
        plt.scatter(train_xy[:, 0], train_xy[:, 1], s=1, label="Training data")
        plt.scatter(test_xy[:, 0], test_xy[:, 1], s=1, label="Testing data", alpha=0.5)
        plt.xlabel(f"{name} Dimension 1")
        plt.ylabel(f"{name} Dimension 2")
        plt.title(f"Latent Space Visualization using {name}")
        plt.legend()
        plt.savefig(Path(figures) / f"{name}.png")
        plt.close()
    stages["plots"] = time.perf_counter() - t
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


def work_floor(
    jobs: list[tuple[str, float, float]], cores: int, threads: dict[str, int] | None = None
) -> tuple[float, float]:
    """(the jobs' core-seconds added up, the least wall they allow on ``cores`` cores).

    A job's seconds count once per thread it claimed (one unless ``threads`` says more). When
    the wall is close to this floor, scheduling has nothing left to give: only less work does.
    """
    threads = threads or {}
    work = sum(seconds * threads.get(name, 1) for name, seconds, _ in jobs)
    return work, work / max(1, cores)


def _job_blocks(log_text: str) -> dict[str, dict]:
    """Per jobid: name (``rule[wildcards]``), start, end (epoch seconds), benchmark, threads.

    Each job block starts with ``[date]`` + ``localrule NAME:`` and carries ``jobid``,
    ``benchmark``, ``wildcards`` and (above one) ``threads`` lines; ``[date]`` +
    ``Finished jobid: N`` ends it. One-second resolution.
    """
    import re
    from datetime import datetime

    stamp = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
    lines = log_text.splitlines()
    jobs: dict[str, dict] = {}
    for i, line in enumerate(lines[:-1]):
        m = stamp.match(line.strip())
        if not m:
            continue
        when = datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y").timestamp()
        nxt = lines[i + 1].strip()
        if nxt.startswith(("localrule ", "rule ")) and nxt.endswith(":"):
            rule = nxt.split()[-1].rstrip(":")
            fields = {}
            for body in lines[i + 2 : i + 40]:
                if not body.startswith("    "):
                    break
                key, _, value = body.strip().partition(": ")
                fields[key] = value
            if "jobid" in fields:
                wc = ",".join(
                    v.split("=")[1] for v in fields.get("wildcards", "").split(", ") if "=" in v
                )
                bench = fields.get("benchmark", "")
                jobs[fields["jobid"]] = {
                    "name": f"{rule}[{wc}]" if wc else rule,
                    "start": when,
                    "benchmark": bench.removeprefix("benchmarks/").removesuffix(".tsv"),
                    "threads": int(fields.get("threads", 1)),
                }
        elif nxt.startswith("Finished jobid:"):
            jobs.setdefault(nxt.split()[2], {})["end"] = when
    return {j: job for j, job in jobs.items() if "start" in job}


def job_threads(log_text: str) -> dict[str, int]:
    """Threads each job claimed, by its benchmark name (as :func:`job_benchmarks` names it)."""
    return {
        job["benchmark"]: job["threads"]
        for job in _job_blocks(log_text).values()
        if job["benchmark"]
    }


def timeline(log_text: str) -> list[tuple[str, float, float]]:
    """(job, start, end) in seconds from the run's start, parsed from snakemake's own log:
    enough to see which jobs ran side by side and which chain sets the wall."""
    jobs = [job for job in _job_blocks(log_text).values() if "end" in job]
    if not jobs:
        return []
    t0 = min(job["start"] for job in jobs)
    return sorted(
        ((job["name"], job["start"] - t0, job["end"] - t0) for job in jobs),
        key=lambda r: (r[1], r[2]),
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--mnist", default="resources/mnist", help="the verified MNIST IDX files")
    ap.add_argument("--tutorial-child", help=argparse.SUPPRESS)
    ap.add_argument("--figures", help=argparse.SUPPRESS)
    _markdown.add_argument(ap, "study")
    args = ap.parse_args()
    if args.tutorial_child:
        print(json.dumps(tutorial(args.tutorial_child, args.figures)), flush=True)
        return
    if not (Path(args.mnist) / "train-images-idx3-ubyte").is_file():
        raise SystemExit(
            f"{args.mnist} has no MNIST files: run `snakemake --cores 2 results/mnist/data.npz` "
            "first (it fetches and verifies them)"
        )
    load_start = os.getloadavg()[0]
    print(f"load average {load_start:.2f} on {os.cpu_count()} cores", flush=True)
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
                [
                    sys.executable,
                    __file__,
                    "--tutorial-child",
                    str(Path(args.mnist).resolve()),
                    "--figures",
                    str(tmp),
                ],
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
        copy_workflow(wd)
        shutil.copytree(args.mnist, wd / "resources" / "mnist")
        for f in (wd / "resources" / "mnist").iterdir():  # verified downloads, newer than the
            os.utime(f)  # copied workflow's code: the download rule has nothing to do
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
        threads = job_threads(log.read_text())
        end = max((e for _, _, e in spans), default=1.0) or 1.0
        for name, start, stop in spans:
            bar = " " * int(40 * start / end) + "#" * max(1, int(40 * (stop - start) / end))
            print(f"  {name:<34} {start:5.0f} {stop:5.0f} |{bar:<41}|")
        top = max(jobs, key=lambda r: r[2])
        print(
            f"  wall {wall_s:.1f} s, peak RSS {rss_s:.0f} MB "
            f"(largest job: {top[0]} {top[2]:.0f} MB)"
        )
        work, floor = work_floor(jobs, args.cores, threads)
        quality = quality_body(wd / "results" / "metrics.csv")  # before the run's folder goes
        print(
            f"  work: the jobs' seconds (times their threads) add up to {work:.1f} s, so "
            f"{args.cores} cores need at least {floor:.1f} s; the wall is {wall_s / floor:.2f}x "
            "that"
        )
    print(f"\nratio snakemake / tutorial wall: {wall_s / wall_t:.2f} on {_markdown.machine()}")
    load_end = os.getloadavg()[0]
    print(f"load average at end {load_end:.2f}")
    if args.markdown:
        tutorial_side = {"stages": stages, "wall": wall_t, "rss": rss_t}
        workflow_side = {"jobs": jobs, "wall": wall_s, "rss": rss_s, "spans": spans}
        body = markdown_body(
            args.cores, tutorial_side, workflow_side, threads, (load_start, load_end)
        )
        body += quality
        old = Path(args.markdown).read_text(encoding="utf-8")
        start, end = _markdown.markers("study")
        current = [
            _markdown.machine(),
            time.strftime("%Y-%m-%d", time.gmtime()),
            f"{wall_t:.1f}",
            f"{stages.get('train', float('nan')):.1f}",
            f"{wall_s:.1f}",
            f"{wall_s / wall_t:.2f}x",
        ]
        body.insert(3, hosts_body(current, old[old.index(start) : old.index(end)]))
        heading = "Whole study: the seed tutorial against a bare snakemake"
        _markdown.write_block(args.markdown, "study", _markdown.block(heading, body))


def markdown_body(
    cores: int, tutorial: dict, workflow: dict, threads: dict[str, int], load: tuple[float, float]
) -> list[str]:
    """The printed results as markdown: walls and peaks side by side, the tutorial's stages,
    every job's seconds and max RSS, the work floor and (folded) the run's timeline."""
    jobs = workflow["jobs"]
    top = max(jobs, key=lambda r: r[2])
    work, floor = work_floor(jobs, cores, threads)
    ratio = workflow["wall"] / tutorial["wall"]
    side = f"snakemake --cores {cores}, default study"
    summary = _markdown.table(
        ["", "tutorial script>", f"{side}>"],
        [
            ["wall (s)", f"{tutorial['wall']:.1f}", f"{workflow['wall']:.1f}"],
            ["peak RSS, largest process (MB)", f"{tutorial['rss']:.0f}", f"{workflow['rss']:.0f}"],
        ],
    )
    stages = _markdown.table(
        ["tutorial stage", "seconds>"], [[k, f"{v:.1f}"] for k, v in tutorial["stages"].items()]
    )
    by_job = _markdown.table(
        ["job (benchmarks/*.tsv)", "threads>", "seconds>", "max RSS MB>"],
        [
            [name, threads.get(name, 1), f"{sec:.1f}", f"{rss:.0f}"]
            for name, sec, rss in sorted(jobs, key=lambda r: -r[1])
        ],
    )
    spans = _markdown.table(
        ["job", "start s>", "end s>"],
        [[name, f"{start:.0f}", f"{stop:.0f}"] for name, start, stop in workflow["spans"]],
    )
    return [
        f"Load average {load[0]:.2f} at the start and {load[1]:.2f} at the end, "
        f"{os.cpu_count()} cores; each side from a cold numba cache.",
        summary,
        f"Wall, snakemake / tutorial: **{ratio:.2f}x**.",
        stages,
        f"The workflow's {len(jobs)} jobs, longest first (largest: {top[0]}, {top[2]:.0f} MB):",
        by_job,
        f"Work: the jobs' seconds (times their threads) add up to {work:.1f} s, so {cores} "
        f"cores need at least {floor:.1f} s; the wall is {workflow['wall'] / floor:.2f}x that.",
        "<details><summary>timeline (s from the first job)</summary>",
        spans,
        "</details>",
    ]


HOSTS = ["host", "date", "tutorial wall (s)>", "its Keras fit (s)>", "study wall (s)>", "ratio>"]


def previous_hosts(block: str) -> list[list[str]]:
    """The hosts rows of an earlier block of this benchmark (its hosts table; or, for a block
    written before it had one, the one host it measured)."""
    import re

    rows = re.findall(r"^\| (2 cores[^|]*|\d+ cores[^|]*) \|(.*)\|$", block, re.M)
    if rows:
        return [[host.strip(), *(c.strip() for c in rest.split("|"))] for host, rest in rows]
    machine = re.search(r"^- machine: (.+)$", block, re.M)
    date = re.search(r"^- date: (\S+)", block, re.M)
    walls = re.search(r"^\| wall \(s\) \| ([\d.]+) \| ([\d.]+) \|$", block, re.M)
    train = re.search(r"^\| train \| ([\d.]+) \|$", block, re.M)
    if not (machine and date and walls):
        return []
    t, w = float(walls.group(1)), float(walls.group(2))
    fit = train.group(1) if train else ""
    return [[machine.group(1), date.group(1), f"{t:.1f}", fit, f"{w:.1f}", f"{w / t:.2f}x"]]


def hosts_body(current: list[str], old_block: str) -> str:
    """The ratio on each host the benchmark has run on (this run first, then the others'
    latest): it depends on the host, above all on how fast Keras' `Model.fit` trains the
    tutorial's model there."""
    others = [row for row in previous_hosts(old_block) if row[0] != current[0]]
    return "\n\n".join(
        [
            "The ratio depends on the host, above all on the tutorial's Keras `Model.fit` (its "
            "train stage), whose speed varies between CPUs far more than the workflow's jobs. "
            "Measured on:",
            _markdown.table(HOSTS, [current, *others]),
        ]
    )


QUALITY = (
    ("knn_acc_1", "1-NN"),
    ("knn_acc_5", "5-NN"),
    ("trustworthiness", "trustworthiness"),
    ("continuity", "continuity"),
    ("silhouette", "silhouette"),
)
LITERATURE = ("knn_acc_5", "trustworthiness", "silhouette")


def quality_body(metrics_csv: Path) -> list[str]:
    """The run's map quality (results/metrics.csv of its mnist/ae32 maps and the 32-D codes),
    next to the literature's 2-D maps of the MNIST pixels: the same run as the walls above."""
    import pandas as pd
    from latent_atlas import literature, methods

    m = pd.read_csv(metrics_csv)
    m = m[(m["dataset"] == "mnist") & (m["model"] == "ae32")]
    value = {(r.method, r.metric): float(r.value) for r in m.itertuples()}
    # the run's maps in its own order, titled by the method registry; then the codes
    maps = [x for x in m["method"].unique() if methods.base_method(x) in methods.REGISTRY]
    names = {x: methods.title(x) for x in maps}
    if "latent" in set(m["method"]):
        names["latent"] = "32-D codes (reference)"
    rows = []
    for method, shown in names.items():
        ours = [value.get((method, k)) for k, _ in QUALITY]
        lit = literature.MNIST_2D.get(method, {})
        rows.append(
            [shown]
            + ["" if v is None else f"{v:.3f}" for v in ours]
            + [" / ".join(f"{lit[k]:.3f}" for k in LITERATURE) if lit else ""]
        )
    header = ["map"] + [f"{name}>" for _, name in QUALITY] + ["literature 5-NN / T / silhouette"]
    return [
        "Map quality of the same run (`results/metrics.csv`, mnist/ae32): k-NN accuracy of a "
        "classifier fitted on the map's train points and scored on its test points, "
        "trustworthiness and continuity at k = 5, silhouette by true label; the literature "
        f"column is {literature.CITATION}:",
        _markdown.table(header, rows),
    ]


if __name__ == "__main__":
    main()
