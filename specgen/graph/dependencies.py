"""The dependency graph: what must be built for a recipe, what each thing needs, in which order.

An edge u -> v means u needs v, with `kind` build or run (`needs` lists both when both hold).
Nodes have `kind` build (specgen builds it) or external (a distribution or NVIDIA package) and
a `role` (core, backend, repoagent, cache, package, extra, system). What needs what is data
(specgen.knowledge reads data/components.toml); this module only applies it to a recipe, so a
new backend is a data edit. specgen.graphio writes the graph out (JSON, DOT, pictures).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import networkx as nx

from specgen.errors import CycleError
from specgen.graph.knowledge import (
    BUILD,
    NEED_KINDS,
    RUN,
    Extra,
    Knowledge,
    NodeSpec,
    default_knowledge,
)
from specgen.recipe.model import CMakeProject, Origin, Recipe

EXTERNAL = "external"
# Prefixes of system-package nodes taken from the Dockerfiles: never built here.
SYSTEM_PREFIXES = ("apt:", "rpm:")

Context = tuple[tuple[str, str], ...]


def build_graph(
    recipe: Recipe,
    knowledge: Knowledge | None = None,
    include_external: bool = True,
    extra: Extra | None = None,
) -> nx.DiGraph:
    """The graph of what this recipe builds and needs; raises CycleError if one exists."""
    builder = _Builder(recipe, knowledge or default_knowledge())
    builder.add_recipe()
    if extra:
        builder.add_extra(extra)
    g = builder.graph(include_external)
    check_acyclic(g)
    return g


class _Builder:
    """Applies the knowledge to a recipe, collecting nodes and edges in any order."""

    def __init__(self, recipe: Recipe, knowledge: Knowledge) -> None:
        self.recipe = recipe
        self.k = knowledge
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: dict[tuple[str, str], set[str]] = {}
        self.seen: set[tuple[str, Context]] = set()
        self.contexts: dict[str, set[Context]] = {}
        self.origins: dict[str, set[Origin]] = {}
        core = recipe.cmake.core if recipe.cmake else None
        self.core_options: dict[str, str] = dict(core.options) if core else {}

    def add_recipe(self) -> None:
        self._add_core()
        for comp in self.recipe.cmake.components if self.recipe.cmake else []:
            self._add_component(comp)
        self._add_system_packages()

    def _add_core(self) -> None:
        name = self.k.core_name
        version = self.core_options.get("TRITON_VERSION") or self.recipe.triton_version
        tags = _repo_tags(self.core_options)
        if version and self.k.server_tag:
            tags["server"] = self.k.server_tag.replace("{version}", version)
        attrs = {"kind": BUILD, "role": "core", "label": self.k.core.label, "version": version,
                 "repo_tags": tags or None}  # fmt: skip
        self._node(name, attrs)
        self._expand(name, self.k.core, _context(self.core_options))

    def _add_component(self, comp: CMakeProject) -> None:
        name, spec = self.k.component_spec(comp.kind, comp.name)
        options = {**self.core_options, **comp.options}
        attrs = {"kind": BUILD, "role": comp.kind, "label": spec.label, "component": comp.name,
                 "tag": comp.tag, "repo_url": comp.repo_url,
                 "repo_tags": _repo_tags(comp.options) or None}  # fmt: skip
        self._node(name, attrs)
        self._expand(name, spec, _context(options))

    def _add_system_packages(self) -> None:
        """Dockerfile installs: leaf externals, or an edge to the package that stands for one."""
        owner = self.k.attach_to
        self._ensure(owner)
        for role, need in sorted(self.k.image_needs.items()):
            image = self.recipe.images.get(role)
            if image is None:
                continue
            items = [("apt", p.name, p.origin) for p in image.apt]
            items += [("rpm", p.name, p.origin) for p in image.rpm]
            for manager, pkg, origin in items:
                base = _rpm_base(pkg) if manager == "rpm" else pkg
                if pkg in self.k.ignore or base in self.k.ignore:
                    continue
                target = self.k.provides.get(pkg) or self.k.provides.get(base)
                if target:
                    self._edge(owner, target, {need})
                    self._visit(target, _context(self.core_options))
                    continue
                node = self._system(f"{manager}:{pkg}")
                self.origins.setdefault(node, set()).add(origin)
                self._edge(owner, node, {need})

    def add_extra(self, extra: Extra) -> None:
        """The user's needs: edges between existing or new nodes, new packages expanded."""
        for kind in NEED_KINDS:
            for node, needs in sorted(extra.get(kind, {}).items()):
                self._ensure(node)
                for target in needs:
                    self._ensure(target)
                    self._edge(node, target, {kind})

    def _ensure(self, name: str) -> None:
        if name in self.nodes:
            return
        if name in self.k.packages or name in self.k.externals:
            self._visit(name, _context(self.core_options))
        elif name.startswith(SYSTEM_PREFIXES):
            self._system(name)
        else:
            self._node(name, {"kind": BUILD, "role": "extra", "label": name})

    def _system(self, name: str) -> str:
        """An `apt:`/`rpm:` leaf, added once; its name."""
        manager, _, label = name.partition(":")
        self.nodes.setdefault(name, {"kind": EXTERNAL, "role": "system", "label": label,
                                     "manager": manager})  # fmt: skip
        return name

    def _expand(self, name: str, spec: NodeSpec, ctx: Context) -> None:
        for target, kinds in sorted(spec.needs(dict(ctx)).items()):
            self._edge(name, target, kinds)
            if target != self.k.core_name:
                self._visit(target, ctx)

    def _visit(self, name: str, ctx: Context) -> None:
        """Add a package (under the options of what needs it) or an external, once per ctx."""
        if (name, ctx) in self.seen:
            return
        self.seen.add((name, ctx))
        if name in self.k.externals:
            self._node(name, {"kind": EXTERNAL, "role": "external",
                              "label": self.k.externals[name].label})  # fmt: skip
            return
        spec = self.k.packages[name]
        self.contexts.setdefault(name, set()).add(ctx)
        tags = _repo_tags(self.core_options)
        attrs = {"kind": BUILD, "role": "package", "label": spec.label,
                 "version": self._version(name, spec),
                 "source_repo": spec.source_repo,
                 "tag": tags.get(spec.source_repo) if spec.source_repo else None}  # fmt: skip
        self._node(name, attrs)
        self._expand(name, spec, ctx)

    def _version(self, name: str, spec: NodeSpec) -> str | None:
        """The first `version_from` found (option of any requester, image ENV), else `version`."""
        for source in spec.version_from:
            where, _, key = source.partition(":")
            if where == "option":
                options = [dict(c) for c in self.contexts.get(name, ())]
                values = sorted({o[key] for o in options if key in o})
                if values:
                    return values[0]
            elif where == "env":
                for _role, image in sorted(self.recipe.images.items()):
                    if key in image.env:
                        return image.env[key]
        return spec.version

    def _node(self, name: str, attrs: dict[str, Any]) -> None:
        self.nodes[name] = {k: v for k, v in attrs.items() if v is not None}

    def _edge(self, u: str, v: str, kinds: set[str]) -> None:
        self.edges.setdefault((u, v), set()).update(kinds)

    def graph(self, include_external: bool) -> nx.DiGraph:
        """A canonical DiGraph: nodes and edges inserted sorted, attributes as plain data."""
        keep = {n for n, a in self.nodes.items() if include_external or a["kind"] != EXTERNAL}
        g = nx.DiGraph(
            triton_version=self.recipe.triton_version,
            container_version=self.recipe.container_version,
            include_external=include_external,
        )
        for name in sorted(keep):
            attrs = dict(self.nodes[name])
            if name in self.origins:
                where = sorted(self.origins[name], key=lambda o: (o.file, o.line))
                attrs["origins"] = [str(o) for o in where]
            g.add_node(name, **dict(sorted(attrs.items())))
        for (u, v), kinds in sorted(self.edges.items()):
            if u in keep and v in keep:
                g.add_edge(u, v, kind=BUILD if BUILD in kinds else RUN, needs=sorted(kinds))
        return g


def _context(options: Mapping[str, str]) -> Context:
    return tuple(sorted(options.items()))


def _repo_tags(options: Mapping[str, str]) -> dict[str, str]:
    """`TRITON_<X>_REPO_TAG` options keyed by lower-case repo: common, core, third_party..."""
    return {
        key[len("TRITON_") : -len("_REPO_TAG")].lower(): value
        for key, value in sorted(options.items())
        if key.startswith("TRITON_") and key.endswith("_REPO_TAG")
    }


def _rpm_base(name: str) -> str:
    """`datacenter-gpu-manager-3.3.6` -> `datacenter-gpu-manager` (dnf accepts name-version)."""
    match = re.fullmatch(r"(.+?)-\d[\w.+~^:]*(-[\w.+~^]+)?", name)
    return match.group(1) if match else name


# --------------------------------------------------------------------------------------------
# Order, levels, cycles


def find_cycle(g: nx.DiGraph) -> list[str] | None:
    """One cycle's nodes, starting at its smallest name (stable), or None."""
    try:
        edges = nx.find_cycle(_canonical(g))
    except nx.NetworkXNoCycle:
        return None
    nodes = [str(e[0]) for e in edges]
    start = nodes.index(min(nodes))
    return nodes[start:] + nodes[:start]


def check_acyclic(g: nx.DiGraph) -> None:
    """Raise CycleError naming a cycle when there is one."""
    cycle = find_cycle(g)
    if cycle:
        raise CycleError(cycle)


def build_order(g: nx.DiGraph) -> list[str]:
    """Buildable nodes, dependencies first, ties broken by name.

    Run-time needs count too: a package's run needs must exist before it can be installed
    into the build root of whatever build-needs it.
    """
    return [n for n in _needs_first(g) if _buildable(g, n)]


def levels(g: nx.DiGraph) -> list[list[str]]:
    """Buildable nodes in parallel levels: each level needs only nodes of earlier levels.

    A node's level is one more than its deepest buildable need (externals are free), so
    nodes that need nothing buildable share level 0.
    """
    level: dict[str, int] = {}
    for node in _needs_first(g):
        level[node] = max((level[s] + _buildable(g, s) for s in g.successors(node)), default=0)
    grouped: dict[int, list[str]] = {}
    for node, lv in level.items():
        if _buildable(g, node):
            grouped.setdefault(lv, []).append(node)
    return [sorted(grouped[lv]) for lv in sorted(grouped)]


def _needs_first(g: nx.DiGraph) -> list[str]:
    """Every node after all it needs, ties broken by name; CycleError when impossible."""
    check_acyclic(g)
    return list(nx.lexicographical_topological_sort(g.reverse(copy=False), key=str))


def _buildable(g: nx.DiGraph, node: str) -> bool:
    return g.nodes[node].get("kind") != EXTERNAL


def _canonical(g: nx.DiGraph) -> nx.DiGraph:
    """The same graph with nodes and edges inserted in sorted order."""
    c = nx.DiGraph()
    c.graph.update(g.graph)
    c.add_nodes_from(sorted(g.nodes(data=True), key=lambda item: str(item[0])))
    c.add_edges_from(sorted(g.edges(data=True), key=lambda e: (str(e[0]), str(e[1]))))
    return c
