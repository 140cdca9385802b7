"""The environment a run starts in: a Python lacking the jobs' packages, a version other than the
pinned one, a missing --configfile, a home folder that cannot be written. Each stops before any
job with a message naming the thing, and the README's fix works as written."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from conftest import REPO, snakemake
from latent_atlas import environment


def test_the_checked_packages_are_the_runtime_pins_of_requirements_in():
    names = environment.runtime(REPO / "requirements.in")
    assert {"tensorflow-cpu", "scikit-learn", "numpy", "faiss-cpu"} <= set(names)
    assert not {"snakemake", "pytest", "ruff"} & set(names)
    assert environment.runtime(REPO / "no-such.in") == []


def test_this_venv_has_every_package_at_its_pin():
    assert environment.check(REPO / "requirements.txt") == (None, [])


def test_a_missing_package_is_named_with_the_fix(tmp_path: Path):
    error, _ = environment.check(tmp_path / "none.txt", ["numpy", "no-such-dist-xyz"])
    assert error is not None
    assert "lacks no-such-dist-xyz," in error and "numpy" not in error
    assert "`make run`" in error and "--sdm conda" in error


def test_a_version_other_than_the_pin_is_a_warning(tmp_path: Path):
    lock = tmp_path / "requirements.txt"
    lock.write_text("numpy==0.0.1\nscikit_learn==0.0.2\n")
    error, warnings = environment.check(lock, ["numpy", "scikit-learn", "pandas"])
    assert error is None
    assert len(warnings) == 2 and "numpy" in warnings[0] and "pins 0.0.1" in warnings[0]
    assert "scikit-learn" in warnings[1]  # the lock's spelling of a name does not matter


def run(wd: Path, *argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Snakemake as a user types it: no --cores (the profile's), the exit code left to the test."""
    return snakemake(wd, *argv, cores=None, check=False, env=env, timeout=600)


def test_a_python_without_a_package_stops_before_any_job(workflow_dir: Path, tmp_path: Path):
    """umap-learn hidden from the Python that runs snakemake (as in an environment without it):
    one error naming it, and no job runs."""
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        "import importlib.metadata as m\n"
        "_version = m.version\n"
        "def version(name):\n"
        "    if name == 'umap-learn':\n"
        "        raise m.PackageNotFoundError(name)\n"
        "    return _version(name)\n"
        "m.version = version\n"
    )
    proc = run(workflow_dir, "--configfile", "tiny.yaml", env={"PYTHONPATH": str(hide)})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "lacks umap-learn, which the workflow's jobs import" in out, out[-3000:]
    assert "make run" in out and "Traceback" not in out
    assert not (workflow_dir / "results").exists()


def test_a_missing_configfile_is_named(workflow_dir: Path):
    """Snakemake reads --configfile before the workflow: its own error names the file (the
    README says how the path is read)."""
    proc = snakemake(workflow_dir, "-n", "--configfile", "nothere.yaml", check=False)
    assert proc.returncode != 0
    assert "No such file or directory: 'nothere.yaml'" in proc.stdout + proc.stderr
    readme = (REPO / "README.md").read_text()
    assert "`FileNotFoundError: ... 'my.yaml'`" in readme


def test_an_unwritable_home_and_the_readmes_fix(workflow_dir: Path, tmp_path: Path):
    """HOME that cannot hold ~/.cache stops Snakemake itself; the README's
    `XDG_CACHE_HOME=/tmp/$USER-cache .venv/bin/snakemake` runs (here on digits' data and its
    figure, so Matplotlib and the package's caches run too)."""
    home = tmp_path / "home-is-a-file"
    home.write_text("")
    readme = (REPO / "README.md").read_text()
    fix = re.search(r"`(XDG_CACHE_HOME=(\S+) \.venv/bin/snakemake)`", readme)
    assert fix, "the README shows no XDG_CACHE_HOME fix"
    cache = fix.group(2).replace("$USER", os.environ.get("USER", ""))
    targets = ("results/digits/figures/samples.png", "--configfile", "tiny.yaml")
    broken = run(workflow_dir, *targets, env={"HOME": str(home)})
    assert broken.returncode != 0 and ".cache" in broken.stdout + broken.stderr
    fixed = run(workflow_dir, *targets, env={"HOME": str(home), "XDG_CACHE_HOME": cache})
    assert fixed.returncode == 0, (fixed.stdout + fixed.stderr)[-4000:]
    assert (workflow_dir / "results/digits/figures/samples.png").stat().st_size > 10_000
