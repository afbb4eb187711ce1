"""Azure Linux 3.0 spec rules: a spec's text in, findings out (no files read, nothing run).

Each rule is a function over a parsed `Spec`, listed in RULES under the id printed in brackets.
The caller reads the spec and its signatures file and runs `rpmspec -P`, and hands the results
in as a `SpecInput`, so every rule can be tested on strings. A missing tag, section or file is
reported at line 1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePath

from specgen.lint.spdx import spdx_problem
from specgen.lint.specparse import Package, Section, Spec, SpecInput, Tag, parse


@dataclass(frozen=True)
class Finding:
    """One problem at a file and line; warnings are shown but never fail the run."""

    path: str
    line: int
    rule: str
    message: str
    warning: bool = False

    def __str__(self) -> str:
        kind = "warning: " if self.warning else ""
        return f"{self.path}:{self.line}: {kind}[{self.rule}] {self.message}"


@dataclass(frozen=True)
class Hit:
    """A rule's result before the runner adds the rule id and (unless given) the spec path."""

    line: int
    message: str
    warning: bool = False
    path: str | None = None


def _preamble_tags(spec: Spec) -> Iterator[Tag]:
    for pkg in spec.packages.values():
        yield from pkg.tags


def _body_lines(spec: Spec) -> Iterator[tuple[int, str]]:
    """Every line except comments and the changelog, where paths are only mentioned."""
    for sec in spec.sections:
        if sec.keyword != "changelog":
            yield from ((no, t) for no, t in sec.body if not t.lstrip().startswith("#"))


# ---- rules


def _exact(key: str, want: str) -> Callable[[Spec], Iterator[Hit]]:
    def check(spec: Spec) -> Iterator[Hit]:
        tag = spec.tag(key)
        if tag is None:
            yield Hit(1, f"{key.capitalize()}: missing (want {want!r})")
        elif tag.value != want:
            yield Hit(tag.line, f"{tag.name}: is {tag.value!r}, want {want!r}")

    check.__doc__ = f"{key.capitalize()} is exactly {want!r} in the main package."
    return check


def _release_dist(spec: Spec) -> Iterator[Hit]:
    """Release ends with %{?dist}, so the build adds .azl3."""
    tag = spec.tag("release")
    if tag is None:
        yield Hit(1, "Release: missing")
    elif not tag.value.endswith("%{?dist}"):
        yield Hit(tag.line, f"Release: {tag.value!r} does not end with %{{?dist}}")


def _name_file(spec: Spec) -> Iterator[Hit]:
    """Name equals the file name without .spec (SPECS/<name>/<name>.spec)."""
    tag = spec.tag("name")
    if tag is None:
        yield Hit(1, "Name: missing")
    elif tag.value != spec.input.stem:
        yield Hit(tag.line, f"Name: {tag.value!r} differs from the file name {spec.input.stem!r}")


def _license_spdx(spec: Spec) -> Iterator[Hit]:
    """License is an SPDX expression of allow-listed identifiers (or LicenseRef-...)."""
    if spec.tag("license") is None:
        yield Hit(1, "License: missing")
    for tag in _preamble_tags(spec):
        if tag.key == "license" and (problem := spdx_problem(tag.value)):
            yield Hit(tag.line, f"License: {problem}")


def _tag_align(spec: Spec) -> Iterator[Hit]:
    """Values start at column 17, spaces only; when `Tag:` is 16+ characters, after one space."""
    for tag in _preamble_tags(spec):
        if not tag.value:
            continue
        want = max(17, len(tag.name) + 3)
        if "\t" in tag.gap:
            yield Hit(tag.line, f"{tag.name}: use spaces, not tabs, to align the value")
        elif tag.column != want:
            yield Hit(tag.line, f"{tag.name}: value starts at column {tag.column}, want {want}")


def _no_clean(spec: Spec) -> Iterator[Hit]:
    """No %clean section: rpm cleans the buildroot itself."""
    for sec in spec.sections:
        if sec.keyword == "clean":
            yield Hit(sec.line, "%clean section: remove it")


_PATCH_N = re.compile(r"^\s*%\{?patch(\d+)\b")


def _no_patchn(spec: Spec) -> Iterator[Hit]:
    """No %patchN (removed in rpm 4.20); %patch -P N instead."""
    for no, text in _body_lines(spec):
        if m := _PATCH_N.match(text):
            yield Hit(no, f"%patch{m[1]}: write %patch -P {m[1]}")


_WEAK = {"recommends", "suggests", "supplements", "enhances"}


def _no_weak_deps(spec: Spec) -> Iterator[Hit]:
    """No weak dependencies: Azure Linux installs without them (install_weak_deps=0)."""
    for tag in _preamble_tags(spec):
        if tag.key in _WEAK:
            yield Hit(tag.line, f"{tag.name}: weak dependency; use Requires or drop it")


def _changelog(spec: Spec) -> tuple[Section | None, list[tuple[int, list[str]]]]:
    """The %changelog section and its entries: (header line, [header, body lines...])."""
    sec = next((s for s in spec.sections if s.keyword == "changelog"), None)
    entries: list[tuple[int, list[str]]] = []
    for no, text in sec.body if sec else []:
        if text.startswith("*"):
            entries.append((no, [text]))
        elif entries:
            entries[-1][1].append(text)
    return sec, entries


def _changelog_present(spec: Spec) -> Iterator[Hit]:
    """A %changelog section with at least one `* date name - EVR` entry."""
    sec, entries = _changelog(spec)
    if sec is None:
        yield Hit(1, "%changelog: missing")
    elif not entries:
        yield Hit(sec.line, "%changelog: no entry")


_DIST = re.compile(r"%\{\??dist\}|%dist\b|\.azl\d")


def _changelog_dist(spec: Spec) -> Iterator[Hit]:
    """The newest entry's EVR has no dist: the changelog is the same on every build."""
    _, entries = _changelog(spec)
    if entries and _DIST.search(entries[0][1][0]):
        yield Hit(entries[0][0], "newest %changelog EVR contains the dist tag: drop it")


def _changelog_verified(spec: Spec) -> Iterator[Hit]:
    """The newest entry says `- License verified.` (Azure Linux reviews the license on change)."""
    _, entries = _changelog(spec)
    if entries and not any(t.strip() == "- License verified." for t in entries[0][1][1:]):
        yield Hit(entries[0][0], "newest %changelog entry lacks a '- License verified.' line")


_ATTRIBUTION = re.compile(
    r"^- (Original version for (Azure Linux|CBL-Mariner)"
    r"|Initial (Azure Linux|CBL-Mariner) import from .+?) \(license: [^)]+\)\.?$"
)


def _changelog_attribution(spec: Spec) -> Iterator[Hit]:
    """Some entry (usually the oldest) names the spec's origin and that spec's license.

    Searched in every entry, not only the newest: a spec updated after its import keeps the
    attribution in its first entry, as Azure Linux's own specs do.
    """
    _, entries = _changelog(spec)
    if entries and not any(_ATTRIBUTION.match(t.strip()) for _, e in entries for t in e[1:]):
        yield Hit(
            entries[0][0],
            "%changelog lacks a source attribution such as "
            "'- Original version for Azure Linux (license: MIT).'",
        )


_DEP_OP = {"=", "<", "<=", ">", ">="}


def _requires(pkg: Package) -> Iterator[tuple[str, str, str]]:
    """(name, operator, version) for each plain Requires of a package; no operator: "", ""."""
    for tag in pkg.tags:
        if tag.name.lower() != "requires":
            continue
        words = tag.value.replace(",", " ").split()
        i = 0
        while i < len(words):
            if i + 2 < len(words) and words[i + 1] in _DEP_OP:
                yield words[i], words[i + 1], words[i + 2]
                i += 3
            else:
                yield words[i], "", ""
                i += 1


def _has_license(spec: Spec, name: str, seen: frozenset[str] = frozenset()) -> bool:
    """Its %files has %license, or it Requires a same-version package of this spec that has.

    A package counts as covered when it ships %license itself, or when one of its plain
    `Requires:` names another package of this spec (after %{name} and %{?_isa} are resolved)
    at exactly `= %{version}...` and that package is covered in turn (cycles are not).
    """
    pkg = spec.packages[name]
    if pkg.files and any(t.strip().startswith("%license") for _, t in pkg.files.body):
        return True
    version = spec.tag("version")
    pinned = ("%{version}", *((version.value,) if version else ()))
    same_version = [
        spec.expand(dep.replace("%{?_isa}", ""))
        for dep, op, ver in _requires(pkg)
        if op == "=" and ver.startswith(pinned)
    ]
    return any(
        other in spec.packages and other not in seen and _has_license(spec, other, seen | {name})
        for other in same_version
    )


def _license_file(spec: Spec) -> Iterator[Hit]:
    """The main package's %files has %license; a subpackage has one or Requires one that has."""
    for name, pkg in spec.packages.items():
        if pkg.files is None or _has_license(spec, name):
            continue
        if pkg is spec.main:
            yield Hit(pkg.files.line, "%files of the main package has no %license")
        else:
            yield Hit(
                pkg.files.line,
                f"%files of {name} has no %license and does not Require "
                "%{name}... = %{version}-%{release} of a package that has one",
            )


_HARDCODED = re.compile(r"/usr/(lib64|local)\b|%\{?_prefix\}?/(lib64|local)\b")
_GLOBAL = re.compile(r"\s*%(global|define)\s+\w+\s")


def _hardcoded_path(spec: Spec) -> Iterator[Hit]:
    """No /usr/lib64, /usr/local or %{_prefix}/lib64: %_libdir is /usr/lib on Azure Linux.

    A `%global` naming a vendor's /usr/local location (NVIDIA's CUDA repository installs to
    /usr/local/cuda-X.Y) is only a warning: the spec reads from it but installs nothing there.
    """
    for no, text in _body_lines(spec):
        if m := _HARDCODED.search(text):
            if "local" in m[0] and _GLOBAL.match(text):
                yield Hit(no, f"{m[0]} in a %global: read-only vendor path?", warning=True)
                continue
            hint = "use %{_libdir}" if "lib64" in m[0] else "install under %{_prefix} (/usr)"
            yield Hit(no, f"hard-coded {m[0]}: {hint}")


def source_basename(url: str) -> str:
    """The file name a Source gets: after `#/` when the URL has that fragment, else after `/`."""
    if "#/" in url:
        url = url.split("#/", 1)[1]
    return url.rstrip().rsplit("/", 1)[-1]


_SOURCE_KEY = re.compile(r"source\d*")
_UNPINNED = re.compile(r"^#\s*unpinned:\s*(\S+)\s*$")


def _sources(spec: Spec) -> Iterator[tuple[Tag, str]]:
    """(tag as written, basename after expansion) for each Source of the main package.

    With rpmspec -P output the n-th SourceX tag there is matched to the n-th SourceX tag here
    (conditionals rpmspec dropped are skipped); without it only %{name}/%{version} expand.
    """
    original = [t for t in spec.main.tags if _SOURCE_KEY.fullmatch(t.key)]
    if spec.input.expanded is None:
        yield from ((t, source_basename(spec.expand(t.value))) for t in original)
        return
    expanded = parse(SpecInput(spec.input.path, spec.input.expanded))
    left = list(original)
    for tag in (t for t in expanded.main.tags if _SOURCE_KEY.fullmatch(t.key)):
        match = next((t for t in left if t.key == tag.key), None)
        if match is not None:
            left.remove(match)
        yield match or tag, source_basename(tag.value)


def _json_line(text: str, key: str) -> int:
    at = text.find(json.dumps(key))
    return text.count("\n", 0, at) + 1 if at >= 0 else 1


def _signatures(spec: Spec) -> Iterator[Hit]:
    """<name>.signatures.json lists every Source's basename with a SHA-256 digest.

    A Source missing from it is accepted, as a warning, when the spec has `# unpinned: <basename>`.
    """
    sources = list(_sources(spec))
    path, text = spec.input.signatures_path, spec.input.signatures
    name = PurePath(path).name
    if not sources:
        return
    if text is None:
        yield Hit(1, f"{name} missing beside the spec")
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        yield Hit(err.lineno, f"invalid JSON: {err.msg}", path=path)
        return
    table = data.get("Signatures") if isinstance(data, dict) else None
    if not isinstance(table, dict):
        yield Hit(1, 'want {"Signatures": {"<source basename>": "<sha256>"}}', path=path)
        return
    for key, digest in table.items():
        if not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)):
            yield Hit(_json_line(text, key), f"{key}: not a lower-case SHA-256 digest", path=path)
    unpinned = {
        spec.expand(m[1])
        for sec in spec.sections
        for _, t in sec.body
        if (m := _UNPINNED.match(t.strip()))
    }
    for tag, base in sources:
        if base in table:
            continue
        if "%" in base:
            how = "" if spec.input.expanded is not None else " without rpmspec"
            yield Hit(tag.line, f"{tag.name}: cannot expand {base!r}{how}; not checked", True)
        elif base in unpinned:
            yield Hit(tag.line, f"{tag.name}: {base} not in {name} (marked unpinned)", True)
        else:
            yield Hit(tag.line, f"{tag.name}: {base} not listed in {name}")


_RPM_LINE = re.compile(r"(?:line |\.spec:)(\d+):")


def _rpmspec(spec: Spec) -> Iterator[Hit]:
    """`rpmspec -P` with the Azure Linux macros succeeds (the caller ran it)."""
    err = spec.input.rpmspec_error
    if err is None:
        return
    lines = [t.strip() for t in err.splitlines() if t.strip()]
    first = next((t for t in lines if t.startswith("error:")), lines[0] if lines else "failed")
    m = _RPM_LINE.search(first)
    message = first[m.end() :].strip() if m else first.removeprefix("error:").strip()
    yield Hit(int(m[1]) if m else 1, f"rpmspec -P: {message}")


Check = Callable[[Spec], Iterator[Hit]]

RULES: dict[str, Check] = {
    "vendor": _exact("vendor", "Microsoft Corporation"),
    "distribution": _exact("distribution", "Azure Linux"),
    "release-dist": _release_dist,
    "name-file": _name_file,
    "license-spdx": _license_spdx,
    "tag-align": _tag_align,
    "no-clean": _no_clean,
    "no-patchn": _no_patchn,
    "no-weak-deps": _no_weak_deps,
    "changelog": _changelog_present,
    "changelog-dist": _changelog_dist,
    "changelog-license-verified": _changelog_verified,
    "changelog-attribution": _changelog_attribution,
    "license-file": _license_file,
    "hardcoded-path": _hardcoded_path,
    "signatures": _signatures,
    "rpmspec": _rpmspec,
}


def lint_spec(source: SpecInput) -> list[Finding]:
    """Every rule's findings for one spec, in line order."""
    spec = parse(source)
    found = [
        Finding(hit.path or source.path, hit.line, rule, hit.message, hit.warning)
        for rule, check in RULES.items()
        for hit in check(spec)
    ]
    return sorted(found, key=lambda f: (f.path != source.path, f.path, f.line))
