"""Shared fixtures: synthetic IDX files, a local HTTP server, and a scratch copy of the workflow."""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import http.server
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
WORKFLOW_FILES = (
    "Snakefile",
    "config.yaml",
    "config",
    "workflow",
    "profiles",
    "envs",
    "requirements.txt",  # the pins the environment check compares with
    "requirements.in",  # the packages it checks
)


def blobs(
    n_train: int = 400, n_test: int = 100, dim: int = 8, classes: int = 5, seed: int = 0
) -> dict[str, np.ndarray]:
    """Separated gaussian clusters in code space (centres spread mostly in a plane, so that even
    PCA keeps them apart): a map that keeps clusters is easy to check."""
    rng = np.random.default_rng(seed)
    angles = 2 * np.pi * np.arange(classes) / classes
    centres = rng.normal(0, 1, (classes, dim))
    centres[:, :2] = 12 * np.stack([np.cos(angles), np.sin(angles)], 1)
    centres = centres.astype(np.float32)
    y_train = np.arange(n_train) % classes
    y_test = np.arange(n_test) % classes
    z_train = centres[y_train] + rng.normal(0, 0.5, (n_train, dim)).astype(np.float32)
    z_test = centres[y_test] + rng.normal(0, 0.5, (n_test, dim)).astype(np.float32)
    return {
        "z_train": z_train,
        "z_test": z_test,
        "y_train": y_train.astype(np.uint8),
        "y_test": y_test.astype(np.uint8),
    }


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: a worker a core, at most four (each workflow test runs snakemake on two)."""
    return max(1, min(os.cpu_count() or 1, 4))


# Each test file's measured seconds (`--store-durations` rewrites it from a full run): the files
# that take longest start first, so that on two workers no long file is left for the end.
DURATIONS = Path(__file__).with_name("durations.json")
_measured: dict[str, float] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store-durations",
        action="store_true",
        help=f"write each test file's seconds in this run to {DURATIONS.name} (test order)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every slow test says what it runs (`@pytest.mark.slow(reason=...)`), so that whoever
    picks the fast tier (`-m 'not slow'`) knows what it leaves out. Then the files are put in
    the order of their measured seconds, longest first: a stable sort over pytest-randomly's
    shuffle, so tests within a file, and files of equal cost, keep the random order."""
    bare = [
        item.nodeid
        for item in items
        for mark in item.iter_markers("slow")
        if not mark.kwargs.get("reason")
    ]
    if bare:
        raise pytest.UsageError(f"slow tests without a reason=: {bare[:5]}")
    seconds = json.loads(DURATIONS.read_text()) if DURATIONS.is_file() else {}
    items.sort(key=lambda item: -seconds.get(item.nodeid.split("::")[0], 0.0))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = report.nodeid.split("::")[0]
    _measured[path] = _measured.get(path, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The random order's seed, also under -q (which hides pytest-randomly's header line)."""
    seed = getattr(config.option, "randomly_seed", None)
    if isinstance(seed, int):
        terminalreporter.write_line(f"test order: --randomly-seed={seed} replays it")


def pytest_sessionfinish(session: pytest.Session) -> None:
    if session.config.getoption("store_durations") and "PYTEST_XDIST_WORKER" not in os.environ:
        ranked = sorted(_measured.items(), key=lambda kv: -kv[1])
        DURATIONS.write_text(json.dumps({k: round(v, 1) for k, v in ranked}, indent=1) + "\n")


def write_idx(path: Path, arr: np.ndarray) -> Path:
    """Write ``arr`` (uint8) as an uncompressed IDX file, the format MNIST ships in."""
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    header = struct.pack(">HBB", 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    path.write_bytes(header + arr.tobytes())
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def tiny_mnist(tmp_path: Path) -> dict[str, Path]:
    """Four small IDX files named like MNIST's (12 train, 5 test images of 28x28)."""
    rng = np.random.default_rng(0)
    d = tmp_path / "tiny-mnist"
    d.mkdir()
    files = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (12, 28, 28)),
        "train-labels-idx1-ubyte": np.arange(12) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (5, 28, 28)),
        "t10k-labels-idx1-ubyte": np.arange(5) % 10,
    }
    return {name: write_idx(d / name, arr) for name, arr in files.items()}


def checksums_of(files: dict[str, Path]) -> dict[str, str]:
    return {name: sha256(p) for name, p in files.items()}


def gzip_to(src: Path, dest: Path, truncate: int = 0) -> None:
    data = gzip.compress(src.read_bytes())
    dest.write_bytes(data[: len(data) - truncate] if truncate else data)


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        srv = self.server
        srv.requests.append(self.path)  # type: ignore[attr-defined]
        fails = srv.fail_first.get(self.path, 0)  # type: ignore[attr-defined]
        if fails:
            srv.fail_first[self.path] = fails - 1  # type: ignore[attr-defined]
            self.send_error(503, "try again")
            return
        super().do_GET()


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[tuple[str, Path, http.server.HTTPServer]]:
    """A real HTTP server on 127.0.0.1 serving ``root``: (base_url, root, server)."""
    root = tmp_path / "www"
    root.mkdir()

    def handler(*args: object, **kwargs: object) -> _Handler:
        return _Handler(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.requests = []  # type: ignore[attr-defined]
    server.fail_first = {}  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/", root, server
    finally:
        server.shutdown()
        server.server_close()


TINY_CONFIG = REPO / "tests" / "config" / "tiny.yaml"
SCHEMA_PATH = REPO / "workflow" / "schemas" / "config.schema.yaml"


def plan(*overrides: str, configfiles: tuple[Path, ...] = (), base: Path | None = None) -> Any:
    """The workflow's plan of ``snakemake --configfile F... --config K=V...``, made in-process
    as the Snakefile makes it: ``config.yaml`` (or ``base``), each config file and the
    ``--config`` values merged by Snakemake's own parser and merge, then
    ``latent_atlas.planning.prepare``. Raises what the workflow would stop with (Snakemake's
    WorkflowError for the schema, AtlasError for the plan), in milliseconds."""
    import yaml
    from latent_atlas import planning
    from snakemake.cli import parse_config
    from snakemake.utils import update_config

    config = yaml.safe_load((base or REPO / "config.yaml").read_text())
    for path in configfiles:
        update_config(config, yaml.safe_load(Path(path).read_text()) or {})
    update_config(config, parse_config(list(overrides)))
    return planning.prepare(config, SCHEMA_PATH)


def dry_run_jobs(wd: Path, *args: str) -> list[tuple[str, dict[str, str]]]:
    """(rule, wildcards) of every job that ``snakemake -n ARGS`` in ``wd`` would run, read from
    its dry run: what Snakemake itself plans from the rules' inputs."""
    proc = snakemake(wd, "-n", "--nolock", *args)
    jobs: list[tuple[str, dict[str, str]]] = []
    for line in proc.stdout.splitlines():
        m = re.match(r"\s*(?:local)?rule (\w+):", line)
        if m:
            jobs.append((m.group(1), {}))
        elif jobs and line.strip().startswith("wildcards:"):
            pairs = line.split("wildcards:", 1)[1].split(",")
            jobs[-1][1].update(p.strip().split("=", 1) for p in pairs if "=" in p)
    return jobs


def study_jobs(*overrides: str) -> list[tuple[str, dict[str, str]]]:
    """(rule, wildcards) of every job of the study ``--config OVERRIDES`` asks for, from scratch
    (a forced dry run of the checkout: nothing is written)."""
    return dry_run_jobs(REPO, "-F", *(("--config", *overrides) if overrides else ()))


def metric_params(**over: object) -> dict:
    """The settings the map measures read, as the workflow gives them (the schema's defaults,
    every registered measure's included), with ``over`` changed: a new measure with a
    setting of its own gets its default here, not a KeyError in a hand-built dict."""
    return {**plan().map_metric_params(), **over}


def copy_workflow(wd: Path) -> Path:
    """Copy the workflow (not results) to ``wd``, with the tiny test config as tiny.yaml."""
    wd.mkdir(parents=True)
    for name in WORKFLOW_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, wd / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, wd / name)
    shutil.copy2(TINY_CONFIG, wd / "tiny.yaml")
    return wd


@pytest.fixture
def workflow_dir(tmp_path: Path) -> Path:
    """A scratch copy of the workflow (so tests never touch the checkout's results/)."""
    return copy_workflow(tmp_path / "wf")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright, offline (the atlas's browser tests)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (.ci/run installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium,
            args=["--headless", "--no-sandbox", "--disable-background-networking"],
        )
        yield b
        b.close()


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """A folder ``build`` fills once per test run. Under pytest-xdist the run's workers share
    it: the first that asks builds it while the others wait on a lock, then all read it (the
    tests never change what such a folder holds: one that must, works on a copy)."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        path = tmp_path_factory.mktemp(name)
        build(path)
        return path
    root = tmp_path_factory.getbasetemp().parent  # the run's folder, above each worker's
    path, done = root / name, root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            shutil.rmtree(path, ignore_errors=True)  # a build that failed part way
            path.mkdir()
            build(path)
            done.touch()
    return path


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One full local run of the tiny digits study, shared by every test that reads a finished
    study (the e2e, atlas, damage, code-input, sweep, method and cluster tests)."""

    def build(root: Path) -> None:
        snakemake(copy_workflow(root / "wf"), "--configfile", "tiny.yaml", timeout=1500)

    return built_once(tmp_path_factory, "tiny-study", build) / "wf"


@pytest.fixture(scope="session")
def snakemake_report(tiny_study: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Snakemake's own report of the tiny study, made once by the README's `--report` command
    (tests/test_readme_commands.py checks that command runs; tests/test_e2e.py its captions).
    Made on a copy, so the shared study is never written to."""
    from doc_commands import COMMANDS, argv_of

    argv = argv_of(next(c for _, c in COMMANDS if "--report" in c))

    def build(root: Path) -> None:
        shutil.copytree(tiny_study, root / "wf", symlinks=True)
        snakemake(root / "wf", *argv, "--configfile", "tiny.yaml", timeout=600)

    return (
        built_once(tmp_path_factory, "snakemake-report", build)
        / "wf"
        / argv[argv.index("--report") + 1]
    )


# The variants of the tiny study, added to a copy of it in one Snakemake call and read by the
# tests of those features: the four further methods (tests/test_compared_methods.py), a model
# sweep over latent size and seed (tests/test_sweeps.py) and a projection-seed sweep of two of
# the new methods. The sweep's models are mapped by the first three methods only.
NEW_METHODS = ["pacmap", "trimap", "densmap", "parametric_umap"]
VARIANTS = {
    "study": {
        "datasets": ["digits"],
        "models": ["ae32"],
        "methods": ["pca", "tsne", "umap", *NEW_METHODS],
        "sweeps": ["latent", "pseed"],
    },
    "methods": {"parametric_umap": {"n_epochs": 20, "hidden": [32, 32]}},
    "sweeps": {
        "latent": {
            "base": "ae32",
            "grid": {"latent_dim": [8], "seed": [1, 2]},  # two seeds of one size: the spread
            "methods": ["pca", "tsne", "umap"],
        },
        "pseed": {
            "base": "ae32",
            "grid": {"projection.seed": [1, 2]},
            "methods": ["pacmap", "trimap"],
        },
    },
}


@pytest.fixture(scope="session")
def tiny_variants(tiny_study: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tiny study with VARIANTS added (``--configfile tiny.yaml variants.yaml``):
    the ae32 model is reused, its maps and the new ones made, the sweeps run."""
    import yaml

    def build(root: Path) -> None:
        shutil.copytree(tiny_study, root / "wf", symlinks=True)
        (root / "wf" / "variants.yaml").write_text(yaml.safe_dump(VARIANTS))
        snakemake(root / "wf", "--configfile", "tiny.yaml", "variants.yaml", timeout=1500)

    return built_once(tmp_path_factory, "tiny-variants", build) / "wf"


# -- TensorFlow training, shared by the training, model-kind and encode tests ----------------


@pytest.fixture(scope="session")
def digits() -> dict[str, np.ndarray]:
    """The digits data set as normalise writes it (80/20 split, seed 0)."""
    from latent_atlas import data

    return data.digits_arrays(0.2, seed=0)


def run_train(tmp: Path, spec: dict, d: dict, **kw: Any) -> Any:
    """Train ``spec`` on ``d`` into ``tmp`` (model.keras, history.csv, .resume) in-process."""
    from latent_atlas import training

    return training.train(spec, d, tmp / "model.keras", tmp / "history.csv", tmp / ".resume", **kw)


DENSE_SPEC = {
    "kind": "dense",
    "latent_dim": 8,
    "hidden": [],
    "epochs": 1,
    "batch_size": 128,
    "learning_rate": 0.01,
    "seed": 3,
    "validation": "test",
    "xla": "auto",
}


@pytest.fixture(scope="session")
def dense_model(tmp_path_factory: pytest.TempPathFactory, digits: dict) -> Path:
    """One small dense autoencoder trained one epoch on digits, for the tests that only need a
    trained model (encode, chunks, damaged files): trained once, never written to."""
    out = tmp_path_factory.mktemp("dense-model")
    run_train(out, DENSE_SPEC, digits)
    return out / "model.keras"


# encode settings of the tests: two interpolations, a few samples
ENCODE_PARAMS = {
    "samples_per_class": 2,
    "worst": 3,
    "interpolate": [[4, 9], [3, 8]],
    "interpolation_steps": 5,
    "prior_samples": 4,
    "seed": 0,
}


_KILL_DRIVER = """
import logging, os, signal, sys
logging.basicConfig(level=logging.INFO)
sys.path.insert(0, {scripts!r})
from latent_atlas import tfsetup
tfsetup.configure(1, seed=3)
from latent_atlas import data, training
spec = {spec!r}
kill_at = int(sys.argv[2])

def maybe_kill(epoch, row):
    if epoch == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)  # preempted right after epoch kill_at

out = sys.argv[1]
training.train(spec, data.digits_arrays(0.2, 0), out + "/model.keras",
               out + "/history.csv", out + "/.resume", on_epoch_end=maybe_kill)
"""


def kill_and_resume(tmp: Path, spec: dict, kill_at: int = 2) -> tuple[Path, Path]:
    """Train ``spec`` on digits in a process SIGKILLed right after epoch ``kill_at``, rerun it
    (it must resume from that epoch), and train the same spec uninterrupted: the two output
    folders (killed-then-resumed, clean), for the caller to compare."""
    driver = tmp / "driver.py"
    driver.write_text(_KILL_DRIVER.format(scripts=str(REPO / "workflow/scripts"), spec=spec))
    killed, clean = tmp / "killed", tmp / "clean"
    killed.mkdir()
    clean.mkdir()

    def run(out: Path, at: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, driver, out, str(at)], capture_output=True, text=True, timeout=600
        )

    first = run(killed, kill_at)
    assert first.returncode == -9, first.stderr[-2000:]
    assert not (killed / "model.keras").exists()
    assert (killed / ".resume/state.json").is_file()
    second = run(killed, 0)
    assert second.returncode == 0, second.stderr[-2000:]
    assert f"resuming from the checkpoint after epoch {kill_at}" in second.stderr
    assert not (killed / ".resume").exists()
    third = run(clean, 0)
    assert third.returncode == 0, third.stderr[-2000:]
    return killed, clean


def array_digests(path: Path) -> dict[str, str]:
    """SHA-256 of each array in an .npz (file bytes differ by zip timestamps, arrays do not)."""
    with np.load(path, allow_pickle=False) as npz:
        return {
            k: hashlib.sha256(np.ascontiguousarray(npz[k]).tobytes()).hexdigest() for k in npz.files
        }


def snakemake(
    wd: Path,
    *args: str,
    check: bool = True,
    timeout: float = 900,
    env: dict | None = None,
    cores: int | None = 2,
) -> subprocess.CompletedProcess[str]:
    """Run this venv's snakemake in ``wd``; on an unexpected exit code show its output.
    ``cores`` pins the run to this many cores (as on the 2-core CI box, so thread-dependent
    results match between tests); None adds no ``--cores`` (the profile's ``cores: all``)."""
    cmd = [str(VENV_BIN / "snakemake"), *(["--cores", str(cores)] if cores else []), *args]
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        cmd, cwd=wd, capture_output=True, text=True, timeout=timeout, env=full_env
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {proc.returncode}\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
        )
    return proc
