"""What a set of binary packages offers: names, versions and Provides, looked up by capability.

Both sources of package facts produce one: repository metadata (repodata.py) and the offline
snapshot of Azure Linux 3.0 (snapshot.py). The resolver (mapping) only ever asks this interface,
so a result it returns always exists in the repositories it was given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PackageInfo:
    """One binary package: its name, EVR, arch and the repository it came from."""

    name: str
    version: str
    release: str
    epoch: int = 0
    arch: str = "noarch"
    repo: str = ""

    @property
    def evr(self) -> str:
        evr = f"{self.version}-{self.release}" if self.release else self.version
        return f"{self.epoch}:{evr}" if self.epoch else evr


@dataclass
class PackageIndex:
    """Packages by name, and capability -> names of packages that Provide it.

    Repository metadata keeps the newest EVR of each name (what tdnf would install). File paths
    count as capabilities: those primary.xml lists (`/usr/bin/*`, `/etc/*`) always, every path
    when filelists were loaded.
    """

    packages: dict[str, PackageInfo] = field(default_factory=dict)
    provides: dict[str, set[str]] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    def add(self, pkg: PackageInfo, provides: Iterable[str] = ()) -> None:
        """Add a package and its Provides; a name seen twice keeps the first package seen."""
        self.packages.setdefault(pkg.name, pkg)
        self.provides.setdefault(pkg.name, set()).add(pkg.name)
        for cap in provides:
            self.provides.setdefault(cap, set()).add(pkg.name)

    def merge(self, other: PackageIndex) -> None:
        for name, pkg in other.packages.items():
            self.packages.setdefault(name, pkg)
        for cap, names in other.provides.items():
            self.provides.setdefault(cap, set()).update(names)
        self.sources.extend(other.sources)

    def has(self, name: str) -> bool:
        return name in self.packages

    def whatprovides(self, capability: str) -> list[str]:
        """Package names providing a capability (a package name provides itself), sorted."""
        return sorted(self.provides.get(capability, ()))

    def __len__(self) -> int:
        return len(self.packages)
