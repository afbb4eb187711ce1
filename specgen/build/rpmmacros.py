"""Run rpmspec/rpmbuild as Azure Linux 3.0 would: the shipped macro file loaded over the host's.

How the file is loaded, and why `--load FILE`:
- `--load FILE` (rpm 4.18 on Debian 12 and Azure Linux 3.0 both have it; `rpmspec --help` lists
  it) reads one macro file *after* the host's default files, so its values win over the
  platform file (Debian's sets `%_lib lib64`) while every other default stays. It survives
  `--target`, and multi-line definitions such as %cmake live in the file as in any macros.d
  file.
- `--macros FILE` replaces the whole default search path (`/usr/lib/rpm/macros`, the platform
  file, macros.d): on Debian 12 `rpm --macros FILE --eval %_topdir` prints `%_topdir`
  unexpanded, and %_rpmconfigdir and the build policy go too, unless every default path is
  repeated, and those paths differ between hosts.
- `--define` per value cannot carry the multi-line %cmake or systemd scriptlets cleanly and
  would move the values into code.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from specgen.errors import InputError, SpecgenError

MACRO_FILE = Path(str(resources.files("specgen").joinpath("data", "rpm", "macros.azl3")))
# What specgen's build adds on every host for reproducible RPMs (a fixed build host, build paths
# mapped away); the specs carry the rest.
REPRODUCIBLE_FILE = MACRO_FILE.with_name("macros.reproducible")


def macro_definitions(path: Path) -> list[tuple[str, str]]:
    """(name, body) of each `%name body` line of a values-only macro file, for `--define`."""
    out = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, body = line.partition(" ")
        if not name.startswith("%") or not body.strip() or line.endswith("\\"):
            raise InputError(path, f"line {number}: not a one-line `%name value` definition")
        out.append((name[1:], body.strip()))
    return out


def rpm_args(tool: str, *args: str) -> list[str]:
    """`tool --load <macros.azl3> args...`: an rpm, rpmspec or rpmbuild command line."""
    return [tool, "--load", str(MACRO_FILE), *args]


@dataclass(frozen=True)
class Parsed:
    """`rpmspec -P` output: the expanded spec when ok, else rpm's error text."""

    ok: bool
    stdout: str
    stderr: str


def rpmspec_parse(spec: Path, timeout: float = 60) -> Parsed:
    """Expand a spec with the Azure Linux macros; %{SOURCEn} point beside the spec.

    Raises SpecgenError when rpmspec is not installed (callers that can skip check first).
    """
    if shutil.which("rpmspec") is None:
        raise SpecgenError("rpmspec not found: install rpm (Debian: apt-get install rpm)")
    args = rpm_args("rpmspec", "--define", f"_sourcedir {spec.resolve().parent}", "-P", str(spec))
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    return Parsed(done.returncode == 0, done.stdout, done.stderr)


def _source_names(spec: Path) -> list[str]:
    """File names of every Source and Patch as rpm names them (after `#/` or the last `/`)."""
    qf = "[%{SOURCE}\\n][%{PATCH}\\n]"
    args = rpm_args("rpmspec", "-q", "--srpm", "--qf", qf, str(spec))
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise InputError(spec, f"rpmspec -q failed: {_last_error(done.stderr)}")
    return [n for n in done.stdout.splitlines() if n and n != "(none)"]


def _last_error(stderr: str) -> str:
    lines = [t.strip() for t in stderr.splitlines() if t.strip()]
    return next((t for t in lines if t.startswith("error:")), lines[-1] if lines else "no output")


_TAR_MODES = {".tar.gz": "w:gz", ".tgz": "w:gz", ".tar.bz2": "w:bz2", ".tar.xz": "w:xz"}


def _placeholder(path: Path) -> None:
    """A stand-in for a Source not at hand: an empty tarball, or a line of text.

    Not empty: rpm refuses files under 13 bytes when it checks a Patch's compression, and
    rpmlint warns when a .tar.gz is not gzip.
    """
    mode = next((m for ext, m in _TAR_MODES.items() if path.name.endswith(ext)), None)
    if mode is None:
        path.write_text(f"specgen placeholder for {path.name}: not downloaded\n")
    else:
        with tarfile.open(path, mode):
            pass


def build_srpm(spec: Path, outdir: Path) -> Path:
    """`rpmbuild -bs --nodeps` into outdir; for lint and tests only, never for release.

    Sources beside the spec are used as they are; any other Source or Patch gets a
    placeholder, so the SRPM shows the spec's headers but is not a buildable source package.
    """
    if shutil.which("rpmbuild") is None:
        raise SpecgenError("rpmbuild not found: install rpm (Debian) or rpm-build")
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="specgen-srpm-") as tmp:
        top, sources = Path(tmp), Path(tmp) / "SOURCES"
        sources.mkdir()
        for name in _source_names(spec):
            beside = spec.parent / name
            if beside.is_file():
                shutil.copyfile(beside, sources / name)
            else:
                _placeholder(sources / name)
        args = rpm_args(
            "rpmbuild",
            "--define", f"_topdir {top}",
            "--define", f"_sourcedir {sources}",
            "--define", f"_srcrpmdir {outdir.resolve()}",
            "-bs", "--nodeps", "--quiet", str(spec),
        )  # fmt: skip
        done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise InputError(spec, f"rpmbuild -bs failed: {_last_error(done.stderr)}")
    wrote = [t.split(":", 1)[1].strip() for t in done.stdout.splitlines() if t.startswith("Wrote:")]
    if wrote:
        return Path(wrote[-1])
    found = sorted(outdir.glob("*.src.rpm"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise InputError(spec, "rpmbuild -bs wrote no .src.rpm")
    return found[-1]
