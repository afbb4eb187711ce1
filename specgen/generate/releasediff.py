"""What changed between two Triton releases (or dry-runs), as far as the specs are concerned.

A side is a recipe and the release facts known for it (possibly incomplete). The diff lists
packages of each image (apt with pins, rpm, pip), downloads, CMake options of the core and of
each component, the components themselves and the versions of the release facts.

Only what specgen reads to write specs is compared, so an empty diff means the same specs:
- Compared: the release facts; the build and runtime images' apt, rpm and pip installs and
  downloads; every CMake option; the backends, repository agents and caches, their tags and
  repositories; the architecture the recipe was read for.
- Shown, but not counted: the CI image (Dockerfile.cibase), which no spec reads.
- Not compared: where an item was read (file and line), CMake options whose value is an
  absolute path (build.py's build and install folders, which follow its --build-dir), the
  folder each project is configured in, the images' ARGs, ENVs, labels and base images (the
  versions they carry reach the diff as release facts), docker_build, and what the parser never
  reads (build.py's -j, COMMAND.txt).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from specgen.errors import InputError, SpecgenError
from specgen.mapping.imagedeps import ROLES as SPEC_IMAGES
from specgen.recipe.model import CMakeProject, Image, Recipe

# Release facts (release.FACT_KEYS) as a reader names them, in the order they are shown.
FACT_LABELS = {
    "triton_version": "Triton",
    "cuda": "CUDA",
    "cudnn": "cuDNN",
    "tensorrt": "TensorRT",
    "onnxruntime": "ONNX Runtime",
    "openvino": "OpenVINO",
    "dcgm": "DCGM",
    "python": "Python",
    "date": "date",
}
_FACT_ORDER = tuple(FACT_LABELS)
UNKNOWN = "unknown"
# Sections of the diff, in the order they are shown and sorted.
SECTIONS = ("fact", "recipe", "apt", "rpm", "pip", "download", "component", "option")
_RELEASE_NAME = re.compile(r"\d\d\.\d\d")
_PIP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Side:
    """One side of a diff: what it was named on the command line, its recipe and known facts."""

    label: str
    release: str | None
    recipe: Recipe
    facts: Mapping[str, str]  # fact name -> value as text; a fact nobody knows is absent


@dataclass(frozen=True)
class Change:
    """One difference. `old` is None for an addition, `new` None for a removal."""

    section: str  # one of SECTIONS
    scope: str  # the image role, `core tritonserver`, `backend onnxruntime`, or "" (facts)
    item: str  # the package, URL, option, component or fact
    old: str | None
    new: str | None
    feeds_specs: bool = True

    @property
    def kind(self) -> str:
        if self.old is None:
            return "added"
        return "removed" if self.new is None else "changed"

    def sort_key(self) -> tuple[int, int, str, int, str]:
        """Sections in SECTIONS order, facts in FACT_LABELS order, the rest by name."""
        rank = _FACT_ORDER.index(self.item) if self.section == "fact" else 0
        return (SECTIONS.index(self.section), _scope_rank(self.scope), self.scope, rank, self.item)

    def to_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "scope": self.scope,
            "item": self.item,
            "change": self.kind,
            "a": self.old,
            "b": self.new,
            "feeds_specs": self.feeds_specs,
        }


@dataclass(frozen=True)
class ReleaseDiff:
    """The facts of both sides and every change, sorted."""

    a: Side
    b: Side
    changes: tuple[Change, ...]

    @property
    def specs_must_change(self) -> bool:
        return any(c.feeds_specs for c in self.changes)

    def fact_rows(self) -> list[tuple[str, str, str]]:
        """(fact, a, b) for every release fact, `unknown` where a side lacks it."""
        return [
            (key, self.a.facts.get(key, UNKNOWN), self.b.facts.get(key, UNKNOWN))
            for key in FACT_LABELS
        ]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data, keys and lists in a fixed order."""
        return {
            "a": _side_dict(self.a),
            "b": _side_dict(self.b),
            "facts": {key: {"a": a, "b": b} for key, a, b in self.fact_rows()},
            "changes": [c.to_dict() for c in self.changes],
            "specs_must_change": self.specs_must_change,
        }


def _side_dict(side: Side) -> dict[str, Any]:
    return {"label": side.label, "release": side.release, "arch": side.recipe.arch}


def _scope_rank(scope: str) -> int:
    """Images in build order, then the core before the components."""
    order = ("buildbase", "runtime", "cibase")
    if scope in order:
        return order.index(scope)
    return 3 if scope.startswith("core ") else 4


def diff_sides(a: Side, b: Side) -> ReleaseDiff:
    """Every difference between two sides that `specgen diff` reports, sorted."""
    changes = [*fact_changes(a.facts, b.facts)]
    if a.recipe.arch != b.recipe.arch:
        changes.append(Change("recipe", "", "architecture", a.recipe.arch, b.recipe.arch))
    for role in sorted({*a.recipe.images, *b.recipe.images}):
        changes += _image_changes(role, a.recipe.images.get(role), b.recipe.images.get(role))
    changes += _cmake_changes(a.recipe, b.recipe)
    return ReleaseDiff(a, b, tuple(sorted(changes, key=Change.sort_key)))


def fact_changes(a: Mapping[str, str], b: Mapping[str, str]) -> list[Change]:
    """The release facts that differ, in FACT_LABELS order; `unknown` stands for a missing one.
    A fact neither side knows is not a change."""
    return [
        Change("fact", "", key, a.get(key, UNKNOWN), b.get(key, UNKNOWN))
        for key in FACT_LABELS
        if a.get(key) != b.get(key)
    ]


def _compare(
    section: str, scope: str, a: Mapping[str, str], b: Mapping[str, str], feeds: bool
) -> list[Change]:
    """Changes between two `item -> value` tables."""
    return [
        Change(section, scope, key, a.get(key), b.get(key), feeds)
        for key in sorted({*a, *b})
        if a.get(key) != b.get(key)
    ]


def _image_changes(role: str, a: Image | None, b: Image | None) -> list[Change]:
    feeds = role in SPEC_IMAGES
    out: list[Change] = []
    for section, table in (("apt", _apt), ("rpm", _rpm), ("pip", _pip), ("download", _downloads)):
        out += _compare(section, role, table(a), table(b), feeds)
    return out


def _joined(values: Iterable[str]) -> str:
    return " | ".join(sorted(set(values)))


def _grouped(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """key -> its values joined (a package installed twice, with two pins, shows both)."""
    groups: dict[str, list[str]] = {}
    for key, value in pairs:
        groups.setdefault(key, []).append(value)
    return {key: _joined(values) for key, values in groups.items()}


def _apt(image: Image | None) -> dict[str, str]:
    """apt name -> the install argument as written (`cmake=3.28.3*`, `gpg`)."""
    if image is None:
        return {}
    return _grouped((p.name, f"{p.name}={p.pin}" if p.pin else p.name) for p in image.apt)


def _rpm(image: Image | None) -> dict[str, str]:
    return {} if image is None else {p.name: p.name for p in image.rpm}


def pip_name(requirement: str) -> str:
    """The project a requirement names, normalised (`PyBind11[global]>=2` -> `pybind11`)."""
    m = _PIP_NAME.match(requirement.strip())
    if m is None:
        return requirement
    return re.sub(r"[-_.]+", "-", m.group(0)).lower()


def _pip(image: Image | None) -> dict[str, str]:
    """Project -> requirement(s) as written; `-r` files and local wheels by their text."""
    if image is None:
        return {}
    return _grouped(
        (pip_name(p.requirement) if p.kind == "requirement" else p.requirement, p.requirement)
        for p in image.pip
    )


def _downloads(image: Image | None) -> dict[str, str]:
    return {} if image is None else {d.url: d.url for d in image.downloads}


def _projects(recipe: Recipe) -> dict[str, CMakeProject]:
    """Scope -> CMake project: `core tritonserver`, `backend onnxruntime`, ..."""
    if recipe.cmake is None:
        return {}
    projects = [recipe.cmake.core, *recipe.cmake.components]
    return {f"{p.kind} {p.name}": p for p in projects if p is not None}


def _options(project: CMakeProject | None) -> dict[str, str]:
    """Its options, less those naming an absolute path (build.py's build folders)."""
    if project is None:
        return {}
    return {k: v for k, v in project.options.items() if not v.startswith("/")}


def _cmake_changes(a: Recipe, b: Recipe) -> list[Change]:
    pa, pb = _projects(a), _projects(b)
    out: list[Change] = []
    for scope in sorted({*pa, *pb}):
        old, new = pa.get(scope), pb.get(scope)
        kind, _, name = scope.partition(" ")
        if kind != "core":
            if old is None or new is None:
                present = old or new
                assert present is not None
                value = present.tag or ""
                out.append(Change("component", kind, name, None if old is None else value,
                                  None if new is None else value))  # fmt: skip
                continue  # an added or removed component's options are not listed one by one
            if old.tag != new.tag:
                out.append(Change("component", kind, name, old.tag or "", new.tag or ""))
            if old.repo_url != new.repo_url:
                out.append(Change("component", kind, f"{name} repository", old.repo_url or "",
                                  new.repo_url or ""))  # fmt: skip
        out += _compare("option", scope, _options(old), _options(new), True)
    return out


# ---- the edge: a command-line argument to a Side


def fact_texts(facts: Mapping[str, Any]) -> dict[str, str]:
    """Release facts as text (dates in ISO form), only those FACT_LABELS names."""
    out = {}
    for key in FACT_LABELS:
        value = facts.get(key)
        if isinstance(value, datetime.date):
            out[key] = value.isoformat()
        elif value is not None:
            out[key] = str(value)
    return out


def release_facts(name: str) -> dict[str, str]:
    """What specgen knows of release `name`: its facts file completed by its embedded recipe;
    the file alone where no recipe is embedded; nothing for a release it does not know."""
    from specgen.generate.release import facts_for, load_release_facts
    from specgen.recipe.embed import embedded_recipe, embedded_releases

    if name in embedded_releases():
        return fact_texts(facts_for(embedded_recipe(name), name).facts)
    known = load_release_facts(name)
    return fact_texts(known.facts) if known else {}


def load_side(arg: str) -> Side:
    """A release name (YY.MM, its embedded recipe) or a dry-run folder or file, with its facts;
    a name that is also an existing path is the path. An error names the argument when it is
    neither."""
    from specgen.recipe.embed import embedded_recipe, embedded_releases

    path = Path(arg)
    if _RELEASE_NAME.fullmatch(arg) and not path.exists():
        if arg not in embedded_releases():
            known = ", ".join(embedded_releases())
            raise SpecgenError(
                f"{arg}: no embedded recipe for Triton {arg} (known: {known}); "
                "give its dry-run folder instead"
            )
        recipe = embedded_recipe(arg)
        return Side(arg, arg, recipe, release_facts(arg))
    if not path.exists():
        raise InputError(arg, "neither a release (YY.MM) nor a dry-run folder or file")
    from specgen.recipe.dryrun import load_recipe

    recipe = load_recipe([path])
    return Side(arg, *_dryrun_facts(recipe))


def _recipe_facts(recipe: Recipe) -> dict[str, str]:
    from specgen.recipe.facts import recipe_facts

    return fact_texts(recipe_facts(recipe))


def _dryrun_facts(recipe: Recipe) -> tuple[str | None, Recipe, dict[str, str]]:
    """A dry-run's release (when its files name one), itself, and the facts known for it."""
    from specgen.generate.release import facts_for, recipe_release_name

    try:
        name = recipe_release_name(recipe)
    except SpecgenError:
        return None, recipe, _recipe_facts(recipe)
    return name, recipe, fact_texts(facts_for(recipe, name).facts)
