"""Reproducible RPMs: two builds of the same specs, in different folders and at least a second
apart, give byte-identical RPMs. Real rpmbuild on generated specs (cuDNN and TensorRT from
archives in NVIDIA's layout, libb64 compiled from a stand-in of its zip) and on tiny specs."""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import require_tool
from nvidia_fakes import cudnn_archive, generate_pinned, tensorrt_archive
from source_fakes import libb64_zip
from test_build import _python_tag
from tinyspec import specs_tree, tiny_spec
from twobuilds import build_twice

from specgen.build.rpmdiff import compare_folders, diff_rpms
from specgen.cli.main import main

GENERATED = ("cudnn", "libb64", "tensorrt")


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project root whose generated specs are pinned to the stand-in archives."""
    require_tool("rpmbuild", "createrepo_c", "gcc", "unzip")
    if platform.machine() != "x86_64":
        pytest.skip("the fake archives are built for x86_64")
    pytag = _python_tag()
    root = tmp_path_factory.mktemp("generated")
    downloads = root / "sources" / "downloads"
    downloads.mkdir(parents=True)
    fakes = [cudnn_archive(root / "t1", downloads), tensorrt_archive(root / "t2", downloads, pytag),
             libb64_zip(downloads)]  # fmt: skip
    generate_pinned(root, fakes)
    return root


def test_generated_specs_build_byte_identical_rpms(generated: Path, tmp_path: Path) -> None:
    first, second = build_twice(generated / "specs", tmp_path, *GENERATED)
    assert {"cudnn-9.8.0.87-1.azl3.x86_64.rpm", "libb64-1.2.1-1.azl3.x86_64.rpm",
            "python3-tensorrt-10.9.0.34-1.azl3.x86_64.rpm"} <= set(first)  # fmt: skip
    assert len(first) == 20  # cudnn 4, tensorrt 14, libb64 2
    assert first == second


def test_tiny_specs_build_byte_identical_rpms(tmp_path: Path) -> None:
    require_tool("rpmbuild", "createrepo_c")
    specs = specs_tree(tmp_path, {"aaa": ("true", []), "bbb": ("true", ["aaa"])})
    first, second = build_twice(specs, tmp_path)
    assert set(first) == {"aaa-1-1.noarch.rpm", "bbb-1-1.noarch.rpm"}
    assert first == second


def test_static_archives_are_the_same_bytes_where_strip_stamps_them(tmp_path: Path) -> None:
    """Azure Linux 3's strip writes the clock into the static archives it strips unless given -D.
    Debian's strip does that with -U: made to behave like Azure Linux's (a wrapper adding -U as
    rpm's %__strip), two builds a second apart still give the same archive, because specgen's
    build passes -D after it."""
    require_tool("rpmbuild", "createrepo_c", "gcc", "ar", "strip")
    stamping = tmp_path / "strip-stamping"
    stamping.write_text(f'#!/bin/sh\nexec {shutil.which("strip")} -U "$@"\n')
    stamping.chmod(0o755)
    archive = "%{buildroot}/usr/lib/libaaa.a"
    install = ("echo 'int aaa(void) { return 1; }' > aaa.c && gcc -g -c aaa.c && "
               f"mkdir -p %{{buildroot}}/usr/lib && ar qcU {archive} aaa.o")  # fmt: skip
    specs = specs_tree(tmp_path, {"aaa": ("true", [])}, texts={
        "aaa": tiny_spec("aaa", install=install, files=("/usr/lib/libaaa.a",))})  # fmt: skip
    first, second = build_twice(specs, tmp_path, extra=("--define", f"__strip {stamping}"))
    assert set(first) == {"aaa-1-1.noarch.rpm"}
    assert first == second
    rpm = next((tmp_path / "a" / "repo").rglob("aaa-1-1.noarch.rpm"))
    lib = tmp_path / "libaaa.a"
    lib.write_bytes(subprocess.run(
        f"rpm2cpio {rpm} | cpio -i --quiet --to-stdout ./usr/lib/libaaa.a",
        shell=True, capture_output=True, check=True).stdout)  # fmt: skip
    listing = subprocess.run(["ar", "tv", str(lib)], capture_output=True, text=True, check=True)
    # ar's listing of a member header with zero uid, gid and mtime (the epoch)
    assert re.fullmatch(r"rw-r--r-- 0/0 +\d+ Jan  1 00:00 1970 aaa\.o\n", listing.stdout)


def check_args(root: Path, *extra: str) -> list[str]:
    return ["build", "--specs", str(root / "specs"), "--repo", str(root / "repo"),
            "--workdir", str(root / "work"), "--nodeps", "--no-space-check", "--arch", "x86_64",
            "--check-reproducible", *extra]  # fmt: skip


def test_check_reproducible_passes_on_generated_specs(generated: Path, tmp_path: Path) -> None:
    args = check_args(tmp_path, "--only", "cudnn", "--only", "libb64", "-j", "2")
    args[args.index("--specs") + 1] = str(generated / "specs")  # its lock and downloads beside
    code, out = invoke(*args)
    assert code == 0, out
    assert "reproducibility" in out
    assert "│ identical │    4 of 4 │" in out and "│ identical │    2 of 2 │" in out
    assert not (tmp_path / "work" / "reproducible" / "cudnn").exists()  # cleaned when identical


def test_check_reproducible_names_what_differs_and_fails(tmp_path: Path) -> None:
    require_tool("rpmbuild", "createrepo_c")
    specs_tree(tmp_path, {"aaa": ("true", []), "bbb": ("true", []), "ccc": ("true", [])}, texts={
        # a hand-written spec without the SOURCE_DATE_EPOCH switches: the clock leaks
        "bbb": tiny_spec("bbb", reproducible=False),
        # a build that writes the time into a file
        "ccc": tiny_spec("ccc", install="date +%N >> %{buildroot}/usr/share/ccc/file"),
    })  # fmt: skip
    code, out = invoke(*check_args(tmp_path, "-j", "2"))
    assert code != 0
    assert "2 of 3 packages are not reproducible: bbb, ccc" in out
    reports = tmp_path / "work" / "reproducible"
    bbb = (reports / "bbb" / "report.txt").read_text()
    assert "header tag buildtime" in bbb and "file /usr/share/bbb/file: mtime" in bbb
    ccc = (reports / "ccc" / "report.txt").read_text()
    assert "file /usr/share/ccc/file: digest" in ccc and "buildtime" not in ccc
    assert "payload" in ccc
    assert not (reports / "aaa").exists()
    # the repository holds the first build's RPMs, with metadata
    assert {p.name for p in (tmp_path / "repo").rglob("*.rpm")} == {
        "aaa-1-1.noarch.rpm", "bbb-1-1.noarch.rpm", "ccc-1-1.noarch.rpm"}  # fmt: skip
    assert (tmp_path / "repo" / "repodata" / "repomd.xml").exists()


def test_an_unchanged_package_is_rebuilt_and_compared_with_the_repository(tmp_path: Path) -> None:
    require_tool("rpmbuild", "createrepo_c")
    specs_tree(tmp_path, {"aaa": ("true", [])})
    args = check_args(tmp_path)
    assert invoke(*args[:-1])[0] == 0  # a plain build first
    before = {p: p.read_bytes() for p in (tmp_path / "repo").rglob("*.rpm")}
    code, out = invoke(*args)
    assert code == 0, out
    assert "unchanged" in out and "1 of 1" in out
    assert {p: p.read_bytes() for p in (tmp_path / "repo").rglob("*.rpm")} == before


def test_compare_builds_names_an_rpm_only_one_build_made(tmp_path: Path) -> None:
    require_tool("rpmbuild")
    first, second = tmp_path / "first", tmp_path / "second"
    for top in (first, second):
        spec = top / "aaa.spec"
        spec.parent.mkdir()
        spec.write_text(tiny_spec("aaa"))
        subprocess.run(["rpmbuild", "-bb", "--define", f"_topdir {top}", str(spec)],
                       check=True, capture_output=True)  # fmt: skip
    extra = first / "RPMS" / "noarch" / "zzz-1-1.noarch.rpm"
    shutil.copyfile(next((first / "RPMS").rglob("aaa-*.rpm")), extra)
    comparison = compare_folders(first / "RPMS", second / "RPMS")
    assert comparison.identical == ("aaa-1-1.noarch.rpm",)
    assert [d.summary() for d in comparison.differences] == [
        "zzz-1-1.noarch.rpm: only in the first build"]  # fmt: skip
    assert not comparison.reproducible


def test_diffoscope_reports_where_installed(tmp_path: Path) -> None:
    require_tool("rpmbuild", "diffoscope")
    rpms = []
    for label in ("a", "b"):
        top = tmp_path / label
        spec = top / "aaa.spec"
        spec.parent.mkdir()
        install = f"echo {label} >> %{{buildroot}}/usr/share/aaa/file"
        spec.write_text(tiny_spec("aaa", install=install))
        subprocess.run(["rpmbuild", "-bb", "--define", f"_topdir {top}", str(spec)],
                       check=True, capture_output=True)  # fmt: skip
        rpms.append(next((top / "RPMS").rglob("*.rpm")))
    diff = diff_rpms(rpms[0], rpms[1], tmp_path / "diffoscope")
    assert diff is not None and diff.diffoscope is not None
    assert "aaa-1-1.noarch.rpm" in diff.diffoscope.read_text()
    assert str(diff.diffoscope) in diff.report()
