"""Running one package build: rpmbuild on the host, or mock in a clean Azure Linux chroot.

Both take a staged SOURCES folder and return the RPMs they produced; neither decides what to
build (build.py does). rpmbuild on a host that is not Azure Linux loads specgen's Azure Linux
macro file so files land where Azure Linux puts them; both backends add the reproducibility
macros (data/rpm/macros.reproducible: a fixed build host, the build tree mapped away). The network
is cut for the build itself (`unshare -n` as root; mock builds without network by default).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from specgen.build.rpmmacros import MACRO_FILE, REPRODUCIBLE_FILE, macro_definitions
from specgen.errors import SpecgenError


@dataclass(frozen=True)
class BuildJob:
    """One spec to build, its staged SOURCES and its private rpmbuild top folder."""

    name: str
    spec: Path
    sources: Path
    topdir: Path
    log: Path
    defines: tuple[tuple[str, str], ...] = ()
    switches: tuple[str, ...] = ()  # --with X / --without X


@dataclass(frozen=True)
class Backend:
    """How to build: `rpmbuild` (host) or `mock`; options that apply to every job."""

    kind: str = "rpmbuild"
    azure_macros: bool = True
    nodeps: bool = False
    isolate_network: bool = True
    mock_config: Path | None = None
    local_repo: Path | None = None

    def build(self, job: BuildJob) -> list[Path]:
        """Build the job; its binary and source RPMs. Raises SpecgenError naming the log."""
        job.topdir.mkdir(parents=True, exist_ok=True)
        if self.kind == "rpmbuild":
            # Binary RPMs only: a source RPM carries the Sources of every arch (TensorRT's are
            # GBs each), which a host downloads only for itself.
            self._run(job, self._rpmbuild(job, "-bb"))
            return sorted(job.topdir.glob("RPMS/*/*.rpm"))
        if self.kind == "mock":
            # mock rebuilds a source RPM, which needs the Sources of every arch.
            self._run(job, self._rpmbuild(job, "-bs"), isolate=False)
            srpm = next(iter(sorted(job.topdir.glob("SRPMS/*.src.rpm"))), None)
            if srpm is None:
                raise SpecgenError(f"{job.name}: rpmbuild -bs made no source RPM (log: {job.log})")
            result = job.topdir / "mock-result"
            self._run(job, self._mock(job, srpm, result), isolate=False)
            return sorted(p for p in result.glob("*.rpm"))
        raise SpecgenError(f"unknown build backend {self.kind!r} (use rpmbuild or mock)")

    def _rpmbuild(self, job: BuildJob, mode: str) -> list[str]:
        cmd = ["rpmbuild", mode]
        if self.azure_macros:
            cmd += ["--load", str(MACRO_FILE)]
        cmd += ["--load", str(REPRODUCIBLE_FILE)]
        cmd += [
            "--define", f"_topdir {job.topdir}",
            "--define", f"_sourcedir {job.sources}",
        ]  # fmt: skip
        for name, value in job.defines:
            cmd += ["--define", f"{name} {value}"]
        for switch in job.switches:
            cmd += switch.split(" ", 1)
        if self.nodeps:
            cmd.append("--nodeps")
        return [*cmd, str(job.spec)]

    def _mock(self, job: BuildJob, srpm: Path, result: Path) -> list[str]:
        if self.mock_config is None:
            raise SpecgenError("the mock backend needs a config (mock-configs/)")
        cmd = ["mock", "-r", str(self.mock_config), "--resultdir", str(result)]
        if self.local_repo is not None:
            cmd.append(f"--addrepo=file://{self.local_repo.resolve()}")
        for name, value in [*macro_definitions(REPRODUCIBLE_FILE), *job.defines]:
            cmd += ["--define", f"{name} {value}"]
        for switch in job.switches:
            cmd += switch.split(" ", 1)
        return [*cmd, "--rebuild", str(srpm)]

    def _run(self, job: BuildJob, cmd: list[str], isolate: bool = True) -> None:
        if shutil.which(cmd[0]) is None:
            raise SpecgenError(f"{cmd[0]} is not on PATH (needed by the {self.kind} backend)")
        if isolate and self.isolate_network and _can_unshare():
            cmd = ["unshare", "-n", *cmd]
        job.log.parent.mkdir(parents=True, exist_ok=True)
        with job.log.open("a", encoding="utf-8") as log:
            log.write("$ " + shlex.join(cmd) + "\n")  # quoted: the line can be re-run
            log.flush()
            proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False)
        if proc.returncode != 0:
            raise SpecgenError(
                f"{job.name}: {cmd[0] if cmd[0] != 'unshare' else cmd[2]} failed "
                f"(exit {proc.returncode}); last lines in {job.log}: {_tail(job.log)}"
            )


def _can_unshare() -> bool:
    """`unshare -n` needs root (or user namespaces); used only where it works."""
    return os.geteuid() == 0 and shutil.which("unshare") is not None


# rpmbuild ends a failed build with a summary that only repeats its own last error line.
_RPM_SUMMARY = "RPM build errors:"


def _tail(log: Path) -> str:
    """The last lines before rpmbuild's summary: the failing command's own words, then
    rpmbuild's `error: Bad exit status from ... (%section)`."""
    text = log.read_text(errors="replace")
    if _RPM_SUMMARY in text:
        text = text[: text.rindex(_RPM_SUMMARY)]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return " | ".join(lines[-3:])[-400:]
