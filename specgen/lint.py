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
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import PurePath


@dataclass(frozen=True)
class SpecInput:
    """One spec as lint sees it; `expanded` and `rpmspec_error` come from `rpmspec -P`."""

    path: str
    text: str
    signatures: str | None = None  # text of <stem>.signatures.json beside it, None when absent
    expanded: str | None = None  # rpmspec -P output, when it ran and succeeded
    rpmspec_error: str | None = None  # rpmspec -P stderr, when it ran and failed

    @property
    def stem(self) -> str:
        return PurePath(self.path).name.removesuffix(".spec")

    @property
    def signatures_path(self) -> str:
        return str(PurePath(self.path).with_name(f"{self.stem}.signatures.json"))


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


# ---- parsing: just enough structure for the rules, line numbers kept

_SECTION = re.compile(
    r"^%(package|description|prep|build|install|check|clean|files|changelog|pre|post|preun"
    r"|postun|pretrans|posttrans|preuntrans|postuntrans|verifyscript|triggerprein|triggerin"
    r"|triggerun|triggerpostun|filetriggerin|filetriggerun|filetriggerpostun"
    r"|transfiletriggerin|transfiletriggerun|transfiletriggerpostun|generate_buildrequires"
    r"|conf|patchlist|sourcelist)(?=\s|$)(.*)$"
)
_TAG = re.compile(r"^(?P<tag>[A-Za-z][A-Za-z0-9]*(?:\([^)]*\))?):(?P<gap>[ \t]*)(?P<value>.*?)\s*$")
_MACRO_NAME = re.compile(r"%\{\??(name|version)\}|%(name|version)\b")


@dataclass(frozen=True)
class Tag:
    """A preamble line `Tag: value`, with where its value starts (1-based column)."""

    name: str
    gap: str
    value: str
    line: int

    @property
    def key(self) -> str:
        """Lower-case tag without its qualifier: `Requires(post)` -> `requires`."""
        return self.name.split("(", 1)[0].lower()

    @property
    def column(self) -> int:
        return len(self.name) + 2 + len(self.gap)


@dataclass
class Section:
    """`%keyword args` and the numbered lines up to the next section; keyword "" is the top."""

    keyword: str
    args: str
    line: int
    body: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Package:
    """A binary package: its preamble tags and its %files section, if any."""

    name: str
    tags: list[Tag]
    files: Section | None = None


@dataclass
class Spec:
    """The parsed spec plus the input it came from."""

    input: SpecInput
    sections: list[Section]
    packages: dict[str, Package]

    @property
    def main(self) -> Package:
        return next(iter(self.packages.values()))

    def tag(self, key: str) -> Tag | None:
        """The main package's first tag of that name (case-insensitive)."""
        return next((t for t in self.main.tags if t.key == key), None)

    def expand(self, value: str) -> str:
        """%{name} and %{version} from the preamble: all lint can expand without rpmspec."""
        known = {k: t.value for k in ("name", "version") if (t := self.tag(k))}
        return _MACRO_NAME.sub(lambda m: known.get(m[1] or m[2], m[0]), value)


def _tags(body: list[tuple[int, str]]) -> list[Tag]:
    found = []
    for no, text in body:
        if m := _TAG.match(text):
            found.append(Tag(m["tag"], m["gap"], m["value"], no))
    return found


def _package_name(args: str, main: str) -> str:
    """`%package devel` -> main-devel, `%files -n foo` -> foo, `%files -f list` -> main."""
    words, name, suffix = args.split(), None, None
    i = 0
    while i < len(words):
        if words[i] == "-n" and i + 1 < len(words):
            name, i = words[i + 1], i + 2
        elif words[i] in ("-f", "-p") and i + 1 < len(words):
            i += 2
        elif words[i].startswith("-"):
            i += 1
        else:
            suffix, i = suffix or words[i], i + 1
    if name:
        return _MACRO_NAME.sub(lambda m: main if (m[1] or m[2]) == "name" else m[0], name)
    return f"{main}-{suffix}" if suffix else main


def parse(source: SpecInput) -> Spec:
    """Split into sections and packages; tags are read from the top and each %package."""
    sections = [Section("", "", 1)]
    for no, text in enumerate(source.text.splitlines(), 1):
        if m := _SECTION.match(text):
            sections.append(Section(m[1], m[2].strip(), no))
        else:
            sections[-1].body.append((no, text))
    main_tags = _tags(sections[0].body)
    main = next((t.value for t in main_tags if t.key == "name"), source.stem)
    packages = {main: Package(main, main_tags)}
    for sec in sections[1:]:
        if sec.keyword == "package":
            name = _package_name(sec.args, main)
            packages[name] = Package(name, _tags(sec.body))
    for sec in sections:
        if sec.keyword == "files" and (pkg := packages.get(_package_name(sec.args, main))):
            pkg.files = pkg.files or sec
    return Spec(source, sections, packages)


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


# ---- SPDX expressions

_OLD_NAMES = {
    "ASL 2.0": "Apache-2.0",
    "ASL 1.1": "Apache-1.1",
    "BSD": "BSD-3-Clause or BSD-2-Clause",
    "GPLv2": "GPL-2.0-only",
    "GPLv2+": "GPL-2.0-or-later",
    "GPLv3": "GPL-3.0-only",
    "GPLv3+": "GPL-3.0-or-later",
    "LGPLv2": "LGPL-2.0-only",
    "LGPLv2+": "LGPL-2.0-or-later or LGPL-2.1-or-later",
    "LGPLv3+": "LGPL-3.0-or-later",
    "MPLv2.0": "MPL-2.0",
    "Boost": "BSL-1.0",
    "Public Domain": "LicenseRef-Fedora-Public-Domain",
}
_SPDX_TOKEN = re.compile(r"\(|\)|[^\s()]+")


@cache
def spdx_identifiers() -> frozenset[str]:
    """The shipped allow-list (specgen/data/spdx-licenses.txt)."""
    text = resources.files("specgen").joinpath("data", "spdx-licenses.txt").read_text("utf-8")
    return frozenset(w for raw in text.splitlines() if (w := raw.split("#", 1)[0].strip()))


class _SpdxError(Exception):
    pass


def _case_hint(word: str) -> str:
    return " (operators are upper-case: AND, OR, WITH)" if word in ("and", "or", "with") else ""


def _spdx_expr(tokens: list[str], at: int, known: frozenset[str]) -> int:
    """Parse `term ((AND|OR) term)*` from tokens[at]; the index after it."""
    at = _spdx_term(tokens, at, known)
    while at < len(tokens) and tokens[at] in ("AND", "OR"):
        at = _spdx_term(tokens, at + 1, known)
    return at


def _spdx_term(tokens: list[str], at: int, known: frozenset[str]) -> int:
    if at >= len(tokens):
        raise _SpdxError("expression ends early")
    word = tokens[at]
    if word == "(":
        at = _spdx_expr(tokens, at + 1, known)
        if at >= len(tokens) or tokens[at] != ")":
            raise _SpdxError("unbalanced parenthesis")
        return at + 1
    if not (word.startswith("LicenseRef-") or (word in known and "exception" not in word)):
        raise _SpdxError(f"unknown license identifier {word!r}{_case_hint(word)}")
    at += 1
    if at < len(tokens) and tokens[at] == "WITH":
        exception = tokens[at + 1] if at + 1 < len(tokens) else ""
        if exception not in known or "exception" not in exception:
            raise _SpdxError("WITH needs a listed exception, e.g. LLVM-exception")
        at += 2
    return at


def spdx_problem(expr: str) -> str | None:
    """Why `expr` is not an allow-listed SPDX expression, or None when it is."""
    tokens = _SPDX_TOKEN.findall(expr)
    try:
        end = _spdx_expr(tokens, 0, spdx_identifiers())
        if end != len(tokens):
            raise _SpdxError(f"expected AND or OR before {tokens[end]!r}{_case_hint(tokens[end])}")
    except _SpdxError as err:
        old = [
            f"{o!r} is {new}"
            for o, new in _OLD_NAMES.items()
            if re.search(rf"(?<![\w.+-]){re.escape(o)}(?![\w.+-])", expr)
        ]
        hint = f" (old Fedora name: {'; '.join(old)})" if old else ""
        return f"{expr!r} is not an SPDX expression: {err}{hint}"
    return None
