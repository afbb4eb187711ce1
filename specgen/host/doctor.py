"""`specgen doctor`'s checks: pure functions from facts about a host to findings, each with a fix.

The facts are gathered elsewhere (hostfacts.py, the only part that runs commands or touches the
network), so a test can describe any host, GPU or driver in a few lines. What the release needs
of the host (driver minimum, disk, memory per job) comes from hostneeds.py.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from specgen.host.needs import GB, DriverTable, Estimates, Needs, version_tuple

OK, WARNING, ERROR, SKIPPED = "ok", "warning", "error", "skipped"
TOOLS = ("rpmbuild", "rpmspec", "createrepo_c", "mock")
# Package of each tool per package manager; None: that distribution does not ship it.
_TOOL_PACKAGES: dict[str, dict[str, str | None]] = {
    "rpmbuild": {"tdnf": "rpm-build", "dnf": "rpm-build", "apt-get": "rpm"},
    "rpmspec": {"tdnf": "rpm-build", "dnf": "rpm-build", "apt-get": "rpm"},
    "createrepo_c": {"tdnf": "createrepo_c", "dnf": "createrepo_c", "apt-get": "createrepo-c"},
    "mock": {"tdnf": "mock", "dnf": "mock", "apt-get": None},  # not in Debian 12
}
_FAMILIES = {
    "azurelinux": "tdnf",
    "mariner": "tdnf",
    "fedora": "dnf",
    "rhel": "dnf",
    "debian": "apt-get",
    "ubuntu": "apt-get",
}
_ARCHES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}
_NVCC_RELEASE = re.compile(r"release (\d+)\.(\d+), V([\d.]+)")


@dataclass(frozen=True)
class Finding:
    """One check's verdict: what was seen and, unless ok, what to do about it."""

    check: str
    status: str
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"check": self.check, "status": self.status, "detail": self.detail, "fix": self.fix}


@dataclass(frozen=True)
class Probe:
    """What a command printed (stdout and stderr) and its exit status."""

    returncode: int
    output: str


@dataclass(frozen=True)
class Disk:
    """Space on the filesystem of a folder; `device` tells two folders share one filesystem."""

    path: str
    free: int
    device: str | None = None


@dataclass(frozen=True)
class Reach:
    """Whether an HTTPS HEAD to a host got any answer, and what it was."""

    ok: bool
    detail: str


@dataclass(frozen=True)
class Host:
    """Every fact the checks read. None means "could not be learnt" (or, for a probe, "the
    command is not on PATH"); `reach` is None when the network was not to be touched."""

    os_release: str | None
    machine: str
    disks: dict[str, Disk] = field(default_factory=dict)  # "build", "sources"
    downloaded: dict[str, int] = field(default_factory=dict)  # file -> bytes in sources folder
    memory: int | None = None
    cores: int | None = None
    nvidia_smi: Probe | None = None
    nvcc: Probe | None = None
    tools: dict[str, str | None] = field(default_factory=dict)
    reach: dict[str, Reach] | None = None


def host_arch(machine: str) -> str | None:
    """The RPM arch of `platform.machine()`, or None for one NVIDIA ships nothing for."""
    return _ARCHES.get(machine.lower())


def _gb(n: int) -> str:
    return f"{n / GB:.1f} GB"


def os_fields(text: str) -> dict[str, str]:
    """KEY=value pairs of an os-release file, quotes removed."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip().isidentifier():
            fields[key.strip()] = value.strip().strip("\"'")
    return fields


def package_manager(host: Host) -> str | None:
    """tdnf, dnf or apt-get from os-release's ID (or ID_LIKE), for the fixes."""
    fields = os_fields(host.os_release or "")
    for family in [fields.get("ID", ""), *fields.get("ID_LIKE", "").split()]:
        if family in _FAMILIES:
            return _FAMILIES[family]
    return None


def check_os(host: Host) -> Finding:
    if host.os_release is None:
        return Finding(
            "os",
            WARNING,
            "no /etc/os-release: unknown distribution",
            "build on Azure Linux 3.0, the distribution the specs target",
        )
    fields = os_fields(host.os_release)
    name = fields.get("PRETTY_NAME") or fields.get("NAME") or fields.get("ID", "unknown")
    if fields.get("ID") == "azurelinux" and fields.get("VERSION_ID", "").startswith("3."):
        return Finding("os", OK, f"{name}: the target distribution")
    target = "for packages exactly as Azure Linux builds them, build on Azure Linux 3.0 (or in "
    target += "mock's azure-linux-3 chroot)"
    if fields.get("ID") == "azurelinux":
        return Finding("os", WARNING, f"{name}: the specs target Azure Linux 3.0", target)
    if package_manager(host) in ("dnf", "apt-get"):
        detail = f"{name}: builds work with rpmbuild and the shipped Azure Linux macro file "
        return Finding("os", WARNING, detail + "(specgen/data/rpm/macros.azl3)", target)
    return Finding("os", WARNING, f"{name}: not a distribution specgen was tried on", target)


def check_arch(host: Host) -> Finding:
    arch = host_arch(host.machine)
    if arch is None:
        detail = f"{host.machine or 'unknown'}: NVIDIA ships CUDA, cuDNN and TensorRT for "
        return Finding(
            "arch",
            ERROR,
            detail + "x86_64 and aarch64 (sbsa) only",
            "build on an x86_64 or aarch64 host",
        )
    return Finding("arch", OK, arch)


def check_cpu_memory(host: Host, est: Estimates) -> list[Finding]:
    found = []
    if host.cores is None:
        found.append(Finding("cpu", WARNING, "could not count the cores", ""))
    elif host.cores < est.min_cores:
        found.append(
            Finding(
                "cpu",
                WARNING,
                f"{host.cores} cores: a GPU build (CUDA kernels of the backends) will be slow",
                f"use a host with {est.min_cores} or more cores",
            )
        )
    else:
        found.append(Finding("cpu", OK, f"{host.cores} cores"))
    if host.memory is None:
        found.append(Finding("memory", WARNING, "could not read the memory size", ""))
        return found
    jobs = host.cores or 1
    need = jobs * est.memory_per_job
    detail = (
        f"{_gb(host.memory)} for {jobs} parallel jobs (C++ wants {_gb(est.memory_per_job)} each)"
    )
    if host.memory < need:
        fit = max(1, host.memory // est.memory_per_job)
        fix = f"limit the jobs: rpmbuild --define '_smp_ncpus_max {fit}', or add memory or swap"
        found.append(Finding("memory", WARNING, detail, fix))
    else:
        found.append(Finding("memory", OK, detail))
    return found


def _space(check: str, disk: Disk, need: int, what: str, option: str, margin: float) -> Finding:
    detail = f"{_gb(disk.free)} free at {disk.path}; needs {what}"
    elsewhere = f"pass {option} on a larger filesystem"
    if disk.free < need:
        return Finding(check, ERROR, detail, f"free {_gb(need - disk.free)} there, or {elsewhere}")
    if disk.free < need * (1 + margin):
        spare = f"less than {margin:.0%} to spare, on estimates"
        return Finding(check, WARNING, f"{detail}: {spare}", f"free some space, or {elsewhere}")
    return Finding(check, OK, detail)


def check_disks(host: Host, needs: Needs, est: Estimates) -> list[Finding]:
    """The build folder needs the build trees, the sources folder the downloads; on one
    filesystem they are checked together."""
    build, sources = host.disks.get("build"), host.disks.get("sources")
    shared = (
        build is not None
        and sources is not None
        and build.device is not None
        and build.device == sources.device
    )
    total = needs.build + needs.sources
    if build is None:
        on_build = Finding("disk:build", WARNING, "could not measure the build folder")
    elif shared:
        what = f"{_gb(total)}: {_gb(needs.build)} to build + {_gb(needs.sources)} to download "
        what += f"on this one filesystem ({needs.basis})"
        on_build = _space("disk:build", build, total, what, "--build-dir", est.disk_margin)
    else:
        what = f"{_gb(needs.build)} to build ({needs.basis})"
        on_build = _space("disk:build", build, needs.build, what, "--build-dir", est.disk_margin)
    if sources is None:
        on_sources = Finding("disk:sources", WARNING, "could not measure the sources folder")
    elif shared:
        detail = f"{_gb(needs.sources)} to download into {sources.path}: the build folder's "
        detail += "filesystem, checked with disk:build"
        on_sources = Finding("disk:sources", on_build.status, detail, on_build.fix)
    else:
        what = f"{_gb(needs.sources)} to download"
        on_sources = _space(
            "disk:sources", sources, needs.sources, what, "--sources-dir", est.disk_margin
        )
    return [on_build, on_sources]


@dataclass(frozen=True)
class Gpu:
    """One row of nvidia-smi's query, as printed (memory keeps its unit)."""

    name: str
    driver: str
    memory: str


def parse_gpus(output: str) -> list[Gpu]:
    """Rows of `nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader`."""
    gpus = []
    for line in output.splitlines():
        parts = [p.strip() for p in line.rsplit(",", 2)]
        if len(parts) == 3 and version_tuple(parts[1]):
            gpus.append(Gpu(*parts))
    return gpus


_NO_GPU = "building works without one (CPU-only: rpmbuild --without gpu); GPU validation cannot run"
_GPU_FIX = "for GPU builds and validation, use a host with an NVIDIA GPU and its driver (Azure "
_GPU_FIX += "Linux 3.0: the cuda driver package from packages.microsoft.com's nvidia repository)"


def check_gpu(host: Host) -> Finding:
    smi = host.nvidia_smi
    if smi is None:
        return Finding("gpu", WARNING, f"no nvidia-smi on PATH: {_NO_GPU}", _GPU_FIX)
    if smi.returncode != 0:
        said = (smi.output.strip().splitlines() or ["no output"])[0]
        return Finding("gpu", WARNING, f"nvidia-smi failed ({said}): {_NO_GPU}", _GPU_FIX)
    gpus = parse_gpus(smi.output)
    if not gpus:
        return Finding("gpu", WARNING, f"nvidia-smi lists no GPU: {_NO_GPU}", _GPU_FIX)
    kinds = Counter(f"{g.name} ({g.memory})" for g in gpus)
    return Finding("gpu", OK, ", ".join(f"{n}x {k}" for k, n in sorted(kinds.items())))


def check_driver(host: Host, cuda: str, table: DriverTable) -> Finding:
    gpus = parse_gpus(host.nvidia_smi.output) if host.nvidia_smi else []
    if not gpus:
        return Finding("driver", SKIPPED, "no NVIDIA driver answered (see gpu)")
    driver = min((g.driver for g in gpus), key=version_tuple)
    have, major = version_tuple(driver), cuda.split(".")[0]
    row, floor = table.minimum_for(cuda), table.floors.get(major)
    if row is None:
        return Finding(
            "driver",
            WARNING,
            f"driver {driver}; no minimum known for CUDA {cuda}",
            "add CUDA's row to specgen/data/cuda-drivers.toml",
        )
    upgrade = f"install NVIDIA driver {row.driver} or newer"
    if have >= version_tuple(row.driver):
        return Finding("driver", OK, f"{driver} >= {row.driver}, the minimum of {row.label}")
    if floor is not None and have >= version_tuple(floor):
        detail = f"{driver} is older than {row.driver} ({row.label}) but runs CUDA {major}.x "
        detail += "through minor version compatibility, with limits: newer PTX cannot be "
        detail += "JIT-compiled, some newer APIs fail"
        return Finding("driver", WARNING, detail, upgrade + " for full support")
    below = f"{driver} is older than {row.driver}, the minimum of {row.label}"
    if floor is not None:
        below += f", and below {floor}, the oldest driver that runs any CUDA {major}.x code"
    return Finding("driver", ERROR, below, upgrade)


def check_nvcc(host: Host, cuda: str) -> Finding:
    dashed = "-".join(cuda.split(".")[:2])
    where = "NVIDIA's azl3 CUDA repository"
    if host.nvcc is None:
        return Finding(
            "cuda-toolkit",
            WARNING,
            f"no nvcc on PATH; the build installs cuda-toolkit-{dashed} from {where}",
            "nothing to do for builds; to compile here, install cuda-toolkit-"
            f"{dashed} (if it is in /usr/local/cuda/bin, add that to PATH)",
        )
    found = _NVCC_RELEASE.search(host.nvcc.output)
    if found is None:
        return Finding(
            "cuda-toolkit",
            WARNING,
            "nvcc --version printed no release",
            "check the CUDA toolkit install",
        )
    have = f"{found[1]}.{found[2]}"
    detail = f"nvcc {have} (V{found[3]}); the release is built with CUDA {cuda}"
    if found[1] != cuda.split(".")[0]:
        return Finding(
            "cuda-toolkit",
            WARNING,
            f"{detail}: another major version",
            f"the build installs cuda-toolkit-{dashed} from {where}; keep this "
            "nvcc out of the build's way (PATH, CUDACXX)",
        )
    return Finding("cuda-toolkit", OK, detail)


def check_tools(host: Host) -> list[Finding]:
    manager = package_manager(host)
    found = []
    for tool in TOOLS:
        path = host.tools.get(tool)
        if path:
            found.append(Finding(f"tool:{tool}", OK, path))
            continue
        packages = _TOOL_PACKAGES[tool]
        if manager is not None and packages[manager]:
            fix = f"{manager} install {packages[manager]}"
        else:
            fix = "; ".join(f"{m} install {p}" for m, p in packages.items() if p)
            if manager == "apt-get" and not packages[manager]:
                fix = f"not packaged for Debian; on Azure Linux or Fedora: {fix}"
        if tool == "mock":
            found.append(
                Finding(f"tool:{tool}", WARNING, "not on PATH: only the mock backend needs it", fix)
            )
        else:
            found.append(Finding(f"tool:{tool}", ERROR, "not on PATH: the build needs it", fix))
    return found


def check_reach(host: Host, hosts: list[str]) -> list[Finding]:
    if host.reach is None:
        return [Finding(f"reach:{h}", SKIPPED, "--offline") for h in hosts]
    found = []
    for name in hosts:
        got = host.reach.get(name, Reach(False, "not tried"))
        if got.ok:
            found.append(Finding(f"reach:{name}", OK, got.detail))
        else:
            found.append(
                Finding(
                    f"reach:{name}",
                    WARNING,
                    f"unreachable: {got.detail}",
                    "downloads need it: set HTTPS_PROXY, or run `specgen sources` on "
                    "a connected host and copy the sources folder here",
                )
            )
    return found


def diagnose(
    host: Host, cuda: str, needs: Needs, est: Estimates, drivers: DriverTable, hosts: list[str]
) -> list[Finding]:
    """Every check, in the order the report lists them."""
    return [
        check_os(host),
        check_arch(host),
        *check_cpu_memory(host, est),
        *check_disks(host, needs, est),
        check_gpu(host),
        check_driver(host, cuda, drivers),
        check_nvcc(host, cuda),
        *check_tools(host),
        *check_reach(host, hosts),
    ]


def exit_code(findings: list[Finding]) -> int:
    """1 when anything blocks the build; warnings and skipped checks do not."""
    return 1 if any(f.status == ERROR for f in findings) else 0
