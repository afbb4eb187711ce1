"""The local RPM repository builds feed: RPM files plus createrepo_c metadata.

Metadata is regenerated into a scratch folder and swapped in by renames, so a reader (the next
build's dependency install, tdnf on a client) sees the old repodata or the new one, never a
half-written one. A run killed between copying RPMs and the swap leaves metadata that the
next run's `refresh` rewrites from the files present.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from specgen.errors import SpecgenError

# Beside the metadata: the RPMs it was made from (createrepo_c ignores unknown files there).
FINGERPRINT = "specgen-fingerprint.json"


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

    def fingerprint(self) -> list[list[object]]:
        """(path, size, mtime) of every binary RPM: what the metadata was made from."""
        rpms = sorted(p for p in self.root.glob("*/*.rpm") if p.parent.name != "SRPMS")
        return [[self.relative(p), p.stat().st_size, p.stat().st_mtime_ns] for p in rpms]

    def refresh(self) -> None:
        """Regenerate repodata for the binary RPMs present and swap it in.

        Skipped when the RPMs are those the current metadata was made from; otherwise
        createrepo_c --update reuses the entries of unchanged RPMs (a rebuilt RPM always has a
        new mtime: `add` copies, then renames), falling back to a full run.
        """
        exe = shutil.which("createrepo_c")
        if exe is None:
            raise SpecgenError(
                "createrepo_c is not on PATH (install createrepo_c: `tdnf install createrepo_c` "
                "or `apt-get install createrepo-c`)"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        current = self.root / "repodata"
        fingerprint = self.fingerprint()
        stamp = current / FINGERPRINT
        if (current / "repomd.xml").exists() and stamp.exists():
            try:
                if json.loads(stamp.read_text()) == fingerprint:
                    return
            except (OSError, ValueError):
                pass
        scratch = Path(tempfile.mkdtemp(prefix=".repodata-", dir=self.root))
        try:
            base = [exe, "--quiet", "--no-database", "--excludes", "SRPMS/*",
                    "--outputdir", str(scratch)]  # fmt: skip
            update = ["--update", "--update-md-path", str(self.root)] if current.exists() else []
            proc = _run([*base, *update, str(self.root)])
            if proc.returncode != 0 and update:
                shutil.rmtree(scratch / "repodata", ignore_errors=True)
                proc = _run([*base, str(self.root)])
            if proc.returncode != 0:
                detail = (proc.stderr.strip().splitlines() or ["no message"])[-1]
                raise SpecgenError(f"createrepo_c failed on {self.root}: {detail}")
            (scratch / "repodata" / FINGERPRINT).write_text(json.dumps(fingerprint))
            old = self.root / ".repodata.old"
            shutil.rmtree(old, ignore_errors=True)
            if current.exists():
                current.rename(old)
            (scratch / "repodata").rename(current)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False)
