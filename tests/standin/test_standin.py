"""The Debian stand-in build root's data and pieces (scripts/standin): it covers every
BuildRequires of the specs it builds, its CMake shims give CMake what Triton asks for, and the
hook value it passes through rpm survives the shell."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO, require_tool

from specgen.build.rpmmacros import MACRO_FILE
from specgen.cli.main import main

SPECS = REPO / "specs"


def _load_buildroot():
    spec = importlib.util.spec_from_file_location(
        "standin_buildroot", REPO / "scripts" / "standin" / "buildroot.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


buildroot = _load_buildroot()


def _rpmspec(*args: str) -> list[str]:
    out = subprocess.run(["rpmspec", "--load", str(MACRO_FILE), *args],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return [ln.strip() for ln in out.stdout.splitlines() if ln.strip()]


@pytest.mark.parametrize("profile_name", sorted(buildroot.load_data()["profiles"]))
def test_every_build_requires_of_a_profile_has_a_stand_in(profile_name: str,
                                                           tmp_path: Path) -> None:  # fmt: skip
    """A spec that gains a BuildRequires fails here until debian.toml says what stands in: a
    package the profile builds first, or a Debian package. A profile whose specs come from
    other generate options (gpu-redist: --cuda-from-redist) is checked against those specs."""
    require_tool("rpmspec")
    data = buildroot.load_data()
    profile = buildroot.profile(data, profile_name)
    switches = [part for s in profile.switches for part in s.split(" ", 1)]
    specs = SPECS
    if profile.generate:
        specs = tmp_path / "specs"
        result = CliRunner().invoke(main, ["generate", *profile.generate, "-o", str(specs)])
        assert result.exit_code == 0, result.output
    buildroot.check_specs(profile, specs)

    def spec(name: str) -> str:
        return str(specs / name / f"{name}.spec")

    built_here = {
        name
        for lib in profile.libraries
        for name in _rpmspec("-q", "--qf", "%{NAME}\n", *switches, spec(lib))
    }
    needed = {
        line.split()[0]
        for name in [*profile.libraries, *profile.server]
        for line in _rpmspec("-q", "--buildrequires", *switches, spec(name))
    }
    uncovered = sorted(needed - built_here - set(data["build_requires"]))
    assert not uncovered, f"scripts/standin/debian.toml has no stand-in for {uncovered}"
    assert {"libb64-devel", "prometheus-cpp-devel", "dlpack-devel", "libevhtp-devel"} <= needed


def test_the_hook_value_keeps_each_argument_whole_through_the_shell(tmp_path: Path) -> None:
    data = buildroot.load_data()
    cpu = buildroot.profile(data, "cpu")
    sysroot = tmp_path / "sys root"
    value = buildroot.hook_value(data, cpu, sysroot, ccache=True)
    args = shlex.split(value)
    assert args[0] == f"-DCMAKE_PREFIX_PATH={sysroot}/usr;{buildroot.SHIMS}"
    assert f"-Dlibevhtp_DIR={sysroot}/usr/lib/cmake/libevhtp" in args
    # the sysroot's headers are /usr/include's on Azure Linux: its folder stays out of objects
    for lang in ("C", "CXX"):
        assert f"-DCMAKE_{lang}_FLAGS_INIT=-ffile-prefix-map={sysroot}=" in args
    assert args[-2:] == [f"-DCMAKE_{lang}_COMPILER_LAUNCHER=ccache" for lang in ("C", "CXX")]
    assert "ccache" not in buildroot.hook_value(data, cpu, sysroot, ccache=False)
    with pytest.raises(buildroot.StandinError, match="cannot go into an rpm macro"):
        buildroot.hook_value(data, cpu, tmp_path / "100%", ccache=False)


def test_a_profile_adds_its_own_cmake_arguments_after_the_common_ones(tmp_path: Path) -> None:
    """Where a GPU profile puts its CUDA arguments (issue 11)."""
    data = buildroot.load_data()
    data["profiles"]["probe"] = {
        "switches": [], "libraries": [], "server": ["tritonserver"],
        "cmake_args": ["-DCUDAToolkit_ROOT={sysroot}/usr/local/cuda"],
    }  # fmt: skip
    args = shlex.split(
        buildroot.hook_value(data, buildroot.profile(data, "probe"), tmp_path, ccache=True)
    )
    common = len(data["cmake"]["args"])
    assert args[common] == f"-DCUDAToolkit_ROOT={tmp_path}/usr/local/cuda"
    assert args[common + 1 :] == data["cmake"]["ccache"]


def test_the_cmake_shims_give_what_triton_asks_for(tmp_path: Path) -> None:
    """find_package as Triton's core, server and common call it, against Debian's packages."""
    require_tool("cmake", "g++")
    if not (Path("/usr/include/google/protobuf/message.h").is_file()
            and Path("/usr/include/re2/re2.h").is_file()):  # fmt: skip
        pytest.skip("needs libprotobuf-dev and libre2-dev (scripts/run standin install)")
    (tmp_path / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.18)\n"
        "project(probe CXX)\n"
        "find_package(Protobuf CONFIG REQUIRED)\n"
        "find_package(re2 REQUIRED)\n"
        "protobuf_generate_cpp(PROTO_SRCS PROTO_HDRS probe.proto)\n"
        'message(STATUS "protobuf ${Protobuf_VERSION} $<TARGET_FILE:protobuf::protoc>")\n'
        "add_library(probe SHARED ${PROTO_SRCS})\n"
        "target_link_libraries(probe PUBLIC protobuf::libprotobuf re2::re2)\n"
    )
    (tmp_path / "probe.proto").write_text('syntax = "proto3";\nmessage Probe { int32 x = 1; }\n')
    configure = subprocess.run(
        ["cmake", "-S", str(tmp_path), "-B", str(tmp_path / "b"),
         f"-DCMAKE_PREFIX_PATH={buildroot.SHIMS}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert configure.returncode == 0, configure.stdout + configure.stderr
    assert "-- protobuf 3." in configure.stdout
    built = subprocess.run(["cmake", "--build", str(tmp_path / "b")],
                           capture_output=True, text=True, check=False)  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    link = (tmp_path / "b" / "CMakeFiles" / "probe.dir" / "link.txt").read_text()
    assert re.search(r"\S*/libprotobuf\.so\b", link) and re.search(r"\S*/libre2\.so\b", link), link


def test_ccache_counts_are_this_builds_own(tmp_path: Path) -> None:
    """Counted from the stats log ccache writes for the build (two compiles here), not from
    its machine-wide counters."""
    require_tool("ccache", "gcc")
    (tmp_path / "a.c").write_text("int f(void) { return 1; }\n")
    env = {**os.environ, "CCACHE_DIR": str(tmp_path / "cache"),
           "CCACHE_STATSLOG": str(tmp_path / "stats.log")}  # fmt: skip
    for _ in range(2):
        subprocess.run(["ccache", "gcc", "-c", "a.c", "-o", "a.o"], cwd=tmp_path, env=env,
                       check=True)  # fmt: skip
    assert buildroot.ccache_counts(tmp_path / "stats.log") == {
        "direct_cache_hit": 1, "preprocessed_cache_hit": 0, "cache_miss": 1,
    }  # fmt: skip
    assert buildroot.ccache_counts(tmp_path / "absent.log") == dict.fromkeys(
        buildroot.CCACHE_COUNTERS, 0
    )


def test_the_gpu_profile_points_cmake_at_the_nvidia_standin(tmp_path: Path) -> None:
    """The gpu profile (issue 11): CUDA, ONNX Runtime and TensorRT arguments after the common
    ones, {nvidia} filled with the folder scripts/run standin nvidia layout made."""
    data = buildroot.load_data()
    gpu = buildroot.profile(data, "gpu")
    nvidia = tmp_path / "nvidia"
    args = shlex.split(buildroot.hook_value(data, gpu, tmp_path / "sys", False, nvidia))
    assert f"-DCMAKE_CUDA_COMPILER={nvidia}/cuda/bin/nvcc" in args
    assert f"-DCUDA_TOOLKIT_ROOT_DIR={nvidia}/cuda" in args
    assert f"-DTRITON_ONNXRUNTIME_LIB_PATHS={tmp_path}/sys/usr/lib" in args
    assert f"-DCMAKE_LIBRARY_PATH={nvidia}/tensorrt-stubs/lib" in args
    assert args.index(f"-DCUDAToolkit_ROOT={nvidia}/cuda") >= len(data["cmake"]["args"])
    assert "--without dcgm" in gpu.switches and "backend_tensorrt" not in " ".join(gpu.switches)
    assert gpu.defines["triton_cuda_architectures"].split(";")[-1] == "90-real"
    with pytest.raises(buildroot.StandinError, match="cannot go into an rpm macro"):
        buildroot.hook_value(data, gpu, tmp_path, False, tmp_path / "it's")


def test_a_ccache_hit_never_hands_back_another_work_folders_path(tmp_path: Path) -> None:
    """The same source compiled with -g in two work folders, under the stand-in's ccache
    settings (even with CCACHE_NOHASHDIR in the caller's environment): with the build folder
    mapped away the second compile hits and the objects are the same; unmapped, the folder is in
    the object, so the second must miss and carry its own folder, not the first's."""
    require_tool("ccache", "gcc")
    caller = {**os.environ, "CCACHE_DIR": str(tmp_path / "cache"), "CCACHE_NOHASHDIR": "true"}
    objects: dict[str, list[bytes]] = {"mapped": [], "unmapped": []}
    for workdir in (tmp_path / "a", tmp_path / "elsewhere" / "b"):
        build = workdir / "rpmbuild" / "BUILD" / "src"
        build.mkdir(parents=True)
        (build / "a.c").write_text("int f(void) { return 1; }\n")
        env = buildroot.ccache_env(caller, workdir, tmp_path / "stats.log")
        for label, flags in (("mapped", [f"-ffile-prefix-map={build}=/usr/src/debug"]),
                             ("unmapped", [])):  # fmt: skip
            subprocess.run(["ccache", "gcc", "-g", *flags, "-c", str(build / "a.c"),
                            "-o", f"{label}.o"], cwd=build, env=env, check=True)  # fmt: skip
            objects[label].append((build / f"{label}.o").read_bytes())
    assert objects["mapped"][0] == objects["mapped"][1]
    assert str(tmp_path / "elsewhere").encode() in objects["unmapped"][1]
    assert buildroot.ccache_counts(tmp_path / "stats.log") == {
        "direct_cache_hit": 1, "preprocessed_cache_hit": 0, "cache_miss": 3,
    }  # fmt: skip


def test_the_gpu_redist_profile_takes_cuda_from_the_sysroot(tmp_path: Path) -> None:
    """gpu-redist (issue 11): CUDA from specgen's own CUDA RPMs unpacked into the sysroot, at
    cuda-nvcc's %{_libdir}/cuda there; never the stand-in's CUDA tree. Only TensorRT's link stubs
    still come from the NVIDIA stand-in."""
    data = buildroot.load_data()
    prof = buildroot.profile(data, "gpu-redist")
    sysroot, nvidia = tmp_path / "sys", tmp_path / "nvidia"
    args = shlex.split(buildroot.hook_value(data, prof, sysroot, False, nvidia))
    for arg in ("CUDAToolkit_ROOT", "CUDA_TOOLKIT_ROOT_DIR"):
        assert f"-D{arg}={sysroot}/usr/lib/cuda" in args
    assert f"-DCMAKE_CUDA_COMPILER={sysroot}/usr/lib/cuda/bin/nvcc" in args
    assert [a for a in args if str(nvidia) in a] == [
        f"-DTRITON_TENSORRT_INCLUDE_PATHS={nvidia}/tensorrt-stubs/include",
        f"-DCMAKE_LIBRARY_PATH={nvidia}/tensorrt-stubs/lib",
    ]
    assert {"cuda-nvcc", "cuda-cudart", "cuda-cupti"} <= set(prof.libraries)
    assert not set(prof.also_build) & set(prof.libraries)
    assert prof.switches == buildroot.profile(data, "gpu").switches


def test_a_specs_folder_without_the_profiles_specs_is_refused(tmp_path: Path) -> None:
    """The default specs/ have no cuda-nvcc: gpu-redist says how to generate the ones it builds."""
    prof = buildroot.profile(buildroot.load_data(), "gpu-redist")
    with pytest.raises(buildroot.StandinError, match=r"no spec of cuda-cccl, .*cuda-nvcc.*"
                       r"`specgen generate --cuda-from-redist`"):  # fmt: skip
        buildroot.check_specs(prof, SPECS)
    buildroot.check_specs(buildroot.profile(buildroot.load_data(), "gpu"), SPECS)
