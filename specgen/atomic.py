"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from specgen.errors import SpecgenError


def write_atomic(path: str | Path, data: bytes | str) -> None:
    """Write through a temporary file in the same folder and rename: no half-written file."""
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise SpecgenError(f"cannot write {path}: {err}") from err
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise SpecgenError(f"cannot write {path}: {err}") from err
