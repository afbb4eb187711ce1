"""The build backends' command lines and the shipped mock configs (mock itself is not in
Debian: these check what specgen would run and what the configs say)."""

from __future__ import annotations

from pathlib import Path

import pytest

from specgen.build.rpmbuilder import Backend, BuildJob
from specgen.build.rpmmacros import MACRO_FILE, REPRODUCIBLE_FILE, macro_definitions
from specgen.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


def _job(tmp_path: Path) -> BuildJob:
    return BuildJob(
        name="cudnn", spec=tmp_path / "cudnn.spec", sources=tmp_path / "src",
        topdir=tmp_path / "top", log=tmp_path / "log",
        defines=(("triton_extra_cmake_args", "-DX=1"),), switches=("--without gpu",),
    )  # fmt: skip


def test_rpmbuild_command_loads_azure_macros_defines_and_switches(tmp_path: Path) -> None:
    job = _job(tmp_path)
    cmd = Backend(nodeps=True)._rpmbuild(job, "-bb")
    assert cmd[:4] == ["rpmbuild", "-bb", "--load", str(MACRO_FILE)]
    assert f"_topdir {job.topdir}" in cmd and f"_sourcedir {job.sources}" in cmd
    assert "triton_extra_cmake_args -DX=1" in cmd
    assert cmd[-4:] == ["--without", "gpu", "--nodeps", str(job.spec)]
    assert cmd[4:6] == ["--load", str(REPRODUCIBLE_FILE)]  # after the Azure Linux values
    assert cmd.count("--load") == 2
    # on Azure Linux only the reproducibility macros are loaded
    native = Backend(azure_macros=False)._rpmbuild(job, "-bb")
    assert native[2:4] == ["--load", str(REPRODUCIBLE_FILE)] and native.count("--load") == 1


def test_reproducibility_macros_fix_the_host_and_map_the_build_tree() -> None:
    defined = dict(macro_definitions(REPRODUCIBLE_FILE))
    assert defined["_buildhost"] == "reproducible"
    for flags in ("build_cflags", "build_cxxflags", "build_fflags"):
        assert defined[flags].startswith("%{optflags} ")
        assert defined[flags].endswith(" -ffile-prefix-map=%{_builddir}=/usr/src/debug")
    assert "optflags" not in defined  # rpm records %optflags in every header


def test_macro_definitions_refuse_a_multi_line_macro(tmp_path: Path) -> None:
    path = tmp_path / "macros.x"
    path.write_text("# comment\n%good 1\n%bad \\\n  more\n")
    with pytest.raises(InputError, match=r"macros.x.*line 3"):
        macro_definitions(path)


def test_mock_command_adds_the_local_repository(tmp_path: Path) -> None:
    cfg = ROOT / "mock-configs" / "azure-linux-3-x86_64-specgen.cfg"
    backend = Backend(kind="mock", mock_config=cfg, local_repo=tmp_path / "repo")
    cmd = backend._mock(_job(tmp_path), tmp_path / "x.src.rpm", tmp_path / "result")
    assert cmd[:3] == ["mock", "-r", str(cfg)]
    assert f"--addrepo=file://{(tmp_path / 'repo').resolve()}" in cmd
    # mock cannot --load a host file into its chroot: the same values come as --define
    assert cmd[6:8] == ["--define", "_buildhost reproducible"]
    pairs = [cmd[i : i + 2] for i in range(len(cmd))]
    assert ["--define", "triton_extra_cmake_args -DX=1"] in pairs
    assert cmd[-2:] == ["--rebuild", str(tmp_path / "x.src.rpm")]


@pytest.mark.parametrize(("arch", "nvidia"), [("x86_64", "x86_64"), ("aarch64", "sbsa")])
def test_mock_configs_include_the_stock_config_and_add_nvidia(arch: str, nvidia: str) -> None:
    path = ROOT / "mock-configs" / f"azure-linux-3-{arch}-specgen.cfg"
    included: list[str] = []
    config_opts: dict = {"macros": {}, "dnf.conf": "[main]\n"}
    exec(compile(path.read_text(), str(path), "exec"),  # our own committed file
         {"include": included.append, "config_opts": config_opts})  # fmt: skip
    assert included == [f"azure-linux-3-{arch}.cfg"]
    assert config_opts["rpmbuild_networking"] is False
    assert config_opts["macros"]["%azl"] == "3"
    assert f"/compute/cuda/repos/azl3/{nvidia}/" in config_opts["dnf.conf"]
    assert config_opts["dnf.conf"].startswith("[main]\n")
