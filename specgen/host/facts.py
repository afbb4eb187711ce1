"""Facts about this machine for `specgen doctor`: the only part of it that runs commands, reads
the disk and memory, or touches the network; the checks themselves (doctor.py) stay pure.

Test-only: `SPECGEN_DOCTOR_FAKE_DISK=PATH=BYTES[,PATH=BYTES...]` replaces the free space of a
folder at or below PATH (folders under one PATH share a filesystem), so tests can play a small
disk; it is not meant for users and no documentation beyond this one names it.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from specgen import __version__
from specgen.host.doctor import TOOLS, Disk, Host, Probe, Reach

FAKE_DISK_ENV = "SPECGEN_DOCTOR_FAKE_DISK"
REACH_TIMEOUT_S = 5.0
COMMAND_TIMEOUT_S = 30.0
NVIDIA_SMI = ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]


def run_probe(args: list[str]) -> Probe | None:
    """Run a command found on PATH; None when it is not there. A hang or a crash is a Probe
    with a non-zero status, never an exception: doctor must report, not fail."""
    found = shutil.which(args[0])
    if found is None:
        return None
    try:
        done = subprocess.run(
            [found, *args[1:]],
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Probe(124, f"no answer within {COMMAND_TIMEOUT_S:.0f} s")
    except OSError as err:
        return Probe(126, str(err))
    return Probe(done.returncode, done.stdout + done.stderr)


def _fake_disks(environ: Mapping[str, str]) -> dict[Path, int]:
    fakes = {}
    for entry in environ.get(FAKE_DISK_ENV, "").split(","):
        path, sep, size = entry.rpartition("=")
        if sep and path and size.isdigit():
            fakes[Path(path).resolve()] = int(size)
    return fakes


def disk(folder: Path, environ: Mapping[str, str]) -> Disk | None:
    """Free space where `folder` is or will be (its nearest existing parent)."""
    target = folder.resolve()
    for root, free in _fake_disks(environ).items():
        if target == root or root in target.parents:
            return Disk(str(folder), free, f"fake:{root}")
    existing = next((p for p in (target, *target.parents) if p.exists()), None)
    if existing is None:
        return None
    try:
        return Disk(str(folder), shutil.disk_usage(existing).free, str(existing.stat().st_dev))
    except OSError:
        return None


def downloaded(folder: Path) -> dict[str, int]:
    """Bytes already in the sources folder per file; a `.part` counts for its file."""
    if not folder.is_dir():
        return {}
    sizes: dict[str, int] = {}
    for path in folder.iterdir():
        if path.is_file():
            name = path.name.removesuffix(".part")
            sizes[name] = max(sizes.get(name, 0), path.stat().st_size)
    return sizes


def memory_bytes() -> int | None:
    """Physical memory; /proc/meminfo where sysconf does not know."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def cpu_cores() -> int | None:
    """Cores this process may run on (a container or taskset may allow fewer than exist)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()


def _head(url: str) -> int:
    """HTTP status of a HEAD; raises what requests raises."""
    import requests

    headers = {"User-Agent": f"specgen/{__version__} (doctor)"}
    return requests.head(url, timeout=REACH_TIMEOUT_S, headers=headers).status_code


def reach_one(host: str) -> Reach:
    """Any HTTP answer means the host is reachable (a 403 or 404 still proves the route)."""
    import requests

    try:
        return Reach(True, f"HTTP {_head(f'https://{host}/')}")
    except requests.Timeout:
        return Reach(False, f"no answer within {REACH_TIMEOUT_S:.0f} s")
    except requests.RequestException as err:
        cause = err.args[0] if err.args else err
        reason = getattr(cause, "reason", cause)
        return Reach(False, f"{type(err).__name__} ({type(reason).__name__})")


def reach(hosts: list[str]) -> dict[str, Reach]:
    """All hosts at once, so the check takes one timeout, not one per host."""
    with ThreadPoolExecutor(max_workers=max(len(hosts), 1)) as pool:
        return dict(zip(hosts, pool.map(reach_one, hosts), strict=True))


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def gather(
    build_dir: Path,
    sources_dir: Path,
    hosts: list[str] | None,
    os_release: Path = Path("/etc/os-release"),
    environ: Mapping[str, str] = os.environ,
) -> Host:
    """Every fact doctor checks; `hosts` None: leave the network alone (--offline)."""
    disks = {role: disk(p, environ) for role, p in (("build", build_dir), ("sources", sources_dir))}
    return Host(
        os_release=_read(os_release),
        machine=platform.machine(),
        disks={role: d for role, d in disks.items() if d is not None},
        downloaded=downloaded(sources_dir),
        memory=memory_bytes(),
        cores=cpu_cores(),
        nvidia_smi=run_probe(NVIDIA_SMI),
        nvcc=run_probe(["nvcc", "--version"]),
        tools={tool: shutil.which(tool) for tool in TOOLS},
        reach=None if hosts is None else reach(hosts),
    )
