"""What an Ubuntu package contains, as things Azure Linux metadata can be asked about.

From its file list (Contents) and its Packages stanza: the sonames of its shared libraries
(`libre2.so.11()(64bit)`), its pkg-config files (`pkgconfig(re2)`), its CMake package configs
(`cmake(re2)`), its Python distributions (`python3dist(numpy)`), and its files on the Azure
Linux paths (executables, headers, libraries): each an `Evidence` that names the Ubuntu file it
was read from. The path conventions are data (data/ubuntu-archive.toml).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from specgen.mapping.ubuntuarchive import ArchiveSettings

# kinds, strongest first: a capability names one library or module; a file may be shared
CAPABILITY_KINDS = ("soname", "pkgconfig", "cmake", "python")
KINDS = (*CAPABILITY_KINDS, "file")

_SONAME = re.compile(r"^(?P<stem>lib.+?\.so)\.(?P<ver>\d+(?:\.\d+)*)$")
_CMAKE_CONFIG = re.compile(r"^(?P<name>.+?)(?:Config|-config)\.cmake$")
_DIST_INFO = re.compile(r"^(?P<name>[A-Za-z0-9_.]+?)-[^-/]+\.(?:dist-info|egg-info)$")
_FILE_SUFFIXES = (".h", ".hh", ".hpp", ".hxx", ".inc", ".so", ".a", ".pc", ".cmake")


@dataclass(frozen=True)
class Evidence:
    """One thing an Ubuntu package contains, as an Azure Linux capability or path to look up."""

    kind: str  # soname | pkgconfig | cmake | python | file
    value: str  # the capability (`pkgconfig(re2)`) or absolute Azure Linux path
    ubuntu_path: str  # the Ubuntu file it was read from

    @property
    def label(self) -> str:
        return f"soname {self.value.split('(')[0]}" if self.kind == "soname" else self.value


def azure_path(path: str, settings: ArchiveSettings) -> str:
    """An Ubuntu path (`usr/lib/x86_64-linux-gnu/libz.so`) as Azure Linux lays it out."""
    path = path.lstrip("/")
    for ubuntu, azure in settings.translate:
        if path.startswith(ubuntu):
            return azure + path[len(ubuntu) :]
    return "/" + path


def _in(path: str, dirs: tuple[str, ...]) -> bool:
    return posixpath.dirname(path) in dirs


def _sonames(files: list[str], settings: ArchiveSettings) -> list[Evidence]:
    """The shortest versioned name of each library (libfoo.so.1, not libfoo.so.1.2.3)."""
    best: dict[str, str] = {}
    for path in files:
        if not _in(path, settings.lib_dirs):
            continue
        m = _SONAME.match(posixpath.basename(path))
        if m and (m.group("stem") not in best or len(path) < len(best[m.group("stem")])):
            best[m.group("stem")] = path
    return [
        Evidence("soname", f"{posixpath.basename(p)}()(64bit)", p) for p in sorted(best.values())
    ]


def _python_dist(path: str, settings: ArchiveSettings) -> str | None:
    """The distribution a file under dist-packages belongs to (`numpy-1.26.4.dist-info/...`)."""
    for top in settings.python_dirs:
        if path.startswith(top + "/"):
            m = _DIST_INFO.match(path[len(top) + 1 :].split("/", 1)[0])
            return re.sub(r"[-_.]+", "-", m.group("name")).lower() if m else None
    return None


def evidence_of(files: list[str], settings: ArchiveSettings) -> list[Evidence]:
    """Every piece of evidence in a package's file list, capabilities first, each once."""
    found = _sonames(files, settings)
    for path in files:
        base = posixpath.basename(path)
        parent = posixpath.basename(posixpath.dirname(path))
        if base.endswith(".pc") and parent == "pkgconfig":
            found.append(Evidence("pkgconfig", f"pkgconfig({base[:-3]})", path))
        m = _CMAKE_CONFIG.match(base)
        if m and "/cmake/" in f"/{path}" and parent.lower().startswith(m.group("name").lower()):
            found.append(Evidence("cmake", f"cmake({m.group('name')})", path))
        dist = _python_dist(path, settings)
        if dist:
            found.append(Evidence("python", f"python3dist({dist})", path))
        is_library = _in(path, settings.lib_dirs) and _SONAME.match(base)
        if (
            is_library
            or _in(path, settings.bin_dirs)
            or (not path.startswith("usr/share/") and base.endswith(_FILE_SUFFIXES))
        ):
            found.append(Evidence("file", azure_path(path, settings), path))
    unique = {(e.kind, e.value): e for e in found}
    return sorted(unique.values(), key=lambda e: (KINDS.index(e.kind), e.value))
