"""`specgen verify`: check a local RPM repository before it is published or installed from."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from specgen.mapping.pkgindex import PackageIndex
from specgen.rpmread import RpmPackage, read_repository
from specgen.verify.checks import (
    ERROR,
    OK,
    RESULTS,
    Finding,
    exit_code,
    hinted_provides,
    load_policy,
    newest,
    run_checks,
    sort_findings,
)

SNAPSHOT, ONLINE = "snapshot", "online"
_STYLES = {OK: "green", "note": "cyan", "warning": "yellow", ERROR: "bold red"}


def _arch(packages: Sequence[RpmPackage]) -> str:
    """The repository's architecture: its most common one other than noarch (x86_64 if none)."""
    arches = Counter(p.arch for p in packages if p.arch in ("x86_64", "aarch64"))
    return arches.most_common(1)[0][0] if arches else "x86_64"


def _load_index(choices: Sequence[str], arch: str) -> PackageIndex:
    """The Azure Linux side: the shipped snapshot, the default repositories, or given URLs
    (NAME=URL or URL), merged in the order named."""
    from specgen.mapping.repodata import DEFAULT_REPOSITORIES, load_repositories, parse_repo_option
    from specgen.mapping.snapshot import load_snapshot

    index = PackageIndex()
    urls = [parse_repo_option(c) for c in choices if c not in (SNAPSHOT, ONLINE)]
    for choice in dict.fromkeys(choices):
        if choice == SNAPSHOT:
            index.merge(load_snapshot(arch=arch))
        elif choice == ONLINE:
            index.merge(load_repositories(DEFAULT_REPOSITORIES))
    if urls:
        index.merge(load_repositories(urls))
    return index


def _install_findings(
    packages: Sequence[RpmPackage],
    index: PackageIndex,
    hints: Mapping[str, Iterable[str]],
    arch: str,
) -> list[Finding]:
    """libsolv's verdict on each package, as findings of the `install` check."""
    from specgen.verify.solve import resolve_installs

    findings = []
    for r in resolve_installs(packages, index, hints, arch):
        if r.ok:
            detail = (
                f"installable, with {r.from_local} of the repository's packages "
                f"and {r.from_azure} of Azure Linux's"
            )
            findings.append(Finding("install", r.package, OK, detail))
        else:
            findings.append(Finding("install", r.package, ERROR, "; ".join(r.problems)))
    return findings


def report_dict(
    repo: Path,
    sources: Sequence[str],
    packages: Sequence[RpmPackage],
    skipped: Sequence[RpmPackage],
    findings: Sequence[Finding],
) -> dict[str, Any]:
    """The JSON report: packages by name, findings in report order, counts per result."""
    counts = Counter(f.result for f in findings)
    return {
        "repository": str(repo),
        "azure_index": list(sources),
        "packages": [
            {"name": p.name, "evr": p.evr, "arch": p.arch, "file": p.file} for p in packages
        ],
        "skipped": [p.file for p in skipped],
        "findings": [f.to_dict() for f in findings],
        "summary": {result: counts.get(result, 0) for result in RESULTS},
        "passed": not counts.get(ERROR),
    }


def _print_table(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"specgen verify {report['repository']}")
    for column in ("check", "package", "result", "detail"):
        table.add_column(column, overflow="fold")
    for f in report["findings"]:
        style = _STYLES.get(f["result"], "")
        table.add_row(f["check"], f["package"], f"[{style}]{f['result']}[/]", f["detail"])
    console = Console()
    console.print(table)
    summary = ", ".join(f"{n} {r}" for r, n in report["summary"].items())
    console.print(f"{len(report['packages'])} packages: {summary}", highlight=False)
    if report["skipped"]:
        console.print(f"not checked (older builds, sources): {', '.join(report['skipped'])}")


@click.command("verify")
@click.argument("repo", required=False, default="repo", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option(
    "--azure-index",
    "azure_index",
    multiple=True,
    default=(SNAPSHOT,),
    show_default=True,
    metavar="snapshot|online|REPO_URL",
    help="What Azure Linux offers: the shipped offline snapshot, its live repositories (and "
    "NVIDIA's azl3 CUDA repository), or a repository URL (NAME=URL); repeatable.",
)
def verify_command(repo: Path, fmt: str, azure_index: tuple[str, ...]) -> None:
    """Check the binary RPMs of REPO (default: repo/, as specgen build fills it).

    Checks file locations, paths packaged twice, -devel symlinks, unresolved Requires,
    executable stacks in shared libraries, and (libsolv) that each package installs.
    Exit 0 when nothing failed (warnings allowed), 1 when a check failed, 2 on unreadable input.
    """
    packages, skipped = newest(read_repository(repo))
    arch = _arch(packages)
    index = _load_index(azure_index, arch)
    policy = load_policy()
    # The tables stand in for the automatic Provides only the snapshot lacks.
    hints = hinted_provides(packages, index, policy) if SNAPSHOT in azure_index else {}
    findings = sort_findings(
        [
            *run_checks(packages, index, policy, hints),
            *_install_findings(packages, index, hints, arch),
        ]
    )
    report = report_dict(repo, index.sources, packages, skipped, findings)
    if fmt == "json":
        click.echo(json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False))
    else:
        for source in index.sources:
            click.echo(f"Azure Linux index: {source}", err=True)
        _print_table(report)
    sys.exit(exit_code(findings))
