"""What was built from what: the record that lets `specgen build` skip unchanged packages.

A package's input digest covers its spec, every Source's sha256, the macro file and defines
rpmbuild gets, the backend, and the input digests of the packages it needs (so a rebuilt
dependency rebuilds its dependents). The state is rewritten atomically after each package, so
a killed run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from specgen.atomic import write_atomic
from specgen.build.plan import PlanItem

STATE_FORMAT = 1


def input_digest(
    item: PlanItem, settings: dict[str, Any], needed: dict[str, str]
) -> str:
    """sha256 over everything that decides what `item` builds into."""
    h = hashlib.sha256()
    h.update(item.spec.read_bytes())
    for source in sorted(item.sources, key=lambda s: s.file):
        h.update(f"\0{source.file}\0{source.sha256}".encode())
    h.update(json.dumps(settings, sort_keys=True).encode())
    for name in sorted(needed):
        h.update(f"\0{name}\0{needed[name]}".encode())
    return h.hexdigest()


@dataclass
class Built:
    inputs: str
    rpms: list[str]


@dataclass
class BuildState:
    """Per package: the input digest of its last good build and the RPMs it produced; per
    downloaded file: the (size, mtime) at which its sha256 was last verified."""

    path: Path
    packages: dict[str, Built] = field(default_factory=dict)
    verified: dict[str, tuple[int, int, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> BuildState:
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            packages = {n: Built(p["inputs"], list(p["rpms"])) for n, p in data["packages"].items()}
            verified = {f: (v[0], v[1], v[2]) for f, v in data.get("verified", {}).items()}
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return cls(path)  # unreadable state: rebuild everything rather than trust it
        return cls(path, packages, verified)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        packages = sorted(self.packages.items())
        data = {
            "format": STATE_FORMAT,
            "packages": {n: {"inputs": b.inputs, "rpms": b.rpms} for n, b in packages},
            "verified": {f: list(v) for f, v in sorted(self.verified.items())},
        }
        write_atomic(self.path, json.dumps(data, indent=2) + "\n")
