"""config/README.md is the config schema rendered: current, complete, one row per key path."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from conftest import REPO
from latent_atlas import config_doc
from latent_atlas.configuration import load_schema

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
PAGE = REPO / "config" / "README.md"
SCRIPT = REPO / "workflow" / "scripts" / "config_readme.py"


def _deref(node: dict, root: dict) -> dict:
    while "$ref" in node:
        target = root
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def key_paths(node: dict, root: dict, path: str = "") -> Iterator[str]:
    """Every key path of the schema, walked here on its own (not with the renderer's code):
    properties by name, the entries of a per-name map (an object schema under
    additionalProperties) as ``<name>``."""
    node = _deref(node, root)
    for name, child in node.get("properties", {}).items():
        sub = f"{path}.{name}" if path else name
        yield sub
        yield from key_paths(child, root, sub)
    entry = node.get("additionalProperties")
    if isinstance(entry, dict) and _deref(entry, root).get("properties"):
        yield from key_paths(entry, root, f"{path}.<name>")


def missing(page: str, schema: dict) -> list[str]:
    """Key paths of ``schema`` the page has no place for: a section for a top-level key, a
    table row starting with the path for every other one."""
    gone = []
    for path in key_paths(schema, schema):
        if "." in path:
            found = f"\n| `{path}` |" in page
        else:
            found = re.search(rf"^## {re.escape(path)}$", page, flags=re.M) is not None
        if not found:
            gone.append(path)
    return gone


def table_paths(page: str) -> list[str]:
    return re.findall(r"^\| `([^`]+)` \|", page, flags=re.M)


def test_committed_page_is_the_rendered_schema():
    expected = config_doc.render(load_schema(SCHEMA))
    assert PAGE.read_text(encoding="utf-8") == expected, (
        f"config/README.md is out of date with the schema: run {config_doc.COMMAND}"
    )


def test_every_key_path_of_the_schema_has_its_row():
    schema = load_schema(SCHEMA)
    page = PAGE.read_text(encoding="utf-8")
    assert missing(page, schema) == []
    rows = table_paths(page)
    expected = [p for p in key_paths(schema, schema) if "." in p]
    assert rows == expected  # no row for a key the schema lacks, none twice
    for example in ("projection.max_points", "models.<name>.epochs", "methods.umap.min_dist"):
        assert example in rows


def test_a_key_removed_from_the_schema_loses_its_row():
    """Proof that the completeness check can fail: drop a plain key and a per-name map's key
    from a copy of the schema and render that."""
    schema = load_schema(SCHEMA)
    smaller = copy.deepcopy(schema)
    del smaller["properties"]["projection"]["properties"]["max_points"]
    del smaller["properties"]["models"]["additionalProperties"]["properties"]["epochs"]
    page = config_doc.render(smaller)
    assert missing(page, schema) == ["models.<name>.epochs", "projection.max_points"]
    assert "| `projection.seed` |" in page and "| `models.<name>.batch_size` |" in page


def test_rows_show_type_default_and_description():
    page = PAGE.read_text(encoding="utf-8")
    row = next(line for line in page.splitlines() if line.startswith("| `models.<name>.epochs`"))
    cells = [
        "`models.<name>.epochs`",
        "integer in [1, 100000]",
        "`50`",
        "Passes over the training data.",
    ]
    assert row == "| " + " | ".join(cells) + " |"
    validation = next(line for line in page.splitlines() if "`models.<name>.validation`" in line)
    assert "`test` or number in (0, 1)" in validation  # oneOf
    methods = next(line for line in page.splitlines() if "`study.methods`" in line)
    assert "`pca` / `tsne` / `umap`" in methods  # items by $ref to $defs
    path = next(line for line in page.splitlines() if "`datasets.<name>.path`" in line)
    assert "required when `format` is not `mnist` / `digits`" in path  # allOf if/then
    assert "| `sweeps.<name>.base` | string | required |" in page
    assert "&lt;url>&lt;file>.gz" in page  # not swallowed as HTML tags


def test_descriptions_are_one_line_with_pipes_escaped():
    schema = {
        "type": "object",
        "properties": {
            "a": {
                "type": "object",
                "description": "Top.",
                "properties": {
                    "b": {"type": "string", "default": "x", "description": "one | two\n  three"}
                },
            }
        },
    }
    page = config_doc.render(schema)
    assert "| `a.b` | string | `x` | one \\| two three |" in page


def test_check_exits_1_naming_the_command_when_stale(tmp_path: Path):
    out = tmp_path / "README.md"
    run = [sys.executable, str(SCRIPT), "--output", str(out)]
    stale = subprocess.run([*run, "--check"], capture_output=True, text=True)
    assert stale.returncode == 1 and config_doc.COMMAND in stale.stderr, stale.stderr
    assert not out.exists()
    subprocess.run(run, check=True, capture_output=True)
    assert out.read_text(encoding="utf-8") == PAGE.read_text(encoding="utf-8")
    assert subprocess.run([*run, "--check"], capture_output=True).returncode == 0
    out.write_text(out.read_text(encoding="utf-8") + "edited\n", encoding="utf-8")
    stale = subprocess.run([*run, "--check"], capture_output=True, text=True)
    assert stale.returncode == 1 and "out of date" in stale.stderr
