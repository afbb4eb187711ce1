"""Downloading the source lock's files: resumable, retried, and verified before they count.

A file gets its final name only once its size and sha256 match the lock, so DEST holds either
verified files or nothing under that name; partial data waits in `<file>.part` for a resume.
Pins can also be refreshed from NVIDIA's live manifests (`refresh_pins`), with no download.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import requests
from urllib3.exceptions import HTTPError as Urllib3Error

from specgen.errors import InputError, SpecgenError
from specgen.filehash import file_facts
from specgen.generate.lock import LockedSource, SourceLock
from specgen.generate.redist import REDIST_ROOT, parse_manifest
from specgen.sources.overlay import LockOverlay, OverlaySource

CHUNK = 1 << 20
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_MANIFEST_FILE = re.compile(r"redistrib_[A-Za-z0-9._-]+\.json")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_T = TypeVar("_T")

# Called after every chunk with (file, bytes so far, total bytes if known): the CLI draws bars.
ProgressHook = Callable[[str, int, int | None], None]


def _no_progress(file: str, done: int, total: int | None) -> None:
    """The default hook: nothing to draw."""


class _Retry(Exception):
    """A failure another attempt may cure (5xx, a cut connection); the message says what."""


@dataclass(frozen=True)
class Outcome:
    """What became of one lock entry: status is downloaded, present, unpinned, skipped-arch or
    overlay (a lock overlay's local file, verified against the overlay's pin)."""

    source: LockedSource
    status: str
    size: int | None = None
    sha256: str | None = None
    note: str = ""

    @property
    def computed_unpinned(self) -> bool:
        """A hash we computed for a file the lock does not pin: the user may want to pin it."""
        return not self.source.pinned and self.sha256 is not None


def _short(err: BaseException) -> str:
    """The innermost reason of a requests/urllib3 error, without object reprs."""
    text = str(err)
    for marker in ("Failed to establish a new connection: ", "Caused by "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text.strip("()'\" ")[:200]


class Fetcher:
    """GETs over one requests.Session with bounded, backed-off retries on cuts and 5xx.

    `sleep` is injectable so tests retry without waiting.
    """

    def __init__(
        self,
        session: requests.Session,
        *,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: tuple[float, float] = (10.0, 60.0),
        sleep: Callable[[float], None] = time.sleep,
        progress: ProgressHook = _no_progress,
    ) -> None:
        self.session = session
        self.retries = max(retries, 0)
        self.backoff = backoff
        self.timeout = timeout
        self.sleep = sleep
        self.progress = progress

    def _with_retries(self, url: str, once: Callable[[], _T]) -> _T:
        attempts = self.retries + 1
        reason = ""
        for attempt in range(attempts):
            if attempt:
                self.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                return once()
            except _Retry as err:
                reason = str(err)
            except requests.Timeout:
                reason = f"timed out (connect {self.timeout[0]:g} s, read {self.timeout[1]:g} s)"
            except (requests.RequestException, Urllib3Error) as err:
                reason = f"connection failed ({_short(err)})"
        tries = f"{attempts} attempts" if attempts > 1 else "1 attempt"
        raise SpecgenError(f"cannot download {url}: {reason} ({tries})")

    def get_bytes(self, url: str) -> bytes:
        """A small file (a manifest), in memory."""

        def once() -> bytes:
            resp = self.session.get(url, timeout=self.timeout)
            if resp.status_code in RETRY_STATUS:
                raise _Retry(f"HTTP {resp.status_code} {resp.reason}")
            if resp.status_code != 200:
                raise SpecgenError(f"cannot download {url}: HTTP {resp.status_code} {resp.reason}")
            return resp.content

        return self._with_retries(url, once)

    def to_part(self, url: str, part: Path, label: str, size: int | None) -> None:
        """Fill `part` with `url`'s bytes, resuming from what it already holds."""
        self._with_retries(url, lambda: self._part_once(url, part, label, size))

    def _part_once(self, url: str, part: Path, label: str, size: int | None) -> None:
        have = part.stat().st_size if part.exists() else 0
        if size is not None and have > size:
            part.unlink()  # longer than the file can be: nothing in it is worth keeping
            have = 0
        # Archives must arrive as stored: no transport decoding of a .tar.gz labelled gzip.
        headers = {"Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
        with self.session.get(url, stream=True, headers=headers, timeout=self.timeout) as resp:
            code = resp.status_code
            if code == 416 and have:
                return  # nothing left to send: verification decides whether it is whole
            if code in RETRY_STATUS:
                raise _Retry(f"HTTP {code} {resp.reason}")
            if code == 206 and have:
                if not resp.headers.get("Content-Range", "").startswith(f"bytes {have}-"):
                    part.unlink()
                    raise _Retry(f"server answered another range than bytes={have}-")
                mode = "ab"
            elif code == 200:
                mode, have = "wb", 0  # the server ignored Range (or none was sent): start over
            else:
                raise SpecgenError(f"cannot download {url}: HTTP {code} {resp.reason}")
            length = resp.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            total = have + expected if expected is not None else size
            done = have
            self.progress(label, done, total)
            with part.open(mode) as fh:
                for chunk in resp.raw.stream(CHUNK, decode_content=False):
                    fh.write(chunk)
                    done += len(chunk)
                    self.progress(label, done, total)
            if expected is not None and done - have < expected:
                raise _Retry(f"connection closed after {done} of {have + expected} bytes")


def _mismatch(source: LockedSource, size: int, sha: str) -> str | None:
    """Why a file is not the one the lock names, or None when it is (as far as it is pinned)."""
    if source.size is not None and size != source.size:
        return (
            f"size mismatch: expected {source.size} bytes, got {size}; "
            f"sha256 expected {source.sha256 or 'unpinned'}, got {sha}"
        )
    if source.sha256 is not None and sha != source.sha256:
        return f"sha256 mismatch: expected {source.sha256}, got {sha}"
    return None


def fetch_source(
    fetcher: Fetcher, source: LockedSource, dest: Path, allow_unpinned: bool = False
) -> Outcome:
    """Make DEST/<file> a verified copy of one entry; refuse an unpinned one unless allowed."""
    if not source.pinned and not allow_unpinned:
        return Outcome(source, "unpinned")
    final = dest / source.file
    part = dest / f"{source.file}.part"
    note = ""
    try:
        if final.exists():
            size, sha = file_facts(final)
            why = _mismatch(source, size, sha)
            if why is None:
                return Outcome(source, "present", size, sha)
            final.unlink()
            note = f"replaced a file that did not match ({why.split(':')[0]})"
        dest.mkdir(parents=True, exist_ok=True)
        fetcher.to_part(source.url, part, source.file, source.size)
        size, sha = file_facts(part)
        why = _mismatch(source, size, sha)
        if why is not None:
            part.unlink(missing_ok=True)
            raise SpecgenError(f"{source.file}: {why}; deleted the download")
        os.replace(part, final)
    except OSError as err:  # requests' errors are OSErrors too, but never reach here
        raise SpecgenError(f"{source.file}: cannot write in {dest}: {err.strerror or err}") from err
    return Outcome(source, "downloaded", size, sha, note)


def check_stand_in(source: LockedSource, stand_in: OverlaySource) -> Outcome:
    """A lock overlay's local file for `source`, verified against the overlay's own pin; it is
    not copied into DEST: the build reads it where it is."""
    if not stand_in.path.is_file():
        raise SpecgenError(
            f"{source.file}: missing at {stand_in.path} (named by the lock overlay "
            f"{stand_in.listed_in})"
        )
    size, sha = file_facts(stand_in.path)
    if size != stand_in.size or sha != stand_in.sha256:
        raise SpecgenError(
            f"{source.file}: {stand_in.path} does not match its pin in the lock overlay "
            f"{stand_in.listed_in}: sha256 {sha}, expected {stand_in.sha256}; size {size}, "
            f"expected {stand_in.size}"
        )
    note = f"{stand_in.path}; hash from {stand_in.hash_from}"
    return Outcome(source, "overlay", size, sha, note)


def wanted(source: LockedSource, arch: str | None) -> bool:
    """Whether an entry is for `arch` (None: every arch); arch-independent entries always are."""
    return arch is None or source.arch is None or source.arch == arch


def select_only(lock: SourceLock, only: Iterable[str]) -> list[LockedSource]:
    """The entries of the named packages (all when none named); an unknown name is an error."""
    names = set(only)
    if not names:
        return list(lock.sources)
    known = {p for s in lock.sources for p in s.packages}
    unknown = sorted(names - known)
    if unknown:
        raise SpecgenError(
            f"--only {', '.join(unknown)}: no source of the lock belongs to "
            f"{'it' if len(unknown) == 1 else 'them'} (packages: {', '.join(sorted(known))})"
        )
    return [s for s in lock.sources if names & set(s.packages)]


def fetch_all(
    fetcher: Fetcher,
    sources: Iterable[LockedSource],
    dest: Path,
    arch: str | None,
    allow_unpinned: bool = False,
    overlay: LockOverlay | None = None,
) -> list[Outcome]:
    """Every entry's outcome, in order; stops at the first failure (a SpecgenError). Entries
    a lock overlay supplies are checked where they are instead of downloaded."""
    stand_ins = overlay.sources if overlay else {}
    outcomes = []
    for s in sources:
        if not wanted(s, arch):
            outcomes.append(Outcome(s, "skipped-arch"))
        elif s.file in stand_ins:
            outcomes.append(check_stand_in(s, stand_ins[s.file]))
        else:
            outcomes.append(fetch_source(fetcher, s, dest, allow_unpinned))
    return outcomes


def exit_code(outcomes: Iterable[Outcome]) -> int:
    """1 when an unpinned file was refused, else 0 (failures have raised already)."""
    return 1 if any(o.status == "unpinned" for o in outcomes) else 0


# --- pins from NVIDIA's live manifests -------------------------------------------------------


@dataclass(frozen=True)
class PinChange:
    """A pin `refresh_pins` rewrote."""

    file: str
    old_sha256: str | None
    old_size: int | None
    new_sha256: str
    new_size: int


@dataclass(frozen=True)
class PinRefresh:
    """The refreshed lock, what changed, and what was left as is (file, why)."""

    lock: SourceLock
    changed: list[PinChange]
    kept: list[tuple[str, str]]


def manifest_for(source: LockedSource) -> tuple[str, str] | None:
    """(product, manifest file) of an entry pinned by a redist manifest, else None."""
    name = (source.pinned_by or "").rsplit("/", 1)[-1]
    prefix = f"{REDIST_ROOT}/"
    if not _MANIFEST_FILE.fullmatch(name) or not source.url.startswith(prefix):
        return None
    product, sep, _ = source.url[len(prefix) :].partition("/redist/")
    if not sep or not product or "/" in product:
        return None
    return product, name


def manifest_archives(data: Any, origin: str) -> dict[str, tuple[str, int]]:
    """Every archive a manifest lists, by full URL: all platforms and all `cudaNN` variants."""
    if not isinstance(data, dict):
        raise InputError(origin, "not an NVIDIA redist manifest (not a JSON object)")
    base = f"{REDIST_ROOT}/{parse_manifest(data, origin).product}/redist"
    found: dict[str, tuple[str, int]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        if not isinstance(node, dict):
            return
        if {"relative_path", "sha256", "size"} <= node.keys():
            sha, size = str(node["sha256"]), str(node["size"])
            if not _SHA256.fullmatch(sha) or not size.isdigit():
                where = node["relative_path"]
                raise InputError(origin, f"{where}: bad sha256 {sha!r} or size {size!r}")
            found[f"{base}/{node['relative_path']}"] = (sha, int(size))
            return
        for value in node.values():
            walk(value)

    walk(data)
    return found


def refresh_pins(fetcher: Fetcher, lock: SourceLock, manifest_base: str) -> PinRefresh:
    """The lock with every manifest-pinned entry's sha256/size as the live manifest says."""
    manifests: dict[tuple[str, str], dict[str, tuple[str, int]]] = {}
    sources: list[LockedSource] = []
    changed: list[PinChange] = []
    kept: list[tuple[str, str]] = []
    for source in lock.sources:
        key = manifest_for(source)
        if key is None:
            sources.append(source)
            kept.append((source.file, "no manifest: left as is"))
            continue
        if key not in manifests:
            url = f"{manifest_base.rstrip('/')}/{key[0]}/redist/{key[1]}"
            try:
                data = json.loads(fetcher.get_bytes(url))
            except (UnicodeDecodeError, json.JSONDecodeError) as err:
                raise InputError(url, f"not JSON: {err}") from None
            manifests[key] = manifest_archives(data, url)
        pin = manifests[key].get(source.url)
        if pin is None:
            sources.append(source)
            kept.append((source.file, f"not in {key[1]}: left as is"))
        elif pin == (source.sha256, source.size):
            sources.append(source)
        else:
            sources.append(replace(source, sha256=pin[0], size=pin[1]))
            changed.append(PinChange(source.file, source.sha256, source.size, *pin))
    return PinRefresh(replace(lock, sources=tuple(sources)), changed, kept)
