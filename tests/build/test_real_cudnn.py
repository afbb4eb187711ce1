"""Issue 5 acceptance with the real libraries: cuDNN 9.8.0.87 from PyPI's nvidia-cudnn-cu12
wheel, repacked into NVIDIA's archive layout, built by `specgen build` into RPMs, installed into
a scratch root, and asked for its version through the installed library.

Opt-in (`--run-slow`): it downloads a 698 MB wheel once (kept in $SPECGEN_WHEEL_CACHE, default
sources/downloads/) and builds about 1 GB of libraries. Everything else lives under pytest's
tmp_path, removed at the end (left for inspection when the pipeline itself fails). Each phase
prints its wall time and the figures (`-s` shows them).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import require_tool
from cudnn_repack import (
    SHORT_VERSION,
    WHEEL_NAME,
    WHEEL_SHA256,
    WHEEL_SIZE,
    Repacked,
    WheelUnavailable,
    fetch_wheel,
    repack,
    wheel_cache,
)
from nvidia_fakes import pin_in_lock

from specgen.cli.main import main
from specgen.filehash import file_facts

pytestmark = pytest.mark.slow

# Runs in a fresh interpreter without LD_LIBRARY_PATH. Loading libcudnn.so.9 maps only itself
# (its NEEDED are glibc and libstdc++); cudnnGetVersion() then dlopens libcudnn_graph.so.9 by
# soname, which the loader finds through libcudnn.so.9's RUNPATH $ORIGIN, i.e. beside it in
# ROOT/usr/lib. LD_LIBRARY_PATH is not needed for that, and is removed because it would win over
# RUNPATH and could pull a sub-library from another cuDNN on the host; setting it in the test
# process would not help anyway (the loader reads it at process start). The probe prints every
# mapped cuDNN file, so the test sees where each one came from. No GPU or driver is needed.
_PROBE = """
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
lib.cudnnGetVersion.restype = ctypes.c_size_t
print(lib.cudnnGetVersion())
for line in open("/proc/self/maps"):
    if "libcudnn" in line:
        print(line.split()[-1])
"""


@dataclasses.dataclass
class Run:
    """What the pipeline left for the tests to check, and its figures."""

    repacked: Repacked
    rpms: dict[str, Path]  # package name -> built RPM in the repository
    root: Path  # the install root
    timings: dict[str, float] = dataclasses.field(default_factory=dict)


def _rpm(*args: str) -> str:
    return subprocess.run(["rpm", *args], capture_output=True, text=True, check=True).stdout


def _free_gb(path: Path) -> float:
    """Free GB on path's file system (path need not exist yet)."""
    while not path.exists():
        path = path.parent
    return shutil.disk_usage(path).free / 1e9


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def _pin(specs: Path, archive: Path) -> None:
    """Generate, pin the repacked archive in place of NVIDIA's, generate again (the pin wins)."""
    assert _invoke("generate", "-o", str(specs))[0] == 0
    lock_path = specs.parent / "sources" / "sources.lock.json"
    assert pin_in_lock(lock_path, [archive], "test_real_cudnn") == 1, "no cudnn x86_64 entry"
    assert _invoke("generate", "-o", str(specs))[0] == 0


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    if platform.machine() != "x86_64":
        pytest.skip(f"the {WHEEL_SIZE // 10**6} MB cuDNN wheel used here is for x86_64, "
                    f"this machine is {platform.machine()}")  # fmt: skip
    require_tool("rpmbuild", "createrepo_c", "gcc", "ar", "rpm", "tar", "xz")
    top = tmp_path_factory.mktemp("real_cudnn")
    cache = wheel_cache()
    print(f"\n[real-cudnn] free: {_free_gb(top):.1f} GB at {top}, "
          f"{_free_gb(cache):.1f} GB at {cache}")  # fmt: skip
    timings: dict[str, float] = {}

    def phase(name: str, start: float) -> None:
        timings[name] = time.monotonic() - start
        print(f"[real-cudnn] {name}: {timings[name]:.1f} s", flush=True)

    start = time.monotonic()
    cached = (cache / WHEEL_NAME).exists()
    try:
        wheel = fetch_wheel(cache)
    except WheelUnavailable as exc:
        pytest.skip(str(exc))
    phase("download", start)
    print(f"[real-cudnn] wheel: {wheel} ({'cached' if cached else 'downloaded by pip'})")

    start = time.monotonic()
    size, sha256 = file_facts(wheel)
    assert (size, sha256) == (WHEEL_SIZE, WHEEL_SHA256), (
        f"{wheel}: {size} bytes, sha256 {sha256}; PyPI's is {WHEEL_SIZE} bytes, {WHEEL_SHA256}: "
        "delete it and run again"
    )
    phase("verify", start)

    start = time.monotonic()
    specs = top / "specs"
    downloads = top / "sources" / "downloads"
    repacked = repack(wheel, top / "unpack", downloads)
    phase("repack", start)
    print(f"[real-cudnn] {repacked.archive.name}: {repacked.archive.stat().st_size:,} bytes")

    start = time.monotonic()
    _pin(specs, repacked.archive)
    repo = top / "repo"
    code, out = _invoke(
        "build", "--specs", str(specs), "--repo", str(repo), "--workdir", str(top / "work"),
        "--nodeps", "--arch", "x86_64", "--only", "cudnn",
    )  # fmt: skip
    assert code == 0, out
    phase("build", start)
    shutil.rmtree(top / "work")  # the build trees: about 2 GB

    rpms = {_rpm("-qp", "--qf", "%{NAME}", str(p)): p for p in (repo / "x86_64").glob("*.rpm")}
    for path in sorted(rpms.values()):
        print(f"[real-cudnn] {path.name}: {path.stat().st_size:,} bytes")

    start = time.monotonic()
    root = top / "installroot"
    subprocess.run(["rpm", "--root", str(root), "--nodeps", "-i", *map(str, rpms.values())],
                   check=True, capture_output=True)  # fmt: skip
    phase("install", start)

    print(f"[real-cudnn] free after the run: {_free_gb(top):.1f} GB")
    yield Run(repacked, rpms, root, timings)
    shutil.rmtree(top)  # several GB: the archive, the RPMs, the install root
    print(f"\n[real-cudnn] free after cleanup: {_free_gb(top.parent):.1f} GB")


def test_rpms_are_built_with_plausible_sizes(real: Run) -> None:
    assert set(real.rpms) == {"cudnn", "cudnn-headers", "cudnn-devel", "cudnn-static"}
    assert real.rpms["cudnn"].name == "cudnn-9.8.0.87-1.azl3.x86_64.rpm"
    # The libraries are about 1.05 GB; compressed, hundreds of MB.
    assert 200e6 < real.rpms["cudnn"].stat().st_size < 1.2e9
    installed = int(_rpm("-qp", "--qf", "%{LONGSIZE}", str(real.rpms["cudnn"])))
    assert installed >= sum(real.repacked.libraries.values()) > 1e9
    for name in ("cudnn-headers", "cudnn-devel", "cudnn-static"):
        assert real.rpms[name].stat().st_size < 5e6, name
    provides = _rpm("-qp", "--provides", str(real.rpms["cudnn"]))
    assert "libcudnn.so.9()(64bit)" in provides
    assert "libcudnn9-cuda-12 = 9.8.0.87-1.azl3" in provides
    assert "libcuda.so" not in _rpm("-qp", "--requires", str(real.rpms["cudnn"]))


def test_installed_libraries_are_the_wheels(real: Run) -> None:
    lib = real.root / "usr" / "lib"
    assert len(real.repacked.libraries) == 8  # libcudnn, _adv, _cnn, _engines_*, _graph, ...
    for full, size in real.repacked.libraries.items():
        stem = full.removesuffix(f".so.{SHORT_VERSION}")
        assert os.readlink(lib / f"{stem}.so") == f"{stem}.so.9"
        assert os.readlink(lib / f"{stem}.so.9") == full
        path = lib / full
        assert path.is_file() and not path.is_symlink() and path.stat().st_size == size
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        assert digest.hexdigest() == real.repacked.record_sha256[full], full
    assert (real.root / "usr/include/cudnn.h").is_file()
    assert (real.root / "usr/include/cudnn_version_v9.h").is_file()
    assert (lib / real.repacked.standin_static).is_file()
    assert not (real.root / "usr/lib64").exists()


def test_cudnn_get_version_through_the_installed_library(real: Run) -> None:
    lib = real.root / "usr" / "lib"
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    out = subprocess.run([sys.executable, "-c", _PROBE, str(lib / "libcudnn.so.9")], env=env,
                         capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    print(f"\n[real-cudnn] cudnnGetVersion() = {out[0]}; mapped: {sorted(set(out[1:]))}")
    assert int(out[0]) == 90800
    # The library that answered is the installed one, reached through the soname link, and the
    # sub-library it opened (libcudnn_graph) is the installed one too.
    mapped = {Path(p) for p in out[1:]}
    assert lib.resolve() / f"libcudnn.so.{SHORT_VERSION}" in mapped
    assert all(p.parent == lib.resolve() for p in mapped), mapped
