"""The NVIDIA/Microsoft stand-in (specgen/standin): registry pins, archive layouts, the CUDA tree
and the lock that pins the stand-in's own files. Small wheels, tarballs and .debs are made here;
the registries are a local HTTP server; the real downloads are the slow GPU build test's."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import lzma
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from aptsign import signed_inrelease
from conftest import require_tool
from nvccprofile import search_dirs
from nvidia_fakes import listing as _listing
from nvidia_fakes import make_wheel

from specgen.errors import InputError, SpecgenError
from specgen.generate.lock import LockedSource, SourceLock, read_lock
from specgen.generate.pkgdata import load_package_data
from specgen.sources.download import Fetcher
from specgen.sources.overlay import read_overlay
from specgen.standin.components import LOCK, data_path, load_plan
from specgen.standin.cudatree import (
    COMPILER_FILES,
    DEV_FILES,
    add_compiler,
    cuda_tree,
    missing_for_cuda_code,
)
from specgen.standin.cudnn import cudnn_archive
from specgen.standin.layout import overlay_entries, overlay_text
from specgen.standin.onnxruntime import onnxruntime_archive
from specgen.standin.pin import Registries, pin_all
from specgen.standin.tensorrt import link_stubs


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


CUDNN_WHEEL = {
    "nvidia/cudnn/lib/libcudnn.so.9": b"\x7fELF cudnn",
    "nvidia/cudnn/lib/libcudnn_ops.so.9": b"\x7fELF ops",
    "nvidia/cudnn/lib/__init__.py": b"",
    "nvidia/cudnn/include/cudnn.h": b"#define CUDNN_MAJOR 9\n",
    "nvidia_cudnn_cu12-9.8.0.87.dist-info/License.txt": b"NVIDIA cuDNN SLA\n",
}


def test_cudnn_archive_has_nvidias_layout_and_is_reproducible(tmp_path: Path) -> None:
    require_tool("gcc", "ar", "tar", "xz")
    wheel = make_wheel(tmp_path / "nvidia_cudnn_cu12-9.8.0.87-py3-none-any.whl", CUDNN_WHEEL)
    first = cudnn_archive(wheel, tmp_path / "a", "9.8.0.87")
    second = cudnn_archive(wheel, tmp_path / "b", "9.8.0.87")
    assert first.archive.name == "cudnn-linux-x86_64-9.8.0.87_cuda12-archive.tar.xz"
    assert _sha(first.archive.read_bytes()) == _sha(second.archive.read_bytes())
    subprocess.run(["xz", "-t", str(first.archive)], check=True)
    top = "cudnn-linux-x86_64-9.8.0.87_cuda12-archive"
    listing = _listing(first.archive)
    assert f"-rwxr-xr-x root/root {top}/lib/libcudnn.so.9.8.0" in listing
    assert f"lrwxrwxrwx root/root {top}/lib/libcudnn.so.9 -> libcudnn.so.9.8.0" in listing
    assert f"lrwxrwxrwx root/root {top}/lib/libcudnn_ops.so -> libcudnn_ops.so.9" in listing
    assert f"-rw-r--r-- root/root {top}/include/cudnn.h" in listing
    assert f"-rw-r--r-- root/root {top}/LICENSE" in listing
    assert f"-rw-r--r-- root/root {top}/lib/libcudnn_standin_static_v9.a" in listing
    assert not any("__init__" in line for line in listing)
    assert first.libraries == {"libcudnn.so.9.8.0": 10, "libcudnn_ops.so.9.8.0": 8}
    with tarfile.open(first.archive) as tar:
        member = tar.extractfile(f"{top}/lib/libcudnn.so.9.8.0")
        assert member is not None and member.read() == b"\x7fELF cudnn"


def test_a_wheel_member_that_differs_from_its_record_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "nvidia_cudnn_cu12-9.8.0.87-py3-none-any.whl", CUDNN_WHEEL,
                       {"nvidia/cudnn/lib/libcudnn_ops.so.9": b"something else"})  # fmt: skip
    with pytest.raises(SpecgenError, match=r"libcudnn_ops.so.9 differs from its RECORD"):
        cudnn_archive(wheel, tmp_path / "out", "9.8.0.87")
    assert not (tmp_path / "out" / "cudnn-linux-x86_64-9.8.0.87_cuda12-archive.tar.xz").exists()


def _deb(tmp_path: Path, files: dict[str, bytes], name: str = "libonnxruntime-dev") -> Path:
    """A real .deb made by dpkg-deb."""
    root = tmp_path / f"debroot-{name}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: 1.21.0+dfsg-1\nArchitecture: amd64\n"
        "Maintainer: test <t@example.org>\nDescription: test\n"
    )
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    out = tmp_path / f"{name}_1.21.0+dfsg-1_amd64.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(root), str(out)],
                   check=True, capture_output=True)  # fmt: skip
    return out


def _npm_tgz(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_onnxruntime_archive_takes_the_library_headers_and_licenses(tmp_path: Path) -> None:
    require_tool("dpkg-deb", "tar")
    lib = "package/bin/napi-v3/linux/x64"
    npm = _npm_tgz(tmp_path / "onnxruntime-node-1.21.0.tgz", {
        f"{lib}/libonnxruntime.so.1.21.0": b"\x7fELF ort",
        f"{lib}/libonnxruntime.so.1": b"\x7fELF ort",  # npm has no links: a second copy
        f"{lib}/libonnxruntime_providers_shared.so": b"\x7fELF shared",
        "package/bin/napi-v3/linux/arm64/libonnxruntime.so.1.21.0": b"arm",
    })  # fmt: skip
    deb = _deb(tmp_path, {
        "usr/include/onnxruntime/onnxruntime_c_api.h": b"/* c api */\n",
        "usr/include/onnxruntime/core/providers/resource.h": b"/* resource */\n",
        "usr/share/doc/libonnxruntime-dev/copyright": b"MIT\n",
    })  # fmt: skip
    wheel = make_wheel(tmp_path / "onnxruntime-1.21.0-cp311-cp311-any.whl", {
        "onnxruntime/LICENSE": b"MIT License\n",
        "onnxruntime/ThirdPartyNotices.txt": b"notices\n",
        "onnxruntime/Privacy.md": b"privacy\n",
    })  # fmt: skip
    out = onnxruntime_archive(npm, deb, wheel, tmp_path / "out", "1.21.0")
    assert out.name == "onnxruntime-linux-x64-gpu-1.21.0.tgz"
    top = "onnxruntime-linux-x64-gpu-1.21.0"
    listing = _listing(out)
    assert f"-rwxr-xr-x root/root {top}/lib/libonnxruntime.so.1.21.0" in listing
    assert (
        f"lrwxrwxrwx root/root {top}/lib/libonnxruntime.so.1 -> libonnxruntime.so.1.21.0" in listing
    )
    assert f"lrwxrwxrwx root/root {top}/lib/libonnxruntime.so -> libonnxruntime.so.1" in listing
    assert f"-rwxr-xr-x root/root {top}/lib/libonnxruntime_providers_shared.so" in listing
    assert f"-rw-r--r-- root/root {top}/include/onnxruntime_c_api.h" in listing
    assert f"-rw-r--r-- root/root {top}/include/core/providers/resource.h" in listing
    for text in ("LICENSE", "ThirdPartyNotices.txt", "Privacy.md"):
        assert f"-rw-r--r-- root/root {top}/{text}" in listing
    assert not any("arm" in line or "copyright" in line for line in listing)
    assert _sha(out.read_bytes()) == _sha(
        onnxruntime_archive(npm, deb, wheel, tmp_path / "again", "1.21.0").read_bytes()
    )


def test_onnxruntime_archive_names_what_the_npm_package_lacks(tmp_path: Path) -> None:
    require_tool("dpkg-deb")
    npm = _npm_tgz(tmp_path / "onnxruntime-node-1.21.0.tgz", {"package/README.md": b"x"})
    deb = _deb(tmp_path, {"usr/include/onnxruntime/onnxruntime_c_api.h": b""})
    wheel = make_wheel(
        tmp_path / "onnxruntime-1.21.0-cp311-cp311-any.whl", {"onnxruntime/LICENSE": b""}
    )
    with pytest.raises(
        SpecgenError,
        match=r"onnxruntime-node-1.21.0.tgz: no package/bin/napi-v3/linux/x64/libonnxruntime.so",
    ):
        onnxruntime_archive(npm, deb, wheel, tmp_path / "out", "1.21.0")


def test_cuda_tree_merges_the_wheels_as_a_toolkit(tmp_path: Path) -> None:
    runtime = make_wheel(tmp_path / "nvidia_cuda_runtime_cu12-12.8.90-py3-none-any.whl", {
        "nvidia/cuda_runtime/lib/libcudart.so.12": b"\x7fELF cudart",
        "nvidia/cuda_runtime/include/cuda_runtime_api.h": b"/* api */\n",
        "nvidia/cuda_runtime/lib/__init__.py": b"",
    })  # fmt: skip
    nvcc = make_wheel(tmp_path / "nvidia_cuda_nvcc_cu12-12.8.93-py3-none-any.whl", {
        "nvidia/cuda_nvcc/bin/ptxas": b"\x7fELF ptxas",
        "nvidia/cuda_nvcc/nvvm/libdevice/libdevice.10.bc": b"BC",
        "nvidia/cuda_nvcc/include/crt/host_config.h": b"/* crt */\n",
    })  # fmt: skip
    tree = cuda_tree([runtime, nvcc], tmp_path / "cuda")
    root = tree.root
    assert (root / "lib64/libcudart.so.12").read_bytes() == b"\x7fELF cudart"
    assert (root / "lib64/libcudart.so").readlink() == Path("libcudart.so.12")
    assert (root / "include/cuda_runtime_api.h").is_file()
    assert (root / "include/crt/host_config.h").is_file()
    assert (root / "bin/ptxas").stat().st_mode & 0o111
    assert not (root / "lib64/__init__.py").exists()
    assert tree.libraries == ("libcudart.so.12",)
    missing = missing_for_cuda_code(root)
    assert "bin/nvcc" in missing and "lib64/libcudart_static.a" in missing
    assert "bin/ptxas" not in missing and "nvvm/libdevice/libdevice.10.bc" not in missing
    clash = make_wheel(tmp_path / "other-1.0-py3-none-any.whl", {"nvidia/x/bin/ptxas": b"other"})
    with pytest.raises(SpecgenError, match=r"bin/ptxas is in two wheels"):
        cuda_tree([nvcc, clash], tmp_path / "cuda2")


def test_the_compiler_from_debians_packages_joins_the_tree(tmp_path: Path) -> None:
    require_tool("dpkg-deb")
    runtime = make_wheel(tmp_path / "nvidia_cuda_runtime_cu12-12.8.90-py3-none-any.whl", {
        "nvidia/cuda_runtime/lib/libcudart.so.12": b"\x7fELF cudart",
        "nvidia/cuda_nvcc/bin/ptxas": b"\x7fELF ptxas 12.8",
        "nvidia/cuda_nvcc/nvvm/libdevice/libdevice.10.bc": b"BC",
    })  # fmt: skip
    tree = cuda_tree([runtime], tmp_path / "cuda")
    toolkit = _deb(tmp_path, {
        **{m.removeprefix("./"): f"bin {m}".encode() for m in COMPILER_FILES},
        "usr/bin/ptxas": b"ptxas 12.5: must not replace 12.8's",
    }, "nvidia-cuda-toolkit")  # fmt: skip
    dev = _deb(
        tmp_path, {m.removeprefix("./"): f"lib {m}".encode() for m in DEV_FILES}, "nvidia-cuda-dev"
    )
    add_compiler(tree.root, toolkit, dev)
    assert (tree.root / "bin/nvcc").read_bytes() == b"bin ./usr/lib/nvidia-cuda-toolkit/bin/nvcc"
    assert (tree.root / "nvvm/bin/cicc").is_file()
    assert (
        tree.root / "lib64/libcudadevrt.a"
    ).read_bytes() == b"lib ./usr/lib/x86_64-linux-gnu/libcudadevrt.a"
    assert (tree.root / "bin/ptxas").read_bytes() == b"\x7fELF ptxas 12.8"
    profile = tree.root / "bin/nvcc.profile"
    assert "NVVMIR_LIBRARY_DIR = $(TOP)/nvvm/libdevice" in profile.read_text()
    # NVIDIA's profile looks under targets/x86_64-linux: the tree's links take it to include/
    # and lib64/, where the wheels' headers and libraries are
    dirs = search_dirs(profile)
    assert dirs["-I"] == [f"{tree.root}/bin/../targets/x86_64-linux/include"]
    assert [Path(d).resolve() for d in dirs["-I"]] == [tree.root / "include"]
    assert [Path(d).resolve() for d in dirs["-L"]] == [
        tree.root / "lib64/stubs",
        tree.root / "lib64",
    ]
    assert (Path(dirs["-L"][0]) / "libcuda.so").is_file()
    assert missing_for_cuda_code(tree.root) == []
    short = _deb(tmp_path / "short", {"usr/bin/nvlink": b"x"}, "nvidia-cuda-toolkit")
    with pytest.raises(
        SpecgenError, match=r"nvidia-cuda-toolkit_1.21.0\+dfsg-1_amd64.deb: no ./usr/bin/bin2c"
    ):
        add_compiler(cuda_tree([runtime], tmp_path / "cuda2").root, short, dev)


def test_lock_file_names_may_carry_debian_tildes_but_not_start_with_one(tmp_path: Path) -> None:
    lock = tmp_path / "lock.json"
    entry = {"file": "nvidia-cuda-dev_12.5.39~12.5.0-2+b1_amd64.deb", "url": "https://d/x.deb"}
    lock.write_text(json.dumps({"format": 1, "release": "25.03", "sources": [entry]}))
    assert read_lock(lock).sources[0].file == entry["file"]
    lock.write_text(
        json.dumps({"format": 1, "release": "25.03", "sources": [{**entry, "file": "~x.deb"}]})
    )
    with pytest.raises(InputError, match=r"'~x.deb' is not a plain file name"):
        read_lock(lock)


def test_the_overlay_pins_the_standins_own_files_and_is_what_specgen_reads(tmp_path: Path) -> None:
    made = tmp_path / "cudnn-linux-x86_64-9.8.0.87_cuda12-archive.tar.xz"
    made.write_bytes(b"stand-in archive")
    published = LockedSource(file=made.name, url=f"https://developer.download.nvidia.com/{made.name}",
                             sha256="3" * 64, size=923946888, pinned_by="redistrib_9.8.0.json",
                             packages=("cudnn",), arch="x86_64")  # fmt: skip
    other = LockedSource(file="dlpack-0.8.tar.gz", url="https://github.com/dlpack-0.8.tar.gz",
                         packages=("dlpack",))  # fmt: skip
    project = SourceLock(release="25.03", sources=(published, other))
    entries = overlay_entries(project, {"cudnn": made}, {"cudnn": ["nvidia_cudnn_cu12.whl"]})
    text = overlay_text(entries, "written by a test\nsecond line")
    assert text.startswith("# written by a test\n# second line\nformat = 1\n")
    written = tmp_path / "overlay.toml"
    written.write_text(text)
    overlay = read_overlay(written)  # specgen's own reader: the format is the one it takes
    overlay.check_against(project, "lock.json")
    entry = overlay.sources[made.name]
    assert (entry.sha256, entry.size, entry.url) == (_sha(b"stand-in archive"), 16, published.url)
    assert entry.lock_sha256 == "3" * 64 and entry.path == made.resolve()
    assert entry.why.startswith("STAND-IN made from nvidia_cudnn_cu12.whl")
    assert "dlpack-0.8.tar.gz" not in overlay.sources
    with pytest.raises(SpecgenError, match=r"no entry for cudnn-linux"):
        overlay_entries(
            SourceLock(release="25.03", sources=(other,)), {"cudnn": made}, {"cudnn": []}
        )


def test_the_shipped_plan_takes_cuda_versions_from_the_manifest_and_the_lock_pins_each_file() -> (
    None
):
    plan = load_plan()
    versions = {w.name: w.version for w in plan.wanted}
    assert versions["nvidia-cuda-nvcc-cu12"] == "12.8.93"
    assert versions["nvidia-cublas-cu12"] == "12.8.4.1"
    assert versions["nvidia-cuda-runtime-cu12"] == "12.8.90"
    assert versions["nvidia-cudnn-cu12"] == "9.8.0.87"
    assert versions["nvidia-cufft-cu12"] == "11.3.3.83"  # libcufft's version in the manifest
    components = {w.component for w in plan.wanted if w.feeds in ("cuda", "cuda-redist")}
    # a wheel for every component the --cuda-from-redist specs are made from (cuda.toml)
    assert components == set(load_package_data("cuda")["components"])
    lock = read_lock(data_path(LOCK))
    assert len(lock.sources) == len(plan.wanted)
    for want in plan.wanted:
        stem = f"{want.name}_{want.version}".replace("-", "_")
        matches = [s for s in lock.sources if s.file.replace("-", "_").startswith(stem)]
        assert len(matches) == 1, want
        assert matches[0].pinned and matches[0].size and matches[0].packages == (want.feeds,)


def test_a_plan_entry_feeding_nothing_known_is_an_error_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "nvidia.toml"
    bad.write_text(
        'cuda_manifest = "redistrib_12.8.1.json"\n'
        '[[pypi]]\nname = "x"\nversion = "1"\nfeeds = "gpu"\n'
    )
    with pytest.raises(InputError, match=r"nvidia.toml: \[\[pypi\]\] x: feeds 'gpu' is not one of"):
        load_plan(bad)


# --- pins from (local stand-ins of) the registries ----------------------------------------------


class _Registry(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        super().__init__(("127.0.0.1", 0), _Handler)

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class _Handler(BaseHTTPRequestHandler):
    server: _Registry

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = self.server.files.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")


@pytest.fixture
def registry() -> Iterator[_Registry]:
    srv = _Registry()
    threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_pins_come_from_each_registrys_published_hash(registry: _Registry, tmp_path: Path) -> None:
    require_tool("gpg", "gpgv")
    plan_file = tmp_path / "nvidia.toml"
    plan_file.write_text(
        'release = "25.03"\ncuda_manifest = "redistrib_12.8.1.json"\n'
        '[[pypi]]\nname = "nvidia-cuda-runtime-cu12"\ncomponent = "cuda_cudart"\n'
        'platform = "manylinux_2_17_x86_64"\nfeeds = "cuda"\n'
        '[[npm]]\nname = "onnxruntime-node"\nversion = "1.21.0"\nfeeds = "onnxruntime"\n'
        '[[deb]]\nname = "libonnxruntime-dev"\nversion = "1.21.0+dfsg-1"\nsuite = "trixie"\n'
        'feeds = "onnxruntime"\n'
    )
    wheel = (
        "nvidia_cuda_runtime_cu12-12.8.90-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"
    )
    registry.files["/simple/nvidia-cuda-runtime-cu12/"] = json.dumps({"files": [
        {"filename": wheel, "url": registry.url(f"/f/{wheel}#sha256=x"), "size": 954765,
         "hashes": {"sha256": "a" * 64}},
        {"filename": wheel.replace("12.8.90", "12.8.57"), "url": "u", "size": 1,
         "hashes": {"sha256": "b" * 64}},
        {"filename": wheel.replace("x86_64", "aarch64"), "url": "u", "size": 1,
         "hashes": {"sha256": "c" * 64}},
    ]}).encode()  # fmt: skip
    tarball = b"npm tarball bytes"
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    registry.files["/npm/onnxruntime-node/1.21.0"] = json.dumps(
        {
            "dist": {
                "integrity": integrity,
                "tarball": registry.url("/npm/-/onnxruntime-node-1.21.0.tgz"),
            }
        }
    ).encode()
    registry.files["/npm/-/onnxruntime-node-1.21.0.tgz"] = tarball
    packages = lzma.compress(
        b"Package: libonnxruntime-dev\nVersion: 1.23.2+dfsg-6.1\nFilename: pool/x_1.23.deb\n"
        b"Size: 1\nSHA256: " + b"d" * 64 + b"\n\nPackage: libonnxruntime-dev\n"
        b"Version: 1.21.0+dfsg-1\n"
        b"Filename: pool/main/o/onnxruntime/libonnxruntime-dev_1.21.0+dfsg-1_amd64.deb\n"
        b"Size: 85340\n"
        b"SHA256: " + b"e" * 64 + b"\nDescription: headers\n multi-line: yes\n"
    )  # fmt: skip
    inrelease, keyring = signed_inrelease(tmp_path, (
        "Suite: trixie\nSHA256:\n"
        f" {'0' * 64} 10 main/binary-arm64/Packages.xz\n"
        f" {_sha(packages)} {len(packages)} main/binary-amd64/Packages.xz\n"
    ))  # fmt: skip
    registry.files["/debian/dists/trixie/InRelease"] = inrelease
    registry.files["/debian/dists/trixie/main/binary-amd64/Packages.xz"] = packages
    where = Registries(
        registry.url("/simple"), registry.url("/npm"), registry.url("/debian"), keyring
    )

    lock = pin_all(Fetcher(requests.Session(), retries=0), load_plan(plan_file), where)

    by_file = {s.file: s for s in lock.sources}
    assert by_file[wheel].sha256 == "a" * 64 and by_file[wheel].url == registry.url(f"/f/{wheel}")
    npm = by_file["onnxruntime-node-1.21.0.tgz"]
    assert (npm.sha256, npm.size) == (_sha(tarball), len(tarball)) and "sha512 matched" in str(
        npm.pinned_by
    )
    deb = by_file["libonnxruntime-dev_1.21.0+dfsg-1_amd64.deb"]
    assert (deb.sha256, deb.size) == ("e" * 64, 85340)
    assert deb.url == registry.url(
        "/debian/pool/main/o/onnxruntime/libonnxruntime-dev_1.21.0+dfsg-1_amd64.deb"
    )

    # A tampered Packages index, an npm tarball that is not the published one, a bad signature.
    registry.files["/debian/dists/trixie/main/binary-amd64/Packages.xz"] = lzma.compress(
        b"Package: x\n"
    )
    with pytest.raises(SpecgenError, match=r"Packages.xz does not match its InRelease"):
        pin_all(Fetcher(requests.Session(), retries=0), load_plan(plan_file), where)
    registry.files["/npm/-/onnxruntime-node-1.21.0.tgz"] = b"other bytes"
    with pytest.raises(SpecgenError, match=r"sha512 differs from the registry's integrity"):
        pin_all(Fetcher(requests.Session(), retries=0), load_plan(plan_file), where)
    registry.files["/npm/-/onnxruntime-node-1.21.0.tgz"] = tarball
    registry.files["/debian/dists/trixie/InRelease"] = inrelease.replace(
        b"Suite: trixie", b"Suite: sid"
    )
    with pytest.raises(SpecgenError, match=r"InRelease: gpgv"):
        pin_all(Fetcher(requests.Session(), retries=0), load_plan(plan_file), where)

    # `pin --only`: only the named entry is asked for (Debian's answer is broken by now), every
    # other pin is the lock's as it was; a lock without one of them, or an unknown name, is refused.
    runtime = frozenset({"nvidia-cuda-runtime-cu12"})
    fetcher = Fetcher(requests.Session(), retries=0)
    again = pin_all(fetcher, load_plan(plan_file), where, only=runtime, keep=lock)
    assert sorted(again.sources, key=str) == sorted(lock.sources, key=str)
    partial = SourceLock(release="25.03", sources=(by_file[wheel],))
    with pytest.raises(SpecgenError, match=r"no pin of onnxruntime-node 1.21.0 for onnxruntime"):
        pin_all(fetcher, load_plan(plan_file), where, only=runtime, keep=partial)
    with pytest.raises(SpecgenError, match=r"the stand-in plan names no nvidia-cufft-cu12"):
        pin_all(fetcher, load_plan(plan_file), where, only=frozenset({"nvidia-cufft-cu12"}))


HEADER_SINGLE = b"""#define TENSORRTAPI __attribute__((visibility("default")))
extern "C" TENSORRTAPI void* createInferRuntime_INTERNAL(void* logger, int32_t version) noexcept;
extern "C" TENSORRTAPI int32_t getInferLibVersion() noexcept;
namespace nvinfer1 { class IRuntime; TENSORRTAPI int32_t notC(); }
"""
HEADER_BLOCK = b"""extern "C"
{
    TENSORRTAPI bool initLibNvInferPlugins(void* logger, char const* libNamespace);
} // extern "C"
"""


def _headers_tar(tmp_path: Path) -> Path:
    out = tmp_path / "TensorRT-headers.tar.gz"
    with tarfile.open(out, "w:gz") as tar:
        for name, data in (("NvInferRuntime.h", HEADER_SINGLE), ("NvInferPlugin.h", HEADER_BLOCK),
                           ("NvInferVersion.h", b"#define NV_TENSORRT_MAJOR 10\n")):  # fmt: skip
            info = tarfile.TarInfo(f"TensorRT-10.9.0-headers/include/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out


def test_tensorrt_link_stubs_export_the_c_entry_points_and_abort_when_called(
    tmp_path: Path,
) -> None:
    require_tool("gcc", "nm")
    stubs = link_stubs(_headers_tar(tmp_path), tmp_path / "trt")
    assert stubs.symbols == {
        "nvinfer": ("createInferRuntime_INTERNAL", "getInferLibVersion"),
        "nvinfer_plugin": ("initLibNvInferPlugins",),
    }
    assert (stubs.include / "NvInferVersion.h").is_file()
    assert (stubs.lib / "libnvinfer.so").readlink() == Path("libnvinfer.so.10")
    exported = subprocess.run(["nm", "-D", "--defined-only", str(stubs.lib / "libnvinfer.so.10")],
                              capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert {line.split()[-1] for line in exported.splitlines() if " T " in line} == {
        "createInferRuntime_INTERNAL", "getInferLibVersion"}  # fmt: skip
    soname = subprocess.run(["readelf", "-d", str(stubs.lib / "libnvinfer_plugin.so.10")],
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "[libnvinfer_plugin.so.10]" in soname
    # Calling one is never mistaken for TensorRT: it says so and aborts.
    probe = "import ctypes, sys; ctypes.CDLL(sys.argv[1]).getInferLibVersion()"
    run = subprocess.run([sys.executable, "-c", probe, str(stubs.lib / "libnvinfer.so.10")],
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert (
        run.returncode < 0
        and "link-only stub of libnvinfer.so.10 called, not TensorRT" in run.stderr
    )


def test_tensorrt_headers_without_entry_points_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "empty.tar.gz"
    with tarfile.open(out, "w:gz") as tar:
        info = tarfile.TarInfo("x/include/NvInferVersion.h")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(SpecgenError, match=r"empty.tar.gz: no TENSORRTAPI C entry points"):
        link_stubs(out, tmp_path / "trt")


def test_the_real_tensorrt_headers_declare_what_the_backend_and_nvidias_bindings_import(
    shared_dir: Path, tmp_path: Path
) -> None:
    """The two entry points the tensorrt backend was seen to import (docs/gpu-build.md), and
    those NVIDIA's own tensorrt-cu12-bindings 10.9.0.34 imports from libnvinfer and its plugin
    library, are all declared by the shared TensorRT 10.9.0 headers."""
    require_tool("gcc")
    headers = shared_dir / "triton-sources" / "tensorrt-10.9.0-headers.tar.gz"
    if not headers.is_file():
        pytest.skip(f"{headers} not found")
    stubs = link_stubs(headers, tmp_path / "trt")
    declared = {n for names in stubs.symbols.values() for n in names}
    imported = {
        "createInferRuntime_INTERNAL", "initLibNvInferPlugins", "createInferBuilder_INTERNAL",
        "createInferRefitter_INTERNAL", "getBuilderPluginRegistry", "getPluginRegistry",
    }  # fmt: skip
    assert imported <= declared
    assert "initLibNvInferPlugins" in stubs.symbols["nvinfer_plugin"]
