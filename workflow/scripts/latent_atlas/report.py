"""The comparison report: one self-contained HTML file (figures embedded as data: URIs, no
request to any other host), plus ``metrics.csv`` and ``summary.json`` beside it for scripts.

It only assembles: figures come from the plotting rules (or are drawn here from saved maps),
numbers from the metrics rules and the ``benchmark:`` files.
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib.metadata
import json
import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from . import literature
from .io import atomic_open, sha256_file

PACKAGES = (
    "tensorflow-cpu",
    "tensorflow",
    "keras",
    "snakemake",
    "snakemake-executor-plugin-slurm",
    "scikit-learn",
    "umap-learn",
    "pynndescent",
    "numba",
    "openTSNE",
    "numpy",
    "pandas",
    "pyarrow",
    "matplotlib",
    "jinja2",
)
METRIC_COLUMNS = [
    ("knn_acc_1", "1-NN acc.", "max"),
    ("knn_acc_5", "5-NN acc.", "max"),
    ("trustworthiness", "trustworthiness", "max"),
    ("silhouette", "silhouette", "max"),
    ("fit_seconds", "fit s", "min"),
    ("transform_seconds", "transform s", "min"),
]


def data_uri(path: str | os.PathLike[str]) -> str:
    """A PNG/SVG file as a data: URI, so the report needs no other file."""
    p = Path(path)
    mime = {".png": "image/png", ".svg": "image/svg+xml"}[p.suffix]
    return f"data:{mime};base64,{base64.b64encode(p.read_bytes()).decode()}"


def versions(names: Sequence[str] = PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that shape the results (missing ones left out)."""
    found = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    found["python"] = platform.python_version()
    return found


def _git(folder: str | os.PathLike[str], *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=folder, capture_output=True, text=True, check=True, timeout=10
    ).stdout.strip()


def git_commit(folder: str | os.PathLike[str]) -> str:
    """The workflow's git commit (with '-dirty' when it has uncommitted changes)."""
    try:
        head = _git(folder, "rev-parse", "HEAD")
        dirty = _git(folder, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "not a git checkout"
    return head + ("-dirty" if dirty else "")


def benchmarks(
    folder: str | os.PathLike[str], study: Mapping[str, Sequence[str]] | None = None
) -> pd.DataFrame:
    """Wall time and peak memory of every job of the study, from the ``benchmark:`` files
    (``benchmarks/{dataset}/{model}/{job}.tsv``; files of other datasets or models are skipped)."""
    rows = []
    root = Path(folder)
    for tsv in sorted(root.rglob("*.tsv")):
        parts = tsv.relative_to(root).parts
        if study is not None and len(parts) > 1:
            if parts[0] not in study["datasets"]:
                continue
            if len(parts) > 2 and parts[1] not in study["models"]:
                continue
        try:
            b = pd.read_csv(tsv, sep="\t")
        except (pd.errors.ParserError, pd.errors.EmptyDataError):
            continue
        if b.empty or "s" not in b:
            continue
        rows.append(
            {
                "job": str(tsv.relative_to(root).with_suffix("")),
                "seconds": float(b["s"].iloc[-1]),
                "max_rss_mb": float(b["max_rss"].iloc[-1]) if "max_rss" in b else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=["job", "seconds", "max_rss_mb"])


def wide_metrics(tidy: pd.DataFrame) -> pd.DataFrame:
    """Tidy metrics -> one row per dataset/model/method, a column per metric."""
    wide = tidy.pivot_table(
        index=["dataset", "model", "method"], columns="metric", values="value", sort=False
    ).reset_index()
    wide.columns.name = None
    return wide


def metrics_table(wide: pd.DataFrame) -> dict:
    """Rows for the HTML table: ours (best per column marked) then the literature's."""
    maps = wide[wide["method"].isin(["pca", "tsne", "umap"])]
    best = {}
    for key, _, goal in METRIC_COLUMNS:
        if key in maps and maps[key].notna().any():
            best[key] = maps[key].max() if goal == "max" else maps[key].min()
    ours = []
    for _, r in wide.iterrows():
        cells = []
        for key, _, _ in METRIC_COLUMNS:
            v = r.get(key, np.nan)
            is_map = r["method"] in ("pca", "tsne", "umap")
            cells.append(
                {
                    "text": "" if pd.isna(v) else (f"{v:.2f}" if "seconds" in key else f"{v:.4f}"),
                    "best": bool(is_map and key in best and not pd.isna(v) and v == best[key]),
                }
            )
        kind = "map" if r["method"] in ("pca", "tsne", "umap") else "reference"
        ours.append(
            {
                "label": f"{r['dataset']} / {r['model']} / {r['method']}",
                "cells": cells,
                "kind": kind,
            }
        )
    lit = []
    for name, values in {
        **literature.PARAMETRIC_UMAP_MNIST_2D,
        **literature.PARAMETRIC_UMAP_MNIST_64D,
    }.items():
        cells = [
            {"text": f"{values[k]:.4f}" if k in values else "", "best": False}
            for k, _, _ in METRIC_COLUMNS
        ]
        lit.append({"label": f"literature: {name}", "cells": cells, "kind": "literature"})
    return {"columns": [c[1] for c in METRIC_COLUMNS], "ours": ours, "literature": lit}


def render(context: Mapping) -> str:
    """Fill the Jinja2 template (autoescaped)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("report.html.j2").render(**context)


def build(
    *,
    metrics_csv: str | os.PathLike[str],
    comparison_png: str | os.PathLike[str],
    model_figures: Mapping[str, Mapping[str, str]],
    data_figures: Mapping[str, str],
    histories: Mapping[str, str],
    datasets: Mapping[str, str],
    resource_files: Sequence[str],
    config: Mapping,
    benchmarks_dir: str | os.PathLike[str],
    workflow_dir: str | os.PathLike[str],
    out_html: str | os.PathLike[str],
    out_metrics: str | os.PathLike[str],
    out_summary: str | os.PathLike[str],
) -> dict:
    """Assemble the report and its two machine-readable companions; return the summary."""
    tidy = pd.read_csv(metrics_csv)
    wide = wide_metrics(tidy)
    keys = list(
        dict.fromkeys(f"{d}/{m}" for d, m in zip(wide["dataset"], wide["model"], strict=True))
    )
    bench = benchmarks(benchmarks_dir, config.get("study"))
    final_losses = {
        key: pd.read_csv(path).iloc[-1][["epoch", "loss", "val_loss"]].to_dict()
        for key, path in histories.items()
    }
    provenance = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "git_commit": git_commit(workflow_dir),
        "platform": f"{platform.platform()}; {os.cpu_count()} CPUs",
        "versions": versions(),
        "sha256": {
            **{Path(p).name: sha256_file(p) for p in resource_files},
            **{f"results/{name}/data.npz": sha256_file(p) for name, p in datasets.items()},
        },
    }
    summary = {
        "metrics": json.loads(wide.to_json(orient="records")),
        "final_losses": final_losses,
        "literature": {
            "citation": literature.CITATION,
            "mnist_2d": literature.PARAMETRIC_UMAP_MNIST_2D,
            "mnist_64d": literature.PARAMETRIC_UMAP_MNIST_64D,
        },
        "provenance": provenance,
        "benchmarks": json.loads(bench.to_json(orient="records")),
        "config": config,
    }
    import yaml

    context = {
        "title": "latent-atlas report",
        "keys": keys,
        "comparison": data_uri(comparison_png),
        "table": metrics_table(wide),
        "citation": literature.CITATION,
        "models": [
            {
                "key": key,
                "final": final_losses.get(key),
                "figures": [
                    {"title": title, "uri": data_uri(path)}
                    for title, path in model_figures[key].items()
                ],
            }
            for key in model_figures
        ],
        "data_figures": [{"title": k, "uri": data_uri(v)} for k, v in data_figures.items()],
        "provenance": provenance,
        "config_yaml": yaml.safe_dump(json.loads(json.dumps(config)), sort_keys=False),
        "bench": bench.to_dict(orient="records"),
        "total_seconds": float(bench["seconds"].sum()) if len(bench) else 0.0,
    }
    html = render(context)
    with atomic_open(out_html, "w") as fh:
        fh.write(html)
    with atomic_open(out_metrics, "w") as fh:
        wide.to_csv(fh, index=False)
    with atomic_open(out_summary, "w") as fh:
        json.dump(summary, fh, indent=2, default=str)
    return summary


def comparison(
    maps: Mapping[str, Mapping[str, str]],
    metrics_csv: str | os.PathLike[str],
    class_names: Sequence[str],
    out_png: str | os.PathLike[str],
    out_svg: str | os.PathLike[str],
) -> None:
    """The methods side by side for each dataset/model, from the saved maps
    (``maps``: "dataset/model" -> method -> projections parquet)."""
    from .plotting import comparison_figure, save
    from .projections import read_map

    frames = {
        (key, method): read_map(path)[0]
        for key, by_method in maps.items()
        for method, path in by_method.items()
    }
    tidy = pd.read_csv(metrics_csv)
    tidy["key"] = tidy["dataset"] + "/" + tidy["model"]
    save(comparison_figure(frames, tidy, class_names), out_png, out_svg)


def make(
    study: Mapping[str, Sequence[str]],
    results: Mapping,
    config: Mapping,
    resource_files: Sequence[str],
    workflow_dir: str | os.PathLike[str],
    out: Mapping[str, str],
) -> dict:
    """The report rule: comparison figure, then the HTML, metrics.csv and summary.json.

    ``results`` names every input file (the rule's ``report_results()``: "metrics", "data" and
    "data_figures" per dataset, "models" per "dataset/model"), so the results layout is written
    once, in the workflow's rules, not here.
    """
    from .io import load_npz

    models = results["models"]
    names = load_npz(results["data"][study["datasets"][0]], ("class_names",))["class_names"]
    comparison(
        {key: files["maps"] for key, files in models.items()},
        results["metrics"],
        [str(n) for n in names],
        out["png"],
        out["svg"],
    )
    return build(
        metrics_csv=results["metrics"],
        comparison_png=out["png"],
        model_figures={key: dict(files["figures"]) for key, files in models.items()},
        data_figures={f"{d}: samples": path for d, path in results["data_figures"].items()},
        histories={key: files["history"] for key, files in models.items()},
        datasets=dict(results["data"]),
        resource_files=resource_files,
        config=config,
        benchmarks_dir="benchmarks",
        workflow_dir=workflow_dir,
        out_html=out["html"],
        out_metrics=out["metrics"],
        out_summary=out["summary"],
    )
