"""Ubuntu names the table lacks, found on Azure Linux by what the Ubuntu package contains.

Each piece of evidence (debcontent.py: a soname, a pkg-config or CMake name, a Python
distribution, a file on the Azure Linux path) is looked up exactly in a PackageIndex: a package
that provides it is a *verified* finding, with the evidence named. Real repodata (with filelists)
answers all of it; the shipped snapshot has declared Provides only, so there the weaker answer is
*by source package*: Ubuntu's Source name as an Azure Linux source spec and the binary packages
it builds, marked unverified. Nothing is invented: every name returned is in the index used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from specgen.mapping.debcontent import CAPABILITY_KINDS, Evidence
from specgen.mapping.debindex import DebPackage
from specgen.mapping.pkgindex import PackageIndex

VERIFIED, BY_SOURCE, MISSING, NOT_IN_UBUNTU = "verified", "by-source", "missing", "not-in-ubuntu"
_NOISE = ("-debuginfo", "-debugsource")
_NOT_RUNTIME = ("-devel", "-static", "-doc", "-docs", "-debuginfo", "-debugsource")
# boost1.83 -> boost, gcc-14 -> gcc (not re2 -> re: a bare number needs a dot or a hyphen)
_VERSIONED_SOURCE = re.compile(r"^(?P<stem>.+?)(?:\d+(?:\.\d+)+|-\d+(?:\.\d+)*)$")


@dataclass(frozen=True)
class Candidate:
    """An Azure Linux package for an Ubuntu one, and why: the evidence it matched."""

    package: str
    strength: str  # verified | by-source
    evidence: tuple[str, ...]  # what it matched (capabilities, then "N files"), or the source
    capabilities: int = 0
    files: int = 0


@dataclass(frozen=True)
class ContentFinding:
    """What one Ubuntu name is on Azure Linux, by content; `packages` go into the table entry."""

    name: str
    status: str  # verified | by-source | missing | not-in-ubuntu
    suite: str
    source: str | None = None  # Ubuntu's Source: name
    evidence: tuple[Evidence, ...] = ()
    candidates: tuple[Candidate, ...] = ()
    packages: tuple[str, ...] = ()
    reason: str = ""
    suggestions: tuple[str, ...] = ()

    @property
    def verified(self) -> bool:
        return self.status == VERIFIED

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "suite": self.suite,
            "ubuntu_source": self.source,
            "evidence": [
                {"kind": e.kind, "value": e.value, "ubuntu_path": e.ubuntu_path}
                for e in self.evidence
            ],
            "candidates": [
                {
                    "package": c.package,
                    "strength": c.strength,
                    "evidence": list(c.evidence),
                    "capabilities": c.capabilities,
                    "files": c.files,
                }
                for c in self.candidates
            ],
            "packages": list(self.packages),
            "reason": self.reason,
            "suggestions": list(self.suggestions),
        }


@dataclass
class _Matcher:
    """Exact look-ups in the index: capabilities (CMake names case-insensitively, as rpm's
    generator writes both spellings) and file paths, only ever naming packages the index has."""

    index: PackageIndex
    _cmake: dict[str, set[str]] = field(default_factory=dict)

    def providers(self, ev: Evidence) -> set[str]:
        found = set(self.index.whatprovides(ev.value))
        if ev.kind == "cmake":
            if not self._cmake:
                for cap, names in self.index.provides.items():
                    if cap.startswith("cmake("):
                        self._cmake.setdefault(cap.lower(), set()).update(names)
            found |= self._cmake.get(ev.value.lower(), set())
        return {p for p in found if self.index.has(p)}


def _verified(evidence: Sequence[Evidence], matcher: _Matcher) -> list[Candidate]:
    caps: dict[str, list[str]] = {}
    files: dict[str, int] = {}
    for ev in evidence:
        for pkg in matcher.providers(ev):
            if ev.kind == "file":
                files[pkg] = files.get(pkg, 0) + 1
            else:
                caps.setdefault(pkg, []).append(ev.label)
    total_files = sum(1 for e in evidence if e.kind == "file")
    out = []
    for pkg in set(caps) | set(files):
        matched = list(caps.get(pkg, []))
        if files.get(pkg):
            matched.append(f"{files[pkg]} of {total_files} files")
        out.append(
            Candidate(pkg, VERIFIED, tuple(matched), len(caps.get(pkg, [])), files.get(pkg, 0))
        )
    return sorted(out, key=lambda c: (-c.capabilities, -c.files, c.package))


def _chosen(
    candidates: Sequence[Candidate], evidence: Sequence[Evidence], matcher: _Matcher
) -> tuple[str, ...]:
    """The best candidate, plus any other that alone provides a capability the first lacks
    (an Ubuntu package that Azure Linux splits in two)."""
    chosen = [candidates[0].package]
    for ev in evidence:
        if ev.kind not in CAPABILITY_KINDS:
            continue
        providers = matcher.providers(ev)
        if providers and not providers & set(chosen):
            best = [c.package for c in candidates if c.package in providers]
            chosen.append(best[0])
    return tuple(dict.fromkeys(chosen))


def source_names(source: str, name: str) -> list[str]:
    """Azure Linux source spec names to try for an Ubuntu source, exact first: the source
    without a version (boost1.83, gcc-14) or Debian's `-defaults` (python3-defaults), and
    `python-X` for a python3-* package (Fedora's naming of Python sources)."""
    names = [source, source.lower()]
    stem = source.removesuffix("-defaults")
    m = _VERSIONED_SOURCE.match(stem)
    names += [stem, m.group("stem")] if m else [stem]
    if name.startswith("python3-"):
        names.append(f"python-{source.removeprefix('python-')}")
    return list(dict.fromkeys(names))


def _by_source(
    name: str,
    deb: DebPackage,
    evidence: Sequence[Evidence],
    index: PackageIndex,
    sources: Mapping[str, Sequence[str]],
) -> list[Candidate]:
    """The binary packages of the Azure Linux source spec named like Ubuntu's source: -devel
    ones for a -dev package, the library ones for a package of sonames."""
    for src in source_names(deb.source, name):
        built = [p for p in sources.get(src, ()) if index.has(p) and not p.endswith(_NOISE)]
        if not built:
            continue
        if name.endswith("-dev"):
            preferred = [p for p in built if p.endswith("-devel")]
        elif any(e.kind == "soname" for e in evidence) or name.startswith("lib"):
            preferred = [p for p in built if not p.endswith(_NOT_RUNTIME)]
        else:
            preferred = [p for p in built if p == src] or [
                p for p in built if not p.endswith(_NOT_RUNTIME)
            ]
        why = (
            f"Ubuntu source {deb.source} is Azure Linux source spec {src} (by name, not by content)"
        )
        return [Candidate(p, BY_SOURCE, (why,)) for p in (preferred or built)]
    return []


def find(
    name: str,
    deb: DebPackage | None,
    evidence: Sequence[Evidence],
    index: PackageIndex,
    *,
    suite: str,
    sources: Mapping[str, Sequence[str]] | None = None,
    suggestions: Sequence[str] = (),
) -> ContentFinding:
    """One Ubuntu name's finding: verified by its evidence, else by its source, else missing."""
    if deb is None:
        return ContentFinding(
            name,
            NOT_IN_UBUNTU,
            suite,
            reason=f"Ubuntu {suite} has no package {name} (a third-party repository's?)",
            suggestions=tuple(suggestions),
        )
    matcher = _Matcher(index)
    verified = _verified(evidence, matcher)
    base = ContentFinding(name, MISSING, suite, source=deb.source, evidence=tuple(evidence))
    if verified:
        packages = _chosen(verified, evidence, matcher)
        return replace(
            base,
            status=VERIFIED,
            candidates=tuple(verified[:5]),
            packages=packages,
            reason=_why(name, suite, packages, verified),
        )
    weaker = _by_source(name, deb, evidence, index, sources or {})
    if weaker:
        return replace(
            base,
            status=BY_SOURCE,
            candidates=tuple(weaker),
            packages=tuple(c.package for c in weaker),
            reason=weaker[0].evidence[0],
        )
    what = f"{len(evidence)} pieces of evidence" if evidence else "no evidence (no files)"
    return replace(
        base,
        reason=f"nothing in the index provides what Ubuntu {suite} {name} contains ({what}), "
        f"and no Azure Linux source spec is named like its source {deb.source}",
        suggestions=tuple(suggestions),
    )


def _why(
    name: str,
    suite: str,
    packages: Sequence[str],
    candidates: Sequence[Candidate],
) -> str:
    parts = []
    for c in candidates:
        if c.package in packages:
            parts.append(f"{c.package} has {', '.join(c.evidence)}")
    return f"by content (Ubuntu {suite} {name}): " + "; ".join(parts)
