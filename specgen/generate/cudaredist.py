"""--cuda-from-redist: one prebuilt spec per CUDA component, from NVIDIA's redist manifest.

The same machinery as cuDNN and TensorRT (prebuilt.py): this module only turns a component of
`redistrib_<cuda>.json` and its entry in cuda.toml into the data a prebuilt spec is made from.
"""

from __future__ import annotations

from typing import Any

from specgen.errors import SpecgenError
from specgen.generate.context import BuildContext
from specgen.generate.package import PackageSpec
from specgen.generate.pkgdata import load_package_data
from specgen.generate.prebuilt import ARCH_FACTS, build_prebuilt
from specgen.generate.redist import RedistComponent, shipped_manifest


def _component_data(
    key: str, entry: dict[str, Any], component: RedistComponent, common: dict[str, Any]
) -> dict[str, Any]:
    """A prebuilt package data table for one component (as a data file would hold it)."""
    name, version = entry["spec"], component.version
    libs = entry.get("libraries", [])
    # Libraries whose soname is lib<x>.so itself (no version): the runtime package holds them.
    unversioned = entry.get("unversioned_libraries", [])
    override = entry.get("redist", {})
    archs = [a for a in ARCH_FACTS if a in component.archives]
    urls = {a: component.archives[a].url.replace(version, "{version}") for a in archs}
    runtime = {
        "name": name,
        "summary": entry["summary"],
        "files": [f"%{{_libdir}}/{lib}.so.*" for lib in libs]
        + [f"%{{_libdir}}/{lib}.so" for lib in unversioned],
    }
    devel_files = [f"%{{_libdir}}/{lib}.so" for lib in libs] + ["%{_includedir}/*"]
    has_runtime = bool(libs or unversioned)
    devel = {
        "name": f"{name}-devel",
        "summary": f"Development files of {entry['summary']}",
        "requires": [f"{name}%{{?_isa}} = %{{version}}-%{{release}}"] if has_runtime else [],
        "files": override.get("files", devel_files),
    }
    static = entry.get("static_libraries", [])
    install = [{"from": f"lib/{lib}.so*", "to": "%{_libdir}"} for lib in libs + unversioned]
    install += [{"from": f"lib/{lib}.a", "to": "%{_libdir}"} for lib in static]
    install.append({"from": "include/*", "to": "%{_includedir}"})
    packages = [runtime, devel] if has_runtime else [{**devel, "name": name}]
    if static:
        packages.append({
            "name": f"{name}-static",
            "summary": f"Static libraries of {entry['summary']}",
            "requires": [f"{devel['name']}%{{?_isa}} = %{{version}}-%{{release}}"],
            "files": [f"%{{_libdir}}/{lib}.a" for lib in static],
        })  # fmt: skip
    if override:
        packages = [
            {**runtime, "files": override["files"], "requires": override.get("requires", [])}
        ]
    return {
        "_where": f"specgen/data/packages/cuda.toml [components.{key}]",
        "name": name,
        "kind": "prebuilt",
        "version": version,
        "archs": archs,
        "summary": entry["summary"],
        "description": f"{entry['summary']}, from NVIDIA's CUDA redistributable archives.",
        "license": common["license"],
        "url": common["url"],
        "license_files": common["license_files"],
        "requires_exclude": common["requires_exclude"],
        "archive": {"urls": urls},
        "install": override.get("install", install),
        "commands": [{"run": c} for c in override.get("commands", [])],
        "package": packages,
    }


def cuda_redist_packages(ctx: BuildContext) -> list[PackageSpec]:
    """The CUDA component specs of the release, in cuda.toml's order."""
    data = load_package_data("cuda")
    manifest_file = ctx.release.manifests.get("cuda")
    if manifest_file is None:
        name, cuda = ctx.release.name, ctx.release.cuda
        raise SpecgenError(
            f"--cuda-from-redist: Triton {name} uses CUDA {cuda}, and no NVIDIA"
            f" redistrib_{cuda}.json is shipped: add it to specgen/data/manifests/"
            f" and name it under [manifests] in specgen/data/releases/{name}.toml"
        )
    manifest = shipped_manifest(manifest_file)
    specs = []
    for key, entry in ctx.cuda.components.items():
        component = manifest.component(key)
        specs.append(build_prebuilt(_component_data(key, entry, component, data["redist"]), ctx))
    return specs
