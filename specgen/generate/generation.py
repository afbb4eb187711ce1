"""`specgen generate`: recipe + release facts + data -> specs, signatures, lock, spec graph.

Everything is rendered in memory first; only when every package rendered is the output folder
replaced, so a failure leaves the previous specs as they were.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from specgen.errors import InputError, SpecgenError
from specgen.generate.context import BuildContext
from specgen.generate.cudaprovider import cuda_provider
from specgen.generate.cudaredist import cuda_redist_packages
from specgen.generate.history import OldSpec, carried, read_old_spec, release_dated
from specgen.generate.lock import LockedSource, SourceLock, write_lock
from specgen.generate.package import PackageSpec
from specgen.generate.pins import PinBook
from specgen.generate.pkgdata import has_package_data, load_package_data
from specgen.generate.prebuilt import build_prebuilt
from specgen.generate.release import Release
from specgen.generate.render import render_spec
from specgen.generate.sourcebuild import build_source
from specgen.generate.triton import build_tritonserver
from specgen.graph import formats as graphio
from specgen.graph.dependencies import build_graph, build_order, levels
from specgen.graph.knowledge import BUILD, RUN
from specgen.mapping.imagedeps import specs_asked_for
from specgen.recipe.model import Recipe

# Builders by the `kind` of a package data file.
_BUILDERS = {"prebuilt": build_prebuilt, "source": build_source}


@dataclass(frozen=True)
class Generation:
    """What one generation produced, before anything is written."""

    release: Release
    packages: tuple[PackageSpec, ...]
    specs: dict[str, str]
    graph: nx.DiGraph
    lock: SourceLock
    not_generated: tuple[str, ...]


def wanted_packages(recipe: Recipe) -> dict[str, dict[str, Any]]:
    """Spec names the recipe needs with their graph node: the graph's buildable nodes, with
    backends, repository agents and caches folded into the core's spec, then the specs the
    mapping asks for that the graph does not know (a pinned build tool newer than Azure Linux's,
    a runtime library), their version the pin's."""
    g = build_graph(recipe, include_external=False)
    wanted: dict[str, dict[str, Any]] = {}
    for node, attrs in sorted(g.nodes(data=True)):
        if attrs.get("role") in ("core", "backend", "repoagent", "cache"):
            wanted.setdefault("tritonserver", dict(g.nodes["tritonserver"]))
        else:
            wanted[node] = dict(attrs)
    for name, version in specs_asked_for(recipe).items():
        if name not in wanted:
            node = {"kind": BUILD, "role": "package", "label": name, "version": version}
            wanted[name] = {k: v for k, v in node.items() if v is not None}
    return wanted


def generate(
    recipe: Recipe,
    release: Release,
    cuda_from_redist: bool = False,
    lock: SourceLock | None = None,
) -> Generation:
    """Build every package model the recipe needs and render its spec."""
    cuda = cuda_provider(release, cuda_from_redist)
    base = BuildContext(release, recipe, cuda, PinBook(release, lock))
    packages: list[PackageSpec] = []
    missing: list[str] = []
    wanted = wanted_packages(recipe)
    for name, node in wanted.items():
        if name == "tritonserver":
            continue
        pkg = _package(name, dataclasses.replace(base, node=node))
        if pkg is None:
            missing.append(name)
        else:
            packages.append(pkg)
    if cuda_from_redist:
        packages.extend(cuda_redist_packages(base))
    # The server last: its switches depend on which other specs exist.
    if "tritonserver" in wanted:
        ctx = dataclasses.replace(base, node=wanted["tritonserver"])
        packages.append(_tritonserver(ctx, {p.name for p in packages}))
    packages.sort(key=lambda p: p.name)
    specs = {p.name: render_spec(p, release.name) for p in packages}
    return Generation(
        release=release,
        packages=tuple(packages),
        specs=specs,
        graph=spec_graph(packages),
        lock=_lock(release, packages),
        not_generated=tuple(missing),
    )


def _package(name: str, ctx: BuildContext) -> PackageSpec | None:
    """The package's spec, or None when specgen has no data for it (a broken file is an error)."""
    if not has_package_data(name):
        return None
    data = load_package_data(name)
    builder = _BUILDERS.get(data.get("kind", ""))
    if builder is None:
        raise SpecgenError(f"{data['_where']}: unknown kind {data.get('kind')!r}")
    return builder(data, ctx)


def _tritonserver(ctx: BuildContext, generated: set[str]) -> PackageSpec:
    return build_tritonserver(load_package_data("tritonserver"), ctx, generated)


def spec_graph(packages: list[PackageSpec]) -> nx.DiGraph:
    """u -> v when a spec u BuildRequires (build) or Requires (run) what spec v provides."""
    provider: dict[str, str] = {}
    for pkg in packages:
        for provided in pkg.provided_names():
            provider.setdefault(provided, pkg.name)
    g = nx.DiGraph()
    for pkg in sorted(packages, key=lambda p: p.name):
        g.add_node(pkg.name, kind=BUILD, role="package", version=pkg.version)
    for pkg in packages:
        build = {d.split()[0] for d in pkg.all_build_requires()}
        run = pkg.needed_names() - build
        for kind, names in ((BUILD, build), (RUN, run)):
            for need in sorted(names):
                v = provider.get(need.replace("%{?_isa}", ""))
                if v and v != pkg.name:
                    prior = set(g.edges[pkg.name, v]["needs"]) if g.has_edge(pkg.name, v) else set()
                    needs = sorted(prior | {kind})
                    g.add_edge(pkg.name, v, kind=BUILD if BUILD in needs else RUN, needs=needs)
    return g


def _lock(release: Release, packages: list[PackageSpec]) -> SourceLock:
    by_url: dict[str, LockedSource] = {}
    for pkg in packages:
        for s in pkg.sources:
            if s.local_text is not None:
                continue
            prior = by_url.get(s.url)
            owners = tuple(sorted({*(prior.packages if prior else ()), pkg.name}))
            by_url[s.url] = LockedSource(
                file=s.file, url=s.url, sha256=s.sha256, size=s.size,
                pinned_by=s.pinned_by, packages=owners, arch=s.arch,
            )  # fmt: skip
    return SourceLock(release=release.name, sources=tuple(by_url.values()))


def read_existing_specs(out: Path, names: list[str]) -> dict[str, OldSpec]:
    """The specs of these names that an earlier run wrote into `out`, by name (see history.py)."""
    found: dict[str, OldSpec] = {}
    for name in names:
        path = out / name / f"{name}.spec"
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise InputError(path, f"cannot read the existing spec: {err}") from None
        old = read_old_spec(str(path), text)
        if old is not None:
            found[name] = old
    return found


def with_history(gen: Generation, existing: dict[str, OldSpec]) -> Generation:
    """The generation with each spec's changelog and Release carried over from the spec of the
    same name it replaces (history.py says how); specs whose text is unchanged are kept as is."""
    from specgen.generate.releasediff import release_facts

    packages, specs = [], dict(gen.specs)
    for pkg in gen.packages:
        kept = carried(pkg, gen.specs[pkg.name], existing.get(pkg.name), gen.release,
                       release_dated, release_facts)  # fmt: skip
        if kept is not pkg:
            specs[pkg.name] = render_spec(kept, gen.release.name)
        packages.append(kept)
    return dataclasses.replace(gen, packages=tuple(packages), specs=specs)


def signatures(pkg: PackageSpec) -> str:
    """`<name>.signatures.json`: pinned Sources only (an unpinned one is marked in the spec)."""
    sigs = {s.file: s.sha256 for s in pkg.sources if s.sha256 is not None}
    return json.dumps({"Signatures": dict(sorted(sigs.items()))}, indent=2) + "\n"


def write_generation(gen: Generation, out: Path, lock_path: Path | None) -> None:
    """Replace `out` with the generated tree (built beside it, then swapped in)."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for pkg in gen.packages:
            folder = staging / pkg.name
            folder.mkdir()
            (folder / f"{pkg.name}.spec").write_text(gen.specs[pkg.name], encoding="utf-8")
            (folder / f"{pkg.name}.signatures.json").write_text(signatures(pkg), encoding="utf-8")
            for source in pkg.sources:
                if source.local_text is not None:
                    (folder / source.file).write_text(source.local_text, encoding="utf-8")
        order = {"build_order": build_order(gen.graph), "levels": levels(gen.graph)}
        (staging / "build-order.json").write_text(json.dumps(order, indent=2) + "\n")
        (staging / "graph.json").write_text(graphio.to_json(gen.graph), encoding="utf-8")
        (staging / "graph.dot").write_text(graphio.to_dot(gen.graph), encoding="utf-8")
        for path in staging.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old"
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
        staging.rename(out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise SpecgenError(f"cannot write {out}: {err}") from err
    if lock_path is not None:
        write_lock(lock_path, gen.lock)

