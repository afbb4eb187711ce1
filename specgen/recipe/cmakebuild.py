"""Read build.py's `cmake_build` script: the core's CMake options and each component's.

The script configures the server/core first, then for each backend, repository agent and cache
clones its repository (`git clone ... -b TAG URL DIR`) and configures it. A CMake configure is
tied to the clone that precedes it; one with no clone before it is the core.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from specgen.errors import InputError
from specgen.recipe.model import CMakeBuild, CMakeProject, Origin
from specgen.recipe.shell import Command, line_locator, parse_shell

# Repository name suffixes that say what a cloned component is.
_KINDS = (("_repository_agent", "repoagent"), ("_cache", "cache"), ("_backend", "backend"))
_GIT_VALUE_OPTIONS = {"--depth", "-o", "--origin", "-c", "--config", "--reference", "-j"}
_NON_CONFIGURE = {"--build", "--install", "-E", "-P", "--help", "--version", "--find-package"}


def parse_cmake_build(text: str, path: str) -> CMakeBuild:
    """Parse cmake_build text; a script with no CMake configure at all is an error."""
    name = posixpath.basename(str(path))
    line_at = line_locator(text)
    pipelines = parse_shell(text, str(path), line_at)
    core: CMakeProject | None = None
    components: list[CMakeProject] = []
    clone: _Clone | None = None
    for pipeline in pipelines:
        for cmd in pipeline.commands:
            if cmd.in_substitution or not cmd.argv:
                continue
            tool = posixpath.basename(cmd.argv[0])
            if tool == "git" and len(cmd.argv) > 1 and cmd.argv[1] == "clone":
                if clone is not None:  # cloned but never configured: a pure-Python backend
                    components.append(clone.component({}, {}, clone.directory))
                clone = _git_clone(cmd, Origin(name, line_at(cmd.offset)))
            elif tool == "cmake" and _is_configure(cmd.argv):
                options, types, source = _cmake_options(cmd.argv[1:])
                if clone is None:
                    if core is None:
                        origin = Origin(name, line_at(cmd.offset))
                        core = CMakeProject("tritonserver", "core", options, types, source, origin)
                    continue
                components.append(clone.component(options, types, source))
                clone = None
    if clone is not None:
        components.append(clone.component({}, {}, clone.directory))
    if core is None and not components:
        raise InputError(path, "no CMake configure command found: is this a cmake_build script?")
    return CMakeBuild(file=name, core=core, components=components)


def _is_configure(argv: tuple[str, ...]) -> bool:
    return not any(arg in _NON_CONFIGURE for arg in argv[1:])


@dataclass(frozen=True)
class _Clone:
    """A `git clone` waiting for the CMake configure that builds it."""

    url: str
    tag: str | None
    directory: str
    origin: Origin

    def component(
        self, options: dict[str, str], types: dict[str, str], source: str
    ) -> CMakeProject:
        kind = _component_kind(self.url)
        return CMakeProject(
            self.directory, kind, options, types, source, self.origin, self.url, self.tag
        )


def _git_clone(cmd: Command, origin: Origin) -> _Clone:
    """URL, branch/tag (`-b`), and target folder of a `git clone`."""
    tag = None
    positionals: list[str] = []
    args = list(cmd.argv[2:])
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-b", "--branch") and i + 1 < len(args):
            tag = args[i + 1]
            i += 2
            continue
        if arg.startswith("--branch="):
            tag = arg.split("=", 1)[1]
        elif arg in _GIT_VALUE_OPTIONS and i + 1 < len(args):
            i += 2
            continue
        elif not arg.startswith("-"):
            positionals.append(arg)
        i += 1
    url = positionals[0] if positionals else ""
    repo = posixpath.basename(url.rstrip("/")).removesuffix(".git")
    directory = posixpath.basename(positionals[1].rstrip("/")) if len(positionals) > 1 else repo
    return _Clone(url, tag, directory, origin)


def _component_kind(url: str) -> str:
    repo = posixpath.basename(url.rstrip("/")).removesuffix(".git")
    for suffix, kind in _KINDS:
        if repo.endswith(suffix):
            return kind
    return "backend"


def _cmake_options(args: tuple[str, ...]) -> tuple[dict[str, str], dict[str, str], str]:
    """`-DNAME[:TYPE]=VALUE` as mappings (name -> value, name -> type) and the source folder."""
    options: dict[str, str] = {}
    types: dict[str, str] = {}
    source = ""
    items = list(args)
    i = 0
    while i < len(items):
        arg = items[i]
        if arg == "-D" and i + 1 < len(items):
            arg = "-D" + items[i + 1]
            i += 1
        if arg.startswith("-D"):
            key, _, value = arg[2:].partition("=")
            name, _, kind = key.partition(":")
            options[name] = value
            if kind:
                types[name] = kind
        elif arg in ("-G", "-S", "-B", "-T", "-A", "-C") and i + 1 < len(items):
            if arg == "-S":
                source = items[i + 1]
            i += 1
        elif not arg.startswith("-"):
            source = arg
        i += 1
    return options, types, source
