"""Build the same specs twice, in unrelated folders and a clock second apart, for tests that
check RPMs are reproducible (the small packages here; Triton's CI build can call it too)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path

from click.testing import CliRunner

from specgen.cli.main import main


def build(specs: Path, workdir: Path, *only: str, extra: Sequence[str] = ()) -> dict[str, str]:
    """`specgen build` into workdir/repo (--nodeps, this machine's arch, `extra` options); every
    RPM's file name and sha256."""
    repo = workdir / "repo"
    args = ["build", "--specs", str(specs), "--repo", str(repo), "--workdir", str(workdir),
            "--nodeps", "--no-space-check", *extra]  # fmt: skip
    for name in only:
        args += ["--only", name]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in repo.rglob("*.rpm")}


def build_twice(
    specs: Path, tmp_path: Path, *only: str, extra: Sequence[str] = ()
) -> tuple[dict[str, str], dict[str, str]]:
    """Two builds in unrelated folders (of different lengths, too), the clock a second apart:
    what each made, by file name and sha256. Reproducible RPMs: the two are equal."""
    first = build(specs, tmp_path / "a", *only, extra=extra)
    time.sleep(1.1)  # rpm's build time and file mtimes have one-second resolution
    second = build(specs, tmp_path / "elsewhere" / "second-build", *only, extra=extra)
    return first, second
