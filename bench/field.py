"""The decoded field of a UMAP map: umap-learn's exact inverse against the neighbour-weighted one.

The atlas decodes a grid of cells over each map. UMAP's own ``inverse_transform`` optimises
every cell (an iterative inverse); the neighbour-weighted inverse averages the codes of the
nearest map points. This runs both on a finished study's map (the default study's MNIST UMAP of
``ae32`` unless told otherwise), decodes both grids with the model and prints: each inverse's
seconds; how far apart the two grids' codes are (root mean square, over the codes' own spread);
how far apart their decoded images are (mean absolute pixel difference, 0-255); and how often
the study's judge (the linear classifier the uses score generated samples with) gives a cell's
two images the same class.

    .venv/bin/snakemake --cores 2          # once: the default study
    .venv/bin/python bench/field.py [--study .] [--dataset mnist] [--model ae32] [--markdown PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import _markdown
import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))


def inverses(study: Path, dataset: str, model: str, method: str, size: int) -> dict:
    """Both inverses of one map's grid: (seconds, codes) each, and the model's decoded images."""
    from latent_atlas import field, maps, neighbors
    from latent_atlas.io import load_npz

    root = study / "results" / dataset / model
    frame, _ = maps.read_map(root / "projections" / f"{method}.parquet")
    z_train = load_npz(root / "latent.npz", ("z_train",))["z_train"]
    graph = neighbors.load(root / "neighbors.npz")
    fit = root / "projections" / f"{method}.fit.pkl"
    out = {}
    for how in ("exact", "neighbours"):
        start = time.perf_counter()
        arrays = field.field_codes(method, frame, z_train, graph, fit, size, how)
        out[how] = {"seconds": time.perf_counter() - start, "codes": arrays["codes"]}
    from latent_atlas.encoding import predict
    from latent_atlas.models import decoder_of
    from latent_atlas.training import load_model

    decoder = decoder_of(load_model(root / "model.keras"))
    for how in out:
        images = np.asarray(predict(decoder, out[how]["codes"]), np.float32)
        out[how]["images"] = np.rint(np.clip(images, 0, 1) * 255)
    out["code_spread"] = float(np.sqrt(np.mean((z_train - z_train.mean(axis=0)) ** 2)))
    return out


def compare(out: dict, judge_path: Path) -> dict[str, float]:
    from latent_atlas.io import load_npz
    from latent_atlas.uses import JUDGE_KEYS, softmax_proba

    exact, near = out["exact"], out["neighbours"]
    rms = float(np.sqrt(np.mean((exact["codes"] - near["codes"]) ** 2)))
    judge = load_npz(judge_path, JUDGE_KEYS)
    classes = [
        softmax_proba(out[how]["images"] / 255, judge["coef"], judge["intercept"]).argmax(1)
        for how in ("exact", "neighbours")
    ]
    return {
        "cells": len(exact["codes"]),
        "exact_s": exact["seconds"],
        "neighbours_s": near["seconds"],
        "code_rms": rms,
        "code_rms_rel": rms / out["code_spread"],
        "pixel_mad": float(np.mean(np.abs(exact["images"] - near["images"]))),
        "same_class": float(np.mean(classes[0] == classes[1])),
    }


def markdown_body(setup: str, r: dict[str, float]) -> list[str]:
    return [
        setup,
        _markdown.table(
            ["inverse", "seconds>"],
            [
                ["exact: `UMAP.inverse_transform`", f"{r['exact_s']:.1f}"],
                ["neighbour-weighted (the default)", f"{r['neighbours_s']:.2f}"],
            ],
        ),
        f"Between the two fields, over {r['cells']} cells: codes {r['code_rms']:.3f} apart "
        f"(root mean square; {r['code_rms_rel']:.2f} of the codes' own spread), decoded images "
        f"{r['pixel_mad']:.1f} grey levels apart on average (of 255), the same class by the "
        f"judge in {r['same_class']:.1%} of the cells.",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--study", type=Path, default=Path("."), help="a finished study's folder")
    ap.add_argument("--dataset", default="mnist")
    ap.add_argument("--model", default="ae32")
    ap.add_argument("--method", default="umap")
    ap.add_argument("--size", type=int, default=24, help="cells per side (atlas.field_grid)")
    _markdown.add_argument(ap, "field")
    args = ap.parse_args()
    out = inverses(args.study, args.dataset, args.model, args.method, args.size)
    r = compare(out, args.study / "results" / args.dataset / "judge.npz")
    setup = (
        f"The {args.dataset} {args.model} {args.method} map's decoded field, "
        f"{args.size} x {args.size} cells, both inverses from the same fitted map."
    )
    for line in markdown_body(setup, r):
        print(line, end="\n\n")
    if args.markdown:
        body = markdown_body(setup, r)
        _markdown.write_block(
            args.markdown, "field", _markdown.block("Decoded field: exact or neighbours", body)
        )


if __name__ == "__main__":
    main()
