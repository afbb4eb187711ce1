"""The files of a .deb (an `ar` archive holding data.tar.*), read without dpkg and without
loading the package into memory (Debian's CUDA packages are about 1 GB)."""

from __future__ import annotations

import contextlib
import io
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from specgen.errors import SpecgenError

_DATA = ("data.tar.xz", "data.tar.gz", "data.tar.zst", "data.tar")


class _Slice(io.RawIOBase):
    """A read-only, seekable window [start, start + size) of a file."""

    def __init__(self, raw: BinaryIO, start: int, size: int) -> None:
        self._raw, self._start, self._size, self._at = raw, start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._at

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._at, io.SEEK_END: self._size}[whence]
        self._at = min(max(base + offset, 0), self._size)
        return self._at

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self._size - self._at)
        if want <= 0:
            return 0
        self._raw.seek(self._start + self._at)
        data = self._raw.read(want)
        buffer[: len(data)] = data
        self._at += len(data)
        return len(data)


def _data_member(raw: BinaryIO, name: str) -> tuple[str, int, int]:
    """The data.tar member's name, offset and size."""
    if raw.read(8) != b"!<arch>\n":
        raise SpecgenError(f"{name}: not a .deb (no ar magic)")
    while header := raw.read(60):
        if len(header) < 60:
            break
        member = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        if member in _DATA:
            if member.endswith(".zst"):
                raise SpecgenError(f"{name}: data.tar.zst is not supported")
            return member, raw.tell(), size
        raw.seek(size + (size & 1), io.SEEK_CUR)
    raise SpecgenError(f"{name}: no data.tar.xz, data.tar.gz or data.tar member")


@contextlib.contextmanager
def deb_data(path: Path) -> Iterator[tarfile.TarFile]:
    """The package's data.tar, opened for random access (fine for small packages)."""
    with path.open("rb") as raw:
        _, start, size = _data_member(raw, path.name)
        with tarfile.open(fileobj=io.BufferedReader(_Slice(raw, start, size)), mode="r:*") as tar:
            yield tar


def deb_extract(path: Path, wanted: dict[str, Path]) -> None:
    """Copy the named members (as dpkg-deb -c lists them: ./usr/...) to their targets in one
    pass over the package; a member that is not there is an error naming it."""
    left = dict(wanted)
    with path.open("rb") as raw:
        member, start, size = _data_member(raw, path.name)
        mode = "r|gz" if member.endswith(".gz") else "r|xz" if member.endswith(".xz") else "r|"
        stream = io.BufferedReader(_Slice(raw, start, size), 1 << 20)
        with tarfile.open(fileobj=stream, mode=mode) as tar:
            for info in tar:
                target = left.pop(info.name, None)
                if target is None:
                    continue
                if not info.isfile():
                    raise SpecgenError(f"{path.name}: {info.name} is not a regular file")
                source = tar.extractfile(info)
                assert source is not None
                target.parent.mkdir(parents=True, exist_ok=True)
                with target.open("wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
                target.chmod(0o755 if info.mode & 0o111 else 0o644)
                if not left:
                    break
    if left:
        raise SpecgenError(f"{path.name}: no {', '.join(sorted(left))}")
