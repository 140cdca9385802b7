"""The workflow as a user runs it: dry run, lint, formatting, schema errors, the digits data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, VENV_BIN, plan, snakemake
from latent_atlas.errors import AtlasError
from snakemake.exceptions import WorkflowError


def test_dry_run_shows_the_dag(workflow_dir: Path):
    proc = snakemake(workflow_dir, "-n")
    out = proc.stdout + proc.stderr
    for rule in (
        "download_mnist",
        "normalise",
        "train",
        "encode",
        "neighbors",
        "project",
        "map_metrics",
        "reference_metrics",
        "plot_map",
        "study_metrics",
        "all",
    ):
        assert f"rule {rule}:" in out or f"localrule {rule}:" in out


def test_lint_is_clean():
    proc = subprocess.run(
        [str(VENV_BIN / "snakemake"), "--lint"], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr


def test_snakefmt_is_clean():
    proc = subprocess.run(
        [str(VENV_BIN / "snakefmt"), "--check", "."], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("datasets={'digits': {'format': 'digits', 'test_fraction': 1.5}}", "test_fraction"),
        ("datasets={'mine': {'format': 'npz'}}", "path"),
        ("study={'datasets': ['no_such_dataset']}", "no_such_dataset"),
        ("study={'methods': ['no-such-method']}", "no-such-method"),
        ("study={'models': ['nope']}", "nope"),
        ("study={'models': ['none']}", "reserved name of a vectors dataset"),
        ("encode={'interpolate': [[0, 99]]}", "the pair [0, 99], but datasets.mnist has the"),
        ("uses={'anomaly_class': 10}", "uses.anomaly_class = 10, but datasets.mnist has the"),
        ("methods={'tsne': {'perplexity': 0}}", "perplexity"),
        ("methods={'umap': {'n_neighbors': 'many'}}", "many"),
        ("methods={'tsne': {'backend': 'cuda'}}", "cuda"),
        ("models={'m': {'kind': 'no-such-kind'}}", "no-such-kind"),
        ("models={'m': {'kind': 'dense', 'latent_dim': 0}}", "latent_dim"),
        ("models={'m': {'kind': 'dense', 'validation': 'train'}}", "validation"),
        ("projection={'max_points': 5}", "max_points"),
        ("mnist={'sources': ['ftp']}", "ftp"),
        ("mnist={'mirrors': ['not-a-url']}", "not-a-url"),
        ("mnist={'retries': 0}", "retries"),
        ("unknown_key=1", "unknown_key"),
    ],
)
def test_bad_config_fails_while_planning(override: str, needle: str):
    """Planned in-process as the Snakefile plans it (conftest.plan): the error names the key."""
    with pytest.raises((WorkflowError, AtlasError)) as err:
        plan(override)
    assert needle in str(err.value)


@pytest.mark.parametrize(
    ("override", "needle"),
    [("unknown_key=1", "unknown_key"), ("study={'models': ['nope']}", "nope")],
)
def test_bad_config_fails_before_any_job(workflow_dir: Path, override: str, needle: str):
    """What the user sees: the schema's and the plan's errors, from snakemake itself."""
    proc = snakemake(workflow_dir, "-n", "--config", override, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "validation" in out.lower() or "error" in out.lower()
    assert needle in out
    assert "jobid:" not in out  # nothing was planned, let alone run
    assert "Traceback" not in out
    assert not (workflow_dir / "results").exists()


def test_digits_data_offline(workflow_dir: Path):
    snakemake(workflow_dir, "results/digits/data.npz")
    with np.load(workflow_dir / "results/digits/data.npz", allow_pickle=False) as npz:
        assert npz["x_train"].shape == (1437, 64)
        assert npz["x_test"].shape == (360, 64)
    assert (workflow_dir / "logs/digits/normalise.log").read_text().strip()
    assert (workflow_dir / "benchmarks/digits/normalise.tsv").is_file()


def test_package_edit_reruns_dependent_rule(workflow_dir: Path):
    snakemake(workflow_dir, "results/digits/data.npz")
    idx = workflow_dir / "workflow/scripts/latent_atlas/data.py"
    idx.write_text(idx.read_text() + "\n# edited\n")
    proc = snakemake(workflow_dir, "-n", "results/digits/data.npz")
    assert "rule normalise:" in proc.stdout + proc.stderr


def test_entry_scripts_are_thin():
    """Entry scripts only wire snakemake.* to the package: no logic of their own."""
    for script in (REPO / "workflow/scripts").glob("*.py"):
        code = [
            line
            for line in script.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith(("#", '"""'))
        ]
        assert len(code) <= 40, f"{script.name} has {len(code)} lines: move logic into the package"
        assert "def " not in script.read_text(), f"{script.name} defines functions"


def test_python_is_ruff_clean():
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_slurm_profile_lints_and_dry_runs(workflow_dir: Path):
    lint = subprocess.run(
        [str(VENV_BIN / "snakemake"), "--workflow-profile", "profiles/slurm", "--lint"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0 and "Congratulations" in lint.stdout + lint.stderr, lint.stderr
    proc = snakemake(
        workflow_dir, "-n", "--workflow-profile", "profiles/slurm", "--slurm-no-account"
    )
    out = proc.stdout + proc.stderr
    assert "profiles/slurm" in out
    assert "rule train:" in out and "mem_mb=8000" in out  # set-resources of the profile applies


def test_quick_variant_is_valid(workflow_dir: Path):
    proc = snakemake(workflow_dir, "-n", "--configfile", "config/quick.yaml")
    out = proc.stdout + proc.stderr
    assert "results/mnist/ae32_quick/latent.npz" in out


def test_rules_without_a_model_do_not_import_tensorflow():
    """Only train, train_holdout, encode and use_inputs need TensorFlow (seconds and 600 MB to
    import); every module the other rules' scripts import must stay free of it."""
    light = [
        "data", "datasets", "encoding", "plotting", "metrics", "structure", "uses", "report",
        "atlas", "projections", "neighbors", "pixels", "sweep_summary", "sweep_figures",
        "labels", "clusters",
    ]  # fmt: skip
    code = (
        f"import sys; sys.path.insert(0, {str(REPO / 'workflow' / 'scripts')!r}); "
        + "; ".join(f"import latent_atlas.{m}" for m in light)
        + "; print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
