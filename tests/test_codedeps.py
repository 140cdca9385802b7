"""Each rule's `code=` inputs are derived from its script's imports, cover every package module
the script loads, and editing a module reruns exactly the rules whose scripts import it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, snakemake
from latent_atlas import codedeps

SCRIPTS = REPO / "workflow" / "scripts"
PACKAGE = SCRIPTS / "latent_atlas"
TF_SCRIPTS = {"train", "train_holdout", "encode", "use_inputs"}


def rule_scripts() -> dict[str, str]:
    """rule -> (script named by `script:`, script named by `code=script_code(...)`)."""
    found = {}
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"^(?=rule )", smk.read_text(), flags=re.M)[1:]:
            name = re.match(r"rule (\w+):", block).group(1)
            script = re.search(r'script:\s*"\.\./scripts/(\w+)\.py"', block)
            code = re.search(r'code=script_code\("(\w+)"\)', block)
            found[name] = (script and script.group(1), code and code.group(1))
    return found


def test_every_rule_derives_its_code_from_its_own_script():
    rules = rule_scripts()
    assert len(rules) >= 20
    for rule, (script, code) in rules.items():
        assert script is not None, f"rule {rule} has no script"
        assert code == script, f"rule {rule}: code=script_code({code!r}) but script {script}"


# One interpreter loads the heavy libraries once, then forks a child per script; the child
# runs the script's import statements alone and lists the package modules they loaded (a fresh
# child per script: nothing of the package is loaded in the parent).
LOADED = """
import ast, json, os, sys
sys.path.insert(0, {scripts!r})
for lib in {preload!r}:
    try:
        __import__(lib)
    except Exception:
        pass
assert not [n for n in sys.modules if n.startswith("latent_atlas")]
result = {{}}
for script in {scripts_to_check!r}:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        tree = ast.parse(open(script).read())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                exec(compile(ast.Module([node], []), script, "exec"), {{}})
        found = sorted(getattr(m, "__file__", None) or "" for n, m in list(sys.modules.items())
                       if n == "latent_atlas" or n.startswith("latent_atlas."))
        os.write(write, json.dumps(found).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        result[script] = json.loads(fh.read() or "null")
    assert os.waitpid(pid, 0)[1] == 0, script
print(json.dumps(result))
"""
PRELOAD = ["numpy", "pandas", "scipy", "sklearn", "matplotlib.pyplot", "pyarrow.parquet",
           "PIL.Image", "jinja2", "yaml", "jsonschema"]  # fmt: skip


@pytest.fixture(scope="module")
def loaded_by_script() -> dict[str, set[str]]:
    """script name -> the package files its imports load, for every script but the
    TensorFlow ones (tested one by one below, marked slow)."""
    scripts = [str(p) for p in sorted(SCRIPTS.glob("*.py")) if p.stem not in TF_SCRIPTS]
    return _loaded(scripts)


def _loaded(scripts: list[str]) -> dict[str, set[str]]:
    code = LOADED.format(scripts=str(SCRIPTS), preload=PRELOAD, scripts_to_check=scripts)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600
    )
    found = json.loads(out.stdout.splitlines()[-1])
    return {Path(k).stem: {str(Path(f).resolve()) for f in v} for k, v in found.items()}


@pytest.mark.parametrize(
    "script",
    [
        pytest.param(s, marks=pytest.mark.slow(reason="imports TensorFlow"))
        if s in TF_SCRIPTS
        else s
        for s in sorted(p.stem for p in SCRIPTS.glob("*.py"))
    ],
)
def test_derived_code_covers_every_module_the_script_loads(script: str, request):
    if script in TF_SCRIPTS:
        loaded = _loaded([str(SCRIPTS / f"{script}.py")])[script]
    else:
        loaded = request.getfixturevalue("loaded_by_script")[script]
    derived = {str(Path(f).resolve()) for f in codedeps.script_modules(SCRIPTS / f"{script}.py")}
    assert loaded, script
    assert loaded <= derived, sorted(loaded - derived)


def test_a_registry_brings_all_of_its_modules_and_helpers_are_followed():
    found = {
        Path(f).relative_to(PACKAGE).as_posix()
        for f in codedeps.script_modules(SCRIPTS / "project.py")
    }
    assert {"methods/__init__.py", "methods/pca.py", "methods/umap.py"} <= found
    assert "methods/_umap_import.py" in found  # imported inside umap's fit
    assert "training.py" not in found  # no TensorFlow in a projection job


def dry_run(wd: Path) -> dict[str, str]:
    """rule -> the reason a dry run gives for its first job (rules that would run)."""
    proc = snakemake(wd, "-n", "--configfile", "tiny.yaml")
    reasons, rule = {}, None
    for line in proc.stdout.splitlines():
        m = re.match(r"\s*(?:local)?rule (\w+):", line)
        if m:
            rule = m.group(1)
        elif rule and line.strip().startswith("reason:"):
            reasons.setdefault(rule, line.split("reason:", 1)[1].strip())
    return reasons


def rule_graph(wd: Path) -> dict[str, set[str]]:
    """rule -> the rules that consume its outputs (snakemake --rulegraph)."""
    dot = snakemake(wd, "--rulegraph", "--configfile", "tiny.yaml").stdout
    names = dict(re.findall(r"^\s*(\d+)\[label = \"(\w+)\"", dot, re.M))
    graph: dict[str, set[str]] = {name: set() for name in names.values()}
    for a, b in re.findall(r"^\s*(\d+) -> (\d+)", dot, re.M):
        graph[names[a]].add(names[b])
    return graph


def downstream(graph: dict[str, set[str]], start: set[str]) -> set[str]:
    seen, todo = set(), list(start)
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


@pytest.mark.slow(reason="dry runs on a copy of the tiny study (its run is shared)")
def test_editing_a_module_reruns_exactly_the_rules_whose_scripts_import_it(
    tiny_study: Path, tmp_path: Path
):
    """Edit a module in a finished study: the rules whose scripts import it rerun because of
    it, the rules after them because their inputs will change, and nothing else."""
    wd = tmp_path / "wf"
    shutil.copytree(tiny_study, wd, symlinks=True)
    assert dry_run(wd) == {}
    graph = rule_graph(wd)
    importers = {
        rule: {Path(f).resolve() for f in codedeps.script_modules(SCRIPTS / f"{script}.py")}
        for rule, (script, _) in rule_scripts().items()
        if rule in graph  # the rules of this study
    }
    for module in ("pixels.py", "measures/silhouette.py", "formats/digits.py"):
        target = wd / "workflow/scripts/latent_atlas" / module
        original = target.read_text()
        target.write_text(original + "\n# edited\n")
        path = (REPO / "workflow/scripts/latent_atlas" / module).resolve()
        expected = {rule for rule, files in importers.items() if path in files}
        assert expected, module
        reasons = dry_run(wd)
        assert set(reasons) == expected | downstream(graph, expected), module
        for rule in expected - downstream(graph, expected):
            assert reasons[rule].startswith("Updated input files:"), (module, rule)
            assert module in reasons[rule], (module, rule)
        target.write_text(original)  # the same content again: nothing to rerun
        if module == "pixels.py":
            assert dry_run(wd) == {}, module
