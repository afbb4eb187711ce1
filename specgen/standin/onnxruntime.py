"""ONNX Runtime's release archive (onnxruntime-linux-x64-gpu-<ver>.tgz) stood in for by the
same release's C library from the npm package onnxruntime-node (built with the CPU execution
provider only: Microsoft's CUDA and TensorRT providers are not in it), its headers from Debian's
libonnxruntime-dev and its license texts from PyPI's onnxruntime wheel."""

from __future__ import annotations

import tarfile
from pathlib import Path

from specgen.errors import SpecgenError
from specgen.standin.archive import Wheel, vendor_tar
from specgen.standin.debfile import deb_data

NPM_LIB = "package/bin/napi-v3/linux/x64"
DEB_INCLUDE = "./usr/include/onnxruntime/"


def archive_name(version: str) -> str:
    return f"onnxruntime-linux-x64-gpu-{version}"


def _member(tar: tarfile.TarFile, name: str, origin: str) -> tarfile.TarInfo:
    try:
        info = tar.getmember(name)
    except KeyError:
        raise SpecgenError(f"{origin}: no {name}") from None
    if not info.isfile():
        raise SpecgenError(f"{origin}: {name} is not a regular file")
    return info


def onnxruntime_archive(
    npm_tgz: Path, deb: Path, wheel_path: Path, out_dir: Path, version: str
) -> Path:
    """out_dir/onnxruntime-linux-x64-gpu-<ver>.tgz in Microsoft's layout: lib/ with the library
    and its soname links, include/, LICENSE, ThirdPartyNotices.txt, Privacy.md."""
    top = archive_name(version)
    out = out_dir / f"{top}.tgz"
    major = version.split(".")[0]
    wheel = Wheel(wheel_path)
    with tarfile.open(npm_tgz, "r:gz") as npm, deb_data(deb) as data:
        library = _member(npm, f"{NPM_LIB}/libonnxruntime.so.{version}", npm_tgz.name)
        shared = _member(npm, f"{NPM_LIB}/libonnxruntime_providers_shared.so", npm_tgz.name)
        headers = sorted(
            (m for m in data.getmembers() if m.name.startswith(DEB_INCLUDE) and m.isfile()),
            key=lambda m: m.name,
        )
        if not any(h.name.endswith("/onnxruntime_c_api.h") for h in headers):
            raise SpecgenError(f"{deb.name}: no onnxruntime_c_api.h under {DEB_INCLUDE}")
        with vendor_tar(out, top, library.mtime) as tar:
            for member in (library, shared):
                source = npm.extractfile(member)
                assert source is not None
                tar.stream(f"lib/{member.name.rsplit('/', 1)[1]}", source, member.size, 0o755)
            tar.link(f"lib/libonnxruntime.so.{major}", f"libonnxruntime.so.{version}")
            tar.link("lib/libonnxruntime.so", f"libonnxruntime.so.{major}")
            for header in headers:
                source = data.extractfile(header)
                assert source is not None
                tar.stream(f"include/{header.name.removeprefix(DEB_INCLUDE)}", source, header.size)
            for text in ("LICENSE", "ThirdPartyNotices.txt", "Privacy.md"):
                wheel.copy_to(tar, wheel.find(f"onnxruntime/{text}"), text)
    return out
