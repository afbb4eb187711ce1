"""PyPI's nvidia-cudnn-cu12 wheel, fetched and repacked into NVIDIA's cuDNN redist archive layout.

The wheel carries the same cuDNN libraries as NVIDIA's redist archive, but laid out for Python:
only `lib*.so.9` files (no symlinks), headers under nvidia/cudnn/include, no static libraries.
`repack` turns it into cudnn-linux-x86_64-<ver>_cuda12-archive/ as specs/cudnn/cudnn.spec reads
it: lib/lib*.so.9.8.0 real files with .so.9 and .so links, include/cudnn*.h, LICENSE, and one
stand-in static library (see `specgen.standin.cudnn.standin_static`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from specgen.standin.cudnn import Repacked, cudnn_archive

CUDNN_VERSION = "9.8.0.87"
SHORT_VERSION = "9.8.0"  # the version in the redist archive's file names: libcudnn.so.9.8.0
MAJOR = "9"
WHEEL_REQ = f"nvidia-cudnn-cu12=={CUDNN_VERSION}"
WHEEL_PLATFORM = "manylinux_2_27_x86_64"
WHEEL_NAME = f"nvidia_cudnn_cu12-{CUDNN_VERSION}-py3-none-{WHEEL_PLATFORM}.whl"
# ../shared/nvidia-redist/SOURCES.md section 5 (PyPI's index; also computed after a download)
WHEEL_SHA256 = "d6b02cd0e3e24aa31d0193a8c39fec239354360d7d81055edddb69f35d53a4c8"
WHEEL_SIZE = 697999707
ARCHIVE_TOP = f"cudnn-linux-x86_64-{CUDNN_VERSION}_cuda12-archive"
DEFAULT_CACHE = Path(__file__).resolve().parent.parent / "sources" / "downloads"  # git-ignored
PYPI_HOSTS = ("pypi.org", "files.pythonhosted.org")
# pip's words for "no network" (urllib3/requests errors as pip prints them)
_NETWORK_ERRORS = (
    "NewConnectionError", "Temporary failure in name resolution", "Name or service not known",
    "Network is unreachable", "No route to host", "Connection refused", "ConnectTimeoutError",
    "ProxyError", "Max retries exceeded",
)  # fmt: skip


class WheelUnavailable(Exception):
    """The wheel is not cached and PyPI cannot be reached from this machine."""


def wheel_cache() -> Path:
    """Where the wheel is kept between runs: $SPECGEN_WHEEL_CACHE, else sources/downloads."""
    return Path(os.environ.get("SPECGEN_WHEEL_CACHE") or DEFAULT_CACHE)


def _reachable(host: str, timeout: float = 10.0) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def fetch_wheel(cache: Path) -> Path:
    """The wheel from the cache, else `pip download` into it. Does not check its hash.

    Raises WheelUnavailable when PyPI is unreachable, RuntimeError when pip fails otherwise.
    """
    wheel = cache / WHEEL_NAME
    if wheel.exists():
        return wheel
    unreachable = [h for h in PYPI_HOSTS if not _reachable(h)]
    if unreachable:
        raise WheelUnavailable(
            f"{WHEEL_NAME} is not in {cache} and {', '.join(unreachable)} cannot be reached "
            "(no network?): put the wheel there or set SPECGEN_WHEEL_CACHE"
        )
    cache.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "pip", "download", WHEEL_REQ, "--no-deps",
        "--only-binary", ":all:", "--platform", WHEEL_PLATFORM, "--no-cache-dir",
        "--disable-pip-version-check", "-d", str(cache),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        if any(word in output for word in _NETWORK_ERRORS):
            raise WheelUnavailable(f"pip download {WHEEL_REQ} failed for lack of network:\n"
                                   f"{output[-2000:]}")  # fmt: skip
        raise RuntimeError(f"pip download {WHEEL_REQ} failed:\n{output[-4000:]}")
    if not wheel.exists():
        raise RuntimeError(f"pip download did not produce {wheel}:\n{output[-4000:]}")
    return wheel


def repack(wheel: Path, work: Path, out_dir: Path) -> Repacked:
    """The wheel as out_dir/cudnn-linux-x86_64-<ver>_cuda12-archive.tar.xz (work: unused, kept
    for the callers); the layout is the stand-in's own (specgen/standin/cudnn.py)."""
    return cudnn_archive(wheel, out_dir, CUDNN_VERSION)
