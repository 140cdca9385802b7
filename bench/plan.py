"""Planning speed of sweeps: wall time of `snakemake -n` (parse, validate, expand the grid, build
the DAG) for the issue's 6 latent sizes x 3 seeds x 3 methods sweep on MNIST, and for a 108-model
sweep (6 x 3 x 6 hidden layouts), each in a scratch copy of the workflow with no results yet
(the worst case: every job is planned). Target: under 10 s for the 6 x 3 x 3 sweep.

    .venv/bin/python bench/plan.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
FILES = ("Snakefile", "config.yaml", "workflow", "profiles", "envs")

SWEEPS = {
    "6x3x3": {
        "latent": {"base": "ae32", "grid": {"latent_dim": [2, 4, 8, 16, 32, 64], "seed": [1, 2, 3]}}
    },
    "108 models x 3": {
        "big": {
            "base": "ae32",
            "grid": {
                "latent_dim": [2, 4, 8, 16, 32, 64],
                "hidden": [[], [64], [128], [128, 64], [256, 128], [512, 256]],
                "seed": [1, 2, 3],
            },
        }
    },
}


def plan(wd: Path, name: str, sweeps: dict, extra: tuple[str, ...] = ()) -> tuple[float, int]:
    cfg = {"study": {"sweeps": list(sweeps)}, "sweeps": sweeps}
    (wd / f"{name}.yaml").write_text(yaml.safe_dump(cfg))
    start = time.perf_counter()
    proc = subprocess.run(
        [str(SNAKEMAKE), "-n", "--quiet", "rules", "--configfile", f"{name}.yaml", *extra],
        cwd=wd,
        capture_output=True,
        text=True,
        check=True,
    )
    took = time.perf_counter() - start
    total = re.search(r"^total\s+(\d+)", proc.stdout + proc.stderr, re.M)
    return took, int(total.group(1)) if total else -1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wd = Path(tmp)
        for name in FILES:
            src = REPO / name
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, wd / name)
        base, _ = plan(wd, "none", {})
        print(f"default study (no sweep): {base:.2f} s")
        for label, sweeps in SWEEPS.items():
            for profile in ((), ("--workflow-profile", "profiles/slurm", "--slurm-no-account")):
                runs = [plan(wd, label.split()[0], sweeps, profile) for _ in range(args.repeats)]
                best = min(t for t, _ in runs)
                where = "slurm profile (grouped)" if profile else "local"
                print(
                    f"sweep {label}, {where}: {runs[0][1]} jobs planned, "
                    f"best of {args.repeats}: {best:.2f} s ({best / base:.1f}x the default study)"
                )


if __name__ == "__main__":
    main()
