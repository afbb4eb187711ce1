"""`specgen build` end to end with real rpmbuild: cuDNN and TensorRT from archives in NVIDIA's
layout (small real libraries), into a local repository, installed into a scratch root."""

from __future__ import annotations

import ctypes
import dataclasses
import datetime
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import require_tool
from nvidia_fakes import cudnn_archive, generate_pinned, tensorrt_archive

from specgen.cli.main import main

PYTHON = "/usr/bin/python3"  # %{python3} of specgen's Azure Linux macro file


def _python_tag() -> str:
    if not Path(PYTHON).exists():
        pytest.skip(f"{PYTHON} is absent: the TensorRT spec installs its wheel with it")
    probe = subprocess.run([PYTHON, "-m", "pip", "--version"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"{PYTHON} has no pip (apt-get install python3-pip)")
    out = subprocess.run(
        [PYTHON, "-c", "import sys; print('%d%d' % sys.version_info[:2])"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip()


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@dataclasses.dataclass
class Env:
    root: Path
    specs: Path
    repo: Path
    work: Path
    downloads: Path

    def build(self, *extra: str) -> tuple[int, str]:
        return invoke(
            "build", "--specs", str(self.specs), "--repo", str(self.repo),
            "--workdir", str(self.work), "--nodeps", "--arch", "x86_64", *extra,
        )  # fmt: skip


@pytest.fixture(scope="module")
def nvidia(tmp_path_factory: pytest.TempPathFactory) -> Env:
    require_tool("rpmbuild", "createrepo_c", "gcc", "rpm")
    if platform.machine() != "x86_64":
        pytest.skip("the fake archives are built for x86_64")
    pytag = _python_tag()
    root = tmp_path_factory.mktemp("nvidia")
    downloads = root / "sources" / "downloads"
    downloads.mkdir(parents=True)
    fakes = [cudnn_archive(root / "t1", downloads), tensorrt_archive(root / "t2", downloads, pytag)]
    specs = generate_pinned(root, fakes)  # the fakes at NVIDIA's URLs
    env = Env(root, specs, root / "repo", root / "work", downloads)
    code, out = env.build("--only", "cudnn", "--only", "tensorrt", "-j", "2")
    assert code == 0, out
    return env


def _rpm(*args: str) -> str:
    return subprocess.run(["rpm", *args], capture_output=True, text=True, check=True).stdout


def test_build_fills_the_repository(nvidia: Env) -> None:
    names = {_rpm("-qp", "--qf", "%{NAME}", str(p)) for p in (nvidia.repo / "x86_64").glob("*.rpm")}
    assert {"cudnn", "cudnn-devel", "cudnn-headers", "cudnn-static", "tensorrt", "tensorrt-devel",
            "libnvinfer10", "libnvinfer-plugin10", "libnvinfer-vc-plugin10", "libnvonnxparsers10",
            "libnvinfer-lean10", "libnvinfer-dispatch10", "libnvinfer-headers-devel",
            "libnvinfer-devel", "libnvinfer-plugin-devel", "libnvonnxparsers-devel",
            "libnvinfer-bin", "python3-tensorrt"} == names  # fmt: skip
    repomd = (nvidia.repo / "repodata" / "repomd.xml").read_text()
    assert "primary" in repomd
    # NVIDIA's names are provided, the driver's libcuda is never required
    cudnn = next((nvidia.repo / "x86_64").glob("cudnn-9.8.0.87-1.azl3.x86_64.rpm"))
    assert "libcudnn9-cuda-12 = 9.8.0.87-1.azl3" in _rpm("-qp", "--provides", str(cudnn))
    requires = _rpm("-qp", "--requires", str(cudnn))
    assert "cuda-nvrtc-12-8" in requires and "libcublas-12-8" in requires
    assert "libcuda.so" not in requires


@pytest.fixture(scope="module")
def installed(nvidia: Env) -> Path:
    root = nvidia.root / "installroot"
    rpms = sorted(str(p) for p in (nvidia.repo / "x86_64").glob("*.rpm"))
    subprocess.run(["rpm", "--root", str(root), "--nodeps", "-i", *rpms], check=True,
                   capture_output=True)  # fmt: skip
    return root


def test_installed_files_links_and_library(installed: Path) -> None:
    lib = installed / "usr" / "lib"
    assert os.readlink(lib / "libcudnn.so") == "libcudnn.so.9"
    assert os.readlink(lib / "libcudnn.so.9") == "libcudnn.so.9.8.0"
    assert (installed / "usr/include/cudnn.h").is_file()
    assert ctypes.CDLL(str(lib / "libcudnn.so.9")).cudnnGetVersion() == 90800
    assert os.readlink(lib / "libnvinfer.so") == "libnvinfer.so.10"
    assert (lib / "libnvinfer_builder_resource.so.10.9.0").is_file()
    assert not list(lib.glob("libnvinfer_builder_resource_win*"))
    assert not (lib / "stubs").exists() and not (installed / "usr/lib64").exists()
    out = subprocess.run([str(installed / "usr/bin/trtexec")], capture_output=True, text=True)
    assert out.stdout.strip() == "&&&& trtexec"
    assert (lib / "python3.12/site-packages/tensorrt/__init__.py").is_file()


def test_second_run_builds_nothing(nvidia: Env) -> None:
    before = {p: p.stat().st_mtime_ns for p in nvidia.repo.rglob("*.rpm")}
    code, out = nvidia.build("--only", "cudnn", "--only", "tensorrt")
    assert code == 0, out
    assert "unchanged" in out and "built" not in out.replace("unchanged", "")
    assert {p: p.stat().st_mtime_ns for p in nvidia.repo.rglob("*.rpm")} == before


def test_sha256_mismatch_never_reaches_a_build(nvidia: Env, tmp_path: Path) -> None:
    work = tmp_path / "work"
    downloads = tmp_path / "downloads"
    shutil.copytree(nvidia.downloads, downloads)
    bad = next(downloads.glob("cudnn-*.tar.xz"))
    data = bytearray(bad.read_bytes())
    data[100] ^= 0xFF
    bad.write_bytes(bytes(data))
    code, out = invoke(
        "build", "--specs", str(nvidia.specs), "--repo", str(tmp_path / "repo"),
        "--workdir", str(work), "--downloads", str(downloads), "--nodeps", "--arch", "x86_64",
        "--only", "cudnn",
    )  # fmt: skip
    assert code == 2
    assert "does not match its pin" in out
    assert not (work / "rpmbuild" / "cudnn").exists()  # rpmbuild never ran
    assert not list((tmp_path / "repo").rglob("*.rpm"))


def _stub_nvidia_repo(folder: Path) -> Path:
    """A stand-in for NVIDIA's azl3 CUDA repository: empty packages with its names."""
    top = folder / "rpmbuild"
    spec = folder / "cuda-stubs.spec"
    spec.write_text(
        "Name: cuda-stubs\nVersion: 12.8.1\nRelease: 1\nSummary: s\nLicense: MIT\n"
        "BuildArch: noarch\n%description\ns\n"
        "%package -n cuda-nvrtc-12-8\nSummary: s\n%description -n cuda-nvrtc-12-8\ns\n"
        "%package -n libcublas-12-8\nSummary: s\n%description -n libcublas-12-8\ns\n"
        "%files -n cuda-nvrtc-12-8\n%files -n libcublas-12-8\n"
    )
    subprocess.run(["rpmbuild", "-bb", "--define", f"_topdir {top}", str(spec)], check=True,
                   capture_output=True)  # fmt: skip
    repo = folder / "repo"
    repo.mkdir()
    for rpm in top.glob("RPMS/*/*.rpm"):
        shutil.copy(rpm, repo)
    subprocess.run(["createrepo_c", "--quiet", str(repo)], check=True)
    return repo


def test_verify_passes_on_the_built_repository(nvidia: Env, tmp_path: Path) -> None:
    nvidia_repo = _stub_nvidia_repo(tmp_path)
    code, out = invoke(
        "verify", str(nvidia.repo), "--format", "json",
        "--azure-index", "snapshot", "--azure-index", f"nvidia={nvidia_repo}",
    )  # fmt: skip
    report = json.loads(out)
    errors = [f for f in report["findings"] if f["result"] == "error"]
    assert code == 0 and report["passed"], errors
    installable = {f["package"] for f in report["findings"]
                   if f["check"] == "install" and f["result"] == "ok"}  # fmt: skip
    assert {"cudnn", "cudnn-devel", "tensorrt", "python3-tensorrt"} <= installable


def _sbom(nvidia: Env, repo: Path, out: Path, *extra: str) -> dict:
    code, text = invoke("sbom", str(repo), "--specs", str(nvidia.specs), "-o", str(out), *extra)
    assert code == 0, text
    return json.loads(out.read_text())


def test_sbom_of_the_built_repository_validates_and_names_every_rpm_and_source(
    nvidia: Env, tmp_path: Path
) -> None:
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    from specgen.generate.lock import read_lock

    out = tmp_path / "sbom.spdx.json"
    doc = _sbom(nvidia, nvidia.repo, out)
    assert validate_full_spdx_document(parse_file(str(out))) == []  # spdx-tools reads it back
    assert doc["spdxVersion"] == "SPDX-2.3" and doc["name"] == "Triton 25.03 RPM repository"
    packages = {p["SPDXID"]: p for p in doc["packages"]}
    by_file = {p.get("packageFileName"): p for p in doc["packages"]}
    for rpm in nvidia.repo.rglob("*.rpm"):
        entry = by_file[rpm.relative_to(nvidia.repo).as_posix()]
        assert entry["checksums"] == [
            {"algorithm": "SHA256", "checksumValue": hashlib.sha256(rpm.read_bytes()).hexdigest()}]
        assert entry["versionInfo"].endswith("-1.azl3")
    lock = read_lock(nvidia.root / "sources" / "sources.lock.json")
    ours = [s for s in lock.sources if {"cudnn", "tensorrt"} & set(s.packages)]
    assert len(ours) == 4  # x86_64 and aarch64 archives of each
    for source in ours:
        entry = by_file[source.file]
        assert entry["downloadLocation"] == source.url
        assert entry["checksums"] == [{"algorithm": "SHA256", "checksumValue": source.sha256}]
    relations = {(r["spdxElementId"], r["relationshipType"], r["relatedSpdxElement"])
                 for r in doc["relationships"]}  # fmt: skip
    cudnn = "SPDXRef-RPM-cudnn-9.8.0.87-1.azl3.x86-64"
    srpm = "SPDXRef-SRPM-cudnn-9.8.0.87-1.azl3"
    assert ("SPDXRef-DOCUMENT", "DESCRIBES", cudnn) in relations
    assert (cudnn, "GENERATED_FROM", srpm) in relations
    assert ("SPDXRef-RPM-cudnn-devel-9.8.0.87-1.azl3.x86-64", "DEPENDS_ON", cudnn) in relations
    contained = {t for s, kind, t in relations if s == srpm and kind == "CONTAINS"}
    assert {packages[t]["name"] for t in contained} == {
        s.file for s in ours if "cudnn" in s.packages}  # fmt: skip
    assert packages[cudnn]["licenseDeclared"] == "LicenseRef-NVIDIA-cuDNN-SLA"
    assert "cuda-nvrtc-12-8" in packages[cudnn]["comment"]  # required from outside
    refs = {e["licenseId"] for e in doc["hasExtractedLicensingInfos"]}
    assert "LicenseRef-NVIDIA-cuDNN-SLA" in refs


def test_sbom_is_the_same_bytes_for_the_same_repository_anywhere(
    nvidia: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = tmp_path / "first.json"
    _sbom(nvidia, nvidia.repo, first)
    copy = tmp_path / "elsewhere" / "repo"
    shutil.copytree(nvidia.repo, copy)
    again = tmp_path / "again.json"
    env = {**os.environ, "PYTHONHASHSEED": "7"}
    subprocess.run([sys.executable, "-m", "specgen", "sbom", str(copy), "--specs",
                    str(nvidia.specs), "-o", str(again)], check=True, env=env)  # fmt: skip
    assert again.read_bytes() == first.read_bytes()
    # the newest changelog date (as rpm reads it from the RPMs), not the clock; SOURCE_DATE_EPOCH
    # wins
    rpms = [str(p) for p in nvidia.repo.rglob("*.rpm")]
    newest = max(int(t) for t in _rpm("-qp", "--qf", "%{CHANGELOGTIME}\n", *rpms).split())
    created = datetime.datetime.fromtimestamp(newest, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert json.loads(first.read_text())["creationInfo"]["created"] == created
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    dated = _sbom(nvidia, nvidia.repo, tmp_path / "dated.json")
    assert dated["creationInfo"]["created"] == "2023-11-14T22:13:20Z"
    assert dated["documentNamespace"] == json.loads(first.read_text())["documentNamespace"]
