"""Source tarballs of GitHub repositories: Triton's (by commit when the release names one) and
third-party tags, each renamed with a `#/` fragment so file names stay unique in SOURCES."""

from __future__ import annotations

from dataclasses import dataclass

from specgen.generate.release import Release

TRITON_ORG = "https://github.com/triton-inference-server"


@dataclass(frozen=True)
class Archive:
    """A GitHub archive: its URL as written in the spec, the file name, its top folder."""

    url: str
    file: str
    top_dir: str


def triton_archive(repo: str, release: Release, tag: str) -> Archive:
    """Triton repository `repo` at the release's commit, else at branch `tag` (moving)."""
    commit = release.commits.get(repo)
    stem = f"triton-{repo.replace('_', '-')}"
    if commit:
        file = f"{stem}-{commit[:7]}.tar.gz"
        url = f"{TRITON_ORG}/{repo}/archive/{commit}.tar.gz#/{file}"
        return Archive(url, file, f"{repo}-{commit}")
    file = f"{stem}-{tag}.tar.gz"
    url = f"{TRITON_ORG}/{repo}/archive/refs/heads/{tag}.tar.gz#/{file}"
    return Archive(url, file, f"{repo}-{tag}")


def strip_fragment(url: str) -> str:
    """The URL to download: without the `#/name` rename."""
    return url.split("#", 1)[0]
