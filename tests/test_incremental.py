"""A change reruns what it changes, and nothing more: in a copy of the finished tiny study,
docs/extending.md's four examples are added one by one, a kind's new setting among them, and a
method's module is edited; a dry run after each says which jobs would rerun."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import dry_run_jobs
from test_extending import apply

# The jobs that gather every map or model (they use every entry of the study).
AGGREGATES = {"model_metrics", "study_metrics", "report", "atlas", "sweep_summary", "plot_sweep"}
AGGREGATES |= {"plot_comparison", "all"}  # every map side by side; the target rule
# What the codes, graphs and maps come from: a measure changes none of them.
UPSTREAM = {"normalise", "train", "train_holdout", "encode", "neighbors", "project"}


def reruns(wd: Path) -> list[tuple[str, dict[str, str]]]:
    return dry_run_jobs(wd, "--configfile", "tiny.yaml")


@pytest.mark.slow(reason="dry runs on a copy of the tiny study (its run is shared)")
def test_adding_and_editing_entries_reruns_only_the_jobs_that_use_them(
    tiny_study: Path, tmp_path: Path
):
    wd = tmp_path / "wf"
    shutil.copytree(tiny_study, wd, symlinks=True)
    assert reruns(wd) == []
    schema = wd / "workflow/schemas/config.schema.yaml"

    # a method, a format and a kind (with a setting of its own, whose default the schema gives
    # every model) that the study does not use: nothing to rerun
    for section in ("A projection method", "A data format", "A model kind"):
        apply(wd, section)
        assert reruns(wd) == [], section
    assert "use_bias" in schema.read_text()

    # a measure: every map's measures and what shows them, never the codes, graph or maps
    before = schema.read_text()
    apply(wd, "A map measure")
    jobs = reruns(wd)
    rules = {rule for rule, _ in jobs}
    assert {"map_metrics", "model_metrics", "study_metrics", "report"} <= rules
    assert not rules & UPSTREAM, sorted(rules & UPSTREAM)
    assert len([r for r in jobs if r[0] == "map_metrics"]) == 6  # 2 models x 3 methods
    (wd / "workflow/scripts/latent_atlas/measures/neighborhood_hit.py").unlink()
    schema.write_text(before)
    assert reruns(wd) == []

    # one method's module edited: that method's jobs and the aggregates
    module = wd / "workflow/scripts/latent_atlas/methods/tsne.py"
    module.write_text(module.read_text() + "\n# edited\n")
    jobs = reruns(wd)
    assert ("project", {"dataset": "digits", "model": "ae32", "method": "tsne"}) in jobs
    for rule, fill in jobs:
        assert fill.get("method") == "tsne" or rule in AGGREGATES, (rule, fill)
    assert {rule for rule, fill in jobs if fill.get("method") == "tsne"} >= {
        "project", "map_metrics", "local_quality", "plot_map", "plot_local", "map_labels",
        "field_codes", "decode_field",
    }  # fmt: skip


# -- a job reads only its inputs -----------------------------------------------------------------

# What an entry script may use of the `snakemake` object: files come from input (and its own
# output and log), settings from params, threads, wildcards and config; scriptdir is the
# workflow's checkout (the report's git commit).
SCRIPT_ATTRIBUTES = {"input", "output", "log", "params", "threads", "wildcards", "config"}
SCRIPT_ATTRIBUTES |= {"scriptdir"}


def test_scripts_take_files_only_from_the_snakemake_object():

    from conftest import REPO

    for script in sorted((REPO / "workflow/scripts").glob("*.py")):
        used = set(re.findall(r"\bsnakemake\.(\w+)", script.read_text()))
        assert used <= SCRIPT_ATTRIBUTES, (script.name, used - SCRIPT_ATTRIBUTES)


@pytest.mark.slow(reason="reads the shared variants study's job records")
def test_no_job_is_handed_a_results_path_outside_its_inputs(tiny_variants: Path):
    """Every job of the finished study (sweeps included), as Snakemake recorded it: its params
    name no file of results/ or benchmarks/ (paths reach a script as inputs, where Snakemake
    sees them), but for a training job's own resume folder."""
    import base64
    import json

    records = list((tiny_variants / ".snakemake" / "metadata").iterdir())
    rules = set()
    for record in records:
        meta = json.loads(record.read_text())
        output = base64.b64decode(record.name).decode()
        rules.add(meta["rule"])
        for value in meta.get("params") or []:
            for path in re.findall(r"(?:results|benchmarks)/[^'\" ,}\]]+", value):
                assert path.endswith("/.resume"), (meta["rule"], output, path)
    assert {"report", "atlas", "sweep_summary", "plot_sweep", "train"} <= rules


@pytest.mark.slow(reason="a dry run on a copy of the tiny study (its run is shared)")
def test_deleted_timings_rerun_only_the_report_that_lists_them(tiny_study: Path, tmp_path: Path):
    """The report's inputs hold the jobs' benchmark files; a finished job whose file is gone is
    not run again for it (that would be the whole study after `rm -rf benchmarks`)."""
    wd = tmp_path / "wf"
    shutil.copytree(tiny_study, wd, symlinks=True)
    shutil.rmtree(wd / "benchmarks")
    assert {rule for rule, _ in reruns(wd)} == {"report", "all"}
