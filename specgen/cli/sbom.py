"""`specgen sbom`: an SPDX 2.3 JSON document of a built repository."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from specgen.rpmread import RpmPackage
from specgen.verify.sbom import DEFAULT_NAMESPACE_BASE, SourceFile


def spec_sources(lock_path: Path, specs_dir: Path, names: set[str]) -> dict[str, list[SourceFile]]:
    """Each spec's Sources: downloads from the source lock, the rest from its signatures."""
    from specgen.build.plan import read_signatures
    from specgen.generate.lock import read_lock

    lock = read_lock(lock_path)
    out: dict[str, list[SourceFile]] = {}
    for s in lock.sources:
        for name in set(s.packages) & names:
            out.setdefault(name, []).append(
                SourceFile(s.file, s.url, s.sha256, s.arch, s.pinned_by)
            )
    for name in sorted(names):
        folder = specs_dir / name
        if not (folder / f"{name}.signatures.json").is_file():
            continue  # a package of the repository that these specs do not make
        downloaded = {s.file for s in out.get(name, [])}
        out.setdefault(name, []).extend(
            SourceFile(file, None, sha)
            for file, sha in sorted(read_signatures(folder, name).items())
            if file not in downloaded
        )
    return out


def _created(value: str | None, rpms: list[RpmPackage]) -> datetime:
    from specgen.verify.sbom import created_time

    if value is None:
        return created_time(rpms, os.environ.get("SOURCE_DATE_EPOCH"))
    if value == "now":
        return datetime.now(UTC).replace(microsecond=0)
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: use 'now' or an ISO date such as 2025-03-26T00:00:00Z",
            param_hint="--created",
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@click.command("sbom")
@click.argument("repo", type=click.Path(path_type=Path), default=Path("repo"))
@click.option("--specs", "specs_dir", type=click.Path(path_type=Path), default=Path("specs"),
              show_default=True, help="The specs the repository was built from (signatures).")
@click.option("--lock", "lock_path", type=click.Path(path_type=Path),
              help="Source lock [default: SPECS/../sources/sources.lock.json].")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Where to write it, - for stdout [default: REPO/sbom.spdx.json].")
@click.option("--namespace-base", default=DEFAULT_NAMESPACE_BASE, show_default=True,
              help="URI the document namespace starts with (the rest comes from the content).")
@click.option("--created", metavar="now|ISO-DATE",
              help="Creation time [default: SOURCE_DATE_EPOCH, else the newest changelog date].")
def sbom_command(
    repo: Path, specs_dir: Path, lock_path: Path | None, output: Path | None,
    namespace_base: str, created: str | None,
) -> None:  # fmt: skip
    """Write an SPDX 2.3 JSON SBOM of a built repository: every RPM, its source package and
    Sources, licenses, checksums and the relations between them."""
    from specgen.atomic import write_atomic
    from specgen.filehash import file_facts
    from specgen.generate.lock import read_lock
    from specgen.rpmread import read_repository
    from specgen.verify.sbom import RepoRpm, SbomInputs, build_document, spec_name, to_json

    lock_path = lock_path or specs_dir.parent / "sources" / "sources.lock.json"
    rpms = read_repository(repo, payload=False)
    names = {spec_name(r) for r in rpms}
    inputs = SbomInputs(
        rpms=[RepoRpm(r, file_facts(repo / r.file)[1]) for r in rpms],
        sources=spec_sources(lock_path, specs_dir, names),
        release=read_lock(lock_path).release or None,
    )
    document = build_document(inputs, _created(created, rpms), namespace_base)
    text = to_json(document)
    if output is not None and str(output) == "-":
        sys.stdout.write(text)
        return
    target = output or repo / "sbom.spdx.json"
    write_atomic(target, text)
    sources = sum(len(v) for v in inputs.sources.values())
    click.echo(f"wrote {target}: {len(document.packages)} SPDX packages "
               f"({len(rpms)} RPMs, {sources} Sources), validated", err=True)  # fmt: skip
