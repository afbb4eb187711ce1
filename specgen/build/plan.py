"""What `specgen build` will build: the generated specs, their Sources and their order.

Reads what `specgen generate` wrote (specs/<name>/<name>.spec, signatures, graph.json) and the
source lock; nothing here runs a build. A Source is either a download (from the lock, for this
arch, verified by sha256 before any build) or a file shipped beside the spec.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from specgen.errors import InputError, SpecgenError
from specgen.generate.lock import LockedSource, SourceLock
from specgen.graph import formats as graphio
from specgen.graph.dependencies import EXTERNAL
from specgen.sources.overlay import LockOverlay, OverlaySource


@dataclass(frozen=True)
class PlanSource:
    """One file rpmbuild needs in SOURCES."""

    file: str
    path: Path
    sha256: str | None
    size: int | None
    local: bool  # shipped beside the spec (not downloaded)
    overlay: OverlaySource | None = None  # a local file standing in for the download


@dataclass(frozen=True)
class PlanItem:
    """One spec to build."""

    name: str
    spec: Path
    needs: tuple[str, ...]
    sources: tuple[PlanSource, ...]

    def unpinned(self) -> list[PlanSource]:
        return [s for s in self.sources if s.sha256 is None]

    def from_overlay(self) -> list[PlanSource]:
        """Sources a lock overlay supplies instead of the lock's downloads."""
        return [s for s in self.sources if s.overlay is not None]


@dataclass(frozen=True)
class Plan:
    items: dict[str, PlanItem]
    graph: nx.DiGraph  # u -> v: u needs v

    def order(self) -> list[str]:
        from specgen.graph.dependencies import build_order

        return [n for n in build_order(self.graph) if n in self.items]


def read_signatures(spec_dir: Path, name: str) -> dict[str, str]:
    """`<name>.signatures.json` beside a spec: Source file name -> sha256."""
    path = spec_dir / f"{name}.signatures.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "missing: regenerate with `specgen generate`") from None
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(path, f"unreadable: {err}") from None
    sigs = data.get("Signatures") if isinstance(data, dict) else None
    if not isinstance(sigs, dict):
        raise InputError(path, 'no "Signatures" object')
    return {str(k): str(v) for k, v in sigs.items()}


def _graph(specs_dir: Path) -> nx.DiGraph:
    path = specs_dir / "graph.json"
    try:
        return graphio.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "missing: regenerate with `specgen generate`") from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InputError(path, f"not a specgen graph: {err}") from None


def _download(s: LockedSource, downloads: Path, overlay: LockOverlay | None) -> PlanSource:
    """A lock entry as the build sees it: the download, or the overlay's local file and pin."""
    stand_in = overlay.sources.get(s.file) if overlay else None
    if stand_in is None:
        return PlanSource(s.file, downloads / s.file, s.sha256, s.size, local=False)
    return PlanSource(
        s.file, stand_in.path, stand_in.sha256, stand_in.size, local=False, overlay=stand_in
    )


def load_plan(
    specs_dir: Path,
    lock: SourceLock,
    downloads: Path,
    arch: str,
    overlay: LockOverlay | None = None,
) -> Plan:
    """The plan for `arch` from a generated specs folder and its source lock; an overlay
    (already checked against the lock) replaces the downloads it names with local files."""
    if not specs_dir.is_dir():
        raise InputError(specs_dir, "no specs folder (run `specgen generate`)")
    g = _graph(specs_dir)
    items: dict[str, PlanItem] = {}
    for name in sorted(n for n, a in g.nodes(data=True) if a.get("kind") != EXTERNAL):
        spec_dir = specs_dir / name
        spec = spec_dir / f"{name}.spec"
        if not spec.is_file():
            raise InputError(spec, "listed in graph.json but missing")
        sigs = read_signatures(spec_dir, name)
        sources = [
            _download(s, downloads, overlay)
            for s in lock.sources
            if name in s.packages and s.arch in (None, arch)
        ]
        downloaded = {s.file for s in lock.sources if name in s.packages}
        for file, sha in sorted(sigs.items()):
            if file not in downloaded:
                local = spec_dir / file
                if not local.is_file():
                    raise InputError(local, f"Source of {name} missing beside its spec")
                sources.append(PlanSource(file, local, sha, local.stat().st_size, local=True))
        needs = tuple(sorted(v for v in g.successors(name) if v in g and v != name))
        items[name] = PlanItem(name, spec, needs, tuple(sources))
    if not items:
        raise SpecgenError(f"{specs_dir}/graph.json lists no specs to build")
    return Plan(items, g)
