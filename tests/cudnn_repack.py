"""PyPI's nvidia-cudnn-cu12 wheel, fetched and repacked into NVIDIA's cuDNN redist archive layout.

The wheel carries the same cuDNN libraries as NVIDIA's redist archive, but laid out for Python:
only `lib*.so.9` files (no symlinks), headers under nvidia/cudnn/include, no static libraries.
`repack` turns it into cudnn-linux-x86_64-<ver>_cuda12-archive/ as specs/cudnn/cudnn.spec reads
it: lib/lib*.so.9.8.0 real files with .so.9 and .so links, include/cudnn*.h, LICENSE, and one
stand-in static library (see `_standin_static`).
"""

from __future__ import annotations

import base64
import dataclasses
import os
import socket
import struct
import subprocess
import sys
import tarfile
import time
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

CUDNN_VERSION = "9.8.0.87"
SHORT_VERSION = "9.8.0"  # the version in the redist archive's file names: libcudnn.so.9.8.0
MAJOR = "9"
WHEEL_REQ = f"nvidia-cudnn-cu12=={CUDNN_VERSION}"
WHEEL_PLATFORM = "manylinux_2_27_x86_64"
WHEEL_NAME = f"nvidia_cudnn_cu12-{CUDNN_VERSION}-py3-none-{WHEEL_PLATFORM}.whl"
# ../shared/nvidia-redist/SOURCES.md section 5 (PyPI's index; also computed after a download)
WHEEL_SHA256 = "d6b02cd0e3e24aa31d0193a8c39fec239354360d7d81055edddb69f35d53a4c8"
WHEEL_SIZE = 697999707
ARCHIVE_TOP = f"cudnn-linux-x86_64-{CUDNN_VERSION}_cuda12-archive"
DEFAULT_CACHE = Path(__file__).resolve().parent.parent / "sources" / "downloads"  # git-ignored
PYPI_HOSTS = ("pypi.org", "files.pythonhosted.org")
# pip's words for "no network" (urllib3/requests errors as pip prints them)
_NETWORK_ERRORS = (
    "NewConnectionError", "Temporary failure in name resolution", "Name or service not known",
    "Network is unreachable", "No route to host", "Connection refused", "ConnectTimeoutError",
    "ProxyError", "Max retries exceeded",
)  # fmt: skip


class WheelUnavailable(Exception):
    """The wheel is not cached and PyPI cannot be reached from this machine."""


@dataclasses.dataclass(frozen=True)
class Repacked:
    """The archive made by `repack`, and what went into it."""

    archive: Path
    libraries: dict[str, int]  # lib*.so.9.8.0 -> size in bytes
    record_sha256: dict[str, str]  # lib*.so.9.8.0 -> sha256 hex from the wheel's RECORD
    standin_static: str  # name of the stand-in static library (not from NVIDIA)


class XzStoreWriter:
    """A file object writing a valid .xz file whose data is stored, not compressed.

    xz at its fastest preset needs minutes for the 1 GB of libraries on a small build host; the
    spec only needs an archive that `tar -xf` reads, under NVIDIA's file name. This writes the
    .xz container (https://tukaani.org/xz/xz-file-format.txt) around LZMA2 *uncompressed* chunks:
    `xz -t`, `xz -d` and `tar -xf` read it like any other .xz, at disk speed.
    """

    CHUNK = 1 << 16  # the largest uncompressed LZMA2 chunk
    # Block header: size/4-1, flags (one filter, no sizes), LZMA2 (0x21) with a one-byte property
    # (dictionary 64 KiB: one chunk), padding to a multiple of four, then its CRC32.
    _BLOCK_HEADER = bytes([2, 0x00, 0x21, 0x01, 0x0A, 0, 0, 0])
    _FLAGS = b"\x00\x01"  # check: CRC32 of the uncompressed data

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._buf = bytearray()
        self._crc = 0
        self._size = 0  # uncompressed bytes
        self._packed = 0  # LZMA2 bytes
        self._first = True
        header = self._BLOCK_HEADER + struct.pack("<I", zlib.crc32(self._BLOCK_HEADER))
        out.write(b"\xfd7zXZ\x00" + self._FLAGS + struct.pack("<I", zlib.crc32(self._FLAGS)))
        out.write(header)

    def write(self, data: bytes) -> int:
        self._buf += data
        if len(self._buf) >= self.CHUNK:
            whole = len(self._buf) - len(self._buf) % self.CHUNK
            view = memoryview(self._buf)
            for at in range(0, whole, self.CHUNK):
                self._chunk(view[at : at + self.CHUNK])
            view.release()
            del self._buf[:whole]
        return len(data)

    def _chunk(self, data: memoryview | bytes) -> None:
        control = 0x01 if self._first else 0x02  # 0x01 resets the dictionary: the first only
        self._first = False
        self._out.write(bytes([control]) + struct.pack(">H", len(data) - 1))
        self._out.write(data)
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        self._packed += 3 + len(data)

    def close(self) -> None:
        """The last chunk, the end of the block, the index and the stream footer."""
        if self._buf:
            self._chunk(bytes(self._buf))
            self._buf.clear()
        self._out.write(b"\x00")  # end of LZMA2 data
        self._packed += 1
        self._out.write(b"\x00" * (-self._packed % 4) + struct.pack("<I", self._crc))
        unpadded = len(self._BLOCK_HEADER) + 4 + self._packed + 4
        index = b"\x00" + _varint(1) + _varint(unpadded) + _varint(self._size)
        index += b"\x00" * (-len(index) % 4)
        index += struct.pack("<I", zlib.crc32(index))
        backward = struct.pack("<I", len(index) // 4 - 1) + self._FLAGS
        self._out.write(index + struct.pack("<I", zlib.crc32(backward)) + backward + b"YZ")

    def __enter__(self) -> XzStoreWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()


def _varint(value: int) -> bytes:
    """xz's multibyte integer: seven bits a byte, low first."""
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def wheel_cache() -> Path:
    """Where the wheel is kept between runs: $SPECGEN_WHEEL_CACHE, else sources/downloads."""
    return Path(os.environ.get("SPECGEN_WHEEL_CACHE") or DEFAULT_CACHE)


def _reachable(host: str, timeout: float = 10.0) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def fetch_wheel(cache: Path) -> Path:
    """The wheel from the cache, else `pip download` into it. Does not check its hash.

    Raises WheelUnavailable when PyPI is unreachable, RuntimeError when pip fails otherwise.
    """
    wheel = cache / WHEEL_NAME
    if wheel.exists():
        return wheel
    unreachable = [h for h in PYPI_HOSTS if not _reachable(h)]
    if unreachable:
        raise WheelUnavailable(
            f"{WHEEL_NAME} is not in {cache} and {', '.join(unreachable)} cannot be reached "
            "(no network?): put the wheel there or set SPECGEN_WHEEL_CACHE"
        )
    cache.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "pip", "download", WHEEL_REQ, "--no-deps",
        "--only-binary", ":all:", "--platform", WHEEL_PLATFORM, "--no-cache-dir",
        "--disable-pip-version-check", "-d", str(cache),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        if any(word in output for word in _NETWORK_ERRORS):
            raise WheelUnavailable(f"pip download {WHEEL_REQ} failed for lack of network:\n"
                                   f"{output[-2000:]}")  # fmt: skip
        raise RuntimeError(f"pip download {WHEEL_REQ} failed:\n{output[-4000:]}")
    if not wheel.exists():
        raise RuntimeError(f"pip download did not produce {wheel}:\n{output[-4000:]}")
    return wheel


def _entry(name: str, kind: bytes, mode: int, mtime: float = 0, link: str = "",
           size: int = 0) -> tarfile.TarInfo:  # fmt: skip
    """A tar header owned by root, as NVIDIA's archives are."""
    entry = tarfile.TarInfo(name)
    entry.type, entry.mode, entry.mtime, entry.linkname, entry.size = kind, mode, mtime, link, size
    entry.uname = entry.gname = "root"
    return entry


def _mtime(info: zipfile.ZipInfo) -> float:
    return time.mktime((*info.date_time, 0, 0, -1))


def _as_root(entry: tarfile.TarInfo) -> tarfile.TarInfo:
    entry.uid = entry.gid = 0
    entry.uname = entry.gname = "root"
    return entry


def _add_member(tar: tarfile.TarFile, zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str,
                mode: int, mtime: float) -> None:  # fmt: skip
    """One zip member into the tar under name, streamed."""
    with zf.open(info) as src:
        tar.addfile(_entry(name, tarfile.REGTYPE, mode, mtime, size=info.file_size), src)


def _record_hashes(zf: zipfile.ZipFile) -> dict[str, str]:
    """member path -> sha256 hex, from the wheel's dist-info/RECORD."""
    record = next(n for n in zf.namelist() if n.endswith(".dist-info/RECORD"))
    out = {}
    for line in zf.read(record).decode().splitlines():
        path, digest, _ = line.rsplit(",", 2)
        if digest.startswith("sha256="):
            raw = base64.urlsafe_b64decode(digest.removeprefix("sha256=") + "==")
            out[path] = raw.hex()
    return out


def _standin_static(out: Path) -> None:
    """A small real static archive: a STAND-IN, not NVIDIA code.

    The wheel has no static libraries, but the spec's cudnn-static subpackage packs
    lib/libcudnn*_static*.a and rpmbuild fails on a %files glob that matches nothing. This one
    object file, named so that nobody takes it for cuDNN's, only keeps that subpackage buildable.
    """
    src = out.with_suffix(".c")
    obj = out.with_suffix(".o")
    src.write_text("/* stand-in for cuDNN's static libraries: not NVIDIA code */\n"
                   "int cudnn_repack_standin(void) { return 0; }\n")  # fmt: skip
    subprocess.run(["gcc", "-c", "-fPIC", "-O1", "-o", str(obj), str(src)], check=True)
    subprocess.run(["ar", "rcs", str(out), str(obj)], check=True)
    src.unlink()
    obj.unlink()


def repack(wheel: Path, work: Path, out_dir: Path) -> Repacked:
    """The wheel as out_dir/cudnn-linux-x86_64-<ver>_cuda12-archive.tar.xz; work is scratch.

    Members stream from the zip into the tar: nothing of the 1 GB is unpacked on disk.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = out_dir / f"{ARCHIVE_TOP}.tar.xz"
    standin = f"libcudnn_repack_standin_static_v{MAJOR}.a"
    work.mkdir(parents=True, exist_ok=True)
    _standin_static(work / standin)
    libraries: dict[str, int] = {}
    record_sha256: dict[str, str] = {}
    wanted = {f"{ARCHIVE_TOP}/LICENSE", f"{ARCHIVE_TOP}/include/cudnn.h",
              f"{ARCHIVE_TOP}/lib/libcudnn.so.{SHORT_VERSION}"}  # fmt: skip
    with (
        zipfile.ZipFile(wheel) as zf,
        archive.open("wb") as raw,
        XzStoreWriter(raw) as xz,
        tarfile.open(fileobj=xz, mode="w|", format=tarfile.GNU_FORMAT) as tar,
    ):
        hashes = _record_hashes(zf)
        stamp = _mtime(zf.infolist()[0])
        for folder in ("", "/include", "/lib"):
            tar.addfile(_entry(f"{ARCHIVE_TOP}{folder}", tarfile.DIRTYPE, 0o755, stamp))
        for info in zf.infolist():
            name = info.filename
            base = name.rsplit("/", 1)[-1]
            mtime = _mtime(info)
            if name.startswith("nvidia/cudnn/lib/") and base.endswith(f".so.{MAJOR}"):
                # The archive's layout: the real file carries the full version, the soname
                # (.so.9) and the development name (.so) are relative links to it.
                stem = base.removesuffix(f".so.{MAJOR}")
                full = f"{stem}.so.{SHORT_VERSION}"
                _add_member(tar, zf, info, f"{ARCHIVE_TOP}/lib/{full}", 0o755, mtime)
                tar.addfile(_entry(f"{ARCHIVE_TOP}/lib/{stem}.so.{MAJOR}", tarfile.SYMTYPE,
                                   0o777, mtime, link=full))  # fmt: skip
                tar.addfile(_entry(f"{ARCHIVE_TOP}/lib/{stem}.so", tarfile.SYMTYPE, 0o777,
                                   mtime, link=f"{stem}.so.{MAJOR}"))  # fmt: skip
                libraries[full] = info.file_size
                record_sha256[full] = hashes[name]
                wanted.discard(f"{ARCHIVE_TOP}/lib/{full}")
            elif name.startswith("nvidia/cudnn/include/") and base.endswith(".h"):
                _add_member(tar, zf, info, f"{ARCHIVE_TOP}/include/{base}", 0o644, mtime)
                wanted.discard(f"{ARCHIVE_TOP}/include/{base}")
            elif name.endswith(".dist-info/License.txt"):
                _add_member(tar, zf, info, f"{ARCHIVE_TOP}/LICENSE", 0o644, mtime)
                wanted.discard(f"{ARCHIVE_TOP}/LICENSE")
        if wanted:
            raise RuntimeError(f"{wheel.name}: nothing to make {sorted(wanted)} from")
        tar.add(work / standin, arcname=f"{ARCHIVE_TOP}/lib/{standin}", filter=_as_root)
    (work / standin).unlink()
    return Repacked(archive, libraries, record_sha256, standin)
