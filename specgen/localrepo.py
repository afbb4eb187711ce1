"""The local RPM repository builds feed: RPM files plus createrepo_c metadata.

Metadata is regenerated into a scratch folder and swapped in by renames, so a reader (the next
build's dependency install, tdnf on a client) sees the old repodata or the new one, never a
half-written one. A run killed between copying RPMs and the swap leaves metadata that the
next run's `refresh` rewrites from the files present.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from specgen.errors import SpecgenError


class LocalRepo:
    """A folder of binary RPMs (`<root>/<arch>/`), source RPMs (`<root>/SRPMS/`) and repodata."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder_for(self, rpm: Path) -> Path:
        arch = rpm.name.rsplit(".", 2)[-2]
        return self.root / ("SRPMS" if arch == "src" else arch)

    def add(self, rpms: list[Path]) -> list[Path]:
        """Copy RPMs in (atomically each: copy beside, then rename); their paths in the repo."""
        placed = []
        for rpm in rpms:
            folder = self.folder_for(rpm)
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / rpm.name
            tmp = folder / f".{rpm.name}.tmp"
            shutil.copyfile(rpm, tmp)
            tmp.replace(target)
            placed.append(target)
        return placed

    def remove(self, relative: list[str]) -> None:
        """Drop RPMs a package no longer produces (an older version, a dropped subpackage)."""
        for rel in relative:
            (self.root / rel).unlink(missing_ok=True)

    def relative(self, path: Path) -> str:
        return str(path.relative_to(self.root))

    def refresh(self) -> None:
        """Regenerate repodata for the binary RPMs present and swap it in."""
        exe = shutil.which("createrepo_c")
        if exe is None:
            raise SpecgenError(
                "createrepo_c is not on PATH (install createrepo_c: `tdnf install createrepo_c` "
                "or `apt-get install createrepo-c`)"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".repodata-", dir=self.root))
        try:
            proc = subprocess.run(
                [exe, "--quiet", "--no-database", "--excludes", "SRPMS/*",
                 "--outputdir", str(scratch), str(self.root)],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if proc.returncode != 0:
                detail = (proc.stderr.strip().splitlines() or ["no message"])[-1]
                raise SpecgenError(f"createrepo_c failed on {self.root}: {detail}")
            current, old = self.root / "repodata", self.root / ".repodata.old"
            shutil.rmtree(old, ignore_errors=True)
            if current.exists():
                current.rename(old)
            (scratch / "repodata").rename(current)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
