"""The comparison report: one self-contained HTML file (figures embedded as data: URIs, no
request to any other host), plus ``metrics.csv`` and ``summary.json`` beside it for scripts.

It only assembles: figures come from the plotting rules (or are drawn here from saved maps),
numbers from the metrics rules and the ``benchmark:`` files.
"""

from __future__ import annotations

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

from . import literature, measures, methods, sweep_summary
from .data import is_labelled
from .io import atomic_open, data_uri, sha256_file

NO_LABELS = "no labels"  # a label-based measure of data without labels: not measured
LABEL_ROWS = 20  # a map's labels listed in the report (the most populous; the CSV has all)
THUMBNAIL = 480  # pixels across a map's picture beside its labels

PACKAGES = (
    "tensorflow-cpu",
    "tensorflow",
    "keras",
    "snakemake",
    "snakemake-executor-plugin-slurm",
    "scikit-learn",
    "numpy",
    "pandas",
    "pyarrow",
    "matplotlib",
    "jinja2",
)


def packages() -> tuple[str, ...]:
    """The packages whose versions the report records: the workflow's and every method's."""
    extra = [p for m in methods.REGISTRY.values() for p in m.packages]
    return tuple(dict.fromkeys([*PACKAGES, *extra]))


def versions(names: Sequence[str] | None = None) -> dict[str, str]:
    """Installed versions of the packages that shape the results (missing ones left out)."""
    found = {}
    for name in packages() if names is None else names:
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
    files: Sequence[str | os.PathLike[str]], root: str | os.PathLike[str] = "benchmarks"
) -> pd.DataFrame:
    """Wall time and peak memory of each job whose ``benchmark:`` file is given (the report's
    inputs: the jobs that wrote the study's files), named by its path under ``root``."""
    rows = []
    for tsv in map(Path, files):
        try:
            b = pd.read_csv(tsv, sep="\t")
        except (pd.errors.ParserError, pd.errors.EmptyDataError):
            continue
        if b.empty or "s" not in b:
            continue
        job = tsv.relative_to(root) if tsv.is_relative_to(root) else tsv
        rows.append(
            {
                "job": str(job.with_suffix("")),
                "seconds": float(b["s"].iloc[-1]),
                "max_rss_mb": float(b["max_rss"].iloc[-1]) if "max_rss" in b else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=["job", "seconds", "max_rss_mb"])


def similarity_section(tables: Mapping[str, Mapping[str, str]]) -> list[dict]:
    """Per dataset, the similarity matrix figure and a table: a row per pair of spaces, a
    column per measure with "calibrated (raw; p)"."""
    from .similarity import MEASURES

    sections = []
    for dataset, files in tables.items():
        frame = pd.read_csv(files["table"])
        rows = []
        for (a, b), pair in frame.groupby(["a", "b"], sort=False):
            by = pair.set_index("measure")
            rows.append(
                {
                    "label": f"{a} / {b}",
                    "cells": [
                        f"{by.at[m, 'calibrated']:.3f} ({by.at[m, 'raw']:.3f}; "
                        f"p {by.at[m, 'p_value']:.3g})"
                        for m in MEASURES
                    ],
                }
            )
        first = frame.iloc[0]
        sections.append(
            {
                "dataset": dataset,
                "figure": data_uri(files["png"]),
                "columns": list(MEASURES),
                "rows": rows,
                "points": int(first["points"]),
                "permutations": int(first["permutations"]),
                "k": int(first["k"]),
            }
        )
    return sections


def wide_metrics(tidy: pd.DataFrame) -> pd.DataFrame:
    """Tidy metrics -> one row per dataset/model/method, a column per metric."""
    wide = tidy.pivot_table(
        index=["dataset", "model", "method"], columns="metric", values="value", sort=False
    ).reset_index()
    wide.columns.name = None
    return wide


def metrics_table(
    wide: pd.DataFrame, metric_params: Mapping | None = None, unlabelled: Sequence[str] = ()
) -> dict:
    """Rows for the HTML table: ours (best per column marked) then the literature's.

    The columns are the registered measures' (:mod:`latent_atlas.measures`) for the study's
    ``metrics:`` settings; the rows whose method is a registered projection method are maps,
    the others (latent-space and pixel k-NN) references. A dataset of ``unlabelled`` has its
    label-based cells say "no labels" (not measured), not a blank.
    """
    columns = measures.columns(metric_params or {})
    by_labels = {
        key
        for m in measures.REGISTRY.values()
        if m.needs_labels
        for key in m.columns(metric_params or {})
    }
    wide = wide[wide["method"] != "uses"]  # the uses have their own table
    maps = wide[wide["method"].map(methods.is_map)]
    best = {}
    for key, _, better in columns:
        if key in maps and maps[key].notna().any():
            best[key] = maps[key].max() if better == "higher" else maps[key].min()
    ours = []
    for _, r in wide.iterrows():
        is_map = methods.is_map(r["method"])
        cells = []
        for key, _, _ in columns:
            v = r.get(key, np.nan)
            text = "" if pd.isna(v) else (f"{v:.2f}" if "seconds" in key else f"{v:.4f}")
            if pd.isna(v) and key in by_labels and r["dataset"] in unlabelled:
                text = NO_LABELS
            cells.append(
                {
                    "text": text,
                    "best": bool(is_map and key in best and not pd.isna(v) and v == best[key]),
                }
            )
        ours.append(
            {
                "label": f"{r['dataset']} / {r['model']} / {r['method']}",
                "cells": cells,
                "kind": "map" if is_map else "reference",
            }
        )
    lit = []
    for name, values in {
        **literature.MNIST_2D,
        **literature.MNIST_64D,
    }.items():
        cells = [
            {"text": f"{values[k]:.4f}" if k in values else "", "best": False}
            for k, _, _ in columns
        ]
        lit.append({"label": f"literature: {name}", "cells": cells, "kind": "literature"})
    return {
        "columns": [c[1] for c in columns],
        "ours": ours,
        "literature": lit,
        "no_labels": any(c["text"] == NO_LABELS for r in ours for c in r["cells"]),
    }


def methods_table(maps: Mapping[str, Mapping[str, str]]) -> list[dict]:
    """One row per method of the study: what it is and how its maps placed the test points
    (from the first map's info), so a map whose test points were fitted in is not read as one
    that placed them."""
    from .maps import read_map

    first: dict[str, str] = {}
    for by_method in maps.values():
        for method, path in by_method.items():
            first.setdefault(method, path)
    rows = []
    for method, path in first.items():
        entry = methods.REGISTRY.get(methods.base_method(method))
        info = read_map(path)[1]
        rows.append(
            {
                "method": method,
                "title": entry.title if entry else method,
                "description": entry.description if entry else "",
                "placement": str(info.get("placement", "")),
                "fitted_together": bool(info.get("fitted_together", False)),
            }
        )
    return rows


USE_COLUMNS = [
    ("compression_ratio", "compression (image/code bytes)", "max", "{:.2f}"),
    ("reconstruction_bce", "test BCE", "min", "{:.4f}"),
    ("anomaly_auc", "anomaly AUC", "max", "{:.4f}"),
    ("linear_probe_acc", "linear probe acc.", "max", "{:.4f}"),
    ("fewshot_probe_acc", "few-shot probe acc.", "max", "{:.4f}"),
    ("sample_classifier_score", "sample classifier score", "max", "{:.2f}"),
    ("sample_classifier_score_real", "real test images' score", None, "{:.2f}"),
    ("linear_probe_acc_cell", "probe on LSTM cell state", None, "{:.4f}"),
    ("linear_probe_acc_hidden_cell", "probe on hidden + cell", None, "{:.4f}"),
]


def uses_table(wide: pd.DataFrame) -> dict:
    """Rows for the uses table: one per dataset/model, best per column marked; columns that no
    model has (the LSTM's cell-state probes in a study without an LSTM) are left out."""
    uses = wide[wide["method"] == "uses"]
    cols = [c for c in USE_COLUMNS if c[0] in uses and uses[c[0]].notna().any()]
    best = {
        key: (uses[key].max() if goal == "max" else uses[key].min())
        for key, _, goal, _ in cols
        if goal is not None and len(uses) > 1
    }
    rows = []
    for _, r in uses.iterrows():
        cells = []
        for key, _, _, fmt in cols:
            v = r.get(key, np.nan)
            missing = pd.isna(v)
            cells.append(
                {
                    "text": "" if missing else fmt.format(v),
                    "best": bool(not missing and key in best and v == best[key]),
                }
            )
        rows.append({"label": f"{r['dataset']} / {r['model']}", "cells": cells})
    return {"columns": [c[1] for c in cols], "rows": rows}


def render(context: Mapping) -> str:
    """Fill the Jinja2 template (autoescaped)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("report.html.j2").render(**context)


def dataset_sources(datasets: Mapping[str, str]) -> dict[str, dict]:
    """Per dataset: where it came from, its source files' SHA-256, shape and class names
    (written into data.npz by the normalise rule)."""
    from .io import load_npz

    out = {}
    for name, path in datasets.items():
        a = load_npz(path, ("class_names", "image_shape", "x_train", "x_test"))
        shape = [int(v) for v in a["image_shape"]]
        ch = int(a.get("channels", 1))
        out[name] = {
            "source": str(a["source"]) if "source" in a else name,
            "files": dict(
                zip(
                    [str(f) for f in a.get("source_files", [])],
                    [str(h) for h in a.get("source_sha256", [])],
                    strict=True,
                )
            ),
            "samples": f"{len(a['x_train']):,} train + {len(a['x_test']):,} test",
            "shape": (
                f"{shape[0]}-D vectors"
                if len(shape) == 1
                else "x".join(map(str, shape)) + (" RGB" if ch == 3 else " grey")
            ),
            "classes": [str(c) for c in a["class_names"]],
            "labelled": is_labelled(a),
        }
    return out


def thumbnail_uri(path: str | os.PathLike[str], width: int = THUMBNAIL) -> str:
    """A PNG shrunk to ``width`` pixels across, as a data: URI (a map beside its labels;
    the full-size figure stays in results/)."""
    import base64
    import io

    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        if im.width > width:
            im = im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, "PNG", optimize=True)
    return f"data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}"


def labels_section(
    figures: Mapping[str, Mapping[str, str]], tables: Mapping[str, Mapping[str, str]]
) -> list[dict]:
    """Per dataset/model and map: the map's picture and its labels (latent_atlas.labels), the
    most populous LABEL_ROWS of them, and how many more the labels CSV holds."""
    from .labels import read

    out = []
    for key, by_method in tables.items():
        for method, path in by_method.items():
            table = read(path).sort_values("points", ascending=False, kind="stable")
            figure = figures.get(key, {}).get(method)
            out.append(
                {
                    "key": key,
                    "method": method,
                    "figure": thumbnail_uri(figure) if figure else "",
                    "rows": [
                        {
                            "name": r.name,
                            "kind": r.kind,
                            "points": f"{int(r.points):,}",
                            "purity": f"{r.purity:.2f}",
                            "medoid": r.medoid,
                            "at": f"({r.x:.3g}, {r.y:.3g})",
                        }
                        for r in table.head(LABEL_ROWS).itertuples()
                    ],
                    "more": max(0, len(table) - LABEL_ROWS),
                    "clusters": bool((table["kind"] == "cluster").any()),
                }
            )
    return out


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
    benchmark_files: Sequence[str | os.PathLike[str]],
    workflow_dir: str | os.PathLike[str],
    out_html: str | os.PathLike[str],
    out_metrics: str | os.PathLike[str],
    out_summary: str | os.PathLike[str],
    sweeps: Sequence[Mapping] = (),
    maps: Mapping[str, Mapping[str, str]] | None = None,
    similarity: Mapping[str, Mapping[str, str]] | None = None,
    labels: Mapping[str, Mapping[str, str]] | None = None,
    map_figures: Mapping[str, Mapping[str, str]] | None = None,
) -> dict:
    """Assemble the report and its two machine-readable companions; return the summary.
    ``labels`` and ``map_figures``: per "dataset/model", each map's labels CSV and figure."""
    tidy = pd.read_csv(metrics_csv)
    pairs = tidy[tidy["method"] == "similarity"]  # a pair of spaces' rows: their own section
    wide = wide_metrics(tidy[tidy["method"] != "similarity"])
    keys = list(
        dict.fromkeys(f"{d}/{m}" for d, m in zip(wide["dataset"], wide["model"], strict=True))
    )
    bench = benchmarks(benchmark_files)
    sources = dataset_sources(datasets)
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
            **{
                f"{name}: {f}": digest
                for name, src in sources.items()
                for f, digest in src["files"].items()
            },
            **{str(p): sha256_file(p) for p in datasets.values()},
        },
        "datasets": sources,
    }
    summary = {
        "metrics": json.loads(wide.to_json(orient="records")),
        "similarity": json.loads(pairs.to_json(orient="records")),
        "final_losses": final_losses,
        "literature": {
            "citation": literature.CITATION,
            "mnist_2d": literature.MNIST_2D,
            "mnist_64d": literature.MNIST_64D,
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
        "table": metrics_table(
            wide, config.get("metrics"), [d for d, src in sources.items() if not src["labelled"]]
        ),
        "no_labels": NO_LABELS,
        "labels": labels_section(map_figures or {}, labels or {}),
        "uses": uses_table(wide),
        "methods": methods_table(maps or {}),
        "uses_config": config.get("uses", {}),
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
        "datasets": sources,
        "provenance": provenance,
        "config_yaml": yaml.safe_dump(json.loads(json.dumps(config)), sort_keys=False),
        "bench": bench.to_dict(orient="records"),
        "total_seconds": float(bench["seconds"].sum()) if len(bench) else 0.0,
        "sweeps": list(sweeps),
        "similarity": similarity_section(similarity or {}),
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
    class_names: Sequence[str] | Mapping[str, Sequence[str]],
    out_png: str | os.PathLike[str],
    out_svg: str | os.PathLike[str],
) -> None:
    """The methods side by side for each dataset/model, from the saved maps
    (``maps``: "dataset/model" -> method -> projections parquet)."""
    from .map_plots import comparison_figure
    from .maps import read_map
    from .plotting import save

    read = {
        (key, method): read_map(path)
        for key, by_method in maps.items()
        for method, path in by_method.items()
    }
    frames = {k: frame for k, (frame, _) in read.items()}
    joint = {k[1] for k, (_, info) in read.items() if info.get("fitted_together")}
    tidy = pd.read_csv(metrics_csv)
    tidy = tidy[tidy["method"] != "similarity"]
    tidy["key"] = tidy["dataset"] + "/" + tidy["model"]
    save(comparison_figure(frames, tidy, class_names, joint), out_png, out_svg)


def make(
    results: Mapping,
    config: Mapping,
    workflow_dir: str | os.PathLike[str],
    out: Mapping[str, str],
) -> dict:
    """The report rule: the HTML (the comparison figure of plot_comparison in it), metrics.csv
    and summary.json.

    ``results`` names every input file (the rule's inputs, ``study_results`` in the workflow's
    rules: "metrics", "comparison", "datasets" and "models" per "dataset/model", "sweeps",
    "resources", "benchmarks"), so the results layout is written once, in the rules, not here.
    A vectors dataset's model `none` is mapped, not trained: it has no history and no model
    figures.
    """
    models = results["models"]
    datasets = results["datasets"]
    trained = {key: files for key, files in models.items() if files.get("history")}
    return build(
        metrics_csv=results["metrics"],
        comparison_png=results["comparison"]["png"],
        model_figures={key: dict(files["figures"]) for key, files in trained.items()},
        data_figures={f"{d}: samples": files["figure"] for d, files in datasets.items()},
        histories={key: files["history"] for key, files in trained.items()},
        datasets={d: files["data"] for d, files in datasets.items()},
        resource_files=results.get("resources", []),
        config=config,
        benchmark_files=results.get("benchmarks", []),
        workflow_dir=workflow_dir,
        maps={key: files["maps"] for key, files in models.items()},
        labels={key: files["labels"] for key, files in models.items() if "labels" in files},
        map_figures={key: files["map_figures"] for key, files in models.items()},
        out_html=out["html"],
        out_metrics=out["metrics"],
        out_summary=out["summary"],
        sweeps=[
            sweep_summary.report_section(name, files, config.get("metrics", {}))
            for name, files in results.get("sweeps", {}).items()
        ],
        similarity={
            d: files["similarity"] for d, files in datasets.items() if "similarity" in files
        },
    )
