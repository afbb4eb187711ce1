"""The checks of `specgen verify`: pure functions from RPM header data to findings.

A local repository is only worth publishing when every package installs cleanly beside Azure
Linux 3.0: files where Azure Linux puts them, no path claimed twice, -devel symlinks that
land on a shipped library, every Requires answered by the repository or by Azure Linux. Each
check here reads the RpmPackage records rpmread made and returns Findings; nothing touches a
file or the network, so the tests can feed them any set of packages.
"""

from __future__ import annotations

import posixpath
import re
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from itertools import pairwise
from pathlib import Path

from specgen import elfstack
from specgen.errors import InputError
from specgen.mapping.pkgindex import PackageIndex
from specgen.rpmread import FileEntry, RpmPackage
from specgen.rpmver import EVR, compare_evr

CHECKS = ("paths", "owners", "symlinks", "requires", "execstack", "install")
OK, NOTE, WARNING, ERROR = "ok", "note", "warning", "error"
RESULTS = (OK, NOTE, WARNING, ERROR)
REPO_WIDE = "(repository)"  # the package column of a finding about the whole repository
LICENSES_DIR = "/usr/share/licenses"
_MAX_HOPS = 40  # as the kernel's symlink limit
_EXAMPLES = 3
_DEVEL = re.compile(r"-devel(-|$)")  # foo-devel, libcudnn9-devel-cuda-12
_SONAME = re.compile(r"^(?P<soname>[^\s()]+\.so(?:\.[^\s()]+)?)\(")


@dataclass(frozen=True, order=True)
class Finding:
    """One row of the report: which check, about which package, its result and why."""

    check: str
    package: str
    result: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {
            "check": self.check,
            "package": self.package,
            "result": self.result,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Policy:
    """specgen/data/verify.toml: allowed and forbidden path prefixes, the snapshot's tables."""

    allowed: tuple[str, ...]
    forbidden: tuple[str, ...]
    sonames: Mapping[str, str]
    files: Mapping[str, str]


def default_policy_path() -> Path:
    return Path(str(resources.files("specgen") / "data" / "verify.toml"))


def load_policy(path: Path | None = None) -> Policy:
    """Read the policy file; InputError naming what is wrong in it."""
    path = path or default_policy_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise InputError(path, f"unreadable verify policy: {err}") from err
    paths = data.get("paths", {})
    allowed, forbidden = paths.get("allowed"), paths.get("forbidden", [])
    if not isinstance(allowed, list) or not allowed or not isinstance(forbidden, list):
        raise InputError(path, "[paths] needs a list `allowed` (and may list `forbidden`)")
    return Policy(
        allowed=tuple(p.rstrip("/") for p in allowed),
        forbidden=tuple(p.rstrip("/") for p in forbidden),
        sonames=dict(data.get("sonames", {})),
        files=dict(data.get("files", {})),
    )


# --- which packages ---------------------------------------------------------------------------


def newest(packages: Iterable[RpmPackage]) -> tuple[list[RpmPackage], list[RpmPackage]]:
    """The binary packages to check, the newest EVR of each name (what tdnf would install), and
    the rest (older builds of a name, source packages) by file name."""
    best: dict[str, RpmPackage] = {}
    rest: list[RpmPackage] = []
    for pkg in packages:
        if pkg.source:
            rest.append(pkg)
            continue
        old = best.get(pkg.name)
        if old is None or compare_evr(_evr(pkg), _evr(old)) > 0:
            if old is not None:
                rest.append(old)
            best[pkg.name] = pkg
        else:
            rest.append(pkg)
    return sorted(best.values(), key=lambda p: p.name), sorted(rest, key=lambda p: p.file)


def _evr(pkg: RpmPackage) -> EVR:
    return EVR(pkg.epoch, pkg.version, pkg.release)


def _examples(paths: Sequence[str]) -> str:
    shown = ", ".join(paths[:_EXAMPLES])
    more = len(paths) - _EXAMPLES
    return f"{shown} and {more} more" if more > 0 else shown


def _plural(n: int, word: str, words: str = "") -> str:
    return f"{n} {word}" if n == 1 else f"{n} {words or word + 's'}"


# --- paths ------------------------------------------------------------------------------------


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def check_paths(packages: Iterable[RpmPackage], policy: Policy) -> list[Finding]:
    """Every path under an allowed prefix and none under a forbidden one."""
    findings: list[Finding] = []
    for pkg in packages:
        bad: dict[str, list[str]] = defaultdict(list)
        for entry in pkg.files:
            forbidden = next((p for p in policy.forbidden if _under(entry.path, p)), None)
            if forbidden:
                bad[f"under {forbidden}, which Azure Linux packages never use"].append(entry.path)
            elif not any(_under(entry.path, p) for p in policy.allowed):
                bad["outside the allowed prefixes"].append(entry.path)
        for why, paths in sorted(bad.items()):
            detail = f"{_plural(len(paths), 'path')} {why}: {_examples(sorted(paths))}"
            findings.append(Finding("paths", pkg.name, ERROR, detail))
        if not bad:
            detail = f"{_plural(len(pkg.files), 'path')}, all under allowed prefixes"
            findings.append(Finding("paths", pkg.name, OK, detail))
    return findings


# --- owners -----------------------------------------------------------------------------------


def _shared_license(path: str, entries: Sequence[FileEntry]) -> bool:
    """The same license text packaged by several packages of one source: allowed."""
    return (
        _under(path, LICENSES_DIR)
        and all(e.is_file for e in entries)
        and len({e.digest for e in entries}) == 1
    )


def check_owners(packages: Iterable[RpmPackage]) -> list[Finding]:
    """No path packaged by two packages, except directories and identical license files
    under /usr/share/licenses; the report says how many of those are shared."""
    owners: dict[str, dict[str, FileEntry]] = defaultdict(dict)
    for pkg in packages:
        for entry in pkg.files:
            owners[entry.path].setdefault(pkg.name, entry)
    findings: list[Finding] = []
    shared = Counter[str]()
    for path in sorted(owners):
        by_pkg = owners[path]
        if len(by_pkg) < 2:
            continue
        entries = list(by_pkg.values())
        if all(e.is_dir for e in entries):
            shared["directories"] += 1
            continue
        if _shared_license(path, entries):
            shared["licenses"] += 1
            continue
        names = sorted(by_pkg)
        differ = " (contents differ)" if len({(e.mode, e.digest) for e in entries}) > 1 else ""
        detail = f"{path} is packaged by {' and '.join(names)}{differ}"
        findings.append(Finding("owners", ", ".join(names), ERROR, detail))
    summary = (
        f"{'no other' if findings else 'no'} path is packaged by two packages, except as "
        f"allowed: {_plural(shared['directories'], 'shared directory', 'shared directories')}, "
        f"{_plural(shared['licenses'], 'identical license file')} under {LICENSES_DIR}"
    )
    findings.append(Finding("owners", REPO_WIDE, NOTE if findings else OK, summary))
    return findings


# --- symlinks ---------------------------------------------------------------------------------


def _resolve(path: str, table: Mapping[str, tuple[str, FileEntry]]) -> tuple[list[str], str, str]:
    """Follow a symlink through the repository's files: (the chain of paths, the package of
    the file it ends at or "", why it does not resolve)."""
    chain, current = [path], path
    for _ in range(_MAX_HOPS):
        owned = table.get(current)
        if owned is None:
            return chain, "", f"{current} is shipped by no package of the repository"
        owner, entry = owned
        if not entry.is_link:
            return chain, owner, ""
        current = posixpath.normpath(posixpath.join(posixpath.dirname(current), entry.link))
        chain.append(current)
    return chain, "", "too many levels of symbolic links"


def _show_chain(chain: Sequence[str]) -> str:
    """`/usr/lib/libfoo.so -> libfoo.so.1 -> libfoo.so.1.2`: a path in the same folder as the
    one before it is shown by its name only."""
    shown = [chain[0]]
    for before, path in pairwise(chain):
        same = posixpath.dirname(before) == posixpath.dirname(path)
        shown.append(posixpath.basename(path) if same else path)
    return " -> ".join(shown)


def is_devel(name: str) -> bool:
    return bool(_DEVEL.search(name))


def check_symlinks(packages: Sequence[RpmPackage]) -> list[Finding]:
    """Every symlink of a -devel package ends at a file some package of the repository ships
    (libfoo.so -> libfoo.so.1 -> libfoo.so.1.2, the last in the runtime package)."""
    table: dict[str, tuple[str, FileEntry]] = {}
    for pkg in packages:
        for entry in pkg.files:
            table.setdefault(entry.path, (pkg.name, entry))
    findings: list[Finding] = []
    for pkg in packages:
        links = sorted((e for e in pkg.files if e.is_link), key=lambda e: e.path)
        if not is_devel(pkg.name) or not links:
            continue
        good: list[str] = []
        for entry in links:
            chain, owner, why = _resolve(entry.path, table)
            if owner:
                good.append(f"{_show_chain(chain)} ({owner})")
            else:
                detail = f"dangling: {_show_chain(chain)}: {why}"
                findings.append(Finding("symlinks", pkg.name, ERROR, detail))
        if len(good) == len(links):
            detail = "the symlink resolves: " if len(good) == 1 else "all symlinks resolve: "
            detail += "; ".join(good)
            findings.append(Finding("symlinks", pkg.name, OK, detail))
    return findings


# --- requires ---------------------------------------------------------------------------------


def local_capabilities(packages: Iterable[RpmPackage]) -> dict[str, set[str]]:
    """Capability -> names of repository packages that offer it: names, Provides, paths."""
    caps: dict[str, set[str]] = defaultdict(set)
    for pkg in packages:
        caps[pkg.name].add(pkg.name)
        for dep in pkg.provides:
            caps[dep.name].add(pkg.name)
        for entry in pkg.files:
            caps[entry.path].add(pkg.name)
    return caps


def soname_of(capability: str) -> str | None:
    """`libc.so.6` of `libc.so.6(GLIBC_2.34)(64bit)` or `libc.so.6()(64bit)`; else None."""
    m = _SONAME.match(capability)
    return m.group("soname") if m else None


def _checked(pkg: RpmPackage) -> list[str]:
    """The capabilities this check judges: not rpmlib() features (rpm itself offers them),
    nor rich `(a or b)` dependencies (libsolv judges those in the install check)."""
    return sorted({d.name for d in pkg.requires if not d.is_rpmlib and not d.name.startswith("(")})


def hinted_provides(
    packages: Sequence[RpmPackage], index: PackageIndex, policy: Policy
) -> dict[str, set[str]]:
    """Azure Linux package -> capabilities the policy's [sonames] and [files] tables let it
    provide: only those some package requires and neither the repository nor the index offers,
    and only for packages the index has. For the snapshot, which lacks automatic Provides."""
    local = local_capabilities(packages)
    hints: dict[str, set[str]] = defaultdict(set)
    for pkg in packages:
        for cap in _checked(pkg):
            if cap in local or index.whatprovides(cap):
                continue
            soname = soname_of(cap)
            target = policy.files.get(cap) if cap.startswith("/") else None
            target = target or (policy.sonames.get(soname) if soname else None)
            if target and index.has(target):
                hints[target].add(cap)
    return dict(hints)


def check_requires(
    packages: Sequence[RpmPackage],
    index: PackageIndex,
    hints: Mapping[str, Iterable[str]] | None = None,
) -> list[Finding]:
    """Every required capability offered by a package of the repository or of Azure Linux
    (the index, plus `hints` from hinted_provides); the unresolved ones listed per package.

    Capabilities only, not versions: `foo = 1.2-1` counts as resolved when any foo exists,
    and libsolv's install check then judges the version. A file dependency (/bin/sh) is met by
    a path of the repository or a Provide of the index.
    """
    local = local_capabilities(packages)
    hinted = {cap for caps in (hints or {}).values() for cap in caps}
    findings: list[Finding] = []
    for pkg in packages:
        where = Counter[str]()
        missing: list[str] = []
        for cap in _checked(pkg):
            if cap in local:
                where["in the repository"] += 1
            elif index.whatprovides(cap):
                where["in Azure Linux"] += 1
            elif cap in hinted:
                where["via verify.toml's tables"] += 1
            else:
                missing.append(cap)
        if missing:
            detail = "unresolved: " + ", ".join(missing)
            findings.append(Finding("requires", pkg.name, ERROR, detail))
        else:
            total = sum(where.values())
            parts = ", ".join(f"{n} {w}" for w, n in sorted(where.items()))
            detail = (
                f"{_plural(total, 'requirement')} resolved: {parts}"
                if total
                else "nothing required but rpmlib() features"
            )
            findings.append(Finding("requires", pkg.name, OK, detail))
    return findings


# --- executable stacks ------------------------------------------------------------------------


def check_exec_stack(packages: Iterable[RpmPackage]) -> list[Finding]:
    """A warning for each shared library that asks for an executable stack."""
    findings: list[Finding] = []
    for pkg in packages:
        if pkg.payload_error:
            detail = f"payload not read ({pkg.payload_error}): shared libraries not checked"
            findings.append(Finding("execstack", pkg.name, WARNING, detail))
        judged = 0
        warned = False
        for path, head in sorted(pkg.elf_heads.items()):
            flag = elfstack.stack_flag(head)
            if flag is None:  # a linker script named .so, a 32-bit or foreign object
                continue
            judged += 1
            if flag == "noexec":
                continue
            warned = True
            why = (
                "executable stack (PT_GNU_STACK has PF_X)"
                if flag == "exec"
                else "no PT_GNU_STACK header, so the loader assumes an executable stack"
            )
            detail = f"{path}: {why}; glibc 2.41+ refuses to load it (Azure Linux 3.0 has 2.38)"
            findings.append(Finding("execstack", pkg.name, WARNING, detail))
        if judged and not warned:
            libs = _plural(judged, "shared library", "shared libraries")
            findings.append(Finding("execstack", pkg.name, OK, f"{libs}, none with an exec stack"))
    return findings


# --- all of them ------------------------------------------------------------------------------


def run_checks(
    packages: Sequence[RpmPackage],
    index: PackageIndex,
    policy: Policy,
    hints: Mapping[str, Iterable[str]] | None = None,
) -> list[Finding]:
    """Every check but the install check (solve.py), in report order."""
    return sort_findings(
        [
            *check_paths(packages, policy),
            *check_owners(packages),
            *check_symlinks(packages),
            *check_requires(packages, index, hints),
            *check_exec_stack(packages),
        ]
    )


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Report order: by check (as CHECKS lists them), then package, result and detail."""

    def key(f: Finding) -> tuple[int, str, int, str]:
        rank = CHECKS.index(f.check) if f.check in CHECKS else len(CHECKS)
        return rank, f.package, RESULTS.index(f.result), f.detail

    return sorted(findings, key=key)


def exit_code(findings: Iterable[Finding]) -> int:
    """1 when any check failed; warnings and notes do not fail."""
    return 1 if any(f.result == ERROR for f in findings) else 0
