"""`specgen generate`: write the specs of a Triton release."""

from __future__ import annotations

from pathlib import Path

import click

from specgen.errors import InputError


@click.command("generate")
@click.option(
    "--from", "paths", multiple=True, type=click.Path(path_type=Path),
    help="build.py --dryrun output (folder or files); default: the embedded recipe of --release.",
)  # fmt: skip
@click.option(
    "--release",
    help="Release (YY.MM): its embedded recipe, or with --from the facts to use instead of the "
    "dry-run's own release; default 25.03.",
)  # fmt: skip
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), default=Path("specs"), show_default=True,
    help="Folder to (re)write: <name>/<name>.spec, signatures, build order, graph.",
)  # fmt: skip
@click.option(
    "--lock", "lock_path", type=click.Path(path_type=Path),
    help="Source lock to read pins from and rewrite [default: OUTPUT/../sources/].",
)  # fmt: skip
@click.option("--cuda-from-redist", is_flag=True, help="Generate CUDA component specs too.")
@click.option(
    "--fact", "fact_overrides", multiple=True, metavar="NAME=VERSION",
    help="Supply or override a release fact, e.g. --fact cudnn=9.19.0.56 --fact date=2026-11-20.",
)  # fmt: skip
@click.option(
    "--arch", type=click.Choice(["auto", "x86_64", "aarch64"]), default="auto",
    help="Architecture the dry-run files were generated for (auto: from their URLs).",
)  # fmt: skip
def generate_command(
    paths: tuple[Path, ...],
    release: str | None,
    output: Path,
    lock_path: Path | None,
    cuda_from_redist: bool,
    fact_overrides: tuple[str, ...],
    arch: str,
) -> None:
    """Generate the RPM specs of a Triton release for Azure Linux 3.0."""
    from specgen.generate.generation import (
        generate,
        read_existing_specs,
        with_history,
        write_generation,
    )
    from specgen.generate.lock import read_lock
    from specgen.generate.release import parse_fact_overrides, release_for
    from specgen.recipe.dryrun import load_or_default

    recipe = load_or_default(list(paths), None if arch == "auto" else arch, release)
    facts = release_for(recipe, release, parse_fact_overrides(fact_overrides))
    lock_path = lock_path or output.parent / "sources" / "sources.lock.json"
    lock = None
    if lock_path.exists():
        lock = read_lock(lock_path)
        if lock.release != facts.name:
            lock = None
    if output.exists() and not output.is_dir():
        raise InputError(output, "exists and is not a folder")
    gen = generate(recipe, facts, cuda_from_redist=cuda_from_redist, lock=lock)
    gen = with_history(gen, read_existing_specs(output, [p.name for p in gen.packages]))
    write_generation(gen, output, lock_path)
    unpinned = gen.lock.unpinned()
    click.echo(
        f"wrote {len(gen.packages)} specs for Triton {facts.name} ({facts.triton_version}) "
        f"to {output}; source lock {lock_path}: {len(gen.lock.sources)} sources, "
        f"{len(unpinned)} unpinned"
    )
    if gen.not_generated:
        click.echo(
            "not generated (no package data yet): " + ", ".join(gen.not_generated), err=True
        )
