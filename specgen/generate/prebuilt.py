"""Specs that repackage prebuilt archives (cuDNN, TensorRT, CUDA components) from data files.

Each archive is chosen per RPM arch (`%ifarch`), its files copied with their soname links into
FHS paths, and nothing in it is rebuilt, stripped or patched.
"""

from __future__ import annotations

import re
from typing import Any

from specgen.generate import speclang
from specgen.generate.context import BuildContext
from specgen.generate.package import (
    PackageSpec,
    Source,
    Subpackage,
    checked_subpackage,
    header_fields,
)
from specgen.generate.pins import PinBook
from specgen.generate.pkgdata import fill, fill_all
from specgen.generate.redist import RPM_ARCH_TO_PLATFORM

# Per RPM arch: NVIDIA's platform name (as its redist manifests say) and the arch itself.
ARCH_FACTS = {arch: {"platform": p, "arch": arch} for arch, p in RPM_ARCH_TO_PLATFORM.items()}
_REGEX = re.compile(r"[A-Za-z0-9_.\\^$*()|+-]+")
_GLOB = re.compile(r"[A-Za-z0-9_.*/-]+")


def arch_sources(
    owner: str,
    url_template: str | dict[str, str],
    facts: dict[str, str],
    pins: PinBook,
    archs: tuple[str, ...] = tuple(ARCH_FACTS),
) -> tuple[Source, ...]:
    """One Source per RPM arch from a URL template (or one per arch); `{version}` is written
    as `%{version}`."""
    sources = []
    for number, arch in enumerate(archs):
        arch_facts = ARCH_FACTS[arch]
        template = url_template[arch] if isinstance(url_template, dict) else url_template
        url = speclang.url(owner, "Source", fill(template, {**facts, **arch_facts}, owner))
        spec_url = fill(template, {**facts, **arch_facts, "version": "%{version}"}, owner)
        pin = pins.get(url)
        sources.append(
            Source(
                number=number,
                spec_url=spec_url,
                url=url,
                file=url.rsplit("/", 1)[1],
                arch=arch,
                sha256=pin.sha256 if pin else None,
                size=pin.size if pin else None,
                pinned_by=pin.pinned_by if pin else None,
            )
        )
    return tuple(sources)


def build_prebuilt(data: dict[str, Any], ctx: BuildContext) -> PackageSpec:
    """The PackageSpec of one prebuilt package data file."""
    where = data["_where"]
    release, cuda, pins = ctx.release, ctx.cuda, ctx.pins
    facts = ctx.facts()
    name = speclang.name(where, "name", fill(data["name"], facts, where))
    version = speclang.version(name, "Version", fill(data["version"], facts, where))
    facts = {**facts, "name": name, "version": version}
    archs = tuple(data.get("archs", ARCH_FACTS))
    unknown = set(archs) - set(ARCH_FACTS)
    if unknown:
        raise speclang.SpecValueError(name, "archs", sorted(unknown), "are not x86_64/aarch64")
    archive = data["archive"]
    sources = arch_sources(name, archive.get("urls") or archive["url"], facts, pins, archs)
    license_files = tuple(data.get("license_files", ()))
    subpackages = []
    for raw in data["package"]:
        raw = fill_all(raw, facts, where)
        requires = [*raw.get("requires", []), *map(cuda.runtime, raw.get("requires_cuda", []))]
        summary = raw["summary"]
        sub = Subpackage(
            name=raw["name"],
            summary=summary,
            description=raw.get("description", summary + "."),
            files=tuple(raw.get("files", [])),
            requires=tuple(requires),
            provides=tuple(raw.get("provides", [])),
            license_files=license_files,
        )
        subpackages.append(checked_subpackage(name, sub))
    excludes = tuple(data.get("requires_exclude", ()))
    for regex in excludes:
        if not _REGEX.fullmatch(regex):
            raise speclang.SpecValueError(name, "requires_exclude", regex, "is not a plain regex")
    install = [fill_all(c, facts, where) for c in data.get("install", [])]
    for copy in install:
        if not _GLOB.fullmatch(copy["from"]):
            raise speclang.SpecValueError(name, "install from", copy["from"], "is not a glob")
        speclang.path(name, "install to", copy["to"])
    drops = [
        speclang.path(name, "drop", fill(d["path"], facts, where)) for d in data.get("drop", [])
    ]
    commands = data.get("commands", [])
    note = f"Repackaged from NVIDIA's prebuilt archives for Triton {release.name}."
    return PackageSpec(
        **header_fields(name, version, data, facts, release.date, note),
        template="prebuilt.spec.j2",
        sources=sources,
        subpackages=tuple(subpackages),
        exclusive_arch=archs,
        sections={
            "requires_exclude": "|".join(e.replace("\\", "\\\\") for e in excludes),
            "install": install,
            "drop": drops,
            "commands": [fill(c["run"], facts, where).strip("\n") for c in commands],
        },
    )
