"""docs/extending.md, done exactly as the page says: its files written, its schema changes made,
its commands run in a scratch copy of the workflow; the new method, measure, format and kind
then show in results/metrics.csv, the report and the atlas."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO, VENV_BIN, copy_workflow

PAGE = REPO / "docs" / "extending.md"
STEP = re.compile(r"<!-- (file|schema-append|schema-set): (\S+) -->\n```\w*\n(.*?)```", re.S)


# The tests that read the registries, the schema or the config files: a new entry must leave them
# green (tests/test_extending.py runs them on the extended copy).
REGISTRY_TESTS = [
    "test_registries.py",
    "test_bad_config.py",
    "test_configuration.py",
    "test_config_readme.py",
    "test_structure.py",
    "test_local_quality.py",
    "test_codedeps.py",
]


def steps(section: str | None = None) -> list[tuple[str, str, str]]:
    """(kind, target, body) of the page's steps, or of one section's ("A model kind")."""
    text = PAGE.read_text()
    if section is not None:
        text = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return STEP.findall(text)


def test_the_page_has_a_file_for_each_registry_and_its_schema_changes():
    files = [target for kind, target, _ in steps() if kind == "file"]
    for folder in ("methods", "measures", "formats", "kinds"):
        assert any(f"latent_atlas/{folder}/" in f for f in files), folder
    assert sum(kind.startswith("schema") for kind, _, _ in steps()) >= 4


def _node(tree: dict, dotted: str) -> tuple[dict, str]:
    *parents, last = dotted.split(".")
    for key in parents:
        tree = tree[key]
    return tree, last


def apply(wd: Path, section: str | None = None) -> None:
    """Write the page's files and make its schema changes in ``wd`` (or one section's). A tree
    that has them already (the suite itself run on an extended copy) is left as it is."""
    schema_path = wd / "workflow/schemas/config.schema.yaml"
    schema = yaml.safe_load(schema_path.read_text())
    for kind, target, body in steps(section):
        if kind == "file":
            path = wd / target
            if path.exists():
                assert path.read_text() == body, f"{target} exists, with other content"
            path.write_text(body)
            continue
        parent, key = _node(schema, target)
        value = yaml.safe_load(body)
        if kind == "schema-append":
            if value not in parent[key]:
                parent[key].append(value)
        else:
            assert parent.get(key, value) == value, target
            parent[key] = value
    schema_path.write_text(yaml.safe_dump(schema, sort_keys=False))


def commands() -> list[str]:
    """The page's shell commands (inline code that runs a program of the venv or snakemake)."""
    return re.findall(r"`((?:\.venv/bin/python|snakemake) [^`]+)`", PAGE.read_text())


@pytest.mark.slow(reason="the docs' four extension examples through a study")
def test_the_worked_examples_run_through_the_report_and_the_atlas(tmp_path: Path):
    wd = copy_workflow(tmp_path / "wf")
    apply(wd)
    cmds = commands()
    assert [c.split()[0] for c in cmds] == [".venv/bin/python"] * 2 + ["snakemake"], cmds
    for cmd in cmds:
        argv = shlex.split(cmd)
        exe = VENV_BIN / Path(argv[0]).name
        proc = subprocess.run(
            [str(exe), *argv[1:]], cwd=wd, capture_output=True, text=True, timeout=1500
        )
        assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"

    tidy = pd.read_csv(wd / "results/metrics.csv")
    maps = tidy[tidy["method"].isin(["pca", "randproj"])]
    assert set(maps["dataset"]) == {"mydigits"}  # the csv format's dataset
    assert set(maps["model"]) == {"lin"}  # the linear kind
    for (dataset, method), g in maps.groupby(["dataset", "method"]):
        values = dict(zip(g["metric"], g["value"], strict=True))
        assert 0.0 < values["neighborhood_hit"] <= 1.0, (dataset, method)
        assert 0.0 < values["knn_acc_5"] <= 1.0, (dataset, method)
    hits = maps.set_index(["dataset", "method", "metric"])["value"]
    pca, rand = (hits["mydigits", m, "neighborhood_hit"] for m in ("pca", "randproj"))
    assert pca > rand  # PCA keeps more of the classes' structure than a random projection

    report = (wd / "results/report/index.html").read_text()
    assert "neighbourhood hit" in report and "mydigits / lin / randproj" in report
    atlas = (wd / "results/report/atlas.html").read_text()
    assert "random projection" in atlas and "mydigits/lin" in atlas
    assert (wd / "results/mydigits/lin/figures/randproj.png").stat().st_size > 10_000

    # the suite's tests of registries, schema and configuration, on the extended copy
    for name in ("tests", "pyproject.toml", "README.md"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, wd / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, wd / name)
    proc = subprocess.run(
        [str(VENV_BIN / "python"), "-m", "pytest", "-q", "-m", "not slow", "-n", "0",
         "-p", "no:cacheprovider", *(f"tests/{t}" for t in REGISTRY_TESTS)],
        cwd=wd, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-6000:]
