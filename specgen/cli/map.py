"""`specgen map`: every Ubuntu package of a recipe as Azure Linux 3.0 packages, verified."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import click

from specgen.cli.views import to_json
from specgen.mapping.pkgindex import PackageIndex
from specgen.mapping.resolver import Resolution


def _index(
    repos: tuple[str, ...],
    online: bool,
    offline: bool,
    cache_dir: str | None,
    filelists: bool = False,
) -> PackageIndex:
    """Repository metadata when asked for (or cached), else the shipped offline snapshot;
    `filelists` adds every packaged path (what --by-content matches files against)."""
    from specgen.mapping.repodata import DEFAULT_REPOSITORIES, load_repositories, parse_repo_option
    from specgen.mapping.snapshot import load_snapshot

    configs = [parse_repo_option(r) for r in repos] or list(DEFAULT_REPOSITORIES)
    cache = Path(cache_dir) if cache_dir else None
    if repos or online or offline:
        return load_repositories(
            configs, offline=offline and not online, cache_dir=cache, filelists=filelists
        )
    return load_snapshot()


def _unique(results: Iterable[Resolution]) -> list[Resolution]:
    """One row per name: a download or requirement met in two images is reported once."""
    return list({r.name: r for r in results}.values())


@click.command("map")
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option(
    "--repo",
    "repos",
    multiple=True,
    metavar="NAME=URL",
    help="Repository (URL or NAME=URL) to verify against; repeatable, replaces the defaults.",
)
@click.option(
    "--online",
    is_flag=True,
    help="Fetch the default repositories (Azure Linux base, extended, NVIDIA azl3).",
)
@click.option("--offline", is_flag=True, help="Use cached repository metadata only.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Repository metadata cache (default: ~/.cache/specgen/repodata).",
)
@click.option(
    "--check-names",
    "check",
    is_flag=True,
    help="Treat the arguments as RPM names of a hand-written install line to verify.",
)
@click.option(
    "--table",
    "table_path",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="Mapping table to use instead of the shipped one (a copy being edited).",
)
@click.option(
    "--by-content",
    is_flag=True,
    help="Find names the table lacks by what the Ubuntu package contains (reads Ubuntu's archive).",
)
@click.option(
    "--ubuntu-release",
    metavar="VERSION",
    default=None,
    help="Ubuntu release of the images (24.04 or noble); default: what the recipe names.",
)
@click.option("--ubuntu-mirror", metavar="URL", default=None, help="Ubuntu archive mirror.")
@click.option(
    "--ubuntu-keyring",
    type=click.Path(dir_okay=False),
    default=None,
    help="Keyring InRelease must be signed with (default: Ubuntu's archive keyring).",
)
@click.option(
    "--allow-unsigned",
    is_flag=True,
    help="Read Ubuntu's InRelease without checking its signature (said in the output).",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
def map_command(
    paths: tuple[str, ...],
    repos: tuple[str, ...],
    online: bool,
    offline: bool,
    cache_dir: str | None,
    check: bool,
    table_path: str | None,
    by_content: bool,
    ubuntu_release: str | None,
    ubuntu_mirror: str | None,
    ubuntu_keyring: str | None,
    allow_unsigned: bool,
    fmt: str,
) -> None:
    """Map every Ubuntu package of a dry run (default: Triton 25.03) to Azure Linux 3.0.

    Without --repo/--online/--offline it verifies against the shipped offline snapshot of
    Azure Linux 3.0 and says so. Exit code 1, with suggestions, when anything is unmapped.
    --by-content looks every apt name the table lacks up in Ubuntu's archive (signed InRelease,
    sha256-checked indexes, cached) and finds Azure Linux packages with the same sonames,
    pkg-config and CMake names and files; exit code 0 only when each unmapped one is verified.
    """
    from specgen.mapping.resolver import (
        check_names,
        exit_code,
        match_download,
        match_pip,
        render_text,
    )
    from specgen.mapping.table import load_table

    table = load_table(Path(table_path) if table_path else None)
    index = _index(repos, online, offline, cache_dir, filelists=by_content)
    for source in index.sources:
        click.echo(f"verified against: {source}", err=True)
    if check:
        checks = check_names(list(paths), index, table)
        if fmt == "json":
            click.echo(to_json([c.to_dict() for c in checks]), nl=False)
        else:
            for c in checks:
                hint = f" (did you mean: {', '.join(c.suggestions)})" if c.suggestions else ""
                detail = f" [{', '.join(c.packages)}]" if c.packages else ""
                click.echo(f"{'ok' if c.ok else 'MISSING':8} {c.name}: {c.how}{detail}{hint}")
        sys.exit(exit_code(checks))

    from specgen.recipe.dryrun import load_or_default

    recipe = load_or_default([Path(p) for p in paths])
    apt = [
        p
        for role in ("buildbase", "runtime")
        if role in recipe.images
        for p in recipe.images[role].apt
    ]
    from specgen.mapping.resolver import resolve_apt

    packages = resolve_apt(apt, index, table)
    downloads = _unique(
        r
        for image in recipe.images.values()
        for d in image.downloads
        if (r := match_download(d.url, index, table)) is not None
    )
    pips = _unique(
        r
        for image in recipe.images.values()
        for p in image.pip
        if p.kind == "requirement"
        if (r := match_pip(p.requirement, index, table)) is not None
    )
    results = [*packages, *downloads, *pips]
    if by_content:
        from specgen.cli.mapcontent import UbuntuOptions, report_by_content

        options = UbuntuOptions(ubuntu_release, ubuntu_mirror, ubuntu_keyring, allow_unsigned)
        cache = Path(cache_dir) / "ubuntu" if cache_dir else None
        code = report_by_content(
            recipe, packages, results, index, table, options, offline, cache, fmt
        )
        sys.exit(code)
    if fmt == "json":
        click.echo(
            to_json(
                {
                    "sources": list(index.sources),
                    "packages": [r.to_dict() for r in packages],
                    "downloads": [r.to_dict() for r in downloads],
                    "pip": [r.to_dict() for r in pips],
                    "unmapped": sum(1 for r in results if not r.ok),
                }
            ),
            nl=False,
        )
    else:
        click.echo(render_text(packages), nl=False)
        if downloads or pips:
            click.echo()
            click.echo(render_text([*downloads, *pips]), nl=False)
        unmapped = [r for r in results if not r.ok]
        if unmapped:
            click.echo(f"\n{len(unmapped)} unmapped:", err=True)
            for r in unmapped:
                hint = ", ".join(r.suggestions) or "no close name"
                click.echo(f"  {r.name}: {r.reason} (suggestions: {hint})", err=True)
    sys.exit(exit_code(results))
