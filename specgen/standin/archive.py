"""Archives in a vendor's layout, written member by member: one top folder, every member owned
by root, nothing unpacked on disk on the way, and the same bytes on every run (times come from
the inputs, gzip carries no time stamp)."""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import tarfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from specgen.errors import SpecgenError
from specgen.standin.xzstore import XzStoreWriter

CHUNK = 1 << 20


class VendorTar:
    """A tar under `top/`: folders, files from streams, and relative symbolic links."""

    def __init__(self, tar: tarfile.TarFile, top: str, mtime: float) -> None:
        self._tar = tar
        self.top = top
        self.mtime = mtime
        self._folders: set[str] = set()
        self.folder("")

    def _info(
        self, rel: str, kind: bytes, mode: int, size: int = 0, link: str = ""
    ) -> tarfile.TarInfo:
        info = tarfile.TarInfo(f"{self.top}/{rel}".rstrip("/"))
        info.type, info.mode, info.size, info.linkname = kind, mode, size, link
        info.mtime = int(self.mtime)
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    def folder(self, rel: str) -> None:
        """The folder and its parents, each once."""
        parts = [p for p in rel.split("/") if p]
        for depth in range(len(parts) + 1):
            path = "/".join(parts[:depth])
            if path not in self._folders:
                self._folders.add(path)
                self._tar.addfile(self._info(path, tarfile.DIRTYPE, 0o755))

    def stream(self, rel: str, source: BinaryIO, size: int, mode: int = 0o644) -> None:
        self.folder(rel.rpartition("/")[0])
        self._tar.addfile(self._info(rel, tarfile.REGTYPE, mode, size), source)

    def data(self, rel: str, data: bytes, mode: int = 0o644) -> None:
        import io

        self.stream(rel, io.BytesIO(data), len(data), mode)

    def file(self, rel: str, path: Path, mode: int = 0o644) -> None:
        with path.open("rb") as fh:
            self.stream(rel, fh, path.stat().st_size, mode)

    def link(self, rel: str, target: str) -> None:
        self.folder(rel.rpartition("/")[0])
        self._tar.addfile(self._info(rel, tarfile.SYMTYPE, 0o777, link=target))


@contextlib.contextmanager
def vendor_tar(out: Path, top: str, mtime: float) -> Iterator[VendorTar]:
    """`out` as .tar.xz (stored, see xzstore) or .tgz/.tar.gz (gzip -1), written atomically."""
    part = out.with_name(out.name + ".part")
    out.parent.mkdir(parents=True, exist_ok=True)
    with part.open("wb") as raw:
        packer: contextlib.AbstractContextManager[BinaryIO]
        if out.name.endswith(".tar.xz"):
            packer = XzStoreWriter(raw)  # type: ignore[assignment]
        elif out.name.endswith((".tgz", ".tar.gz")):
            packer = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0)  # type: ignore[assignment]
        else:
            raise SpecgenError(f"{out.name}: no way to pack this kind of archive")
        with (
            packer as packed,
            tarfile.open(fileobj=packed, mode="w|", format=tarfile.GNU_FORMAT) as tar,
        ):
            yield VendorTar(tar, top, mtime)
    part.replace(out)


class Wheel:
    """A wheel's members, each checked against the sha256 in its RECORD as it is read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip = zipfile.ZipFile(path)
        self.record = self._record()

    def _record(self) -> dict[str, str]:
        names = [n for n in self.zip.namelist() if n.endswith(".dist-info/RECORD")]
        if len(names) != 1:
            raise SpecgenError(f"{self.path.name}: not a wheel (no single dist-info/RECORD)")
        out = {}
        for line in self.zip.read(names[0]).decode().splitlines():
            path, digest, _ = line.rsplit(",", 2)
            if digest.startswith("sha256="):
                out[path] = base64.urlsafe_b64decode(digest.removeprefix("sha256=") + "==").hex()
        return out

    def members(self, prefix: str) -> list[zipfile.ZipInfo]:
        return [i for i in self.zip.infolist() if i.filename.startswith(prefix) and not i.is_dir()]

    def find(self, suffix: str) -> zipfile.ZipInfo:
        found = [i for i in self.zip.infolist() if i.filename.endswith(suffix)]
        if len(found) != 1:
            raise SpecgenError(f"{self.path.name}: {len(found)} members end with {suffix}")
        return found[0]

    def mtime(self, info: zipfile.ZipInfo) -> float:
        return time.mktime((*info.date_time, 0, 0, -1))

    def copy_to(self, out: VendorTar, info: zipfile.ZipInfo, rel: str, mode: int = 0o644) -> str:
        """One member into the archive under rel, checked against RECORD; its sha256."""
        digest = hashlib.sha256()
        with self.zip.open(info) as src:
            out.stream(rel, _Tee(src, digest), info.file_size, mode)
        sha = digest.hexdigest()
        want = self.record.get(info.filename)
        if want is not None and want != sha:
            raise SpecgenError(f"{self.path.name}: {info.filename} differs from its RECORD")
        return sha

    def read(self, info: zipfile.ZipInfo) -> bytes:
        data = self.zip.read(info)
        want = self.record.get(info.filename)
        if want is not None and hashlib.sha256(data).hexdigest() != want:
            raise SpecgenError(f"{self.path.name}: {info.filename} differs from its RECORD")
        return data


class _Tee:
    """A reader that hashes what passes through it."""

    def __init__(self, source: BinaryIO, digest: hashlib._Hash) -> None:
        self._source = source
        self._digest = digest

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        self._digest.update(data)
        return data
