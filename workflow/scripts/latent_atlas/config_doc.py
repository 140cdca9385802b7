"""config/README.md, the configuration reference, rendered from the config schema.

The schema already holds every key's type, bounds, default and description, and the Snakefile
validates each run against it; a page rendered from it cannot drift from what the workflow
accepts. ``workflow/scripts/config_readme.py`` writes the page (``--check`` only compares), and
a test fails while the committed page differs from :func:`render`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

COMMAND = ".venv/bin/python workflow/scripts/config_readme.py"
REPO = Path(__file__).resolve().parents[3]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
OUTPUT = REPO / "config" / "README.md"
NAME = "<name>"  # the key path segment of a per-name map's entries (models.<name>.epochs)

INTRO = """\
[`config.yaml`](../config.yaml) at the top of the repository is the default configuration: a
bare `snakemake` in the repository reads it. To change a run without editing `config.yaml`,
add a file with `--configfile` (later files override earlier ones, key by key) or give single
values with `--config`. Either way the config is checked against the schema before any job
runs, and a wrong value fails naming its key. Two presets ship in `config/`:

- [`config/quick.yaml`](quick.yaml): MNIST, the seed's model for 5 epochs, maps of 5,000
  points (about two minutes on a laptop);
- [`config/tiny.yaml`](tiny.yaml): the smallest whole study, digits, offline (a few minutes;
  a first run on a new machine or cluster).

```bash
.venv/bin/snakemake --configfile config/quick.yaml
.venv/bin/snakemake --configfile config/tiny.yaml
.venv/bin/snakemake --config projection='{max_points: 5000}' metrics='{knn_k: [1, 10]}'
```

In the tables, a key path's `<name>` stands for the name of one entry of a mapping you fill
in (a model, a dataset, a sweep); "unset" means the key has no default and is used only when
given."""


@dataclass(frozen=True)
class Row:
    """One key of the page's tables, every cell as markdown."""

    path: str
    type: str
    default: str
    description: str


def render(schema: Mapping) -> str:
    """The whole page: title, how it is generated, usage, one section per top-level key."""
    top = _resolve(schema, schema)
    sections = list(top.get("properties", {}).items())
    out = [
        "# Configuration",
        "",
        f"Generated from `workflow/schemas/config.schema.yaml` by `{COMMAND}`; edit the schema "
        "and rerun that command instead of editing this page.",
        "",
    ]
    if top.get("description"):
        out += [_text(top["description"]), ""]
    out += [INTRO, ""]
    out += ["Sections: " + " · ".join(f"[{key}](#{key})" for key, _ in sections), ""]
    for key, node in sections:
        out += _section(key, _resolve(node, schema), schema)
    return "\n".join(out).rstrip("\n") + "\n"


def rows(schema: Mapping, key: str) -> list[Row]:
    """The table rows of top-level ``key``: every key path below it, depth first."""
    return list(_children(_resolve(schema["properties"][key], schema), key, schema))


def _section(key: str, node: Mapping, root: Mapping) -> list[str]:
    out = [f"## {key}", ""]
    if node.get("description"):
        out += [_text(node["description"]), ""]
    if "default" in node and node["default"] != {}:
        out += [f"Default: {_code(_yaml(node['default']))}.", ""]
    names = _names(node)
    if names:
        out += [f"Entry names (`{key}.{NAME}`): {names}.", ""]
    table = rows(root, key)
    if table:
        out += ["| key | type | default | description |", "|---|---|---|---|"]
        for r in table:
            cells = (_code(r.path), r.type, r.default, r.description)
            out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        out.append("")
    return out


def _children(node: Mapping, path: str, root: Mapping) -> Iterator[Row]:
    """Rows of ``node``'s properties and, for a per-name map, of the per-name schema's keys."""
    required = set(node.get("required", ()))
    conditional = _conditions(node)
    for name, child in node.get("properties", {}).items():
        child = _resolve(child, root)
        sub = f"{path}.{name}"
        if "default" in child:
            default = _code(_yaml(child["default"]))
        elif name in required:
            default = "required"
        else:
            default = conditional.get(name, "unset")
        yield Row(sub, _type(child, root), default, _text(child.get("description", "")))
        yield from _children(child, sub, root)
    for entry in _entry_schemas(node, root):
        if entry.get("description"):
            yield Row(f"{path}.{NAME}", _type(entry, root), "unset", _text(entry["description"]))
        yield from _children(entry, f"{path}.{NAME}", root)


def _entry_schemas(node: Mapping, root: Mapping) -> list[Mapping]:
    """The schemas of a per-name map's entries, where they are objects with keys of their own."""
    found = [node.get("additionalProperties"), *node.get("patternProperties", {}).values()]
    resolved = [_resolve(s, root) for s in found if isinstance(s, Mapping)]
    return [s for s in resolved if s.get("properties")]


def _names(node: Mapping) -> str:
    """What an entry's name must look like (``propertyNames``), in words."""
    names = node.get("propertyNames", {})
    parts = []
    if "pattern" in names:
        parts.append(f"match {_code(names['pattern'])}")
    forbidden = names.get("not", {})
    if "const" in forbidden:
        parts.append(f"not {_code(_yaml(forbidden['const']))}")
    if "enum" in forbidden:
        parts.append("none of " + " / ".join(_code(_yaml(v)) for v in forbidden["enum"]))
    return ", ".join(parts)


def _conditions(node: Mapping) -> dict[str, str]:
    """Default cells for keys an ``allOf`` ``if``/``then`` makes required in some cases."""
    found: dict[str, str] = {}
    for rule in node.get("allOf", ()):
        needed = rule.get("then", {}).get("required", ())
        when = _condition(rule.get("if", {}))
        for name in needed:
            found[name] = f"required when {when}" if when else "required in some cases"
    return found


def _condition(schema: Mapping) -> str:
    """An ``if`` on sibling values (const, enum or their ``not``) in words; '' otherwise."""
    parts = []
    for name, cond in schema.get("properties", {}).items():
        negated = "not" in cond
        values = cond.get("not", cond)
        listed = [values["const"]] if "const" in values else values.get("enum")
        if listed is None:
            return ""
        shown = " / ".join(_code(_yaml(v)) for v in listed)
        parts.append(f"`{name}` is {'not ' if negated else ''}{shown}")
    return " and ".join(parts)


def _type(node: Mapping, root: Mapping) -> str:
    """The values a key accepts: const, enum, alternatives, element types and bounds."""
    node = _resolve(node, root)
    if "const" in node:
        return _code(_yaml(node["const"]))
    if "enum" in node:
        return " / ".join(_code(_yaml(v)) for v in node["enum"])
    for key in ("oneOf", "anyOf"):
        if key in node:
            return " or ".join(_type(branch, root) for branch in node[key])
    declared = node.get("type", [])
    parts = []
    for kind in [declared] if isinstance(declared, str) else declared:
        if kind == "array" and isinstance(node.get("items"), Mapping):
            inner = _type(node["items"], root)
            text = f"list of {_grouped(inner)}" + _count(node)
        elif kind == "array":
            text = "list" + _count(node)
        elif kind == "object" and not node.get("properties") and _values(node):
            text = f"mapping of name → {_grouped(_type(_values(node), root))}"
        elif kind in ("integer", "number"):
            text = kind + _bounds(node)
        else:
            text = kind
        parts.append(text)
    return " or ".join(parts) or "any"


def _grouped(inner: str) -> str:
    """An element type in parentheses where its own list or alternatives would blur."""
    return f"({inner})" if inner.startswith(("list", "mapping")) or " or " in inner else inner


def _values(node: Mapping) -> Mapping | None:
    extra = node.get("additionalProperties")
    return extra if isinstance(extra, Mapping) else None


def _bounds(node: Mapping) -> str:
    low = ("[", node["minimum"]) if "minimum" in node else None
    low = ("(", node["exclusiveMinimum"]) if "exclusiveMinimum" in node else low
    high = ("]", node["maximum"]) if "maximum" in node else None
    high = (")", node["exclusiveMaximum"]) if "exclusiveMaximum" in node else high
    if low and high:
        return f" in {low[0]}{low[1]}, {high[1]}{high[0]}"
    if low:
        return f" {'≥' if low[0] == '[' else '>'} {low[1]}"
    if high:
        return f" {'≤' if high[0] == ']' else '<'} {high[1]}"
    return ""


def _count(node: Mapping) -> str:
    low, high = node.get("minItems"), node.get("maxItems")
    if low is not None and low == high:
        return f", {low} items"
    if low and high is not None:
        return f", {low} to {high} items"
    if low:
        return f", at least {low} item{'s' if low > 1 else ''}"
    if high is not None:
        return f", at most {high} items"
    return ""


def _resolve(node: Mapping, root: Mapping) -> Mapping:
    """``node`` with a local ``$ref`` (``#/$defs/...``, ``#/definitions/...``) followed; keys
    beside the ``$ref`` win, as JSON Schema 2020-12 applies both."""
    seen = 0
    while "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#"):
            raise ValueError(f"config schema: only local $ref is supported, got {ref!r}")
        target: Any = root
        for part in filter(None, ref[1:].split("/")):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        seen += 1
        if seen > 50:
            raise ValueError(f"config schema: $ref {ref!r} refers to itself")
    return node


def _yaml(value: object) -> str:
    """A value as you would write it in config.yaml (YAML flow style, one line)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6, sort_keys=False)
    return text.removesuffix("\n...\n").strip()


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _text(description: str) -> str:
    """A description as one markdown line: whitespace collapsed, ``<`` and ``*`` outside code
    spans escaped (``<url>`` would read as an HTML tag)."""
    pieces = " ".join(description.split()).split("`")
    for i in range(0, len(pieces), 2):  # even pieces are prose, odd ones code
        pieces[i] = pieces[i].replace("<", "&lt;").replace("*", r"\*")
    return "`".join(pieces)


def _cell(text: str) -> str:
    return text.replace("|", r"\|")  # GFM splits cells at | even inside code spans


def main(argv: Sequence[str] | None = None) -> int:
    """Write the page (or with ``--check`` compare it); 1 when ``--check`` finds it stale."""
    ap = argparse.ArgumentParser(description="Write config/README.md from the config schema.")
    ap.add_argument("--schema", type=Path, default=SCHEMA)
    ap.add_argument("--output", type=Path, default=OUTPUT)
    ap.add_argument(
        "--check", action="store_true", help="only compare: exit 1 if the page is out of date"
    )
    args = ap.parse_args(argv)
    with args.schema.open(encoding="utf-8") as fh:
        page = render(yaml.safe_load(fh))
    current = args.output.read_text(encoding="utf-8") if args.output.is_file() else None
    if args.check:
        if current != page:
            state = "is missing" if current is None else "is out of date"
            print(
                f"{_shown(args.output)} {state} (it is generated from {_shown(args.schema)}); "
                f"regenerate it with: {COMMAND}",
                file=sys.stderr,
            )
            return 1
    elif current != page:
        args.output.write_text(page, encoding="utf-8")
        print(f"wrote {_shown(args.output)}")
        return 0
    print(f"{_shown(args.output)} is up to date")
    return 0


def _shown(path: Path) -> str:
    """A path as the repository names it, where it is inside."""
    path = path.resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)
