"""bench/study.py's parsers, which the README's speed claims rest on."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
import study  # noqa: E402

LOG = """\
Select jobs to execute...
[Sun Nov 29 05:57:52 2026]
localrule normalise:
    output: results/mnist/data.npz
    jobid: 8
    wildcards: dataset=mnist
Shell command: None
[Sun Nov 29 05:57:54 2026]
Finished jobid: 8 (Rule: normalise)

[Sun Nov 29 05:57:54 2026]
localrule train:
    jobid: 7
    wildcards: dataset=mnist, model=ae32
    priority: 30

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
