"""Reproducible RPMs: two builds of the same specs, in different folders and at least a second
apart, give byte-identical RPMs. Real rpmbuild on generated specs (cuDNN and TensorRT from
archives in NVIDIA's layout, libb64 compiled from a stand-in of its zip) and on tiny specs."""

from __future__ import annotations

import hashlib
import platform
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import require_tool
from nvidia_fakes import cudnn_archive, pin_in_lock, tensorrt_archive
from source_fakes import libb64_zip
from test_build import _python_tag
from tinyspec import specs_tree

from specgen.cli import main

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
    assert invoke("generate", "-o", str(root / "specs"))[0] == 0
    assert pin_in_lock(root / "sources" / "sources.lock.json", fakes, "test") == 3
    assert invoke("generate", "-o", str(root / "specs"))[0] == 0
    return root


def build(specs: Path, workdir: Path, *only: str) -> dict[str, str]:
    """`specgen build` into workdir/repo; every RPM's file name and sha256."""
    repo = workdir / "repo"
    args = ["build", "--specs", str(specs), "--repo", str(repo), "--workdir", str(workdir),
            "--nodeps", "--no-space-check", "--arch", "x86_64"]  # fmt: skip
    for name in only:
        args += ["--only", name]
    code, out = invoke(*args)
    assert code == 0, out
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in repo.rglob("*.rpm")}


def build_twice(specs: Path, tmp_path: Path, *only: str) -> tuple[dict[str, str], dict[str, str]]:
    """Two builds in unrelated folders (different lengths, too), the clock a second apart."""
    first = build(specs, tmp_path / "a", *only)
    time.sleep(1.1)  # rpm's build time and file mtimes have one-second resolution
    second = build(specs, tmp_path / "elsewhere" / "second-build", *only)
    return first, second


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
