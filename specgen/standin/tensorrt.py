"""TensorRT for the build root only: its public headers and link-only stub libraries.

TensorRT 10.9.0.34's libraries are on no registry this host can reach (PyPI's
tensorrt-cu12-libs is a source stub that downloads from NVIDIA's own index). The tensorrt
backend only links libnvinfer.so.10 and libnvinfer_plugin.so.10 by their C entry points
(`extern "C" TENSORRTAPI` in the headers; NVIDIA's own tensorrt-cu12-bindings imports the same
names), so stubs exporting exactly those names let it be compiled and linked, as NVIDIA's
tarball ships lib/stubs/ for. The stubs abort when called, say so in their text, and are never
packaged: no spec's Source is made from them."""

from __future__ import annotations

import re
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from specgen.errors import SpecgenError

_SINGLE = re.compile(r'extern "C" TENSORRTAPI[^;{(]*?\b(\w+)\s*\(')
_BLOCK = re.compile(r'extern "C"\s*\{(.*?)\}\s*//\s*extern "C"', re.S)
_IN_BLOCK = re.compile(r"TENSORRTAPI[^;{(]*?\b(\w+)\s*\(")
# Which library exports a header's C entry points.
LIBRARY_OF_HEADER = {"NvInferPlugin.h": "nvinfer_plugin"}
DEFAULT_LIBRARY = "nvinfer"


@dataclass(frozen=True)
class LinkStubs:
    include: Path
    lib: Path
    symbols: dict[str, tuple[str, ...]]  # library stem -> exported names


def c_entry_points(header_text: str) -> list[str]:
    """The names a header declares with C linkage and TENSORRTAPI, in order, once each."""
    names = _SINGLE.findall(header_text)
    for block in _BLOCK.findall(header_text):
        names += _IN_BLOCK.findall(block)
    return list(dict.fromkeys(names))


def _stub_source(library: str, names: tuple[str, ...]) -> str:
    lines = [
        f"/* LINK-ONLY STUB of lib{library}.so.10 generated from TensorRT's public headers:",
        "   NOT NVIDIA TensorRT. Every function aborts; it exists so that code can be linked",
        "   where TensorRT's libraries cannot be had (docs/gpu-build.md). */",
        "#include <stdio.h>",
        "#include <stdlib.h>",
        "static void stub(const char* name) {",
        f'    fprintf(stderr, "%s: link-only stub of lib{library}.so.10 called, "',
        '            "not TensorRT\\n", name);',
        "    abort();",
        "}",
    ]
    lines += [f'void {name}(void) {{ stub("{name}"); }}' for name in names]
    return "\n".join(lines) + "\n"


def link_stubs(headers_tar: Path, dest: Path, major: str = "10") -> LinkStubs:
    """dest/include (the headers) and dest/lib (lib<x>.so.<major> stubs, lib<x>.so links)."""
    include, lib = dest / "include", dest / "lib"
    include.mkdir(parents=True, exist_ok=True)
    lib.mkdir(parents=True, exist_ok=True)
    symbols: dict[str, list[str]] = {}
    with tarfile.open(headers_tar) as tar:
        for member in tar.getmembers():
            if not (member.isfile() and member.name.endswith(".h") and "/include/" in member.name):
                continue
            name = member.name.rsplit("/", 1)[1]
            source = tar.extractfile(member)
            assert source is not None
            text = source.read()
            (include / name).write_bytes(text)
            library = LIBRARY_OF_HEADER.get(name, DEFAULT_LIBRARY)
            symbols.setdefault(library, []).extend(c_entry_points(text.decode()))
    if not symbols.get(DEFAULT_LIBRARY):
        raise SpecgenError(f"{headers_tar.name}: no TENSORRTAPI C entry points in its include/*.h")
    with tempfile.TemporaryDirectory() as tmp:
        for library, names in sorted(symbols.items()):
            source = Path(tmp) / f"{library}.c"
            source.write_text(_stub_source(library, tuple(dict.fromkeys(names))))
            target = lib / f"lib{library}.so.{major}"
            subprocess.run(["gcc", "-shared", "-fPIC", "-O1", f"-Wl,-soname,{target.name}", "-o",
                            str(target), str(source)], check=True)  # fmt: skip
            link = lib / f"lib{library}.so"
            link.unlink(missing_ok=True)
            link.symlink_to(target.name)
    return LinkStubs(include, lib, {k: tuple(dict.fromkeys(v)) for k, v in sorted(symbols.items())})
