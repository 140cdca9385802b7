"""bench/study.py's parsers, which the README's speed claims rest on."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
import numpy as np  # noqa: E402
import study  # noqa: E402

LOG = """\
Select jobs to execute...
[Sun Nov 29 05:57:52 2026]
localrule normalise:
    output: results/mnist/data.npz
    jobid: 8
    benchmark: benchmarks/mnist/normalise.tsv
    wildcards: dataset=mnist
Shell command: None
[Sun Nov 29 05:57:54 2026]
Finished jobid: 8 (Rule: normalise)

[Sun Nov 29 05:57:54 2026]
localrule train:
    jobid: 7
    benchmark: benchmarks/mnist/ae32/train.tsv
    wildcards: dataset=mnist, model=ae32
    priority: 30
    threads: 2

[Sun Nov 29 05:57:54 2026]
rule study_metrics:
    jobid: 2
Shell command: None
[Sun Nov 29 05:57:58 2026]
Finished jobid: 2 (Rule: study_metrics)
[Sun Nov 29 05:58:13 2026]
Finished jobid: 7 (Rule: train)
"""


def test_timeline_from_a_snakemake_log():
    assert study.timeline(LOG) == [
        ("normalise[mnist]", 0.0, 2.0),
        ("study_metrics", 2.0, 6.0),
        ("train[mnist,ae32]", 2.0, 21.0),
    ]
    assert study.timeline("no jobs here\n") == []


def test_job_benchmarks_and_work_floor(tmp_path: Path):
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    (tmp_path / "mnist" / "ae32").mkdir(parents=True)
    (tmp_path / "mnist" / "ae32" / "train.tsv").write_text(header + "18.5\t0:00:18\t1311.8\t-\n")
    (tmp_path / "report.tsv").write_text(header + "3.5\t0:00:03\tNA\t-\n")
    jobs = study.job_benchmarks(tmp_path)
    assert [(name, s) for name, s, _ in jobs] == [("mnist/ae32/train", 18.5), ("report", 3.5)]
    assert jobs[0][2] == 1311.8
    assert study.work_floor(jobs, 2) == (22.0, 11.0)
    threads = study.job_threads(LOG)  # a job's seconds count once per thread it claimed
    assert threads == {"mnist/normalise": 1, "mnist/ae32/train": 2}
    assert study.work_floor(jobs, 2, threads) == (40.5, 20.25)


def test_tutorial_loads_mnist_as_its_step_1(tmp_path: Path):
    """The tutorial side reads the IDX files itself: float32 in [0, 1], 784 columns."""
    from conftest import write_idx

    rng = np.random.default_rng(0)
    imgs = {"train": rng.integers(0, 256, (6, 28, 28)), "t10k": rng.integers(0, 256, (3, 28, 28))}
    for split, arr in imgs.items():
        write_idx(tmp_path / f"{split}-images-idx3-ubyte", arr)
    x_train, x_test = study.load_mnist(str(tmp_path))
    assert x_train.shape == (6, 784) and x_test.shape == (3, 784)
    assert x_train.dtype == np.float32
    np.testing.assert_array_equal(x_test, imgs["t10k"].reshape(3, 784).astype(np.float32) / 255)


def test_project_bench_times_every_registered_method(tmp_path: Path):
    """bench/project.py --parts methods: one row per method, in a fresh process each, with the
    parameters config.yaml gives (here on synthetic codes, two methods)."""
    import subprocess

    rng = np.random.default_rng(0)
    codes = {
        "z_train": rng.normal(size=(600, 8)).astype(np.float32),
        "z_test": rng.normal(size=(150, 8)).astype(np.float32),
        "y_train": (np.arange(600) % 3).astype(np.uint8),
        "y_test": (np.arange(150) % 3).astype(np.uint8),
    }
    np.savez(tmp_path / "latent.npz", **codes)
    proc = subprocess.run(
        [
            *(sys.executable, str(REPO / "bench/project.py")),
            *("--latent", str(tmp_path / "latent.npz")),
            *("--parts", "methods", "--methods", "pca", "trimap"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    start = next(i for i, x in enumerate(lines) if x.split()[:2] == ["method", "threads"])
    table = lines[start:]
    rows = {line.split()[0]: line.split() for line in table[1:] if line.strip()}
    assert set(rows) == {"pca", "trimap"}, proc.stdout
    assert rows["pca"][-1] == "placed" and " ".join(rows["trimap"][-4:]) == "fitted in with train"
    assert rows["trimap"][2] == "16"  # TriMap builds its own graph of all points


def test_the_study_ratio_is_kept_per_host():
    """The headline ratio depends on the host: each run puts its host first and keeps the other
    hosts' latest rows, also from a block written before the table existed."""
    import study

    old = "\n".join(
        [
            "- date: 2026-12-03 07:17 UTC",
            "- machine: 2 cores, Intel(R) Xeon(R) Processor, 23.5 GiB RAM",
            "| wall (s) | 557.4 | 344.1 |",
            "| train | 187.9 |",
        ]
    )
    first = study.previous_hosts(old)
    assert first == [
        ["2 cores, Intel(R) Xeon(R) Processor, 23.5 GiB RAM", "2026-12-03", "557.4", "187.9",
         "344.1", "0.62x"]
    ]  # fmt: skip
    amd = ["2 cores, AMD EPYC", "2026-12-05", "352.2", "97.4", "200.0", "0.57x"]
    body = study.hosts_body(amd, old)
    assert study.previous_hosts(body) == [amd, *first]
    again = study.hosts_body([*amd[:4], "190.0", "0.54x"], body)  # the same host: replaced
    assert [row[0] for row in study.previous_hosts(again)] == [amd[0], first[0][0]]
    assert study.previous_hosts(again)[0][-1] == "0.54x"
