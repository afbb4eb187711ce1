"""The tritonserver spec's %prep against the release's real sources (../shared/triton-sources):
every folder its %build hands to CMake, with every switch on (the GPU build), holds a
CMakeLists.txt. Cheap (rpmbuild -bp unpacks, nothing compiles) and it catches a path that only
the GPU build takes, which no CPU build would ever reach."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, require_tool

from specgen.build.rpmmacros import MACRO_FILE

SPEC = REPO / "specs" / "tritonserver" / "tritonserver.spec"


def _sources(shared_dir: Path, dest: Path) -> Path:
    archives = shared_dir / "triton-sources" / "r25.03"
    if not archives.is_dir():
        pytest.skip(f"{archives} not found: the release's source archives are absent")
    dest.mkdir()
    for path in [*archives.iterdir(), *SPEC.parent.iterdir()]:
        (dest / path.name).symlink_to(path)
    return dest


def test_every_cmake_source_folder_of_the_gpu_build_exists(
    shared_dir: Path, tmp_path: Path
) -> None:
    require_tool("rpmbuild", "rpmspec")
    sources = _sources(shared_dir, tmp_path / "SOURCES")
    macros = ["--load", str(MACRO_FILE), "--define", f"_topdir {tmp_path}",
              "--define", f"_sourcedir {sources}",
              "--define", f"_builddir {tmp_path / 'BUILD'}"]  # fmt: skip
    subprocess.run(["rpmbuild", "-bp", "--nodeps", *macros, str(SPEC)], check=True,
                   capture_output=True)  # fmt: skip
    parsed = subprocess.run(["rpmspec", "-P", *macros, str(SPEC)], check=True,
                            capture_output=True, text=True).stdout  # fmt: skip
    # (rpmspec -P leaves out the %build line itself: prep and build up to %install)
    build = parsed.split("\n%prep\n", 1)[1].split("\n%install\n", 1)[0]
    folders = re.findall(r"cmake -S (\S+) -B", build)
    folders += re.findall(r"^triton_project \S+ (\S+)", build, re.M)
    folders = [f for f in folders if f != '"$src"']
    tree = tmp_path / "BUILD" / "server-2.56.0"
    # core, server, the four backends, cnmem: the GPU build's projects
    assert len(folders) == 7, folders
    missing = [f for f in folders if not (tree / f / "CMakeLists.txt").is_file()]
    assert missing == [], f"no CMakeLists.txt in {missing} of {tree}"


@pytest.mark.parametrize("architectures", [None, "75-real;90-real"])
def test_the_cuda_architectures_are_upstreams_unless_the_build_names_them(
    shared_dir: Path, tmp_path: Path, architectures: str | None
) -> None:
    require_tool("rpmbuild")
    sources = _sources(shared_dir, tmp_path / "SOURCES")
    macros = ["--load", str(MACRO_FILE), "--define", f"_topdir {tmp_path}",
              "--define", f"_sourcedir {sources}",
              "--define", f"_builddir {tmp_path / 'BUILD'}"]  # fmt: skip
    if architectures:
        macros += ["--define", f"triton_cuda_architectures {architectures}"]
    subprocess.run(["rpmbuild", "-bp", "--nodeps", *macros, str(SPEC)], check=True,
                   capture_output=True)  # fmt: skip
    cmake = (tmp_path / "BUILD/server-2.56.0/triton/backend/CMakeLists.txt").read_text()
    found = re.findall(r'CUDA_ARCHITECTURES "([^"]*)"', cmake)
    upstream = "75-real;80-real;86-real;87-real;89-real;90-real;100-real;101-real;120-real"
    assert found == [architectures or upstream]
