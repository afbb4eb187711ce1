"""cuDNN's redist archive (cudnn-linux-x86_64-<ver>_cuda12-archive.tar.xz) from PyPI's
nvidia-cudnn-cu12 wheel, which carries the same libraries laid out for Python: only `lib*.so.9`
files (no links), headers under nvidia/cudnn/include, no static libraries."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from specgen.errors import SpecgenError
from specgen.standin.archive import Wheel, vendor_tar


@dataclass(frozen=True)
class Repacked:
    """The archive made from a wheel, and what went into it."""

    archive: Path
    libraries: dict[str, int]  # lib*.so.<short version> -> size in bytes
    record_sha256: dict[str, str]  # lib*.so.<short version> -> sha256 from the wheel's RECORD
    standin_static: str  # the stand-in static library's name (not NVIDIA's)


def archive_top(version: str, cuda_major: str = "12") -> str:
    return f"cudnn-linux-x86_64-{version}_cuda{cuda_major}-archive"


def standin_static(out: Path, marker: str) -> None:
    """A small real static archive, a STAND-IN and not NVIDIA code: the wheel has no static
    libraries, and rpmbuild fails on a -static subpackage's %files glob that matches nothing.
    Named so that nobody takes it for the vendor's."""
    with tempfile.TemporaryDirectory() as tmp:
        src, obj = Path(tmp) / "standin.c", Path(tmp) / "standin.o"
        src.write_text(
            f"/* stand-in static library: not NVIDIA code */\nint {marker}(void) {{ return 0; }}\n"
        )
        subprocess.run(["gcc", "-c", "-fPIC", "-O1", "-o", str(obj), str(src)], check=True)
        subprocess.run(["ar", "rcs", str(out), str(obj)], check=True)


def cudnn_archive(wheel_path: Path, out_dir: Path, version: str) -> Repacked:
    """out_dir/<top>.tar.xz: lib/lib*.so.X.Y.Z real files with .so.X and .so links, include/,
    LICENSE (the wheel's License.txt) and one stand-in static library."""
    major = version.split(".")[0]
    short = ".".join(version.split(".")[:3])
    top = archive_top(version)
    wheel = Wheel(wheel_path)
    static = f"libcudnn_standin_static_v{major}.a"
    libraries: dict[str, int] = {}
    record: dict[str, str] = {}
    archive = out_dir / f"{top}.tar.xz"
    lib_members = [
        i for i in wheel.members("nvidia/cudnn/lib/") if i.filename.endswith(f".so.{major}")
    ]
    headers = [i for i in wheel.members("nvidia/cudnn/include/") if i.filename.endswith(".h")]
    if not lib_members or not headers:
        raise SpecgenError(f"{wheel_path.name}: no nvidia/cudnn/lib/*.so.{major} or include/*.h")
    with vendor_tar(archive, top, wheel.mtime(lib_members[0])) as tar:
        for info in sorted(lib_members, key=lambda i: i.filename):
            stem = info.filename.rsplit("/", 1)[1].removesuffix(f".so.{major}")
            full = f"{stem}.so.{short}"
            record[full] = wheel.copy_to(tar, info, f"lib/{full}", 0o755)
            tar.link(f"lib/{stem}.so.{major}", full)
            tar.link(f"lib/{stem}.so", f"{stem}.so.{major}")
            libraries[full] = info.file_size
        for info in sorted(headers, key=lambda i: i.filename):
            wheel.copy_to(tar, info, f"include/{info.filename.rsplit('/', 1)[1]}")
        wheel.copy_to(tar, wheel.find(".dist-info/License.txt"), "LICENSE")
        with tempfile.TemporaryDirectory() as tmp:
            standin_static(Path(tmp) / static, "cudnn_standin_static")
            tar.file(f"lib/{static}", Path(tmp) / static)
    return Repacked(archive, libraries, record, static)
