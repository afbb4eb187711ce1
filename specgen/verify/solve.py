"""Install resolution with libsolv: could tdnf install each package of the local repository on
Azure Linux 3.0, with only what the repository and Azure Linux offer?

The pool's local repository is built from the RPM headers rpmread already read, not with
`repo.add_rpmmd` on repodata/primary.xml.gz: the solv wheel cannot read RPM files itself, and
primary.xml lists only a few paths (/usr/bin/*, /etc/*), so a file dependency on any other
path would look unmet without filelists too; repodata/ can also be older than the *.rpm beside
it. The headers are what every other check reads, so all checks judge the same packages.

Azure Linux comes from a PackageIndex (snapshot or repository metadata): names, EVRs, arches
and Provides, without Requires (the snapshot has none), so its packages are leaves the solver
may always install. What the report's OK means is therefore "nothing the repository asks for
is missing", not a full transaction check of Azure Linux itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import solv

from specgen.mapping.pkgindex import PackageIndex
from specgen.rpmread import (
    RPMSENSE_EQUAL,
    RPMSENSE_GREATER,
    RPMSENSE_LESS,
    Dependency,
    RpmPackage,
)

LOCAL_REPO = "local"
AZURE_REPO = "azurelinux"
FIRST = "tritonserver"  # the package the repository exists for: resolved first


@dataclass(frozen=True)
class Resolution:
    """One install job's outcome: the package, whether it installs, and libsolv's problems or
    how many packages the installation brings (from the repository and from Azure Linux)."""

    package: str
    ok: bool
    problems: tuple[str, ...] = ()
    from_local: int = 0
    from_azure: int = 0


def _dep(pool: solv.Pool, dep: Dependency) -> solv.Dep:
    """A libsolv dependency: plain, versioned (`foo >= 1.2`) or rich (`(a or b)`)."""
    if dep.name.startswith("("):
        rich = pool.parserpmrichdep(dep.name)
        if rich is not None:
            return rich
    base = pool.Dep(dep.name)
    rel = (
        (solv.REL_LT if dep.flags & RPMSENSE_LESS else 0)
        | (solv.REL_GT if dep.flags & RPMSENSE_GREATER else 0)
        | (solv.REL_EQ if dep.flags & RPMSENSE_EQUAL else 0)
    )
    return base.Rel(rel, pool.Dep(dep.version)) if rel and dep.version else base


def _self_provide(pool: solv.Pool, s: solv.XSolvable) -> None:
    s.add_provides(pool.Dep(s.name).Rel(solv.REL_EQ, pool.Dep(s.evr)))


def _add_local(pool: solv.Pool, packages: Sequence[RpmPackage]) -> dict[str, solv.XSolvable]:
    """The repository's packages with their Requires (less rpmlib() features, which rpm itself
    offers), Provides, Conflicts and Obsoletes; a required path becomes a Provide of each
    package that ships it, as libsolv's addfileprovides would make it."""
    repo = pool.add_repo(LOCAL_REPO)
    wanted_paths = {d.name for p in packages for d in p.requires if d.name.startswith("/")}
    solvables: dict[str, solv.XSolvable] = {}
    for pkg in packages:
        s = repo.add_solvable()
        s.name, s.evr, s.arch = pkg.name, pkg.evr, pkg.arch
        _self_provide(pool, s)
        for dep in pkg.provides:
            s.add_provides(_dep(pool, dep))
        for path in sorted({e.path for e in pkg.files} & wanted_paths):
            s.add_provides(pool.Dep(path))
        for dep in pkg.requires:
            if not dep.is_rpmlib:
                s.add_requires(_dep(pool, dep))
        for dep in pkg.conflicts:
            s.add_conflicts(_dep(pool, dep))
        for dep in pkg.obsoletes:
            s.add_obsoletes(_dep(pool, dep))
        solvables[pkg.name] = s
    repo.internalize()
    return solvables


def _add_index(pool: solv.Pool, index: PackageIndex, extra: Mapping[str, Iterable[str]]) -> None:
    """Azure Linux's packages as leaves: EVR, arch, Provides (plus `extra`), no Requires."""
    caps: dict[str, set[str]] = defaultdict(set)
    for cap, names in index.provides.items():
        for name in names:
            if cap != name:
                caps[name].add(cap)
    for name, more in extra.items():
        caps[name].update(more)
    repo = pool.add_repo(AZURE_REPO)
    for name in sorted(index.packages):
        info = index.packages[name]
        s = repo.add_solvable()
        s.name, s.evr, s.arch = name, info.evr, info.arch or "noarch"
        _self_provide(pool, s)
        for cap in sorted(caps.get(name, ())):
            s.add_provides(pool.Dep(cap))
    repo.internalize()


def _problems(found: Sequence[solv.Problem]) -> tuple[str, ...]:
    """Every rule behind every problem, as libsolv words it ("nothing provides ...")."""
    lines: list[str] = []
    for problem in found:
        rules = [r.info().problemstr() for r in problem.findallproblemrules()]
        lines += rules or [str(problem)]
    return tuple(dict.fromkeys(lines))


def resolve_installs(
    packages: Sequence[RpmPackage],
    index: PackageIndex,
    extra_provides: Mapping[str, Iterable[str]] | None = None,
    arch: str = "x86_64",
) -> list[Resolution]:
    """One install job per repository package (tritonserver first, then by name), each solved
    on its own so one broken package does not hide whether the others install."""
    pool = solv.Pool()
    pool.setdisttype(solv.Pool.DISTTYPE_RPM)
    pool.setarch(arch)
    local = _add_local(pool, packages)
    _add_index(pool, index, extra_provides or {})
    pool.addfileprovides()
    pool.createwhatprovides()
    order = sorted(local, key=lambda n: (n != FIRST, n))
    results: list[Resolution] = []
    for name in order:
        solver = pool.Solver()
        job = pool.Job(solv.Job.SOLVER_INSTALL | solv.Job.SOLVER_SOLVABLE, local[name].id)
        found = solver.solve([job])
        if found:
            results.append(Resolution(name, False, _problems(found)))
            continue
        new = solver.transaction().newsolvables()
        n_local = sum(1 for s in new if s.repo.name == LOCAL_REPO)
        results.append(Resolution(name, True, (), n_local, len(new) - n_local))
    return results
