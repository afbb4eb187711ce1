"""The tritonserver spec: server, core library and one subpackage per backend, from the recipe.

The recipe's cmake_build says which features and backends the release enables; the data file
(`specgen/data/packages/tritonserver.toml`) says which options the spec sets itself, which follow
a %bcond, what each backend needs, and the %prep edits that make the build work offline against
the distribution's libraries. The Ubuntu packages of the build and runtime images are mapped to
Azure Linux names (mapping/resolver.py) for BuildRequires and Requires.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from specgen.generate import speclang
from specgen.generate.context import BuildContext
from specgen.generate.github import Archive, strip_fragment, triton_archive
from specgen.generate.package import (
    PackageSpec,
    Source,
    Subpackage,
    checked_subpackage,
    comment_lines,
    header_fields,
    local_source,
)
from specgen.generate.pkgdata import fill, fill_all
from specgen.generate.switches import Switch, is_on, recipe_switches
from specgen.mapping.imagedeps import image_resolutions
from specgen.mapping.resolver import Resolution
from specgen.recipe.model import CMakeProject

LOCAL_FILES = ("tritonserver.service", "tritonserver.sysusers", "tritonserver.sysconfig")
FIRST_BACKEND_SOURCE = 10
FIRST_LOCAL_SOURCE = 20
GPU = "gpu"


@dataclass(frozen=True)
class Repo:
    """A Triton repository unpacked as triton/<dest> in %prep (under its bcond, if any)."""

    source: int
    top_dir: str
    dest: str
    bcond: str | None = None


@dataclass(frozen=True)
class Project:
    """One CMake configure, build and install into stage/<name> in %build."""

    name: str
    srcdir: str
    options: tuple[str, ...]
    bcond: str | None = None


@dataclass(frozen=True)
class Prep:
    """A %prep step: the reason as comment lines, then the commands."""

    comment: tuple[str, ...]
    run: str
    bcond: str | None = None


class _Options:
    """A recipe project's CMake options as spec lines: dropped, following a bcond, or as is."""

    def __init__(self, data: dict[str, Any], owner: str) -> None:
        self.drop = set(data["drop"])
        self.drop_suffixes = tuple(data.get("drop_suffixes", ()))
        self.drop_prefixes = tuple(data.get("drop_prefixes", ()))
        self.bcond = dict(data.get("bcond", {}))
        self.fixed = dict(data.get("fixed", {}))
        self.owner = owner

    def _kept(self, key: str) -> bool:
        return not (
            key in self.drop
            or key in self.fixed
            or key.endswith(self.drop_suffixes)
            or key.startswith(self.drop_prefixes)
        )

    def lines(self, options: dict[str, str], extra: dict[str, str]) -> tuple[str, ...]:
        out = []
        for key, value in sorted(options.items()):
            if not self._kept(key) or key in extra:
                continue
            if key in self.bcond and is_on(value):
                switch = speclang.name(self.owner, "bcond", self.bcond[key])
                speclang.cmake_option(self.owner, key, "ON")
                out.append(f"-D{key}={speclang.bcond_value(switch)}")
            else:
                out.append(speclang.cmake_option(self.owner, key, value))
        out.extend(speclang.cmake_option(self.owner, k, v) for k, v in sorted(extra.items()))
        return tuple(out)

    def common(self) -> tuple[str, ...]:
        return tuple(speclang.cmake_option(self.owner, k, v) for k, v in self.fixed.items())


def _backend_switch(
    name: str, raw: dict[str, Any] | None, gpu: bool, generated: set[str]
) -> Switch:
    """A backend's %bcond: on unless specgen lacks its data, its GPU build or a needed spec."""
    switch = f"backend_{name}"
    why = f"the {name} backend"
    if raw is None:
        return Switch(switch, False, why + "; off because specgen has no data for it yet")
    if raw.get("gpu_only") and not gpu:
        return Switch(switch, False, why + "; off because it needs the GPU build")
    need = raw.get("needs")
    if need and need not in generated:
        return Switch(switch, False, why + f"; off because specgen writes no spec for {need} yet")
    return Switch(switch, True, why)


def _mapped(
    resolutions: list[Resolution], skip: set[str], generated: set[str], specs: bool
) -> list[str]:  # specs: map Ubuntu names our specs stand for to those specs
    """RPM dependencies of mapped Ubuntu packages; with `specs`, our own specs by name."""
    out: list[str] = []
    for res in resolutions:
        if res.name.split("=")[0] in skip or res.kind in ("not_needed", "unmapped"):
            continue
        if res.kind == "spec":
            # A runtime need names the spec; a build need its pin, also where the spec is not
            # written yet but Azure Linux has an older build of it (`found`): the truth.
            if res.spec in generated or (res.found and not specs):
                out.extend([str(res.spec)] if specs else res.requires)
            continue
        out.extend(res.requires)
    return out


def _merge(*groups: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Dependencies by name, the first constraint seen winning, sorted by name."""
    by_name: dict[str, str] = {}
    for group in groups:
        for dep in group:
            by_name.setdefault(dep.split()[0], dep)
    return tuple(by_name[n] for n in sorted(by_name))


def _source(ctx: BuildContext, number: int, archive: Archive, spec_url: str | None = None
            ) -> Source:  # fmt: skip
    url = strip_fragment(archive.url)
    pin = ctx.pins.get(url)
    return Source(
        number=number, spec_url=spec_url or archive.url, url=url, file=archive.file,
        sha256=pin.sha256 if pin else None, size=pin.size if pin else None,
        pinned_by=pin.pinned_by if pin else None,
    )  # fmt: skip


class _TritonBuilder:
    """Collects the pieces of the tritonserver spec; `spec()` assembles them."""

    def __init__(self, data: dict[str, Any], ctx: BuildContext, generated: set[str]) -> None:
        self.data = data
        self.ctx = ctx
        self.where = data["_where"]
        self.generated = generated | {data["name"]}
        self.name = speclang.name(self.where, "name", data["name"])
        facts = ctx.facts()
        self.version = speclang.version(
            self.name, "Version", fill(data["version"], facts, self.where)
        )
        self.facts = {**facts, "name": self.name, "version": self.version}
        cmake = ctx.recipe.cmake
        if cmake is None or cmake.core is None:
            raise speclang.SpecValueError(self.name, "recipe", "cmake_build", "has no core")
        self.cmake = cmake
        self.core = dict(cmake.core.options)
        self.options = _Options(data["options"], self.name)
        self.switches = recipe_switches(self.name, data, self.core, self.generated)
        self.gpu = any(s.name == GPU and s.on for s in self.switches)
        self.sources: list[Source] = []
        self.repos: list[Repo] = []
        self.projects: list[Project] = []
        self.prep = [
            Prep(comment_lines(p["why"]), fill(p["run"], self.facts, self.where).strip("\n"))
            for p in data["prep"]
        ]
        self.subpackages = [self._subpackage(raw) for raw in data["package"]]
        self.conditional: dict[str, list[str]] = {
            f"%{{with {GPU}}}": [ctx.cuda.devel(k) for k in ctx.cuda.triton_build]
        }
        for switch in self.switches:
            if switch.build_requires:
                self.conditional[f"%{{with {switch.name}}}"] = list(switch.build_requires)
        self.gpu_only: list[str] = []
        self.shims: set[str] = set()

    def _dependency(self, dep: str) -> str:
        return speclang.dependency(self.name, "BuildRequires", dep)

    def _fill(self, value: Any) -> Any:
        return fill_all(value, self.facts, self.where)

    def _subpackage(self, raw: dict[str, Any]) -> Subpackage:
        raw = self._fill(raw)
        return Subpackage(
            name=raw["name"],
            summary=raw["summary"],
            description=raw.get("description", raw["summary"] + "."),
            files=tuple(raw.get("files", [])),
            requires=tuple(raw.get("requires", [])),
            license_files=tuple(self.data["license_files"]),
            doc_files=tuple(raw.get("doc_files", [])),
            config_files=tuple(raw.get("config_files", [])),
        )

    def add_server_and_repositories(self) -> None:
        """Source0 (server at its release tag) and Triton's other repositories."""
        spec_url = (
            "https://github.com/triton-inference-server/server/archive/refs/tags/"
            f"v%{{version}}.tar.gz#/{self.name}-%{{version}}.tar.gz"
        )
        server = Archive(
            spec_url.replace("%{version}", self.version),
            f"{self.name}-{self.version}.tar.gz",
            f"server-{self.version}",
        )
        self.top_dir = server.top_dir
        self.sources.append(_source(self.ctx, 0, server, spec_url))
        for number, repo in enumerate(self.data["repositories"], 1):
            tag = self.cmake.repo_tags.get(repo, self.ctx.release.triton_tag)
            archive = triton_archive(repo, self.ctx.release, speclang.name(self.name, "tag", tag))
            self.sources.append(_source(self.ctx, number, archive))
            self.repos.append(Repo(number, archive.top_dir, repo))

    def add_core_and_server(self) -> None:
        version = {"TRITON_VERSION": self.version}
        # libevhtp-devel carries the LibeventConfig.cmake that Azure Linux's libevent lacks.
        evhtp_dir = "%{_libdir}/cmake/libevhtp"
        evhtp = {"Libevent_DIR": evhtp_dir, "libevhtp_DIR": evhtp_dir}
        core = self.options.lines(self.core, version)
        self.projects.append(Project("core", "triton/core/src", core))
        self.projects.append(
            Project("server", "src", self.options.lines(self.core, {**version, **evhtp}))
        )

    def add_backends(self) -> None:
        """One Source, project, %bcond and subpackage per backend of the recipe."""
        components = [c for c in self.cmake.components if c.kind == "backend"]
        for number, component in enumerate(
            sorted(components, key=lambda c: c.name), FIRST_BACKEND_SOURCE
        ):
            self._add_backend(number, component)

    def _add_backend(self, number: int, component: CMakeProject) -> None:
        be = speclang.name(self.name, "backend name", component.name)
        known = self.data.get("backends", {}).get(be)
        backend_switch = _backend_switch(be, known, self.gpu, self.generated)
        self.switches.append(backend_switch)
        switch = backend_switch.name
        raw = self._fill(known or {})
        if raw.get("gpu_only"):
            self.gpu_only.append(switch)
        repo = f"{be}_backend"
        tag = speclang.name(self.name, f"{repo} tag", component.tag or self.ctx.release.triton_tag)
        archive = triton_archive(repo, self.ctx.release, tag)
        self.sources.append(_source(self.ctx, number, archive))
        self.repos.append(Repo(number, archive.top_dir, repo, switch))
        extra = dict(raw.get("options", {}))
        for shim in raw.get("shims", []):
            self.shims.add(speclang.name(self.name, "shim", shim))
            extra[f"FETCHCONTENT_SOURCE_DIR_{shim.upper()}"] = (
                f"%{{_builddir}}/%{{buildsubdir}}/triton/shims/{shim}"
            )
        self.projects.append(
            Project(be, f"triton/{repo}", self.options.lines(component.options, extra), switch)
        )
        if raw.get("prep"):
            lines = [line for line in raw["prep"] if not line.startswith("#")]
            notes = [line.lstrip("# ") for line in raw["prep"] if line.startswith("#")]
            self.prep.append(Prep(comment_lines(" ".join(notes)), "\n".join(lines), switch))
        if raw.get("build_requires"):
            self.conditional[f"%{{with {switch}}}"] = list(raw["build_requires"])
        label = raw.get("summary", f"Triton {be} backend")
        self.subpackages.append(
            Subpackage(
                name=f"{self.name}-backend-{be}",
                summary=label,
                description=label + ".",
                files=(f"%{{_libdir}}/tritonserver/backends/{be}/",),
                requires=(
                    f"{self.name}%{{?_isa}} = %{{version}}-%{{release}}",
                    *raw.get("requires", []),
                ),
                license_files=tuple(self.data["license_files"]),
                bcond=switch,
            )
        )

    def dependencies(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(BuildRequires, main package Requires): data plus the mapped image packages."""
        mapped = image_resolutions(self.ctx.recipe)
        build = _merge(
            _mapped(mapped["buildbase"], set(self.data["build"]["skip"]), self.generated, False),
            self._fill(self.data["build_requires"]),
        )
        run_skip = set(self.data["runtime"]["skip"])
        runtime = _mapped(mapped["runtime"], run_skip, self.generated, True)
        return build, _merge(self.subpackages[0].requires, runtime)

    def spec(self) -> PackageSpec:
        self.add_server_and_repositories()
        self.add_core_and_server()
        self.add_backends()
        build, requires = self.dependencies()
        self.subpackages[0] = Subpackage(**{**self.subpackages[0].__dict__, "requires": requires})
        name = self.name
        local = [local_source(n, f) for n, f in enumerate(LOCAL_FILES, FIRST_LOCAL_SOURCE)]
        release = self.ctx.release
        note = f"Built from the Triton {release.name} sources with no network access."
        header = header_fields(name, self.version, self.data, self.facts, release.date, note)
        return PackageSpec(
            **{**header, "build_requires": tuple(self._dependency(b) for b in build)},
            template="tritonserver.spec.j2",
            sources=(*self.sources, *local),
            subpackages=tuple(checked_subpackage(name, s) for s in self.subpackages),
            conditional_build_requires=tuple(
                (cond, tuple(self._dependency(d) for d in self._fill(deps)))
                for cond, deps in self.conditional.items()
            ),
            bconds=tuple((s.name, s.on) for s in self.switches),
            sections={
                "bcond_notes": {s.name: comment_lines(s.why) for s in self.switches},
                "gpu_only": [*self.gpu_only, *(b for b, raw in self.data["bconds"].items()
                                               if raw.get("also") == GPU)],
                "cuda_home": self.ctx.cuda.home,
                "repos": self.repos,
                "top_dir": self.top_dir,
                "prep": self.prep,
                "shims": sorted(self.shims),
                "common_options": self.options.common(),
                "projects": self.projects,
                "install": [self._fill(i["run"]).strip("\n") for i in self.data["install"]],
                "requires_pre": tuple(self._fill(self.data["package"][0].get("requires_pre", []))),
            },
        )


def build_tritonserver(data: dict[str, Any], ctx: BuildContext, generated: set[str]) -> PackageSpec:
    """The PackageSpec of tritonserver for the recipe in `ctx`; `generated` names the other
    specs of this generation (a switch whose need has no spec is off by default)."""
    return _TritonBuilder(data, ctx, generated).spec()
