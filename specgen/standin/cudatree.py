"""CUDA 12.8.1's components from PyPI's wheels, laid out as NVIDIA's packages lay out a toolkit
(/usr/local/cuda-12.8: bin/, include/, lib64/, nvvm/), for the build root of a GPU build.

The wheels are made for running, not for compiling CUDA code: they lack the compiler driver and
front end (nvcc, cicc, cudafe++, fatbinary, nvlink), the static runtime and the driver's link
stub. `missing_for_cuda_code` names what of those is absent from a tree."""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from specgen.errors import SpecgenError
from specgen.standin.archive import Wheel

# What compiling and linking CUDA code (CMake's CUDA language) needs from a toolkit, beyond
# headers and shared libraries.
CUDA_COMPILE_NEEDS = (
    "bin/nvcc", "bin/cicc", "bin/cudafe++", "bin/fatbinary", "bin/nvlink", "bin/ptxas",
    "nvvm/libdevice/libdevice.10.bc", "lib64/libcudart_static.a", "lib64/libcudadevrt.a",
    "lib64/stubs/libcuda.so",
)  # fmt: skip


@dataclass(frozen=True)
class CudaTree:
    root: Path
    files: int
    bytes: int
    libraries: tuple[str, ...]  # lib64 sonames


def _place(wheel: Wheel, rel_in_wheel: str, target: Path, mode: int) -> int:
    """Extract one member to target, checked against RECORD; its size."""
    info = wheel.zip.getinfo(rel_in_wheel)
    digest = hashlib.sha256()
    target.parent.mkdir(parents=True, exist_ok=True)
    with wheel.zip.open(info) as src, target.open("wb") as out:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    want = wheel.record.get(rel_in_wheel)
    if want is not None and digest.hexdigest() != want:
        raise SpecgenError(f"{wheel.path.name}: {rel_in_wheel} differs from its RECORD")
    target.chmod(mode)
    return info.file_size


def cuda_tree(wheels: list[Path], dest: Path) -> CudaTree:
    """dest (replaced): each wheel's nvidia/<component>/{bin,include,lib,nvvm} merged, lib/ as
    lib64/ with a development link (libX.so) beside each soname."""
    if dest.exists():
        shutil.rmtree(dest)
    files = size = 0
    sonames: list[str] = []
    for path in wheels:
        wheel = Wheel(path)
        for info in wheel.members("nvidia/"):
            parts = info.filename.split("/")
            if len(parts) < 4 or parts[-1] == "__init__.py" or parts[2].startswith("."):
                continue
            area, rest = parts[2], "/".join(parts[3:])
            if area == "lib":
                rel, mode = f"lib64/{rest}", 0o755
            elif area in ("bin", "include", "nvvm"):
                rel, mode = f"{area}/{rest}", 0o755 if area == "bin" else 0o644
            else:
                continue
            target = dest / rel
            if target.exists():
                raise SpecgenError(f"{path.name}: {rel} is in two wheels")
            size += _place(wheel, info.filename, target, mode)
            files += 1
            if area == "lib" and ".so." in rest:
                sonames.append(rest)
    for soname in sonames:
        link = dest / "lib64" / (soname.split(".so.")[0] + ".so")
        if not link.exists():
            os.symlink(soname, link)
    return CudaTree(dest, files, size, tuple(sorted(sonames)))


def missing_for_cuda_code(root: Path) -> list[str]:
    """What compiling CUDA code needs that the tree lacks."""
    return [rel for rel in CUDA_COMPILE_NEEDS if not (root / rel).exists()]
