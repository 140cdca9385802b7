"""The commands the README, docs/*.md, config/README.md, the config files' comments and the
profiles show, collected from their text (tests/test_readme_commands.py plans each; the cluster
test runs the README's cluster command as written)."""

from __future__ import annotations

import re
import shlex

from conftest import REPO

DOCS = [
    REPO / "README.md",
    # docs/extending.md's commands need the files the page writes: tests/test_extending.py
    # writes them and runs those commands
    *sorted(p for p in (REPO / "docs").glob("*.md") if p.name != "extending.md"),
    REPO / "config" / "README.md",
    REPO / "config.yaml",
    *sorted((REPO / "config").glob("*.yaml")),
    *sorted((REPO / "profiles").glob("*/config.yaml")),
]
SNAKEMAKE = re.compile(r"^(?:\.venv/bin/)?snakemake(?:\s|$)")
MAKE = re.compile(r"^make(?:\s|$)")
PLACEHOLDER = re.compile(r"<([a-z_ -]+)>")


def markdown_commands(text: str) -> list[str]:
    """Lines of fenced code blocks (continuations joined) and inline code spans."""
    found: list[str] = []
    blocks = re.findall(r"^ *```[a-z]*\n(.*?)^ *```", text, flags=re.S | re.M)
    for block in blocks:
        found += block.replace("\\\n", " ").splitlines()
    prose = re.sub(r"^ *```[a-z]*\n.*?^ *```", "", text, flags=re.S | re.M)
    found += re.findall(r"`([^`\n]+)`", prose)
    return found


def comment_commands(text: str) -> list[str]:
    """Commands quoted in YAML comments, e.g. `# Use with: snakemake --configfile x.yaml`."""
    found = []
    for line in text.splitlines():
        if "#" in line:
            comment = line.split("#", 1)[1]
            match = re.search(r"(?:\.venv/bin/)?snakemake\s.*", comment)
            if match:
                found.append(match.group(0))
    return found


def collect_commands() -> list[tuple[str, str]]:
    """(source file, command) of every snakemake or make command the docs show."""
    commands: dict[tuple[str, str], None] = {}
    for path in DOCS:
        text = path.read_text()
        lines = markdown_commands(text) if path.suffix == ".md" else comment_commands(text)
        for line in map(str.strip, lines):
            if SNAKEMAKE.match(line) or MAKE.match(line):
                commands[(path.relative_to(REPO).as_posix(), line)] = None
    return list(commands)


COMMANDS = collect_commands()


def argv_of(command: str) -> list[str]:
    """The command's arguments after `snakemake`, placeholders like <partition> filled in."""
    command = PLACEHOLDER.sub(lambda m: m.group(1).replace(" ", "_"), command)
    return shlex.split(command, comments=True)[1:]
