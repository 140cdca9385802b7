"""Benchmarks write their own section of docs/performance.md (bench/_markdown.py); nothing here
runs a benchmark: the scripts' tables are built from made-up results."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
sys.path.insert(0, str(BENCH))
import _markdown  # noqa: E402

NAMES = ("study", "train", "project", "atlas", "scale")  # the bench scripts
# their sections of docs/performance.md, in its order (atlas.py: one per --study)
SECTIONS = (
    "study",
    "train",
    "project",
    "field",
    "atlas-default",
    "atlas-five-models",
    "atlas-vectors",
    "atlas-million",
    "scale",
    "end_to_end-1000000",
    "end_to_end-300000",
)
MARKER = {"atlas": "atlas-default"}  # a script's default section, when not its own name
DOC = REPO / "docs" / "performance.md"


def bench(name: str) -> ModuleType:
    """A bench script as a module, under a name no entry script of workflow/scripts shares."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_block_says_when_where_and_how():
    when = datetime(2026, 3, 4, 5, 6, tzinfo=UTC)
    argv = [str(BENCH / "train.py"), "--epochs", "5", "--markdown", "docs/performance.md"]
    text = _markdown.block("Training", ["intro.", "| a |\n| --- |\n| 1 |"], argv=argv, now=when)
    lines = text.splitlines()
    assert lines[0] == "### Training"
    assert "- date: 2026-03-04 05:06 UTC" in lines
    machine = next(line for line in lines if line.startswith("- machine: "))
    assert machine.startswith(f"- machine: {os.cpu_count()} cores, ")
    assert machine.endswith((" GiB RAM", "unknown RAM"))
    command = (
        "- command: `.venv/bin/python bench/train.py --epochs 5 --markdown docs/performance.md`"
    )
    assert command in lines
    assert text.endswith("intro.\n\n| a |\n| --- |\n| 1 |\n")


def test_machine_reads_cpu_model_and_memory(tmp_path: Path):
    cpu, mem = tmp_path / "cpuinfo", tmp_path / "meminfo"
    cpu.write_text("processor\t: 0\nmodel name\t: Example CPU @ 2.0GHz\nprocessor\t: 1\n")
    mem.write_text("MemTotal:        8048392 kB\nMemFree:          100 kB\n")
    assert (
        _markdown.machine(str(cpu), str(mem))
        == f"{os.cpu_count()} cores, Example CPU @ 2.0GHz, 7.7 GiB RAM"
    )
    missing = str(tmp_path / "none")
    assert _markdown.machine(missing, missing).endswith("unknown CPU, unknown RAM")


def test_command_quotes_arguments():
    argv = ["bench/atlas.py", "--atlas", "my results/atlas.html"]
    assert (
        _markdown.command(argv) == ".venv/bin/python bench/atlas.py --atlas 'my results/atlas.html'"
    )


def test_table_aligns_numbers_right_and_escapes_pipes():
    text = _markdown.table(["name", "seconds>"], [["a|b", 1.5]])
    assert text.splitlines() == ["| name | seconds |", "| --- | ---: |", "| a\\|b | 1.5 |"]


PAGE = (
    "# Title\r\n\r\nkeep  this   spacing\n"
    "<!-- bench:train:start -->\nold\nlines\n<!-- bench:train:end -->\n"
    "between\n<!-- bench:atlas:start --><!-- bench:atlas:end -->\ntail without newline"
)


def test_replace_between_changes_only_the_marked_text():
    out = _markdown.replace_between(PAGE, "train", "new\n")
    start, end = "<!-- bench:train:start -->", "<!-- bench:train:end -->"
    assert out == PAGE.replace(f"{start}\nold\nlines\n{end}", f"{start}\nnew\n{end}")
    assert _markdown.replace_between(out, "train", "new") == out  # idempotent
    atlas = _markdown.replace_between(PAGE, "atlas", "x")
    assert atlas.startswith(PAGE[: PAGE.index("<!-- bench:atlas:start -->")])
    assert atlas.endswith("<!-- bench:atlas:end -->\ntail without newline")


def test_write_block_keeps_the_rest_of_the_file_byte_identical(tmp_path: Path):
    doc = tmp_path / "perf.md"
    doc.write_bytes(PAGE.encode())
    _markdown.write_block(doc, "atlas", "| a |\n| --- |\n")
    before, after = PAGE.split("<!-- bench:atlas:start -->")[0], PAGE.split("-->")[-1]
    data = doc.read_bytes()
    assert data.startswith(before.encode()) and data.endswith(after.encode())
    assert b"\r\n\r\nkeep  this   spacing\n" in data
    assert b"<!-- bench:atlas:start -->\n| a |\n| --- |\n<!-- bench:atlas:end -->" in data


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<!-- bench:train:end -->", "no marker <!-- bench:train:start -->"),
        ("<!-- bench:train:start -->", "no marker <!-- bench:train:end -->"),
        ("<!-- bench:train:end --><!-- bench:train:start -->", "comes before"),
        ("<!-- bench:train:start -->" * 2 + "<!-- bench:train:end -->", "2 copies"),
    ],
)
def test_missing_markers_are_an_error_naming_file_and_marker(
    tmp_path: Path, text: str, message: str
):
    doc = tmp_path / "perf.md"
    doc.write_text(text)
    with pytest.raises(_markdown.MarkerError, match=re.escape(message)) as err:
        _markdown.write_block(doc, "train", "x")
    assert str(doc) in str(err.value)
    assert doc.read_text() == text
    with pytest.raises(_markdown.MarkerError, match=re.escape(str(doc))):
        _markdown.check_markers(doc, "train")


@pytest.mark.parametrize("name", NAMES)
def test_every_bench_script_takes_markdown(name: str, tmp_path: Path):
    """--help lists --markdown; a file without the script's markers stops it while its
    arguments are parsed (before any benchmark runs)."""
    script = str(BENCH / f"{name}.py")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    shown = subprocess.run(
        [sys.executable, script, "--help"], capture_output=True, text=True, env=env
    )
    assert shown.returncode == 0 and "--markdown PATH" in shown.stdout, shown.stderr
    doc = tmp_path / "perf.md"
    doc.write_text("no markers here\n")
    bad = subprocess.run(
        [sys.executable, script, "--markdown", str(doc)], capture_output=True, text=True, env=env
    )
    assert bad.returncode == 2, bad.stderr
    marker = MARKER.get(name, name)
    assert f"<!-- bench:{marker}:start -->" in bad.stderr and str(doc) in bad.stderr


def test_refresh_docs_dry_run_lists_every_benchmark():
    script = [sys.executable, str(BENCH / "refresh_docs.py"), "--dry-run"]
    out = subprocess.run(script, capture_output=True, text=True, check=True).stdout.splitlines()
    scripts = [re.search(r"bench/(\w+)\.py", line).group(1) for line in out]
    assert scripts == [s.split("-")[0] for s in SECTIONS]
    assert all(line.endswith("--markdown docs/performance.md") for line in out)
    assert "nice -n 10 " in out[0] and "bench/atlas.py --runs 5 " in out[4]
    assert "bench/atlas.py --study vectors " in out[6]
    only = subprocess.run([*script, "--only", "scale", "train"], capture_output=True, text=True)
    picked = [re.search(r"bench/(\w+)\.py", line).group(1) for line in only.stdout.splitlines()]
    assert picked == ["train", "scale"]  # the page's order, whatever the order asked


def test_performance_page_names_the_refresh_command_and_has_every_section():
    text = DOC.read_text(encoding="utf-8")
    opening = " ".join(text.split("\n## ", 1)[0].split())
    assert "against the seed tutorial, and how does it scale?" in opening
    assert ".venv/bin/python bench/refresh_docs.py" in opening
    for name in SECTIONS:
        _markdown.check_markers(DOC, name)
    refresh = bench("refresh_docs")
    assert list(refresh.BENCHES) == list(SECTIONS)
    # docs/atlas.md shows the atlas's sections too: the refresh copies them there
    assert [p.name for p in refresh.copies("atlas-vectors", DOC.resolve())] == ["atlas.md"]


def _fill(tmp_path: Path, name: str, body: list[str]) -> str:
    """The block a script would write, written into a copy of docs/performance.md."""
    doc = tmp_path / "performance.md"
    if not doc.exists():
        doc.write_bytes(DOC.read_bytes())
    argv = [f"bench/{name}.py", "--markdown", "docs/performance.md"]
    _markdown.write_block(doc, name, _markdown.block(name, body, argv=argv))
    text = doc.read_text(encoding="utf-8")
    start, end = _markdown.markers(name)
    return text[text.index(start) : text.index(end)]


def _rows(section: str) -> list[list[str]]:
    return [
        [c.strip() for c in line.strip("|").split(" | ")]
        for line in section.splitlines()
        if line.startswith("| ") and not line.startswith("| --")
    ]


def test_train_writes_its_table(tmp_path: Path):
    body = bench("train").markdown_body(["TensorFlow 2.x"], 50, (30.0, 0.09), (10.0, 0.0909, 0.18))
    section = _fill(tmp_path, "train", body)
    assert ["latent-atlas' trainer", "0.200", "0.180", "0.09090"] in _rows(section)
    assert "**3.00x**" in section and "+1.00%" in section


def test_atlas_writes_its_budgets(tmp_path: Path):
    run = {
        "ready_s": 1.3,
        "first_hover_s": 1.5,
        "first_hover_wall_s": 1.6,
        "hover_s": 0.05,
        "selection_s": 1.0,
        "selected": 7793,
        "csv_s": 0.1,
        "csv_mb": 0.7,
        "csv_all_s": 1.0,
        "csv_all_mb": 7.0,
        "pin_s": 0.15,
        "density_s": 0.05,
        "contours_s": float("nan"),
        "labels_s": float("nan"),
        "layer_s": 0.7,
        "field_s": 0.02,
    }
    size = {"total": 22.9, "sprite_sheets": 15.9, "columns": 5.5, "library_js": 0.2, "rest": 1.3}
    body = bench("atlas").markdown_body("default", ["mnist/ae32"], size, [run] * 3, run)
    rows = _rows(_fill(tmp_path, "atlas-default", body))
    assert ["file size (MB)", "22.9", "—", "23.5", "0.97"] in rows
    assert [
        "pin a point: neighbours lit in every map (s)",
        "0.150",
        "0.150, 0.150, 0.150",
        "0.3",
        "0.50",
    ] in rows
    assert ["contours on, every map (s)", "not measured", "—", "—", "—"] in rows
    assert rows[-1][:2] == ["decoded field under the cursor: image drawn (s)", "0.020"]
    large = bench("atlas").markdown_body("million", ["m/none"], size, [run], run)
    million = _rows(_fill(tmp_path, "atlas-million", large))
    assert ["file size (MB)", "22.9", "—", "120", "0.19"] in million
    assert ["hover another point: panel updated (s)", "0.050", "0.050", "0.3", "0.17"] in million


def test_scale_writes_steps_and_growth(tmp_path: Path):
    scale = bench("scale")
    step = {"seconds": 2.0, "wall": 3.0, "rss_mb": 500.0}
    graph = {**step, "approximate": 1, "train_recall": 0.999, "test_recall": 0.998}
    rows = {s: [graph if s == "neighbors" else step] * 2 for s in scale.STEPS}
    growth = [(s, 1.0, 0.5, 20.0, 900.0) for s in scale.STEPS]
    body = scale.markdown_body(
        "load: 1.00 on 2 cores; threads=2", [1000, 2000], rows, growth, 10**6, "load at end: 1.1"
    )
    table = _rows(_fill(tmp_path, "scale", body))
    assert ["1,000", "neighbors", "2.0", "3.0", "500", "0.9990 / 0.9980 (approximate)"] in table
    assert ["umap", "1.00", "0.50", "20", "900"] in table
    one = scale.markdown_body("load", [1000], {s: r[:1] for s, r in rows.items()}, [], 10**6, "")
    assert one[-1] == "One size: no growth exponent to fit."


def test_project_writes_each_part(tmp_path: Path):
    seed = {"pca": 0.1, "tsne (5k + 1k, two maps)": 20.0, "umap": 30.0}
    ours = {"knn graph": 10.0, "pca": 0.2, "tsne": 30.0, "umap": 20.0}
    method = {
        "threads": 1,
        "graph_k": 16,
        "graph_seconds": 1.0,
        "fit_seconds": 5.0,
        "transform_seconds": 0.0,
        "fitted_together": True,
        "peak_rss_mb": 400.0,
    }
    scaled = {"points": 5000, "knn graph": 0.5, "pca": 0.1, "tsne": 2.0, "umap": 3.0}
    results = {"seed": (seed, ours, 70000), "methods": [("trimap", method)], "scaling": [scaled]}
    section = _fill(tmp_path, "project", bench("project").markdown_body("codes: x", results))
    rows = _rows(section)
    assert ["trimap", "1", "16", "1.0", "5.0", "0.0", "400", "fitted in with train"] in rows
    assert ["5,000", "0.5", "0.1", "2.0", "3.0"] in rows
    assert "**0.83x**" in section  # 50.1 / 60.2


def test_study_writes_both_sides(tmp_path: Path):
    tutorial = {"stages": {"import": 15.0, "train": 40.0}, "wall": 175.0, "rss": 2350.0}
    jobs = [("mnist/ae32/train", 19.5, 1312.0), ("report", 3.4, 244.0)]
    spans = [("train[mnist,ae32]", 0.0, 20.0), ("report", 20.0, 24.0)]
    workflow = {"jobs": jobs, "wall": 110.0, "rss": 1400.0, "spans": spans}
    threads = {"mnist/ae32/train": 2}
    body = bench("study").markdown_body(2, tutorial, workflow, threads, (1.2, 1.5))
    section = _fill(tmp_path, "study", body)
    rows = _rows(section)
    assert ["wall (s)", "175.0", "110.0"] in rows
    assert ["mnist/ae32/train", "2", "19.5", "1312"] in rows
    assert ["train[mnist,ae32]", "0", "20"] in rows
    assert "**0.63x**" in section and "add up to 42.4 s" in section


def test_study_writes_the_runs_map_quality_next_to_the_literature(tmp_path: Path):
    csv = tmp_path / "metrics.csv"
    rows = ["dataset,model,method,metric,value"]
    for method, base in (("pca", 0.3), ("tsne", 0.9), ("latent", 0.96)):
        for i, metric in enumerate(("knn_acc_1", "knn_acc_5", "trustworthiness", "silhouette")):
            if method != "latent" or metric.startswith("knn"):
                rows.append(f"mnist,ae32,{method},{metric},{base + i / 100}")
    rows.append("digits,ae32,umap,knn_acc_1,0.5")  # another dataset: not shown
    csv.write_text("\n".join(rows) + "\n")
    study = bench("study")
    table = _rows(_fill(tmp_path, "study", study.quality_body(csv)))
    assert table[0][:3] == ["map", "1-NN", "5-NN"]
    assert ["PCA", "0.300", "0.310", "0.320", "", "0.330", "0.420 / 0.743 / 0.023"] in table
    assert table[2][0] == "t-SNE" and table[2][-1] == "0.950 / 0.987 / 0.350"
    assert table[3] == ["32-D codes (reference)", "0.960", "0.970", "", "", "", ""]
    assert len(table) == 4  # no UMAP row: the run has no UMAP map


README = REPO / "README.md"


def _headline_cells() -> list[str]:
    """The cells of the README's headline table, but its first column (what each row is)."""
    section = README.read_text(encoding="utf-8").split("\n## Headline numbers\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    rows = _rows(section)
    assert len(rows) >= 5, "the README's headline table is gone"
    return [cell for row in rows[1:] for cell in row[1:]]


def test_the_readmes_headline_numbers_are_the_benchmarks_own():
    """Every number the README's headline table quotes appears in docs/performance.md, which
    the benchmarks write: a number pasted by hand, or left behind by a refresh, fails here."""
    page = DOC.read_text(encoding="utf-8")
    numbers = [n for cell in _headline_cells() for n in re.findall(r"\d[\d,]*\.?\d*", cell)]
    assert len(numbers) >= 8, numbers
    for number in numbers:
        number = number.rstrip(".")
        assert re.search(rf"(?<![\d.,]){re.escape(number)}(?![\d,]|\.\d)", page), (
            f"the README quotes {number}, which docs/performance.md does not hold: rerun "
            "`.venv/bin/python bench/refresh_docs.py` and quote its numbers"
        )


def test_end_to_end_section_says_budgets_guard_and_jobs():
    e2e = bench("end_to_end")
    run = {
        "wall": 1500.0,
        "peak_mb": 6144.0,
        "peak_at": 40.0,
        "peak_parts": [("project.py", 4000.0), ("project.py", 2000.0), ("snakemake", 144.0)],
        "jobs": [("table/none/project_tsne", 700.0, 3000.0), ("atlas", 60.0, 2500.0)],
        "threads": {},
        "spans": [("project[table,none,tsne]", 0.0, 700.0)],
    }
    quality = {"tsne": {"knn_acc_5": 0.9, "trustworthiness": 0.98, "fit_seconds": 690.0}}
    checks = [
        {
            "method": m,
            "straight_seconds": 900.0,
            "ours": {"knn_acc_5": 0.90, "trustworthiness": ours_t},
            "straight": {"knn_acc_5": 0.905, "trustworthiness": 0.99},
        }
        for m, ours_t in (("tsne", 0.985), ("umap", 0.97))
    ]
    text = "\n\n".join(e2e.markdown_body(1_000_000, 2, run, quality, checks, (1.0, 2.0)))
    rows = _rows(text)
    assert ["wall (min)", "25.0", "30"] in rows
    assert ["peak memory, all processes (GB)", "6.44", "8"] in rows  # 6144 MiB = 6.44e9 bytes
    assert "40 s after the start, made of project.py 4.19, project.py 2.10, snakemake" in text
    assert [
        e2e.process_name(c)
        for c in (
            ["/v/bin/python", "/w/.snakemake/scripts/tmpab.project.py"],
            ["/v/bin/python", "/v/bin/snakemake", "--cores"],
            [],
        )
    ] == ["project.py", "snakemake", "?"]
    guard = {r[0]: r[-1] for r in rows if len(r) == 7}
    assert guard["t-SNE"] == "met"  # within 0.01 of the straight run
    assert guard["UMAP"] == "**not met**"  # trustworthiness 0.02 below it
    assert "| table/none/project_tsne | 700.0 | 3000 |" in text
    assert e2e.table(2000)["z"].shape == (2000, 64)
    np.testing.assert_array_equal(e2e.table(2000)["z"], e2e.table(2000)["z"])  # seeded
