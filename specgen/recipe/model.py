"""The typed recipe: everything a Triton build needs, as read from build.py's dry-run files.

The parser fills it; the graph, the mapping and the generators read it. It holds what the files
say, as written (names, pins, URLs), with the file and line each item came from.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Origin:
    """Where an item was read: a dry-run file name and a 1-based line."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class AptPackage:
    """An apt install argument: `name` or `name=pin` (the pin kept as written, globs and epochs)."""

    name: str
    pin: str | None
    origin: Origin


@dataclass(frozen=True)
class RpmPackage:
    """A yum/dnf/tdnf install argument, as written (it may carry a version: `foo-1.2`)."""

    name: str
    origin: Origin


@dataclass(frozen=True)
class PipRequirement:
    """A pip install requirement string (`numpy<2`, `pybind11[global]`), or a `-r` file."""

    requirement: str
    origin: Origin
    kind: str = "requirement"  # requirement | file (-r) | local (a wheel or path built earlier)
    index_url: str | None = None


@dataclass(frozen=True)
class Download:
    """A file fetched by wget/curl/ADD; destination None means it went to stdout (a pipe)."""

    url: str
    destination: str | None
    origin: Origin
    tool: str
    sha256: str | None = None
    piped_to: str | None = None


@dataclass(frozen=True)
class PackageRepository:
    """A package repository the script adds: an apt `deb` line or a yum/dnf `--add-repo` URL."""

    kind: str  # apt | rpm | ppa
    url: str
    origin: Origin
    suite: str | None = None
    components: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    list_file: str | None = None


@dataclass(frozen=True)
class Stage:
    """One FROM of a Dockerfile: its base image (ARGs expanded) and optional stage name."""

    base_image: str
    name: str | None
    origin: Origin


@dataclass
class Image:
    """One Dockerfile (buildbase, runtime, cibase): what it installs and sets, in order."""

    role: str
    file: str
    stages: list[Stage] = field(default_factory=list)
    args: dict[str, str | None] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    apt: list[AptPackage] = field(default_factory=list)
    local_debs: list[str] = field(default_factory=list)
    rpm: list[RpmPackage] = field(default_factory=list)
    pip: list[PipRequirement] = field(default_factory=list)
    downloads: list[Download] = field(default_factory=list)
    repositories: list[PackageRepository] = field(default_factory=list)
    copies: list[str] = field(default_factory=list)

    @property
    def base_image(self) -> str | None:
        """The image the final stage starts from, following stage-name references."""
        if not self.stages:
            return None
        names = {s.name: s.base_image for s in self.stages if s.name}
        image = self.stages[-1].base_image
        seen: set[str] = set()
        while image in names and image not in seen:
            seen.add(image)
            image = names[image]
        return image

    def apt_names(self) -> list[str]:
        return [p.name for p in self.apt]

    def pip_requirements(self) -> list[str]:
        return [p.requirement for p in self.pip if p.kind == "requirement"]


@dataclass(frozen=True)
class CMakeProject:
    """One CMake configure in cmake_build: the core (server) or a backend/agent/cache."""

    name: str
    kind: str  # core | backend | repoagent | cache
    options: dict[str, str]
    option_types: dict[str, str]
    source_dir: str
    origin: Origin
    repo_url: str | None = None
    tag: str | None = None


@dataclass
class CMakeBuild:
    """What cmake_build does: the core's configure and each cloned component's configure."""

    file: str
    core: CMakeProject | None
    components: list[CMakeProject] = field(default_factory=list)

    @property
    def repo_tags(self) -> dict[str, str]:
        """`TRITON_<X>_REPO_TAG` options of the core, keyed by lower-case repo (common, core...)."""
        if self.core is None:
            return {}
        tags: dict[str, str] = {}
        for key, value in self.core.options.items():
            if key.startswith("TRITON_") and key.endswith("_REPO_TAG"):
                repo = key[len("TRITON_") : -len("_REPO_TAG")].lower()
                tags[repo] = value
        return tags

    def backends(self) -> list[CMakeProject]:
        return [c for c in self.components if c.kind == "backend"]


@dataclass
class Recipe:
    """Everything one build.py dry run asks for."""

    triton_version: str | None
    container_version: str | None
    images: dict[str, Image]
    cmake: CMakeBuild | None
    files: list[str]
    docker_images: list[dict[str, str]] = field(default_factory=list)
    arch: str = "x86_64"

    @property
    def base_image(self) -> str | None:
        for role in ("buildbase", "runtime"):
            if role in self.images and self.images[role].base_image:
                return self.images[role].base_image
        return None

    def to_dict(self) -> dict[str, Any]:
        """A plain, deterministic JSON-ready form (the `parse --format json` output)."""
        return {
            "triton_version": self.triton_version,
            "container_version": self.container_version,
            "base_image": self.base_image,
            "arch": self.arch,
            "files": list(self.files),
            "images": {role: _image_dict(img) for role, img in sorted(self.images.items())},
            "cmake_build": _cmake_dict(self.cmake) if self.cmake else None,
            "docker_images": list(self.docker_images),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipe:
        """Rebuild a Recipe from `to_dict` output (the embedded default release is stored so)."""
        cmake = data.get("cmake_build")
        return cls(
            triton_version=data.get("triton_version"),
            container_version=data.get("container_version"),
            images={role: _image_from(role, d) for role, d in data["images"].items()},
            cmake=_cmake_from(cmake) if cmake else None,
            files=list(data.get("files", [])),
            docker_images=list(data.get("docker_images", [])),
            arch=data.get("arch", "x86_64"),
        )


def _origin_from(text: str) -> Origin:
    file, _, line = text.rpartition(":")
    return Origin(file, int(line))


def _with_origin_from(d: dict[str, Any]) -> dict[str, Any]:
    return {**d, "origin": _origin_from(d["origin"])}


def _image_from(role: str, d: dict[str, Any]) -> Image:
    repositories = [
        PackageRepository(**{**_with_origin_from(r), "components": tuple(r["components"]),
                             "options": tuple(r["options"])})
        for r in [*d.get("apt_repositories", []), *d.get("rpm_repositories", [])]
    ]  # fmt: skip
    return Image(
        role=role,
        file=d["file"],
        stages=[Stage(**_with_origin_from(s)) for s in d.get("stages", [])],
        args=dict(d.get("args", {})),
        env=dict(d.get("env", {})),
        labels=dict(d.get("labels", {})),
        apt=[AptPackage(**_with_origin_from(p)) for p in d.get("apt", [])],
        local_debs=list(d.get("local_debs", [])),
        rpm=[RpmPackage(**_with_origin_from(p)) for p in d.get("rpm", [])],
        pip=[PipRequirement(**_with_origin_from(p)) for p in d.get("pip", [])],
        downloads=[Download(**_with_origin_from(x)) for x in d.get("downloads", [])],
        repositories=repositories,
        copies=list(d.get("copies", [])),
    )


def _project_from(d: dict[str, Any]) -> CMakeProject:
    return CMakeProject(
        name=d["name"],
        kind=d["kind"],
        options=dict(d["options"]),
        option_types=dict(d.get("option_types", {})),
        source_dir=d.get("source_dir", ""),
        origin=_origin_from(d["origin"]),
        repo_url=d.get("repo_url"),
        tag=d.get("tag"),
    )


def _cmake_from(d: dict[str, Any]) -> CMakeBuild:
    components = [
        _project_from(c) for key in ("backends", "repoagents", "caches") for c in d.get(key, [])
    ]
    components.sort(key=lambda c: (c.origin.line, c.name))
    return CMakeBuild(
        file=d["file"],
        core=_project_from(d["core"]) if d.get("core") else None,
        components=components,
    )


def _origin(o: Origin) -> str:
    return str(o)


def _with_origin(d: dict[str, Any], origin: Origin) -> dict[str, Any]:
    """Replace the nested origin mapping by its compact `file:line` form."""
    d["origin"] = _origin(origin)
    return d


def _image_dict(img: Image) -> dict[str, Any]:
    return {
        "file": img.file,
        "base_image": img.base_image,
        "stages": [_with_origin(asdict(s), s.origin) for s in img.stages],
        "args": dict(img.args),
        "env": dict(img.env),
        "labels": dict(img.labels),
        "apt": [_with_origin(asdict(p), p.origin) for p in img.apt],
        "local_debs": list(img.local_debs),
        "rpm": [_with_origin(asdict(p), p.origin) for p in img.rpm],
        "pip": [_with_origin(asdict(p), p.origin) for p in img.pip],
        "downloads": [_with_origin(asdict(d), d.origin) for d in img.downloads],
        "apt_repositories": [
            _with_origin(asdict(r), r.origin) for r in img.repositories if r.kind != "rpm"
        ],
        "rpm_repositories": [
            _with_origin(asdict(r), r.origin) for r in img.repositories if r.kind == "rpm"
        ],
        "copies": list(img.copies),
    }


def _project_dict(p: CMakeProject) -> dict[str, Any]:
    return {
        "name": p.name,
        "kind": p.kind,
        "repo_url": p.repo_url,
        "tag": p.tag,
        "source_dir": p.source_dir,
        "options": dict(p.options),
        "option_types": dict(p.option_types),
        "origin": _origin(p.origin),
    }


def _cmake_dict(c: CMakeBuild) -> dict[str, Any]:
    return {
        "file": c.file,
        "core": _project_dict(c.core) if c.core else None,
        "repo_tags": c.repo_tags,
        "backends": [_project_dict(b) for b in c.components if b.kind == "backend"],
        "repoagents": [_project_dict(b) for b in c.components if b.kind == "repoagent"],
        "caches": [_project_dict(b) for b in c.components if b.kind == "cache"],
    }
