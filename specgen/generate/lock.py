"""The source lock (`sources/sources.lock.json`): every Source of every spec, with its pin.

A Source is pinned when its sha256 and size are known. Pins come from NVIDIA's manifests
(shipped copies, or the live ones `specgen sources --update` reads) and the release facts; an
unpinned Source is listed with null sha256 and refused by the build unless explicitly allowed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from specgen.atomic import write_atomic
from specgen.errors import InputError

LOCK_FORMAT = 1
DEFAULT_LOCK = Path("sources/sources.lock.json")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# `~` as in pre-release and Debian versions (foo-1.0~rc1.tar.gz, x_12.5.40~12.5.0-2_amd64.deb);
# never first, so a shell never expands it.
_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+~-]*")


@dataclass(frozen=True)
class LockedSource:
    """One file to download: its URL, the name it has in SOURCES, and its pin if known."""

    file: str
    url: str
    sha256: str | None = None
    size: int | None = None
    pinned_by: str | None = None
    packages: tuple[str, ...] = ()
    arch: str | None = None

    @property
    def pinned(self) -> bool:
        return self.sha256 is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "url": self.url,
            "sha256": self.sha256,
            "size": self.size,
            "pinned_by": self.pinned_by,
            "packages": list(self.packages),
            "arch": self.arch,
        }


@dataclass(frozen=True)
class SourceLock:
    """All Sources of one release, sorted by file name."""

    release: str
    sources: tuple[LockedSource, ...] = field(default_factory=tuple)

    def by_url(self) -> dict[str, LockedSource]:
        return {s.url: s for s in self.sources}

    def unpinned(self) -> list[LockedSource]:
        return [s for s in self.sources if not s.pinned]

    def to_json(self) -> str:
        body = {
            "format": LOCK_FORMAT,
            "release": self.release,
            "sources": [s.to_dict() for s in sorted(self.sources, key=lambda s: (s.file, s.url))],
        }
        return json.dumps(body, indent=2, sort_keys=False) + "\n"


def _source(path: str, index: int, raw: Any) -> LockedSource:
    where = f"sources[{index}]"
    if not isinstance(raw, dict):
        raise InputError(path, f"{where}: not an object")
    file, url = raw.get("file"), raw.get("url")
    if not isinstance(file, str) or not _FILE.fullmatch(file):
        raise InputError(path, f"{where}: file {file!r} is not a plain file name")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise InputError(path, f"{where}: url {url!r} is not an http(s) URL")
    sha, size = raw.get("sha256"), raw.get("size")
    if sha is not None and (not isinstance(sha, str) or not _SHA256.fullmatch(sha)):
        raise InputError(path, f"{where} ({file}): sha256 {sha!r} is not 64 lowercase hex digits")
    if size is not None and (not isinstance(size, int) or size < 0):
        raise InputError(path, f"{where} ({file}): size {size!r} is not a byte count")
    packages = raw.get("packages", [])
    if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
        raise InputError(path, f"{where} ({file}): packages must be a list of names")
    return LockedSource(
        file=file,
        url=url,
        sha256=sha,
        size=size,
        pinned_by=raw.get("pinned_by"),
        packages=tuple(packages),
        arch=raw.get("arch"),
    )


def read_lock(path: str | Path) -> SourceLock:
    """Read and validate a lock file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "no source lock here (run `specgen generate` first)") from None
    except OSError as err:
        raise InputError(path, f"cannot read: {err.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(path, f"not a source lock: {err}") from None
    if not isinstance(data, dict) or data.get("format") != LOCK_FORMAT:
        raise InputError(path, f"not a source lock of format {LOCK_FORMAT}")
    raw_sources = data.get("sources")
    if not isinstance(raw_sources, list):
        raise InputError(path, "sources must be a list")
    sources = tuple(_source(str(path), i, raw) for i, raw in enumerate(raw_sources))
    return SourceLock(release=str(data.get("release", "")), sources=sources)


def write_lock(path: str | Path, lock: SourceLock) -> None:
    """Write the lock atomically, creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lock.to_json())
