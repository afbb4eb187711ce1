"""Read binary RPMs into small dataclasses: the one place `specgen verify` touches RPM files.

Headers come from rpmfile. Of the payload only the first bytes of each shared library are
read (its ELF and program headers, for the exec-stack check), streamed through the
decompressor and skipped past everything else: rpmfile's own payload reader holds a whole
zstd payload in memory, and NVIDIA's TensorRT packages carry libraries over a gigabyte.
Packages without a shared library are never decompressed at all.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
import stat
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import rpmfile
import zstandard
from rpmfile.errors import RPMError

from specgen import elfstack
from specgen.errors import InputError

RPM_LEAD_MAGIC = b"\xed\xab\xee\xdb"

# rpm's dependency sense bits (rpmds.h)
RPMSENSE_LESS = 1 << 1
RPMSENSE_GREATER = 1 << 2
RPMSENSE_EQUAL = 1 << 3
RPMSENSE_RPMLIB = 1 << 24
# rpm's file flags (rpmfiles.h)
RPMFILE_GHOST = 1 << 6
RPMFILE_LICENSE = 1 << 7

_SHARED_LIB = re.compile(r"\.so(\.|$)")
_MAX_ELF_HEAD = 1 << 20  # program headers beyond the first MiB are not followed
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Dependency:
    """One Requires or Provides entry: a capability, rpm's sense flags and an EVR (or "")."""

    name: str
    flags: int = 0
    version: str = ""

    @property
    def op(self) -> str:
        """The comparison as a spec writes it (`>=`), or "" for an unversioned entry."""
        lt, gt = self.flags & RPMSENSE_LESS, self.flags & RPMSENSE_GREATER
        eq = "=" if self.flags & RPMSENSE_EQUAL else ""
        return ("<" if lt else ">" if gt else "") + eq if self.version else ""

    @property
    def is_rpmlib(self) -> bool:
        """An `rpmlib(...)` feature: satisfied by rpm itself, never by a package."""
        return bool(self.flags & RPMSENSE_RPMLIB) or self.name.startswith("rpmlib(")

    def __str__(self) -> str:
        return f"{self.name} {self.op} {self.version}" if self.op else self.name


@dataclass(frozen=True)
class FileEntry:
    """One path of a package's file list, as its header describes it."""

    path: str
    mode: int
    size: int = 0
    link: str = ""  # symlink target as stored (often relative)
    user: str = "root"
    group: str = "root"
    flags: int = 0
    digest: str = ""
    mtime: int = 0

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)

    @property
    def is_link(self) -> bool:
        return stat.S_ISLNK(self.mode)

    @property
    def is_file(self) -> bool:
        return stat.S_ISREG(self.mode)

    @property
    def is_license(self) -> bool:
        return bool(self.flags & RPMFILE_LICENSE)

    @property
    def is_ghost(self) -> bool:
        return bool(self.flags & RPMFILE_GHOST)


@dataclass(frozen=True, eq=False)
class RpmPackage:
    """A binary (or source) RPM: identity, dependencies, file list, shared libraries' heads.

    `elf_heads` maps each shared library's path to its leading bytes (enough for
    elfstack.stack_flag); `payload_error` says why they could not be read, if so.
    """

    name: str
    version: str
    release: str
    arch: str
    epoch: int = 0
    file: str = ""
    source: bool = False
    requires: tuple[Dependency, ...] = ()
    provides: tuple[Dependency, ...] = ()
    conflicts: tuple[Dependency, ...] = ()
    obsoletes: tuple[Dependency, ...] = ()
    files: tuple[FileEntry, ...] = ()
    elf_heads: Mapping[str, bytes] = field(default_factory=dict)
    payload_error: str = ""
    # what the header says about the package, for an SBOM
    license: str = ""
    summary: str = ""
    url: str = ""
    vendor: str = ""
    sourcerpm: str = ""  # the source RPM's file name; "" for a source RPM
    buildtime: int = 0
    changelog_time: int = 0  # the newest entry's date (seconds), 0 without a changelog

    @property
    def evr(self) -> str:
        evr = f"{self.version}-{self.release}"
        return f"{self.epoch}:{evr}" if self.epoch else evr

    @property
    def nevra(self) -> str:
        return f"{self.name}-{self.evr}.{self.arch}"


# --- header values ----------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):  # a one-element string array
        return _text(value[0]) if value else ""
    return "" if value is None else str(value)


def _texts(headers: Mapping[str, Any], key: str) -> list[str]:
    """A string-array tag as str; rpmfile gives a lone STRING tag as bytes, not a list."""
    value = headers.get(key)
    if value is None:
        return []
    if isinstance(value, bytes):
        return [_text(value)]
    return [_text(v) for v in value]


def _ints(headers: Mapping[str, Any], key: str) -> list[int]:
    """An integer-array tag; rpmfile unwraps a one-element array into a bare int."""
    value = headers.get(key)
    if value is None:
        return []
    return [value] if isinstance(value, int) else list(value)


def _deps(headers: Mapping[str, Any], prefix: str) -> tuple[Dependency, ...]:
    names = _texts(headers, "provides" if prefix == "provide" else f"{prefix}name")
    flags = _ints(headers, f"{prefix}flags")
    versions = _texts(headers, f"{prefix}version")
    return tuple(
        Dependency(n, flags[i] if i < len(flags) else 0, versions[i] if i < len(versions) else "")
        for i, n in enumerate(names)
    )


def _paths(headers: Mapping[str, Any]) -> list[str]:
    basenames = _texts(headers, "basenames")
    if not basenames:
        return _texts(headers, "oldfilenames")
    dirnames, dirindexes = _texts(headers, "dirnames"), _ints(headers, "dirindexes")
    return [dirnames[dirindexes[i]] + b for i, b in enumerate(basenames)]


def header_files(headers: Mapping[str, Any]) -> tuple[FileEntry, ...]:
    """The file list of a header as rpmfile reads it."""
    paths = _paths(headers)
    n = len(paths)

    def column(values: list[Any], default: Any) -> list[Any]:
        return values if len(values) == n else [default] * n

    modes = column(_ints(headers, "filemodes"), 0)
    sizes = column(_ints(headers, "longfilesizes") or _ints(headers, "filesizes"), 0)
    links = column(_texts(headers, "filelinktos"), "")
    users = column(_texts(headers, "fileusername"), "root")
    groups = column(_texts(headers, "filegroupname"), "root")
    flags = column(_ints(headers, "fileflags"), 0)
    digests = column(_texts(headers, "filemd5s"), "")
    mtimes = column(_ints(headers, "filemtimes"), 0)
    columns = zip(paths, modes, sizes, links, users, groups, flags, digests, mtimes, strict=True)
    return tuple(FileEntry(*row) for row in columns)


# --- payload ----------------------------------------------------------------------------------


class PayloadError(Exception):
    """The payload is not the cpio stream its header promises."""


def _decompressor(fh: IO[bytes], compressor: str) -> IO[bytes]:
    if compressor == "zstd":
        return zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True)
    if compressor in ("xz", "lzma"):
        return lzma.LZMAFile(fh)
    if compressor == "bzip2":
        return bz2.BZ2File(fh)
    if compressor in ("gzip", ""):
        return gzip.GzipFile(fileobj=fh)
    if compressor in ("identity", "none"):
        return fh
    raise PayloadError(f"payload compressor {compressor!r} is not supported")


class _Stream:
    """Forward-only reads that count their position (cpio pads to multiples of 4)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.pos = raw, 0

    def read(self, n: int) -> bytes:
        parts, left = [], n
        while left > 0:
            chunk = self.raw.read(min(left, _CHUNK))
            if not chunk:
                break
            parts.append(chunk)
            left -= len(chunk)
        data = b"".join(parts)
        self.pos += len(data)
        return data

    def exact(self, n: int) -> bytes:
        data = self.read(n)
        if len(data) != n:
            raise PayloadError("payload ends in the middle of an entry")
        return data

    def skip(self, n: int) -> None:
        while n > 0:
            got = len(self.read(min(n, _CHUNK)))
            if not got:
                raise PayloadError("payload ends in the middle of an entry")
            n -= got

    def align(self) -> None:
        self.skip(-self.pos % 4)


_NEWC = struct.Struct("8s" * 13)  # after the 6-byte magic: ino ... check, ASCII hex


def _entries(stream: _Stream, files: tuple[FileEntry, ...]) -> Iterator[tuple[str, int]]:
    """(path, data size) of each cpio entry, the stream left at its data.

    Reads rpm's two payload formats: newc (magic 070701) and, for packages with files over
    4 GiB, the stripped form (07070X) whose entries carry only an index into the header.
    """
    while True:
        stream.align()
        magic = stream.exact(6)
        if magic in (b"070701", b"070702"):
            fields = [int(f, 16) for f in _NEWC.unpack(stream.exact(_NEWC.size))]
            size, namesize = fields[6], fields[11]
            name = stream.exact(namesize).rstrip(b"\0").decode("utf-8", "replace")
            stream.align()
            if name == "TRAILER!!!":
                return
            yield "/" + name.removeprefix("./").lstrip("/"), size
        elif magic == b"07070X":
            index = int(stream.exact(8), 16)
            stream.align()
            if index >= len(files):
                raise PayloadError(f"stripped cpio entry {index} is not in the header")
            entry = files[index]
            yield entry.path, entry.size if (entry.is_file or entry.is_link) else 0
        else:
            raise PayloadError(f"bad cpio magic {magic!r}")


def _is_shared_lib(entry: FileEntry) -> bool:
    return (
        entry.is_file
        and not entry.is_ghost
        and entry.size >= elfstack.HEADER_SIZE
        and bool(_SHARED_LIB.search(entry.path.rsplit("/", 1)[-1]))
    )


def _elf_heads(raw: IO[bytes], files: tuple[FileEntry, ...]) -> dict[str, bytes]:
    """The leading bytes of every shared library, stopping once the last one is read."""
    wanted = {f.path for f in files if _is_shared_lib(f)}
    heads: dict[str, bytes] = {}
    stream = _Stream(raw)
    for path, size in _entries(stream, files):
        if path in wanted and size:  # a hard link's data comes with its last name
            head = stream.exact(min(size, elfstack.HEADER_SIZE))
            need = min(elfstack.bytes_needed(head), size, _MAX_ELF_HEAD)
            if need > len(head):
                head += stream.exact(need - len(head))
            heads[path] = head
            size -= len(head)
            wanted.discard(path)
            if not wanted:
                break
        stream.skip(size)
    return heads


# --- packages ---------------------------------------------------------------------------------


def read_rpm(path: Path, label: str | None = None, payload: bool = True) -> RpmPackage:
    """One RPM file; InputError when it is not an RPM or its header is unreadable.

    `payload=False` reads the header only (no shared libraries' heads)."""
    try:
        with path.open("rb") as fh:
            if fh.read(4) != RPM_LEAD_MAGIC:
                raise InputError(path, "not an RPM package (no RPM lead)")
            fh.seek(0)
            try:
                rpm = rpmfile.RPMFile(fileobj=fh)
                headers, offset = rpm.headers, rpm.data_offset
            except (RPMError, AssertionError, struct.error, ValueError, IndexError) as err:
                detail = str(err) or type(err).__name__
                raise InputError(path, f"unreadable RPM header: {detail}") from err
            files = header_files(headers)
            heads: dict[str, bytes] = {}
            problem = ""
            is_source = headers.get("sourcerpm") is None
            if payload and not is_source and any(_is_shared_lib(f) for f in files):
                fh.seek(offset)
                try:
                    compressor = _text(headers.get("archive_compression"))
                    heads = _elf_heads(_decompressor(fh, compressor), files)
                except (PayloadError, OSError, EOFError, lzma.LZMAError, zstandard.ZstdError) as e:
                    problem = str(e) or type(e).__name__
    except OSError as err:
        raise InputError(path, f"cannot read: {err.strerror or err}") from err
    return RpmPackage(
        name=_text(headers.get("name")),
        version=_text(headers.get("version")),
        release=_text(headers.get("release")),
        arch=_text(headers.get("arch")) or "noarch",
        epoch=_ints(headers, "serial")[0] if headers.get("serial") is not None else 0,
        file=label or path.name,
        source=is_source,
        requires=_deps(headers, "require"),
        provides=_deps(headers, "provide"),
        conflicts=_deps(headers, "conflict"),
        obsoletes=_deps(headers, "obsolete"),
        files=files,
        elf_heads=heads,
        payload_error=problem,
        license=_text(headers.get("copyright")),
        summary=_text(headers.get("summary")),
        url=_text(headers.get("url")),
        vendor=_text(headers.get("vendor")),
        sourcerpm=_text(headers.get("sourcerpm")),
        buildtime=next(iter(_ints(headers, "buildtime")), 0),
        changelog_time=next(iter(_ints(headers, "changelogtime")), 0),
    )


def read_repository(folder: Path, payload: bool = True) -> list[RpmPackage]:
    """Every *.rpm under `folder` (repodata/ aside), sorted by file name.

    InputError when the folder is missing or holds no RPM at all, as `specgen build` would
    leave it before its first run.
    """
    if not folder.is_dir():
        raise InputError(folder, "no such folder (run specgen build, or name the repository)")
    rpms = sorted(
        p
        for p in folder.rglob("*.rpm")
        if p.is_file() and "repodata" not in p.relative_to(folder).parts
    )
    if not rpms:
        raise InputError(folder, "no *.rpm files in this folder")
    return [read_rpm(p, p.relative_to(folder).as_posix(), payload) for p in rpms]
