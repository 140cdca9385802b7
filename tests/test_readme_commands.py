"""Every command the README (and the config files' comments) shows runs as written.

Commands are collected from the text itself, so a command added to or changed in the README is
tested without editing this file. `snakemake` commands are dry-run (`-n`, the only flag added)
on a fresh copy of the workflow; one that needs results (`--report`) runs on the finished tiny
digits study; `make` commands must name a target of the Makefile.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import byod
import pytest
from conftest import REPO, snakemake
from doc_commands import COMMANDS, DOCS, MAKE, SNAKEMAKE, argv_of, markdown_commands


def test_the_docs_show_the_commands_we_expect():
    shown = [c for _, c in COMMANDS]
    assert len(shown) >= 10, shown
    for needle in ("--configfile config/quick.yaml", "--report", "profiles/slurm", "min_dist"):
        assert any(needle in c for c in shown), needle


# Inputs docs/data.md's "Your own data" examples point at, built small (tests/byod.py).
USER_DATA = {
    "~/data/fashion-mnist": byod.make_idx_gz,
    "data/cifar10.npz": byod.make_rgb_npz,
    "data/photos": byod.make_png_folder,
    "data/embeddings.parquet": byod.make_vectors,
}


def _user_world(wd: Path, argv: list[str], source: Path) -> dict[str, str]:
    """Build what a command refers to: the example data sets (under a scratch HOME for `~`) and
    a config file its page (``source``) shows as a YAML block right after naming it."""
    home = wd / "home"
    for where, build in USER_DATA.items():
        path = home / where[2:] if where.startswith("~/") else wd / where
        if not path.exists():
            build(path)
    if "--configfile" in argv:
        name = argv[argv.index("--configfile") + 1]
        if not (wd / name).exists():
            page = source.read_text()
            after = page[page.index(f"--configfile {name}") :]
            block = re.search(r"```yaml\n(.*?)```", after, flags=re.S)
            assert block, f"{source.name} names {name} but shows no YAML block for it"
            text = re.sub(r"\n\s*sha256: \{.*?\}.*", "", block.group(1))  # placeholder pin
            (wd / name).write_text(text)
    return {"HOME": str(home)}


def distinct(commands: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """One (source, command) per distinct dry run: the same arguments shown on several pages,
    or with and without `.venv/bin/` or `-n`, plan the same jobs, so they are planned once."""
    seen: dict[tuple[str, ...], tuple[str, str]] = {}
    for source, command in commands:
        argv = argv_of(command)
        key = tuple(a for a in argv if a != "-n")
        if "--configfile" in argv and not (REPO / argv[argv.index("--configfile") + 1]).exists():
            key = (source, *key)  # a file the page itself shows: each page's own
        seen.setdefault(key, (source, command))
    return list(seen.values())


@pytest.mark.parametrize(
    "command",
    distinct([c for c in COMMANDS if SNAKEMAKE.match(c[1]) and "--report" not in c[1]]),
    ids=lambda c: f"{c[0]}: {c[1]}",
)
def test_snakemake_command_plans(workflow_dir: Path, command: tuple[str, str]):
    argv = argv_of(command[1])
    if "conda" in argv and shutil.which("conda") is None:
        pytest.skip("needs conda on PATH (--sdm conda)")
    env = _user_world(workflow_dir, argv, REPO / command[0])
    proc = snakemake(workflow_dir, *argv, "-n", timeout=300, env=env, cores=None)
    out = proc.stdout + proc.stderr
    done = ("Job stats", "Nothing to be done", "Unlocked working directory")
    assert any(word in out for word in done), out[-3000:]


@pytest.mark.slow(reason="snakemake --report on a copy of the tiny study")
def test_report_command_runs_on_a_finished_study(snakemake_report: Path):
    """The docs' `--report` command (conftest's snakemake_report runs it on a copy of the tiny
    study: it needs results). Every page shows the same one."""
    assert len({c for _, c in COMMANDS if SNAKEMAKE.match(c) and "--report" in c}) == 1
    assert snakemake_report.stat().st_size > 10_000


@pytest.mark.parametrize("command", [c for c in COMMANDS if MAKE.match(c[1])], ids=str)
def test_make_command_is_a_valid_target(command: tuple[str, str]):
    """`make -n` plans the command (prints what it would do, runs nothing)."""
    proc = subprocess.run(
        ["make", "-n", *argv_of(command[1])], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, f"{command}: {proc.stderr}"
    assert ".venv/bin/" in proc.stdout


def test_catalog_metadata_and_licence():
    """What the Snakemake Workflow Catalog reads: usage flags, software stack, report, licence."""
    import yaml

    usage = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text())["usage"]
    assert usage["software-stack-deployment"]["conda"] is True
    assert usage["report"] is True
    assert not usage["mandatory-flags"]["flags"]
    for env in usage["software-stack-deployment"]:
        assert env in ("conda", "apptainer", "apptainer+conda")
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
    readme = (REPO / "README.md").read_text()
    for section in ("## Usage", "### Deploy", "### Configure", "### Run"):
        assert f"\n{section}\n" in readme, section


_BENCH = re.compile(r"^(?:nice -n \d+ )?\.venv/bin/python (bench/\w+\.py)(?:\s|$)")


def test_the_docs_bench_commands_take_the_options_they_show():
    """A benchmark shown on a page is not run here (running it is the measurement), but each
    option it shows must be one its script's --help offers, so the command runs as written."""
    shown = [c for p in DOCS if p.suffix == ".md" for c in markdown_commands(p.read_text())]
    bench = [(m.group(1), c) for c in map(str.strip, shown) if (m := _BENCH.match(c))]
    assert any("refresh_docs.py" in script for script, _ in bench), bench
    helps: dict[str, str] = {}
    for script, command in bench:
        if script not in helps:
            proc = subprocess.run(
                [".venv/bin/python", script, "--help"], cwd=REPO, capture_output=True, text=True
            )
            assert proc.returncode == 0, f"{script} --help: {proc.stderr}"
            helps[script] = proc.stdout
        for option in re.findall(r"(?<!\S)(--[a-z][a-z-]*)", command):
            assert re.search(rf"(?<![\w-]){option}(?![\w-])", helps[script]), (command, option)
