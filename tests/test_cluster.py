"""The workflow through a real single-node SLURM cluster (slurmctld, slurmd, slurmdbd) with the
`profiles/slurm` workflow profile: jobs really go through sbatch, failures are reported, and the
results equal a local run's."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, VENV_BIN, array_digests, copy_workflow, snakemake

pytestmark = [pytest.mark.slow, pytest.mark.cluster]
UP = REPO / "tests" / "cluster" / "slurm-up.sh"
DOWN = REPO / "tests" / "cluster" / "slurm-down.sh"
# Short status-check delays for a test; sized for the 2 CPUs of the test node.
SLURM_ARGS = (
    "--workflow-profile",
    "profiles/slurm",
    "--configfile",
    "tiny.yaml",
    "--slurm-init-seconds-before-status-checks",
    "3",
    "--slurm-no-account",
    "--set-threads",
    "train=2",
    "project=2",
    "neighbors=2",
    "--set-resources",
    "train:mem_mb=3000",
    "project:mem_mb=3000",
    "--jobs",
    "4",
    "--latency-wait",
    "5",
    "--retries",
    "0",
    "--slurm-keep-successful-logs",  # the per-job logs name each SLURM job id
)


@pytest.fixture(scope="module")
def cluster():
    """Start the cluster (skip where it cannot run: not root, no apt), stop it afterwards."""
    if os.geteuid() != 0:
        pytest.skip("the test SLURM cluster needs root (it starts munged, slurmctld, slurmd)")
    if shutil.which("apt-get") is None and shutil.which("slurmctld") is None:
        pytest.skip("no apt-get to install SLURM's Debian packages, and SLURM is not installed")
    proc = subprocess.run(["bash", UP], capture_output=True, text=True, timeout=900)
    if proc.returncode == 77:
        pytest.skip(f"SLURM cluster cannot run here: {proc.stderr.strip()[-300:]}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    conf = re.search(r"SLURM_CONF=(\S+)", proc.stdout).group(1)
    env = {"SLURM_CONF": conf, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
    try:
        yield env
    finally:
        subprocess.run(["bash", DOWN], capture_output=True, text=True, timeout=300)


def sacct(env: dict) -> dict[str, tuple[str, str]]:
    """JobID -> (JobName, State) of every job the cluster's accounting knows."""
    out = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-a", "-o", "JobID,JobName,State", "-S", "now-1days"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    ).stdout
    rows = [line.split("|") for line in out.splitlines() if line.strip()]
    return {r[0]: (r[1], r[2]) for r in rows}


def slurm_job_ids(wd: Path) -> dict[str, str]:
    """SLURM job id -> rule (or ``group:<name>`` for a group job of the profile's `groups`),
    from the plugin's per-job logs (.snakemake/slurm_logs/rule_<rule>, or
    group_<group>_<its rules> for a group job; the profile's group names have no underscore)."""
    ids = {}
    root = wd / ".snakemake" / "slurm_logs"
    for log in root.rglob("*.log"):
        parts = [p for p in log.relative_to(root).parts if p.startswith(("rule_", "group_"))]
        name = parts[0] if parts else "?"
        ids[log.stem] = (
            f"group:{name.removeprefix('group_').split('_', 1)[0]}"
            if name.startswith("group_")
            else name.removeprefix("rule_")
        )
    return ids


def rule_jobs(out: str) -> int:
    """Jobs of non-local rules in snakemake's `Job stats` table."""
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", out.split("Job stats:")[1], re.M))
    local = {"all", "report", "download_mnist", "total"}
    return sum(int(n) for rule, n in stats.items() if rule not in local)


SWEEP = {
    "study": {"sweeps": ["latent"]},
    "sweeps": {"latent": {"base": "ae32", "grid": {"latent_dim": [8], "seed": [1, 2]}}},
}


def test_study_and_sweep_run_through_slurm(cluster, tiny_study, tmp_path):
    """The tiny study plus a sweep of two training seeds on digits, in one SLURM run (one
    run, not two, to keep the suite short): every job went through sbatch and completed, short
    jobs in the profile's groups (fewer allocations than rule jobs), the study's results equal
    the local run's, and the sweep's summary is complete."""
    import yaml

    wd = copy_workflow(tmp_path / "wf")
    (wd / "sweep.yaml").write_text(yaml.safe_dump(SWEEP))
    args = list(SLURM_ARGS)
    args.insert(args.index("tiny.yaml") + 1, "sweep.yaml")
    start = time.monotonic()
    proc = snakemake(wd, *args, env=cluster, timeout=1500)
    took = time.monotonic() - start
    out = proc.stdout + proc.stderr
    ids = slurm_job_ids(wd)
    accounting = sacct(cluster)
    jobs = rule_jobs(out)
    print(f"SLURM run: {took:.0f} s, {jobs} rule jobs in {len(ids)} allocations")
    for jid in sorted(ids, key=int):
        print(jid, ids[jid], *accounting.get(jid, ("?", "?")))
    assert 0 < len(ids) < jobs, (ids, jobs)
    assert all(accounting.get(j, ("", ""))[1] == "COMPLETED" for j in ids), accounting
    assert {"train", "encode", "group:map", "group:graph", "group:sweep"} <= set(ids.values())
    # the same results as the local run, wherever the run is deterministic
    for rel in ("data.npz", "ae32/latent.npz", "vae/latent.npz", "ae32/neighbors.npz"):
        assert array_digests(wd / "results/digits" / rel) == array_digests(
            tiny_study / "results/digits" / rel
        ), rel
    for method in ("pca", "tsne", "umap"):
        rel = f"results/digits/ae32/projections/{method}.parquet"
        pd.testing.assert_frame_equal(pd.read_parquet(wd / rel), pd.read_parquet(tiny_study / rel))
    ours = pd.read_csv(wd / "results/metrics.csv")
    local_run = pd.read_csv(tiny_study / "results/metrics.csv")
    ours = ours[ours["model"].isin(local_run["model"].unique())]
    keep = ~ours["metric"].str.endswith("seconds")
    pd.testing.assert_frame_equal(
        ours[keep].reset_index(drop=True),
        local_run[~local_run["metric"].str.endswith("seconds")].reset_index(drop=True),
    )
    assert (wd / "results/report/index.html").is_file()
    summary = pd.read_csv(wd / "results/sweeps/latent/summary.csv")
    assert (summary[summary["metric"] == "knn_acc_1"]["n"] == 2).all()
    assert {"procrustes_disparity", "knn_overlap_10"} <= set(summary["metric"])
    assert (wd / "results/sweeps/latent/maps.png").is_file()


def test_failing_job_is_reported_as_failed(cluster, tmp_path):
    wd = copy_workflow(tmp_path / "wf")
    snakemake(wd, "results/digits/data.npz", "--configfile", "tiny.yaml")
    # a whole zip without the arrays train needs (a cut file is stopped before any job): newer,
    # so train reruns, and fails on it
    np.savez(wd / "results/digits/data.npz", nothing=np.zeros(1))
    start = time.monotonic()
    proc = snakemake(
        wd, "results/digits/ae32/model.keras", *SLURM_ARGS, env=cluster, check=False, timeout=600
    )
    took = time.monotonic() - start
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "Error in rule train" in out
    assert "data.npz: missing arrays" in out  # the rule's log is shown
    failed = [j for j, (_, state) in sacct(cluster).items() if j in slurm_job_ids(wd)]
    assert failed and all(sacct(cluster)[j][1] == "FAILED" for j in failed)
    assert took < 300  # reported, not hung
