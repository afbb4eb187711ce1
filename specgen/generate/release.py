"""Release facts: the versions a Triton release was tested with, kept in data files.

The dry-run files name Triton's version but not what the NGC base image carries (CUDA, cuDNN,
TensorRT): `specgen/data/releases/<yy.mm>.toml` records those, each with where it was read, the
NVIDIA manifests that pin their archives, and pins of sources NVIDIA publishes no manifest for.
A fact no source here states is left out of the file (`[unknown]` says why); what the dry-run
itself states (recipe/facts.py) fills in for a release without a file; `--fact NAME=VALUE`
supplies the rest. A release missing a fact is an error that names each one and its --fact.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from specgen.errors import InputError, SpecgenError
from specgen.recipe.model import Recipe

DEFAULT_RELEASE = "25.03"
_RELEASE_NAME = re.compile(r"\d\d\.\d\d")
_VERSION = re.compile(r"[0-9][0-9A-Za-z.]*")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_COMMIT = re.compile(r"[0-9a-f]{40}")
VERSION_KEYS = ("triton_version", "cuda", "cudnn", "tensorrt", "onnxruntime", "openvino", "dcgm")
# Every fact a Release needs, in the order an error lists the missing ones.
FACT_KEYS = (*VERSION_KEYS, "python", "date")


@dataclass(frozen=True)
class Pin:
    """A known sha256 and size of one URL, and where they were read."""

    url: str
    sha256: str
    size: int
    pinned_by: str


@dataclass(frozen=True)
class Release:
    """One Triton release and the versions of what it runs on."""

    name: str
    triton_version: str
    triton_tag: str
    date: datetime.date
    cuda: str
    cudnn: str
    tensorrt: str
    onnxruntime: str
    openvino: str
    dcgm: str
    python: str
    manifests: dict[str, str]
    pins: tuple[Pin, ...]
    commits: dict[str, str] = field(default_factory=dict)

    @property
    def cuda_major(self) -> str:
        return self.cuda.split(".")[0]

    @property
    def cuda_major_minor(self) -> str:
        return ".".join(self.cuda.split(".")[:2])

    def with_facts(self, overrides: dict[str, str]) -> Release:
        """These facts with some versions replaced (`cudnn=9.19.0.56`): packaging a version the
        release did not ship, e.g. to match a host's CUDA."""
        return dataclasses.replace(self, **checked_overrides(overrides))

    def facts(self) -> dict[str, str]:
        """The values package data may refer to as `{name}` (`{cudnn}`, `{cuda_major}`, ...)."""
        return {
            "release": self.name,
            "triton_version": self.triton_version,
            "triton_tag": self.triton_tag,
            "cuda": self.cuda,
            "cuda_major": self.cuda_major,
            "cuda_major_minor": self.cuda_major_minor,
            "cuda_dashed": self.cuda_major_minor.replace(".", "-"),
            "cudnn": self.cudnn,
            "cudnn_major": self.cudnn.split(".")[0],
            "tensorrt": self.tensorrt,
            "tensorrt_major": self.tensorrt.split(".")[0],
            "tensorrt_short": ".".join(self.tensorrt.split(".")[:3]),
            "onnxruntime": self.onnxruntime,
            "openvino": self.openvino,
            "dcgm": self.dcgm,
            "python": self.python,
        }


def checked_overrides(overrides: dict[str, str]) -> dict[str, Any]:
    """`--fact` values as Release fields: known names, versions (a date for `date`)."""
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in FACT_KEYS:
            raise SpecgenError(f"--fact {key}: not a release fact (one of {', '.join(FACT_KEYS)})")
        if key == "date":
            try:
                out[key] = datetime.date.fromisoformat(value)
            except ValueError:
                raise SpecgenError(f"--fact date={value!r}: not a date (YYYY-MM-DD)") from None
        elif not _VERSION.fullmatch(value):
            raise SpecgenError(f"--fact {key}={value!r}: not a version")
        else:
            out[key] = value
    return out


def parse_fact_overrides(values: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`--fact NAME=VERSION` values as a mapping (checked by Release.with_facts)."""
    out = {}
    for value in values:
        name, sep, version = value.partition("=")
        if not sep or not name:
            raise SpecgenError(f"--fact {value!r}: use NAME=VERSION, e.g. cudnn=9.19.0.56")
        out[name] = version
    return out


@dataclass(frozen=True)
class ReleaseFacts:
    """What specgen knows of one release before it is complete: the facts (some may be missing),
    where each was read, why the missing ones are unknown, manifests, pins and commits."""

    name: str
    facts: dict[str, Any]
    read_from: dict[str, str] = field(default_factory=dict)
    unknown: dict[str, str] = field(default_factory=dict)
    manifests: dict[str, str] = field(default_factory=dict)
    pins: tuple[Pin, ...] = ()
    commits: dict[str, str] = field(default_factory=dict)
    where: str = ""

    def merged(self, facts: dict[str, Any], source: str) -> ReleaseFacts:
        """These facts with `facts` added where none is known yet (`source` says whence)."""
        added = {k: v for k, v in facts.items() if k not in self.facts and v is not None}
        return dataclasses.replace(
            self,
            facts={**self.facts, **added},
            read_from={**self.read_from, **{k: source for k in added}},
        )

    def missing(self) -> list[str]:
        return [k for k in FACT_KEYS if k not in self.facts]

    def complete(self, overrides: dict[str, str] | None = None) -> Release:
        """The Release, `overrides` applied; an error naming each missing fact and its --fact."""
        facts = {**self.facts, **checked_overrides(overrides or {})}
        missing = [k for k in FACT_KEYS if k not in facts]
        if missing:
            where = self.where or "no release facts file"
            flags = " ".join(f"--fact {k}={'YYYY-MM-DD' if k == 'date' else 'VERSION'}"
                             for k in missing)  # fmt: skip
            raise SpecgenError(
                f"Triton {self.name}: {', '.join(missing)} not known ({where}; the dry-run does "
                f"not say): pass {flags}"
            )
        return Release(
            name=self.name,
            triton_version=facts["triton_version"],
            triton_tag=facts.get("triton_tag", f"r{self.name}"),
            date=facts["date"],
            cuda=facts["cuda"],
            cudnn=facts["cudnn"],
            tensorrt=facts["tensorrt"],
            onnxruntime=facts["onnxruntime"],
            openvino=facts["openvino"],
            dcgm=facts["dcgm"],
            python=facts["python"],
            manifests=dict(self.manifests),
            pins=self.pins,
            commits=dict(self.commits),
        )


def available_releases() -> list[str]:
    """Names of the releases specgen carries facts for, sorted."""
    folder = resources.files("specgen.data").joinpath("releases")
    names = (p.name for p in folder.iterdir())
    return sorted(n.removesuffix(".toml") for n in names if n.endswith(".toml"))


def _checked_name(name: str) -> str:
    if not _RELEASE_NAME.fullmatch(name):
        raise SpecgenError(f"release {name!r} is not of the form YY.MM (e.g. {DEFAULT_RELEASE})")
    return name


def load_release_facts(name: str) -> ReleaseFacts | None:
    """The facts file of release `name` (`25.03`), or None when specgen has none."""
    ref = resources.files("specgen.data").joinpath("releases", f"{_checked_name(name)}.toml")
    if not ref.is_file():
        return None
    where = f"specgen/data/releases/{name}.toml"
    try:
        data = tomllib.loads(ref.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise InputError(where, str(err)) from None
    return _parse(data, where)


def load_release(name: str, overrides: dict[str, str] | None = None) -> Release:
    """The complete facts of release `name`; a clear error for one specgen does not know or
    knows only in part."""
    facts = load_release_facts(name)
    if facts is None:
        known = ", ".join(available_releases())
        raise SpecgenError(f"no release facts for Triton {name} (known: {known})")
    return facts.complete(overrides)


def recipe_release_name(recipe: Recipe) -> str:
    """The release a recipe belongs to, from its container version (`25.03`) or repo tags."""
    name = recipe.container_version
    if not name and recipe.cmake is not None:
        tag = recipe.cmake.repo_tags.get("core", "")
        name = tag.removeprefix("r") if tag.startswith("r") else None
    if not name:
        raise SpecgenError("the dry-run files name no Triton release; pass --release YY.MM")
    return _checked_name(name)


def facts_for(recipe: Recipe, name: str | None = None) -> ReleaseFacts:
    """The release's facts file (release `name`, default the recipe's), completed by what the
    dry-run states; for a release without a file, what the dry-run states alone."""
    from specgen.recipe.facts import recipe_facts

    name = name or recipe_release_name(recipe)
    known = load_release_facts(name) or ReleaseFacts(name=name, facts={})
    return known.merged(recipe_facts(recipe), "the dry-run files")


def release_for(
    recipe: Recipe, name: str | None = None, overrides: dict[str, str] | None = None
) -> Release:
    """The complete Release of a recipe: facts file, then the dry-run, then `overrides`."""
    return facts_for(recipe, name).complete(overrides)


def _parse(data: dict[str, Any], where: str) -> ReleaseFacts:
    rel = data.get("release")
    if not isinstance(rel, dict):
        raise InputError(where, "no [release] table")
    name = rel.get("name")
    if not isinstance(name, str) or not _RELEASE_NAME.fullmatch(name):
        raise InputError(where, f"release.name = {name!r} is not YY.MM")
    facts: dict[str, Any] = {}
    for key in (*VERSION_KEYS, "triton_tag", "python"):
        value = rel.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not _VERSION.fullmatch(value.removeprefix("r")):
            raise InputError(where, f"release.{key} = {value!r} is not a version")
        facts[key] = value
    date = rel.get("date")
    if date is not None:
        if not isinstance(date, datetime.date):
            raise InputError(where, "release.date must be a TOML date (YYYY-MM-DD)")
        facts["date"] = date
    read_from = _strings(where, data, "read_from")
    unknown = _strings(where, data, "unknown")
    for key in facts:
        if key not in read_from and key != "triton_tag":
            raise InputError(where, f"release.{key}: [read_from] must say where it was read")
    for key in FACT_KEYS:
        if key not in facts and key not in unknown:
            raise InputError(where, f"release.{key} is missing: give it, or say why in [unknown]")
    manifests = data.get("manifests", {})
    if not isinstance(manifests, dict) or not all(isinstance(v, str) for v in manifests.values()):
        raise InputError(where, "[manifests] maps products to manifest file names")
    pins = tuple(_pin(where, i, raw) for i, raw in enumerate(data.get("pins", [])))
    commits = data.get("commits", {})
    for repo, commit in commits.items():
        if not isinstance(commit, str) or not _COMMIT.fullmatch(commit):
            raise InputError(where, f"commits.{repo} = {commit!r} is not a 40-digit commit id")
    return ReleaseFacts(
        name=name, facts=facts, read_from=read_from, unknown=unknown,
        manifests=dict(manifests), pins=pins, commits=dict(commits), where=where,
    )  # fmt: skip


def _strings(where: str, data: dict[str, Any], table: str) -> dict[str, str]:
    raw = data.get(table, {})
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise InputError(where, f"[{table}] maps fact names to text")
    return dict(raw)


def _pin(where: str, index: int, raw: Any) -> Pin:
    if not isinstance(raw, dict):
        raise InputError(where, f"pins[{index}] is not a table")
    sha, size, url = raw.get("sha256"), raw.get("size"), raw.get("url")
    if not isinstance(url, str) or not url.startswith("https://"):
        raise InputError(where, f"pins[{index}]: url must be https")
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        raise InputError(where, f"pins[{index}]: sha256 must be 64 lowercase hex digits")
    if not isinstance(size, int) or size <= 0:
        raise InputError(where, f"pins[{index}]: size must be a positive byte count")
    return Pin(url=url, sha256=sha, size=size, pinned_by=str(raw.get("pinned_by", "release facts")))
