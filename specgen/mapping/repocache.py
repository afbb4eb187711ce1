"""On-disk cache of repository metadata, so a second run skips the XML and works offline.

Each repository gets a folder named by the SHA-256 of its base URL. In it, `repomd.xml` is the
commit point: it is written last, and names (by checksum) the index files that are current. An
index is gzip-compressed JSON with one compact array per package: parsing it is several times
faster than re-reading primary.xml, and it needs no pickle (the cache may be shared or copied).
Every file is written to a temporary name and renamed into place, so a crash or a concurrent run
never leaves half a file.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any, NamedTuple

from specgen.errors import SpecgenError

#: Bump when the layout of an index changes: older files are then ignored, not misread.
INDEX_FORMAT = 1

ENV_CACHE_DIR = "SPECGEN_CACHE_DIR"


class PackageRecord(NamedTuple):
    """What the index keeps of one binary package (the newest version of its name).

    A tuple, not a dataclass: thousands are made per load, and a JSON row maps onto it as is.
    """

    name: str
    epoch: int
    version: str
    release: str
    arch: str
    provides: tuple[str, ...] = ()
    files: tuple[str, ...] = ()


def cache_root() -> Path:
    """`$SPECGEN_CACHE_DIR`, else `$XDG_CACHE_HOME/specgen` (~/.cache/specgen)."""
    root = os.environ.get(ENV_CACHE_DIR)
    if root:
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "specgen"


def default_cache_dir() -> Path:
    """`$SPECGEN_CACHE_DIR/repodata`, else `$XDG_CACHE_HOME/specgen/repodata` (~/.cache)."""
    return cache_root() / "repodata"


@contextmanager
def atomic_writer(path: Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside `path`; rename it over `path` only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a cache is fine to share read-only
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def index_key(primary_checksum: str, filelists_checksum: str | None) -> str:
    """The name part of an index file: it changes whenever the metadata it was built from does."""
    key = primary_checksum + (f"+{filelists_checksum}" if filelists_checksum else "")
    return hashlib.sha256(key.encode()).hexdigest()[:24]


class RepoCache:
    """The cache folder of one repository: its last repomd.xml and the indexes built from it."""

    def __init__(self, root: Path, baseurl: str) -> None:
        self.baseurl = baseurl
        self.dir = Path(root) / hashlib.sha256(baseurl.encode()).hexdigest()

    @property
    def repomd_path(self) -> Path:
        return self.dir / "repomd.xml"

    def index_path(self, key: str) -> Path:
        return self.dir / f"index-{key}.json.gz"

    def read_repomd(self) -> bytes | None:
        """The repomd.xml saved with the current indexes, or None when nothing is cached."""
        try:
            return self.repomd_path.read_bytes()
        except FileNotFoundError:
            return None

    def read_index(self, key: str) -> list[PackageRecord] | None:
        """The packages of index `key`; None when absent, unreadable or of an older format."""
        try:
            with gzip.open(self.index_path(key), "rb") as fh:
                data = json.loads(fh.read())
        except (OSError, EOFError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("format") != INDEX_FORMAT:
            return None
        try:
            return [
                PackageRecord(n, e, v, r, a, tuple(p), tuple(f))
                for n, e, v, r, a, p, f in data["packages"]
            ]
        except (KeyError, TypeError, ValueError):
            return None

    def write_index(self, key: str, records: Iterable[PackageRecord]) -> None:
        """Store an index atomically; it becomes current when `commit` writes repomd.xml."""
        data = {
            "format": INDEX_FORMAT,
            "baseurl": self.baseurl,
            "packages": list(records),
        }
        payload = json.dumps(data, separators=(",", ":")).encode()
        with atomic_writer(self.index_path(key)) as fh:
            # Level 1: four times smaller than raw JSON, and barely slower to read than it.
            fh.write(gzip.compress(payload, compresslevel=1, mtime=0))

    def commit(self, repomd: bytes, keep: Iterable[str]) -> None:
        """Save repomd.xml (the indexes `keep` now belong to it) and drop older indexes."""
        with atomic_writer(self.repomd_path) as fh:
            fh.write(repomd)
        wanted = {self.index_path(k).name for k in keep}
        for old in self.dir.glob("index-*.json.gz"):
            if old.name not in wanted:
                with suppress(OSError):
                    old.unlink()

    def scratch_file(self) -> Path:
        """A fresh temporary file in the cache folder (same file system) for a download."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".download.", suffix=".tmp")
        except OSError as err:
            raise SpecgenError(f"cannot write the repository cache {self.dir}: {err}") from err
        os.close(fd)
        return Path(tmp)
