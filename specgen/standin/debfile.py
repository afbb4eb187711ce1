"""The files of a .deb (an `ar` archive holding data.tar.*), read without dpkg."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from specgen.errors import SpecgenError


def deb_data(path: Path) -> tarfile.TarFile:
    """The package's data.tar (xz, gz or uncompressed), opened for reading."""
    raw = path.read_bytes()
    if not raw.startswith(b"!<arch>\n"):
        raise SpecgenError(f"{path.name}: not a .deb (no ar magic)")
    at = 8
    while at + 60 <= len(raw):
        header = raw[at : at + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        body = raw[at + 60 : at + 60 + size]
        if name in ("data.tar.xz", "data.tar.gz", "data.tar"):
            return tarfile.open(fileobj=io.BytesIO(body), mode="r:*")
        at += 60 + size + (size & 1)
    raise SpecgenError(f"{path.name}: no data.tar.xz, data.tar.gz or data.tar member")
