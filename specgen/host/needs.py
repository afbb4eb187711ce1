"""What a release asks of a build host: NVIDIA's driver minimum for its CUDA, and disk space.

Both are data (specgen/data/cuda-drivers.toml, build-estimates.toml) read into small tables;
plan_needs turns a release's source lock and the estimates into bytes `specgen doctor` checks.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from typing import Any

from specgen.errors import InputError
from specgen.generate.lock import SourceLock

GB = 10**9


@dataclass(frozen=True)
class DriverMinimum:
    """One row of NVIDIA's table: a CUDA toolkit release and the oldest driver it supports."""

    cuda: tuple[int, ...]
    label: str
    driver: str


@dataclass(frozen=True)
class DriverTable:
    """NVIDIA's minimum driver per CUDA release and the minor-version-compatibility floors."""

    minimums: tuple[DriverMinimum, ...]
    floors: dict[str, str]

    def minimum_for(self, cuda: str) -> DriverMinimum | None:
        """The row of `cuda`, or the nearest earlier row of its major.minor."""
        want = version_tuple(cuda)
        rows = [m for m in self.minimums if m.cuda[:2] == want[:2] and m.cuda <= want]
        return max(rows, key=lambda m: m.cuda, default=None)


@dataclass(frozen=True)
class PackageEstimate:
    """Bytes of one package's sources (when the lock has no size) and of its build tree."""

    source: int
    build_tree: int | None = None
    build_factor: float | None = None

    def tree(self, source_bytes: int) -> int:
        if self.build_tree is not None:
            return self.build_tree
        return int((self.build_factor or 0.0) * source_bytes)


@dataclass(frozen=True)
class Estimates:
    """build-estimates.toml: disk per package and what a parallel build wants of a host."""

    packages: dict[str, PackageEstimate]
    default: PackageEstimate
    toolchain: int
    memory_per_job: int
    min_cores: int
    disk_margin: float

    def of(self, package: str) -> PackageEstimate:
        return self.packages.get(package, self.default)


@dataclass(frozen=True)
class Needs:
    """Bytes the release's build still needs, and how they were found (for the report)."""

    sources: int
    build: int
    basis: str


def version_tuple(text: str) -> tuple[int, ...]:
    """`570.124.06` -> (570, 124, 6); digits after the first non-numeric part are dropped."""
    parts = []
    for part in text.strip().split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def _data(name: str) -> tuple[dict[str, Any], str]:
    where = f"specgen/data/{name}"
    try:
        return tomllib.loads(resources.files("specgen.data").joinpath(name).read_text()), where
    except tomllib.TOMLDecodeError as err:
        raise InputError(where, str(err)) from None


def load_drivers() -> DriverTable:
    """cuda-drivers.toml, checked: a typo in a version must not pass a driver silently."""
    data, where = _data("cuda-drivers.toml")
    rows = []
    for i, raw in enumerate(data.get("toolkit", [])):
        cuda, driver = raw.get("cuda", ""), raw.get("driver", "")
        if len(version_tuple(cuda)) != 3 or len(version_tuple(driver)) < 2:
            raise InputError(where, f"toolkit[{i}]: cuda X.Y.Z and driver versions required")
        rows.append(DriverMinimum(version_tuple(cuda), str(raw.get("label", cuda)), driver))
    return DriverTable(tuple(rows), dict(data.get("minor_version_compatibility", {})))


def _estimate(where: str, name: str, raw: dict[str, Any]) -> PackageEstimate:
    tree, factor = raw.get("build_tree_gb"), raw.get("build_tree_factor")
    if (tree is None) == (factor is None) or not isinstance(raw.get("source_gb"), int | float):
        raise InputError(where, f"{name}: source_gb and one of build_tree_gb/_factor required")
    return PackageEstimate(
        source=int(raw["source_gb"] * GB),
        build_tree=None if tree is None else int(tree * GB),
        build_factor=None if factor is None else float(factor),
    )


def load_estimates() -> Estimates:
    """build-estimates.toml, with every package row complete."""
    data, where = _data("build-estimates.toml")
    try:
        host, overhead = data["host"], data["overhead"]
        return Estimates(
            packages={n: _estimate(where, n, r) for n, r in data.get("packages", {}).items()},
            default=_estimate(where, "default", data["default"]),
            toolchain=int(overhead["toolchain_gb"] * GB),
            memory_per_job=int(host["memory_per_job_gb"] * GB),
            min_cores=int(host["min_cores"]),
            disk_margin=float(host["disk_margin"]),
        )
    except (KeyError, TypeError) as err:
        raise InputError(where, f"missing or malformed value: {err}") from None


def plan_needs(
    lock: SourceLock | None,
    estimates: Estimates,
    arch: str,
    downloaded: dict[str, int],
    no_lock_reason: str = "",
) -> Needs:
    """Disk a release's build needs: sources not yet downloaded, build trees, the toolchain.

    Each Source counts for its first package; one without a size in the lock gets an even share
    of its package's estimate. Without a lock every package of the estimates table counts.
    """
    per_package: dict[str, int] = {}
    missing = 0
    if lock is None:
        per_package = {name: e.source for name, e in estimates.packages.items()}
        missing = sum(per_package.values())
        basis = f"{no_lock_reason}: all sizes estimated"
    else:
        chosen = [s for s in lock.sources if s.arch in (None, arch)]
        unsized = Counter(s.packages[0] for s in chosen if s.size is None and s.packages)
        guessed = 0
        for s in chosen:
            owner = s.packages[0] if s.packages else ""
            size = s.size
            if size is None:
                size, guessed = estimates.of(owner).source // max(unsized[owner], 1), guessed + 1
            per_package[owner] = per_package.get(owner, 0) + size
            missing += max(size - downloaded.get(s.file, 0), 0)
            for other in s.packages[1:]:
                per_package.setdefault(other, 0)
        basis = f"{guessed} of {len(chosen)} {arch} source sizes estimated"
    build = estimates.toolchain + sum(estimates.of(p).tree(b) for p, b in per_package.items())
    return Needs(sources=missing, build=build, basis=f"{len(per_package)} packages; {basis}")
