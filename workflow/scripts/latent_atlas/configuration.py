"""Config values as the schema means them, and settings checked before any job runs.

Snakemake parses a nested ``--config`` value (``methods='{umap: {min_dist: 0.3}}'``) with YAML's
BaseLoader, so every scalar inside it arrives as a string (snakemake/snakemake#2099), while the
same value in a ``--configfile`` arrives as a number. :func:`coerce_to_schema` brings strings to
the types the schema declares at their place, so both ways of giving a value mean the same; a
string that fits no declared type is left alone for the schema to reject, naming the key.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .errors import AtlasError

_TRUE = {"true", "yes", "on"}
_FALSE = {"false", "no", "off"}
_NULL = {"null", "~", "none"}


def load_schema(path: str | os.PathLike[str]) -> dict:
    """The config schema (JSON Schema written in YAML)."""
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _branches(schema: Mapping) -> Iterator[Mapping]:
    """The schema and every alternative inside it (oneOf / anyOf / allOf), flattened."""
    yield schema
    for key in ("oneOf", "anyOf", "allOf"):
        for sub in schema.get(key, ()):
            yield from _branches(sub)


def _declared_types(schema: Mapping) -> set[str]:
    types: set[str] = set()
    for branch in _branches(schema):
        declared = branch.get("type", ())
        types.update([declared] if isinstance(declared, str) else declared)
        consts = [branch["const"]] if "const" in branch else list(branch.get("enum", ()))
        for value in consts:
            types.add(_json_type(value))
    return types


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _parse_scalar(text: str, types: set[str]) -> object:
    """``text`` as the first declared non-string type it reads as, else unchanged."""
    word = text.strip().lower()
    if "null" in types and word in _NULL:
        return None
    if "boolean" in types and word in _TRUE | _FALSE:
        return word in _TRUE
    if "integer" in types or "number" in types:
        try:
            number = float(word)
        except ValueError:
            return text
        if not math.isfinite(number):
            return text
        if "integer" in types and number.is_integer():
            return int(number)
        if "number" in types:
            return number
    return text


def _child_schemas(schema: Mapping, key: str) -> list[Mapping]:
    found = []
    for branch in _branches(schema):
        if key in branch.get("properties", {}):
            found.append(branch["properties"][key])
            continue
        extra = branch.get("additionalProperties")
        if isinstance(extra, Mapping):
            found.append(extra)
    return found


def _item_schemas(schema: Mapping) -> list[Mapping]:
    return [b["items"] for b in _branches(schema) if isinstance(b.get("items"), Mapping)]


def _merged(schemas: list[Mapping]) -> Mapping:
    return schemas[0] if len(schemas) == 1 else {"anyOf": schemas}


def coerce_to_schema(value: Any, schema: Mapping) -> Any:
    """``value`` with strings converted to the numbers, booleans or nulls the schema declares.

    A string is kept when the schema accepts it as a string (``validation: test``) or when it
    reads as none of the declared types (``epochs: ten``), so validation still fails on it.
    """
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            children = _child_schemas(schema, key)
            out[key] = coerce_to_schema(item, _merged(children)) if children else item
        return out
    if isinstance(value, list):
        items = _item_schemas(schema)
        return [coerce_to_schema(v, _merged(items)) for v in value] if items else list(value)
    if not isinstance(value, str):
        return value
    types = _declared_types(schema) - {"string"}
    if not types or _accepts_string(value, schema):
        return value
    return _parse_scalar(value, types)


def _accepts_string(value: str, schema: Mapping) -> bool:
    scalar_only = {k: v for k, v in schema.items() if k not in ("properties", "items", "default")}
    return jsonschema.Draft202012Validator(scalar_only).is_valid(value)


def non_finite(value: Any, where: str = "") -> list[str]:
    """The keys (dotted) whose value is NaN or infinity: JSON Schema's bounds cannot refuse
    them (every comparison with NaN is false), so the planning does, naming each key."""
    if isinstance(value, Mapping):
        return [k for key, v in value.items() for k in non_finite(v, f"{where}{key}.")]
    if isinstance(value, list):
        return [k for i, v in enumerate(value) for k in non_finite(v, f"{where[:-1]}[{i}].")]
    if isinstance(value, float) and not math.isfinite(value):
        return [where[:-1]]
    return []


def writable_cache_dir(path: str, key: str) -> tuple[str, str | None]:
    """A folder for a cache that can really be written: ``path`` or a fallback, and why.

    A cache only saves time, so an unwritable one (a read-only home on a cluster node, a typo)
    should not stop a study: we fall back to a per-user folder in the system's temporary
    directory, which still caches across the jobs on one machine, and say so. Empty = unset.
    """
    if not path:
        return "", None
    folder = Path(path).expanduser()
    problem = _write_problem(folder)
    if problem is None:
        return str(folder), None
    fallback = Path(tempfile.gettempdir()) / f"latent-atlas-numba-{os.getuid()}"
    if _write_problem(fallback) is not None:
        return "", f"{key}: {folder} is not writable ({problem}); numba will use its own default"
    return str(fallback), (
        f"{key}: {folder} is not writable ({problem}); using {fallback} instead. "
        f"Set {key} to a writable folder (or '' for numba's default) to silence this."
    )


def _write_problem(folder: Path) -> str | None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as err:
        return err.strerror or type(err).__name__
    return None


class _DuplicateKey(Exception):
    def __init__(self, key: object, line: int, first: int) -> None:
        super().__init__(key, line, first)
        self.key, self.line, self.first = key, line, first


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key written twice in one mapping is an error: PyYAML
    (and so Snakemake) silently keeps the last value, so `epochs: 2` followed by `epochs: 300`
    would train 300 epochs without a word."""


def _strict_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[object, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise _DuplicateKey(key, line, seen[key])
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _strict_mapping)


def check_config_file(path: str | os.PathLike[str]) -> None:
    """Read a config file the way the workflow means it, before anything is planned: one value
    per key, a mapping at the top. Raises AtlasError naming the file, the line and the key."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except _DuplicateKey as dup:
        raise AtlasError(
            f"{path}: line {dup.line}: the key '{dup.key}' is given a second time (first on line "
            f"{dup.first}), and YAML would silently keep only the last value; delete one of "
            "the two (or merge them)"
        ) from None
    except yaml.YAMLError as exc:
        raise AtlasError(
            f"{path}: not valid YAML ({exc}); indent with spaces, never tabs"
        ) from None
    if data is None:
        raise AtlasError(f"{path}: the file is empty; give at least one key, e.g. `study: {{}}`")
    if not isinstance(data, Mapping):
        raise AtlasError(
            f"{path}: the top level is a {type(data).__name__}, not keys and values; write the "
            "settings as `key: value` lines (see config.yaml)"
        )
