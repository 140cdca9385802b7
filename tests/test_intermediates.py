"""A damaged or deleted intermediate never costs a finished result: damage is found when the
workflow is planned (before any job), the message names a command that works, and following it,
or a bare rerun after a deletion, restores every deliverable bit-identical to before."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, VENV_BIN, array_digests, snakemake
from latent_atlas import integrity
from latent_atlas.io import save_npz, save_pickle
from latent_atlas.maps import write_map


def cut(path: Path) -> None:
    """What `truncate -s $(( size / 2 ))` does."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_whole_files_pass_and_cut_ones_are_named(tmp_path: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    save_npz(tmp_path / "a.npz", {"x": np.arange(10_000)})
    save_pickle(tmp_path / "o.pkl", {"fitted": np.arange(1000)})  # a method's fitted object
    frame = pd.DataFrame({"x": [0.0, 1.0], "y": [1.0, 0.0], "label": [0, 1]})
    frame = frame.assign(split=["train", "test"], index=[0, 0])
    write_map(frame, {}, tmp_path / "m.parquet")
    fig, _ = plt.subplots()
    fig.savefig(tmp_path / "f.png")
    fig.savefig(tmp_path / "f.svg")
    pd.DataFrame({"metric": ["a"] * 50, "value": range(50)}).to_csv(tmp_path / "t.csv")
    (tmp_path / "r.html").write_text("<html><body>" + "x" * 9000 + "</body></html>\n")
    files = sorted(tmp_path.iterdir())
    assert integrity.damaged(files) == []
    for f in files:
        cut(f)
    found = dict(integrity.damaged(files))
    assert sorted(found) == [str(f) for f in files]
    (tmp_path / "empty.npz").write_bytes(b"")
    assert integrity.problem(tmp_path / "empty.npz") == "empty"
    assert integrity.problem(tmp_path / "missing.npz") is None  # missing: Snakemake's job
    message = integrity.damage_message([(str(files[0]), found[str(files[0])])])
    assert f"rm {files[0]}" in message and "nothing has been run" in message


TIMINGS = {"fit_seconds", "transform_seconds"}


def deliverables(wd: Path, skip: str = "") -> dict[str, object]:
    """What a user keeps, as comparable values: array digests of .npz files, map tables, the
    figures' bytes, metrics without timings, history without seconds."""
    out: dict[str, object] = {}
    for f in sorted((wd / "results").rglob("*")):
        rel = str(f.relative_to(wd))
        if rel == skip:
            out[rel] = "skipped"
        elif f.suffix == ".npz":
            out[rel] = array_digests(f)
        elif f.suffix == ".parquet":
            out[rel] = hashlib.sha256(pd.read_parquet(f).to_csv().encode()).hexdigest()
        elif f.suffix == ".png" and "report" not in rel:
            out[rel] = hashlib.sha256(f.read_bytes()).hexdigest()
        elif f.name == "history.csv":
            out[rel] = pd.read_csv(f).drop(columns="seconds").to_csv()
        elif f.suffix == ".csv" and "metric" in pd.read_csv(f, nrows=0).columns:
            t = pd.read_csv(f, dtype=str)
            out[rel] = t[~t["metric"].isin(TIMINGS)].to_csv()
        elif f.suffix == ".keras":
            out[rel] = f.stat().st_size > 0
    return out


@pytest.fixture(scope="module")
def study(tiny_study: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A copy of the finished tiny study (the shared one is never damaged) and what it keeps."""
    wd = tmp_path_factory.mktemp("damage") / "wf"
    shutil.copytree(tiny_study, wd, symlinks=True)
    return wd, deliverables(wd)


def rerun(wd: Path, *extra: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return snakemake(wd, "--configfile", "tiny.yaml", *extra, check=check, timeout=1500)


def refused(wd: Path, victim: str) -> str:
    """Run the study with ``victim`` damaged: it must stop before any job, naming it."""
    proc = rerun(wd, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and victim in out and "nothing has been run" in out
    assert "Traceback" not in out
    return out


@pytest.mark.slow(reason="reruns part of a copy of the tiny study")
def test_a_cut_map_stops_the_run_and_the_named_fix_restores_everything(
    study: tuple[Path, dict],
):
    wd, before = study
    victim = "results/digits/ae32/projections/pca.parquet"
    cut(wd / victim)
    out = refused(wd, victim)
    after_error = deliverables(wd, skip=victim)
    assert {k: v for k, v in after_error.items() if k != victim} == {
        k: v for k, v in before.items() if k != victim
    }  # nothing deleted, nothing run
    fix = re.search(r"^\s*(rm .+)$", out, re.M).group(1)
    subprocess.run(shlex.split(fix), cwd=wd, check=True)
    rerun(wd)  # "rerun the same command"
    assert deliverables(wd) == before


@pytest.mark.slow(reason="plans a copy of the tiny study")
def test_a_cut_first_intermediate_is_found_before_any_job(study: tuple[Path, dict]):
    """The data every job reads, cut: refused like any other file (its fix, `rm` and a rerun,
    would rebuild the whole study, which the map's case above runs for one branch)."""
    wd, before = study
    victim = "results/digits/data.npz"
    whole, stat = (wd / victim).read_bytes(), (wd / victim).stat()
    try:
        cut(wd / victim)
        out = refused(wd, victim)
        assert f"rm {victim}" in out
        assert deliverables(wd, skip=victim) == {**before, victim: "skipped"}
    finally:
        (wd / victim).write_bytes(whole)
        os.utime(wd / victim, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as it was


@pytest.mark.slow(reason="reruns part of a copy of the tiny study")
def test_a_deleted_intermediate_is_rebuilt_by_a_bare_rerun(study: tuple[Path, dict]):
    wd, before = study
    (wd / "results/digits/ae32/projections/tsne.parquet").unlink()
    rerun(wd)
    assert deliverables(wd) == before
    again = rerun(wd, "-n")
    assert "Nothing to be done" in again.stdout + again.stderr


def test_rule_all_asks_for_the_deliverables_and_every_other_file_is_some_jobs_input(
    workflow_dir: Path,
):
    """`rule all` names the report, the atlas, the metrics table (and the sweeps' summaries);
    every other file a job writes is an input of another job, so a deleted one is rebuilt."""
    proc = snakemake(workflow_dir, "-n", "--configfile", "tiny.yaml")
    jobs = re.split(r"\n(?=\[[^\n]*\]\n(?:local)?rule )", proc.stdout)

    def files(job: str, key: str) -> set[str]:
        found = re.search(rf"^\s+{key}: (.+)$", job, re.M)
        return {f.strip() for f in found.group(1).split(",")} if found else set()

    rule_all = next(j for j in jobs if "rule all:" in j)
    targets = files(rule_all, "input")
    assert targets == {
        "results/report/index.html",
        "results/report/comparison.png",
        "results/report/comparison.svg",
        "results/report/metrics.csv",
        "results/report/summary.json",
        "results/report/atlas.html",
        "results/metrics.csv",
    }
    read = set().union(*(files(j, "input") for j in jobs))
    written = set().union(*(files(j, "output") for j in jobs))
    assert written - targets - read == set(), sorted(written - targets - read)


def _doc_block(page: Path, after: str) -> list[list[str]]:
    """The commands of the first ```bash block after ``after`` on ``page``, as argv lists."""
    text = page.read_text()
    block = re.search(r"```bash\n(.*?)```", text[text.index(after) :], re.S).group(1)
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]


@pytest.mark.slow(reason="starts a run of one job, kills it, unlocks and reruns")
def test_the_documented_resume_after_a_killed_run_works(workflow_dir: Path):
    """kill -9 of snakemake mid-run: the same command then stops on the lock, and the sequence
    docs/reproducibility.md shows (unlock, the same command) finishes the run."""
    target = "results/digits/data.npz"
    run = [str(VENV_BIN / "snakemake"), "--cores", "2", target]
    proc = subprocess.Popen(
        run, cwd=workflow_dir, start_new_session=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    log = workflow_dir / "logs/digits/normalise.log"
    deadline = time.monotonic() + 300
    while not log.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)  # the job has started: snakemake holds its lock
    assert proc.poll() is None, "the run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    locked = snakemake(workflow_dir, target, check=False)
    assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
    commands = _doc_block(REPO / "docs/reproducibility.md", "**A killed run**")
    assert [c[1:] for c in commands] == [["--unlock"], []], commands
    snakemake(workflow_dir, *commands[0][1:])
    snakemake(workflow_dir, *commands[1][1:], target)  # the same command as the killed one
    with np.load(workflow_dir / target, allow_pickle=False) as npz:
        assert npz["x_train"].shape == (1437, 64)
