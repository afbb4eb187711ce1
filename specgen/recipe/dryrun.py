"""Load what `build.py --dryrun` wrote (a folder or single files) into one Recipe.

This is the parser's I/O edge: it finds the files, reads them as text, and hands each to the
reader that knows its format. Versions come from the Dockerfiles' ARGs, else from cmake_build.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from specgen.errors import InputError
from specgen.recipe.embed import embedded_recipe
from specgen.recipe.model import CMakeBuild, Image, Recipe

# Dry-run file name -> role. Order is the order they are read and reported.
DRYRUN_FILES = {
    "Dockerfile.buildbase": "buildbase",
    "Dockerfile": "runtime",
    "Dockerfile.cibase": "cibase",
    "cmake_build": "cmake",
    "docker_build": "docker",
}

# `dpkg --print-architecture` / `uname -m` by the architecture the files were generated for.
_ARCH_FACTS = {
    "x86_64": {"dpkg_arch": "amd64", "uname_m": "x86_64"},
    "aarch64": {"dpkg_arch": "arm64", "uname_m": "aarch64"},
}

DEFAULT_RELEASE = "25.03"


def load_recipe(paths: list[Path], arch: str | None = None) -> Recipe:
    """Parse dry-run files. `arch` (x86_64/aarch64) defaults to what the files' URLs say."""
    # The parsers (tree-sitter) load here, not at import: the embedded default needs none.
    from specgen.recipe.cmakebuild import parse_cmake_build
    from specgen.recipe.dockerfile import parse_dockerfile, read_text
    from specgen.recipe.images import build_image

    files = _collect(paths)
    texts = {role: (path, read_text(path)) for role, path in files.items()}
    dockerfiles = {
        role: (path, parse_dockerfile(text, path))
        for role, (path, text) in texts.items()
        if role in ("buildbase", "runtime", "cibase")
    }

    def images_for(target: str) -> dict[str, Image]:
        facts = _ARCH_FACTS[target]
        return {
            role: build_image(role, str(path), instructions, facts)
            for role, (path, instructions) in dockerfiles.items()
        }

    # Read for x86_64 first; files generated for aarch64 say so in their URLs, then re-read.
    images = images_for(arch or "x86_64")
    if arch is None:
        arch = _infer_arch(images)
        if arch != "x86_64":
            images = images_for(arch)
    cmake: CMakeBuild | None = None
    if "cmake" in texts:
        path, text = texts["cmake"]
        cmake = parse_cmake_build(text, str(path))
    docker_images = []
    if "docker" in texts:
        path, text = texts["docker"]
        docker_images = _docker_builds(text, str(path))
    return Recipe(
        triton_version=_version(images, cmake, "TRITON_VERSION"),
        container_version=_container_version(images, cmake),
        images=images,
        cmake=cmake,
        files=[p.name for p in files.values()],
        docker_images=docker_images,
        arch=arch,
    )


def load_or_default(
    paths: list[Path], arch: str | None = None, release: str | None = None
) -> Recipe:
    """The recipe of the given dry-run paths, or when none the embedded recipe of `release`
    (default: the default release)."""
    if paths:
        return load_recipe(paths, arch)
    return embedded_recipe(release or DEFAULT_RELEASE)


def default_recipe() -> Recipe:
    """The embedded default release (Triton 25.03), as the parser produced it."""
    return embedded_recipe(DEFAULT_RELEASE)


def _collect(paths: list[Path]) -> dict[str, Path]:
    """Map each role to its file; a folder contributes the dry-run files it holds."""
    if not paths:
        raise InputError("<arguments>", "no dry-run folder or file given")
    found: dict[str, Path] = {}
    for path in paths:
        if path.is_dir():
            inside = {
                DRYRUN_FILES[name]: path / name for name in DRYRUN_FILES if (path / name).is_file()
            }
            if not inside:
                expected = ", ".join(DRYRUN_FILES)
                raise InputError(path, f"no dry-run files in this folder (expected {expected})")
            found.update(inside)
        elif path.is_file() or path.is_symlink():
            found[_role_of(path)] = path
        else:
            raise InputError(path, "no such file or folder")
    order = list(DRYRUN_FILES.values())
    return dict(sorted(found.items(), key=lambda item: order.index(item[0])))


def _role_of(path: Path) -> str:
    """A file's role by its name, else by its content's first instruction."""
    if path.name in DRYRUN_FILES:
        return DRYRUN_FILES[path.name]
    lowered = path.name.lower()
    for marker, role in (("buildbase", "buildbase"), ("cibase", "cibase")):
        if marker in lowered:
            return role
    if lowered.startswith("dockerfile") or lowered.endswith(".dockerfile"):
        return "runtime"
    if "cmake_build" in lowered:
        return "cmake"
    if "docker_build" in lowered:
        return "docker"
    expected = ", ".join(DRYRUN_FILES)
    raise InputError(path, f"unknown dry-run file name (expected one of {expected})")


def _infer_arch(images: dict[str, Image]) -> str:
    """aarch64 when the Dockerfiles fetch sbsa/aarch64 artifacts, else x86_64."""
    for image in images.values():
        for download in image.downloads:
            parts = download.url.split("/")
            if "sbsa" in parts or "aarch64" in parts or "arm64" in parts:
                return "aarch64"
    return "x86_64"


def _version(images: dict[str, Image], cmake: CMakeBuild | None, arg: str) -> str | None:
    for image in images.values():
        value = image.args.get(arg)
        if value:
            return value
    if cmake is not None and cmake.core is not None:
        return cmake.core.options.get(arg) or None
    return None


def _container_version(images: dict[str, Image], cmake: CMakeBuild | None) -> str | None:
    """TRITON_CONTAINER_VERSION, else the release branch the repositories are tagged with
    (`r26.06`), else a component's TRITON_BUILD_CONTAINER_VERSION: the last is the *upstream*
    container a backend builds on, which can be the month before (r26.06 builds on 26.05)."""
    for image in images.values():
        value = image.args.get("TRITON_CONTAINER_VERSION")
        if value:
            return value
    if cmake is not None:
        branch = re.fullmatch(r"r(\d\d\.\d\d)", cmake.repo_tags.get("core", ""))
        if branch:
            return branch.group(1)
        for component in cmake.components:
            value = component.options.get("TRITON_BUILD_CONTAINER_VERSION")
            if value:
                return value
    return None


def _docker_builds(text: str, path: str) -> list[dict[str, str]]:
    """`docker build -t TAG -f FILE` lines of docker_build: which image from which file."""
    from specgen.recipe.shell import line_locator, parse_shell

    builds = []
    for pipeline in parse_shell(text, path, line_locator(text)):
        for cmd in pipeline.commands:
            argv = cmd.argv
            if len(argv) < 2 or posixpath.basename(argv[0]) != "docker" or argv[1] != "build":
                continue
            tag = dockerfile = ""
            for i, arg in enumerate(argv[:-1]):
                if arg in ("-t", "--tag"):
                    tag = argv[i + 1]
                elif arg in ("-f", "--file"):
                    dockerfile = posixpath.basename(argv[i + 1])
            builds.append({"tag": tag, "dockerfile": dockerfile})
    return builds
