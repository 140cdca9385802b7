"""The workflow through a real single-node SLURM cluster (slurmctld, slurmd, slurmdbd) with the
`profiles/slurm` workflow profile: jobs really go through sbatch, failures are reported, and the
results equal a local run's."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, VENV_BIN, array_digests, copy_workflow, snakemake
from doc_commands import collect_commands

pytestmark = [
    pytest.mark.slow(reason="starts a SLURM cluster and runs the smallest study through it"),
    pytest.mark.cluster,
]
UP = REPO / "tests" / "cluster" / "slurm-up.sh"
DOWN = REPO / "tests" / "cluster" / "slurm-down.sh"


def readme_cluster_command() -> list[str]:
    """The README's first cluster command (the smallest study), as a user copies it."""
    commands = [
        line
        for _, line in collect_commands()
        if "profiles/slurm" in line and "--configfile config/tiny.yaml" in line
    ]
    assert commands, "the README shows no cluster command for config/tiny.yaml"
    return shlex.split(commands[0])


def fill(argv: list[str], env: dict[str, str]) -> list[str]:
    """The placeholders filled: the test cluster's partition and account."""
    values = {"partition": env["SLURM_TEST_PARTITION"], "account": env["SLURM_TEST_ACCOUNT"]}
    return [re.sub(r"<(\w+)>", lambda m: values[m.group(1)], a) for a in argv]


def fit_profile_to_the_test_node(wd: Path) -> None:
    """What a user of a 2-CPU node would change in profiles/slurm/config.yaml: threads and
    memory that fit the node (one thread a job, so two run at once), and a first status check
    after 3 s instead of 40 s (the test node's jobs take seconds). The command itself stays as
    the README writes it. One thread changes no result: the local run gives TensorFlow one
    thread on 2 cores too, and the maps do not depend on threads (tests/test_projections.py)."""
    path = wd / "profiles/slurm/config.yaml"
    profile = yaml.safe_load(path.read_text())
    profile["set-threads"] = {rule: 1 for rule in profile["set-threads"]}
    for resources in profile["set-resources"].values():
        resources["mem_mb"] = 3000
    profile["slurm-init-seconds-before-status-checks"] = 3
    path.write_text(yaml.safe_dump(profile))


def run_as_written(
    wd: Path, argv: list[str], env: dict, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run the command in ``wd`` exactly as given (this venv's snakemake), no flag added."""
    assert Path(argv[0]).name == "snakemake" and "--cores" not in argv, argv
    return snakemake(wd, *argv[1:], cores=None, check=False, env=env, timeout=timeout)


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
    env = dict(re.findall(r"(SLURM_\w+)=(\S+)", proc.stdout))
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"
    try:
        yield env
    finally:
        subprocess.run(["bash", DOWN], capture_output=True, text=True, timeout=300)


def run_jobs(env: dict, out: str) -> dict[str, tuple[str, str]]:
    """SLURM job id -> (rule, or ``group:<name>`` for a group job of the profile's `groups`;
    state) of every job of the run whose output is ``out``. The plugin names each job after the
    run's ID and writes ``rule_<rule>`` (``rule_<group>_<its rules>`` for a group) into its
    comment, which this cluster's accounting keeps."""
    run_id = re.search(r"SLURM run ID: (\S+)", out).group(1)
    deadline = time.monotonic() + 120
    while True:  # the accounting daemon records jobs a little after they end (later on a busy box)
        listing = subprocess.run(
            ["sacct", "-X", "-n", "-P", "-a", "--name", run_id, "-o", "JobID,Comment,State"],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            check=True,
        ).stdout
        if listing.strip() or time.monotonic() > deadline:
            break
        time.sleep(5)
    rules = set(job_stats(out))
    jobs = {}
    for line in filter(str.strip, listing.splitlines()):
        jid, comment, state = line.split("|")
        name = comment.removeprefix("rule_").split("_wildcards_")[0]
        jobs[jid] = (name if name in rules else f"group:{name.split('_', 1)[0]}", state)
    return jobs


def job_stats(out: str) -> dict[str, int]:
    """Snakemake's `Job stats` table: rule -> jobs."""
    table = dict(re.findall(r"^(\w+)\s+(\d+)$", out.split("Job stats:")[1], re.M))
    return {rule: int(n) for rule, n in table.items() if rule != "total"}


def rule_jobs(out: str) -> int:
    """Jobs of non-local rules in snakemake's `Job stats` table."""
    local = {"all", "report", "download_mnist"}
    return sum(n for rule, n in job_stats(out).items() if rule not in local)


def test_the_readmes_cluster_command_runs_the_study_through_slurm(cluster, request, tmp_path):
    """The README's command, as written (placeholders filled, no --cores), on the tiny study:
    every job went through sbatch and completed, short jobs in the profile's groups (fewer
    allocations than rule jobs), and the results equal the local run's."""
    wd = copy_workflow(tmp_path / "wf")
    fit_profile_to_the_test_node(wd)
    start = time.monotonic()
    proc = run_as_written(wd, fill(readme_cluster_command(), cluster), cluster, timeout=1500)
    took = time.monotonic() - start
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    jobs = run_jobs(cluster, out)
    print(f"SLURM run: {took:.0f} s, {rule_jobs(out)} rule jobs in {len(jobs)} allocations")
    for jid in sorted(jobs, key=int):
        print(jid, *jobs[jid])
    assert 0 < len(jobs) < rule_jobs(out), (jobs, rule_jobs(out))
    assert all(state == "COMPLETED" for _, state in jobs.values()), jobs
    names = {name for name, _ in jobs.values()}
    assert {"train", "encode", "group:map", "group:graph"} <= names, names
    # the same results as the local run (the tests' tiny study: this one plus a VAE), wherever
    # the run is deterministic; asked for only now, so that it is built while SLURM runs
    tiny_study = request.getfixturevalue("tiny_study")
    for rel in ("data.npz", "ae32/latent.npz", "ae32/neighbors.npz"):
        assert array_digests(wd / "results/digits" / rel) == array_digests(
            tiny_study / "results/digits" / rel
        ), rel
    for method in ("pca", "tsne", "umap"):
        rel = f"results/digits/ae32/projections/{method}.parquet"
        pd.testing.assert_frame_equal(pd.read_parquet(wd / rel), pd.read_parquet(tiny_study / rel))

    def quality(table: pd.DataFrame) -> pd.DataFrame:
        table = table[(table["model"] == "ae32") & ~table["metric"].str.endswith("seconds")]
        return table.reset_index(drop=True)

    pd.testing.assert_frame_equal(
        quality(pd.read_csv(wd / "results/metrics.csv")),
        quality(pd.read_csv(tiny_study / "results/metrics.csv")),
    )
    assert (wd / "results/report/index.html").is_file()


def test_failing_job_is_reported_as_failed(cluster, tmp_path):
    """The same command, for one model, on data that cannot train: the job fails in SLURM,
    Snakemake says so and shows the rule's log, and does not hang."""
    wd = copy_workflow(tmp_path / "wf")
    fit_profile_to_the_test_node(wd)
    # no resubmission: the profile's retry (for a preempted job) would run the same failure again
    profile = wd / "profiles/slurm/config.yaml"
    profile.write_text(yaml.safe_dump({**yaml.safe_load(profile.read_text()), "retries": 0}))
    snakemake(wd, "results/digits/data.npz", "--configfile", "config/tiny.yaml")  # locally
    # a whole zip without the arrays train needs (a cut file is stopped before any job): newer,
    # so train reruns, and fails on it
    np.savez(wd / "results/digits/data.npz", nothing=np.zeros(1))
    exe, *flags = fill(readme_cluster_command(), cluster)
    argv = [exe, "results/digits/ae32/model.keras", *flags]  # a target goes before --configfile
    start = time.monotonic()
    proc = run_as_written(wd, argv, cluster, timeout=600)
    took = time.monotonic() - start
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "Error in rule train" in out
    assert "data.npz: missing arrays" in out  # the rule's log is shown
    jobs = run_jobs(cluster, out)
    assert jobs and all(job == ("train", "FAILED") for job in jobs.values()), jobs
    assert took < 300  # reported, not hung
