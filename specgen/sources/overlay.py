"""A lock overlay: local files that stand in for Sources of the lock, each with its own pin.

The source lock pins what upstream publishes. A build from other bytes of the same Sources (a
local archive of the upstream commit, made where the published download cannot be reached) must
not weaken it: an overlay names, per Source, the lock entry it stands in for (file, URL and the
lock's pin when it was written), the local file, that file's own sha256 and size, and where that
hash was recorded. It is given explicitly (`--lock-overlay FILE`), every Source it supplies is
reported, and its files are verified against its own pins exactly as downloads are against the
lock's. An entry whose lock entry has since changed is an error, not a silent re-pin.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from specgen.errors import InputError
from specgen.generate.lock import SourceLock

OVERLAY_FORMAT = 1
UNPINNED = "unpinned"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
_KEYS = {"file", "url", "lock_sha256", "path", "sha256", "size", "hash_from", "why"}
_REQUIRED = _KEYS - {"why"}


@dataclass(frozen=True)
class OverlaySource:
    """One local file standing in for the lock entry `file`."""

    file: str
    url: str
    lock_sha256: str | None  # the lock's pin this entry was written against; None: unpinned
    path: Path  # absolute: relative paths are resolved against the overlay's folder
    sha256: str
    size: int
    hash_from: str
    listed_in: Path  # the overlay file
    why: str = ""

    def describe(self) -> str:
        """One line for logs: where the bytes come from and what vouches for them."""
        lock = self.lock_sha256 or UNPINNED
        return (
            f"local file {self.path}, sha256 {self.sha256}, {self.size} bytes "
            f"(hash from {self.hash_from}; the lock's pin: {lock})"
        )


@dataclass(frozen=True)
class LockOverlay:
    """The overlay file and its entries by Source file name."""

    path: Path
    sources: dict[str, OverlaySource]

    def check_against(self, lock: SourceLock, lock_path: str | Path) -> None:
        """Every entry stands in for a lock entry that is still the one it was written for."""
        by_file = {s.file: s for s in lock.sources}
        for entry in self.sources.values():
            locked = by_file.get(entry.file)
            if locked is None:
                raise InputError(self.path, f"source {entry.file}: not in the lock {lock_path}")
            if locked.url != entry.url:
                raise InputError(
                    self.path,
                    f"source {entry.file}: stands in for {entry.url}, but the lock {lock_path} "
                    f"downloads it from {locked.url}",
                )
            if locked.sha256 != entry.lock_sha256:
                raise InputError(
                    self.path,
                    f"source {entry.file}: written against the lock's pin "
                    f"{entry.lock_sha256 or UNPINNED}, but {lock_path} now pins "
                    f"{locked.sha256 or UNPINNED}; check the local file again and update "
                    "lock_sha256",
                )


def _entry(path: Path, index: int, raw: Any) -> OverlaySource:
    where = f"source[{index}]"
    if not isinstance(raw, dict):
        raise InputError(path, f"{where}: not a table")
    file = raw.get("file")
    if not isinstance(file, str) or not _FILE.fullmatch(file):
        raise InputError(path, f"{where}: file {file!r} is not a plain file name")
    where = f"{where} ({file})"
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise InputError(path, f"{where}: unknown key {', '.join(unknown)}")
    missing = sorted(_REQUIRED - set(raw))
    if missing:
        raise InputError(path, f"{where}: missing {', '.join(missing)}")
    url, local, sha, size = raw["url"], raw["path"], raw["sha256"], raw["size"]
    lock_sha, hash_from, why = raw["lock_sha256"], raw["hash_from"], raw.get("why", "")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise InputError(path, f"{where}: url {url!r} is not an http(s) URL")
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        raise InputError(path, f"{where}: sha256 {sha!r} is not 64 lowercase hex digits")
    if not isinstance(lock_sha, str) or not (lock_sha == UNPINNED or _SHA256.fullmatch(lock_sha)):
        raise InputError(
            path, f"{where}: lock_sha256 {lock_sha!r} is neither a sha256 nor {UNPINNED!r}"
        )
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise InputError(path, f"{where}: size {size!r} is not a byte count")
    if not isinstance(local, str) or not local:
        raise InputError(path, f"{where}: path {local!r} is not a path")
    if not isinstance(hash_from, str) or not hash_from.strip():
        raise InputError(path, f"{where}: hash_from must say where the sha256 was recorded")
    if not isinstance(why, str):
        raise InputError(path, f"{where}: why must be text")
    return OverlaySource(
        file=file,
        url=url,
        lock_sha256=None if lock_sha == UNPINNED else lock_sha,
        path=(path.parent / local).resolve(),
        sha256=sha,
        size=size,
        hash_from=hash_from,
        listed_in=path,
        why=why,
    )


def read_overlay(path: str | Path) -> LockOverlay:
    """Read and validate an overlay file (TOML: `format = 1` and `[[source]]` tables)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "no lock overlay here") from None
    except OSError as err:
        raise InputError(path, f"cannot read: {err.strerror}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise InputError(path, f"not a lock overlay: {err}") from None
    if data.get("format") != OVERLAY_FORMAT:
        raise InputError(path, f"not a lock overlay of format {OVERLAY_FORMAT}")
    unknown = sorted(set(data) - {"format", "source"})
    if unknown:
        raise InputError(path, f"unknown key {', '.join(unknown)}")
    raw = data.get("source", [])
    if not isinstance(raw, list) or not raw:
        raise InputError(path, "no [[source]] entries")
    sources: dict[str, OverlaySource] = {}
    for index, item in enumerate(raw):
        entry = _entry(path, index, item)
        if entry.file in sources:
            raise InputError(path, f"source[{index}] ({entry.file}): listed twice")
        sources[entry.file] = entry
    return LockOverlay(path, sources)
