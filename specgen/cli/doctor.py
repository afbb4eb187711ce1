"""`specgen doctor`: can this host build the release? Every failure comes with its fix."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from specgen.errors import SpecgenError
from specgen.generate.lock import DEFAULT_LOCK, SourceLock, read_lock
from specgen.generate.release import DEFAULT_RELEASE, load_release, parse_fact_overrides
from specgen.host import doctor
from specgen.host import facts as hostfacts
from specgen.host import needs as hostneeds

DEFAULT_BUILD_DIR = Path("build")
DEFAULT_SOURCES_DIR = Path("sources/downloads")  # `specgen sources --dest`'s default
# Where the build downloads from even before a lock exists: NVIDIA's archives and CUDA
# repository, GitHub release tarballs, Azure Linux's packages. The lock's own hosts are added.
SOURCE_HOSTS = (
    "developer.download.nvidia.com",
    "developer.nvidia.com",
    "github.com",
    "packages.microsoft.com",
)
_STYLE = {"ok": "green", "warning": "yellow", "error": "bold red", "skipped": "dim"}


def _lock(path: Path, release: str) -> tuple[SourceLock | None, str]:
    """The lock when it is this release's, else None and why (doctor reports, never fails)."""
    if not path.is_file():
        return None, f"no source lock at {path}"
    try:
        lock = read_lock(path)
    except SpecgenError as err:
        return None, f"unreadable source lock ({err})"
    if lock.release != release:
        return None, f"{path} is for {lock.release or 'no release'}, not {release}"
    return lock, ""


def _hosts(lock: SourceLock | None) -> list[str]:
    from_lock = {urlsplit(s.url).hostname or "" for s in lock.sources} if lock else set()
    return sorted({*SOURCE_HOSTS, *from_lock} - {""})


def _table(findings: list[doctor.Finding], release: str) -> Table:
    table = Table(title=f"specgen doctor: Triton {release}", title_justify="left")
    table.add_column("check", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("detail", overflow="fold")
    table.add_column("fix", overflow="fold")
    for f in findings:
        style = _STYLE.get(f.status, "")
        table.add_row(f.check, Text(f.status, style=style), Text(f.detail), Text(f.fix))
    return table


def _summary(findings: list[doctor.Finding]) -> str:
    counts = Counter(f.status for f in findings)
    parts = ", ".join(f"{counts[s]} {s}" for s in ("ok", "warning", "error", "skipped"))
    verdict = "the build is blocked" if counts["error"] else "nothing blocks the build"
    return f"{parts}: {verdict}"


@click.command("doctor")
@click.option("--release", default=DEFAULT_RELEASE, show_default=True, help="Triton release.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--offline", is_flag=True, help="Do not check that the source hosts answer.")
@click.option(
    "--build-dir",
    type=click.Path(file_okay=False),
    default=str(DEFAULT_BUILD_DIR),
    show_default=True,
    help="Where the build will run (need not exist yet).",
)
@click.option(
    "--sources-dir",
    type=click.Path(file_okay=False),
    default=str(DEFAULT_SOURCES_DIR),
    show_default=True,
    help="Where the sources are downloaded (`specgen sources --dest`).",
)
@click.option(
    "--lock",
    "lock_path",
    type=click.Path(dir_okay=False),
    default=str(DEFAULT_LOCK),
    show_default=True,
    help="The release's source lock, for the sizes of its sources.",
)
@click.option(
    "--fact", "fact_overrides", multiple=True, metavar="NAME=VERSION",
    help="Override a release fact, as `specgen generate --fact` does (e.g. cuda=13.0.2).",
)
@click.option("--os-release", default="/etc/os-release", hidden=True)  # tests point it elsewhere
def doctor_command(
    release: str,
    fmt: str,
    offline: bool,
    build_dir: str,
    sources_dir: str,
    lock_path: str,
    fact_overrides: tuple[str, ...],
    os_release: str,
) -> None:
    """Check that this host can build the release: OS, arch, disk, memory, GPU and driver, CUDA
    toolkit, rpm tools, and the source hosts. Each failure names its fix.

    Exit 1 when an error blocks the build; warnings (slower, CPU-only, or less checked builds)
    leave it 0.
    """
    facts = load_release(release, parse_fact_overrides(fact_overrides))
    lock, why = _lock(Path(lock_path), facts.name)
    hosts = _hosts(lock)
    host = hostfacts.gather(
        Path(build_dir), Path(sources_dir), None if offline else hosts, Path(os_release)
    )
    estimates = hostneeds.load_estimates()
    arch = doctor.host_arch(host.machine) or "x86_64"
    needs = hostneeds.plan_needs(lock, estimates, arch, host.downloaded, why)
    findings = doctor.diagnose(host, facts.cuda, needs, estimates, hostneeds.load_drivers(), hosts)
    if fmt == "json":
        body = {
            "release": facts.name,
            "cuda": facts.cuda,
            "exit_code": doctor.exit_code(findings),
            "findings": [f.to_dict() for f in findings],
        }
        click.echo(json.dumps(body, indent=2, sort_keys=True))
    else:
        console = Console(width=None if sys.stdout.isatty() else 160)
        console.print(_table(findings, facts.name))
        console.print(_summary(findings))
    sys.exit(doctor.exit_code(findings))
