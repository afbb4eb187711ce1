"""What needs what: data/components.toml and a user's extra-needs TOML, read and checked once.

components.toml says, per node, what it needs at build time and at run time, always or only
when a CMake option has a value; `load_knowledge` turns it into typed specs and rejects any need
that names no known node. `load_extra_deps` reads the user's `--extra-deps` file. Both report a
bad file as an InputError at its line. specgen.graph applies the knowledge to a recipe.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from specgen.errors import InputError

BUILD = "build"
RUN = "run"
NEED_KINDS = (BUILD, RUN)

_TRUE = frozenset({"1", "ON", "YES", "TRUE", "Y"})
_FALSE = frozenset({"0", "OFF", "NO", "FALSE", "N", "IGNORE", "NOTFOUND", ""})

# A user's extra needs: {"build": {node: [needed, ...]}, "run": {...}}.
Extra = dict[str, dict[str, list[str]]]


@dataclass(frozen=True)
class Condition:
    """Needs that hold only when a CMake option has a value."""

    option: str
    value: str
    build: tuple[str, ...] = ()
    run: tuple[str, ...] = ()

    def holds(self, options: Mapping[str, str]) -> bool:
        return _option_matches(options.get(self.option), self.value)


def _option_matches(actual: str | None, wanted: str) -> bool:
    """CMake semantics: booleans compare as booleans (unset is OFF), other values as text."""
    w = wanted.strip().upper()
    if w in _TRUE or w in _FALSE:
        a = (actual or "").strip().upper()
        truthy = a in _TRUE or (a not in _FALSE and not a.endswith("-NOTFOUND"))
        return truthy == (w in _TRUE)
    return actual is not None and actual == wanted


@dataclass(frozen=True)
class NodeSpec:
    """What one node needs: always (build, run) and under conditions (when)."""

    label: str
    build: tuple[str, ...] = ()
    run: tuple[str, ...] = ()
    when: tuple[Condition, ...] = ()
    version: str | None = None
    version_from: tuple[str, ...] = ()
    source_repo: str | None = None
    node: str | None = None  # component defaults: the node-name pattern

    def needs(self, options: Mapping[str, str]) -> dict[str, set[str]]:
        """Needed node -> {build, run} under these options."""
        out: dict[str, set[str]] = {}
        parts: list[tuple[tuple[str, ...], tuple[str, ...]]] = [(self.build, self.run)]
        parts += [(c.build, c.run) for c in self.when if c.holds(options)]
        for build, run in parts:
            for name in build:
                out.setdefault(name, set()).add(BUILD)
            for name in run:
                out.setdefault(name, set()).add(RUN)
        return out

    def merged(self, other: NodeSpec) -> NodeSpec:
        """These defaults plus a component's own entry (its label wins)."""
        return NodeSpec(
            label=other.label or self.label,
            build=self.build + other.build,
            run=self.run + other.run,
            when=self.when + other.when,
            version=other.version or self.version,
            version_from=other.version_from or self.version_from,
            source_repo=other.source_repo or self.source_repo,
            node=self.node,
        )


@dataclass(frozen=True)
class Knowledge:
    """The parsed components.toml."""

    source: str
    core_name: str
    core: NodeSpec
    server_tag: str | None
    component_defaults: dict[str, NodeSpec]
    components: dict[tuple[str, str], NodeSpec]
    packages: dict[str, NodeSpec]
    externals: dict[str, NodeSpec]
    attach_to: str
    image_needs: dict[str, str]
    ignore: frozenset[str] = field(default_factory=frozenset)
    provides: dict[str, str] = field(default_factory=dict)

    def component_spec(self, kind: str, name: str) -> tuple[str, NodeSpec]:
        """The node name and merged needs of a backend/repoagent/cache, known or not."""
        defaults = self.component_defaults.get(kind) or NodeSpec(
            label=f"Triton {{name}} {kind}",
            build=(self.core_name,),
            run=(self.core_name,),
            node=f"tritonserver-{kind}-{{name}}",
        )
        spec = defaults.merged(self.components.get((kind, name), NodeSpec(label="")))
        node = (defaults.node or f"tritonserver-{kind}-{{name}}").replace("{name}", name)
        return node, replace(spec, label=spec.label.replace("{name}", name))


def load_knowledge(path: str | Path | None = None) -> Knowledge:
    """Read components.toml (the packaged one unless a path is given) and check its names."""
    if path is None:
        res = resources.files("specgen").joinpath("data", "components.toml")
        data = _loads(res.read_text(encoding="utf-8"), "components.toml")
        return _parse_knowledge(data, "specgen/data/components.toml")
    return _parse_knowledge(_loads(_read_text(Path(path)), path), str(path))


@functools.cache
def default_knowledge() -> Knowledge:
    """The packaged knowledge, read once per process."""
    return load_knowledge()


def _parse_knowledge(data: dict[str, Any], src: str) -> Knowledge:
    allowed = {"schema", "system_packages", "core", "component_defaults", "package", "external"}
    kinds = ("backend", "repoagent", "cache")
    _no_unknown(data, allowed | set(kinds), src, "top level")
    core_tbl = _table(data, "core", src, "top level")
    core_name = _str(core_tbl, "name", src, "[core]")
    core = _spec(core_tbl, src, "[core]", extra_keys={"name", "server_tag"})
    server_tag = core_tbl.get("server_tag")
    defaults = {
        kind: _spec(tbl, src, f"[component_defaults.{kind}]", extra_keys={"node"})
        for kind, tbl in sorted(_table(data, "component_defaults", src, "top level").items())
    }
    components = {
        (kind, name): _spec(tbl, src, f"[{kind}.{name}]")
        for kind in kinds
        for name, tbl in sorted(data.get(kind, {}).items())
    }
    packages = {n: _spec(t, src, f"[package.{n}]") for n, t in data.get("package", {}).items()}
    externals = {}
    for name, tbl in data.get("external", {}).items():
        _no_unknown(tbl, {"label"}, src, f"[external.{name}]")
        externals[name] = NodeSpec(label=_str(tbl, "label", src, f"[external.{name}]"))
    sysp = _table(data, "system_packages", src, "top level")
    _no_unknown(sysp, {"attach_to", "image_needs", "ignore", "provides"}, src, "[system_packages]")
    image_needs = dict(sysp.get("image_needs", {}))
    knowledge = Knowledge(
        source=src,
        core_name=core_name,
        core=core,
        server_tag=server_tag,
        component_defaults=defaults,
        components=components,
        packages=packages,
        externals=externals,
        attach_to=_str(sysp, "attach_to", src, "[system_packages]"),
        image_needs=image_needs,
        ignore=frozenset(sysp.get("ignore", [])),
        provides=dict(sysp.get("provides", {})),
    )
    _check_names(knowledge)
    return knowledge


def _check_names(k: Knowledge) -> None:
    """Every need names a known node: a typo in the data is an error, not a stray node."""
    overlap = sorted(set(k.packages) & set(k.externals))
    if overlap:
        raise InputError(k.source, f"both [package] and [external]: {', '.join(overlap)}")
    known = {k.core_name, *k.packages, *k.externals}
    specs: list[tuple[str, NodeSpec]] = [("[core]", k.core)]
    specs += [(f"[component_defaults.{n}]", s) for n, s in k.component_defaults.items()]
    specs += [(f"[{kd}.{n}]", s) for (kd, n), s in k.components.items()]
    specs += [(f"[package.{n}]", s) for n, s in k.packages.items()]
    for where, spec in specs:
        names = [*spec.build, *spec.run]
        for cond in spec.when:
            names += [*cond.build, *cond.run]
        unknown = sorted(set(names) - known)
        if unknown:
            raise InputError(k.source, f"{where}: unknown node(s) {', '.join(unknown)}")
    for apt, target in k.provides.items():
        if target not in k.packages:
            raise InputError(k.source, f"[system_packages] provides {apt}: {target} no package")
    if k.attach_to not in known:
        raise InputError(k.source, f"[system_packages] attach_to: unknown node {k.attach_to}")
    bad = sorted(v for v in k.image_needs.values() if v not in NEED_KINDS)
    if bad:
        raise InputError(k.source, f"[system_packages] image_needs: {bad[0]} is not build|run")


def _spec(tbl: Any, src: str, where: str, extra_keys: Iterable[str] = ()) -> NodeSpec:
    if not isinstance(tbl, dict):
        raise InputError(src, f"{where}: expected a table")
    keys = {"label", "build", "run", "when", "version", "version_from", "source_repo"}
    _no_unknown(tbl, keys | set(extra_keys), src, where)
    when = []
    for i, cond in enumerate(tbl.get("when", [])):
        w = f"{where} when #{i + 1}"
        if not isinstance(cond, dict):
            raise InputError(src, f"{w}: expected a table")
        _no_unknown(cond, {"option", "value", "build", "run"}, src, w)
        when.append(Condition(option=_str(cond, "option", src, w),
                              value=str(cond.get("value", "ON")),
                              build=_names(cond, "build", src, w),
                              run=_names(cond, "run", src, w)))  # fmt: skip
    version = tbl.get("version")
    return NodeSpec(
        label=str(tbl.get("label", "")),
        build=_names(tbl, "build", src, where),
        run=_names(tbl, "run", src, where),
        when=tuple(when),
        version=None if version is None else str(version),
        version_from=_names(tbl, "version_from", src, where),
        source_repo=tbl.get("source_repo"),
        node=tbl.get("node"),
    )


def _names(tbl: dict[str, Any], key: str, src: str, where: str) -> tuple[str, ...]:
    value = tbl.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InputError(src, f"{where} {key}: expected a list of names")
    return tuple(value)


def _str(tbl: dict[str, Any], key: str, src: str, where: str) -> str:
    value = tbl.get(key)
    if not isinstance(value, str) or not value:
        raise InputError(src, f"{where}: `{key}` must be a non-empty string")
    return value


def _table(tbl: dict[str, Any], key: str, src: str, where: str) -> dict[str, Any]:
    value = tbl.get(key)
    if not isinstance(value, dict):
        raise InputError(src, f"{where}: missing table [{key}]")
    return value


def _no_unknown(tbl: dict[str, Any], allowed: set[str], src: str, where: str) -> None:
    unknown = sorted(set(tbl) - allowed)
    if unknown:
        raise InputError(src, f"{where}: unknown key(s) {', '.join(unknown)}")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(path, f"cannot read: {err}") from err


def _loads(text: str, path: str | Path) -> dict[str, Any]:
    """tomllib.loads, its error turned into an InputError with the line when it names one."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        match = re.search(r"at line (\d+)", str(err))
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(err))
        line = int(match.group(1)) if match else None
        if line is None and "end of document" in str(err):
            line = max(1, len(text.splitlines()))
        raise InputError(path, f"invalid TOML: {message}", line) from err


def load_extra_deps(path: str | Path) -> Extra:
    """Read a user's extra needs: `[needs] "a" = ["b"]` (build time), `[run_needs]` (run time).

    Returns {"build": {a: [b, ...]}, "run": {...}}; names may be new nodes.
    """
    path = Path(path)
    text = _read_text(path)
    data = _loads(text, path)
    out: Extra = {BUILD: {}, RUN: {}}
    for key, value in data.items():
        kind = {"needs": BUILD, "run_needs": RUN}.get(key)
        if kind is None:
            raise InputError(path, f"unknown table [{key}] (expected [needs] or [run_needs])",
                             _line_of(text, key))  # fmt: skip
        if not isinstance(value, dict):
            raise InputError(path, f"[{key}] must be a table", _line_of(text, key))
        for node, needs in value.items():
            if (
                not node
                or not isinstance(needs, list)
                or not needs
                or not all(isinstance(n, str) and n for n in needs)
            ):
                raise InputError(path, f'[{key}] "{node}": expected a list of node names',
                                 _line_of(text, node))  # fmt: skip
            out[kind][node] = list(needs)
    return out


def _line_of(text: str, key: str) -> int | None:
    """The first line that starts with this key or table name: where a bad value likely is."""
    pattern = re.compile(rf'^\s*(\[\s*)?["\']?{re.escape(key)}["\']?\s*[=\]]')
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None
