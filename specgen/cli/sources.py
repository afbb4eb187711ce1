"""`specgen sources`: download and verify the source lock's files, or refresh its pins."""

from __future__ import annotations

import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from specgen import __version__
from specgen.errors import SpecgenError
from specgen.generate.lock import DEFAULT_LOCK
from specgen.generate.redist import REDIST_ROOT

if TYPE_CHECKING:  # requests and rich.progress load only when the command runs
    import requests

    from specgen.sources.download import Outcome, PinRefresh, ProgressHook

DEFAULT_DEST = Path("sources/downloads")
# Retry policy; a module constant so tests can make retries instant.
RETRIES = 3
BACKOFF_S = 0.5
_HOST_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}


def host_arch() -> str:
    """The RPM arch of this machine (macOS and Windows say arm64/AMD64 for the same chips)."""
    machine = platform.machine()
    try:
        return _HOST_ARCH[machine.lower()]
    except KeyError:
        raise SpecgenError(
            f"no RPM arch for this machine ({machine!r}): pass --arch x86_64, aarch64 or all"
        ) from None


def _session() -> requests.Session:
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = f"specgen/{__version__} (source downloader)"
    return session


def _console() -> Console:
    """stdout; wide when piped so a test or a log never sees a file name folded in two."""
    return Console(width=None if sys.stdout.isatty() else 160)


@contextmanager
def _progress() -> Iterator[ProgressHook]:
    """A rich bar per file on a terminal's stderr; nothing at all when stderr is not one."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    bars = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not sys.stderr.isatty(),
    )
    tasks: dict[str, TaskID] = {}

    def hook(file: str, done: int, total: int | None) -> None:
        if file not in tasks:
            tasks[file] = bars.add_task(file, total=total)
        bars.update(tasks[file], completed=done, total=total)

    with bars:
        yield hook


def _size(n: int | None) -> str:
    return "?" if n is None else f"{n:,}"


def _summary(outcomes: list[Outcome]) -> Table:
    table = Table(title="sources", title_justify="left")
    table.add_column("file", no_wrap=True)
    table.add_column("size", justify="right")
    table.add_column("status")
    for o in outcomes:
        status = o.status + (f" ({o.note})" if o.note else "")
        table.add_row(o.source.file, _size(o.size if o.size is not None else o.source.size), status)
    return table


def _report_refresh(result: PinRefresh, lock: Path) -> None:
    """One line per changed pin: two 64-digit hashes overflow any table a terminal can show."""
    if result.changed:
        click.echo(f"{len(result.changed)} pin(s) changed in {lock}:")
        for c in result.changed:
            click.echo(
                f"  {c.file}: sha256 {c.old_sha256 or 'unpinned'} -> {c.new_sha256}; "
                f"size {_size(c.old_size)} -> {_size(c.new_size)}"
            )
    else:
        click.echo(f"no pin changed; {lock} left as is")
    for file, why in result.kept:
        click.echo(f"{file}: {why}")


@click.command("sources")
@click.option(
    "--lock",
    "lock_path",
    type=click.Path(dir_okay=False),
    default=str(DEFAULT_LOCK),
    show_default=True,
    help="The source lock to download.",
)
@click.option(
    "--dest",
    type=click.Path(file_okay=False),
    default=str(DEFAULT_DEST),
    show_default=True,
    help="Folder for the downloads (partial ones wait there as <file>.part).",
)
@click.option(
    "--arch",
    type=click.Choice(["x86_64", "aarch64", "all"]),
    default=None,
    help="Download the sources of this arch (default: this machine's); arch-free ones always.",
)
@click.option(
    "--only",
    multiple=True,
    metavar="PKG",
    help="Only the sources of this package; repeatable.",
)
@click.option(
    "--allow-unpinned",
    is_flag=True,
    help="Download sources the lock has no sha256 for, and print the hash computed.",
)
@click.option(
    "--lock-overlay",
    "overlay_path",
    type=click.Path(dir_okay=False),
    help="Local files standing in for some Sources, each with its own pin: checked where they "
    "are instead of downloaded, and reported (docs/lock-overlay.md).",
)
@click.option(
    "--update",
    is_flag=True,
    help="Refresh the lock's pins from NVIDIA's live manifests instead of downloading.",
)
@click.option("--manifest-base", default=REDIST_ROOT, hidden=True)
def sources_command(
    lock_path: str,
    dest: str,
    arch: str | None,
    only: tuple[str, ...],
    allow_unpinned: bool,
    overlay_path: str | None,
    update: bool,
    manifest_base: str,
) -> None:
    """Download every Source of the lock into DEST and verify its size and sha256.

    Interrupted downloads resume; a file that does not match its pin is deleted and the
    command fails (exit 2). Exit 1 when an unpinned Source was refused (pass --allow-unpinned).
    With --update, rewrite the pins of manifest-pinned Sources from NVIDIA's manifests.
    """
    from specgen.generate.lock import read_lock, write_lock
    from specgen.sources.download import Fetcher, exit_code, fetch_all, refresh_pins, select_only
    from specgen.sources.overlay import read_overlay

    lock = read_lock(lock_path)
    overlay = read_overlay(overlay_path) if overlay_path else None
    if overlay:
        overlay.check_against(lock, lock_path)
    with _session() as session:
        if update:
            result = refresh_pins(
                Fetcher(session, retries=RETRIES, backoff=BACKOFF_S), lock, manifest_base
            )
            if result.changed:
                write_lock(lock_path, result.lock)
            _report_refresh(result, Path(lock_path))
            return
        chosen = host_arch() if arch is None else arch
        selected = select_only(lock, only)
        with _progress() as hook:
            fetcher = Fetcher(session, retries=RETRIES, backoff=BACKOFF_S, progress=hook)
            outcomes = fetch_all(
                fetcher, selected, Path(dest), None if chosen == "all" else chosen,
                allow_unpinned, overlay,
            )  # fmt: skip
    _console().print(_summary(outcomes))
    for o in outcomes:
        if o.computed_unpinned:
            click.echo(f"{o.source.file}: unpinned; computed sha256 {o.sha256} size {o.size}")
    refused = [o for o in outcomes if o.status == "unpinned"]
    for o in refused:
        owners = f" ({', '.join(o.source.packages)})" if o.source.packages else ""
        click.echo(
            f"{o.source.file}{owners}: unpinned (no sha256 in {lock_path}); not downloaded, "
            "pass --allow-unpinned to fetch it anyway",
            err=True,
        )
    sys.exit(exit_code(outcomes))
