"""`specgen build`: build the generated specs in order into a local repository."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from specgen.build.plan import Plan
from specgen.errors import SpecgenError

BACKENDS = ("rpmbuild", "mock")


def _define(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    out = []
    for value in values:
        name, _, body = value.strip().partition(" ")
        if not name or not body:
            raise click.BadParameter(f"{value!r}: use --define 'NAME VALUE'", param_hint="--define")
        out.append((name, body.strip()))
    return tuple(out)


def _space_check(plan: Plan, pending: list[str], workdir: Path) -> None:
    """Refuse to start when the work folder cannot hold the build trees of what will build
    (this arch's Source sizes; a Source without a size gets its package's estimate)."""
    from specgen.host.needs import load_estimates

    estimates = load_estimates()
    need = 0
    for name in pending:
        sources = [s for s in plan.items[name].sources if not s.local]
        unsized = sum(1 for s in sources if s.size is None)
        size = sum(s.size or 0 for s in sources)
        size += estimates.of(name).source * unsized // max(len(sources), 1)
        need += estimates.of(name).tree(size)
    workdir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(workdir).free
    if free < need:
        raise SpecgenError(
            f"{workdir}: {free / 1e9:.1f} GB free, the build trees of {len(pending)} packages "
            f"need about {need / 1e9:.1f} GB (estimates: specgen/data/build-estimates.toml); "
            "free space, use --workdir elsewhere, or --no-space-check"
        )


@click.command("build")
@click.option("--specs", "specs_dir", type=click.Path(path_type=Path), default=Path("specs"),
              show_default=True, help="What `specgen generate` wrote.")
@click.option("--lock", "lock_path", type=click.Path(path_type=Path),
              help="Source lock [default: SPECS/../sources/sources.lock.json].")
@click.option("--downloads", type=click.Path(path_type=Path),
              help="Downloaded Sources [default: SPECS/../sources/downloads].")
@click.option("--repo", type=click.Path(path_type=Path), default=Path("repo"), show_default=True)
@click.option("--workdir", type=click.Path(path_type=Path), default=Path("build"),
              show_default=True, help="Build trees, staged sources, logs, state.")
@click.option("--backend", type=click.Choice(BACKENDS), default="rpmbuild", show_default=True)
@click.option("--mock-config", type=click.Path(path_type=Path),
              help="[default: mock-configs/azure-linux-3-ARCH-specgen.cfg]")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--only", multiple=True, metavar="PKG", help="Build only these specs.")
@click.option("--keep-going", is_flag=True, help="After a failure, build what does not need it.")
@click.option("--allow-unpinned", is_flag=True, help="Build Sources whose sha256 is unknown.")
@click.option("--lock-overlay", "overlay_path", type=click.Path(path_type=Path),
              help="Local files standing in for the lock's downloads, each with its own pin "
              "(docs/lock-overlay.md); every Source it supplies is reported.")
@click.option("--nodeps", is_flag=True, help="rpmbuild --nodeps (a host whose rpm database "
              "does not hold the BuildRequires, e.g. a Debian stand-in).")
@click.option("--define", "defines", multiple=True, metavar="'NAME VALUE'",
              help="An rpm macro for every build.")
@click.option("--with", "with_", multiple=True, metavar="SWITCH")
@click.option("--without", multiple=True, metavar="SWITCH")
@click.option("--arch", type=click.Choice(["x86_64", "aarch64"]), default=None,
              help="[default: this machine's]")
@click.option("--no-space-check", is_flag=True)
@click.option("--check-reproducible", is_flag=True, help="Build each package a second time in "
              "another folder, a second later, and compare the RPMs byte for byte; exit non-zero "
              "when any differs (report and diffoscope output under WORKDIR/reproducible/).")
def build_command(
    specs_dir: Path, lock_path: Path | None, downloads: Path | None, repo: Path, workdir: Path,
    backend: str, mock_config: Path | None, jobs: int, only: tuple[str, ...], keep_going: bool,
    allow_unpinned: bool, overlay_path: Path | None, nodeps: bool, defines: tuple[str, ...],
    with_: tuple[str, ...], without: tuple[str, ...], arch: str | None, no_space_check: bool,
    check_reproducible: bool,
) -> None:  # fmt: skip
    """Build the generated specs in dependency order into a local repository."""
    from specgen.build.plan import load_plan
    from specgen.build.rpmbuilder import Backend
    from specgen.build.runner import Builder, Options
    from specgen.cli.buildview import BuildView
    from specgen.cli.sources import host_arch
    from specgen.generate.lock import read_lock
    from specgen.sources.overlay import read_overlay

    arch = arch or host_arch()
    lock_path = lock_path or specs_dir.parent / "sources" / "sources.lock.json"
    lock = read_lock(lock_path)
    overlay = read_overlay(overlay_path) if overlay_path else None
    if overlay:
        overlay.check_against(lock, lock_path)
    downloads = downloads or specs_dir.parent / "sources" / "downloads"
    plan = load_plan(specs_dir, lock, downloads, arch, overlay)
    names = list(only) or list(plan.items)
    if overlay:
        _announce_overlay(plan, names, overlay.path)
    config = mock_config or Path("mock-configs") / f"azure-linux-3-{arch}-specgen.cfg"
    options = Options(
        workdir=workdir,
        repo=repo,
        backend=Backend(
            kind=backend,
            azure_macros=not _is_azure_linux(),
            nodeps=nodeps,
            mock_config=config if backend == "mock" else None,
            local_repo=repo,
        ),
        jobs=jobs,
        keep_going=keep_going,
        allow_unpinned=allow_unpinned,
        only=only,
        defines=_define(defines),
        switches=tuple(f"--with {w}" for w in with_) + tuple(f"--without {w}" for w in without),
        check_reproducible=check_reproducible,
    )
    builder = Builder(plan, options)
    if not no_space_check:
        _space_check(plan, builder.pending(), workdir)
    view = BuildView(names)
    with view:
        results = builder.run(view.on_event)
    view.summary(results)
    if check_reproducible:
        view.reproducibility(results)
    if overlay:
        _overlay_summary(plan, list(results), overlay.path)
    failed = [r for r in results.values() if r.status.value in ("failed", "blocked")]
    if failed:
        raise SpecgenError(
            f"{len(failed)} of {len(results)} packages did not build: "
            + "; ".join(f"{r.name}: {r.error or r.status.value}" for r in failed)
        )
    if check_reproducible:
        differ = [r.name for r in results.values() if not r.reproducible]
        if differ:
            raise SpecgenError(
                f"{len(differ)} of {len(results)} packages are not reproducible: "
                f"{', '.join(differ)} (reports under {workdir / 'reproducible'})"
            )


def _announce_overlay(plan: Plan, names: list[str], overlay: Path) -> None:
    """Before anything builds: each Source the overlay supplies, its file and its pin."""
    click.echo(f"lock overlay {overlay}: these Sources are local files, not the lock's downloads")
    for name in names:
        for source in plan.items[name].from_overlay():
            assert source.overlay is not None
            click.echo(f"  {name}: {source.file}: {source.overlay.describe()}")


def _overlay_summary(plan: Plan, names: list[str], overlay: Path) -> None:
    """After the summary table: which packages were built from the overlay's files."""
    lines = [
        f"  {name}: {', '.join(s.file for s in plan.items[name].from_overlay())}"
        for name in names
        if plan.items[name].from_overlay()
    ]
    count = sum(len(plan.items[n].from_overlay()) for n in names)
    noun = "Source" if count == 1 else "Sources"
    click.echo(f"from the lock overlay {overlay}, not the lock's pins ({count} {noun}):")
    for line in lines or ["  (none of the packages built here)"]:
        click.echo(line)


def _is_azure_linux() -> bool:
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return False
    from specgen.host.doctor import os_fields

    return os_fields(text).get("ID") == "azurelinux"
