"""Ubuntu package names (and the Dockerfile's downloads) -> Azure Linux 3.0 packages, verified.

The knowledge lives in data/ubuntu-to-azurelinux.toml (read by mappingtable.py): a curated
table, fallback rules for names it lacks, download and pip matches, known mistakes of
hand-written install lines. This module only applies it, and checks every answer against a
PackageIndex (live repodata or the offline snapshot): a package name the index lacks is never
returned; a table entry pointing at one becomes `unmapped` with the reason, so a stale table
shows up instead of a broken BuildRequires.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from specgen.mapping.pkgindex import PackageIndex
from specgen.mapping.table import Entry, MappingTable, load_table
from specgen.recipe.model import AptPackage
from specgen.rpmver import (
    EVR,
    pin_to_constraint,
    rpmvercmp,
    satisfies,
    split_constraint,
)

KINDS = ("table", "rule", "capability", "spec", "not_needed", "unmapped")
# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Resolution:
    """What one Ubuntu package (or download, or pip requirement) becomes on Azure Linux.

    kind: table | rule | capability | spec | not_needed | unmapped. `packages` are names the index
    has (empty for spec, not_needed, unmapped); `constraint` is the RPM form of a pin or minimum
    (`cmake >= 3.28.3`, `dcgm = 1:3.3.6`); `found` is the index's EVR of the first package.
    """

    name: str
    kind: str
    packages: tuple[str, ...] = ()
    capability: str | None = None
    spec: str | None = None
    pin: str | None = None
    constraint: str | None = None
    found: str | None = None
    rule: str | None = None
    reason: str = ""
    suggestions: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.kind != "unmapped"

    @property
    def requires(self) -> tuple[str, ...]:
        """RPM dependency strings to write (BuildRequires/Requires): the constraint replaces the
        bare name of the package it is about."""
        if self.kind == "spec":
            return (self.constraint,) if self.constraint else ()
        if not self.packages:
            return ()
        if not self.constraint:
            return self.packages
        about = self.constraint.split()[0]
        rest = tuple(p for p in self.packages if p != about)
        return (self.constraint, *rest)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["packages"] = list(self.packages)
        d["suggestions"] = list(self.suggestions)
        d["requires"] = list(self.requires)
        return d


@dataclass
class _Lookup:
    """Index look-ups the resolver needs: names, Provides, and case-insensitive names."""

    index: PackageIndex
    _lower: dict[str, str] = field(default_factory=dict)

    def providers(self, name: str) -> list[str]:
        """Package names that install `name` (itself, or by Provide); [] when nothing does."""
        if self.index.has(name):
            return [name]
        found = [p for p in self.index.whatprovides(name) if self.index.has(p)]
        if found:
            return found
        if not self._lower:
            self._lower = {n.lower(): n for n in sorted(self.index.packages, reverse=True)}
        real = self._lower.get(name.lower())
        return [real] if real else []

    def evr(self, name: str) -> EVR | None:
        pkg = self.index.packages.get(name)
        return EVR(pkg.epoch, pkg.version, pkg.release or None) if pkg else None


# ---------------------------------------------------------------- apt names


def resolve(
    name: str, pin: str | None, index: PackageIndex, table: MappingTable | None = None
) -> Resolution:
    """Map one apt install argument (`name`, `name=pin`) to Azure Linux, verified against index."""
    table = table or load_table()
    look = _Lookup(index)
    key = name.split(":", 1)[0].lower()  # apt accepts `pkg:amd64`
    entry = table.apt.get(key)
    if entry is not None:
        return _from_entry(name, pin, entry, look, table)
    for rule in table.rules:
        m = rule.pattern.match(key)
        if not m:
            continue
        for template in rule.candidates:
            candidate = template.format(**m.groupdict())
            found = look.providers(candidate)
            if found:
                by_provide = not index.has(candidate) and index.whatprovides(candidate)
                cap = candidate if by_provide else None
                res = Resolution(
                    name=name,
                    kind="rule",
                    packages=tuple(found),
                    capability=cap,
                    pin=pin,
                    rule=rule.name,
                    reason=rule.why,
                )
                return _with_version(res, "auto", None, look)
    return Resolution(
        name=name,
        kind="unmapped",
        pin=pin,
        reason="not in the mapping table, and no rule finds it in the index",
        suggestions=suggest(key, index, table),
    )


def _from_entry(
    name: str, pin: str | None, entry: Entry, look: _Lookup, table: MappingTable
) -> Resolution:
    if entry.not_needed:
        return Resolution(name=name, kind="not_needed", pin=pin, reason=entry.not_needed)
    if entry.spec:
        constraint = pin_to_constraint(entry.spec, pin, entry.pin, keep_epoch=True) if pin else None
        reason = entry.why or f"absent from Azure Linux: specgen generates {entry.spec}"
        return Resolution(
            name=name, kind="spec", spec=entry.spec, pin=pin, constraint=constraint, reason=reason
        )
    if entry.packages:
        kind = "table"
        packages: list[str] = []
        for pkg in entry.packages:
            found = look.providers(pkg)
            if not found:
                return Resolution(
                    name=name,
                    kind="unmapped",
                    pin=pin,
                    capability=entry.capability,
                    reason=f"table maps it to {', '.join(entry.packages)}, but {pkg} is not in "
                    "the index",
                    suggestions=suggest(pkg, look.index, table),
                )
            packages.extend(p for p in found if p not in packages)
    else:  # capability only: it must be declared in the index
        kind = "capability"
        packages = list(look.providers(entry.capability or ""))
        if not packages:
            return Resolution(
                name=name,
                kind="unmapped",
                pin=pin,
                capability=entry.capability,
                reason=f"table maps it to {entry.capability}, which nothing in the index declares",
            )
    res = Resolution(
        name=name,
        kind=kind,
        packages=tuple(packages),
        capability=entry.capability,
        pin=pin,
        reason=entry.why,
    )
    return _or_update(_with_version(res, entry.pin, entry.minimum, look), entry)


def _or_update(res: Resolution, entry: Entry) -> Resolution:
    """An entry with `update_spec` turns "the index's package is too old" into that spec: specgen
    writes a newer build of the package instead of leaving the name unmapped."""
    if res.ok or not entry.update_spec or res.found is None or not res.constraint:
        return res
    _, op, evr = split_constraint(res.constraint)
    if op not in (">=", ">", "="):
        return res
    return replace(
        res,
        kind="spec",
        spec=entry.update_spec,
        constraint=f"{entry.update_spec} {op} {evr}",
        suggestions=(),
        reason=f"{res.reason}: specgen writes {entry.update_spec} {evr}",
    )


def _with_version(res: Resolution, policy: str, minimum: str | None, look: _Lookup) -> Resolution:
    """Add the found EVR and the pin's RPM constraint; unmapped when the index cannot satisfy it."""
    first = res.packages[0]
    have = look.evr(first)
    found = str(have) if have else None
    constraint = pin_to_constraint(first, res.pin, policy) if res.pin else None
    wanted = [f"{first} >= {minimum}"] if minimum else []
    wanted += [constraint] if constraint else []
    for want in wanted:
        _, op, evr = split_constraint(want)
        if have is not None and not satisfies(have, op, evr):
            return replace(
                res,
                kind="unmapped",
                packages=(),
                rule=None,
                found=found,
                constraint=constraint,
                reason=f"needs {want}, but the index has {first} {found}",
                suggestions=(first,),
            )
    return replace(res, constraint=constraint, found=found)


def resolve_apt(
    packages: Iterable[AptPackage], index: PackageIndex, table: MappingTable | None = None
) -> list[Resolution]:
    """Resolve a recipe's apt packages once per (name, pin), sorted by name: the `map` report."""
    table = table or load_table()
    seen = sorted({(p.name, p.pin or "") for p in packages})
    return [resolve(name, pin or None, index, table) for name, pin in seen]


# ---------------------------------------------------------------- suggestions


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (names are short; a plain DP is fast enough)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _name_pool(index: PackageIndex) -> list[str]:
    """Package names plus name-like Provides (libcurl-devel), without debuginfo noise."""
    pool = set(index.packages)
    pool.update(c for c in index.provides if "(" not in c and "/" not in c and " " not in c)
    return sorted(n for n in pool if not n.endswith(("-debuginfo", "-debugsource")))


def suggest(
    name: str, index: PackageIndex, table: MappingTable | None = None, limit: int = 5
) -> tuple[str, ...]:
    """Close names that exist in the index, nearest first; names the table uses win ties.

    Queries are the name itself and its RPM-style spellings (libfoo-dev -> foo-devel), so a
    Debian name finds RPM names and a typo (alib-devel) finds zlib-devel.
    """
    table = table or load_table()
    queries = [name]
    for rule in table.rules[1:]:
        m = rule.pattern.match(name)
        if m:
            queries.extend(t.format(**m.groupdict()) for t in rule.candidates if "(" not in t)
    pool = _name_pool(index)
    curated = table.curated_packages()
    scored: dict[str, tuple[int, int, float]] = {}
    for q in dict.fromkeys(queries):
        for cand in difflib.get_close_matches(q, pool, n=20, cutoff=0.6):
            score = (
                _distance(q, cand),
                cand not in curated,
                -difflib.SequenceMatcher(None, q, cand).ratio(),
            )
            if cand not in scored or score < scored[cand]:
                scored[cand] = score
    ranked = sorted(scored, key=lambda c: (*scored[c], c))
    return tuple(ranked[:limit])


# ---------------------------------------------------------------- --check-names


@dataclass(frozen=True)
class NameCheck:
    """One name of a hand-written RPM install line: does Azure Linux have it, and as what."""

    name: str
    ok: bool
    how: str  # package | provide | name-version | missing
    packages: tuple[str, ...] = ()
    note: str = ""
    suggestions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["packages"] = list(self.packages)
        d["suggestions"] = list(self.suggestions)
        return d


_ARCH_SUFFIX = re.compile(r"\.(x86_64|aarch64|noarch)$")
_NAME_VERSION = re.compile(r"^(?P<name>.+?)-(?P<evr>\d[\w.+~^:]*(?:-[\w.+~^]+)?)$")


def check_names(
    names: Sequence[str], index: PackageIndex, table: MappingTable | None = None
) -> list[NameCheck]:
    """Verify each name as tdnf would resolve it: a package, a Provide, or name-version[.arch]."""
    table = table or load_table()
    look = _Lookup(index)
    return [_check_one(name, look, table) for name in names]


def _check_one(name: str, look: _Lookup, table: MappingTable) -> NameCheck:
    index = look.index
    if index.has(name):
        return NameCheck(name=name, ok=True, how="package", packages=(name,))
    providers = [p for p in index.whatprovides(name) if index.has(p)]
    if providers:
        return NameCheck(
            name=name,
            ok=True,
            how="provide",
            packages=tuple(providers),
            note=f"a Provide of {', '.join(providers)}",
        )
    m = _NAME_VERSION.match(_ARCH_SUFFIX.sub("", name))
    if m and index.has(m.group("name")):
        base = m.group("name")
        have = look.evr(base)
        want = EVR.parse(m.group("evr"))
        if have is not None and satisfies(have, "=", want):
            return NameCheck(
                name=name, ok=True, how="name-version", packages=(base,), note=f"{base} {have}"
            )
        return NameCheck(
            name=name,
            ok=False,
            how="missing",
            packages=(),
            note=f"{base} exists, but as {have}",
            suggestions=(base,),
        )
    known = table.known_mistakes.get(name)
    suggestions = list(suggest(name, index, table))
    note = "neither a package nor a Provide in the index"
    if known:
        fix, why = known
        if index.has(fix):
            suggestions = [fix, *[s for s in suggestions if s != fix]]
        note = why or note
    return NameCheck(
        name=name, ok=False, how="missing", note=note, suggestions=tuple(suggestions[:5])
    )


# ---------------------------------------------------------------- downloads and pip


def _version_from(m: re.Match[str]) -> str | None:
    groups = m.groupdict()
    if groups.get("version"):
        return groups["version"]
    parts = [groups[k] for k in ("major", "minor", "patch") if groups.get(k)]
    return ".".join(parts) or None


def match_download(
    url: str, index: PackageIndex, table: MappingTable | None = None
) -> Resolution | None:
    """A Dockerfile download as an Azure Linux package (or not needed); None when no rule knows it.

    The package serves when its version satisfies what the build needs: the rule's `minimum`,
    else the downloaded version itself.
    """
    table = table or load_table()
    look = _Lookup(index)
    for rule in table.downloads:
        m = rule.pattern.search(url)
        if not m:
            continue
        if rule.not_needed:
            return Resolution(name=url, kind="not_needed", rule=rule.name, reason=rule.not_needed)
        version = _version_from(m)
        needed = rule.minimum or version
        entry = Entry(name=url, packages=rule.packages, why=rule.why, minimum=needed)
        res = _from_entry(url, None, entry, look, table)
        reason = f"{rule.why} (the Dockerfile downloads {version})" if version else rule.why
        if not res.ok:
            return replace(res, rule=rule.name)
        constraint = f"{res.packages[0]} >= {needed}" if needed else None
        return replace(res, rule=rule.name, constraint=constraint, reason=reason)
    return None


_REQ = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?P<spec>[^;]*)")
_SPEC = re.compile(r"^\s*(?P<op>===|==|!=|~=|>=|<=|>|<)\s*(?P<version>[^\s,]+)\s*$")


def _pip_ok(have: str, op: str, version: str) -> bool:
    """PEP 440 operators on plain release versions, compared the RPM way (what gets installed)."""
    if version.endswith(".*"):
        prefix = version[:-2]
        match = have == prefix or have.startswith(prefix + ".")
        return match if op == "==" else not match
    rc = rpmvercmp(have, version)
    if op == "~=":
        head = version.split(".")[:-1] or [version]
        return rc >= 0 and (have + ".").startswith(".".join(head) + ".")
    return {
        "==": rc == 0,
        "===": have == version,
        "!=": rc != 0,
        ">=": rc >= 0,
        "<=": rc <= 0,
        ">": rc > 0,
        "<": rc < 0,
    }[op]


def match_pip(
    requirement: str, index: PackageIndex, table: MappingTable | None = None
) -> Resolution | None:
    """A pip requirement of the build image (cmake, wheel, ...) as an Azure Linux package.

    None when the table has no [pip] entry for it (Python dependencies at large are not mapped
    here). A `minimum` pin policy turns `==X` into `>=X`: build tools need a floor.
    """
    table = table or load_table()
    m = _REQ.match(requirement)
    if not m:
        return None
    key = re.sub(r"[-_.]+", "-", m.group("name")).lower()
    entry = table.pip.get(key)
    if entry is None:
        return None
    if entry.not_needed:
        return Resolution(name=requirement, kind="not_needed", reason=entry.not_needed)
    look = _Lookup(index)
    res = _from_entry(requirement, None, entry, look, table)
    if not res.ok:
        return res
    have = look.evr(res.packages[0])
    constraints = []
    for part in filter(None, (p.strip() for p in m.group("spec").split(","))):
        sm = _SPEC.match(part)
        if not sm:
            return Resolution(
                name=requirement,
                kind="unmapped",
                found=res.found,
                reason=f"cannot read the version specifier {part!r}",
            )
        op, version = sm.group("op"), sm.group("version")
        if entry.pin == "minimum" and op in ("==", "===", "~="):
            op, version = ">=", version.removesuffix(".*")
        if have is not None and not _pip_ok(have.version, op, version):
            too_old = Resolution(
                name=requirement,
                kind="unmapped",
                found=res.found,
                constraint=f"{res.packages[0]} {'=' if op == '==' else op} {version}",
                reason=f"needs {key}{op}{version}, but the index has {res.packages[0]} {res.found}",
                suggestions=res.packages[:1],
            )
            return _or_update(too_old, entry)
        if op in (">=", "<=", ">", "<", "==") and not version.endswith(".*"):
            constraints.append(f"{res.packages[0]} {'=' if op == '==' else op} {version}")
    if len(constraints) > 1:  # an RPM rich dependency: all must hold
        return replace(res, constraint=f"({' with '.join(constraints)})")
    return replace(res, constraint=constraints[0] if constraints else None)


# ---------------------------------------------------------------- report


def exit_code(results: Iterable[Resolution | NameCheck]) -> int:
    """0 when everything resolved, 1 when anything is unmapped (the CLI's exit status)."""
    return 0 if all(r.ok for r in results) else 1


def render_text(results: Sequence[Resolution]) -> str:
    """A plain aligned table: UBUNTU, KIND, AZURE LINUX, CONSTRAINT, FOUND, WHY / SUGGESTIONS."""
    header = ("UBUNTU", "KIND", "AZURE LINUX", "CONSTRAINT", "FOUND", "WHY")
    rows = [header]
    for r in results:
        target = ", ".join(r.packages) or (f"spec {r.spec}" if r.spec else "-")
        why = r.reason
        if r.suggestions:
            why = f"{why}; did you mean: {', '.join(r.suggestions)}"
        name = f"{r.name}={r.pin}" if r.pin else r.name
        rows.append((name, r.kind, target, r.constraint or "-", r.found or "-", why or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = [
        "  ".join([*(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)), row[-1]])
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines) + "\n"
