"""What the stand-in is made of (`specgen/data/standin/nvidia.toml`), read and checked."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from specgen.errors import InputError
from specgen.generate.redist import shipped_manifest

DATA = "standin/nvidia.toml"
LOCK = "standin/nvidia.lock.json"
# cuda: the build root's CUDA tree and the redist archives; cuda-redist: the archives only.
FEEDS = frozenset({"cudnn", "tensorrt", "onnxruntime", "cuda", "cuda-redist", "cuda-compiler"})


@dataclass(frozen=True)
class Wanted:
    """One file to take from a registry: `kind` is pypi, npm or deb."""

    kind: str
    name: str
    version: str
    feeds: str
    platform: str = ""  # a wheel's platform tag
    python: str = "py3"  # a wheel's Python tag
    suite: str = ""  # a Debian suite
    area: str = "main"  # a Debian archive area (main, non-free)
    component: str = ""  # the CUDA manifest's key of the component a wheel carries


@dataclass(frozen=True)
class StandinPlan:
    release: str
    wanted: tuple[Wanted, ...]
    cuda_manifest: str = ""  # specgen/data/manifests/<file>: the CUDA components' versions


def data_path(name: str) -> Path:
    """A file under specgen/data (the lock is written back there by `pin`)."""
    return Path(str(resources.files("specgen") / "data" / name))


def _entry(origin: str, kind: str, raw: dict[str, object], cuda: dict[str, str]) -> Wanted:
    def text(key: str, default: str | None = None) -> str:
        value = raw.get(key, default)
        if not isinstance(value, str) or not value:
            raise InputError(origin, f"[[{kind}]] {raw.get('name')!r}: {key} must be a string")
        return value

    name, feeds = text("name"), text("feeds")
    if feeds not in FEEDS:
        raise InputError(
            origin, f"[[{kind}]] {name}: feeds {feeds!r} is not one of {sorted(FEEDS)}"
        )
    if "component" in raw:
        component = text("component")
        if component not in cuda:
            raise InputError(
                origin, f"[[{kind}]] {name}: no component {component!r} in the manifest"
            )
        version = cuda[component]
    else:
        component, version = "", text("version")
    return Wanted(
        kind=kind,
        name=name,
        version=version,
        feeds=feeds,
        platform=text("platform", "") if kind == "pypi" else "",
        python=text("python", "py3") if kind == "pypi" else "py3",
        suite=text("suite") if kind == "deb" else "",
        area=text("area", "main") if kind == "deb" else "main",
        component=component,
    )


def load_plan(path: Path | None = None) -> StandinPlan:
    """The stand-in's inputs, with each CUDA wheel's version taken from the CUDA manifest."""
    path = path or data_path(DATA)
    origin = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise InputError(origin, f"cannot read: {err}") from None
    manifest_file = str(data.get("cuda_manifest", ""))
    manifest = shipped_manifest(manifest_file)
    cuda = {key: c.version for key, c in manifest.components.items()}
    wanted = tuple(
        _entry(origin, kind, raw, cuda)
        for kind in ("pypi", "npm", "deb")
        for raw in data.get(kind, [])
    )
    return StandinPlan(
        release=str(data.get("release", "")), wanted=wanted, cuda_manifest=manifest_file
    )
