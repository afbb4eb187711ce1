"""CUDA components' redist archives made from PyPI-style wheels (specgen/standin/redist.py), and
the `--cuda-from-redist` specs built from them: small wheels with real (gcc-built) libraries
under NVIDIA's sonames, laid out as NVIDIA's archives, built with rpmbuild, checked by verify."""

from __future__ import annotations

import json
import platform
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import require_tool
from nvccprofile import search_dirs
from nvidia_fakes import listing as _listing
from nvidia_fakes import make_wheel, pin_in_lock

from specgen.cli.main import main
from specgen.errors import SpecgenError
from specgen.standin.cudatree import NVCC_PROFILE
from specgen.standin.redist import Extra, library_layout, redist_archive


def test_library_names_follow_nvidias_archives() -> None:
    assert library_layout("libcublas.so.12", "12.8.4.1") == (
        "libcublas.so.12.8.4.1",
        [("libcublas.so.12", "libcublas.so.12.8.4.1"), ("libcublas.so", "libcublas.so.12")],
    )
    # a two-part soname version (NVRTC's builtins), and NVRTC's alternative build
    assert library_layout("libnvrtc-builtins.so.12.8", "12.8.93")[0] == (
        "libnvrtc-builtins.so.12.8.93"
    )
    assert library_layout("libnvrtc.alt.so.12", "12.8.93")[1][-1] == (
        "libnvrtc.alt.so",
        "libnvrtc.alt.so.12",
    )
    # a soname that is no prefix of the component's version keeps its name
    assert library_layout("libnvToolsExt.so.1", "12.8.90") == (
        "libnvToolsExt.so.1",
        [("libnvToolsExt.so", "libnvToolsExt.so.1")],
    )
    # an unversioned soname is a plain file, and so is what is not a library
    assert library_layout("libnvperf_host.so", "12.8.90") == ("libnvperf_host.so", [])
    assert library_layout("cmake", "12.8.90") == ("cmake", [])


def _shared(tmp: Path, soname: str, symbol: str) -> bytes:
    """A real shared library with this soname."""
    src, out = tmp / f"{symbol}.c", tmp / f"{symbol}.so"
    src.write_text(f"int {symbol}(void) {{ return 12; }}\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", f"-Wl,-soname,{soname}", "-o", str(out),
                    str(src)], check=True)  # fmt: skip
    return out.read_bytes()


def _cupti_wheel(tmp_path: Path) -> Path:
    work = tmp_path / "libs"
    work.mkdir(exist_ok=True)
    return make_wheel(
        tmp_path / "nvidia_cuda_cupti_cu12-12.8.90-py3-none-manylinux_2_17_x86_64.whl",
        {
            "nvidia/__init__.py": b"",
            "nvidia/cuda_cupti/lib/__init__.py": b"",
            "nvidia/cuda_cupti/lib/libcupti.so.12": _shared(work, "libcupti.so.12", "cupti"),
            "nvidia/cuda_cupti/lib/libnvperf_host.so": _shared(
                work, "libnvperf_host.so", "nvperf_host"
            ),
            "nvidia/cuda_cupti/lib/libnvperf_target.so": _shared(
                work, "libnvperf_target.so", "nvperf_target"
            ),
            "nvidia/cuda_cupti/lib/libpcsamplingutil.so": _shared(
                work, "libpcsamplingutil.so", "pcsampling"
            ),
            "nvidia/cuda_cupti/lib/libcheckpoint.so": _shared(
                work, "libcheckpoint.so", "checkpoint"
            ),
            "nvidia/cuda_cupti/include/cupti.h": b"/* CUPTI */\n",
            "nvidia/cuda_cupti/.metadata/.sizes.txt": b"the wheel build's notes\n",
            "nvidia_cuda_cupti_cu12-12.8.90.dist-info/License.txt": b"CUDA EULA (fixture)\n",
        },
    )


def test_a_wheel_becomes_nvidias_redist_archive(tmp_path: Path) -> None:
    require_tool("gcc", "tar", "xz")
    wheel = _cupti_wheel(tmp_path)
    name = "cuda_cupti-linux-x86_64-12.8.90-archive.tar.xz"
    extra = tmp_path / "extra.a"
    extra.write_bytes(b"!<arch>\n")
    first = redist_archive(wheel, tmp_path / "a", name, "12.8.90",
                           (Extra("lib/libcupti_static.a", extra),))  # fmt: skip
    second = redist_archive(wheel, tmp_path / "b", name, "12.8.90",
                            (Extra("lib/libcupti_static.a", extra),))  # fmt: skip
    assert first.archive.read_bytes() == second.archive.read_bytes()
    subprocess.run(["xz", "-t", str(first.archive)], check=True)
    top = "cuda_cupti-linux-x86_64-12.8.90-archive"
    listing = _listing(first.archive)
    assert {
        f"-rwxr-xr-x root/root {top}/lib/libcupti.so.12.8.90",
        f"lrwxrwxrwx root/root {top}/lib/libcupti.so.12 -> libcupti.so.12.8.90",
        f"lrwxrwxrwx root/root {top}/lib/libcupti.so -> libcupti.so.12",
        f"-rwxr-xr-x root/root {top}/lib/libnvperf_host.so",
        f"-rw-r--r-- root/root {top}/include/cupti.h",
        f"-rw-r--r-- root/root {top}/LICENSE",
        f"-rw-r--r-- root/root {top}/lib/libcupti_static.a",
    } <= set(listing), listing
    assert not any("__init__" in line or ".metadata" in line for line in listing)
    assert first.extras == ("lib/libcupti_static.a",)
    assert "lib/libcupti.so.12.8.90" in first.from_wheel
    with pytest.raises(SpecgenError, match=r"already has lib/libcupti.so.12.8.90"):
        redist_archive(wheel, tmp_path / "c", name, "12.8.90",
                       (Extra("lib/libcupti.so.12.8.90", extra),))  # fmt: skip
    assert not (tmp_path / "c").exists()  # refused before anything is written
    with pytest.raises(SpecgenError, match=r"not a CUDA redist archive name"):
        redist_archive(wheel, tmp_path / "d", "cupti.tgz", "12.8.90")
    empty = make_wheel(tmp_path / "nvidia_x-1.0-py3-none-any.whl", {
        "nvidia/x/__init__.py": b"", "nvidia_x-1.0.dist-info/License.txt": b"l\n",
    })  # fmt: skip
    with pytest.raises(SpecgenError, match=r"nothing under nvidia/x/"):
        redist_archive(empty, tmp_path / "e", name, "12.8.90")


def _rpm_files(rpm: Path) -> list[str]:
    out = subprocess.run(["rpm", "-qlp", str(rpm)], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_the_redist_specs_build_from_the_standins_archives(tmp_path: Path) -> None:
    """cuda-cupti (versioned and unversioned libraries), cuda-cudart (its static runtime from an
    extra file) and cuda-nvcc (the compiler from extra files) build into RPMs that verify
    passes: the package data's fixes for the real archives, checked without GBs."""
    require_tool("rpmbuild", "createrepo_c", "rpm", "gcc", "xz")
    if platform.machine() != "x86_64":
        pytest.skip("the archives are the x86_64 ones")
    downloads = tmp_path / "sources" / "downloads"
    libs = tmp_path / "libs"
    libs.mkdir()
    static = tmp_path / "libcudadevrt.a"
    subprocess.run(["ar", "rcs", str(static)], check=True)
    cudart = make_wheel(tmp_path / "nvidia_cuda_runtime_cu12-12.8.90-py3-none-any.whl", {
        "nvidia/cuda_runtime/lib/libcudart.so.12": _shared(libs, "libcudart.so.12", "cudart"),
        "nvidia/cuda_runtime/include/cuda_runtime.h": b"/* runtime */\n",
        "nvidia_cuda_runtime_cu12-12.8.90.dist-info/License.txt": b"CUDA EULA (fixture)\n",
    })  # fmt: skip
    nvcc = make_wheel(tmp_path / "nvidia_cuda_nvcc_cu12-12.8.93-py3-none-any.whl", {
        "nvidia/cuda_nvcc/bin/ptxas": b"#!/bin/sh\necho ptxas\n",
        "nvidia/cuda_nvcc/nvvm/libdevice/libdevice.10.bc": b"BC",
        "nvidia/cuda_nvcc/include/crt/host_config.h": b"/* crt */\n",
        "nvidia_cuda_nvcc_cu12-12.8.93.dist-info/License.txt": b"CUDA EULA (fixture)\n",
    })  # fmt: skip
    driver = tmp_path / "nvcc"
    driver.write_text("#!/bin/sh\necho nvcc stand-in\n")
    profile = tmp_path / "nvcc.profile"  # the stand-in's, in the form of NVIDIA's archive
    profile.write_text(NVCC_PROFILE.lstrip("\n"))
    made = [
        redist_archive(_cupti_wheel(tmp_path), downloads,
                       "cuda_cupti-linux-x86_64-12.8.90-archive.tar.xz", "12.8.90"),
        redist_archive(cudart, downloads, "cuda_cudart-linux-x86_64-12.8.90-archive.tar.xz",
                       "12.8.90", (Extra("lib/libcudadevrt.a", static),
                                   Extra("lib/libcudart_static.a", static))),
        redist_archive(nvcc, downloads, "cuda_nvcc-linux-x86_64-12.8.93-archive.tar.xz",
                       "12.8.93", (Extra("bin/nvcc", driver, 0o755),
                                   Extra("bin/nvcc.profile", profile))),
    ]  # fmt: skip
    specs = tmp_path / "specs"
    generate = ["generate", "--cuda-from-redist", "-o", str(specs)]
    assert CliRunner().invoke(main, generate).exit_code == 0
    lock = tmp_path / "sources" / "sources.lock.json"
    assert pin_in_lock(lock, [m.archive for m in made], "test: stand-in archives") == 3
    result = CliRunner().invoke(main, generate)  # the lock's pins reach the specs
    assert result.exit_code == 0, result.output
    repo = tmp_path / "repo"
    build = CliRunner().invoke(main, [
        "build", "--specs", str(specs), "--repo", str(repo), "--workdir", str(tmp_path / "work"),
        "--nodeps", "--arch", "x86_64",
        "--only", "cuda-cupti", "--only", "cuda-cudart", "--only", "cuda-nvcc",
    ])  # fmt: skip
    assert build.exit_code == 0, build.output

    rpms = {p.name.rsplit("-", 2)[0]: p for p in (repo / "x86_64").glob("*.rpm")}
    assert set(rpms) == {"cuda-cupti", "cuda-cupti-devel", "cuda-cudart", "cuda-cudart-devel",
                         "cuda-cudart-static", "cuda-nvcc"}  # fmt: skip
    cupti = _rpm_files(rpms["cuda-cupti"])
    for lib in ("libcupti.so.12", "libcupti.so.12.8.90", "libnvperf_host.so",
                "libnvperf_target.so", "libpcsamplingutil.so", "libcheckpoint.so"):  # fmt: skip
        assert f"/usr/lib/{lib}" in cupti
    assert "/usr/lib/libcupti.so" not in cupti
    assert "/usr/lib/libcupti.so" in _rpm_files(rpms["cuda-cupti-devel"])
    static_files = [f for f in _rpm_files(rpms["cuda-cudart-static"]) if "/licenses/" not in f]
    assert static_files == ["/usr/lib/libcudadevrt.a", "/usr/lib/libcudart_static.a"]
    nvcc_files = _rpm_files(rpms["cuda-nvcc"])
    assert {"/usr/bin/nvcc", "/usr/lib/cuda/bin/nvcc", "/usr/lib/cuda/bin/ptxas",
            "/usr/lib/cuda/include", "/usr/lib/cuda/lib64", "/usr/lib/cuda/bin/nvcc.profile",
            "/usr/lib/cuda/targets/x86_64-linux/include", "/usr/lib/cuda/targets/x86_64-linux/lib",
            "/usr/include/crt/host_config.h"} <= set(nvcc_files)  # fmt: skip
    root = tmp_path / "root"
    subprocess.run(["rpm", "--root", str(root), "--nodeps", "-i", str(rpms["cuda-nvcc"])],
                   check=True, capture_output=True)  # fmt: skip
    # a script, not a link: nvcc looks for nvcc.profile beside the path it was started by
    wrapper = root / "usr/bin/nvcc"
    assert not wrapper.is_symlink()
    assert wrapper.read_text() == '#!/bin/sh\nexec /usr/lib/cuda/bin/nvcc "$@"\n'
    assert (root / "usr/lib/cuda/include").readlink() == Path("../../include")
    # NVIDIA's nvcc.profile looks in TOP/$(_TARGET_DIR_)/{include,lib}: the spec's targets links
    # take nvcc from there to the system folders, inside the root as on a system (relative links)
    installed = root / "usr/lib/cuda/bin/nvcc.profile"
    text = installed.read_text()
    assert 'INCLUDES        +=  "-I$(TOP)/$(_TARGET_DIR_)/include" $(_SPACE_)' in text
    assert '"-L$(TOP)/$(_TARGET_DIR_)/lib$(_TARGET_SIZE_)"' in text
    dirs = search_dirs(installed)
    assert dirs["-I"] == [f"{root}/usr/lib/cuda/bin/../targets/x86_64-linux/include"]
    assert [Path(d).resolve() for d in dirs["-I"]] == [root / "usr/include"]
    assert Path(dirs["-L"][-1]).resolve() == root / "usr/lib"
    targets = root / "usr/lib/cuda/targets/x86_64-linux"
    assert (targets / "include").readlink() == Path("../../../../include")
    assert (targets / "lib").readlink() == Path("../../..")
    requires = subprocess.run(["rpm", "-qp", "--requires", str(rpms["cuda-nvcc"])],
                              capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "cuda-cudart-static(x86-64)" in requires and "cuda-cudart-devel(x86-64)" in requires

    verify = CliRunner().invoke(main, ["verify", "--format", "json", str(repo)])
    findings = json.loads(verify.output)["findings"]
    assert [f for f in findings if f["result"] != "ok"] == [], verify.output
    assert verify.exit_code == 0
