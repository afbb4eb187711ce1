"""`specgen map --by-content`: the names the table lacks, looked up by what Ubuntu's package
contains, shown as findings and as table entries to paste."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from specgen.cli.views import to_json
from specgen.errors import SpecgenError
from specgen.mapping.pkgindex import PackageIndex
from specgen.mapping.resolver import Resolution
from specgen.mapping.table import MappingTable
from specgen.recipe.model import Recipe

if TYPE_CHECKING:
    from specgen.mapping.ubuntuarchive import ArchiveSource


@dataclass(frozen=True)
class UbuntuOptions:
    """The command line's say on the Ubuntu side; None: data/ubuntu-archive.toml's default."""

    release: str | None
    mirror: str | None
    keyring: str | None
    allow_unsigned: bool


def _archive(recipe: Recipe, options: UbuntuOptions) -> ArchiveSource:
    from specgen.mapping.ubuntuarchive import (
        ArchiveSource,
        load_settings,
        recipe_ubuntu_version,
        suite_for,
    )

    settings = load_settings()
    release = options.release or recipe_ubuntu_version(recipe)
    if release is None:
        raise SpecgenError(
            "--by-content: the recipe names no Ubuntu release (no ubuntu:NN.NN image, no "
            "repos/ubuntuNNNN repository): pass --ubuntu-release"
        )
    keyring = Path(options.keyring) if options.keyring else settings.keyring
    if not options.allow_unsigned and not keyring.is_file():
        raise SpecgenError(
            f"--by-content: no Ubuntu archive keyring at {keyring}, so Ubuntu's InRelease cannot "
            "be checked: install ubuntu-keyring (Debian trixie or bookworm-backports), pass "
            "--ubuntu-keyring FILE, or --allow-unsigned to read it unchecked"
        )
    return ArchiveSource(
        mirror=options.mirror or settings.mirror,
        suite=suite_for(release, settings),
        arch=settings.arch,
        components=settings.components,
        keyring=None if options.allow_unsigned else keyring,
    )


def report_by_content(
    recipe: Recipe,
    packages: Sequence[Resolution],
    results: Sequence[Resolution],
    index: PackageIndex,
    table: MappingTable,
    options: UbuntuOptions,
    offline: bool,
    cache_dir: Path | None,
    fmt: str,
) -> int:
    """Print the findings; the exit code: 0 when nothing is left unmapped once verified
    findings count as mapped, else 1 (names only a rule found are shown, not counted)."""
    from specgen.mapping.contentlookup import ContentReport, look_up
    from specgen.mapping.contentreport import render_table, render_toml
    from specgen.mapping.snapshot import source_packages

    names = [r.name for r in packages if r.kind in ("unmapped", "rule")]
    if names:
        report = look_up(
            names,
            _archive(recipe, options),
            index,
            offline=offline,
            cache_dir=cache_dir,
            sources=source_packages(),
            table=table,
        )
    else:
        report = ContentReport(ubuntu="not read: the table maps every apt name", findings=())
    verified = {f.name for f in report.findings if f.verified}
    left = [r for r in results if not r.ok and r.name not in verified]
    if fmt == "json":
        click.echo(
            to_json(
                {
                    "sources": list(index.sources),
                    "ubuntu": report.ubuntu,
                    "findings": [f.to_dict() for f in report.findings],
                    "rule_mapped": sorted(r.name for r in packages if r.kind == "rule"),
                    "unmapped": len(left),
                }
            ),
            nl=False,
        )
    else:
        click.echo(f"read from: {report.ubuntu}", err=True)
        if not report.findings:
            click.echo("every apt name is in the mapping table: nothing to look up by content")
        else:
            click.echo(render_table(report.findings), nl=False)
            click.echo("\n# entries for specgen/data/ubuntu-to-azurelinux.toml\n")
            click.echo(render_toml(report.findings), nl=False)
        if left:
            click.echo(f"\n{len(left)} unmapped:", err=True)
            for r in left:
                click.echo(f"  {r.name}: {r.reason}", err=True)
    return 1 if left else 0
