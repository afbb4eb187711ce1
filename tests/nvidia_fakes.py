"""Archives in NVIDIA's exact layout with small real libraries, for build tests.

The libraries are compiled here with gcc and carry NVIDIA's sonames (libcudnn.so.9, ...);
cudnnGetVersion() returns the version the archive claims, so a test can load the installed
library and ask it.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import subprocess
import tarfile
import zipfile
from pathlib import Path

CUDNN_VERSION = "9.8.0.87"
TRT_VERSION = "10.9.0.34"


def _shared_lib(out: Path, soname: str, source: str) -> None:
    src = out.with_suffix(".c")
    src.write_text(source)
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O1", f"-Wl,-soname,{soname}", "-o", str(out), str(src)],
        check=True,
    )
    src.unlink()


def _static_lib(out: Path) -> None:
    src = out.with_suffix(".c")
    obj = out.with_suffix(".o")
    src.write_text("int cudnn_static_marker(void) { return 1; }\n")
    subprocess.run(["gcc", "-c", "-fPIC", "-o", str(obj), str(src)], check=True)
    subprocess.run(["ar", "rcs", str(out), str(obj)], check=True)
    src.unlink()
    obj.unlink()


def _versioned(lib_dir: Path, stem: str, version: str, source: str) -> None:
    """stem.so.X.Y.Z with soname stem.so.X, and the stem.so.X and stem.so links."""
    major = version.split(".")[0]
    full = f"{stem}.so.{version}"
    _shared_lib(lib_dir / full, f"{stem}.so.{major}", source)
    (lib_dir / f"{stem}.so.{major}").symlink_to(full)
    (lib_dir / f"{stem}.so").symlink_to(f"{stem}.so.{major}")


def _tar(folder: Path, out: Path, mode: str) -> None:
    with tarfile.open(out, mode) as tar:
        tar.add(folder, arcname=folder.name)


def cudnn_archive(work: Path, downloads: Path, arch: str = "x86_64") -> Path:
    """cudnn-linux-<platform>-<ver>_cuda12-archive.tar.xz as NVIDIA lays it out."""
    platform = {"x86_64": "linux-x86_64", "aarch64": "linux-sbsa"}[arch]
    top = work / f"cudnn-{platform}-{CUDNN_VERSION}_cuda12-archive"
    (top / "include").mkdir(parents=True)
    (top / "lib").mkdir()
    (top / "LICENSE").write_text("NVIDIA cuDNN license (test fixture)\n")
    major, minor, patch = CUDNN_VERSION.split(".")[:3]
    number = int(major) * 10000 + int(minor) * 100 + int(patch)
    (top / "include" / "cudnn.h").write_text("#include <stddef.h>\nsize_t cudnnGetVersion(void);\n")
    (top / "include" / "cudnn_version.h").write_text(f"#define CUDNN_MAJOR {major}\n")
    _versioned(
        top / "lib",
        "libcudnn",
        ".".join(CUDNN_VERSION.split(".")[:3]),
        f"#include <stddef.h>\nsize_t cudnnGetVersion(void) {{ return {number}; }}\n",
    )
    _versioned(top / "lib", "libcudnn_ops", ".".join(CUDNN_VERSION.split(".")[:3]),
               "int cudnn_ops_marker(void) { return 2; }\n")  # fmt: skip
    _static_lib(top / "lib" / "libcudnn_ops_static_v9.a")
    out = downloads / f"{top.name}.tar.xz"
    _tar(top, out, "w:xz")
    return out


def _wheel(out_dir: Path, pyver: str, arch: str) -> Path:
    name = f"tensorrt-{TRT_VERSION}-cp{pyver}-none-linux_{arch}.whl"
    info = f"tensorrt-{TRT_VERSION}.dist-info"
    files = {
        "tensorrt/__init__.py": f'__version__ = "{TRT_VERSION}"\n',
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: tensorrt\nVersion: {TRT_VERSION}\n",
        f"{info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\n"
                         f"Tag: cp{pyver}-none-linux_{arch}\n",
    }  # fmt: skip
    record = "".join(f"{path},,\n" for path in files) + f"{info}/RECORD,,\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
        zf.writestr(f"{info}/RECORD", record)
    (out_dir / name).write_bytes(buf.getvalue())
    return out_dir / name


def tensorrt_archive(work: Path, downloads: Path, pyver: str, arch: str = "x86_64") -> Path:
    """TensorRT-<ver>.Linux.<arch>-gnu.cuda-12.8.tar.gz: lib and bin link into targets/."""
    top = work / f"TensorRT-{TRT_VERSION}"
    target = top / "targets" / f"{arch}-linux-gnu"
    (target / "lib").mkdir(parents=True)
    (target / "bin").mkdir()
    (top / "include").mkdir()
    (top / "doc").mkdir()
    (top / "python").mkdir()
    (top / "lib").symlink_to(f"targets/{arch}-linux-gnu/lib")
    (top / "bin").symlink_to(f"targets/{arch}-linux-gnu/bin")
    (top / "doc" / "Acknowledgements.txt").write_text("TensorRT acknowledgements (fixture)\n")
    for header in ("NvInfer.h", "NvInferVersion.h", "NvInferPlugin.h", "NvOnnxParser.h"):
        (top / "include" / header).write_text(f"/* {header} */\n")
    short = ".".join(TRT_VERSION.split(".")[:3])
    for stem in ("libnvinfer", "libnvinfer_plugin", "libnvinfer_vc_plugin", "libnvonnxparser",
                 "libnvinfer_lean", "libnvinfer_dispatch"):  # fmt: skip
        _versioned(target / "lib", stem, short, f"int {stem}_marker(void) {{ return 10; }}\n")
    for stem in ("libnvinfer_builder_resource", "libnvinfer_builder_resource_win"):
        _shared_lib(target / "lib" / f"{stem}.so.{short}", f"{stem}.so.10", "int r;\n")
    (target / "lib" / "stubs").mkdir()
    _shared_lib(target / "lib" / "stubs" / "libnvinfer.so", "libnvinfer.so.10", "int s;\n")
    main = target / "bin" / "trtexec.c"
    main.write_text('#include <stdio.h>\nint main(void) { puts("&&&& trtexec"); return 0; }\n')
    subprocess.run(["gcc", "-o", str(target / "bin" / "trtexec"), str(main)], check=True)
    main.unlink()
    _wheel(top / "python", pyver, arch)
    out = downloads / f"TensorRT-{TRT_VERSION}.Linux.{arch}-gnu.cuda-12.8.tar.gz"
    _tar(top, out, "w:gz")
    return out


def pin_in_lock(lock_path: Path, files: list[Path], pinned_by: str) -> int:
    """Pin these files (by name) in a source lock with their own size and sha256: the lock's pins
    win over the manifests, so a regeneration puts them into the specs. The number pinned."""
    from specgen.filehash import file_facts
    from specgen.generate.lock import read_lock, write_lock

    lock = read_lock(lock_path)
    facts = {p.name: file_facts(p) for p in files}
    sources = tuple(
        dataclasses.replace(s, size=facts[s.file][0], sha256=facts[s.file][1], pinned_by=pinned_by)
        if s.file in facts else s
        for s in lock.sources
    )  # fmt: skip
    write_lock(lock_path, dataclasses.replace(lock, sources=sources))
    return sum(s.file in facts for s in lock.sources)


def generate_pinned(root: Path, fakes: list[Path]) -> Path:
    """`specgen generate` into root/specs with these files pinned in root's source lock at their
    upstream URLs (the lock's pins win, so the specs' signatures follow); the specs folder."""
    from click.testing import CliRunner

    from specgen.cli.main import main

    specs = root / "specs"
    first = CliRunner().invoke(main, ["generate", "-o", str(specs)])
    assert first.exit_code == 0, first.output
    assert pin_in_lock(root / "sources" / "sources.lock.json", fakes, "test") == len(fakes)
    second = CliRunner().invoke(main, ["generate", "-o", str(specs)])
    assert second.exit_code == 0, second.output
    return specs


def make_wheel(
    path: Path, members: dict[str, bytes], record_override: dict[str, bytes] | None = None
) -> Path:
    """A wheel whose RECORD holds each member's sha256 (or the override's, to test refusal)."""
    dist = path.name.split("-")[0] + "-1.0.dist-info"
    lines = []
    for name, data in members.items():
        digest = hashlib.sha256((record_override or {}).get(name, data)).digest()
        lines.append(
            f"{name},sha256={base64.urlsafe_b64encode(digest).rstrip(b'=').decode()},{len(data)}"
        )
    lines.append(f"{dist}/RECORD,,")
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, (2025, 2, 28, 12, 0, 0)), data)
        zf.writestr(f"{dist}/RECORD", "\n".join(lines) + "\n")
    return path


def listing(archive: Path) -> list[str]:
    """`tar -tv` by GNU tar: mode, owner, name (and link target)."""
    out = subprocess.run(["tar", "-tvf", str(archive)], capture_output=True, text=True, check=True)
    return [
        " ".join([line.split()[0], line.split()[1], *line.split()[5:]])
        for line in out.stdout.splitlines()
    ]
