"""The model a spec template renders: one source package, its Sources and its subpackages.

Builders (prebuilt.py, sourcebuild.py, triton.py) turn data files, release facts and the recipe
into these objects; every constructor checks its values through `speclang`, so a template only
ever sees text that is safe to write.
"""

from __future__ import annotations

import datetime
import hashlib
import textwrap
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from specgen.generate import speclang
from specgen.generate.pkgdata import fill

VENDOR = "Microsoft Corporation"
DISTRIBUTION = "Azure Linux"
PACKAGER = "specgen <specgen@users.noreply.github.com>"


@dataclass(frozen=True)
class Source:
    """`SourceN:` of a spec: the URL as written (may use %{version}), the expanded URL, the file
    name in SOURCES, the RPM arch it is for (None: every arch) and its pin."""

    number: int
    spec_url: str
    url: str
    file: str
    arch: str | None = None
    sha256: str | None = None
    size: int | None = None
    pinned_by: str | None = None
    local_text: str | None = None  # a file written beside the spec, not downloaded

    @property
    def pinned(self) -> bool:
        return self.sha256 is not None


def local_source(number: int, file: str) -> Source:
    """A Source shipped beside the spec: one of specgen's own files (templates/files/)."""
    ref = resources.files("specgen.generate").joinpath("templates", "files", file)
    text = ref.read_text("utf-8")
    data = text.encode("utf-8")
    return Source(
        number=number, spec_url=file, url=file, file=file,
        sha256=hashlib.sha256(data).hexdigest(), size=len(data),
        pinned_by="specgen", local_text=text,
    )  # fmt: skip


@dataclass(frozen=True)
class Subpackage:
    """One binary package: the main one (its name equals the spec's) or a `%package`."""

    name: str
    summary: str
    description: str
    files: tuple[str, ...]
    requires: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    license_files: tuple[str, ...] = ()
    doc_files: tuple[str, ...] = ()
    config_files: tuple[str, ...] = ()
    directories: tuple[str, ...] = ()
    bcond: str | None = None
    absent: bool = False  # main package only: the spec builds subpackages alone (header-only)

    def header(self, main: str) -> str:
        """`devel` for `<main>-devel`, `-n other` for a name that does not start with main's."""
        if self.name.startswith(main + "-"):
            return self.name[len(main) + 1 :]
        return f"-n {self.name}"


@dataclass(frozen=True)
class ChangelogEntry:
    """One %changelog entry: date, author, EVR (no dist) and its lines."""

    date: datetime.date
    evr: str
    lines: tuple[str, ...]
    author: str = PACKAGER

    @property
    def heading(self) -> str:
        return f"* {self.date.strftime('%a %b %d %Y')} {self.author} - {self.evr}"


@dataclass(frozen=True)
class PackageSpec:
    """Everything one spec says. `template` picks the kind's template; `sections` holds the
    kind-specific data (install copies, CMake options, ...) that template reads."""

    name: str
    version: str
    summary: str
    license: str
    url: str
    description: str
    template: str
    sources: tuple[Source, ...]
    subpackages: tuple[Subpackage, ...]
    changelog: tuple[ChangelogEntry, ...]
    release: int = 1
    epoch: int | None = None
    build_requires: tuple[str, ...] = ()
    # BuildRequires under an %if (`%{with gpu}` -> names): in the graph whatever the switch says
    conditional_build_requires: tuple[tuple[str, tuple[str, ...]], ...] = ()
    bconds: tuple[tuple[str, bool], ...] = ()
    exclusive_arch: tuple[str, ...] = ()
    sections: dict[str, object] = field(default_factory=dict)

    @property
    def main(self) -> Subpackage:
        return self.subpackages[0]

    @property
    def evr(self) -> str:
        prefix = f"{self.epoch}:" if self.epoch is not None else ""
        return f"{prefix}{self.version}-{self.release}"

    def provided_names(self) -> set[str]:
        """Names and Provides (without versions) of every binary package: what others can need."""
        names: set[str] = set()
        for sub in self.subpackages:
            names.add(sub.name)
            names.update(p.split()[0] for p in sub.provides)
        return names

    def all_build_requires(self) -> tuple[str, ...]:
        """BuildRequires, conditional ones included."""
        extra = tuple(d for _, deps in self.conditional_build_requires for d in deps)
        return (*self.build_requires, *extra)

    def needed_names(self) -> set[str]:
        """BuildRequires and Requires, without versions."""
        needs = {d.split()[0] for d in self.all_build_requires()}
        for sub in self.subpackages:
            needs.update(d.split()[0] for d in sub.requires)
        return needs


def comment_lines(text: str) -> tuple[str, ...]:
    """Text as `# ` spec comment lines of at most 99 columns, `%` escaped (rpm expands
    macros in comments)."""
    return tuple("# " + line for line in textwrap.wrap(text.replace("%", "%%"), width=97))


def changelog_for(
    release_date: datetime.date, license: str, lines: list[str], evr: str
) -> tuple[ChangelogEntry, ...]:
    """The first changelog entry of a generated spec, with Azure Linux's required lines."""
    body = (
        f"Original version for Azure Linux (license: {license}).",
        "License verified.",
        *lines,
    )
    escaped = tuple(b.replace("%", "%%") for b in body)
    return (ChangelogEntry(date=release_date, evr=evr, lines=escaped),)


def header_fields(
    name: str,
    version: str,
    data: dict[str, Any],
    facts: dict[str, str],
    release_date: datetime.date,
    note: str,
) -> dict[str, Any]:
    """What every kind of spec takes from its data file's top level, checked: Summary, License,
    URL, %description, BuildRequires, and the first changelog entry (with `note`)."""
    where = data["_where"]
    license = speclang.line(name, "License", data["license"])
    return {
        "name": name,
        "version": version,
        "summary": speclang.line(name, "Summary", data["summary"]),
        "license": license,
        "url": speclang.url(name, "URL", data["url"]),
        "description": speclang.text(
            name, "%description", fill(data["description"], facts, where)
        ),
        "changelog": changelog_for(release_date, license, [note], f"{version}-1"),
        "build_requires": tuple(
            speclang.dependency(name, "BuildRequires", fill(b, facts, where))
            for b in data.get("build_requires", [])
        ),
    }


def checked_subpackage(owner: str, sub: Subpackage) -> Subpackage:
    """The subpackage with every value checked (names, dependencies, paths) and text escaped."""
    return Subpackage(
        name=speclang.name(owner, "subpackage name", sub.name),
        summary=speclang.line(owner, f"{sub.name} Summary", sub.summary),
        description=speclang.text(owner, f"{sub.name} %description", sub.description),
        files=tuple(speclang.path(owner, f"{sub.name} %files", f) for f in sub.files),
        requires=tuple(speclang.dependency(owner, f"{sub.name} Requires", d) for d in sub.requires),
        provides=tuple(speclang.dependency(owner, f"{sub.name} Provides", d) for d in sub.provides),
        license_files=tuple(_relative(owner, f) for f in sub.license_files),
        doc_files=tuple(_relative(owner, f) for f in sub.doc_files),
        config_files=tuple(speclang.path(owner, "%config", c) for c in sub.config_files),
        directories=tuple(speclang.path(owner, f"{sub.name} %dir", f) for f in sub.directories),
        bcond=speclang.name(owner, "bcond", sub.bcond) if sub.bcond else None,
        absent=sub.absent,
    )


def _relative(owner: str, value: str) -> str:
    """A file of the build tree named in %license/%doc (relative, no `..`)."""
    if value.startswith("/") or ".." in value.split("/"):
        raise speclang.SpecValueError(owner, "%license/%doc file", value, "must be relative")
    speclang.path(owner, "%license/%doc file", "/" + value)
    return value
