"""`specgen doctor`: pure checks on described hosts, and the command end to end with fake
nvidia-smi, nvcc and rpm tools first on PATH, a fake disk, and no network."""

from __future__ import annotations

import json
import platform
import stat
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner, Result

from specgen.cli.main import main
from specgen.generate.lock import LockedSource, SourceLock, write_lock
from specgen.host import facts as hostfacts
from specgen.host.doctor import (
    ERROR,
    OK,
    SKIPPED,
    WARNING,
    Disk,
    Finding,
    Host,
    Probe,
    Reach,
    diagnose,
    exit_code,
    parse_gpus,
)
from specgen.host.needs import GB, Needs, load_drivers, load_estimates, plan_needs

DRIVERS = load_drivers()
EST = load_estimates()
AZL3 = 'NAME="Microsoft Azure Linux"\nID=azurelinux\nVERSION_ID="3.0"\n'
AZL3 += 'PRETTY_NAME="Microsoft Azure Linux 3.0"\n'
DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
ROCKY = 'PRETTY_NAME="Rocky Linux 9.4"\nID="rocky"\nID_LIKE="rhel centos fedora"\n'
H100 = "NVIDIA H100 80GB HBM3, {driver}, 81559 MiB\n"
NVCC = "nvcc: NVIDIA (R) Cuda compiler driver\nCuda compilation tools, release {v}, V{v}.93\n"
HOSTS = ["developer.download.nvidia.com", "github.com"]
NEEDS = Needs(sources=10 * GB, build=60 * GB, basis="test")
TOOLS = {t: f"/usr/bin/{t}" for t in ("rpmbuild", "rpmspec", "createrepo_c", "mock")}


def good_host(**changes: object) -> Host:
    """An Azure Linux 3 GPU host with room for everything."""
    host = Host(
        os_release=AZL3,
        machine="x86_64",
        disks={"build": Disk("/b", 500 * GB, "1"), "sources": Disk("/s", 500 * GB, "2")},
        memory=128 * GB,
        cores=16,
        nvidia_smi=Probe(0, H100.format(driver="570.124.06") * 2),
        nvcc=Probe(0, NVCC.format(v="12.8")),
        tools=dict(TOOLS),
        reach={h: Reach(True, "HTTP 200") for h in HOSTS},
    )
    return replace(host, **changes)  # type: ignore[arg-type]


def check(host: Host, name: str, cuda: str = "12.8.1", needs: Needs = NEEDS) -> Finding:
    found = {f.check: f for f in diagnose(host, cuda, needs, EST, DRIVERS, HOSTS)}
    return found[name]


# --- pure checks -------------------------------------------------------------------------------


def test_a_good_host_passes_every_check() -> None:
    findings = diagnose(good_host(), "12.8.1", NEEDS, EST, DRIVERS, HOSTS)
    assert [f.status for f in findings] == [OK] * len(findings)
    assert [f.check for f in findings][:4] == ["os", "arch", "cpu", "memory"]
    assert exit_code(findings) == 0
    assert check(good_host(), "gpu").detail == "2x NVIDIA H100 80GB HBM3 (81559 MiB)"


@pytest.mark.parametrize(
    ("os_release", "status", "words"),
    [
        (AZL3, OK, "target"),
        (DEBIAN, WARNING, "macros.azl3"),
        (ROCKY, WARNING, "macros.azl3"),
        ('ID=alpine\nPRETTY_NAME="Alpine Linux v3.20"\n', WARNING, "not a distribution"),
        (None, WARNING, "no /etc/os-release"),
    ],
)
def test_os(os_release: str | None, status: str, words: str) -> None:
    found = check(good_host(os_release=os_release), "os")
    assert (found.status, words in found.detail) == (status, True)


@pytest.mark.parametrize(("machine", "arch"), [("x86_64", "x86_64"), ("arm64", "aarch64")])
def test_known_arches(machine: str, arch: str) -> None:
    assert check(good_host(machine=machine), "arch") == Finding("arch", OK, arch)


def test_unknown_arch_blocks_the_build() -> None:
    host = good_host(machine="ppc64le")
    found = check(host, "arch")
    assert found.status == ERROR and "ppc64le" in found.detail and "aarch64" in found.fix
    assert exit_code(diagnose(host, "12.8.1", NEEDS, EST, DRIVERS, HOSTS)) == 1


def test_driver_minimum_rows() -> None:
    assert DRIVERS.minimum_for("12.8.1").driver == "570.124.06"  # type: ignore[union-attr]
    assert DRIVERS.minimum_for("12.8.0").driver == "570.26"  # type: ignore[union-attr]
    assert DRIVERS.minimum_for("12.5.1").driver == "555.42.02"  # type: ignore[union-attr]
    assert DRIVERS.minimum_for("12.7.0") is None
    assert DRIVERS.floors["12"] == "525.60.13"


@pytest.mark.parametrize(
    ("driver", "cuda", "status", "words"),
    [
        ("570.124.06", "12.8.1", OK, "CUDA 12.8 Update 1"),
        ("580.65.06", "12.8.1", OK, ">= 570.124.06"),
        ("570.86.10", "12.8.1", WARNING, "minor version compatibility"),
        ("570.86.10", "12.8.0", OK, "CUDA 12.8 GA"),
        ("525.60.13", "12.8.1", WARNING, "PTX"),
        ("520.61.05", "12.8.1", ERROR, "below 525.60.13"),
        ("575.51.03", "13.0.0", ERROR, "older than 580.65.06"),
        ("570.124.06", "12.7.0", WARNING, "no minimum known"),
    ],
)
def test_driver(driver: str, cuda: str, status: str, words: str) -> None:
    host = good_host(nvidia_smi=Probe(0, H100.format(driver=driver)))
    found = check(host, "driver", cuda=cuda)
    assert found.status == status, found
    assert words in found.detail
    if status != OK:
        assert found.fix


def test_the_oldest_driver_of_several_gpus_counts() -> None:
    smi = H100.format(driver="570.124.06") + "NVIDIA A100-SXM4-40GB, 520.61.05, 40960 MiB\n"
    assert check(good_host(nvidia_smi=Probe(0, smi)), "driver").status == ERROR


@pytest.mark.parametrize(
    ("probe", "words"),
    [
        (None, "no nvidia-smi on PATH"),
        (Probe(9, "NVIDIA-SMI has failed because it couldn't communicate"), "failed"),
        (Probe(0, "No devices were found\n"), "lists no GPU"),
    ],
)
def test_no_gpu_is_a_warning_and_skips_the_driver(probe: Probe | None, words: str) -> None:
    host = good_host(nvidia_smi=probe)
    gpu = check(host, "gpu")
    assert gpu.status == WARNING and words in gpu.detail
    assert "--without gpu" in gpu.detail and "validation cannot run" in gpu.detail
    assert check(host, "driver").status == SKIPPED
    assert exit_code(diagnose(host, "12.8.1", NEEDS, EST, DRIVERS, HOSTS)) == 0


def test_parse_gpus_keeps_commas_in_names_and_drops_noise() -> None:
    out = "Tesla T4, rev 2, 535.54.03, 15360 MiB\nWARNING: something\n"
    assert [(g.name, g.driver) for g in parse_gpus(out)] == [("Tesla T4, rev 2", "535.54.03")]


@pytest.mark.parametrize(
    ("nvcc", "status", "words"),
    [
        (None, WARNING, "cuda-toolkit-12-8"),
        (Probe(0, NVCC.format(v="13.0")), WARNING, "another major"),
        (Probe(0, NVCC.format(v="12.6")), OK, "nvcc 12.6"),
        (Probe(0, "garbage"), WARNING, "no release"),
    ],
)
def test_cuda_toolkit(nvcc: Probe | None, status: str, words: str) -> None:
    found = check(good_host(nvcc=nvcc), "cuda-toolkit")
    assert (found.status, words in found.detail) == (status, True)


@pytest.mark.parametrize(
    ("os_release", "tool", "status", "fix"),
    [
        (AZL3, "rpmbuild", ERROR, "tdnf install rpm-build"),
        (DEBIAN, "rpmbuild", ERROR, "apt-get install rpm"),
        (ROCKY, "rpmspec", ERROR, "dnf install rpm-build"),
        (DEBIAN, "createrepo_c", ERROR, "apt-get install createrepo-c"),
        (AZL3, "mock", WARNING, "tdnf install mock"),
        (DEBIAN, "mock", WARNING, "not packaged for Debian"),
    ],
)
def test_missing_tools(os_release: str, tool: str, status: str, fix: str) -> None:
    host = good_host(os_release=os_release, tools={**TOOLS, tool: None})
    found = check(host, f"tool:{tool}")
    assert found.status == status and fix in found.fix
    assert exit_code(diagnose(host, "12.8.1", NEEDS, EST, DRIVERS, HOSTS)) == (status == ERROR)


def test_unknown_os_names_every_package_manager() -> None:
    found = check(good_host(os_release="ID=gentoo\n", tools={}), "tool:createrepo_c")
    assert found.fix == (
        "tdnf install createrepo_c; dnf install createrepo_c; apt-get install createrepo-c"
    )


def test_cpu_and_memory_warnings_suggest_fewer_jobs() -> None:
    mem = check(good_host(cores=16, memory=16 * GB), "memory")
    assert mem.status == WARNING and "_smp_ncpus_max 8" in mem.fix
    assert check(good_host(cores=2, memory=64 * GB), "cpu").status == WARNING
    assert check(good_host(cores=None, memory=None), "memory").status == WARNING


@pytest.mark.parametrize(
    ("free_gb", "status"), [(59, ERROR), (61, WARNING), (71, WARNING), (73, OK)]
)
def test_disk_on_separate_filesystems(free_gb: int, status: str) -> None:
    host = good_host(disks={"build": Disk("/b", free_gb * GB, "1"), "sources": Disk("/s", GB, "2")})
    assert check(host, "disk:build").status == status
    assert check(host, "disk:sources").status == ERROR  # 1 GB for 10 GB of downloads
    assert "free 9.0 GB" in check(host, "disk:sources").fix


def test_disk_shared_by_both_folders_needs_the_sum() -> None:
    one = {"build": Disk("/b", 65 * GB, "7"), "sources": Disk("/b/s", 65 * GB, "7")}
    host = good_host(disks=one)  # 60 GB to build alone would fit; 70 GB with the downloads not
    build, sources = check(host, "disk:build"), check(host, "disk:sources")
    assert build.status == ERROR and "70.0 GB" in build.detail and "free 5.0 GB" in build.fix
    assert sources.status == ERROR and "checked with disk:build" in sources.detail
    assert check(good_host(disks={}), "disk:build").status == WARNING


def test_reachability() -> None:
    host = good_host(reach={"github.com": Reach(False, "ConnectionError (NameResolutionError)")})
    assert check(host, "reach:github.com").status == WARNING
    assert "not tried" in check(host, "reach:developer.download.nvidia.com").detail
    offline = good_host(reach=None)
    assert check(offline, "reach:github.com") == Finding("reach:github.com", SKIPPED, "--offline")


def _src(file: str, pkg: str, size: int | None, arch: str | None = None) -> LockedSource:
    sha = None if size is None else "0" * 64
    return LockedSource(file, f"https://example.org/{file}", sha, size, packages=(pkg,), arch=arch)


SMALL_LOCK = SourceLock(
    "25.03",
    (
        _src("cudnn-x86.tar.xz", "cudnn", GB, "x86_64"),
        _src("cudnn-sbsa.tar.xz", "cudnn", 2 * GB, "aarch64"),
        _src("core.tar.gz", "tritonserver", None),
        _src("server.tar.gz", "tritonserver", None),
        _src("b64.zip", "libb64", None),
    ),
)


def test_plan_needs_from_the_lock() -> None:
    needs = plan_needs(SMALL_LOCK, EST, "x86_64", {})
    # sources: cudnn 1 GB + tritonserver's 0.5 GB estimate in two halves + libb64 0.01 GB
    assert needs.sources == GB + GB // 2 + GB // 100
    # build: toolchain 8 GB + cudnn 3x its 1 GB + tritonserver 30 GB + libb64 0.5 GB
    assert needs.build == 8 * GB + 3 * GB + 30 * GB + GB // 2
    assert needs.basis == "3 packages; 3 of 4 x86_64 source sizes estimated"
    arm = plan_needs(SMALL_LOCK, EST, "aarch64", {"cudnn-sbsa.tar.xz": 2 * GB})
    assert arm.sources == GB // 2 + GB // 100  # the aarch64 archive is already downloaded
    assert arm.build == needs.build + 3 * GB  # 3x a 2 GB archive instead of a 1 GB one


def test_plan_needs_without_a_lock_estimates_every_package() -> None:
    needs = plan_needs(None, EST, "x86_64", {}, "no source lock at x")
    assert needs.sources == sum(e.source for e in EST.packages.values())
    assert needs.basis.endswith("no source lock at x: all sizes estimated")
    assert needs.build > 8 * GB + 30 * GB + 3 * EST.packages["tensorrt"].source


# --- hostfacts -----------------------------------------------------------------------------------


def test_fake_disk_covers_folders_below_it(tmp_path: Path) -> None:
    env = {hostfacts.FAKE_DISK_ENV: f"{tmp_path / 'a'}=123,{tmp_path}/b=7"}
    assert hostfacts.disk(tmp_path / "a" / "not-yet", env) == Disk(
        str(tmp_path / "a" / "not-yet"), 123, f"fake:{tmp_path / 'a'}"
    )
    real = hostfacts.disk(tmp_path / "c" / "d", {})
    assert real is not None and real.free > 0 and real.device is not None


def test_downloaded_counts_partial_files(tmp_path: Path) -> None:
    (tmp_path / "a.tar.gz").write_bytes(b"x" * 10)
    (tmp_path / "b.zip.part").write_bytes(b"x" * 4)
    assert hostfacts.downloaded(tmp_path) == {"a.tar.gz": 10, "b.zip": 4}
    assert hostfacts.downloaded(tmp_path / "none") == {}


def test_reach_one_reports_the_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(url: str) -> int:
        raise requests.ConnectionError(OSError("refused"))

    monkeypatch.setattr(hostfacts, "_head", refuse)
    assert hostfacts.reach_one("github.com") == Reach(False, "ConnectionError (OSError)")
    monkeypatch.setattr(hostfacts, "_head", lambda url: 403)
    assert hostfacts.reach(["a", "b"]) == {
        "a": Reach(True, "HTTP 403"),
        "b": Reach(True, "HTTP 403"),
    }


# --- the command, end to end ---------------------------------------------------------------------


@dataclass
class FakeHost:
    """A PATH of fake tools, an os-release file and a lock under tmp_path; `invoke` runs doctor."""

    root: Path
    bin: Path
    monkeypatch: pytest.MonkeyPatch

    def tool(self, name: str, body: str = "exit 0") -> None:
        path = self.bin / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)

    def driver(self, version: str) -> None:
        query = '[ "$1" = --query-gpu=name,driver_version,memory.total ] || exit 9'
        self.tool("nvidia-smi", f"{query}\nprintf '%s\\n' '{H100.format(driver=version).strip()}'")

    def invoke(self, *args: str) -> Result:
        return CliRunner().invoke(
            main,
            [
                "doctor",
                "--os-release", str(self.root / "os-release"),
                "--lock", str(self.root / "sources.lock.json"),
                "--build-dir", str(self.root / "build"),
                "--sources-dir", str(self.root / "downloads"),
                *args,
            ],
        )  # fmt: skip

    def json(self, *args: str) -> tuple[int, dict[str, Finding]]:
        result = self.invoke("--format", "json", *args)
        body = json.loads(result.output)
        return result.exit_code, {f["check"]: Finding(**f) for f in body["findings"]}


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeHost:
    """Every check passes: Azure Linux 3 on x86_64, 16 cores, 64 GB, 500 GB free, an H100 on
    driver 570.124.06, nvcc 12.8, the rpm tools and mock; the network answers HTTP 200."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    host = FakeHost(tmp_path, bin_dir, monkeypatch)
    for tool in TOOLS:
        host.tool(tool)
    host.driver("570.124.06")
    nvcc = NVCC.format(v="12.8").replace("\n", "\\n")
    host.tool("nvcc", f'[ "$1" = --version ] || exit 9\nprintf "{nvcc}"')
    (tmp_path / "os-release").write_text(AZL3)
    write_lock(tmp_path / "sources.lock.json", SMALL_LOCK)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv(hostfacts.FAKE_DISK_ENV, f"{tmp_path}={500 * GB}")
    monkeypatch.setattr(hostfacts, "memory_bytes", lambda: 64 * GB)
    monkeypatch.setattr(hostfacts, "cpu_cores", lambda: 16)
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(hostfacts, "_head", lambda url: 200)
    return host


def test_cli_all_fine(fake: FakeHost) -> None:
    code, found = fake.json()
    assert code == 0
    assert {f.status for f in found.values()} == {OK}, [f for f in found.values() if f.status != OK]
    assert "reach:example.org" in found  # the lock's own hosts are checked too
    assert found["driver"].detail == "570.124.06 >= 570.124.06, the minimum of CUDA 12.8 Update 1"


def test_cli_no_gpu(fake: FakeHost) -> None:
    (fake.bin / "nvidia-smi").unlink()
    code, found = fake.json()
    assert code == 0
    assert found["gpu"].status == WARNING and "GPU validation cannot run" in found["gpu"].detail
    assert found["driver"].status == SKIPPED


def test_cli_driver_below_the_compatibility_floor_blocks(fake: FakeHost) -> None:
    fake.driver("520.61.05")
    code, found = fake.json()
    assert (code, found["driver"].status) == (1, ERROR)
    assert found["driver"].fix == "install NVIDIA driver 570.124.06 or newer"


def test_cli_driver_between_floor_and_minimum_warns(fake: FakeHost) -> None:
    fake.driver("560.35.03")
    code, found = fake.json()
    assert (code, found["driver"].status) == (0, WARNING)
    assert "minor version compatibility" in found["driver"].detail


def test_cli_small_disk_blocks(fake: FakeHost) -> None:
    fake.monkeypatch.setenv(hostfacts.FAKE_DISK_ENV, f"{fake.root}={10 * GB}")
    code, found = fake.json()
    assert code == 1
    assert found["disk:build"].status == ERROR and found["disk:sources"].status == ERROR
    assert "--build-dir" in found["disk:build"].fix


def test_cli_missing_rpmbuild_blocks_and_missing_mock_warns(fake: FakeHost) -> None:
    (fake.bin / "mock").unlink()
    code, found = fake.json()
    assert (code, found["tool:mock"].status) == (0, WARNING)
    (fake.bin / "rpmbuild").unlink()
    code, found = fake.json()
    assert (code, found["tool:rpmbuild"].status) == (1, ERROR)
    assert found["tool:rpmbuild"].fix == "tdnf install rpm-build"


def test_cli_unknown_arch(fake: FakeHost) -> None:
    fake.monkeypatch.setattr(platform, "machine", lambda: "riscv64")
    code, found = fake.json()
    assert (code, found["arch"].status) == (1, ERROR)


def test_cli_offline_skips_reachability(fake: FakeHost) -> None:
    def no_network(url: str) -> int:
        raise AssertionError(f"--offline touched the network: {url}")

    fake.monkeypatch.setattr(hostfacts, "_head", no_network)
    code, found = fake.json("--offline")
    reach = {k: f.status for k, f in found.items() if k.startswith("reach:")}
    assert code == 0 and len(reach) == 5 and set(reach.values()) == {SKIPPED}


def test_cli_json_shape(fake: FakeHost) -> None:
    result = fake.invoke("--format", "json", "--offline")
    body = json.loads(result.output)
    assert list(body) == ["cuda", "exit_code", "findings", "release"]
    assert (body["cuda"], body["exit_code"], body["release"]) == ("12.8.1", 0, "25.03")
    assert all(list(f) == ["check", "detail", "fix", "status"] for f in body["findings"])
    assert result.output == fake.invoke("--format", "json", "--offline").output


def test_cli_table(fake: FakeHost) -> None:
    (fake.bin / "rpmspec").unlink()
    result = fake.invoke("--offline")
    assert result.exit_code == 1
    assert "tool:rpmspec" in result.output and "tdnf install rpm-build" in result.output
    assert result.output.rstrip().endswith("1 error, 5 skipped: the build is blocked")


def test_cli_unknown_release(fake: FakeHost) -> None:
    result = fake.invoke("--release", "99.01", "--offline")
    assert result.exit_code == 2 and "no release facts for Triton 99.01" in result.output


def test_cli_fact_override_judges_the_driver_against_another_cuda(fake: FakeHost) -> None:
    """The GPU validation host packages cuDNN for CUDA 13: its driver is judged against that."""
    code, found = fake.json("--fact", "cuda=13.0.2")
    assert (code, found["driver"].status) == (1, ERROR)  # 570 is older than CUDA 13's minimum
    fake.driver("580.65.06")
    code, found = fake.json("--fact", "cuda=13.0.2")
    assert found["driver"].status == OK
    assert fake.invoke("--fact", "cuda").exit_code == 2
