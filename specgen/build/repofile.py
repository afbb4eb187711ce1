"""The `.repo` file that points tdnf or dnf at a specgen repository, rendered from values only.

Pure and deterministic (no clock, no file system), so the same repository and options give the
same bytes: a re-run of `specgen repo` does not churn the file a web server or a config manager
hands out.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path, PurePosixPath

from specgen.errors import SpecgenError

DEFAULT_ID = "specgen-triton"
KEY_NAME = "RPM-GPG-KEY-specgen"
TARGET_DIR = "/etc/yum.repos.d"

# dnf and tdnf accept these in a repo id; anything else breaks the [section] or the cache path.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")
_URL = re.compile(r"(https?|ftp|file)://[^\s]+")
_FETCHABLE = ("http://", "https://", "ftp://")


def check_repo_id(repo_id: str) -> str:
    """A repo id dnf and tdnf accept (it is also the file name under /etc/yum.repos.d/)."""
    if not _ID.fullmatch(repo_id):
        raise SpecgenError(
            f"--name {repo_id!r}: a repository id is letters, digits and . _ : - "
            "(starting with a letter or digit)"
        )
    return repo_id


def check_baseurl(url: str) -> str:
    """A URL with a scheme tdnf can fetch from; a bare path would be read relative to nothing."""
    if not _URL.fullmatch(url):
        raise SpecgenError(
            f"--baseurl {url!r}: give a URL such as https://host/triton/ or file:///srv/triton"
        )
    return url


def file_baseurl(root: Path) -> str:
    """`file://` URL of an absolute repository root (the metadata covers the whole root)."""
    return root.as_uri()


def key_url(baseurl: str) -> str:
    """Where the exported public key is served: beside repodata/ at the repository root."""
    return f"{baseurl.rstrip('/')}/{KEY_NAME}"


def render(repo_id: str, baseurl: str, signed: bool) -> str:
    """The .repo text: one repository whose baseurl is the root createrepo_c indexed."""
    lines = [
        "# NVIDIA Triton Inference Server RPMs for Azure Linux 3.0, built by specgen.",
        f"# Install as {TARGET_DIR}/{repo_id}.repo (tdnf and dnf read this format).",
        f"[{repo_id}]",
        f"name=NVIDIA Triton Inference Server for Azure Linux 3.0 (specgen, {repo_id})",
        f"baseurl={baseurl}",
        "enabled=1",
    ]
    if signed:
        lines += [
            "gpgcheck=1",
            "# The RPMs are signed (gpgcheck=1); the repository metadata (repomd.xml) is not,",
            "# so repo_gpgcheck stays off: with it on, tdnf would refuse the repository.",
            "repo_gpgcheck=0",
            f"gpgkey={key_url(baseurl)}",
        ]
    else:
        lines.append("gpgcheck=0")
    return "\n".join(lines) + "\n"


def target_commands(
    repo_id: str, baseurl: str, repo_file: Path, served_as: PurePosixPath | None
) -> list[str]:
    """What to run on a machine that installs from the repository.

    `served_as` is the .repo file's path inside the repository root (None when it was written
    elsewhere): with an http(s) baseurl the target can then fetch it, otherwise it is copied.
    """
    dest = f"{TARGET_DIR}/{repo_id}.repo"
    if served_as is not None and baseurl.startswith(_FETCHABLE):
        url = f"{baseurl.rstrip('/')}/{served_as.as_posix()}"
        fetch = f"curl -fsSL -o {dest} {shlex.quote(url)}"
    else:
        fetch = f"cp {shlex.quote(str(repo_file))} {dest}"
    return [fetch, "tdnf install tritonserver"]
