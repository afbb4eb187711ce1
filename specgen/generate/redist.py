"""NVIDIA redist manifests (`redistrib_<label>.json`): where each archive is and its checksum.

The manifests are NVIDIA's own machine-readable release records; specgen ships copies of the
ones the default release needs under `specgen/data/manifests/` so generation works offline.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from specgen.errors import InputError, SpecgenError

REDIST_ROOT = "https://developer.download.nvidia.com/compute"
RPM_ARCH_TO_PLATFORM = {"x86_64": "linux-x86_64", "aarch64": "linux-sbsa"}
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class RedistArchive:
    """One downloadable archive of a component, for one platform."""

    url: str
    sha256: str
    size: int

    @property
    def file(self) -> str:
        return self.url.rsplit("/", 1)[1]


@dataclass(frozen=True)
class RedistComponent:
    """A component (cudnn, cuda_cudart, libcublas, ...) with its archives by RPM arch."""

    key: str
    name: str
    version: str
    license: str
    archives: dict[str, RedistArchive]


@dataclass(frozen=True)
class RedistManifest:
    """A parsed manifest: product, label and components."""

    product: str
    label: str
    release_date: str
    components: dict[str, RedistComponent]
    origin: str

    @property
    def url(self) -> str:
        return f"{REDIST_ROOT}/{self.product}/redist/redistrib_{self.label}.json"

    def component(self, key: str) -> RedistComponent:
        try:
            return self.components[key]
        except KeyError:
            raise SpecgenError(f"{self.origin}: no component {key!r} in the manifest") from None


def _archive(origin: str, base: str, entry: Any, key: str) -> RedistArchive:
    if not isinstance(entry, dict) or not {"relative_path", "sha256", "size"} <= entry.keys():
        raise InputError(origin, f"{key}: archive entry lacks relative_path, sha256 or size")
    sha = str(entry["sha256"])
    if not _SHA256.fullmatch(sha):
        raise InputError(origin, f"{key}: sha256 {sha!r} is not 64 lowercase hex digits")
    try:
        size = int(entry["size"])
    except (TypeError, ValueError):
        raise InputError(origin, f"{key}: size {entry['size']!r} is not a number") from None
    return RedistArchive(url=f"{base}/{entry['relative_path']}", sha256=sha, size=size)


def parse_manifest(
    data: dict[str, Any], origin: str, cuda_major: str | None = None
) -> RedistManifest:
    """Read a manifest; for per-CUDA components (cuDNN) pick the `cuda<major>` archives."""
    try:
        product = str(data["release_product"])
        label = str(data["release_label"])
    except (KeyError, TypeError):
        raise InputError(origin, "not an NVIDIA redist manifest (no release_product)") from None
    base = f"{REDIST_ROOT}/{product}/redist"
    components: dict[str, RedistComponent] = {}
    for key, value in data.items():
        if not isinstance(value, dict) or "version" not in value:
            continue
        archives: dict[str, RedistArchive] = {}
        for arch, platform in RPM_ARCH_TO_PLATFORM.items():
            entry = value.get(platform)
            if entry is None:
                continue
            if "relative_path" not in entry:
                variant = f"cuda{cuda_major}" if cuda_major else None
                if variant is None or variant not in entry:
                    continue
                entry = entry[variant]
            archives[arch] = _archive(origin, base, entry, f"{key}/{platform}")
        components[key] = RedistComponent(
            key=key,
            name=str(value.get("name", key)),
            version=str(value["version"]),
            license=str(value.get("license", "")),
            archives=archives,
        )
    return RedistManifest(
        product=product,
        label=label,
        release_date=str(data.get("release_date", "")),
        components=components,
        origin=origin,
    )


def load_manifest(path: str | Path, cuda_major: str | None = None) -> RedistManifest:
    """Read a manifest file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise InputError(path, f"cannot read: {err.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(path, f"not JSON: {err}") from None
    return parse_manifest(data, str(path), cuda_major)


def shipped_manifest(file: str, cuda_major: str | None = None) -> RedistManifest:
    """A manifest shipped with specgen (`specgen/data/manifests/<file>`)."""
    ref = resources.files("specgen.data").joinpath("manifests", file)
    if not ref.is_file():
        raise SpecgenError(f"specgen ships no manifest {file} (specgen/data/manifests/)")
    data = json.loads(ref.read_text(encoding="utf-8"))
    return parse_manifest(data, f"manifests/{file}", cuda_major)
