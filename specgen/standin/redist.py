"""A CUDA component's redist archive (`<component>-linux-x86_64-<version>-archive.tar.xz`, as
NVIDIA's `redistrib_<cuda>.json` names it) from PyPI's wheel of the same component and version,
which carries the same files laid out for Python: `nvidia/<package>/{bin,include,lib,nvvm}`,
each library only under its soname, no links, no static libraries.

The archive has NVIDIA's layout: `<top>/bin`, `include`, `lib` (the real file named with the
component's version where its soname is a prefix of it, as NVIDIA names them, with the soname
and development links), `nvvm` and `LICENSE` (the wheel's License.txt). What a wheel lacks can
be added from other files (`Extra`): the compiler driver and front end of cuda_nvcc come from
Debian's package of NVIDIA's binaries, of another CUDA version (docs/gpu-build.md)."""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from specgen.errors import SpecgenError
from specgen.standin.archive import Wheel, vendor_tar

# libX.so.12, libnvrtc-builtins.so.12.8, libnvrtc.alt.so.12: stem and the soname's version.
_SONAME = re.compile(r"(?P<stem>lib[\w.+-]+?)\.so\.(?P<version>\d+(?:\.\d+)*)")
_AREAS = ("bin", "include", "lib", "nvvm")


@dataclass(frozen=True)
class Extra:
    """A file the wheel lacks, put into the archive at `rel` from `path`."""

    rel: str
    path: Path
    mode: int = 0o644


@dataclass(frozen=True)
class RedistArchive:
    archive: Path
    from_wheel: tuple[str, ...]  # the archive paths (under top) taken from the wheel
    extras: tuple[str, ...]  # the archive paths taken from elsewhere


def library_layout(name: str, version: str) -> tuple[str, list[tuple[str, str]]]:
    """The real file's name for a wheel's library, and the links (name, target) beside it.

    `libcublas.so.12` of 12.8.4.1 is `libcublas.so.12.8.4.1`, with `libcublas.so.12` and
    `libcublas.so` links; a soname that is not a prefix of the version (`libnvToolsExt.so.1` of
    12.8.90) keeps its name; an unversioned `libnvperf_host.so` is a plain file."""
    match = _SONAME.fullmatch(name)
    if match is None:
        return name, []
    stem, soversion = match["stem"], match["version"]
    if version.startswith(soversion + "."):
        real = f"{stem}.so.{version}"
        return real, [(name, real), (f"{stem}.so", name)]
    return name, [(f"{stem}.so", name)]


def _package_folder(wheel: Wheel) -> str:
    """The wheel's one `nvidia/<package>/` folder."""
    folders = {
        i.filename.split("/")[1]
        for i in wheel.zip.infolist()
        if i.filename.startswith("nvidia/") and i.filename.count("/") >= 2
    }
    if len(folders) != 1:
        raise SpecgenError(f"{wheel.path.name}: {len(folders)} folders under nvidia/, not one")
    return f"nvidia/{folders.pop()}/"


def _mode(area: str, rel: str) -> int:
    executable = area == "bin" or rel.startswith(("nvvm/bin/", "nvvm/lib64/")) or ".so" in rel
    return 0o755 if executable else 0o644


def redist_archive(
    wheel_path: Path, out_dir: Path, archive_name: str, version: str, extras: tuple[Extra, ...] = ()
) -> RedistArchive:
    """out_dir/archive_name (a `…-archive.tar.xz`) from the wheel and the extras."""
    if not archive_name.endswith("-archive.tar.xz"):
        raise SpecgenError(f"{archive_name}: not a CUDA redist archive name")
    top = archive_name.removesuffix(".tar.xz")
    wheel = Wheel(wheel_path)
    prefix = _package_folder(wheel)
    members = sorted(
        (
            i
            for i in wheel.members(prefix)
            if not i.filename.endswith("/__init__.py")
            # not .metadata/: the wheel build's own notes
            and i.filename.removeprefix(prefix).split("/", 1)[0] in _AREAS
            and "/" in i.filename.removeprefix(prefix)
        ),
        key=lambda i: i.filename,
    )
    if not members:
        raise SpecgenError(f"{wheel_path.name}: nothing under {prefix}{{{','.join(_AREAS)}}}/")
    license_member = wheel.find(".dist-info/License.txt")
    # (member, path in the archive, links beside it), decided before anything is written
    planned: list[tuple[zipfile.ZipInfo, str, list[tuple[str, str]]]] = []
    for info in members:
        rel = info.filename.removeprefix(prefix)
        links: list[tuple[str, str]] = []
        if rel.startswith("lib/") and rel.count("/") == 1:
            real, links = library_layout(rel.removeprefix("lib/"), version)
            rel = f"lib/{real}"
        planned.append((info, rel, [(f"lib/{link}", target) for link, target in links]))
    taken = [p for _, rel, links in planned for p in (rel, *(link for link, _ in links))]
    taken.append("LICENSE")
    clash = sorted(e.rel for e in extras if e.rel in taken)
    if clash:
        raise SpecgenError(f"{wheel_path.name}: already has {', '.join(clash)}")
    with vendor_tar(out_dir / archive_name, top, wheel.mtime(license_member)) as tar:
        for info, rel, links in planned:
            wheel.copy_to(tar, info, rel, _mode(rel.split("/", 1)[0], rel))
            for link, target in links:
                tar.link(link, target)
        wheel.copy_to(tar, license_member, "LICENSE")
        for extra in sorted(extras, key=lambda e: e.rel):
            tar.file(extra.rel, extra.path, extra.mode)
    return RedistArchive(out_dir / archive_name, tuple(taken), tuple(sorted(e.rel for e in extras)))
