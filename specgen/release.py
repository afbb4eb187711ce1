"""Release facts: the versions a Triton release was tested with, kept in data files.

The dry-run files name Triton's version but not what the NGC base image carries (CUDA, cuDNN,
TensorRT): `specgen/data/releases/<yy.mm>.toml` records those, the NVIDIA manifests that pin
their archives, and pins of sources NVIDIA publishes no manifest for.
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
from specgen.recipe import Recipe

DEFAULT_RELEASE = "25.03"
_RELEASE_NAME = re.compile(r"\d\d\.\d\d")
_VERSION = re.compile(r"[0-9][0-9A-Za-z.]*")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_COMMIT = re.compile(r"[0-9a-f]{40}")
VERSION_KEYS = ("triton_version", "cuda", "cudnn", "tensorrt", "onnxruntime", "openvino", "dcgm")


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
        for key, value in overrides.items():
            if key not in (*VERSION_KEYS, "python"):
                known = ", ".join((*VERSION_KEYS, "python"))
                raise SpecgenError(f"--fact {key}: not a release fact (one of {known})")
            if not _VERSION.fullmatch(value):
                raise SpecgenError(f"--fact {key}={value!r}: not a version")
        return dataclasses.replace(self, **overrides)

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


def parse_fact_overrides(values: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`--fact NAME=VERSION` values as a mapping (checked by Release.with_facts)."""
    out = {}
    for value in values:
        name, sep, version = value.partition("=")
        if not sep or not name:
            raise SpecgenError(f"--fact {value!r}: use NAME=VERSION, e.g. cudnn=9.19.0.56")
        out[name] = version
    return out


def available_releases() -> list[str]:
    """Names of the releases specgen carries facts for, sorted."""
    folder = resources.files("specgen.data").joinpath("releases")
    names = (p.name for p in folder.iterdir())
    return sorted(n.removesuffix(".toml") for n in names if n.endswith(".toml"))


def load_release(name: str) -> Release:
    """The facts of release `name` (`25.03`); a clear error for one specgen does not know."""
    if not _RELEASE_NAME.fullmatch(name):
        raise SpecgenError(f"release {name!r} is not of the form YY.MM (e.g. {DEFAULT_RELEASE})")
    ref = resources.files("specgen.data").joinpath("releases", f"{name}.toml")
    if not ref.is_file():
        known = ", ".join(available_releases())
        raise SpecgenError(f"no release facts for Triton {name} (known: {known})")
    where = f"specgen/data/releases/{name}.toml"
    try:
        data = tomllib.loads(ref.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise InputError(where, str(err)) from None
    return _parse(data, where)


def release_for(recipe: Recipe) -> Release:
    """The release a recipe belongs to, from its container version (`25.03`) or repo tags."""
    name = recipe.container_version
    if not name and recipe.cmake is not None:
        tag = recipe.cmake.repo_tags.get("core", "")
        name = tag.removeprefix("r") if tag.startswith("r") else None
    if not name:
        raise SpecgenError("the dry-run files name no Triton release; pass --release YY.MM")
    return load_release(name)


def _parse(data: dict[str, Any], where: str) -> Release:
    rel = data.get("release")
    if not isinstance(rel, dict):
        raise InputError(where, "no [release] table")
    for key in (*VERSION_KEYS, "name", "triton_tag", "python"):
        value = rel.get(key)
        if not isinstance(value, str) or not _VERSION.fullmatch(value.removeprefix("r")):
            raise InputError(where, f"release.{key} = {value!r} is not a version")
    date = rel.get("date")
    if not isinstance(date, datetime.date):
        raise InputError(where, "release.date must be a TOML date (YYYY-MM-DD)")
    manifests = data.get("manifests", {})
    if not isinstance(manifests, dict) or not all(isinstance(v, str) for v in manifests.values()):
        raise InputError(where, "[manifests] maps products to manifest file names")
    pins = tuple(_pin(where, i, raw) for i, raw in enumerate(data.get("pins", [])))
    commits = data.get("commits", {})
    for repo, commit in commits.items():
        if not isinstance(commit, str) or not _COMMIT.fullmatch(commit):
            raise InputError(where, f"commits.{repo} = {commit!r} is not a 40-digit commit id")
    return Release(
        name=rel["name"],
        triton_version=rel["triton_version"],
        triton_tag=rel["triton_tag"],
        date=date,
        cuda=rel["cuda"],
        cudnn=rel["cudnn"],
        tensorrt=rel["tensorrt"],
        onnxruntime=rel["onnxruntime"],
        openvino=rel["openvino"],
        dcgm=rel["dcgm"],
        python=rel["python"],
        manifests=dict(manifests),
        pins=pins,
        commits=dict(commits),
    )


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
