"""sha256 of files in chunks: archives of several GB cost no memory."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20


def file_facts(path: Path) -> tuple[int, str]:
    """Size and sha256 of a file."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
