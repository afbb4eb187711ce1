"""CUDA 12.8.1's components from PyPI's wheels, laid out as NVIDIA's packages lay out a toolkit
(/usr/local/cuda-12.8: bin/, include/, lib64/, nvvm/), for the build root of a GPU build.

The wheels are made for running, not for compiling CUDA code: they lack the compiler driver and
front end (nvcc, cicc, cudafe++, fatbinary, nvlink), the static runtime and the driver's link
stub. `add_compiler` takes those from Debian's packages of NVIDIA's binaries (an older CUDA: the
tree then mixes versions, see docs/gpu-build.md); `missing_for_cuda_code` names what is absent."""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from specgen.errors import SpecgenError
from specgen.standin.archive import Wheel
from specgen.standin.debfile import deb_extract

# What compiling and linking CUDA code (CMake's CUDA language) needs from a toolkit, beyond
# headers and shared libraries.
CUDA_COMPILE_NEEDS = (
    "bin/nvcc", "nvvm/bin/cicc", "bin/cudafe++", "bin/fatbinary", "bin/nvlink", "bin/ptxas",
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


# NVIDIA's compiler binaries in Debian's nvidia-cuda-toolkit, and where a toolkit keeps them
# (cicc under nvvm/bin, as nvcc.profile's CICC_PATH says).
COMPILER_FILES = {
    "./usr/lib/nvidia-cuda-toolkit/bin/nvcc": "bin/nvcc",
    "./usr/lib/nvidia-cuda-toolkit/bin/cicc": "nvvm/bin/cicc",
    "./usr/lib/nvidia-cuda-toolkit/bin/crt/link.stub": "bin/crt/link.stub",
    "./usr/lib/nvidia-cuda-toolkit/bin/crt/prelink.stub": "bin/crt/prelink.stub",
    "./usr/bin/cudafe++": "bin/cudafe++",
    "./usr/bin/fatbinary": "bin/fatbinary",
    "./usr/bin/nvlink": "bin/nvlink",
    "./usr/bin/bin2c": "bin/bin2c",
}
# From Debian's nvidia-cuda-dev: what nvcc links by default and CMake's compiler check needs.
DEV_FILES = {
    "./usr/lib/x86_64-linux-gnu/libcudadevrt.a": "lib64/libcudadevrt.a",
    "./usr/lib/x86_64-linux-gnu/libcudart_static.a": "lib64/libcudart_static.a",
    "./usr/lib/x86_64-linux-gnu/stubs/libcuda.so": "lib64/stubs/libcuda.so",
}
# nvcc reads this beside itself. Its variable lines are those of the nvcc.profile in NVIDIA's
# CUDA 12 cuda_nvcc archive, so the stand-in's nvcc looks where NVIDIA's will: headers and
# libraries under $(TOP)/$(_TARGET_DIR_), which nvcc sets to targets/x86_64-linux (sbsa-linux on
# aarch64), and _TARGET_SIZE_ empty for 64-bit.
NVCC_PROFILE = """
TOP              = $(_HERE_)/..

CICC_PATH        = $(TOP)/nvvm/bin
CICC_NEXT_PATH   = $(TOP)/nvvm-next/bin
NVVMIR_LIBRARY_DIR = $(TOP)/nvvm/libdevice

LD_LIBRARY_PATH += $(TOP)/lib:
PATH            += $(CICC_PATH):$(_HERE_):

INCLUDES        +=  "-I$(TOP)/$(_TARGET_DIR_)/include" $(_SPACE_)

LIBRARIES        =+ $(_SPACE_) "-L$(TOP)/$(_TARGET_DIR_)/lib$(_TARGET_SIZE_)/stubs" "-L$(TOP)/$(_TARGET_DIR_)/lib$(_TARGET_SIZE_)"

CUDAFE_FLAGS    +=
PTXAS_FLAGS     +=
"""  # noqa: E501 (NVIDIA's LIBRARIES line, kept whole)
# The tree is x86_64's (DEV_FILES): its target folder, where nvcc.profile looks, links to the
# tree's own include/ and lib64/ (NVIDIA's toolkit has it the other way round).
TARGET_LINKS = {
    "targets/x86_64-linux/include": "../../include",
    "targets/x86_64-linux/lib": "../../lib64",
}


def add_compiler(root: Path, toolkit_deb: Path, dev_deb: Path) -> None:
    """NVIDIA's compiler binaries and static runtime from Debian's packages into the tree, and
    NVIDIA's nvcc.profile with the target folder it looks in, which keep nvcc inside the tree.
    The wheels' ptxas, headers and libdevice stay."""
    for path, files in ((toolkit_deb, COMPILER_FILES), (dev_deb, DEV_FILES)):
        clash = [rel for rel in files.values() if (root / rel).exists()]
        if clash:
            raise SpecgenError(f"{path.name}: {', '.join(clash)} already in {root}")
        deb_extract(path, {member: root / rel for member, rel in files.items()})
    (root / "bin" / "nvcc.profile").write_text(NVCC_PROFILE.lstrip("\n"))
    for link, target in TARGET_LINKS.items():
        (root / link).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, root / link)
