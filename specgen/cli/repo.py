"""`specgen repo`: make the local repository ready to serve (signed RPMs, fresh metadata, a
.repo file for /etc/yum.repos.d/)."""

from __future__ import annotations

import contextlib
from pathlib import Path, PurePosixPath

import click

from specgen.build.localrepo import LocalRepo
from specgen.errors import InputError, SpecgenError


def repo_rpms(root: Path) -> list[Path]:
    """Binary RPMs (`<arch>/`) and source RPMs (`SRPMS/`), as LocalRepo lays them out."""
    return sorted(
        p
        for p in root.glob("*/*.rpm")
        if p.is_file() and not p.name.startswith(".") and not p.parent.name.startswith(".")
        and p.parent.name != "repodata"
    )  # fmt: skip


def _rpms_text(count: int) -> str:
    return f"{count} RPM" if count == 1 else f"{count} RPMs"


def _served_as(repo_file: Path, root: Path) -> PurePosixPath | None:
    """The .repo file's path under the repository root, if it is served with it."""
    try:
        return PurePosixPath(repo_file.resolve().relative_to(root.resolve()).as_posix())
    except ValueError:
        return None


@click.command("repo")
@click.argument("repo", required=False, default="repo", type=click.Path(path_type=Path))
@click.option(
    "--baseurl",
    metavar="URL",
    help="Where clients reach REPO's root [default: file://<absolute REPO>].",
)
@click.option(
    "--name",
    "repo_id",
    default="specgen-triton",
    show_default=True,
    help="Repository id (the [section] and the .repo file's name).",
)
@click.option(
    "--gpg-key",
    metavar="KEYID_OR_FILE",
    help="Sign the RPMs with this key (an id or user id in your gpg keyring, or a "
    "secret key file) and turn gpgcheck on.",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    help="Where to write the .repo file [default: REPO/NAME.repo].",
)
def repo_command(
    repo: Path, baseurl: str | None, repo_id: str, gpg_key: str | None, output: Path | None
) -> None:
    """Make a built repository ready to serve: sign, refresh metadata, write a .repo file.

    The baseurl is REPO's root, not REPO/<arch>: createrepo_c indexes the whole folder.
    """
    from specgen.atomic import write_atomic
    from specgen.build import repofile

    repofile.check_repo_id(repo_id)
    url = repofile.check_baseurl(baseurl) if baseurl else repofile.file_baseurl(repo.resolve())
    if not repo.is_dir():
        raise InputError(repo, "no such folder (run specgen build, or name the repository)")
    rpms = repo_rpms(repo)
    if not rpms:
        raise InputError(repo, "no RPMs in <arch>/ or SRPMS/ (run specgen build first)")
    local = LocalRepo(repo)
    if gpg_key:
        _sign(local, rpms, gpg_key)
    local.refresh()
    binaries = sum(1 for p in rpms if p.parent.name != "SRPMS")
    click.echo(f"refreshed {repo / 'repodata'} ({_rpms_text(binaries)}, source RPMs aside)")

    target = output or repo / f"{repo_id}.repo"
    text = repofile.render(repo_id, url, signed=bool(gpg_key))
    write_atomic(target, text)
    click.echo(f"wrote {target}:\n")
    click.echo(text)
    click.echo("On each machine that installs from it (as root):")
    for line in repofile.target_commands(repo_id, url, target.resolve(), _served_as(target, repo)):
        click.echo(f"  {line}")
    if url.startswith("file://"):
        click.echo(f"(file:// URL: the machine must see {repo.resolve()} at that path; serve REPO "
                   "over HTTP and pass --baseurl for other machines)")  # fmt: skip


def _sign(local: LocalRepo, rpms: list[Path], spec: str) -> None:
    """Sign, export the public key beside repodata/, and keep metadata truthful on failure."""
    from specgen.build.repofile import KEY_NAME
    from specgen.build.signing import export_public_key, sign_rpms, signing_key

    with signing_key(spec) as key:
        try:
            signed, skipped = sign_rpms(key, rpms)
        except SpecgenError:
            # Files signed before the failure changed: the metadata must describe them.
            with contextlib.suppress(SpecgenError):
                local.refresh()
            raise
        export_public_key(key, local.root / KEY_NAME)
    click.echo(
        f"signed {_rpms_text(len(signed))} with {key.label()}; {len(skipped)} already signed by it"
    )
    click.echo(f"public key: {local.root / KEY_NAME}")
