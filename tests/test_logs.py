"""A job's log holds everything the job says: logging, stderr and stdout (the libraries' own
progress lines), so `tail -f` on a long job's log answers how far it has come."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "workflow" / "scripts"


def test_rule_log_takes_stdout_and_stderr_at_the_fd_level_then_gives_them_back(tmp_path):
    log = tmp_path / "job.log"
    code = f"""
import os, sys, logging
sys.path.insert(0, {str(SCRIPTS)!r})
from latent_atlas.logs import Progress, rule_log
with rule_log({str(log)!r}):
    print("python print")
    os.write(1, b"native stdout\\n")
    os.write(2, b"native stderr\\n")
    Progress("chunks", 4, "rows", every=0.0).update(2)
print("after the job")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    text = log.read_text()
    for line in ("python print", "native stdout", "native stderr", "chunks: 2/4 rows (50%)"):
        assert line in text
    assert out.stdout == "after the job\n"
    assert "python print" not in out.stdout + out.stderr


def test_the_maps_jobs_log_their_libraries_progress(tiny_study: Path):
    """openTSNE's iterations and umap-learn's epochs in the shared study's project logs."""
    logs = tiny_study / "logs" / "digits" / "ae32"
    tsne = (logs / "project_tsne.log").read_text()
    umap = (logs / "project_umap.log").read_text()
    assert "Iteration" in tsne and "KL divergence" in tsne
    assert "epochs" in umap.lower() and "Finished embedding" in umap
