"""Specs of libraries built from source (libb64, libevhtp, prometheus-cpp, dlpack) from data.

The data names the tarball (a third-party tag, or a Triton repository at the release's commit),
the CMake options (fixed ones, and ones that must follow the recipe, such as libevhtp's tracing
switch, which changes a struct and so must match the server's), and the subpackages.
"""

from __future__ import annotations

import re
from typing import Any

from specgen.generate import speclang
from specgen.generate.context import BuildContext
from specgen.generate.github import strip_fragment, triton_archive
from specgen.generate.package import (
    PackageSpec,
    Source,
    Subpackage,
    checked_subpackage,
    comment_lines,
    header_fields,
    local_source,
)
from specgen.generate.pins import KnownPin
from specgen.generate.pkgdata import fill, fill_all
from specgen.generate.switches import recipe_switches


def _source(
    owner: str, data: dict[str, Any], ctx: BuildContext, facts: dict[str, str]
) -> tuple[Source, str]:
    """Source0 and the top folder of its tarball."""
    where = data["_where"]
    raw = data["source"]
    if "triton_repo" in raw:
        tag = ctx.node.get("tag") or ctx.release.triton_tag
        archive = triton_archive(raw["triton_repo"], ctx.release, str(tag))
        spec_url, top_dir = archive.url, archive.top_dir
        url = strip_fragment(archive.url)
    else:
        url = strip_fragment(fill(raw["url"], facts, where))
        spec_url = fill(raw["url"], {**facts, "version": "%{version}", "name": "%{name}"}, where)
        top_dir = fill(raw["top_dir"], facts, where)
    speclang.url(owner, "Source0", url)
    file = spec_url.rsplit("#/", 1)[1] if "#/" in spec_url else url.rsplit("/", 1)[1]
    file = fill(file.replace("%{version}", "{version}").replace("%{name}", "{name}"), facts, where)
    pin = ctx.pins.get(url) or _data_pin(owner, raw, facts["version"])
    source = Source(
        number=0, spec_url=spec_url, url=url, file=file,
        sha256=pin.sha256 if pin else None, size=pin.size if pin else None,
        pinned_by=pin.pinned_by if pin else None,
    )  # fmt: skip
    return source, speclang.name(owner, "top folder", top_dir)


def _data_pin(owner: str, raw: dict[str, Any], version: str) -> KnownPin | None:
    """A sha256 the package data records for its Source (with where it was read): `sha256` for
    a fixed version, `sha256_by_version` where the version follows the recipe."""
    sha = raw.get("sha256") or raw.get("sha256_by_version", {}).get(version)
    if sha is None:
        return None
    if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise speclang.SpecValueError(owner, "source sha256", sha, "is not 64 lowercase hex")
    return KnownPin(sha, raw.get("size"), str(raw.get("pinned_by", "package data")))


def cmake_options(owner: str, data: dict[str, Any]) -> list[str] | None:
    """`-DKEY=VALUE` lines (a value may follow a %bcond: `%{?with_x:ON}%{!?with_x:OFF}`)."""
    if "cmake" not in data:
        return None
    options = data["cmake"].get("options", {})
    return [speclang.cmake_option(owner, k, str(v)) for k, v in options.items()]


def build_source(data: dict[str, Any], ctx: BuildContext) -> PackageSpec:
    """The PackageSpec of one source-built package data file."""
    where = data["_where"]
    facts = ctx.facts()
    name = speclang.name(where, "name", fill(data["name"], facts, where))
    version = speclang.version(name, "Version", fill(data["version"], facts, where))
    facts = {**facts, "name": name, "version": version}
    source, top_dir = _source(name, data, ctx, facts)
    license_files = tuple(data.get("license_files", ()))
    subpackages = []
    for raw in data["package"]:
        raw = fill_all(raw, facts, where)
        summary = raw["summary"]
        sub = Subpackage(
            name=raw["name"],
            summary=summary,
            description=raw.get("description", summary + "."),
            files=tuple(raw.get("files", [])),
            requires=tuple(raw.get("requires", [])),
            provides=tuple(raw.get("provides", [])),
            license_files=license_files,
            doc_files=tuple(raw.get("doc_files", [])),
            absent=bool(raw.get("absent", False)),
        )
        subpackages.append(checked_subpackage(name, sub))
    commands = {
        phase: [fill(c["run"], facts, where).strip("\n") for c in data.get("commands", [])
                if c["phase"] == phase]
        for phase in ("prep", "build", "install")
    }  # fmt: skip
    core = ctx.recipe.cmake.core.options if ctx.recipe.cmake and ctx.recipe.cmake.core else {}
    switches = recipe_switches(name, data, core, set())
    local_files = [local_source(n, f) for n, f in enumerate(data.get("local_files", []), 1)]
    srcdir = data.get("cmake", {}).get("srcdir")
    note = f"Built from source for Triton {ctx.release.name}."
    return PackageSpec(
        **header_fields(name, version, data, facts, ctx.release.date, note),
        template="source.spec.j2",
        sources=(source, *local_files),
        subpackages=tuple(subpackages),
        bconds=tuple((s.name, s.on) for s in switches),
        sections={
            "bcond_notes": {s.name: comment_lines(s.why) for s in switches},
            "top_dir": top_dir,
            "srcdir": speclang.path(name, "srcdir", "/" + srcdir)[1:] if srcdir else None,
            "cmake": cmake_options(name, data),
            **commands,
        },
    )
