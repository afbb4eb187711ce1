"""Two builds' RPMs compared byte for byte, and where they differ, what differs.

The verdict is the bytes (sha256 of each file). For a pair that differs the report names the
header tags whose values differ (the digests and signatures that merely follow from any change
are set apart), the files whose digest, size, mode, mtime, owner or link target differ, and
whether the compressed payload differs; diffoscope, where installed, adds a full report.
"""

from __future__ import annotations

import hashlib
import shutil
import struct
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rpmfile
from rpmfile.errors import RPMError

from specgen.errors import InputError
from specgen.filehash import file_facts
from specgen.rpmread import RPM_LEAD_MAGIC, FileEntry, header_files

# Tags that change whenever anything else does: digests and signatures of the header and payload.
DERIVED_TAGS = frozenset({
    "sha1header", "sha256", "sha256header", "md5", "sigmd5", "payloaddigest",
    "payloaddigestalt", "loaddigestalt", "headerimmutable", "headersignatures", "rsaheader",
    "dsaheader", "pgp", "gpg", "size", "payloadsize", "reservedspace", "longsize",
})  # fmt: skip
# Header columns of the file list: the file report says which files and fields differ instead.
FILE_TAGS = frozenset({
    "basenames", "dirnames", "dirindexes", "filemd5s", "filesizes", "longfilesizes", "filemodes",
    "filemtimes", "fileusername", "filegroupname", "filelinktos", "fileflags",
})  # fmt: skip
# The per-file columns whose values the file report compares, in the order they are named.
_FILE_FIELDS = ("digest", "size", "mode", "mtime", "user", "group", "link", "flags")
DIFFOSCOPE_TIMEOUT = 900


@dataclass(frozen=True)
class RpmDifference:
    """How one RPM of the first build differs from the one of the same name in the second."""

    rpm: str
    only_in: str = ""  # "first" or "second" when the other build lacks it
    tags: tuple[str, ...] = ()
    derived_tags: tuple[str, ...] = ()
    files: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (path, fields that differ)
    payload: bool = False
    diffoscope: Path | None = None

    def summary(self, max_files: int = 3) -> str:
        """One line: what differs, most telling first."""
        if self.only_in:
            return f"{self.rpm}: only in the {self.only_in} build"
        parts = []
        if self.tags:
            parts.append("header " + ", ".join(self.tags))
        if self.files:
            shown = [f"{path} ({', '.join(fields)})" for path, fields in self.files[:max_files]]
            more = len(self.files) - max_files
            parts.append("files " + "; ".join(shown) + (f"; {more} more" if more > 0 else ""))
        if self.payload:
            parts.append("payload")
        if not parts:
            parts.append("digests only: " + ", ".join(self.derived_tags))
        return f"{self.rpm}: " + " | ".join(parts)

    def report(self) -> str:
        """Every difference, one per line, for a report file."""
        if self.only_in:
            return f"{self.rpm}: only in the {self.only_in} build\n"
        lines = [f"{self.rpm}:"]
        lines += [f"  header tag {t}" for t in self.tags]
        lines += [f"  file {path}: {', '.join(fields)}" for path, fields in self.files]
        if self.payload:
            lines.append("  payload (compressed cpio) bytes")
        if self.derived_tags:
            lines.append("  digests that follow: " + ", ".join(self.derived_tags))
        if self.diffoscope:
            lines.append(f"  diffoscope report: {self.diffoscope}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Comparison:
    """Two builds of one package: the RPMs compared and those that differ."""

    identical: tuple[str, ...] = ()
    differences: tuple[RpmDifference, ...] = field(default_factory=tuple)

    @property
    def reproducible(self) -> bool:
        return not self.differences and bool(self.identical)

    def report(self) -> str:
        head = f"{len(self.identical)} identical RPMs: {', '.join(self.identical) or 'none'}\n"
        return head + "".join(d.report() for d in self.differences)


def _headers(path: Path) -> tuple[dict[str, Any], int]:
    try:
        with path.open("rb") as fh:
            if fh.read(4) != RPM_LEAD_MAGIC:
                raise InputError(path, "not an RPM package (no RPM lead)")
            fh.seek(0)
            rpm = rpmfile.RPMFile(fileobj=fh)
            return {str(k): v for k, v in rpm.headers.items()}, rpm.data_offset
    except (RPMError, AssertionError, struct.error, ValueError, IndexError) as err:
        raise InputError(path, f"unreadable RPM header: {err or type(err).__name__}") from err
    except OSError as err:
        raise InputError(path, f"cannot read: {err.strerror or err}") from err


def _payload_sha(path: Path, offset: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        fh.seek(offset)
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _file_fields(entry: FileEntry) -> dict[str, object]:
    return {name: getattr(entry, name) for name in _FILE_FIELDS}


def _file_differences(
    first: tuple[FileEntry, ...], second: tuple[FileEntry, ...]
) -> list[tuple[str, tuple[str, ...]]]:
    a = {f.path: _file_fields(f) for f in first}
    b = {f.path: _file_fields(f) for f in second}
    out: list[tuple[str, tuple[str, ...]]] = []
    for path in sorted(a.keys() | b.keys()):
        if path not in b:
            out.append((path, ("only in the first build",)))
        elif path not in a:
            out.append((path, ("only in the second build",)))
        elif a[path] != b[path]:
            out.append((path, tuple(k for k in _FILE_FIELDS if a[path][k] != b[path][k])))
    return out


def diff_rpms(
    first: Path, second: Path, diffoscope_dir: Path | None = None
) -> RpmDifference | None:
    """None when the two files are the same bytes; otherwise what differs between them.

    With `diffoscope_dir` and diffoscope on PATH, its text report is written there too.
    """
    if file_facts(first) == file_facts(second):
        return None
    head_a, offset_a = _headers(first)
    head_b, offset_b = _headers(second)
    changed = sorted(k for k in head_a.keys() | head_b.keys() if head_a.get(k) != head_b.get(k))
    files = _file_differences(header_files(head_a), header_files(head_b))
    payload = _payload_sha(first, offset_a) != _payload_sha(second, offset_b)
    report = _diffoscope(first, second, diffoscope_dir) if diffoscope_dir else None
    return RpmDifference(
        rpm=first.name,
        tags=tuple(t for t in changed if t not in DERIVED_TAGS and t not in FILE_TAGS),
        derived_tags=tuple(t for t in changed if t in DERIVED_TAGS),
        files=tuple(files),
        payload=payload,
        diffoscope=report,
    )


def _diffoscope(first: Path, second: Path, folder: Path) -> Path | None:
    """diffoscope's text report of the pair, or None where it is absent or gives up."""
    exe = shutil.which("diffoscope")
    if exe is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{first.name}.diffoscope.txt"
    try:
        done = subprocess.run(
            [exe, "--text", str(out), str(first), str(second)],
            capture_output=True, timeout=DIFFOSCOPE_TIMEOUT, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return None
    return out if done.returncode in (0, 1) and out.exists() else None


def compare_builds(
    first: Iterable[Path], second: Iterable[Path], diffoscope_dir: Path | None = None
) -> Comparison:
    """Pair two builds' RPMs by file name and compare each pair byte for byte."""
    a: Mapping[str, Path] = {p.name: p for p in first}
    b: Mapping[str, Path] = {p.name: p for p in second}
    identical, differences = [], []
    for name in sorted(a.keys() | b.keys()):
        if name not in b or name not in a:
            differences.append(RpmDifference(name, only_in="first" if name in a else "second"))
            continue
        diff = diff_rpms(a[name], b[name], diffoscope_dir)
        if diff is None:
            identical.append(name)
        else:
            differences.append(diff)
    return Comparison(tuple(identical), tuple(differences))


def compare_folders(first: Path, second: Path, diffoscope_dir: Path | None = None) -> Comparison:
    """Every *.rpm under two folders (say, two `specgen build --repo` folders), by file name."""
    for folder in (first, second):
        if not folder.is_dir():
            raise InputError(folder, "no such folder")
    return compare_builds(sorted(first.rglob("*.rpm")), sorted(second.rglob("*.rpm")),
                          diffoscope_dir)  # fmt: skip
